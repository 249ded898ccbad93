package job

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

// Argo CD's self-heal backoff: the same object drifting again waits longer.
const (
	healBase   = 2 * time.Second
	healFactor = 3
	healMax    = 5 * time.Minute
	// DefaultHealQuiet is how long an object must stay put before its
	// backoff resets.
	DefaultHealQuiet = 10 * time.Minute
)

// DriftGitHub is what drift reporting does on GitHub.
type DriftGitHub interface {
	CreateIssue(ctx context.Context, repo github.Repo, title, body string) (int, error)
	EditIssue(ctx context.Context, repo github.Repo, number int, body, state string) error
}

// Auditor appends to the audit log.
type Auditor interface {
	AppendAudit(ctx context.Context, e history.Event) error
}

// Drift keeps what ferry last applied, watches it in each cluster, and acts
// on out-of-band changes: it records them, and self-heals (selfHeal: true)
// or keeps one GitHub issue per environment up to date (selfHeal: false).
type Drift struct {
	Client func(installationID int64) (DriftGitHub, error)
	State  State
	Queue  Enqueuer
	Wake   func()
	Audit  Auditor
	Logger *slog.Logger
	Now    func() time.Time
	// HealQuiet overrides DefaultHealQuiet.
	HealQuiet time.Duration
	// Mask hides secret values in a drift issue, which shows the drifted
	// fields' values in Git and live (secrets.Masker; nil: none).
	Mask diff.Masker

	mu       sync.Mutex
	desired  map[string]map[manifest.Key]manifest.Object
	synced   map[string]SyncArgs // the sync that set the desired state
	selfHeal map[string]bool
	heals    map[string]healState
	watchers map[*kube.Cluster]*drift.Watcher
	events   chan drift.Event
	ctx      context.Context
}

type healState struct {
	count int
	last  time.Time
}

// NewDrift returns a Drift; Run must be called for it to act.
func NewDrift() *Drift {
	return &Drift{
		desired: map[string]map[manifest.Key]manifest.Object{}, synced: map[string]SyncArgs{}, selfHeal: map[string]bool{},
		heals: map[string]healState{}, watchers: map[*kube.Cluster]*drift.Watcher{}, events: make(chan drift.Event, 256),
	}
}

// Desired implements drift.Desired.
func (d *Drift) Desired(app string, key manifest.Key) (manifest.Object, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.desired[app][key]
	return o, ok
}

// Synced records what a successful sync applied and starts watching it.
// Keys come from the change set, which has the namespaces the sync filled in.
func (d *Drift) Synced(c *kube.Cluster, a SyncArgs, selfHeal bool, rendered []manifest.Object, cs *syncer.ChangeSet) {
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
	d.mu.Lock()
	d.desired[a.Environment] = want
	d.synced[a.Environment] = a
	d.selfHeal[a.Environment] = selfHeal
	w, ok := d.watchers[c]
	if !ok {
		w = drift.NewWatcher(c, d, drift.DefaultOptions(), d.Logger)
		d.watchers[c] = w
		if d.ctx != nil {
			go d.runWatcher(d.ctx, w)
		}
	}
	d.mu.Unlock()
	gvks := make([]schema.GroupVersionKind, 0, len(kinds))
	for k := range kinds {
		gvks = append(gvks, k)
	}
	w.Track(a.Environment, gvks)
}

// Run acts on drift until ctx ends.
func (d *Drift) Run(ctx context.Context) {
	d.mu.Lock()
	d.ctx = ctx
	for _, w := range d.watchers {
		go d.runWatcher(ctx, w)
	}
	d.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-d.events:
			if err := d.handle(ctx, ev); err != nil {
				d.Logger.Warn("drift not handled", "environment", ev.App, "object", ev.Key.String(), "err", err)
			}
		}
	}
}

