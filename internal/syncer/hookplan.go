package syncer

import (
	"fmt"
	"sort"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// Hook actions: what a sync did to a hook. A hook's changes carry its phase.
const (
	// HookCreated: the hook was created (or applied again, when a named
	// hook without BeforeHookCreation still exists).
	HookCreated Action = "hook-created"
	// HookSucceeded: it completed (a Job or Pod), or became healthy.
	HookSucceeded Action = "hook-succeeded"
	// HookFailed: it failed, or did not complete in time; Error says why.
	HookFailed Action = "hook-failed"
	// HookDeleted: deleted by its delete policy (after it ran, or, with
	// BeforeHookCreation, its previous instance before it was created).
	HookDeleted Action = "hook-deleted"
)

// hookActions are the hook actions in the order a summary counts them.
func hookActions() []Action { return []Action{HookCreated, HookSucceeded, HookFailed, HookDeleted} }

// hookTask is a rendered hook: the object and what its annotations say.
type hookTask struct {
	obj  manifest.Object
	spec synchook.Spec
}

// generateName is the object's metadata.generateName.
func (h hookTask) generateName() string {
	meta, _ := h.obj.Object["metadata"].(map[string]any)
	s, _ := meta["generateName"].(string)
	return s
}

// hookSet is a render's hooks.
type hookSet []hookTask

// of lists the hooks of phase p in the order they run: by wave, then kind
// and name, as Argo CD orders a phase's tasks.
func (hs hookSet) of(p synchook.Phase) []hookTask {
	var out []hookTask
	for _, h := range hs {
		if h.spec.Has(p) {
			out = append(out, h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.spec.Wave != b.spec.Wave:
			return a.spec.Wave < b.spec.Wave
		case a.obj.Key != b.obj.Key:
			return manifest.Less(a.obj.Key, b.obj.Key)
		}
		return a.generateName() < b.generateName()
	})
	return out
}

// objects are the hooks' objects, for the permit check.
func (hs hookSet) objects() []manifest.Object {
	out := make([]manifest.Object, len(hs))
	for i, h := range hs {
		out[i] = h.obj
	}
	return out
}

// hookWaves splits hooks (in run order) into runs of one wave.
func hookWaves(hooks []hookTask) [][]hookTask {
	var out [][]hookTask
	for _, h := range hooks {
		if n := len(out); n > 0 && out[n-1][0].spec.Wave == h.spec.Wave {
			out[n-1] = append(out[n-1], h)
		} else {
			out = append(out, []hookTask{h})
		}
	}
	return out
}

// splitHooks separates a render into the ordinary resources, which are
// applied, tracked and pruned, and the hooks, which run in their phases and
// are none of that. Objects whose only hook type is Skip are in neither.
// Hooks are checked here as plan checks the rest: they need an apiVersion,
// a kind and a name or generateName.
func splitHooks(objs []manifest.Object) ([]manifest.Object, hookSet, error) {
	var ordinary []manifest.Object
	var hooks hookSet
	seen := map[manifest.Key]bool{}
	for _, o := range objs {
		spec := synchook.Of(o.Object)
		switch {
		case spec.Skip:
			continue
		case !spec.Hook:
			ordinary = append(ordinary, o)
			continue
		}
		h := hookTask{obj: o, spec: spec}
		switch k := o.Key; {
		case o.APIVersion() == "" || k.Kind == "":
			return nil, nil, fmt.Errorf("hook %s (from %s) has no apiVersion or kind", k, source(o))
		case k.Name == "" && h.generateName() == "":
			return nil, nil, fmt.Errorf("%s hook from %s has neither a name nor a generateName", k.Kind, source(o))
		case k.Name != "" && seen[k]:
			return nil, nil, fmt.Errorf("hook %s is rendered twice (second from %s)", k, source(o))
		}
		if o.Key.Name != "" {
			seen[o.Key] = true
		}
		hooks = append(hooks, h)
	}
	for _, o := range ordinary {
		if seen[o.Key] {
			return nil, nil, fmt.Errorf("object %s is rendered both as a hook and as a resource (from %s)", o.Key, source(o))
		}
	}
	return ordinary, hooks, nil
}

// withSyncHooks adds the Sync hooks to the waves of the ordinary objects:
// each runs after the objects of its wave are applied, before the next
// wave. A hook's wave without objects becomes a wave of its own.
func withSyncHooks(waves []wave, hooks []hookTask) []wave {
	for _, run := range hookWaves(hooks) {
		n := run[0].spec.Wave
		i := sort.Search(len(waves), func(i int) bool { return waves[i].number >= n })
		if i == len(waves) || waves[i].number != n {
			waves = append(waves[:i], append([]wave{{number: n}}, waves[i:]...)...)
		}
		waves[i].hooks = run
	}
	return waves
}
