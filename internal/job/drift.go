package job

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/backoff"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// healBackoff is Argo CD's self-heal backoff: the first heal at once, then
// the same object drifting again waits 2 s, ×3 each time, at most 5 min.
var healBackoff = backoff.Exponential{Base: 2 * time.Second, Factor: 3, Max: 5 * time.Minute}

const (
	// defaultHealQuiet is how long an object must stay put before its
	// backoff resets.
	defaultHealQuiet = 10 * time.Minute
	// driftWatch and rolloutWatch are the kinds of the store's watches.
	driftWatch, rolloutWatch = "drift", "rollout"
	// defaultWatchPoll is how often the leader reads the watches other
	// replicas wrote.
	defaultWatchPoll = 2 * time.Second
	// watchSkew is how far back the leader re-reads watches, for replicas
	// whose clocks run behind its own.
	watchSkew = time.Minute
)

// Drift keeps what ferry last applied, watches it in each cluster, and acts
// on out-of-band changes: it records them, and self-heals (selfHeal: true)
// or keeps one GitHub issue per environment up to date (selfHeal: false).
//
// Synced, called by whichever replica ran the sync, writes the desired state
// to the store (Secret values as digests, drift.Seal); Run, on the leader
// only, watches every environment the store lists and reads the watches
// written since, at once for its own replica's syncs and every Poll for the
// others'. A restarted or new leader thus resumes watching at once.
type Drift struct {
	Repos  Repos
	DB     *store.DB
	Queue  Enqueuer
	Logger *slog.Logger
	Now    func() time.Time
	// Clusters resolves a watched environment's destination.
	Clusters func(environment.Destination) (*kube.Cluster, error)
	// Poll is how often the leader reads the watches other replicas wrote
	// (default defaultWatchPoll).
	Poll time.Duration
	// HealQuiet overrides defaultHealQuiet.
	HealQuiet time.Duration
	// Mask hides secret values in a drift issue, which shows the drifted
	// fields' values in Git and live (secrets.Masker; nil: none).
	Mask diff.Masker
	// Metrics counts drift events (nil: not counted).
	Metrics Metrics

	once    sync.Once
	poke    chan struct{} // a sync of this replica wrote a watch
	healsMu sync.Mutex
	heals   map[string]healState
}

type healState struct {
	count int
	last  time.Time
}

// driftState is an environment's drift watch as the store keeps it.
type driftState struct {
	Sync        work.Sync                 `json:"sync"`
	Destination environment.Destination   `json:"destination"`
	SelfHeal    bool                      `json:"selfHeal"`
	Objects     []watchedObject           `json:"objects"`
	Kinds       []schema.GroupVersionKind `json:"kinds"`
	// Ignore is the environment's ignoreDifferences, which drift leaves
	// alone (an HPA's replicas).
	Ignore []environment.IgnoreDifference `json:"ignoreDifferences,omitempty"`
}

// watchedObject is one desired object, sealed.
type watchedObject struct {
	Key    manifest.Key   `json:"key"`
	Object map[string]any `json:"object"`
}

func (d *Drift) init() {
	d.once.Do(func() {
		d.poke, d.heals = make(chan struct{}, 1), map[string]healState{}
	})
}

// Synced records what a successful sync of env applied, for the leader to
// watch: its destination, self-heal policy and ignoreDifferences with the
// objects. Keys come from the change set, which has the namespaces the sync
// filled in.
func (d *Drift) Synced(ctx context.Context, env environment.Environment, a work.Sync, rendered []manifest.Object, cs *syncer.ChangeSet) error {
	d.init()
	want, kinds := desiredState(rendered, cs)
	st := driftState{Sync: a, Destination: env.Destination, SelfHeal: selfHeal(env), Kinds: kinds, Ignore: env.IgnoreDifferences}
	for _, k := range slices.SortedFunc(maps.Keys(want), func(a, b manifest.Key) int { return strings.Compare(a.String(), b.String()) }) {
		st.Objects = append(st.Objects, watchedObject{Key: k, Object: drift.Seal(want[k]).Object})
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("drift watch of %s: %w", a.Environment, err)
	}
	if err := d.DB.PutWatch(ctx, store.Watch{Kind: driftWatch, Repo: a.FullName, Env: a.Environment, State: raw}); err != nil {
		return err
	}
	select {
	case d.poke <- struct{}{}:
	default:
	}
	return nil
}

