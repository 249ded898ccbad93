// Package kustomization is ferry's static view of the kustomization graph
// of a repository tree: for each kustomization, every file, directory and
// chart it names (its references), with the line that names it, read
// without building anything.
//
// A kustomization is decoded once per tree, by kustomize's own decoder
// (case-insensitive keys, anchors, YAML 1.1 scalars), so the references
// are the ones `kustomize build` follows. The render's check before a
// build (remote references, paths leaving the repository, files that are
// missing or not YAML) and the dependency analysis that decides which
// environments a change touches both walk this one graph.
package kustomization

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// names are the file names kustomize reads as a kustomization.
var names = konfig.RecognizedKustomizationFileNames()

// Names returns the file names kustomize reads as a kustomization, in the
// order it looks for them.
func Names() []string { return slices.Clone(names) }

// IsName reports whether a file name is one kustomize reads as a
// kustomization.
func IsName(name string) bool { return slices.Contains(names, name) }

// Find returns the kustomization files in dir, in kustomize's order: none
// when dir has no kustomization, more than one when kustomize would refuse
// to choose.
func Find(tree *repofs.Tree, dir string) []string {
	var found []string
	for _, name := range names {
		p := path.Join(dir, name)
		if tree.Exists(p) && !tree.IsDir(p) {
			found = append(found, p)
		}
	}
	return found
}

// File is one kustomization as kustomize reads it. It is shared by every
// user of a tree: read it, never change it.
type File struct {
	// Path is the kustomization file (the first of Find's when there are several).
	Path string
	// Dir is the directory its references resolve from: where the file
	// really is, symlinks followed, as kustomize does.
	Dir string
	// Kind is "Kustomization" or "Component", "" when the file leaves it out.
	Kind string
	// Refs are the references, in the order kustomize's fields list them
	// (see Field); Line says where each is written.
	Refs []Ref
	// Invalid is why kustomize refuses the file although its references
	// could be read (an unknown field): a build fails with this error, a
	// *manifest.ParseError. Nil when kustomize accepts the file.
	Invalid error

	k    types.Kustomization
	data []byte

	// Lines take a second parse (yaml.v3's node tree), made when first
	// asked for: the dependency analysis never needs them.
	linesOnce sync.Once
	node      *yaml.Node
	lines     map[string]int
}

// Kustomization returns the file decoded by kustomize, with its
// FixKustomization applied (bases merged into resources and the like), as
// a build sees it. The slices and maps are shared: change a copy of a field
// rather than the field.
func (f *File) Kustomization() types.Kustomization { return f.k }

// Line returns the line that names r: that of the first scalar in the
// file equal to its Value (for an alias, its anchor's); 0 when none is.
func (f *File) Line(r Ref) int {
	f.parseLines()
	return f.lines[r.Value]
}

// KeyLine returns the line of the first mapping key equal to key, compared
// case-insensitively as kustomize's decoder does; 0 if there is none.
func (f *File) KeyLine(key string) int {
	f.parseLines()
	return keyLine(f.node, key)
}

func (f *File) parseLines() {
	f.linesOnce.Do(func() {
		var node yaml.Node
		if yaml.Unmarshal(f.data, &node) == nil {
			f.node = &node
		}
		f.lines = scalarLines(f.node)
	})
}

// Load returns the kustomization in dir (symlinks followed), decoded once
// per tree. It returns an error wrapping fs.ErrNotExist when dir has none,
// and a *manifest.ParseError naming the file and line when kustomize cannot
// decode it.
func Load(tree *repofs.Tree, dir string) (*File, error) {
	real, err := tree.Resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("kustomization in %s: %w", dir, err)
	}
	v, err := tree.Memo("kustomization.File\x00"+real, func() (any, error) { return load(tree, real) })
	if err != nil {
		return nil, err
	}
	return v.(*File), nil
}

func load(tree *repofs.Tree, dir string) (*File, error) {
	found := Find(tree, dir)
	if len(found) == 0 {
		return nil, fmt.Errorf("kustomization in %s: %w", dir, fs.ErrNotExist)
	}
	data, err := tree.ReadFile(found[0])
	if err != nil {
		return nil, fmt.Errorf("read kustomization: %w", err)
	}
	return parse(found[0], dir, data)
}

// parse decodes a kustomization with kustomize's decoder, and once more
// leniently when that refuses it, so that a file kustomize rejects for an
// unknown field still has its references known.
func parse(file, dir string, data []byte) (*File, error) {
	f := &File{Path: file, Dir: dir, data: data}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		located := f.decodeError(err)
		k = types.Kustomization{}
		if sigsyaml.Unmarshal(data, &k) != nil {
			return nil, located
		}
		f.Invalid = located
	}
	f.Kind = k.Kind
	f.Refs = refs(&k)
	k.FixKustomization()
	f.k = k
	return f, nil
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// decodeError locates kustomize's decoding error: at the line its message
// names, or the key of an unknown field, or else where yaml.v3 fails.
func (f *File) decodeError(err error) error {
	line := manifest.YAMLErrorLine(nil, err)
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		line = f.KeyLine(m[1])
	}
	if line == 0 {
		var node yaml.Node
		if nodeErr := yaml.Unmarshal(f.data, &node); nodeErr != nil {
			line = manifest.YAMLErrorLine(nil, nodeErr)
		}
	}
	return &manifest.ParseError{File: f.Path, Line: line, Err: err}
}

// scalarLines maps each scalar value in a node tree to the line of its
// first occurrence, in document order (anchored values where they are
// written, which is where an alias to them points).
func scalarLines(n *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			if _, ok := lines[n.Value]; !ok {
				lines[n.Value] = n.Line
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return lines
}

// keyLine finds the line of a mapping key, compared case-insensitively.
func keyLine(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, key) {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := keyLine(c, key); l > 0 {
			return l
		}
	}
	return 0
}
