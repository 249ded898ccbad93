// Package syncer is ferry's sync engine: it makes a cluster match a render,
// with Argo CD's semantics. Objects are server-side applied in sync waves
// and kind order, marked with ferry's tracking id, never applied over
// objects ferry does not own, and those the app no longer renders are pruned
// behind guards against a broken render deleting everything. Resource
// hooks (package synchook) run in their phases around that, and are not the
// app's resources. Health is assessed by package health.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// Options configure one sync.
type Options struct {
	// App names the app the objects belong to; it is part of every
	// tracking id, so it must be stable across syncs. Required.
	App string
	// FieldManager is the server-side apply field manager.
	FieldManager string
	// Prune deletes tracked objects the render no longer has. Without it
	// they are reported as prune-skipped and stay tracked.
	Prune bool
	// AllowEmpty allows syncing an empty render. Off, such a sync fails with
	// ErrEmptySync before touching anything. On, an empty render may prune
	// everything, beyond MaxPruneFraction: that is what allowing it means.
	AllowEmpty bool
	// MaxPruneFraction refuses a prune that would delete more than this
	// fraction of the app's objects (those applied now plus those no longer
	// rendered); the sync fails with a *PruneLimitError and prunes nothing.
	// 0 turns the guard off.
	MaxPruneFraction float64
	// CreateNamespace creates Namespace first when it does not exist (Argo
	// CD's CreateNamespace=true). The namespace is not tracked or pruned.
	CreateNamespace bool
	// Namespace is the destination namespace, given to namespaced objects
	// that have none ("default" when this is empty too).
	Namespace string
	// HealthTimeout bounds each wait within the sync: a CRD becoming
	// established, a wave becoming healthy before the next one, a wave of
	// hooks completing (those still running then fail), the objects
	// becoming healthy before PostSync hooks.
	HealthTimeout time.Duration
	// PollInterval is how often those waits look.
	PollInterval time.Duration
	// Concurrency is how many objects of one kind are applied (or pruned)
	// at once.
	Concurrency int
	// WaitForWaves waits for a wave's objects to be healthy before applying
	// the next wave, as Argo CD does. A sync with a single wave never waits.
	WaitForWaves bool
	// Permit, when set, is asked about every object before anything is
	// applied: one refusal refuses the sync (a *PermitError). An object
	// due for pruning that it refuses is left in place.
	Permit Permit
	// LegacyApp is the app id an older ferry tracked the environment's
	// objects by (its name alone): such an object is the app's, and taken
	// over, only when prev (the environment's own inventory) holds it.
	LegacyApp string
	// RespectIgnore, set by RespectIgnoreDifferences=true, keeps the fields
	// the environment's ignoreDifferences name at their live values in an
	// object that exists (respect_ignore.go); nil applies the render whole.
	RespectIgnore *normalize.Normalizer

	// legacy is prev, for LegacyApp.
	legacy Inventory
}

// DefaultOptions are Argo CD's defaults for a sync, with ferry's guards.
// AllowEmpty is true, as for Argo CD's manual syncs; OptionsFor sets it
// from the Application.
func DefaultOptions() Options {
	return Options{
		FieldManager:     "ferry",
		AllowEmpty:       true,
		MaxPruneFraction: 0.5,
		HealthTimeout:    5 * time.Minute,
		PollInterval:     500 * time.Millisecond,
		Concurrency:      8,
		WaitForWaves:     true,
	}
}

