package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/revert"
)

// Kinds of chat-ops work.
const (
	// KindCommand runs the /ferry commands of one PR comment.
	KindCommand = "comment.command"
	// KindRelease unlocks an environment and queues the syncs it held, in
	// the environment's own queue so it cannot race them.
	KindRelease = "environment.release"
)

// CommentCommands are the commands of one comment. Only the parsed commands
// are queued, never the comment's other text.
type CommentCommands struct {
	InstallationID int64                 `json:"installation_id"`
	Repo           string                `json:"repo"`
	CloneURL       string                `json:"clone_url"`
	HTMLURL        string                `json:"html_url"`
	DefaultBranch  string                `json:"default_branch,omitempty"`
	Number         int                   `json:"number"`
	CommentID      int64                 `json:"comment_id"`
	Author         string                `json:"author"`
	Commands       []chatops.Command     `json:"commands"`
	Errors         []*chatops.UsageError `json:"errors,omitempty"`
}

// CommandSpec queues a comment's commands behind the pull request's other work.
func CommandSpec(c CommentCommands) (queue.Spec, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindCommand, Key: fmt.Sprintf("%s#%d", c.Repo, c.Number), Args: raw}, nil
}

// CommandGitHub is what chat-ops does on GitHub.
type CommandGitHub interface {
	React(ctx context.Context, repo github.Repo, commentID int64, content string) error
	Permission(ctx context.Context, repo github.Repo, user string) (string, error)
	GetPullRequest(ctx context.Context, repo github.Repo, number int) (*github.PullRequest, error)
	CreateComment(ctx context.Context, repo github.Repo, number int, body string) (int64, error)
	OpenPullRequest(ctx context.Context, repo github.Repo, head, base, title, body string) (int, string, error)
}

// SyncHistory reads an environment's kept syncs, newest first.
type SyncHistory interface {
	Syncs(ctx context.Context, environment string) ([]history.Sync, error)
}

// Commander handles KindCommand and KindRelease jobs.
type Commander struct {
	Client  func(installationID int64) (CommandGitHub, error)
	Token   func(ctx context.Context, installationID int64) (string, error)
	Mirrors SyncMirrors
	State   State
	Queue   Enqueuer
	Wake    func()
	History SyncHistory
	Logger  *slog.Logger
}

// Handle runs each command of a comment: 👀 when taken, then 🚀 when all
// went well or 😕, and a reply for whatever needs words.
func (c *Commander) Handle(ctx context.Context, j queue.Job) error {
	a, repo, err := decode[CommentCommands](j)
	if err != nil {
		return err
	}
	// The same comment runs once, whatever GitHub redelivers.
	doneKey := fmt.Sprintf("%s/%d", a.Repo, a.CommentID)
	if _, done, err := c.State.Get(ctx, "comment_done", doneKey); err != nil || done {
		return err
	}
	gh, err := c.Client(a.InstallationID)
	if err != nil {
		return err
	}
	if err := gh.React(ctx, repo, a.CommentID, "eyes"); err != nil {
		return githubRetry(err)
	}
	have := chatops.None
	if len(a.Commands) > 0 {
		perm, err := gh.Permission(ctx, repo, a.Author)
		if err != nil {
			return githubRetry(err)
		}
		have = chatops.ParsePermission(perm)
	}
	var replies []string
	ok := len(a.Errors) == 0
	for _, e := range a.Errors {
		reply := e.Markdown()
		if e.Suggestion == "" {
			reply += "\n\n" + chatops.Help()
		}
		replies = append(replies, reply)
	}
	for _, cmd := range a.Commands {
		if !cmd.Allowed(have) {
			replies = append(replies, chatops.Refusal(cmd, have, a.Author))
			ok = false
			continue
		}
		reply, err := c.run(ctx, gh, repo, a, cmd)
		if err != nil {
			var refused *refusal
			if !errors.As(err, &refused) {
				return err
			}
			reply, ok = refused.msg, false
		}
		if reply != "" {
			replies = append(replies, reply)
		}
	}
	if len(replies) > 0 {
		if _, err := gh.CreateComment(ctx, repo, a.Number, report.Replies(replies)); err != nil {
			return githubRetry(err)
		}
	}
	final := "rocket"
	if !ok {
		final = "confused"
	}
	if err := gh.React(ctx, repo, a.CommentID, final); err != nil {
		return githubRetry(err)
	}
	return c.State.Put(ctx, "comment_done", doneKey, final)
}