// desiredState pairs the rendered objects with the keys the sync applied.
func desiredState(rendered []manifest.Object, cs *syncer.ChangeSet) (map[manifest.Key]manifest.Object, []schema.GroupVersionKind) {
	want := map[manifest.Key]manifest.Object{}
	kinds := map[schema.GroupVersionKind]bool{}
	for _, ch := range cs.Changes {
		if ch.Action != syncer.Created && ch.Action != syncer.Configured && ch.Action != syncer.Unchanged {
			continue
		}
		for _, o := range rendered {
			k := o.Key
			if k.Group != ch.Key.Group || k.Kind != ch.Key.Kind || k.Name != ch.Key.Name || (k.Namespace != "" && k.Namespace != ch.Key.Namespace) {
				continue
			}
			o.Key = ch.Key
			want[ch.Key] = o
			kinds[schema.FromAPIVersionAndKind(o.APIVersion(), o.Key.Kind)] = true
		}
	}
	gvks := make([]schema.GroupVersionKind, 0, len(kinds))
	for k := range kinds {
		gvks = append(gvks, k)
	}
	slices.SortFunc(gvks, func(a, b schema.GroupVersionKind) int { return strings.Compare(a.String(), b.String()) })
	return want, gvks
}

// Run watches and acts on drift until ctx ends (the leader's term): one
// watcher per cluster, over the environments the store lists.
func (d *Drift) Run(ctx context.Context) {
	d.init()
	t := newDriftTerm(d)
	t.load(ctx)
	tick := time.NewTicker(cmp.Or(d.Poll, defaultWatchPoll))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-t.problems:
			d.Logger.Warn("drift watcher", "err", err)
		case <-d.poke:
			t.load(ctx)
		case <-tick.C:
			t.load(ctx)
		case ev := <-t.events:
			if err := t.handle(ctx, ev); err != nil {
				d.Logger.Warn("drift not handled", "app", ev.App, "object", ev.Key.String(), "err", err)
			}
		}
	}
}

func (d *Drift) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// heal re-applies the desired state, waiting longer each time the same
// object drifts again (at once, then 2 s, ×3, at most 5 min).
func (d *Drift) heal(ctx context.Context, ev drift.Event, a work.Sync) error {
	key := ev.App + "/" + ev.Key.String()
	now := d.now()
	d.healsMu.Lock()
	st := d.heals[key]
	if now.Sub(st.last) > cmp.Or(d.HealQuiet, defaultHealQuiet) {
		st.count = 0
	}
	delay := healBackoff.Delay(st.count)
	st.count++
	st.last = now
	d.heals[key] = st
	d.healsMu.Unlock()
	heal := a
	heal.Trigger, heal.PR, heal.Actor = work.TriggerSelfHeal, 0, ""
	spec, err := heal.Spec()
	if err != nil {
		return err
	}
	spec.RunAfter = now.Add(delay)
	if err := d.DB.AppendAudit(ctx, history.Event{Time: now, Repo: a.FullName, Environment: a.Environment, Kind: "heal", Revision: a.Commit,
		Detail: fmt.Sprintf("re-applying %s (heal #%d, after %s)", ev.Key, st.count, delay)}); err != nil {
		return err
	}
	if err := d.Queue.Enqueue(ctx, spec); err != nil {
		return err
	}
	d.count("healed")
	return nil
}

func (d *Drift) count(action string) {
	if d.Metrics != nil {
		d.Metrics.Drift(action)
	}
}

// report keeps one open issue per environment describing its drift.
func (d *Drift) report(ctx context.Context, ev drift.Event, a work.Sync) error {
	gh, repo, err := d.Repos.client(a.Repo)
	if err != nil {
		return err
	}
	body := diff.MaskWith(d.Mask, report.DriftIssue(ev, a.Environment, a.Commit))
	d.count("reported")
	if n, err := d.DB.DriftIssue(ctx, a.FullName, a.Environment); err != nil {
		return err
	} else if n != 0 {
		return gh.EditIssue(ctx, repo, n, body, "open")
	}
	n, err := gh.CreateIssue(ctx, repo, fmt.Sprintf("ferry: %s drifted from Git", a.Environment), body)
	if err != nil {
		return err
	}
	return d.DB.SetDriftIssue(ctx, a.FullName, a.Environment, n)
}

// Resolved closes an environment's drift issue after a successful sync.
func (d *Drift) Resolved(ctx context.Context, a work.Sync) error {
	n, err := d.DB.DriftIssue(ctx, a.FullName, a.Environment)
	if err != nil || n == 0 {
		return err
	}
	gh, repo, err := d.Repos.client(a.Repo)
	if err != nil {
		return err
	}
	body := report.DriftResolved(a.Environment, a.Commit)
	if err := gh.EditIssue(ctx, repo, n, body, "closed"); err != nil {
		return err
	}
	return d.DB.SetDriftIssue(ctx, a.FullName, a.Environment, 0)
}
