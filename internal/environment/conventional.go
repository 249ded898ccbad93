package environment

import (
	"path"
	"sort"
	"strings"

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
	charts := map[string]bool{}
	kustomizations := map[string]bool{}
	for _, f := range tree.Files() {
		dir, base := path.Split(f)
		dir = path.Clean(dir)
		switch {
		case base == "Chart.yaml":
			charts[dir] = true
		case isKustomizationName(base):
			kustomizations[dir] = true
		}
	}
	referenced := map[string]bool{}
	mark := func(p string) {
		if real, err := tree.Resolve(p); err == nil {
			p = real
		}
		referenced[p] = true
	}
	// inChart reports whether dir is a chart or inside one.
	inChart := func(dir string) bool {
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

	chartDirs := sortedKeys(charts)
	chartInfo := make([]*chart, len(chartDirs))
	forEach(len(chartDirs), func(i int) {
		// An unreadable chart is still a candidate; its render reports why.
		chartInfo[i], _ = readChart(tree, chartDirs[i])
	})
	libraries := map[string]bool{}
	for i, dir := range chartDirs {
		// Under another chart's charts/ directory: a subchart.
		for a := path.Dir(dir); ; a = path.Dir(a) {
			prefix := a + "/charts/"
			if a == "." {
				prefix = "charts/"
			}
			if charts[a] && strings.HasPrefix(dir+"/", prefix) {
				referenced[dir] = true
				break
			}
			if a == "." {
				break
			}
		}
		if c := chartInfo[i]; c != nil {
			libraries[dir] = c.Library
			for _, dep := range c.FileDeps {
				mark(dep)
			}
		}
	}

	var kustDirs []string
	for _, dir := range sortedKeys(kustomizations) {
		if !inChart(dir) {
			kustDirs = append(kustDirs, dir)
		}
	}
	parsed := make([]*Kustomization, len(kustDirs))
	forEach(len(kustDirs), func(i int) {
		// An unparsable overlay is still a candidate (see above).
		parsed[i], _ = ReadKustomization(tree, kustDirs[i])
	})
	components := map[string]bool{}
	for i, dir := range kustDirs {
		k := parsed[i]
		if k == nil {
			continue
		}
		components[dir] = k.Kind == "Component"
		for _, d := range k.Dirs {
			mark(d)
		}
		for _, c := range k.HelmCharts {
			mark(c)
		}
	}

	var envs []Environment
	for _, dir := range chartDirs {
		if !referenced[dir] && !libraries[dir] {
			envs = append(envs, Environment{Name: dir, Origin: FromDiscovery, Path: dir, Type: Helm})
		}
	}
	for _, dir := range kustDirs {
		// A directory that is also a chart is Helm's, as Argo CD decides.
		if !referenced[dir] && !components[dir] {
			envs = append(envs, Environment{Name: dir, Origin: FromDiscovery, Path: dir, Type: Kustomize})
		}
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i].Name < envs[j].Name })
	return envs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
