package job

import (
	"context"
	"log/slog"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/queue"
)

// OpenPullRequests lists a branch's open pull requests.
type OpenPullRequests interface {
	OpenPullRequests(ctx context.Context, repo github.Repo, base string) ([]github.PullRequest, error)
}

// Enqueuer adds follow-up work to the queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, specs ...queue.Spec) error
}

// Refresher handles KindRefresh: it queues a preview of every open pull
// request into the branch, so a policy change on the base takes effect
// without waiting for each pull request's next push.
type Refresher struct {
	Client func(installationID int64) (OpenPullRequests, error)
	Queue  Enqueuer
	// Wake tells idle workers that previews are waiting.
	Wake   func()
	Logger *slog.Logger
}

// Handle queues the previews.
func (r *Refresher) Handle(ctx context.Context, j queue.Job) error {
	args, repo, err := decode[Refresh](j)
	if err != nil {
		return err
	}
	gh, err := r.Client(args.InstallationID)
	if err != nil {
		return err
	}
	prs, err := gh.OpenPullRequests(ctx, repo, args.BaseRef)
	if err != nil {
		return githubRetry(err)
	}
	var specs []queue.Spec
	for _, pr := range prs {
		spec, err := PreviewSpec(PullRequest{
			InstallationID: args.InstallationID, Repo: args.Repo, CloneURL: args.CloneURL, HTMLURL: args.HTMLURL,
			Number: pr.Number, HeadSHA: pr.HeadSHA, BaseRef: args.BaseRef, Author: pr.Author,
		})
		if err != nil {
			return queue.Permanent(err)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil
	}
	r.Logger.Info("re-judging open pull requests after a policy change", "repo", args.Repo, "branch", args.BaseRef, "pull_requests", len(specs))
	if err := r.Queue.Enqueue(ctx, specs...); err != nil {
		return err
	}
	if r.Wake != nil {
		r.Wake()
	}
	return nil
}