// refusal is a command that was understood and allowed but cannot run now.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(msg string) error { return &refusal{msg: msg} }

func (c *Commander) run(ctx context.Context, gh CommandGitHub, repo github.Repo, a CommentCommands, cmd chatops.Command) (string, error) {
	switch cmd.Name {
	case chatops.HelpCmd:
		return chatops.Help(), nil
	case chatops.DiffCmd:
		return "", c.diff(ctx, gh, repo, a, cmd.Live)
	case chatops.HistoryCmd:
		syncs, err := c.History.Syncs(ctx, cmd.Env)
		if err != nil {
			return "", err
		}
		return report.History(cmd.Env, syncs), nil
	case chatops.LockCmd:
		lock := envLock{By: a.Author, Reason: cmd.Reason, PR: a.Number}
		b, _ := json.Marshal(lock)
		if err := c.State.Put(ctx, "lock", a.Repo+"/"+cmd.Env, string(b)); err != nil {
			return "", err
		}
		return report.LockReply(cmd.Env), nil
	case chatops.UnlockCmd:
		spec, err := releaseSpec(a, cmd.Env)
		if err != nil {
			return "", err
		}
		return report.UnlockReply(cmd.Env), c.enqueue(ctx, spec)
	case chatops.SyncCmd:
		return c.sync(ctx, gh, repo, a, cmd)
	case chatops.RollbackCmd:
		return c.rollback(ctx, gh, repo, a, cmd)
	}
	return "", refuse(report.UnknownCommand(string(cmd.Name)))
}

func (c *Commander) enqueue(ctx context.Context, specs ...queue.Spec) error {
	if err := c.Queue.Enqueue(ctx, specs...); err != nil {
		return err
	}
	if c.Wake != nil {
		c.Wake()
	}
	return nil
}

// diff re-renders the pull request and refreshes its comment and checks.
func (c *Commander) diff(ctx context.Context, gh CommandGitHub, repo github.Repo, a CommentCommands, live bool) error {
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return githubRetry(err)
	}
	if pr.State != "open" {
		return refuse(report.DiffRefusedClosed(a.Number))
	}
	spec, err := PreviewSpec(PullRequest{InstallationID: a.InstallationID, Repo: a.Repo, CloneURL: a.CloneURL, HTMLURL: a.HTMLURL,
		Number: a.Number, HeadSHA: pr.HeadSHA, BaseRef: pr.BaseRef, Author: pr.Author, Live: live, DefaultBranch: a.DefaultBranch})
	if err != nil {
		return err
	}
	return c.enqueue(ctx, spec)
}

// sync syncs an environment to a merged pull request's merge commit: the
// "an engineer approves each sync" of a manual sync policy. An open pull
// request is refused: Git first.
func (c *Commander) sync(ctx context.Context, gh CommandGitHub, repo github.Repo, a CommentCommands, cmd chatops.Command) (string, error) {
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return "", githubRetry(err)
	}
	if !pr.Merged || pr.MergeCommit == "" {
		return "", refuse(report.SyncRefusedUnmerged(cmd.Env))
	}
	spec, err := SyncSpec(SyncArgs{InstallationID: a.InstallationID, Repo: a.Repo, CloneURL: a.CloneURL, HTMLURL: a.HTMLURL,
		Branch: pr.BaseRef, Commit: pr.MergeCommit, Environment: cmd.Env, Trigger: "manual", PR: a.Number, Actor: a.Author})
	if err != nil {
		return "", err
	}
	return report.SyncReply(cmd.Env, pr.MergeCommit), c.enqueue(ctx, spec)
}

