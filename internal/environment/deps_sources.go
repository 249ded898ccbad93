package environment

import (
	"path"
	"slices"
	"strings"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// sourcesDependencies are the union of the dependencies of each rendered
// source of a multi-source Application.
func sourcesDependencies(tree *repofs.Tree, env Environment) (Deps, error) {
	var out Deps
	for _, v := range env.Views() {
		d, err := Dependencies(tree, v)
		if err != nil {
			return Deps{}, err
		}
		out.Files = append(out.Files, d.Files...)
		out.Dirs = append(out.Dirs, d.Dirs...)
	}
	slices.Sort(out.Files)
	slices.Sort(out.Dirs)
	out.Files, out.Dirs = slices.Compact(out.Files), slices.Compact(out.Dirs)
	return out, nil
}

// argoFields adds what the source's Argo CD settings name besides the
// source itself: kustomize components and patch files (relative to the
// kustomization's directory) and Helm fileParameters.
func (b *depsBuilder) argoFields(env Environment) error {
	if k := env.Kustomize; k != nil && env.Type == Kustomize {
		real, err := b.follow(env.Path)
		if err != nil {
			return nil // the source itself is missing: the render fails
		}
		for _, p := range k.Patches {
			if p.Path != "" {
				b.reachJoined(real, p.Path, false)
			}
		}
		for _, c := range k.Components {
			if err := b.component(real, c); err != nil {
				return err
			}
		}
	}
	if h := env.Helm; h != nil && env.Type == Helm {
		for _, fp := range h.FileParameters {
			b.valueFile(env, fp.Path)
		}
	}
	return nil
}

// component adds one kustomize component: a kustomization directory, or
// with glob characters everything under the part of the path before them.
func (b *depsBuilder) component(dir, c string) error {
	if i := strings.IndexAny(c, "*?[\\"); i >= 0 {
		b.reachJoined(dir, path.Dir(c[:i]+"x"), true)
		return nil
	}
	p := path.Join(dir, c)
	if strings.HasPrefix(p, "../") || p == ".." {
		return nil // outside the repository: the render fails
	}
	return b.kustomization(p)
}

// reachJoined adds rel joined to dir, when inside the repository.
func (b *depsBuilder) reachJoined(dir, rel string, asDir bool) {
	p := path.Join(dir, rel)
	if strings.HasPrefix(p, "../") || p == ".." || path.IsAbs(rel) {
		return
	}
	if asDir {
		b.dir(p)
		return
	}
	b.file(p)
}
