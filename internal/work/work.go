// Package work names ferry's units of queued work: the kinds of job, the
// compact argument record of each, the queue entry that carries it and the
// keys that serialize it. Arguments are stored in the queue, so they hold
// identifiers only: never a title, a body, a payload or a secret.
//
// The webhook builds these records from events; package job decodes them.
// Nothing here renders, syncs or talks to GitHub, so the webhook links none
// of that.
package work

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/chatops"
	"github.com/ferry-gitops/ferry/internal/queue"
)

// Kinds of job.
const (
	// KindPreview renders a pull request and judges it.
	KindPreview = "pull_request.preview"
	// KindRefresh re-judges every open pull request into a branch.
	KindRefresh = "branch.refresh"
	// KindPush plans the syncs a push to a branch calls for.
	KindPush = "push.plan"
	// KindSync syncs one environment to one commit.
	KindSync = "environment.sync"
	// KindRevert opens the revert pull request of a commit whose rollout
	// degraded after its sync had succeeded.
	KindRevert = "environment.revert"
	// KindCommand runs the /ferry commands of one pull request comment.
	KindCommand = "comment.command"
	// KindRelease unlocks an environment and queues the syncs it held.
	KindRelease = "environment.release"
)

// Why a sync runs.
const (
	TriggerMerge      = "merge"
	TriggerFirstSight = "first-sight"
	TriggerManual     = "manual"
	TriggerRollback   = "rollback"
	TriggerSelfHeal   = "self-heal"
)

// Repo is the repository a job is about, as its webhook named it.
type Repo struct {
	InstallationID int64  `json:"installation_id"`
	FullName       string `json:"repo"` // owner/name
	CloneURL       string `json:"clone_url"`
	HTMLURL        string `json:"html_url"`
	// DefaultBranch holds the definitions of the repository's environments.
	DefaultBranch string `json:"default_branch,omitempty"`
}

// Repository returns the record itself, so every job's arguments (which
// embed a Repo) name their repository the same way.
func (r Repo) Repository() Repo { return r }

func (r Repo) check() error {
	if r.InstallationID == 0 || r.FullName == "" || strings.Count(r.FullName, "/") != 1 {
		return fmt.Errorf("event lacks a repository (owner/name) or an installation: %q", r.FullName)
	}
	return nil
}

// PRKey serializes the work on one pull request.
func PRKey(repo string, number int) string { return fmt.Sprintf("%s#%d", repo, number) }

// EnvKey serializes the work on one environment: its syncs run one at a
// time, in order.
func EnvKey(repo, env string) string { return repo + "/env/" + env }

// BranchKey serializes the work on one branch: pushes plan in order.
func BranchKey(repo, branch string) string { return repo + "@" + branch }

// JudgesPullRequests reports whether a file is part of what judges pull
// requests (.ferry.yaml, .ferry/policies): a change to it on a base branch
// re-evaluates the pull requests into that branch.
func JudgesPullRequests(path string) bool {
	return path == ".ferry.yaml" || strings.HasPrefix(path, ".ferry/policies/")
}

// Args is any job's argument record.
type Args interface{ Repository() Repo }

// spec marshals args into a queue entry.
func spec(kind, key string, args Args, supersede bool) (queue.Spec, error) {
	if err := args.Repository().check(); err != nil {
		return queue.Spec{}, fmt.Errorf("%s: %w", kind, err)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return queue.Spec{}, fmt.Errorf("%s args: %w", kind, err)
	}
	return queue.Spec{Kind: kind, Key: key, Args: raw, Supersede: supersede}, nil
}

// Decode reads a job's arguments. Arguments that cannot be read now never
// will be, so the error is permanent.
func Decode[T Args](j queue.Job) (T, error) {
	var a T
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return a, queue.Permanent(fmt.Errorf("%s job %d args: %w", j.Kind, j.ID, err))
	}
	if err := a.Repository().check(); err != nil {
		return a, queue.Permanent(fmt.Errorf("%s job %d: %w", j.Kind, j.ID, err))
	}
	return a, nil
}

