package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// maxRetries caps an Application's retry limit at what the queue runs.
const maxRetries = queue.DefaultMaxAttempts - 1

// defaultDegradationWindow is how long after a successful sync a rollout
// turning Degraded still reverts its commit, unless .ferry.yaml says.
const defaultDegradationWindow = 10 * time.Minute

// Syncs handles work.KindSync: one environment to one commit, tried again
// by the queue under the Application's retry policy, then recorded,
// reported, and reverted when it fails. A sync the cluster could not judge
// waits for the cluster instead (awaitCluster).
type Syncs struct {
	Repos    Repos
	DB       *store.DB
	Clusters func(dest environment.Destination) (*kube.Cluster, error)
	// Renderer renders the commit being synced (a sandbox.Pool in the server).
	Renderer preview.Renderer
	// Mask hides secret values in what a sync records and shows: the API
	// server quotes the values it refuses (secrets.Masker; nil: none).
	Mask diff.Masker
	// HealthTimeout bounds the wait for a healthy rollout (default 5 min).
	HealthTimeout time.Duration
	// DegradationWindow is defaultDegradationWindow unless set (negative:
	// no watch); .ferry.yaml's sync.degradationWindow overrides it.
	DegradationWindow time.Duration
	// Projects bound where and what each environment may deploy.
	Projects Projects
	// Queue takes a sync that a sync window holds, to run when it opens.
	Queue Enqueuer
	// Now is the clock sync windows are read with (time.Now when nil).
	Now func() time.Time
	// Drift and Rollouts, when set, watch what each successful sync applied.
	Drift    *Drift
	Rollouts *Rollouts
	// Metrics, when set, is told each finished sync's result.
	Metrics Metrics
	Logger  *slog.Logger
}

// Handle runs one attempt of the sync.
func (h *Syncs) Handle(ctx context.Context, j queue.Job) error {
	a, err := work.Decode[work.Sync](j)
	if err != nil {
		return err
	}
	run, done, err := h.run(ctx, a, j.ID)
	if err != nil || done {
		return err
	}
	gh, repo, err := h.Repos.client(a.Repo)
	if err != nil {
		return err
	}
	if held, err := h.hold(ctx, gh, repo, a); err != nil || held {
		return err
	}
	co, err := h.checkout(ctx, a)
	if err != nil {
		return err
	}
	defer co.tree.Close()
	if open, err := h.window(ctx, gh, repo, a, co); err != nil || !open {
		return err
	}
	if run.DeploymentID == 0 {
		if err := h.begin(ctx, gh, repo, a, &run); err != nil {
			return err
		}
	}
	_, out, err := h.attempt(ctx, a, co, &run)
	if err != nil {
		return err
	}
	if out.Unavailable {
		return h.awaitCluster(ctx, gh, repo, a, j, run, out)
	}
	if out.Retryable {
		if wait, ok := deploy.RetryPolicy(co.env, maxRetries).After(run.Attempts); ok {
			h.Logger.Warn("sync failed; retrying", "repo", a.FullName, "environment", a.Environment, "attempt", run.Attempts, "wait", wait, "err", out.Err)
			return queue.RetryIn(out.Err, wait)
		}
		out.Err = fmt.Errorf("after %d attempts: %w", run.Attempts, out.Err)
	}
	rec, err := h.finish(ctx, gh, repo, a, co.env, &run, out)
	if err != nil {
		return err
	}
	if out.Result == history.Succeeded {
		h.watch(ctx, a, co, out)
	}
	var note string
	if rec.Result == history.Failed || rec.Result == history.Degraded {
		note = openRevert(ctx, h.Repos, h.DB, gh, repo, a, report.RevertBody(report.Revert{Environment: a.Environment, Record: rec, PR: a.PR, Unhealthy: out.Unhealthy}))
		h.Logger.Info("revert", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit), "outcome", note)
	}
	if a.PR == 0 {
		return nil
	}
	body := report.SyncComment(report.SyncResult{Environment: a.Environment, Record: rec, Changes: out.Changes, Unhealthy: out.Unhealthy, RevertNote: note})
	_, err = gh.CreateComment(ctx, repo, a.PR, body)
	return githubRetry(err)
}

