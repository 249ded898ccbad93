package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/revert"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// ferryAuthor signs the commits ferry makes.
var ferryAuthor = revert.Author{Name: "ferry", Email: "ferry@users.noreply.github.com"}

// Reverts handles work.KindRevert: the revert pull request of a commit
// whose rollout degraded after its sync had succeeded.
type Reverts struct {
	Repos  Repos
	DB     *store.DB
	Logger *slog.Logger
}

// Handle records the degradation and opens the revert pull request.
func (h *Reverts) Handle(ctx context.Context, j queue.Job) error {
	a, err := work.Decode[work.Revert](j)
	if err != nil {
		return err
	}
	gh, repo, err := h.Repos.client(a.Repo)
	if err != nil {
		return err
	}
	if err := h.DB.AppendAudit(ctx, history.Event{Repo: a.FullName, Environment: a.Environment, Kind: "degraded", Revision: a.Commit, Detail: a.Reason}); err != nil {
		return err
	}
	rec := history.Sync{Repo: a.FullName, Environment: a.Environment, Revision: a.Commit, Result: history.Degraded, Error: a.Reason}
	note := openRevert(ctx, h.Repos, h.DB, gh, repo, a.Sync, report.RevertBody(report.Revert{Environment: a.Environment, Record: rec, PR: a.PR}))
	h.Logger.Info("revert", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit), "outcome", note)
	if a.PR == 0 {
		return nil
	}
	_, err = gh.CreateComment(ctx, repo, a.PR, report.DegradedComment(a.Environment, a.Reason, note))
	return githubRetry(err)
}

// openRevert opens (once per commit) a pull request that reverts a's
// commit on its branch as the branch is now, and returns a line for the
// sync comment saying what it did.
func openRevert(ctx context.Context, repos Repos, db *store.DB, gh *github.Client, repo github.Repo, a work.Sync, body string) string {
	if url, ok, err := db.RevertPR(ctx, a.FullName, a.Commit); err == nil && ok {
		return report.RevertAlreadyOpen(url)
	}
	dir, token, err := repos.fetchBranch(ctx, a.Repo, a.Branch)
	if err != nil {
		return report.RevertNotOpened(err)
	}
	title := fmt.Sprintf("Revert %s: %s failed to sync", short(a.Commit), a.Environment)
	res, err := revert.Make(ctx, dir, branchRef(a.Branch), a.Commit, ferryAuthor, title)
	if errors.Is(err, revert.ErrConflict) {
		return report.RevertConflict(a.Commit, a.Branch)
	}
	if err != nil {
		return report.RevertNotOpened(err)
	}
	if err := repos.Mirrors.Push(ctx, a.FullName, a.CloneURL, token, res.Commit+":refs/heads/"+res.Branch); err != nil {
		return report.RevertNotPushed(err)
	}
	number, url, err := gh.OpenPullRequest(ctx, repo, res.Branch, a.Branch, title, body)
	if err != nil {
		return report.RevertPRNotOpened(res.Branch, err)
	}
	_ = db.SetRevertPR(ctx, a.FullName, a.Commit, url)
	return report.RevertOpened(number, url)
}