// Preview is a pull request at one head commit.
type Preview struct {
	Repo
	Number  int    `json:"number"`
	HeadSHA string `json:"head_sha"`
	BaseRef string `json:"base_ref"`
	Author  string `json:"author"`
	// Live also diffs the head against the live cluster (/ferry diff --live).
	Live bool `json:"live,omitempty"`
}

// Spec queues the preview; a newer one supersedes older queued previews of
// the same pull request.
func (p Preview) Spec() (queue.Spec, error) {
	if p.Number == 0 || p.HeadSHA == "" {
		return queue.Spec{}, errors.New("pull request event lacks a number or head sha")
	}
	return spec(KindPreview, PRKey(p.FullName, p.Number), p, true)
}

// Refresh names a branch whose open pull requests must be judged again.
type Refresh struct {
	Repo
	BaseRef string `json:"base_ref"`
}

// Spec queues the refresh; one per branch is enough.
func (r Refresh) Spec() (queue.Spec, error) {
	if r.BaseRef == "" {
		return queue.Spec{}, errors.New("refresh lacks a branch")
	}
	return spec(KindRefresh, BranchKey(r.FullName, r.BaseRef), r, true)
}

// Push is a push to a branch, as the planner needs it.
type Push struct {
	Repo
	Branch string `json:"branch"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Spec queues the planning of a push. Pushes of a branch are planned in
// order, so merges apply in order.
func (p Push) Spec() (queue.Spec, error) {
	if p.Branch == "" || p.After == "" {
		return queue.Spec{}, errors.New("push lacks a branch or commit")
	}
	return spec(KindPush, BranchKey(p.FullName, p.Branch), p, false)
}

// Sync is one environment to sync to one commit.
type Sync struct {
	Repo
	Branch      string `json:"branch"`
	Commit      string `json:"commit"`
	Environment string `json:"environment"`
	Trigger     string `json:"trigger"` // one of the Trigger constants
	PR          int    `json:"pr,omitempty"`
	Actor       string `json:"actor,omitempty"`
}

// Spec queues the sync behind the environment's other work.
func (s Sync) Spec() (queue.Spec, error) {
	if s.Environment == "" || s.Commit == "" {
		return queue.Spec{}, errors.New("sync lacks an environment or commit")
	}
	return spec(KindSync, EnvKey(s.FullName, s.Environment), s, false)
}

// Revert is a synced commit to revert, and why.
type Revert struct {
	Sync
	Reason string `json:"reason"`
}

// Spec queues the revert behind the environment's other work.
func (r Revert) Spec() (queue.Spec, error) {
	return spec(KindRevert, EnvKey(r.FullName, r.Environment), r, false)
}

// Command is the /ferry commands of one comment: only the parsed commands,
// never the comment's other text.
type Command struct {
	Repo
	Number    int                   `json:"number"`
	CommentID int64                 `json:"comment_id"`
	Author    string                `json:"author"`
	Commands  []chatops.Command     `json:"commands"`
	Errors    []*chatops.UsageError `json:"errors,omitempty"`
}

// Spec queues the commands behind the pull request's other work.
func (c Command) Spec() (queue.Spec, error) {
	if c.Number == 0 || c.CommentID == 0 {
		return queue.Spec{}, errors.New("comment lacks a pull request or id")
	}
	return spec(KindCommand, PRKey(c.FullName, c.Number), c, false)
}

// Release is an environment to unlock, by whom and from where.
type Release struct {
	Repo
	Environment string `json:"environment"`
	Actor       string `json:"actor,omitempty"`
	PR          int    `json:"pr,omitempty"`
}

// Spec queues the release in the environment's own queue, so it cannot race
// the syncs it resumes.
func (r Release) Spec() (queue.Spec, error) {
	if r.Environment == "" {
		return queue.Spec{}, errors.New("release lacks an environment")
	}
	return spec(KindRelease, EnvKey(r.FullName, r.Environment), r, false)
}
