package environment

import (
	"path"
	"strings"

	"github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// KustomizationFile returns the kustomization file in dir, or "" when dir
// has none.
func KustomizationFile(tree *repofs.Tree, dir string) string {
	if found := kustomization.Find(tree, dir); len(found) > 0 {
		return found[0]
	}
	return ""
}

// Kustomization is what a kustomization file says about the other files a
// build reads, read from the kustomization graph (package kustomization)
// the render checks too, so the two cannot disagree about what refers to
// what. It is behind both dependency tracking and zero-config leaf
// detection.
type Kustomization struct {
	// File is the kustomization file read.
	File string
	// Dir is the directory references resolve from (symlinks followed, as
	// kustomize does).
	Dir string
	// Kind is "Kustomization" or "Component" ("" when the file omits it).
	Kind string
	// Dirs are the entries of resources, bases, components, generators,
	// transformers and validators that are directories in the tree, or
	// that do not exist (so they could become either).
	Dirs []string
	// Files are the local files the build reads: file resources, patches,
	// generator sources, crds, configurations, openapi, replacements, Helm
	// values files.
	Files []string
	// ChartHome is where helmCharts are looked up; set only with HelmCharts.
	ChartHome string
	// HelmCharts are the chart directories helmCharts entries name.
	HelmCharts []string
}

// ReadKustomization reads the kustomization in dir. It returns an error
// wrapping fs.ErrNotExist when dir has none, and a *manifest.ParseError
// naming the file and line when it cannot be parsed. A file kustomize
// refuses for an unknown field still has its references read. Remote
// references (URLs, git specs) and references leaving the repository are
// left out: nothing here reads them, and the render reports them.
func ReadKustomization(tree *repofs.Tree, dir string) (*Kustomization, error) {
	// Shared bases are read once per tree, not once per overlay.
	v, err := tree.Memo("environment.kustomization\x00"+dir, func() (any, error) { return readKustomization(tree, dir) })
	if err != nil {
		return nil, err
	}
	return v.(*Kustomization), nil
}

func readKustomization(tree *repofs.Tree, dir string) (*Kustomization, error) {
	f, err := kustomization.Load(tree, dir)
	if err != nil {
		return nil, err
	}
	b := &kustomizationBuilder{tree: tree, k: &Kustomization{File: f.Path, Dir: f.Dir, Kind: f.Kind}, seen: map[string]bool{}}
	for _, r := range f.Refs {
		b.add(r)
	}
	return b.k, nil
}

// kustomizationBuilder sorts a kustomization's references into local
// directories, files and charts.
type kustomizationBuilder struct {
	tree      *repofs.Tree
	k         *Kustomization
	seen      map[string]bool // "d:" or "f:" and a path
	homeKnown bool
}

func (b *kustomizationBuilder) add(r kustomization.Ref) {
	switch r.Kind {
	case kustomization.Resource, kustomization.Component, kustomization.Plugin:
		// A directory (built as a kustomization), a file, or, for
		// generators and the like, inline YAML.
		p, ok := localRef(b.tree, b.k.Dir, r.Value)
		switch {
		case !ok:
		case b.tree.IsDir(p) || !b.tree.Exists(p):
			b.addDir(p)
		default:
			b.addFile(p)
		}
	case kustomization.Chart:
		b.chart(r)
	default:
		if p, ok := localRef(b.tree, b.k.Dir, r.Path); ok {
			b.addFile(p)
		}
	}
}

func (b *kustomizationBuilder) chart(r kustomization.Ref) {
	switch r.Field {
	case kustomization.HelmCharts:
		if !b.homeKnown {
			b.homeKnown = true
			if p, ok := localRef(b.tree, b.k.Dir, r.Home); ok {
				b.k.ChartHome = p
			}
		}
		if b.k.ChartHome != "" && r.Value != "" && !strings.Contains(r.Value, "/") {
			b.k.HelmCharts = append(b.k.HelmCharts, path.Join(b.k.ChartHome, r.Value))
		}
	case kustomization.HelmChartInflationGenerator:
		// The generator kustomize deprecated in favour of helmCharts: its
		// chart home is a local directory too.
		if r.Home == "" || r.Value == "" {
			return
		}
		if p, ok := localRef(b.tree, b.k.Dir, r.Home); ok {
			b.addDir(p)
			b.k.HelmCharts = append(b.k.HelmCharts, path.Join(p, r.Value))
		}
	}
}

func (b *kustomizationBuilder) addDir(p string) {
	if !b.seen["d:"+p] {
		b.seen["d:"+p] = true
		b.k.Dirs = append(b.k.Dirs, p)
	}
}

func (b *kustomizationBuilder) addFile(p string) {
	if !b.seen["f:"+p] {
		b.seen["f:"+p] = true
		b.k.Files = append(b.k.Files, p)
	}
}

// localRef resolves a reference written in a kustomization to a path in the
// tree. Inline content, remote references and paths leaving the repository
// are not local.
func localRef(tree *repofs.Tree, dir, ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.ContainsAny(ref, "\n{") {
		return "", false
	}
	// URLs and git specs are remote. Anything else that does not exist yet
	// stays: were it added later, the build would change.
	if kustomization.IsURL(ref) || strings.HasPrefix(ref, "git@") {
		return "", false
	}
	p, err := repofs.Join(dir, ref)
	if err != nil {
		return "", false
	}
	return p, true
}
