package environment

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Deps is a conservative superset of the files an environment's render
// reads, worked out without rendering, to tell cheaply which environments a
// change touches.
type Deps struct {
	// Files are exact paths, including ones that do not exist yet but would
	// be read if they did.
	Files []string `json:"files,omitempty"`
	// Dirs count every path under them (and the path itself).
	Dirs []string `json:"dirs,omitempty"`
}

// Dependencies computes an environment's dependencies in tree:
//
//   - always the file defining it (Application manifest or .ferry.yaml);
//   - Kustomize: every kustomization file in the graph (all of the names
//     kustomize accepts, since adding a second one changes the build) and
//     every local file it names; a referenced directory without a
//     kustomization counts whole;
//   - Helm: the chart directory, its file:// dependencies (recursively) and
//     the valueFiles;
//   - Directory: the whole directory;
//   - External: only the defining file.
//
// Remote and missing references are no error here (the render reports
// them); missing local paths are kept, since adding them changes the render.
// An unparsable kustomization or Chart.yaml anywhere in the graph is an
// error (a *manifest.ParseError with file and line, wrapped): the caller
// should treat the environment as touched and let the render report it.
//
// Compute dependencies on both sides of a change (base and head): a file a
// pull request adds to the graph is only named in the head.
func Dependencies(tree *repofs.Tree, env Environment) (Deps, error) {
	b := newDepsBuilder(tree)
	if env.File != "" {
		b.file(env.File)
	}
	if env.External {
		return b.deps(), nil
	}
	var err error
	switch env.Type {
	case Kustomize:
		err = b.kustomization(env.Path)
	case Helm:
		err = b.chart(env.Path)
		if env.Helm != nil {
			for _, vf := range env.Helm.ValueFiles {
				b.valueFile(env.Path, vf)
			}
		}
	default:
		b.dir(env.Path)
	}
	if err != nil {
		return Deps{}, fmt.Errorf("dependencies of %s: %w", env.Name, err)
	}
	return b.deps(), nil
}

// Touches reports whether any of the changed paths is a dependency.
func (d Deps) Touches(changed []string) bool {
	files := make(map[string]bool, len(d.Files))
	for _, f := range d.Files {
		files[f] = true
	}
	for _, c := range changed {
		if files[c] {
			return true
		}
		for _, dir := range d.Dirs {
			if dir == "." || c == dir || strings.HasPrefix(c, dir+"/") {
				return true
			}
		}
	}
	return false
}

type depsBuilder struct {
	tree    *repofs.Tree
	files   map[string]bool
	dirs    map[string]bool
	visited map[string]bool
}

func newDepsBuilder(tree *repofs.Tree) *depsBuilder {
	return &depsBuilder{tree: tree, files: map[string]bool{}, dirs: map[string]bool{}, visited: map[string]bool{}}
}

func (b *depsBuilder) file(p string) {
	b.files[p] = true
	if real := b.links(p); real != "" {
		b.files[real] = true
	}
}

func (b *depsBuilder) dir(p string) {
	b.dirs[p] = true
	if real := b.links(p); real != "" {
		b.dirs[real] = true
	}
}

// links handles a path reached through symlinks: it adds each element of
// the path as written, so re-pointing a link counts as a change, and returns
// the real path ("" when p has no symlink in it or does not resolve).
func (b *depsBuilder) links(p string) string {
	real, err := b.tree.Resolve(p)
	if err != nil || real == p {
		return ""
	}
	for a := p; a != "." && a != "/"; a = path.Dir(a) {
		b.files[a] = true
	}
	return real
}

func (b *depsBuilder) kustomization(dir string) error {
	real, err := b.tree.Resolve(dir)
	if err != nil {
		// Missing (or leaving the repository): the render fails; anything
		// appearing there would change that.
		b.dir(dir)
		return nil
	}
	b.links(dir)
	if b.visited[real] {
		return nil
	}
	b.visited[real] = true
	for _, name := range kustomizationNames() {
		b.file(path.Join(real, name))
	}
	k, err := ReadKustomization(b.tree, real)
	if errors.Is(err, fs.ErrNotExist) {
		b.dir(real)
		return nil
	}
	if err != nil {
		return err
	}
	for _, f := range k.Files {
		b.file(f)
	}
	for _, d := range k.Dirs {
		if b.tree.IsDir(d) && KustomizationFile(b.tree, d) != "" {
			if err := b.kustomization(d); err != nil {
				return err
			}
			continue
		}
		b.dir(d)
	}
	if len(k.HelmCharts) > 0 {
		b.dir(k.ChartHome)
	}
	return nil
}

func (b *depsBuilder) chart(dir string) error {
	b.dir(dir)
	real, err := b.tree.Resolve(dir)
	if err != nil || b.visited[real] {
		return nil
	}
	b.visited[real] = true
	c, err := readChart(b.tree, real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, dep := range c.FileDeps {
		if err := b.chart(dep); err != nil {
			return err
		}
	}
	return nil
}

// valueFile adds a Helm value file, which Argo CD resolves from the source
// path, or from the repository root when it starts with "/". Remote files
// and $ref paths of multi-source Applications are not in this tree.
func (b *depsBuilder) valueFile(chartDir, vf string) {
	if strings.Contains(vf, "://") || strings.HasPrefix(vf, "$") {
		return
	}
	var p string
	var err error
	if strings.HasPrefix(vf, "/") {
		p, err = repofs.Clean(vf)
	} else {
		p, err = repofs.Join(chartDir, vf)
	}
	if err == nil {
		b.file(p)
	}
}

// deps returns the sorted result, without entries another entry covers.
func (b *depsBuilder) deps() Deps {
	var d Deps
	dirs := make([]string, 0, len(b.dirs))
	for p := range b.dirs {
		dirs = append(dirs, p)
	}
	sort.Strings(dirs)
	covered := func(p string) bool {
		for _, dir := range d.Dirs {
			if dir == "." || p == dir || strings.HasPrefix(p, dir+"/") {
				return true
			}
		}
		return false
	}
	for _, p := range dirs {
		// Sorted, so a covering directory comes before what it covers.
		if !covered(p) {
			d.Dirs = append(d.Dirs, p)
		}
	}
	for p := range b.files {
		if !covered(p) {
			d.Files = append(d.Files, p)
		}
	}
	sort.Strings(d.Files)
	return d
}
