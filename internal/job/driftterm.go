package job

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/drift"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// driftTerm is what one leadership term of Drift.Run watches: the desired
// state of each app (syncer.AppID) read from the store, and a watcher per
// cluster. It ends with Run.
type driftTerm struct {
	d        *Drift
	mu       sync.Mutex // guards the maps the watchers read through Desired
	desired  map[string]map[manifest.Key]manifest.Object
	synced   map[string]work.Sync // the sync that set the desired state
	selfHeal map[string]bool
	ignore   map[string]*normalize.Normalizer
	// seen is the version of each app's watch in force; since is how far
	// back the next load reads.
	seen     map[string]watchVersion
	since    time.Time
	watchers map[*kube.Cluster]*drift.Watcher
	events   chan drift.Event
	problems chan error
}

func newDriftTerm(d *Drift) *driftTerm {
	return &driftTerm{d: d,
		desired: map[string]map[manifest.Key]manifest.Object{}, synced: map[string]work.Sync{}, selfHeal: map[string]bool{},
		ignore: map[string]*normalize.Normalizer{},
		seen:   map[string]watchVersion{}, watchers: map[*kube.Cluster]*drift.Watcher{},
		events: make(chan drift.Event, 256), problems: make(chan error, 16)}
}

// Desired implements drift.Desired.
func (t *driftTerm) Desired(app string, key manifest.Key) (manifest.Object, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.desired[app][key]
	return o, ok
}

// Ignore implements drift.Ignorer: the app's ignoreDifferences.
func (t *driftTerm) Ignore(app string) *normalize.Normalizer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ignore[app]
}

// load reads the watches written since the last load and watches them.
func (t *driftTerm) load(ctx context.Context) {
	rows, err := t.d.DB.Watches(ctx, driftWatch, t.since)
	if err != nil {
		t.d.Logger.Warn("drift watches not read", "err", err)
		return
	}
	for _, row := range rows {
		app := syncer.AppID(row.Repo, row.Env)
		version := versionOf(row)
		if t.seen[app] == version {
			continue
		}
		if err := t.watch(ctx, app, row.State); err != nil {
			t.d.Logger.Warn("drift not watched", "repo", row.Repo, "environment", row.Env, "err", err)
		}
		t.seen[app] = version
		if since := row.UpdatedAt.Add(-watchSkew); since.After(t.since) {
			t.since = since
		}
	}
}

func (t *driftTerm) watch(ctx context.Context, app string, raw []byte) error {
	var st driftState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("stored watch: %w", err)
	}
	want := make(map[manifest.Key]manifest.Object, len(st.Objects))
	for _, o := range st.Objects {
		want[o.Key] = manifest.Object{Key: o.Key, Object: o.Object}
	}
	t.mu.Lock()
	t.desired[app], t.synced[app], t.selfHeal[app] = want, st.Sync, st.SelfHeal
	t.ignore[app] = normalize.New(st.Ignore)
	t.mu.Unlock()
	c, err := t.d.Clusters(st.Destination)
	if err != nil {
		return err
	}
	w, ok := t.watchers[c]
	if !ok {
		w = drift.NewWatcher(c, t, drift.DefaultOptions())
		t.watchers[c] = w
		go func() {
			if err := w.Run(ctx, t.events, t.problems); err != nil {
				t.d.Logger.Warn("drift watcher stopped", "err", err)
			}
		}()
	}
	return w.Track(app, st.Kinds)
}

// handle records a drift event and heals or reports it.
func (t *driftTerm) handle(ctx context.Context, ev drift.Event) error {
	t.mu.Lock()
	a, known := t.synced[ev.App]
	heal := t.selfHeal[ev.App]
	t.mu.Unlock()
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
	t.d.Logger.Info("drift", "repo", a.FullName, "environment", a.Environment, "object", ev.Key.String(), "kind", ev.Kind, "fields", ev.Fields, "managers", ev.Managers, "at", ev.Time)
	if err := t.d.DB.AppendAudit(ctx, history.Event{Time: ev.Time, Repo: a.FullName, Environment: a.Environment, Kind: "drift", Actor: managers, Revision: a.Commit, Detail: detail}); err != nil {
		return err
	}
	if heal {
		return t.d.heal(ctx, ev, a)
	}
	return t.d.report(ctx, ev, a)
}

// watchVersion tells one stored watch from another: two syncs of an
// environment within one millisecond have the same update time.
type watchVersion struct {
	updated int64
	state   [sha256.Size]byte
}

func versionOf(w store.Watch) watchVersion {
	return watchVersion{updated: w.UpdatedAt.UnixMilli(), state: sha256.Sum256(w.State)}
}