// run is the sync's record across attempts. A commit merged or seen
// first is synced once per environment, whatever GitHub redelivers; a
// manual sync or a self-heal re-applies each time it is asked (the job id
// tells its runs apart). done reports a finished one.
func (h *Syncs) run(ctx context.Context, a work.Sync, jobID int64) (run store.SyncRun, done bool, err error) {
	commit := a.Commit
	if a.Trigger == work.TriggerManual || a.Trigger == work.TriggerSelfHeal {
		commit = fmt.Sprintf("%s#%s-%d", a.Commit, a.Trigger, jobID)
	}
	run, ok, err := h.DB.SyncRun(ctx, a.FullName, a.Environment, commit)
	if err != nil || (ok && run.Result != "") {
		return run, ok && run.Result != "", err
	}
	if !ok {
		run = store.SyncRun{Repo: a.FullName, Env: a.Environment, Commit: commit}
	}
	return run, false, nil
}

// hold queues the sync behind the environment's lock, if it is locked,
// and tells its pull request so.
func (h *Syncs) hold(ctx context.Context, gh *github.Client, repo github.Repo, a work.Sync) (bool, error) {
	args, err := a.Spec()
	if err != nil {
		return false, queue.Permanent(err)
	}
	lock, waiting, err := h.DB.HoldIfLocked(ctx, a.FullName, a.Environment, args.Args)
	if err != nil || lock == nil {
		return false, err
	}
	if a.PR != 0 {
		if _, err := gh.CreateComment(ctx, repo, a.PR, report.LockedNotice(a.Environment, lock.By, lock.Reason, waiting)); err != nil {
			return true, githubRetry(err)
		}
	}
	return true, nil
}

// checkout is the commit being synced, and the environment and the sync
// settings as the default branch defines them: a commit can't move its own
// destination or loosen its own guards.
type checkout struct {
	tree  *repofs.Tree
	env   environment.Environment
	cfg   *config.Config
	bound bound
}

func (h *Syncs) checkout(ctx context.Context, a work.Sync) (*checkout, error) {
	registry := defaultBranch(a.Repo, a.Branch)
	dir, _, err := h.Repos.fetchBranch(ctx, a.Repo, a.Branch, registry)
	if err != nil {
		return nil, err
	}
	reg, err := h.Repos.readRegistry(ctx, dir, a.Repo, registry)
	if err != nil {
		return nil, err
	}
	env, ok := reg.env(a.Environment)
	if !ok {
		return nil, undefined(reg, a.Environment)
	}
	tree, err := repofs.OpenGit(ctx, dir, a.Commit)
	if err != nil {
		return nil, queue.Permanent(err)
	}
	return &checkout{tree: tree, env: env, cfg: reg.cfg, bound: h.Projects.bind(a.Repo, reg.found, env)}, nil
}

// begin opens the sync's GitHub deployment and remembers it for the
// attempts that follow.
func (h *Syncs) begin(ctx context.Context, gh *github.Client, repo github.Repo, a work.Sync, run *store.SyncRun) error {
	id, err := gh.CreateDeployment(ctx, repo, a.Commit, a.Environment, "ferry sync of "+a.Environment)
	if err != nil {
		return githubRetry(err)
	}
	if err := gh.SetDeploymentStatus(ctx, repo, id, "in_progress", "syncing"); err != nil {
		return githubRetry(err)
	}
	run.DeploymentID, run.StartedAt = id, time.Now()
	return h.DB.PutSyncRun(ctx, *run)
}

// attempt runs the deploy engine once and keeps the inventory it leaves.
func (h *Syncs) attempt(ctx context.Context, a work.Sync, co *checkout, run *store.SyncRun) (*kube.Cluster, deploy.Outcome, error) {
	if err := co.bound.admits(a.Repo); err != nil {
		run.Attempts++
		return nil, deploy.Outcome{Result: history.Refused, Err: err}, h.DB.PutSyncRun(ctx, *run)
	}
	kc, err := h.Clusters(co.env.Destination)
	if err != nil {
		return nil, deploy.Outcome{Result: history.Failed, Err: err}, nil
	}
	inv, _, err := h.DB.Inventory(ctx, a.FullName, a.Environment)
	if err != nil {
		return nil, deploy.Outcome{}, err
	}
	started := time.Now()
	// A parent's Applications define environments ferry syncs itself (app-of-apps).
	out := deploy.Run(ctx, preview.WithoutDefinitions(h.Renderer), syncer.New(kc), deploy.Request{Repo: a.FullName, Tree: co.tree, Env: co.env, Config: co.cfg, Inventory: inv,
		HealthTimeout: h.HealthTimeout, Permit: co.bound.permit})
	out.Mask(h.Mask)
	if out.Changes != nil {
		h.Logger.Info("applied", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit), "summary", out.Changes.Summary(),
			"notes", out.Changes.Notes, "result", out.Result, "elapsed", time.Since(started).Round(time.Millisecond))
	}
	if out.Inventory != nil {
		if err := h.DB.SetInventory(ctx, a.FullName, a.Environment, out.Inventory); err != nil {
			return nil, out, err
		}
	}
	if !out.Unavailable { // the retry policy counts rejections, not outages
		run.Attempts++
	}
	return kc, out, h.DB.PutSyncRun(ctx, *run)
}

