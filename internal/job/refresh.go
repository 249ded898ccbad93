package job

import (
	"context"
	"log/slog"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Refreshes handles work.KindRefresh: it queues a preview of every open
// pull request judged by a branch's rules (the default branch's judge them
// all), so a policy change takes effect without waiting for each pull
// request's next push.
type Refreshes struct {
	Repos  Repos
	Queue  Enqueuer
	Logger *slog.Logger
}

// Handle queues the previews.
func (r *Refreshes) Handle(ctx context.Context, j queue.Job) error {
	args, err := work.Decode[work.Refresh](j)
	if err != nil {
		return err
	}
	gh, repo, err := r.Repos.client(args.Repo)
	if err != nil {
		return err
	}
	base := args.BaseRef
	if base == args.DefaultBranch {
		base = "" // every open pull request, whatever its base
	}
	prs, err := gh.OpenPullRequests(ctx, repo, base)
	if err != nil {
		return githubRetry(err)
	}
	specs := make([]queue.Spec, 0, len(prs))
	for _, pr := range prs {
		spec, err := work.Preview{Repo: args.Repo, Number: pr.Number, HeadSHA: pr.HeadSHA, BaseRef: pr.BaseRef, Author: pr.Author}.Spec()
		if err != nil {
			return queue.Permanent(err)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil
	}
	r.Logger.Info("re-judging open pull requests after a policy change", "repo", args.FullName, "branch", args.BaseRef, "pull_requests", len(specs))
	return r.Queue.Enqueue(ctx, specs...)
}
