package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Previews handles work.KindPreview: it renders a pull request at one head
// commit and judges it (the diff comment, the ferry/diff and ferry/policy
// checks).
type Previews struct {
	Repos Repos
	DB    *store.DB
	// Renderer renders untrusted trees (a sandbox.Pool in the server).
	Renderer preview.Renderer
	// SecretRules are gitleaks' rules, compiled once at start-up.
	SecretRules *secrets.Rules
	// Clusters resolves destinations, for /ferry diff --live.
	Clusters func(dest environment.Destination) (*kube.Cluster, error)
	// Mask hides secret values in every diff and error the preview shows,
	// the live section's included (secrets.Masker); nil leaves it to the
	// diff's Secret redaction.
	Mask diff.Masker
	// Projects bound where and what each environment may deploy.
	Projects Projects
	// Metrics, when set, is told each environment's render time.
	Metrics Metrics
	Logger  *slog.Logger
}

// Handle previews one pull request and posts the result.
func (p *Previews) Handle(ctx context.Context, j queue.Job) error {
	pr, err := work.Decode[work.Preview](j)
	if err != nil {
		return err
	}
	gh, repo, err := p.Repos.client(pr.Repo)
	if err != nil {
		return err
	}
	info, err := p.openPullRequest(ctx, gh, repo, &pr)
	if err != nil || info == nil {
		return err
	}
	checks, err := startChecks(ctx, p.DB, gh, repo, pr.FullName, pr.HeadSHA)
	if err != nil {
		return githubRetry(err)
	}
	started := time.Now()
	snap, err := p.snapshot(ctx, pr)
	if err != nil {
		// Shown on the checks, logged and stored by the queue: a discovery
		// or configuration error can quote the head's contents.
		err = maskError(p.Mask, err)
		if queue.IsPermanent(err) && !errors.Is(err, errHeadMoved) {
			// Nothing will retry this: say why on both checks instead of
			// leaving them in progress forever (and the PR unmergeable).
			if cerr := checks.fail(ctx, gh, repo, report.PreviewFailed(err.Error())); cerr != nil {
				return githubRetry(cerr)
			}
		}
		return err
	}
	defer snap.Close()
	observeRenders(p.Metrics, snap.res)
	v, err := p.evaluate(ctx, gh, repo, pr, info, snap)
	if err != nil {
		return githubRetry(err)
	}
	var live string
	if pr.Live {
		live = p.liveSection(ctx, pr, snap)
	}
	post := report.PreviewOf(snap.res, pr.HeadSHA, v.decision, v.findings, v.environments, live, time.Since(started))
	if err := p.post(ctx, gh, repo, pr, checks, post); err != nil {
		return githubRetry(err)
	}
	p.Logger.Info("preview posted", "repo", pr.FullName, "pr", pr.Number, "head", short(pr.HeadSHA), "environments", len(snap.res.Environments),
		"diff", post.DiffConclusion, "policy", post.PolicyConclusion, "secret_findings", len(v.findings), "elapsed", time.Since(started))
	return nil
}

// openPullRequest reads the pull request; nil when it is closed (nothing
// to preview). The event's head wins over the one GitHub reports: right
// after a push a replica may still answer with the old head, and a head
// that is really gone is found missing at fetch time.
func (p *Previews) openPullRequest(ctx context.Context, gh *github.Client, repo github.Repo, pr *work.Preview) (*github.PullRequest, error) {
	info, err := gh.GetPullRequest(ctx, repo, pr.Number)
	if github.IsNotFound(err) {
		// Right after the webhook GitHub's replicas may not know the PR yet.
		return nil, queue.RetryAfter(err, 2*time.Second)
	}
	if err != nil {
		return nil, githubRetry(err)
	}
	if info.State != "open" {
		p.Logger.Info("preview skipped: pull request is closed", "repo", pr.FullName, "pr", pr.Number, "head", short(pr.HeadSHA))
		return nil, nil
	}
	info.HeadSHA = pr.HeadSHA
	if pr.BaseRef == "" {
		pr.BaseRef = info.BaseRef
	}
	return info, nil
}

// checks are a head commit's two check runs.
type checks struct{ diff, policy int64 }

// startChecks creates a commit's in-progress checks once; a retried job
// finds the ids it stored and reuses the runs. A run missing from the
// store is first looked for on GitHub: the job that made it may have lost
// GitHub's answer (a 502 after the run was made, a replica killed
// during the call).
func startChecks(ctx context.Context, db *store.DB, gh *github.Client, repo github.Repo, fullName, sha string) (checks, error) {
	var c checks
	var made map[string]int64 // the runs on GitHub, looked up once
	for _, run := range []struct {
		id   *int64
		name string
	}{{&c.diff, report.DiffCheckName}, {&c.policy, report.PolicyCheckName}} {
		id, ok, err := db.CheckRun(ctx, fullName, sha, run.name)
		if err != nil {
			return c, err
		}
		if !ok {
			if made == nil {
				if made, err = gh.CheckRunIDs(ctx, repo, sha); err != nil {
					return c, err
				}
			}
			if id, ok = made[run.name]; !ok {
				if id, err = gh.StartCheckRun(ctx, repo, run.name, sha, "Rendering environments…"); err != nil {
					return c, err
				}
			}
			if err := db.SetCheckRun(ctx, fullName, sha, run.name, id); err != nil {
				return c, err
			}
		}
		*run.id = id
	}
	return c, nil
}