// finish records the sync in the environment's history and completes its
// deployment.
func (h *Syncs) finish(ctx context.Context, gh *github.Client, repo github.Repo, a work.Sync, env environment.Environment, run *store.SyncRun, out deploy.Outcome) (history.Sync, error) {
	rec := history.Sync{Repo: a.FullName, Environment: a.Environment, Revision: a.Commit, PR: a.PR, Merger: a.Actor, Trigger: a.Trigger,
		Started: run.StartedAt, Finished: time.Now(), Result: out.Result}
	if out.Err != nil {
		rec.Error = out.Err.Error()
	}
	rec.Applied, rec.Pruned = out.Applied()
	if a.PR != 0 {
		h.pullRequestOf(ctx, gh, repo, a.PR, &rec)
	}
	if _, err := h.DB.RecordSync(ctx, rec, revisionHistoryLimit(env)); err != nil {
		return rec, err
	}
	run.Result, run.FinishedAt = rec.Result, rec.Finished
	if err := h.DB.PutSyncRun(ctx, *run); err != nil {
		return rec, err
	}
	if h.Metrics != nil {
		h.Metrics.Sync(rec.Result)
	}
	state := "success"
	if rec.Result != history.Succeeded {
		state = "failure"
	}
	if err := gh.SetDeploymentStatus(ctx, repo, run.DeploymentID, state, rec.Result+": "+firstLine(rec.Error)); err != nil {
		return rec, githubRetry(err)
	}
	h.Logger.Info("sync finished", "repo", a.FullName, "environment", a.Environment, "commit", short(a.Commit), "result", rec.Result,
		"applied", len(rec.Applied), "pruned", len(rec.Pruned), "attempts", run.Attempts)
	return rec, nil
}

// pullRequestOf adds the merged pull request's title, author and approvers
// to the record; what GitHub can't tell now is left out, not retried.
func (h *Syncs) pullRequestOf(ctx context.Context, gh *github.Client, repo github.Repo, number int, rec *history.Sync) {
	if pr, err := gh.GetPullRequest(ctx, repo, number); err == nil {
		rec.PRTitle, rec.Author = pr.Title, pr.Author
	}
	reviews, err := gh.LatestReviews(ctx, repo, number)
	if err != nil {
		return
	}
	for _, r := range reviews {
		if r.State == "APPROVED" {
			rec.Approvers = append(rec.Approvers, r.User)
		}
	}
}

// watch hands a successful sync to the drift and degradation watches.
func (h *Syncs) watch(ctx context.Context, a work.Sync, co *checkout, out deploy.Outcome) {
	def := h.DegradationWindow
	if def == 0 {
		def = defaultDegradationWindow
	}
	window := co.cfg.Sync.Window(def)
	if h.Rollouts != nil && window > 0 && a.Trigger != work.TriggerSelfHeal {
		if err := h.Rollouts.Watch(ctx, Rollout{Sync: a, Destination: co.env.Destination, Keys: out.Healthy, Window: window}); err != nil {
			h.Logger.Warn("degradation not watched", "environment", a.Environment, "err", err)
		}
	}
	if h.Drift == nil {
		return
	}
	if err := h.Drift.Synced(ctx, co.env, a, out.Objects, out.Changes); err != nil {
		h.Logger.Warn("drift not watched", "environment", a.Environment, "err", err)
	}
	if err := h.Drift.Resolved(ctx, a); err != nil && !errors.Is(err, context.Canceled) {
		h.Logger.Warn("drift issue not closed", "environment", a.Environment, "err", err)
	}
}

func revisionHistoryLimit(env environment.Environment) int {
	if env.RevisionHistoryLimit != nil && *env.RevisionHistoryLimit > 0 {
		return int(*env.RevisionHistoryLimit)
	}
	return history.DefaultLimit
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// undefined is the error for a sync of an environment the default branch
// does not define. It is permanent, unless an app-of-apps parent failed to
// render (a worker stopped, a timeout): the environment may be one of its
// children, so the sync is tried again rather than dropped.
func undefined(reg *registry, name string) error {
	err := fmt.Errorf("environment %q is not defined on the default branch %s", name, reg.branch)
	if parents := reg.found.UnrenderedParents; len(parents) > 0 {
		return fmt.Errorf("%w, but the render of %s, which may define it, failed", err, strings.Join(parents, ", "))
	}
	return queue.Permanent(err)
}
