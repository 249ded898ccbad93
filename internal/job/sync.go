package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/revert"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// Kinds of sync work.
const (
	// KindPush plans the syncs a push to a branch calls for.
	KindPush = "push.plan"
	// KindSync syncs one environment to one commit.
	KindSync = "environment.sync"
	// KindRevert opens the revert pull request of a commit whose rollout
	// degraded after its sync had succeeded.
	KindRevert = "environment.revert"
)

// Push is a push to a branch, as the planner needs it.
type Push struct {
	InstallationID int64  `json:"installation_id"`
	Repo           string `json:"repo"`
	CloneURL       string `json:"clone_url"`
	HTMLURL        string `json:"html_url"`
	Branch         string `json:"branch"`
	DefaultBranch  string `json:"default_branch"`
	Before         string `json:"before"`
	After          string `json:"after"`
}

// PushSpec queues the planning of a push. Pushes of a branch are planned in
// order, so merges apply in order.
func PushSpec(p Push) (queue.Spec, error) {
	if p.Repo == "" || p.Branch == "" || p.After == "" || p.InstallationID == 0 {
		return queue.Spec{}, errors.New("push lacks repository, branch, commit or installation")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindPush, Key: p.Repo + "@" + p.Branch, Args: raw}, nil
}

// SyncArgs is one environment to sync to one commit.
type SyncArgs struct {
	InstallationID int64  `json:"installation_id"`
	Repo           string `json:"repo"`
	CloneURL       string `json:"clone_url"`
	HTMLURL        string `json:"html_url"`
	Branch         string `json:"branch"`
	Commit         string `json:"commit"`
	Environment    string `json:"environment"`
	Trigger        string `json:"trigger"` // merge, first-sight, manual, rollback
	PR             int    `json:"pr,omitempty"`
	Actor          string `json:"actor,omitempty"`
}

// SyncSpec queues a sync; syncs of one environment run one at a time, in order.
func SyncSpec(a SyncArgs) (queue.Spec, error) {
	raw, err := json.Marshal(a)
	if err != nil {
		return queue.Spec{}, err
	}
	return queue.Spec{Kind: KindSync, Key: a.Repo + "/env/" + a.Environment, Args: raw}, nil
}

// SyncGitHub is what syncing does on GitHub.
type SyncGitHub interface {
	PullRequestForCommit(ctx context.Context, repo github.Repo, sha string) (*github.PullRequest, error)
	LatestReviews(ctx context.Context, repo github.Repo, number int) ([]github.Review, error)
	CreateComment(ctx context.Context, repo github.Repo, number int, body string) (int64, error)
	CreateDeployment(ctx context.Context, repo github.Repo, ref, environment, description string) (int64, error)
	SetDeploymentStatus(ctx context.Context, repo github.Repo, id int64, state, description string) error
	OpenPullRequest(ctx context.Context, repo github.Repo, head, base, title, body string) (int, string, error)
}

// Cluster applies and checks one environment's objects.
type Cluster interface {
	Sync(ctx context.Context, objs []manifest.Object, prev syncer.Inventory, opts syncer.Options) (*syncer.ChangeSet, syncer.Inventory, error)
	WaitHealthy(ctx context.Context, keys []manifest.Key, timeout time.Duration) (syncer.HealthReport, error)
}

// SyncMirrors is the git access syncing needs: fetch, and push a revert branch.
type SyncMirrors interface {
	Mirrors
	Push(ctx context.Context, fullName, cloneURL, token string, refspecs ...string) error
}

// History records syncs and audit events.
type History interface {
	RecordSync(ctx context.Context, s history.Sync, limit int) (int64, error)
	AppendAudit(ctx context.Context, e history.Event) error
}