// OptionsFor is DefaultOptions for repo's (owner/name) env: its app id,
// destination namespace and sync policy. An automated policy prunes when it says so and
// allows an empty sync only when it says so (Argo CD's automated.allowEmpty
// defaults to false).
func OptionsFor(repo string, env environment.Environment) Options {
	opts := DefaultOptions()
	opts.App, opts.LegacyApp = AppID(repo, env.Name), env.Name
	opts.Namespace = env.Destination.Namespace
	opts.RespectIgnore = respectIgnore(env)
	p := env.SyncPolicy
	if p == nil {
		return opts
	}
	for _, o := range p.SyncOptions {
		if strings.TrimSpace(o) == "CreateNamespace=true" {
			opts.CreateNamespace = true
		}
	}
	if a := p.Automated; a != nil && (a.Enabled == nil || *a.Enabled) {
		opts.Prune = a.Prune
		opts.AllowEmpty = a.AllowEmpty != nil && *a.AllowEmpty
	}
	return opts
}

func (o Options) validate() error {
	switch {
	case o.App == "":
		return errors.New("syncer: Options.App is required: it is part of every tracking id")
	case o.FieldManager == "":
		return errors.New("syncer: Options.FieldManager is required")
	case o.Concurrency < 1:
		return fmt.Errorf("syncer: Options.Concurrency is %d, want at least 1", o.Concurrency)
	case o.PollInterval <= 0 || o.HealthTimeout <= 0:
		return errors.New("syncer: Options.PollInterval and HealthTimeout must be positive")
	case o.MaxPruneFraction < 0:
		return fmt.Errorf("syncer: Options.MaxPruneFraction is %v, want 0 (off) or more", o.MaxPruneFraction)
	}
	return nil
}

// Syncer syncs renders into one cluster. It is safe for concurrent use, but
// two syncs of the same app at once race each other's prunes: callers
// serialize per app.
type Syncer struct {
	cluster      *kube.Cluster
	pollInterval time.Duration
}

// New returns a syncer for c.
func New(c *kube.Cluster) *Syncer {
	return &Syncer{cluster: c, pollInterval: DefaultOptions().PollInterval}
}

// Sync makes the cluster hold objs for opts.App:
//
//  1. with CreateNamespace, the destination namespace is created if missing;
//  2. PreSync hooks run (see package synchook: Argo CD's and Helm's hook
//     annotations), wave by wave, each waited on until it completes;
//  3. objects are applied (server-side, forced, as opts.FieldManager) wave
//     by wave, and within a wave kind by kind in manifest.KindRank order,
//     the objects of a kind in parallel; CRDs are waited on until
//     established so the custom resources after them map; a wave's Sync
//     hooks run after its objects are applied;
//  4. an object that exists without this app's tracking id is not touched:
//     it fails with ErrNotOwned;
//  5. when objects fail, the wave they are in is finished and the sync
//     stops with an *ApplyError: later waves are not applied and nothing is
//     pruned;
//  6. then tracked objects that are no longer rendered (from prev, and
//     found in the cluster by their tracking id) are pruned in reverse
//     order, unless an object opts out or a guard refuses;
//  7. when there are PostSync hooks, the applied objects are waited on
//     until healthy, and the hooks run;
//  8. when a step after the checks fails, the SyncFail hooks run.
//
// Hooks are not the app's resources: they are not tracked, pruned or in the
// inventory, and their changes have the Hook actions; a hook that fails (or
// does not complete within opts.HealthTimeout) fails the sync with a
// *HookError. Objects whose hook type is Skip are not applied at all.
//
// prev is the inventory the previous sync returned (nil the first time).
// Sync returns what it did and the new inventory, also when it fails: the
// caller persists the inventory either way, or the next sync could miss
// objects to prune. Sync does not wait for the objects to become healthy
// (but before PostSync hooks): see WaitHealthy. It does not log: the change
// set's Summary and Notes are what to log.
func (s *Syncer) Sync(ctx context.Context, objs []manifest.Object, prev Inventory, opts Options) (*ChangeSet, Inventory, error) {
	prev = NewInventory(prev...)
	opts.legacy = prev
	cs := &ChangeSet{App: opts.App}
	if err := opts.validate(); err != nil {
		return cs, prev, err
	}
	objs, hooks, err := splitHooks(objs)
	if err != nil {
		return cs, prev, fmt.Errorf("syncer: app %s: %w", opts.App, err)
	}
	if len(objs) == 0 && !opts.AllowEmpty {
		return cs, prev, fmt.Errorf("%w (app %s)", ErrEmptySync, opts.App)
	}
	waves, err := plan(objs)
	if err != nil {
		return cs, prev, fmt.Errorf("syncer: app %s: %w", opts.App, err)
	}
	waves = withSyncHooks(waves, hooks.of(synchook.Sync))
	if err := s.permitted(append(objs[:len(objs):len(objs)], hooks.objects()...), opts); err != nil {
		return cs, prev, err
	}
	if opts.CreateNamespace && opts.Namespace != "" && !rendersNamespace(objs, opts.Namespace) {
		c, err := s.ensureNamespace(ctx, opts)
		if c != nil {
			cs.add(*c)
		}
		if err != nil {
			return cs, prev, &ApplyError{Wave: firstWave(waves), Errors: []*ObjectError{err}}
		}
	}
	if err := s.runHooks(ctx, synchook.PreSync, hooks.of(synchook.PreSync), opts, cs); err != nil {
		return cs, prev, s.syncFailed(ctx, hooks, opts, cs, fmt.Errorf("syncer: app %s: %w", opts.App, err))
	}
	applied, err := s.applyWaves(ctx, waves, opts, cs)
	if err != nil {
		return cs, prev.Union(NewInventory(applied...)), s.syncFailed(ctx, hooks, opts, cs, err)
	}
	inv, err := s.prune(ctx, prev, NewInventory(applied...), cs, opts)
	if err == nil {
		err = s.postSync(ctx, hooks.of(synchook.PostSync), applied, opts, cs)
	}
	if err != nil {
		return cs, inv, s.syncFailed(ctx, hooks, opts, cs, err)
	}
	return cs, inv, nil
}