// rollback opens a pull request whose content is a revision from the
// environment's history: by default the one before the current.
func (c *Commander) rollback(ctx context.Context, gh CommandGitHub, repo github.Repo, a CommentCommands, cmd chatops.Command) (string, error) {
	syncs, err := c.History.Syncs(ctx, cmd.Env)
	if err != nil {
		return "", err
	}
	target, err := pickRevision(syncs, cmd)
	if err != nil {
		return "", err
	}
	token, err := c.Token(ctx, a.InstallationID)
	if err != nil {
		return "", githubRetry(err)
	}
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return "", githubRetry(err)
	}
	branch := pr.BaseRef
	dir, err := c.Mirrors.Fetch(ctx, a.Repo, a.CloneURL, token, branchRefspec(branch))
	if err != nil {
		return "", err
	}
	if _, err := repofs.ResolveCommit(ctx, dir, target.Revision); err != nil {
		return "", refuse(report.RollbackRefusedGone(target.Revision, branch))
	}
	title := fmt.Sprintf("Roll back %s to %s", cmd.Env, short(target.Revision))
	commit, err := revert.Restore(ctx, dir, "refs/ferry/heads/"+branch, target.Revision, revert.Author{Name: "ferry", Email: "ferry@users.noreply.github.com"}, title)
	if err != nil {
		return "", err
	}
	head := "ferry/rollback-" + cmd.Env + "-" + short(target.Revision)
	if err := c.Mirrors.Push(ctx, a.Repo, a.CloneURL, token, commit+":refs/heads/"+head); err != nil {
		return "", err
	}
	body := report.RollbackBody(report.Rollback{Author: a.Author, PR: a.Number, Environment: cmd.Env, Target: target})
	number, url, err := gh.OpenPullRequest(ctx, repo, head, branch, title, body)
	if err != nil {
		return "", githubRetry(err)
	}
	return report.RollbackReply(number, cmd.Env, target.Revision, url), nil
}

func pickRevision(syncs []history.Sync, cmd chatops.Command) (history.Sync, error) {
	if len(syncs) == 0 {
		return history.Sync{}, refuse(report.RollbackRefusedNoHistory(cmd.Env))
	}
	if id, ok := cmd.HistoryID(); ok {
		for _, s := range syncs {
			if s.ID == id {
				return s, nil
			}
		}
		return history.Sync{}, refuse(report.RollbackRefusedNoSync(cmd.Env, id))
	}
	if cmd.Revision != "" {
		for _, s := range syncs {
			if strings.HasPrefix(s.Revision, cmd.Revision) {
				return s, nil
			}
		}
		return history.Sync{}, refuse(report.RollbackRefusedNeverSynced(cmd.Env, cmd.Revision))
	}
	// The revision before the current one: the newest succeeded sync of a
	// different revision than the latest.
	current := syncs[0].Revision
	for _, s := range syncs[1:] {
		if s.Revision != current && s.Result == history.Succeeded {
			return s, nil
		}
	}
	return history.Sync{}, refuse(report.RollbackRefusedNoEarlier(cmd.Env))
}

// envLock is an environment's lock.
type envLock struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	PR     int    `json:"pr"`
}

func releaseSpec(a CommentCommands, env string) (queue.Spec, error) {
	raw, err := json.Marshal(SyncArgs{InstallationID: a.InstallationID, Repo: a.Repo, CloneURL: a.CloneURL, HTMLURL: a.HTMLURL, Environment: env, Actor: a.Author, PR: a.Number})
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindRelease, Key: a.Repo + "/env/" + env, Args: raw}, nil
}

// Release handles KindRelease: it lifts the lock and queues the held syncs
// in the order they were held.
func (c *Commander) Release(ctx context.Context, j queue.Job) error {
	var a SyncArgs
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return queue.Permanent(err)
	}
	key := a.Repo + "/" + a.Environment
	held, err := heldSyncs(ctx, c.State, key)
	if err != nil {
		return err
	}
	if err := c.State.Put(ctx, "lock", key, ""); err != nil {
		return err
	}
	var specs []queue.Spec
	for _, h := range held {
		spec, err := SyncSpec(h)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	}
	if err := c.State.Put(ctx, "held", key, "[]"); err != nil {
		return err
	}
	if len(specs) == 0 {
		return nil
	}
	c.Logger.Info("environment unlocked; resuming held syncs", "repo", a.Repo, "environment", a.Environment, "syncs", len(specs))
	return c.enqueue(ctx, specs...)
}

func heldSyncs(ctx context.Context, st State, key string) ([]SyncArgs, error) {
	raw, ok, err := st.Get(ctx, "held", key)
	if err != nil || !ok || raw == "" {
		return nil, err
	}
	var held []SyncArgs
	if err := json.Unmarshal([]byte(raw), &held); err != nil {
		return nil, fmt.Errorf("held syncs of %s: %w", key, err)
	}
	return held, nil
}

// lockOf returns an environment's lock, if it is locked.
func lockOf(ctx context.Context, st State, key string) (*envLock, error) {
	raw, ok, err := st.Get(ctx, "lock", key)
	if err != nil || !ok || raw == "" {
		return nil, err
	}
	var l envLock
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return nil, fmt.Errorf("lock of %s: %w", key, err)
	}
	return &l, nil
}
