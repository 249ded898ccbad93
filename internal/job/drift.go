package job

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/backoff"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/drift"
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
)

// Drift keeps what ferry last applied, watches it in each cluster, and acts
// on out-of-band changes: it records them, and self-heals (selfHeal: true)
// or keeps one GitHub issue per environment up to date (selfHeal: false).
// Run owns the watchers; Synced hands it each successful sync.
type Drift struct {
	Repos  Repos
	DB     *store.DB
	Queue  Enqueuer
	Logger *slog.Logger
	Now    func() time.Time
	// HealQuiet overrides defaultHealQuiet.
	HealQuiet time.Duration
	// Mask hides secret values in a drift issue, which shows the drifted
	// fields' values in Git and live (secrets.Masker; nil: none).
	Mask diff.Masker

	once sync.Once
	// mu guards the desired state the watchers read (Desired) and what the
	// handler of their events reads.
	mu       sync.Mutex
	desired  map[string]map[manifest.Key]manifest.Object
	synced   map[string]work.Sync // the sync that set the desired state
	selfHeal map[string]bool
	heals    map[string]healState
	tracks   chan track
	stopped  chan struct{} // closed when Run returns
}

type healState struct {
	count int
	last  time.Time
}

// track asks Run to watch kinds of an app (syncer.AppID) in a cluster.
type track struct {
	cluster *kube.Cluster
	app     string
	kinds   []schema.GroupVersionKind
}

func (d *Drift) init() {
	d.once.Do(func() {
		d.desired = map[string]map[manifest.Key]manifest.Object{}
		d.synced, d.selfHeal, d.heals = map[string]work.Sync{}, map[string]bool{}, map[string]healState{}
		d.tracks, d.stopped = make(chan track), make(chan struct{})
	})
}

// Desired implements drift.Desired.
func (d *Drift) Desired(app string, key manifest.Key) (manifest.Object, bool) {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.desired[app][key]
	return o, ok
}

// Synced records what a successful sync applied and has Run watch it.
// Keys come from the change set, which has the namespaces the sync filled in.
func (d *Drift) Synced(ctx context.Context, c *kube.Cluster, a work.Sync, selfHeal bool, rendered []manifest.Object, cs *syncer.ChangeSet) {
	d.init()
	want, kinds := desiredState(rendered, cs)
	// Keyed by the app id the syncer tracks objects by: two repositories'
	// environments of one name are two apps.
	app := syncer.AppID(a.FullName, a.Environment)
	d.mu.Lock()
	d.desired[app], d.synced[app], d.selfHeal[app] = want, a, selfHeal
	d.mu.Unlock()
	select {
	case d.tracks <- track{cluster: c, app: app, kinds: kinds}:
	case <-d.stopped:
	case <-ctx.Done():
	}
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
	return want, gvks
}

// Run watches and acts on drift until ctx ends: one watcher per cluster.
func (d *Drift) Run(ctx context.Context) {
	d.init()
	defer close(d.stopped)
	watchers := map[*kube.Cluster]*drift.Watcher{}
	events, problems := make(chan drift.Event, 256), make(chan error, 16)
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-problems:
			d.Logger.Warn("drift watcher", "err", err)
		case t := <-d.tracks:
			w, ok := watchers[t.cluster]
			if !ok {
				w = drift.NewWatcher(t.cluster, d, drift.DefaultOptions())
				watchers[t.cluster] = w
				go d.runWatcher(ctx, w, events, problems)
			}
			if err := w.Track(t.app, t.kinds); err != nil {
				d.Logger.Warn("drift not watched", "app", t.app, "err", err)
			}
		case ev := <-events:
			if err := d.handle(ctx, ev); err != nil {
				d.Logger.Warn("drift not handled", "app", ev.App, "object", ev.Key.String(), "err", err)
			}
		}
	}
}

func (d *Drift) runWatcher(ctx context.Context, w *drift.Watcher, events chan<- drift.Event, problems chan<- error) {
	if err := w.Run(ctx, events, problems); err != nil {
		d.Logger.Warn("drift watcher stopped", "err", err)
	}
}

func (d *Drift) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Drift) handle(ctx context.Context, ev drift.Event) error {
	d.mu.Lock()
	a, known := d.synced[ev.App]
	heal := d.selfHeal[ev.App]
	d.mu.Unlock()
	if !known {
		return nil
	}
	managers := strings.Join(ev.Managers, ", ")
	detail := fmt.Sprintf("%s %s", ev.Kind, ev.Key)
	if len(ev.Fields) > 0 {
		detail += ": " + strings.Join(ev.Fields, ", ")
	}
	if managers != "" {
		detail += " by " + managers
	}
	d.Logger.Info("drift", "repo", a.FullName, "environment", a.Environment, "object", ev.Key.String(), "kind", ev.Kind, "fields", ev.Fields, "managers", ev.Managers, "at", ev.Time)
	if err := d.DB.AppendAudit(ctx, history.Event{Time: ev.Time, Repo: a.FullName, Environment: a.Environment, Kind: "drift", Actor: managers, Revision: a.Commit, Detail: detail}); err != nil {
		return err
	}
	if heal {
		return d.heal(ctx, ev, a)
	}
	return d.report(ctx, ev, a)
}

// heal re-applies the desired state, waiting longer each time the same
// object drifts again (at once, then 2 s, ×3, at most 5 min).
func (d *Drift) heal(ctx context.Context, ev drift.Event, a work.Sync) error {
	key := ev.App + "/" + ev.Key.String()
	now := d.now()
	d.mu.Lock()
	st := d.heals[key]
	if now.Sub(st.last) > cmp.Or(d.HealQuiet, defaultHealQuiet) {
		st.count = 0
	}
	delay := healBackoff.Delay(st.count)
	st.count++
	st.last = now
	d.heals[key] = st
	d.mu.Unlock()
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
	return d.Queue.Enqueue(ctx, spec)
}

// report keeps one open issue per environment describing its drift.
func (d *Drift) report(ctx context.Context, ev drift.Event, a work.Sync) error {
	gh, repo, err := d.Repos.client(a.Repo)
	if err != nil {
		return err
	}
	body := diff.MaskWith(d.Mask, report.DriftIssue(ev, a.Environment, a.Commit))
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
