package project

import (
	"fmt"
	"slices"
	"time"
)

// Window is whether a sync may run now, and if not why and when it may.
type Window struct {
	Allowed bool
	Reason  string
	// Opens is the earliest time within the next 8 days at which the sync
	// would be allowed; zero when none is (or when Allowed).
	Opens time.Time
}

// horizon is how far ahead Opens is looked for.
const horizon = 8 * 24 * time.Hour

// SyncWindow says whether app (in namespace, bound for c) may sync at now,
// with Argo CD's rules in every layer: an active deny window that selects
// the app denies (a manual sync passes when each such window has
// manualSync); otherwise allow windows that select it and are all
// inactive deny (a manual sync passes when one of them has manualSync).
func (e Effective) SyncWindow(now time.Time, app, namespace string, c Cluster, manual bool) Window {
	sel := selector{app: app, namespace: namespace, cluster: c}
	var windows []layerWindow
	for i, l := range e.Layers {
		for _, w := range l.SyncWindows {
			cw, err := w.compile()
			if err != nil || !sel.selects(w) {
				continue // validated when the project was loaded
			}
			windows = append(windows, layerWindow{window: cw, by: e.by(i)})
		}
	}
	reason := verdict(windows, now, manual)
	if reason == "" {
		return Window{Allowed: true}
	}
	w := Window{Reason: reason}
	for _, t := range candidates(windows, now) {
		if verdict(windows, t, manual) == "" {
			w.Opens = t
			break
		}
	}
	return w
}

type layerWindow struct {
	window
	by string
}

type selector struct {
	app, namespace string
	cluster        Cluster
}

func (s selector) selects(w SyncWindow) bool {
	for _, p := range w.Applications {
		if match(p, s.app) {
			return true
		}
	}
	for _, p := range w.Namespaces {
		if match(p, s.namespace) {
			return true
		}
	}
	for _, p := range w.Clusters {
		if (s.cluster.Name != "" && match(p, s.cluster.Name)) || (s.cluster.Server != "" && match(p, s.cluster.Server)) {
			return true
		}
	}
	return false
}

// verdict is why windows keep a sync from running at t, "" when they don't.
func verdict(windows []layerWindow, t time.Time, manual bool) string {
	layers := map[string][]layerWindow{}
	var order []string
	for _, w := range windows {
		if _, ok := layers[w.by]; !ok {
			order = append(order, w.by)
		}
		layers[w.by] = append(layers[w.by], w)
	}
	for _, by := range order {
		if r := layerVerdict(layers[by], t, manual); r != "" {
			return r
		}
	}
	return ""
}

func layerVerdict(windows []layerWindow, t time.Time, manual bool) string {
	var activeDeny, allows []layerWindow
	anyAllowActive, manualAllowed := false, false
	for _, w := range windows {
		active := w.active(t)
		switch {
		case w.Kind == "deny" && active:
			activeDeny = append(activeDeny, w)
		case w.Kind == "allow":
			allows = append(allows, w)
			anyAllowActive = anyAllowActive || active
			manualAllowed = manualAllowed || w.ManualSync
		}
	}
	if len(activeDeny) > 0 {
		for _, w := range activeDeny {
			if !manual || !w.ManualSync {
				return fmt.Sprintf("sync window deny %q for %s in %s is active", w.Schedule, w.Duration, w.by)
			}
		}
		return ""
	}
	if len(allows) > 0 && !anyAllowActive && !(manual && manualAllowed) {
		return fmt.Sprintf("no allow sync window of %s is open (next: %q for %s)", allows[0].by, allows[0].Schedule, allows[0].Duration)
	}
	return ""
}

// active reports whether the window is open at t: a start s of its
// schedule with t-duration < s <= t.
func (w window) active(t time.Time) bool {
	t = t.In(w.loc)
	return !w.schedule.Next(t.Add(-w.duration)).After(t)
}

// candidates are the instants after now at which the verdict may change:
// every start and end of every window within the horizon, sorted.
func candidates(windows []layerWindow, now time.Time) []time.Time {
	var out []time.Time
	end := now.Add(horizon)
	for _, w := range windows {
		for s := w.schedule.Next(now.In(w.loc).Add(-w.duration)); !s.After(end); s = w.schedule.Next(s) {
			for _, t := range []time.Time{s, s.Add(w.duration)} {
				if t.After(now) && !t.After(end) {
					out = append(out, t)
				}
			}
			if len(out) > 10000 {
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
