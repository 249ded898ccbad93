// Package deploy is one sync attempt of one environment, as data: the
// commit's render applied to the cluster (server-side apply and prune, see
// package syncer), then the wait for the rollout to become healthy. Run
// returns an Outcome and does nothing else: no GitHub, no store, no logging.
// A failed apply may be tried again: Retry says whether and when, by the
// Application's retry policy, and the caller schedules it. One the cluster
// could not judge (Outcome.Unavailable) is tried again for as long as the
// outage lasts, WaitForCluster apart, and counts against nothing.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// DefaultHealthTimeout bounds the wait for a healthy rollout when neither
// the server nor .ferry.yaml sets one.
const DefaultHealthTimeout = 5 * time.Minute

// Cluster applies and checks one environment's objects (a *syncer.Syncer).
type Cluster interface {
	Sync(ctx context.Context, objs []manifest.Object, prev syncer.Inventory, opts syncer.Options) (*syncer.ChangeSet, syncer.Inventory, error)
	WaitHealthy(ctx context.Context, keys []manifest.Key, timeout time.Duration) (syncer.HealthReport, error)
}

// Request is one environment at one commit, and what the last sync left.
type Request struct {
	// Repo is the repository ("owner/name"): with the environment's name,
	// the app its objects belong to.
	Repo string
	Tree *repofs.Tree
	Env  environment.Environment
	// Config is the target branch's .ferry.yaml: only merged changes reach it.
	Config *config.Config
	// Inventory is what the environment's last sync applied (nil: none).
	Inventory syncer.Inventory
	// HealthTimeout is the server's default, which .ferry.yaml may override.
	HealthTimeout time.Duration
	// Permit bounds what the sync may touch (the environment's project):
	// one object it refuses refuses the sync before anything is applied.
	// Nil permits everything.
	Permit syncer.Permit
}

// Outcome is what one attempt did.
type Outcome struct {
	// Result is one of history's results: Succeeded, Failed, Degraded,
	// Refused (a guard or the project stopped it before anything changed).
	Result string
	Err    error
	// Objects are the rendered objects (the desired state drift compares
	// against).
	Objects []manifest.Object
	// Changes is what the apply did, object by object (nil when it never
	// reached the cluster).
	Changes *syncer.ChangeSet
	// Inventory is what the environment now tracks; nil when unchanged.
	Inventory syncer.Inventory
	// Healthy are the keys whose health was awaited (with the namespaces
	// the sync filled in): what a degradation watch keeps checking.
	Healthy []manifest.Key
	// Unhealthy are the resources that were not healthy in time; after a
	// success, those Suspended (paused by intent), which reports show.
	Unhealthy []syncer.ResourceHealth
	// Retryable marks a failed apply the retry policy may try again.
	Retryable bool
	// Unavailable marks an attempt the cluster could not judge (see
	// syncer.Unavailable: unreachable, overloaded, a failing admission
	// webhook), in the apply or in the wait for health: not the commit's
	// fault. Try it again for as long as that lasts (WaitForCluster),
	// without counting it against the retry policy; never revert for it.
	Unavailable bool
}

// Run renders req's environment with r, applies it with c and waits for
// its health.
func Run(ctx context.Context, r preview.Renderer, c Cluster, req Request) Outcome {
	res, err := r.Render(ctx, req.Tree, req.Env)
	if err != nil {
		return Outcome{Result: history.Failed, Err: fmt.Errorf("render: %w", err)}
	}
	out := Outcome{Objects: res.Objects}
	opts := syncer.OptionsFor(req.Repo, req.Env)
	opts.MaxPruneFraction = req.Config.Sync.MaxPruneFraction(opts.MaxPruneFraction)
	opts.Permit = req.Permit
	timeout := req.Config.Sync.Timeout(req.HealthTimeout)
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	opts.HealthTimeout = timeout // bounds each wave of sync hooks too
	out.Changes, out.Inventory, err = c.Sync(ctx, res.Objects, req.Inventory, opts)
	if err != nil {
		out.Result, out.Err = history.Failed, err
		if errors.Is(err, syncer.ErrEmptySync) || errors.Is(err, syncer.ErrPruneLimit) || errors.Is(err, syncer.ErrNotPermitted) {
			out.Result = history.Refused
		} else if ctx.Err() == nil {
			out.Retryable, out.Unavailable = true, syncer.Unavailable(err)
		}
		return out
	}
	out.Healthy = out.Changes.Keys(syncer.Created, syncer.Configured, syncer.Unchanged)
	report, err := c.WaitHealthy(ctx, out.Healthy, timeout)
	if err != nil {
		out.Result, out.Err, out.Unhealthy = history.Degraded, err, report.Unhealthy()
		out.Unavailable = ctx.Err() == nil && syncer.Unavailable(err) // the health could not be read
		return out
	}
	out.Result = history.Succeeded
	out.Unhealthy = report.Unhealthy() // the Suspended ones, for the report
	return out
}

// Applied and Pruned list a change set's objects as history records them.
func (o Outcome) Applied() (applied, pruned []string) {
	if o.Changes == nil {
		return nil, nil
	}
	for _, c := range o.Changes.Changes {
		switch c.Action {
		case syncer.Pruned:
			pruned = append(pruned, c.Key.String())
		case syncer.Created, syncer.Configured, syncer.Unchanged, syncer.Failed:
			applied = append(applied, string(c.Action)+" "+c.Key.String())
		}
	}
	return applied, pruned
}

// Mask hides secret values in the outcome's error texts: the API server
// quotes the values it refuses. A nil m leaves them as they are.
func (o *Outcome) Mask(m diff.Masker) {
	if m == nil {
		return
	}
	if o.Err != nil {
		o.Err = &maskedError{msg: m.MaskText(o.Err.Error()), err: o.Err}
	}
	if o.Changes == nil {
		return
	}
	for i := range o.Changes.Changes {
		o.Changes.Changes[i].Error = m.MaskText(o.Changes.Changes[i].Error)
	}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