// Syncer handles KindPush and KindSync jobs.
type Syncer struct {
	Client   func(installationID int64) (SyncGitHub, error)
	Token    func(ctx context.Context, installationID int64) (string, error)
	Mirrors  SyncMirrors
	State    State
	Queue    Enqueuer
	Wake     func()
	Clusters func(dest environment.Destination) (*kube.Cluster, error)
	// Drift, when set, watches what each successful sync applied.
	Drift   *Drift
	History History
	// Renderer renders the commit being synced (a sandbox.Pool in the server).
	Renderer preview.Renderer
	// Mask hides secret values in the errors a sync records and shows: the
	// API server quotes the values it refuses (secrets.Masker; nil: none).
	Mask diff.Masker
	// HealthTimeout bounds the wait for a healthy rollout (default 5 min).
	HealthTimeout time.Duration
	// DegradationWindow is how long after a successful sync a rollout
	// turning Degraded still reverts the commit (default 10 min).
	DegradationWindow time.Duration
	// Lifetime bounds the background watches of synced rollouts (the
	// server's lifetime); nil means they run to the end of their window.
	Lifetime context.Context

	watchMu sync.Mutex
	watches map[string]context.CancelFunc // per environment: a newer sync ends the older watch
	// Sleep waits between retries; tests pass a fake clock.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// Planner returns the handler of KindPush jobs.
func (s *Syncer) Planner() Handler { return queue.HandlerFunc(s.plan) }

// plan decides which environments a push syncs: those whose target branch
// it is and whose files it touches, and those ferry has never synced.
func (s *Syncer) plan(ctx context.Context, j queue.Job) error {
	p, repo, err := decode[Push](j)
	if err != nil {
		return err
	}
	gh, err := s.Client(p.InstallationID)
	if err != nil {
		return err
	}
	dir, _, err := s.fetchBranch(ctx, p.InstallationID, p.Repo, p.CloneURL, p.Branch)
	if err != nil {
		return err
	}
	after, err := repofs.OpenGit(ctx, dir, p.After)
	if err != nil {
		return queue.Permanent(err)
	}
	defer after.Close()
	var before *repofs.Tree
	if p.Before != "" && strings.Trim(p.Before, "0") != "" {
		if before, err = repofs.OpenGit(ctx, dir, p.Before); err == nil {
			defer before.Close()
		}
	}
	found, err := preview.Discover(after, p.HTMLURL)
	if err != nil {
		return queue.Permanent(fmt.Errorf("discover environments at %s: %w", short(p.After), err))
	}
	var changed []string
	if before != nil {
		changed = repofs.Changed(before, after)
	}
	pr, err := gh.PullRequestForCommit(ctx, repo, p.After)
	if err != nil {
		s.Logger.Warn("no pull request for the pushed commit", "repo", p.Repo, "commit", short(p.After), "err", err)
	}
	var specs []queue.Spec
	var manual []string
	for _, env := range found.Environments {
		if env.External || !targets(env, p.Branch, p.DefaultBranch) {
			continue
		}
		seen, err := s.seen(ctx, p.Repo, env.Name)
		if err != nil {
			return err
		}
		trigger := "merge"
		switch {
		case !seen:
			trigger = "first-sight"
		case before == nil:
		default:
			deps, err := environment.Dependencies(after, env)
			if err == nil && !deps.Touches(changed) {
				if bdeps, berr := environment.Dependencies(before, env); berr == nil && !bdeps.Touches(changed) {
					continue
				}
			}
		}
		if !automated(env) {
			manual = append(manual, env.Name)
			continue
		}
		args := SyncArgs{InstallationID: p.InstallationID, Repo: p.Repo, CloneURL: p.CloneURL, HTMLURL: p.HTMLURL,
			Branch: p.Branch, Commit: p.After, Environment: env.Name, Trigger: trigger}
		if pr != nil {
			args.PR, args.Actor = pr.Number, pr.MergedBy
		}
		spec, err := SyncSpec(args)
		if err != nil {
			return queue.Permanent(err)
		}
		specs = append(specs, spec)
	}
	if len(manual) > 0 && pr != nil {
		if _, err := gh.CreateComment(ctx, repo, pr.Number, report.ManualSyncNotice(manual)); err != nil {
			return githubRetry(err)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	s.Logger.Info("syncs planned", "repo", p.Repo, "branch", p.Branch, "commit", short(p.After), "environments", len(specs))
	if err := s.Queue.Enqueue(ctx, specs...); err != nil {
		return err
	}
	if s.Wake != nil {
		s.Wake()
	}
	return nil
}

// fetchBranch brings a branch into the repository's mirror (as
// refs/ferry/heads/<branch>) and returns the mirror and the token used.
func (s *Syncer) fetchBranch(ctx context.Context, installation int64, repo, cloneURL, branch string) (dir, token string, err error) {
	token, err = s.Token(ctx, installation)
	if err != nil {
		return "", "", githubRetry(err)
	}
	dir, err = s.Mirrors.Fetch(ctx, repo, cloneURL, token, branchRefspec(branch))
	return dir, token, err
}

func branchRefspec(branch string) string {
	return "+refs/heads/" + branch + ":refs/ferry/heads/" + branch
}

// targets reports whether env follows branch: its targetRevision, or the
// default branch when it names none (or HEAD).
func targets(env environment.Environment, branch, defaultBranch string) bool {
	rev := strings.TrimPrefix(env.TargetRevision, "refs/heads/")
	if rev == "" || rev == "HEAD" {
		return branch == defaultBranch
	}
	return rev == branch
}

func automated(env environment.Environment) bool {
	a := env.SyncPolicy
	return a != nil && a.Automated != nil && (a.Automated.Enabled == nil || *a.Automated.Enabled)
}

func (s *Syncer) seen(ctx context.Context, repo, env string) (bool, error) {
	_, ok, err := s.State.Get(ctx, "inventory", repo+"/"+env)
	return ok, err
}

// Handle syncs one environment to one commit, with the Application's retry
// policy, waits for it to become healthy, records it, and opens a revert
// pull request when it fails.
func (s *Syncer) Handle(ctx context.Context, j queue.Job) error {
	a, repo, err := decode[SyncArgs](j)
	if err != nil {
		return err
	}
	// One attempt sequence per (commit, environment): a failed commit is not
	// retried in a loop by redelivered or replayed events.
	// Self-heal re-applies a commit already synced, so it is exempt.
	doneKey := a.Repo + "/" + a.Environment + "@" + a.Commit
	if a.Trigger != "self-heal" {
		if _, done, err := s.State.Get(ctx, "synced", doneKey); err != nil || done {
			return err
		}
	}
	gh, err := s.Client(a.InstallationID)
	if err != nil {
		return err
	}
	// A locked environment holds its syncs, in order, until it is unlocked.
	envKey := a.Repo + "/" + a.Environment
	if lock, err := lockOf(ctx, s.State, envKey); err != nil {
		return err
	} else if lock != nil {
		held, err := heldSyncs(ctx, s.State, envKey)
		if err != nil {
			return err
		}
		b, err := json.Marshal(append(held, a))
		if err != nil {
			return err
		}
		if err := s.State.Put(ctx, "held", envKey, string(b)); err != nil {
			return err
		}
		if a.PR != 0 {
			if _, err := gh.CreateComment(ctx, repo, a.PR, report.LockedNotice(a.Environment, lock.By, lock.Reason, len(held)+1)); err != nil {
				return githubRetry(err)
			}
		}
		return nil
	}
	dir, token, err := s.fetchBranch(ctx, a.InstallationID, a.Repo, a.CloneURL, a.Branch)
	if err != nil {
		return err
	}
	tree, err := repofs.OpenGit(ctx, dir, a.Commit)
	if err != nil {
		return queue.Permanent(err)
	}
	defer tree.Close()
	found, err := preview.Discover(tree, a.HTMLURL)
	if err != nil {
		return queue.Permanent(err)
	}
	var env *environment.Environment
	for i := range found.Environments {
		if found.Environments[i].Name == a.Environment {
			env = &found.Environments[i]
		}
	}
	if env == nil {
		return queue.Permanent(fmt.Errorf("environment %q is not defined at %s", a.Environment, short(a.Commit)))
	}
	rec := history.Sync{Environment: env.Name, Revision: a.Commit, PR: a.PR, Merger: a.Actor, Trigger: a.Trigger, Started: time.Now()}
	if a.PR != 0 {
		if reviews, err := gh.LatestReviews(ctx, repo, a.PR); err == nil {
			for _, r := range reviews {
				if r.State == "APPROVED" {
					rec.Approvers = append(rec.Approvers, r.User)
				}
			}
		}
	}
	deployment, err := gh.CreateDeployment(ctx, repo, a.Commit, env.Name, "ferry sync of "+env.Name)
	if err != nil {
		return githubRetry(err)
	}
	if err := gh.SetDeploymentStatus(ctx, repo, deployment, "in_progress", "syncing"); err != nil {
		return githubRetry(err)
	}

	outcome := s.sync(ctx, a, env, tree, &rec)
	s.mask(&rec, outcome)
	rec.Finished = time.Now()
	if _, err := s.History.RecordSync(ctx, rec, revisionHistoryLimit(env)); err != nil {
		return err
	}
	if a.Trigger != "self-heal" {
		if err := s.State.Put(ctx, "synced", doneKey, rec.Result); err != nil {
			return err
		}
	}
	state := "success"
	if rec.Result != history.Succeeded {
		state = "failure"
	}
	if err := gh.SetDeploymentStatus(ctx, repo, deployment, state, rec.Result+": "+firstLine(rec.Error)); err != nil {
		return githubRetry(err)
	}
	s.Logger.Info("sync finished", "repo", a.Repo, "environment", env.Name, "commit", short(a.Commit), "result", rec.Result, "applied", len(rec.Applied), "pruned", len(rec.Pruned))

	var revertNote string
	if rec.Result == history.Failed || rec.Result == history.Degraded {
		revertNote = s.openRevert(ctx, gh, repo, a, dir, token, &rec, outcome)
		s.Logger.Info("revert", "repo", a.Repo, "environment", env.Name, "commit", short(a.Commit), "outcome", revertNote)
	}
	if a.PR != 0 {
		body := report.SyncComment(report.SyncResult{Environment: env.Name, Record: rec, Changes: outcome.changes, Unhealthy: outcome.unhealthy, RevertNote: revertNote})
		if _, err := gh.CreateComment(ctx, repo, a.PR, body); err != nil {
			return githubRetry(err)
		}
	}
	return nil
}

// mask hides secret values in a sync's errors before they are stored,
// logged or shown.
func (s *Syncer) mask(rec *history.Sync, out syncOutcome) {
	rec.Error = diff.MaskWith(s.Mask, rec.Error)
	if out.changes == nil {
		return
	}
	for i := range out.changes.Changes {
		out.changes.Changes[i].Error = diff.MaskWith(s.Mask, out.changes.Changes[i].Error)
	}
}

// syncOutcome is what the comment and the revert pull request explain.
type syncOutcome struct {
	changes   *syncer.ChangeSet
	unhealthy []syncer.ResourceHealth
}

func (s *Syncer) sync(ctx context.Context, a SyncArgs, env *environment.Environment, tree *repofs.Tree, rec *history.Sync) syncOutcome {
	var out syncOutcome
	fail := func(result string, err error) syncOutcome {
		rec.Result, rec.Error = result, err.Error()
		return out
	}
	res, err := s.Renderer.Render(ctx, tree, *env)
	if err != nil {
		return fail(history.Failed, fmt.Errorf("render: %w", err))
	}
	kc, err := s.Clusters(env.Destination)
	if err != nil {
		return fail(history.Failed, err)
	}
	var cluster Cluster = syncer.New(kc, s.Logger)
	invKey := a.Repo + "/" + env.Name
	var prev syncer.Inventory
	if raw, ok, err := s.State.Get(ctx, "inventory", invKey); err != nil {
		return fail(history.Failed, err)
	} else if ok {
		if err := json.Unmarshal([]byte(raw), &prev); err != nil {
			return fail(history.Failed, fmt.Errorf("inventory of %s: %w", env.Name, err))
		}
	}
	// The target branch's .ferry.yaml: only merged changes reach it.
	cfg, err := config.Load(tree)
	if err != nil {
		return fail(history.Failed, err)
	}
	opts := syncer.OptionsFor(*env)
	opts.MaxPruneFraction = cfg.Sync.MaxPruneFraction(opts.MaxPruneFraction)
	retry := retryPolicy(env)
	var inv syncer.Inventory
	for attempt := 0; ; attempt++ {
		out.changes, inv, err = cluster.Sync(ctx, res.Objects, prev, opts)
		if inv != nil {
			prev = inv
			if b, merr := json.Marshal(inv); merr == nil {
				if perr := s.State.Put(ctx, "inventory", invKey, string(b)); perr != nil {
					return fail(history.Failed, perr)
				}
			}
		}
		if err == nil {
			break
		}
		if errors.Is(err, syncer.ErrEmptySync) || errors.Is(err, syncer.ErrPruneLimit) {
			return fail(history.Refused, err)
		}
		if attempt >= retry.limit {
			rec.Applied, rec.Pruned = changeList(out.changes)
			return fail(history.Failed, fmt.Errorf("after %d attempts: %w", attempt+1, err))
		}
		wait := retry.delay(attempt)
		s.Logger.Warn("sync failed; retrying", "environment", env.Name, "attempt", attempt+1, "wait", wait, "err", diff.MaskWith(s.Mask, err.Error()))
		if serr := s.Sleep(ctx, wait); serr != nil {
			return fail(history.Failed, serr)
		}
	}
	rec.Applied, rec.Pruned = changeList(out.changes)
	// The change set's keys carry the namespaces the sync filled in.
	keys := out.changes.Keys(syncer.Created, syncer.Configured, syncer.Unchanged)
	timeout := cfg.Sync.Timeout(s.HealthTimeout)
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	report, err := cluster.WaitHealthy(ctx, keys, timeout)
	if err != nil {
		out.unhealthy = report.Unhealthy()
		return fail(history.Degraded, err)
	}
	rec.Result = history.Succeeded
	window := cfg.Sync.Window(s.DegradationWindow)
	if window == 0 && cfg.Sync.DegradationWindow == "" {
		window = 10 * time.Minute
	}
	if window > 0 && a.Trigger != "self-heal" {
		s.startWatch(a, cluster, keys, window)
	}
	if s.Drift != nil {
		s.Drift.Synced(kc, a, selfHeal(env), res.Objects, out.changes)
		if err := s.Drift.Resolved(ctx, a); err != nil {
			s.Logger.Warn("drift issue not closed", "environment", env.Name, "err", err)
		}
	}
	return out
}

func selfHeal(env *environment.Environment) bool {
	return automated(*env) && env.SyncPolicy.Automated.SelfHeal
}

func changeList(cs *syncer.ChangeSet) (applied, pruned []string) {
	if cs == nil {
		return nil, nil
	}
	for _, c := range cs.Changes {
		switch c.Action {
		case syncer.Pruned:
			pruned = append(pruned, c.Key.String())
		case syncer.Created, syncer.Configured, syncer.Unchanged, syncer.Failed:
			applied = append(applied, string(c.Action)+" "+c.Key.String())
		}
	}
	return applied, pruned
}

// backoff is an Application's retry policy: limit retries, waiting
// duration × factor^n, capped at maxDuration.
type backoff struct {
	limit         int
	base, ceiling time.Duration
	factor        int64
}

func (b backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 0; i < attempt; i++ {
		d *= time.Duration(b.factor)
		if d >= b.ceiling {
			return b.ceiling
		}
	}
	return min(d, b.ceiling)
}

// retryPolicy reads spec.syncPolicy.retry with Argo CD's defaults
// (5s, factor 2, 3m); no retry block means no retries.
func retryPolicy(env *environment.Environment) backoff {
	b := backoff{base: 5 * time.Second, factor: 2, ceiling: 3 * time.Minute}
	p := env.SyncPolicy
	if p == nil || p.Retry == nil {
		return b
	}
	b.limit = int(p.Retry.Limit)
	if bo := p.Retry.Backoff; bo != nil {
		if d, err := time.ParseDuration(bo.Duration); err == nil && d > 0 {
			b.base = d
		}
		if bo.Factor != nil && *bo.Factor > 0 {
			b.factor = *bo.Factor
		}
		if d, err := time.ParseDuration(bo.MaxDuration); err == nil && d > 0 {
			b.ceiling = d
		}
	}
	return b
}

func revisionHistoryLimit(env *environment.Environment) int {
	if env.RevisionHistoryLimit != nil && *env.RevisionHistoryLimit > 0 {
		return int(*env.RevisionHistoryLimit)
	}
	return history.DefaultLimit
}

// openRevert opens (once per commit) a pull request that reverts the
// failed commit on its branch, and returns a line for the sync comment.
func (s *Syncer) openRevert(ctx context.Context, gh SyncGitHub, repo github.Repo, a SyncArgs, dir, token string, rec *history.Sync, out syncOutcome) string {
	key := a.Repo + "@" + a.Commit
	if url, ok, err := s.State.Get(ctx, "revert", key); err == nil && ok {
		return report.RevertAlreadyOpen(url)
	}
	// Revert on top of the branch as it is now, which may have moved on.
	if _, err := s.Mirrors.Fetch(ctx, a.Repo, a.CloneURL, token, branchRefspec(a.Branch)); err != nil {
		return report.RevertNotOpened(err)
	}
	title := fmt.Sprintf("Revert %s: %s failed to sync", short(a.Commit), a.Environment)
	res, err := revert.Make(ctx, dir, "refs/ferry/heads/"+a.Branch, a.Commit, revert.Author{Name: "ferry", Email: "ferry@users.noreply.github.com"}, title)
	if errors.Is(err, revert.ErrConflict) {
		return report.RevertConflict(a.Commit, a.Branch)
	}
	if err != nil {
		return report.RevertNotOpened(err)
	}
	if err := s.Mirrors.Push(ctx, a.Repo, a.CloneURL, token, res.Commit+":refs/heads/"+res.Branch); err != nil {
		return report.RevertNotPushed(err)
	}
	body := report.RevertBody(report.Revert{Environment: a.Environment, Record: *rec, PR: a.PR, Unhealthy: out.unhealthy})
	number, url, err := gh.OpenPullRequest(ctx, repo, res.Branch, a.Branch, title, body)
	if err != nil {
		return report.RevertPRNotOpened(res.Branch, err)
	}
	_ = s.State.Put(ctx, "revert", key, url)
	s.Logger.Info("revert pull request opened", "repo", a.Repo, "commit", short(a.Commit), "pr", number)
	return report.RevertOpened(number, url)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// startWatch watches a synced rollout, ending the watch of the
// environment's previous sync: only the newest commit is to blame.
func (s *Syncer) startWatch(a SyncArgs, cluster Cluster, keys []manifest.Key, window time.Duration) {
	base := s.Lifetime
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, window)
	s.watchMu.Lock()
	if s.watches == nil {
		s.watches = map[string]context.CancelFunc{}
	}
	key := a.Repo + "/" + a.Environment
	if prev := s.watches[key]; prev != nil {
		prev()
	}
	s.watches[key] = cancel
	s.watchMu.Unlock()
	go s.watchDegradation(ctx, cluster, a, keys, window)
}

// watchDegradation keeps checking a synced rollout for the degradation
// window: one that turns Degraded (a crash loop after the first pods came up,
// say) is this commit's fault, so its revert pull request is queued.
func (s *Syncer) watchDegradation(ctx context.Context, cluster Cluster, a SyncArgs, keys []manifest.Key, window time.Duration) {
	poll := min(2*time.Second, window)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
		report, err := cluster.WaitHealthy(ctx, keys, poll)
		if !errors.Is(err, syncer.ErrDegraded) {
			continue
		}
		var msgs []string
		for _, u := range report.Unhealthy() {
			msgs = append(msgs, fmt.Sprintf("%s: %s %s", u.Key, u.Status.Code, u.Status.Message))
		}
		raw, merr := json.Marshal(revertArgs{SyncArgs: a, Reason: "degraded after a successful sync: " + strings.Join(msgs, "; ")})
		if merr != nil {
			return
		}
		spec := queue.Spec{Kind: KindRevert, Key: a.Repo + "/env/" + a.Environment, Args: raw}
		if err := s.Queue.Enqueue(ctx, spec); err != nil {
			s.Logger.Warn("revert after degradation not queued", "environment", a.Environment, "err", err)
			return
		}
		if s.Wake != nil {
			s.Wake()
		}
		s.Logger.Warn("rollout degraded after its sync", "environment", a.Environment, "commit", short(a.Commit), "detail", strings.Join(msgs, "; "))
		return
	}
}

type revertArgs struct {
	SyncArgs
	Reason string `json:"reason"`
}

// Reverter returns the handler of KindRevert jobs.
func (s *Syncer) Reverter() Handler { return queue.HandlerFunc(s.revertDegraded) }

func (s *Syncer) revertDegraded(ctx context.Context, j queue.Job) error {
	a, repo, err := decode[revertArgs](j)
	if err != nil {
		return err
	}
	gh, err := s.Client(a.InstallationID)
	if err != nil {
		return err
	}
	dir, token, err := s.fetchBranch(ctx, a.InstallationID, a.Repo, a.CloneURL, a.Branch)
	if err != nil {
		return err
	}
	rec := history.Sync{Environment: a.Environment, Revision: a.Commit, Result: history.Degraded, Error: a.Reason}
	if err := s.History.AppendAudit(ctx, history.Event{Environment: a.Environment, Kind: "degraded", Revision: a.Commit, Detail: a.Reason}); err != nil {
		return err
	}
	note := s.openRevert(ctx, gh, repo, a.SyncArgs, dir, token, &rec, syncOutcome{})
	s.Logger.Info("revert", "repo", a.Repo, "environment", a.Environment, "commit", short(a.Commit), "outcome", note)
	if a.PR != 0 {
		body := report.DegradedComment(a.Environment, a.Reason, note)
		if _, err := gh.CreateComment(ctx, repo, a.PR, body); err != nil {
			return githubRetry(err)
		}
	}
	return nil
}
