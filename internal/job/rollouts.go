package job

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Rollout is a successful sync to watch through its degradation window.
type Rollout struct {
	Sync        work.Sync               `json:"sync"`
	Destination environment.Destination `json:"destination"`
	Keys        []manifest.Key          `json:"keys"`
	Window      time.Duration           `json:"-"`
}

// Rollouts keeps checking synced rollouts for their degradation window:
// one that turns Degraded (a crash loop after the first pods came up, say)
// is its commit's fault, so its revert is queued. Only the newest sync of an
// environment is watched.
//
// Watch, on the replica that synced, stores the rollout with the end of
// its window; Run, on the leader, watches what the store lists, so a
// restart or failover resumes each window where it was.
type Rollouts struct {
	DB     *store.DB
	Queue  Enqueuer
	Logger *slog.Logger
	// Cluster resolves a rollout's destination.
	Cluster func(environment.Destination) (deploy.Cluster, error)
	// Poll is how often a rollout is checked (default 2 s); Reload how
	// often the leader reads rollouts other replicas stored (default
	// defaultWatchPoll).
	Poll, Reload time.Duration

	poke chan struct{}
}

// NewRollouts returns a Rollouts; Run must run (on the leader) for it to
// watch.
func NewRollouts(db *store.DB, q Enqueuer, cluster func(environment.Destination) (deploy.Cluster, error), log *slog.Logger) *Rollouts {
	return &Rollouts{DB: db, Queue: q, Cluster: cluster, Logger: log, poke: make(chan struct{}, 1)}
}

// Watch stores r for the leader to watch, ending the watch of the
// environment's previous sync: only the newest commit is to blame.
func (w *Rollouts) Watch(ctx context.Context, r Rollout) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("rollout watch of %s: %w", r.Sync.Environment, err)
	}
	if err := w.DB.PutWatch(ctx, store.Watch{Kind: rolloutWatch, Repo: r.Sync.FullName, Env: r.Sync.Environment,
		State: raw, Until: time.Now().Add(r.Window)}); err != nil {
		return err
	}
	select {
	case w.poke <- struct{}{}:
	default:
	}
	return nil
}

// rolloutWatching is a rollout being watched in this term.
type rolloutWatching struct {
	version watchVersion
	cancel  context.CancelFunc
}

// Run watches until ctx ends (the leader's term).
func (w *Rollouts) Run(ctx context.Context) {
	watching := map[string]rolloutWatching{}
	var since time.Time
	tick := time.NewTicker(cmp.Or(w.Reload, defaultWatchPoll))
	defer tick.Stop()
	for {
		since = w.load(ctx, watching, since)
		select {
		case <-ctx.Done():
			return
		case <-w.poke:
		case <-tick.C:
		}
	}
}

// load starts watching the rollouts stored since since, and returns where
// the next load starts.
func (w *Rollouts) load(ctx context.Context, watching map[string]rolloutWatching, since time.Time) time.Time {
	rows, err := w.DB.Watches(ctx, rolloutWatch, since)
	if err != nil {
		w.Logger.Warn("rollout watches not read", "err", err)
		return since
	}
	for _, row := range rows {
		key := work.EnvKey(row.Repo, row.Env)
		version := versionOf(row)
		if prev, ok := watching[key]; ok {
			if prev.version == version {
				continue
			}
			prev.cancel()
		}
		var r Rollout
		if err := json.Unmarshal(row.State, &r); err != nil {
			w.Logger.Warn("rollout not watched", "repo", row.Repo, "environment", row.Env, "err", err)
			continue
		}
		wctx, cancel := context.WithDeadline(ctx, row.Until)
		watching[key] = rolloutWatching{version: version, cancel: cancel}
		go w.watch(wctx, r, row)
		if s := row.UpdatedAt.Add(-watchSkew); s.After(since) {
			since = s
		}
	}
	return since
}

func (w *Rollouts) watch(ctx context.Context, r Rollout, row store.Watch) {
	cluster, err := w.Cluster(r.Destination)
	if err != nil {
		w.Logger.Warn("rollout not watched", "environment", r.Sync.Environment, "err", err)
		return
	}
	poll := w.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	poll = min(poll, time.Until(row.Until))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
		report, err := cluster.WaitHealthy(ctx, r.Keys, poll)
		if errors.Is(err, syncer.ErrDegraded) {
			w.degraded(ctx, r, report)
			if err := w.DB.EndWatch(context.WithoutCancel(ctx), rolloutWatch, row.Repo, row.Env, row.UpdatedAt); err != nil {
				w.Logger.Warn("rollout watch not ended", "environment", r.Sync.Environment, "err", err)
			}
			return
		}
	}
}

func (w *Rollouts) degraded(ctx context.Context, r Rollout, report syncer.HealthReport) {
	var msgs []string
	for _, u := range report.Unhealthy() {
		msgs = append(msgs, u.Key.String()+": "+string(u.Status.Code)+" "+u.Status.Message)
	}
	detail := strings.Join(msgs, "; ")
	spec, err := work.Revert{Sync: r.Sync, Reason: "degraded after a successful sync: " + detail}.Spec()
	if err == nil {
		err = w.Queue.Enqueue(ctx, spec)
	}
	if err != nil {
		w.Logger.Warn("revert after degradation not queued", "environment", r.Sync.Environment, "err", err)
		return
	}
	w.Logger.Warn("rollout degraded after its sync", "environment", r.Sync.Environment, "commit", short(r.Sync.Commit), "detail", detail)
}