// fail completes both checks with one failure.
func (c checks) fail(ctx context.Context, gh *github.Client, repo github.Repo, out github.CheckOutput) error {
	if err := gh.CompleteCheckRun(ctx, repo, c.diff, report.DiffCheckName, "failure", out); err != nil {
		return err
	}
	return gh.CompleteCheckRun(ctx, repo, c.policy, report.PolicyCheckName, "failure", out)
}

// post updates the sticky comment and completes both checks.
func (p *Previews) post(ctx context.Context, gh *github.Client, repo github.Repo, pr work.Preview, c checks, post report.Preview) error {
	known, err := p.DB.DiffComment(ctx, pr.FullName, pr.Number)
	if err != nil {
		return err
	}
	id, err := gh.UpsertComment(ctx, repo, pr.Number, known, report.DiffMarker, post.Comment)
	if err != nil {
		return err
	}
	if id != known {
		if err := p.DB.SetDiffComment(ctx, pr.FullName, pr.Number, id); err != nil {
			return err
		}
	}
	if err := gh.CompleteCheckRun(ctx, repo, c.diff, report.DiffCheckName, post.DiffConclusion, post.Diff); err != nil {
		return err
	}
	return gh.CompleteCheckRun(ctx, repo, c.policy, report.PolicyCheckName, post.PolicyConclusion, post.Policy)
}

// errHeadMoved marks a head commit that is no longer on the pull request.
var errHeadMoved = errors.New("no longer on the pull request")

// snapshot is one pull request rendered: the preview and the trees it came
// from, kept open for the checks that read them.
type snapshot struct {
	res *preview.Result
	// judge is the default branch's tip, which holds the .ferry.yaml (cfg)
	// and the policies that judge the change, and the environment
	// definitions a live diff reads: never anything the pull request or its
	// base branch chose.
	cfg *config.Config
	// defined is what the default branch defines: environments and the
	// AppProjects that narrow the server's projects.
	defined           *environment.Discovery
	judge, base, head *repofs.Tree
}

func (s *snapshot) Close() {
	for _, t := range []*repofs.Tree{s.judge, s.base, s.head} {
		t.Close()
	}
}

// snapshot fetches the pull request and renders it against its merge base
// with the base branch, judged by the default branch's configuration.
func (p *Previews) snapshot(ctx context.Context, pr work.Preview) (*snapshot, error) {
	baseRef, judgeBranch := "refs/ferry/base/"+pr.BaseRef, defaultBranch(pr.Repo, pr.BaseRef)
	judgeRef := "refs/ferry/base/" + judgeBranch
	headRef := fmt.Sprintf("refs/ferry/pull/%d/head", pr.Number)
	refspecs := []string{"+refs/heads/" + pr.BaseRef + ":" + baseRef, fmt.Sprintf("+refs/pull/%d/head:%s", pr.Number, headRef)}
	if judgeBranch != pr.BaseRef {
		refspecs = append(refspecs, "+refs/heads/"+judgeBranch+":"+judgeRef)
	}
	dir, _, err := p.Repos.fetch(ctx, pr.Repo, refspecs...)
	if err != nil {
		return nil, err
	}
	if _, err := repofs.ResolveCommit(ctx, dir, pr.HeadSHA); err != nil {
		// The PR moved on before we fetched; the newer push has its own job.
		return nil, queue.Permanent(fmt.Errorf("head %s of %s#%d: %w: %w", short(pr.HeadSHA), pr.FullName, pr.Number, errHeadMoved, err))
	}
	mergeBase, err := repofs.MergeBase(ctx, dir, baseRef, pr.HeadSHA)
	if err != nil {
		return nil, queue.Permanent(err)
	}
	s := &snapshot{}
	if err := s.open(ctx, dir, judgeRef, mergeBase, pr.HeadSHA); err != nil {
		return nil, err
	}
	if err := p.render(ctx, s, pr.HTMLURL, judgeBranch); err != nil {
		s.Close()
		return nil, fmt.Errorf("preview %s#%d: %w", pr.FullName, pr.Number, err)
	}
	return s, nil
}

// render reads what the default branch (judgeBranch, open as s.judge)
// defines and renders s's base and head.
func (p *Previews) render(ctx context.Context, s *snapshot, repoURL, judgeBranch string) error {
	var err error
	if s.cfg, err = config.Load(s.judge); err != nil {
		return queue.Permanent(fmt.Errorf("default branch %s: %w", judgeBranch, err))
	}
	dopts := p.Repos.Discovery
	dopts.RepoURL = repoURL
	if s.defined, err = preview.Discover(ctx, s.judge, dopts); err != nil {
		return queue.Permanent(fmt.Errorf("environments of the default branch %s: %w", judgeBranch, err))
	}
	s.res, err = preview.Run(ctx, s.base, s.head, preview.Options{
		RepoURL:  repoURL,
		Clusters: p.Repos.Discovery.Clusters,
		Renderer: p.Renderer,
		Diff:     diff.Options{Context: 3, IgnoreLabels: s.cfg.Diff.IgnoreLabels, IgnoreAnnotations: s.cfg.Diff.IgnoreAnnotations, Mask: p.Mask},
	})
	return err
}

// open opens the snapshot's three trees; on an error none stays open.
func (s *snapshot) open(ctx context.Context, dir, judge, base, head string) error {
	var err error
	if s.judge, err = repofs.OpenGit(ctx, dir, judge); err != nil {
		return err
	}
	if s.base, err = repofs.OpenGit(ctx, dir, base); err != nil {
		s.judge.Close()
		return err
	}
	if s.head, err = repofs.OpenGit(ctx, dir, head); err != nil {
		s.judge.Close()
		s.base.Close()
		return err
	}
	return nil
}