// applyWaves applies the waves in order, each wave's Sync hooks after its
// objects, waiting for a wave to be healthy before the next when
// opts.WaitForWaves. It returns the keys it applied, also when it fails.
func (s *Syncer) applyWaves(ctx context.Context, waves []wave, opts Options, cs *ChangeSet) ([]manifest.Key, error) {
	var applied []manifest.Key
	for i, w := range waves {
		var failed []*ObjectError
		var waveKeys []manifest.Key
		for _, group := range w.groups {
			changes, errs := s.applyGroup(ctx, group, opts, cs)
			cs.add(changes...)
			for j, c := range changes {
				if errs[j] != nil {
					failed = append(failed, errs[j])
					continue
				}
				applied = append(applied, c.Key)
				waveKeys = append(waveKeys, c.Key)
			}
		}
		if len(failed) > 0 {
			return applied, &ApplyError{Wave: w.number, Errors: failed}
		}
		if err := s.runHooks(ctx, synchook.Sync, w.hooks, opts, cs); err != nil {
			return applied, fmt.Errorf("syncer: app %s: wave %d: %w", opts.App, w.number, err)
		}
		if opts.WaitForWaves && i < len(waves)-1 && len(waveKeys) > 0 {
			if _, err := s.waitHealthy(ctx, waveKeys, opts.HealthTimeout, opts.PollInterval, opts.Concurrency); err != nil {
				return applied, fmt.Errorf("syncer: app %s: wave %d did not become healthy, later waves not applied: %w", opts.App, w.number, err)
			}
		}
	}
	return applied, nil
}

func rendersNamespace(objs []manifest.Object, ns string) bool {
	for _, o := range objs {
		if o.Key.Group == "" && o.Key.Kind == "Namespace" && o.Key.Name == ns {
			return true
		}
	}
	return false
}

func firstWave(waves []wave) int {
	if len(waves) == 0 {
		return 0
	}
	return waves[0].number
}

// forEach calls fn(i) for i in [0, n) on at most workers goroutines.
func forEach(n, workers int, fn func(i int)) {
	if n == 0 {
		return
	}
	workers = min(workers, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
