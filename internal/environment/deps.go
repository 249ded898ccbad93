package environment

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ferry-gitops/ferry/internal/kustomization"
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
//     the valueFiles ("$ref/…" ones from the repository root); a chart from
//     a Helm repository only those "$ref/…" value files (its version, name
//     and repository are in the defining file);
//   - Directory: the whole directory, and what its Jsonnet imports;
//   - External: only the defining file.
//
// Symlinks inside the repository are followed wherever they appear: a path
// reached through links depends on every link of the chain and on where it
// leads, and a directory depends on the targets of all the links under it
// (recursively, so a chart's templates/ may link to a shared directory that
// links on). A symlink that cannot be followed (a loop) is an error.
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
	if len(env.Sources) > 0 {
		return sourcesDependencies(tree, env)
	}
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
		if env.Chart == nil {
			err = b.chart(env.Path)
		}
		if env.Helm != nil {
			for _, vf := range env.Helm.ValueFiles {
				b.valueFile(env, vf)
			}
		}
	default:
		b.dir(env.Path)
		b.jsonnetDependencies(env) // directory_deps.go
	}
	if err == nil {
		err = b.argoFields(env)
	}
	if err == nil {
		err = b.err
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
	visited map[string]bool // real kustomization directories
	charts  map[string]bool // chart directories as named
	// walked are the real directories whose symlinks have been followed.
	walked map[string]bool
	// err is the first symlink that cannot be followed (a loop).
	err error
}

func newDepsBuilder(tree *repofs.Tree) *depsBuilder {
	return &depsBuilder{tree: tree, files: map[string]bool{}, dirs: map[string]bool{}, visited: map[string]bool{}, charts: map[string]bool{}, walked: map[string]bool{}}
}

// file adds a file the render reads, and what it is through symlinks.
func (b *depsBuilder) file(p string) {
	b.files[p] = true
	b.reach(p, false)
}

// dir adds a directory the render may read anything under, and what it and
// every symlink under it lead to.
func (b *depsBuilder) dir(p string) {
	b.dirs[p] = true
	b.reach(p, true)
}

// reach follows p's symlinks: every link on the way is a dependency (a
// retargeted link changes what p is), and so is where p leads: for a file,
// that path; for a directory, everything under it. A missing target is
// kept, since adding it changes the render. (A file reference that turns
// out to be a directory fails the render without reading under it.)
func (b *depsBuilder) reach(p string, asDir bool) {
	real, err := b.follow(p)
	switch {
	case real == "":
	case err == nil && asDir && b.tree.IsDir(real):
		b.walk(real)
	case asDir && err != nil:
		// Missing: where it would be. (A link added on its way shows in
		// the dependencies computed on the other side of the change.)
		b.dirs[real] = true
	default:
		b.files[real] = true
	}
}

// follow resolves p, adding every symlink followed on the way. It returns
// the real path, or with an error wrapping fs.ErrNotExist the path p would
// have; "" when p leads nowhere in the tree. A link that cannot be followed
// for another reason (a loop) fails the analysis.
func (b *depsBuilder) follow(p string) (string, error) {
	real, links, err := b.tree.ResolveLinks(p)
	for _, l := range links {
		b.files[l] = true
	}
	switch {
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return real, err
	case errors.Is(err, repofs.ErrOutsideRoot):
		// The render fails; only the links on the way can change that.
		return "", err
	default:
		if b.err == nil {
			b.err = fmt.Errorf("follow %s: %w", p, err)
		}
		return "", err
	}
}

// walk adds the real directory dir and follows every symlink anywhere
// under it, so a link in a chart's templates/ or in a plain directory makes
// its target a dependency too. Directories already walked (or under one)
// are skipped, which also ends links that loop back to an ancestor.
func (b *depsBuilder) walk(dir string) {
	for a := dir; ; a = path.Dir(a) {
		if b.walked[a] {
			return
		}
		if a == "." || a == "/" {
			break
		}
	}
	b.walked[dir] = true
	b.dirs[dir] = true
	for _, l := range symlinksUnder(b.tree, dir) {
		// A dangling link may become a directory: depend on all of it.
		b.reach(l, true)
	}
}

func (b *depsBuilder) kustomization(dir string) error {
	real, err := b.follow(dir)
	if err != nil || !b.tree.IsDir(real) {
		// Missing (or leaving the repository): the render fails; anything
		// appearing there would change that.
		b.dir(dir)
		return nil
	}
	if b.visited[real] {
		return nil
	}
	b.visited[real] = true
	for _, name := range kustomization.Names() {
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

// chart adds a chart directory and, recursively, its file:// dependencies.
// Helm joins those to the chart's path as named, lexically (charts/app's
// file://../lib is charts/lib even when charts/app links elsewhere), so
// charts are keyed by that path, not where it leads; a chain of names
// through links ends at the tree's limit on symlink hops (an error).
func (b *depsBuilder) chart(dir string) error {
	b.dir(dir)
	if b.charts[dir] {
		return nil
	}
	b.charts[dir] = true
	c, err := readChart(b.tree, dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, repofs.ErrOutsideRoot) {
		// No chart (yet): the render fails, and b.dir depends on what
		// could change that.
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
// path, or from the repository root when it starts with "/"; a "$ref/…"
// file of a multi-source Application from the repository root. Remote
// files and the files of a fetched chart are not in this tree.
func (b *depsBuilder) valueFile(env Environment, vf string) {
	if p, ok, err := env.Helm.RefFile(vf); ok {
		if err == nil {
			b.file(p)
		}
		return
	}
	chartDir := env.Path
	if strings.Contains(vf, "://") || env.Chart != nil {
		return // remote, or a file of the fetched chart
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

// symlinksUnder returns the symlinks anywhere under the real directory dir,
// sorted. The tree's symlinks are listed once per tree.
func symlinksUnder(tree *repofs.Tree, dir string) []string {
	v, _ := tree.Memo("environment.symlinks", func() (any, error) {
		var links []string
		for _, f := range tree.Files() {
			// Every entry's parent is a real directory, so an entry that
			// does not resolve to itself is a symlink.
			if real, err := tree.Resolve(f); err != nil || real != f {
				links = append(links, f)
			}
		}
		return links, nil
	})
	links := v.([]string)
	if dir == "." {
		return links
	}
	prefix := dir + "/"
	i := sort.SearchStrings(links, prefix)
	j := i
	for j < len(links) && strings.HasPrefix(links[j], prefix) {
		j++
	}
	return links[i:j]
}