func (d *Drift) runWatcher(ctx context.Context, w *drift.Watcher) {
	if err := w.Run(ctx, d.events); err != nil {
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
	d.Logger.Info("drift", "environment", ev.App, "object", ev.Key.String(), "kind", ev.Kind, "fields", ev.Fields, "managers", ev.Managers, "at", ev.Time)
	if err := d.Audit.AppendAudit(ctx, history.Event{Time: ev.Time, Environment: ev.App, Kind: "drift", Actor: managers, Revision: a.Commit, Detail: detail}); err != nil {
		return err
	}
	if heal {
		return d.heal(ctx, ev, a)
	}
	return d.report(ctx, ev, a)
}

// heal re-applies the desired state, waiting longer each time the same
// object drifts again (2 s, ×3, at most 5 min).
func (d *Drift) heal(ctx context.Context, ev drift.Event, a SyncArgs) error {
	key := ev.App + "/" + ev.Key.String()
	now := d.now()
	d.mu.Lock()
	st := d.heals[key]
	quiet := d.HealQuiet
	if quiet <= 0 {
		quiet = DefaultHealQuiet
	}
	if now.Sub(st.last) > quiet {
		st.count = 0
	}
	var delay time.Duration
	if st.count > 0 {
		delay = healBase
		for i := 1; i < st.count && delay < healMax; i++ {
			delay *= healFactor
		}
		delay = min(delay, healMax)
	}
	st.count++
	st.last = now
	d.heals[key] = st
	d.mu.Unlock()
	heal := a
	heal.Trigger, heal.PR, heal.Actor = "self-heal", 0, ""
	spec, err := SyncSpec(heal)
	if err != nil {
		return err
	}
	spec.RunAfter = now.Add(delay)
	if err := d.Audit.AppendAudit(ctx, history.Event{Time: now, Environment: ev.App, Kind: "heal", Revision: a.Commit,
		Detail: fmt.Sprintf("re-applying %s (heal #%d, after %s)", ev.Key, st.count, delay)}); err != nil {
		return err
	}
	if err := d.Queue.Enqueue(ctx, spec); err != nil {
		return err
	}
	if d.Wake != nil {
		d.Wake()
	}
	return nil
}

// report keeps one open issue per environment describing its drift.
func (d *Drift) report(ctx context.Context, ev drift.Event, a SyncArgs) error {
	repo, err := github.ParseRepo(a.Repo)
	if err != nil {
		return queue.Permanent(err)
	}
	gh, err := d.Client(a.InstallationID)
	if err != nil {
		return err
	}
	key := a.Repo + "/" + a.Environment
	body := diff.MaskWith(d.Mask, report.DriftIssue(ev, a.Environment, a.Commit))
	if raw, ok, err := d.State.Get(ctx, "drift_issue", key); err != nil {
		return err
	} else if ok && raw != "" {
		var n int
		fmt.Sscan(raw, &n)
		return gh.EditIssue(ctx, repo, n, body, "open")
	}
	n, err := gh.CreateIssue(ctx, repo, fmt.Sprintf("ferry: %s drifted from Git", a.Environment), body)
	if err != nil {
		return err
	}
	return d.State.Put(ctx, "drift_issue", key, fmt.Sprint(n))
}

// Resolved closes an environment's drift issue after a successful sync.
func (d *Drift) Resolved(ctx context.Context, a SyncArgs) error {
	key := a.Repo + "/" + a.Environment
	raw, ok, err := d.State.Get(ctx, "drift_issue", key)
	if err != nil || !ok || raw == "" {
		return err
	}
	repo, err := github.ParseRepo(a.Repo)
	if err != nil {
		return err
	}
	gh, err := d.Client(a.InstallationID)
	if err != nil {
		return err
	}
	var n int
	fmt.Sscan(raw, &n)
	body := report.DriftResolved(a.Environment, a.Commit)
	if err := gh.EditIssue(ctx, repo, n, body, "closed"); err != nil {
		return err
	}
	return d.State.Put(ctx, "drift_issue", key, "")
}
