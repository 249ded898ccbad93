package job

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// Rollout is a successful sync to watch through its degradation window.
type Rollout struct {
	Sync    work.Sync
	Cluster deploy.Cluster
	Keys    []manifest.Key
	Window  time.Duration
}

// Rollouts keeps checking synced rollouts for their degradation window:
// one that turns Degraded (a crash loop after the first pods came up, say)
// is its commit's fault, so its revert is queued. Only the newest sync of an
// environment is watched.
type Rollouts struct {
	Queue  Enqueuer
	Logger *slog.Logger
	// Poll is how often a rollout is checked (default 2 s).
	Poll     time.Duration
	requests chan Rollout
	stopped  chan struct{} // closed when Run returns
}

// NewRollouts returns a Rollouts; Run must run for it to watch.
func NewRollouts(q Enqueuer, log *slog.Logger) *Rollouts {
	return &Rollouts{Queue: q, Logger: log, requests: make(chan Rollout), stopped: make(chan struct{})}
}

// Watch starts watching r, ending the watch of the environment's previous
// sync: only the newest commit is to blame.
func (w *Rollouts) Watch(ctx context.Context, r Rollout) {
	select {
	case w.requests <- r:
	case <-w.stopped:
	case <-ctx.Done():
	}
}

// Run watches until ctx ends.
func (w *Rollouts) Run(ctx context.Context) {
	defer close(w.stopped)
	watches := map[string]context.CancelFunc{}
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-w.requests:
			key := work.EnvKey(r.Sync.FullName, r.Sync.Environment)
			if cancel := watches[key]; cancel != nil {
				cancel()
			}
			wctx, cancel := context.WithTimeout(ctx, r.Window)
			watches[key] = cancel
			go w.watch(wctx, r)
		}
	}
}

func (w *Rollouts) watch(ctx context.Context, r Rollout) {
	poll := w.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	poll = min(poll, r.Window)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
		report, err := r.Cluster.WaitHealthy(ctx, r.Keys, poll)
		if errors.Is(err, syncer.ErrDegraded) {
			w.degraded(ctx, r, report)
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
