package job

import (
	"context"
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
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Commands handles work.KindCommand: the /ferry commands of one comment.
type Commands struct {
	Repos  Repos
	DB     *store.DB
	Queue  Enqueuer
	Logger *slog.Logger
}

// Handle runs each command of a comment: 👀 when taken, then 🚀 when all
// went well or 😕, and a reply for whatever needs words.
func (c *Commands) Handle(ctx context.Context, j queue.Job) error {
	a, err := work.Decode[work.Command](j)
	if err != nil {
		return err
	}
	// The same comment runs once, whatever GitHub redelivers.
	if done, err := c.DB.CommentDone(ctx, a.FullName, a.CommentID); err != nil || done {
		return err
	}
	gh, repo, err := c.Repos.client(a.Repo)
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
	replies, ok, err := c.runAll(ctx, gh, repo, a, have)
	if err != nil {
		return err
	}
	if len(replies) > 0 {
		if _, err := gh.CreateComment(ctx, repo, a.Number, strings.Join(replies, "\n\n---\n\n")); err != nil {
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
	return c.DB.MarkCommentDone(ctx, a.FullName, a.CommentID, final)
}

// runAll runs the commands the author may run and answers the rest; ok
// reports whether all went well.
func (c *Commands) runAll(ctx context.Context, gh *github.Client, repo github.Repo, a work.Command, have chatops.Permission) (replies []string, ok bool, err error) {
	ok = len(a.Errors) == 0
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
		var refused *refusal
		if errors.As(err, &refused) {
			reply, ok, err = refused.msg, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if reply != "" {
			replies = append(replies, reply)
		}
	}
	return replies, ok, nil
}

// refusal is a command that was understood and allowed but cannot run now.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(msg string) error { return &refusal{msg: msg} }

func (c *Commands) run(ctx context.Context, gh *github.Client, repo github.Repo, a work.Command, cmd chatops.Command) (string, error) {
	switch cmd.Name {
	case chatops.HelpCmd:
		return chatops.Help(), nil
	case chatops.DiffCmd:
		return "", c.diff(ctx, gh, repo, a, cmd.Live)
	case chatops.HistoryCmd:
		syncs, err := c.DB.Syncs(ctx, a.FullName, cmd.Env)
		if err != nil {
			return "", err
		}
		return report.History(cmd.Env, syncs), nil
	case chatops.LockCmd:
		if err := c.DB.SetLock(ctx, a.FullName, cmd.Env, store.Lock{By: a.Author, Reason: cmd.Reason, PR: a.Number}); err != nil {
			return "", err
		}
		return report.LockReply(cmd.Env), nil
	case chatops.UnlockCmd:
		spec, err := work.Release{Repo: a.Repo, Environment: cmd.Env, Actor: a.Author, PR: a.Number}.Spec()
		if err != nil {
			return "", err
		}
		return report.UnlockReply(cmd.Env), c.Queue.Enqueue(ctx, spec)
	case chatops.SyncCmd:
		return c.sync(ctx, gh, repo, a, cmd)
	case chatops.RollbackCmd:
		return c.rollback(ctx, gh, repo, a, cmd)
	}
	return "", refuse(report.UnknownCommand(string(cmd.Name)))
}

// diff re-renders the pull request and refreshes its comment and checks.
func (c *Commands) diff(ctx context.Context, gh *github.Client, repo github.Repo, a work.Command, live bool) error {
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return githubRetry(err)
	}
	if pr.State != "open" {
		return refuse(report.DiffRefusedClosed(a.Number))
	}
	spec, err := work.Preview{Repo: a.Repo, Number: a.Number, HeadSHA: pr.HeadSHA, BaseRef: pr.BaseRef, Author: pr.Author, Live: live}.Spec()
	if err != nil {
		return err
	}
	return c.Queue.Enqueue(ctx, spec)
}

// sync syncs an environment to the current tip of the branch it follows,
// as the default branch defines it, every time it is asked (a re-sync
// heals drift); going back is /ferry rollback's. It is asked on a merged
// pull request: Git first.
func (c *Commands) sync(ctx context.Context, gh *github.Client, repo github.Repo, a work.Command, cmd chatops.Command) (string, error) {
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return "", githubRetry(err)
	}
	if !pr.Merged || pr.MergeCommit == "" {
		return "", refuse(report.SyncRefusedUnmerged(cmd.Env))
	}
	registry := defaultBranch(a.Repo, pr.BaseRef)
	dir, _, err := c.Repos.fetchBranch(ctx, a.Repo, registry)
	if err != nil {
		return "", err
	}
	reg, err := c.Repos.readRegistry(ctx, dir, a.Repo, registry)
	if err != nil {
		return "", err
	}
	env, ok := reg.env(cmd.Env)
	if !ok {
		return "", refuse(report.SyncRefusedUnknown(cmd.Env, reg.branch))
	}
	branch := reg.targetBranch(env)
	if branch != registry {
		if dir, _, err = c.Repos.fetchBranch(ctx, a.Repo, branch); err != nil {
			return "", err
		}
	}
	tip, err := repofs.ResolveCommit(ctx, dir, branchRef(branch))
	if err != nil {
		return "", err
	}
	spec, err := work.Sync{Repo: a.Repo, Branch: branch, Commit: tip, Environment: cmd.Env, Trigger: work.TriggerManual, PR: a.Number, Actor: a.Author}.Spec()
	if err != nil {
		return "", err
	}
	return report.SyncReply(cmd.Env, branch, tip), c.Queue.Enqueue(ctx, spec)
}

// rollback opens a pull request whose content is a revision from the
// environment's history: by default the one before the current.
func (c *Commands) rollback(ctx context.Context, gh *github.Client, repo github.Repo, a work.Command, cmd chatops.Command) (string, error) {
	syncs, err := c.DB.Syncs(ctx, a.FullName, cmd.Env)
	if err != nil {
		return "", err
	}
	target, err := pickRevision(syncs, cmd)
	if err != nil {
		return "", err
	}
	pr, err := gh.GetPullRequest(ctx, repo, a.Number)
	if err != nil {
		return "", githubRetry(err)
	}
	branch := pr.BaseRef
	dir, token, err := c.Repos.fetchBranch(ctx, a.Repo, branch)
	if err != nil {
		return "", err
	}
	if _, err := repofs.ResolveCommit(ctx, dir, target.Revision); err != nil {
		return "", refuse(report.RollbackRefusedGone(target.Revision, branch))
	}
	title := fmt.Sprintf("Roll back %s to %s", cmd.Env, short(target.Revision))
	commit, err := revert.Restore(ctx, dir, branchRef(branch), target.Revision, ferryAuthor, title)
	if err != nil {
		return "", err
	}
	head := rollbackBranchPrefix + cmd.Env + "-" + short(target.Revision)
	if err := c.Repos.Mirrors.Push(ctx, a.FullName, a.CloneURL, token, commit+":refs/heads/"+head); err != nil {
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

// rollbackBranchPrefix names the branches of rollback pull requests; a
// merge from one syncs with the rollback trigger.
const rollbackBranchPrefix = "ferry/rollback-"

// Releases handles work.KindRelease: it lifts an environment's lock and
// queues the syncs it held, in the order they were held, in one
// transaction.
type Releases struct {
	DB     *store.DB
	Logger *slog.Logger
}

// Handle releases the environment.
func (h *Releases) Handle(ctx context.Context, j queue.Job) error {
	a, err := work.Decode[work.Release](j)
	if err != nil {
		return err
	}
	n := 0
	err = h.DB.Release(ctx, a.FullName, a.Environment, func(held [][]byte) ([]queue.Spec, error) {
		specs := make([]queue.Spec, 0, len(held))
		for _, raw := range held {
			spec, err := work.Decode[work.Sync](queue.Job{Kind: work.KindSync, Args: raw})
			if err != nil {
				return nil, err
			}
			s, err := spec.Spec()
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
		n = len(specs)
		return specs, nil
	})
	if err != nil {
		return err
	}
	h.Logger.Info("environment unlocked", "repo", a.FullName, "environment", a.Environment, "resumed_syncs", n)
	return nil
}
