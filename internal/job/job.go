// Package job runs ferry's queued work: one handler per kind of job (the
// kinds and their arguments are package work's). A handler reads like a
// recipe: decode the arguments, load what they name (git, the store),
// call an engine (preview, policy, deploy, drift), persist what it
// returned, and report it on GitHub through package report's markdown.
// Handlers keep no state of their own beyond their dependencies; the two
// long-lived watchers (Drift and Rollouts) own theirs inside Run.
package job

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/gitmirror"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Router sends each job to the handler for its kind.
type Router map[string]queue.Handler

// Handle implements queue.Handler.
func (r Router) Handle(ctx context.Context, j queue.Job) error {
	h, ok := r[j.Kind]
	if !ok {
		return queue.Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	}
	return h.Handle(ctx, j)
}

// Enqueuer adds follow-up work to the queue (the worker pool, which wakes
// its workers, or the store itself).
type Enqueuer interface {
	Enqueue(ctx context.Context, specs ...queue.Spec) error
}

// Repos reaches a job's repository: GitHub as the App's installation, and
// git through the server's mirrors.
type Repos struct {
	App     *github.App
	Mirrors *gitmirror.Mirrors
	// Discovery is how environments are discovered (RepoURL is set per
	// repository): the server's clusters, and the renderer (its sandbox
	// pool) that expands app-of-apps.
	Discovery preview.DiscoverOptions
}

// client is the installation's GitHub client and the repository's name.
func (r Repos) client(repo work.Repo) (*github.Client, github.Repo, error) {
	name, err := github.ParseRepo(repo.FullName)
	if err != nil {
		return nil, github.Repo{}, queue.Permanent(err)
	}
	gh, err := r.App.Client(repo.InstallationID)
	return gh, name, err
}

// fetch brings refspecs into the repository's mirror and returns the
// mirror and the token it used (a revert pushes with it).
func (r Repos) fetch(ctx context.Context, repo work.Repo, refspecs ...string) (dir, token string, err error) {
	token, err = r.App.Token(ctx, repo.InstallationID)
	if err != nil {
		return "", "", githubRetry(err)
	}
	dir, err = r.Mirrors.Fetch(ctx, repo.FullName, repo.CloneURL, token, refspecs...)
	return dir, token, err
}

// fetchBranch brings branches into the mirror as refs/ferry/heads/<branch>,
// in one fetch (a branch named twice is fetched once).
func (r Repos) fetchBranch(ctx context.Context, repo work.Repo, branches ...string) (dir, token string, err error) {
	var refspecs []string
	for i, b := range branches {
		if !slices.Contains(branches[:i], b) {
			refspecs = append(refspecs, "+refs/heads/"+b+":"+branchRef(b))
		}
	}
	return r.fetch(ctx, repo, refspecs...)
}

func branchRef(branch string) string { return "refs/ferry/heads/" + branch }

// githubRetry turns GitHub's rate limits into a queue retry at the right time.
func githubRetry(err error) error {
	if err == nil || queue.IsPermanent(err) {
		return err
	}
	if d, ok := github.RetryDelay(err, time.Now()); ok && d > 0 {
		return queue.RetryAfter(err, d)
	}
	return err
}

// maskedError is an error whose text is masked; it unwraps to the error,
// so the queue still reads retries and permanence from it.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// maskError masks err's text; a nil masker leaves it as it is.
func maskError(m diff.Masker, err error) error {
	if m == nil || err == nil {
		return err
	}
	return &maskedError{msg: m.MaskText(err.Error()), err: err}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
