package syncer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// wave is the objects of one sync wave, in groups of one kind: a group is
// applied at once, groups one after another in kind order, as Argo CD's
// sync does. Its Sync hooks run after its objects are applied.
type wave struct {
	number int
	groups [][]manifest.Object
	hooks  []hookTask
}

// plan orders objs for apply: by sync wave, then by kind rank (Namespaces
// and CRDs first) and name. It rejects objects that cannot be applied at
// all, before anything is.
func plan(objs []manifest.Object) ([]wave, error) {
	seen := make(map[manifest.Key]bool, len(objs))
	for _, o := range objs {
		k := o.Key
		switch {
		case o.APIVersion() == "" || k.Kind == "":
			return nil, fmt.Errorf("object %s (from %s) has no apiVersion or kind", k, source(o))
		case k.Name == "":
			return nil, fmt.Errorf("%s object from %s has no name (generateName cannot be applied)", k.Kind, source(o))
		case seen[k]:
			return nil, fmt.Errorf("object %s is rendered twice (second from %s)", k, source(o))
		}
		seen[k] = true
	}
	sorted := append([]manifest.Object(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if wi, wj := objectWave(sorted[i].Object), objectWave(sorted[j].Object); wi != wj {
			return wi < wj
		}
		return manifest.Less(sorted[i].Key, sorted[j].Key)
	})
	var waves []wave
	for _, o := range sorted {
		n := objectWave(o.Object)
		if len(waves) == 0 || waves[len(waves)-1].number != n {
			waves = append(waves, wave{number: n})
		}
		w := &waves[len(waves)-1]
		if g := len(w.groups) - 1; g >= 0 && sameKind(w.groups[g][0].Key, o.Key) {
			w.groups[g] = append(w.groups[g], o)
		} else {
			w.groups = append(w.groups, []manifest.Object{o})
		}
	}
	return waves, nil
}

func sameKind(a, b manifest.Key) bool { return a.Group == b.Group && a.Kind == b.Kind }

// objectWave is the sync wave of a rendered object.
func objectWave(obj map[string]any) int {
	meta, _ := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	s, _ := ann[SyncWaveAnnotation].(string)
	return syncWave(s)
}

// syncWave reads an argocd.argoproj.io/sync-wave annotation. Like Argo CD,
// a value that is not an integer counts as wave 0.
func syncWave(annotation string) int {
	n, err := strconv.Atoi(strings.TrimSpace(annotation))
	if err != nil {
		return 0
	}
	return n
}

func source(o manifest.Object) string {
	if o.Source == "" {
		return "the render"
	}
	return o.Source
}
