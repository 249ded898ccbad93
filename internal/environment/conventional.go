package environment

import (
	"path"
	"sort"
	"strings"

	"github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// conventional finds environments in a repository that declares none: the
// Kustomize overlays nothing else builds on, and the Helm charts that are
// not another chart's subchart. Each is named by its path.
//
// An unparsable kustomization is still an environment (its render reports
// the error), but what it references is unknown, so a base only it uses
// shows up as an environment of its own until it is fixed.
func conventional(tree *repofs.Tree) []Environment {
	charts, kustomizations := candidates(tree)
	refs := &references{tree: tree, dirs: map[string]bool{}}
	chartDirs := sortedKeys(charts)
	libraries := refs.fromCharts(chartDirs, charts)
	var kustDirs []string
	for _, dir := range sortedKeys(kustomizations) {
		if !inChart(dir, charts) {
			kustDirs = append(kustDirs, dir)
		}
	}
	components := refs.fromKustomizations(kustDirs)

	var envs []Environment
	for _, dir := range chartDirs {
		if !refs.dirs[dir] && !libraries[dir] {
			envs = append(envs, Environment{Name: dir, Origin: FromDiscovery, Path: dir, Type: Helm})
		}
	}
	for _, dir := range kustDirs {
		// A directory that is also a chart is Helm's, as Argo CD decides.
		if !refs.dirs[dir] && !components[dir] {
			envs = append(envs, Environment{Name: dir, Origin: FromDiscovery, Path: dir, Type: Kustomize})
		}
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i].Name < envs[j].Name })
	return envs
}

// candidates returns the directories holding a Chart.yaml and those
// holding a kustomization.
func candidates(tree *repofs.Tree) (charts, kustomizations map[string]bool) {
	charts, kustomizations = map[string]bool{}, map[string]bool{}
	for _, f := range tree.Files() {
		dir, base := path.Split(f)
		dir = path.Clean(dir)
		switch {
		case base == "Chart.yaml":
			charts[dir] = true
		case kustomization.IsName(base):
			kustomizations[dir] = true
		}
	}
	return charts, kustomizations
}

// inChart reports whether dir is a chart or inside one.
func inChart(dir string, charts map[string]bool) bool {
	for {
		if charts[dir] {
			return true
		}
		if dir == "." {
			return false
		}
		dir = path.Dir(dir)
	}
}

// references collects the directories something else builds on.
type references struct {
	tree *repofs.Tree
	dirs map[string]bool
}

// mark records a referenced directory where it really is.
func (r *references) mark(p string) {
	if real, err := r.tree.Resolve(p); err == nil {
		p = real
	}
	r.dirs[p] = true
}

// fromCharts marks subcharts (under another chart's charts/ directory)
// and file:// dependencies, and returns which charts are libraries.
func (r *references) fromCharts(chartDirs []string, charts map[string]bool) map[string]bool {
	info := make([]*chart, len(chartDirs))
	forEach(len(chartDirs), func(i int) {
		// An unreadable chart is still a candidate; its render reports why.
		info[i], _ = readChart(r.tree, chartDirs[i])
	})
	libraries := map[string]bool{}
	for i, dir := range chartDirs {
		if isSubchart(dir, charts) {
			r.dirs[dir] = true
		}
		if c := info[i]; c != nil {
			libraries[dir] = c.Library
			for _, dep := range c.FileDeps {
				r.mark(dep)
			}
		}
	}
	return libraries
}

// isSubchart reports whether dir is under another chart's charts/ directory.
func isSubchart(dir string, charts map[string]bool) bool {
	for a := path.Dir(dir); ; a = path.Dir(a) {
		prefix := a + "/charts/"
		if a == "." {
			prefix = "charts/"
		}
		if charts[a] && strings.HasPrefix(dir+"/", prefix) {
			return true
		}
		if a == "." {
			return false
		}
	}
}

// fromKustomizations marks what the kustomizations in dirs build on, and
// returns which are components.
func (r *references) fromKustomizations(dirs []string) map[string]bool {
	parsed := make([]*Kustomization, len(dirs))
	forEach(len(dirs), func(i int) {
		// An unparsable overlay is still a candidate (see conventional).
		parsed[i], _ = ReadKustomization(r.tree, dirs[i])
	})
	components := map[string]bool{}
	for i, dir := range dirs {
		k := parsed[i]
		if k == nil {
			continue
		}
		components[dir] = k.Kind == "Component"
		for _, d := range k.Dirs {
			r.mark(d)
		}
		for _, c := range k.HelmCharts {
			r.mark(c)
		}
	}
	return components
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
