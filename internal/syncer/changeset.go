package syncer

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// Action is what a sync did to one object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Pruned     Action = "pruned"
	// PruneSkipped: the object is no longer rendered but stays, because
	// pruning is off, the object opts out (Prune=false) or the prune limit
	// stopped the prune. Error says which.
	PruneSkipped Action = "prune-skipped"
	Failed       Action = "failed"
)

// actionOrder is the order of a summary's counts.
func actionOrder() []Action {
	return append([]Action{Created, Configured, Unchanged, Pruned, PruneSkipped, Failed}, hookActions()...)
}

// Change is one object's outcome.
type Change struct {
	Key    manifest.Key `json:"key"`
	Action Action       `json:"action"`
	// Error is the reason for Failed (the API server's message, when it
	// rejected the object) and PruneSkipped.
	Error string `json:"error,omitempty"`
	// Hook is the phase of a hook's change (the Hook actions); empty for
	// the app's resources.
	Hook synchook.Phase `json:"hook,omitempty"`
}

// ChangeSet is what a sync did, in the order it did it: applies by wave and
// kind, then prunes. The syncer does not log: this, its error and the
// inventory are all it has to say.
type ChangeSet struct {
	App     string   `json:"app"`
	Changes []Change `json:"changes"`
	// Notes are what the sync noticed besides the objects' outcomes, for
	// the caller to log: a list that failed (the objects were then read one
	// by one), an inventory object that no longer carries the app's
	// tracking id (someone took it over; it is forgotten, not pruned).
	Notes []string `json:"notes,omitempty"`
}

func (cs *ChangeSet) add(c ...Change) { cs.Changes = append(cs.Changes, c...) }

func (cs *ChangeSet) note(format string, args ...any) {
	cs.Notes = append(cs.Notes, fmt.Sprintf(format, args...))
}

// Count is the number of objects with action a.
func (cs *ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Keys lists the objects with one of the actions, all when none are given:
// Keys(Created, Configured, Unchanged) is what to wait on for health.
func (cs *ChangeSet) Keys(actions ...Action) []manifest.Key {
	var out []manifest.Key
	for _, c := range cs.Changes {
		if len(actions) == 0 || contains(actions, c.Action) {
			out = append(out, c.Key)
		}
	}
	return out
}

// Summary counts the actions: "1 created, 2 configured, 3 unchanged".
func (cs *ChangeSet) Summary() string {
	var parts []string
	for _, a := range actionOrder() {
		if n := cs.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// String is the summary, then one line per object, as kubectl prints them.
func (cs *ChangeSet) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", cs.App, cs.Summary())
	for _, c := range cs.Changes {
		fmt.Fprintf(&b, "  %-13s %s", c.Action, c.Key)
		if c.Error != "" {
			fmt.Fprintf(&b, ": %s", c.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
