// Package chartfile reads what ferry needs from a Helm chart's metadata
// without loading the chart: its type and its dependencies, with the line
// that declares each, from Chart.yaml (and an apiVersion v1 chart's
// requirements.yaml). A chart's metadata is read once per tree.
package chartfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	yaml "go.yaml.in/yaml/v3"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Chart is a chart's metadata.
type Chart struct {
	// File is the chart's Chart.yaml.
	File string
	// Library is set for a library chart (type: library), which renders
	// nothing itself.
	Library bool
	// Dependencies are Chart.yaml's, then requirements.yaml's.
	Dependencies []Dependency
}

// Dependency is one entry of a chart's dependencies.
type Dependency struct {
	Name       string
	Repository string
	// File declares it: Chart.yaml or requirements.yaml.
	File string
	// Line is where its name is written; 0 when it has none.
	Line int
}

// Read returns the metadata of the chart in dir, read once per tree. It
// returns an error wrapping fs.ErrNotExist when dir holds no chart, and a
// *manifest.ParseError naming the file and line when a file cannot be
// decoded.
func Read(tree *repofs.Tree, dir string) (*Chart, error) {
	v, err := tree.Memo("chartfile.Chart\x00"+dir, func() (any, error) { return read(tree, dir) })
	if err != nil {
		return nil, err
	}
	return v.(*Chart), nil
}

type chartDoc struct {
	Type         string `yaml:"type"`
	Dependencies []struct {
		Name       yaml.Node `yaml:"name"`
		Repository string    `yaml:"repository"`
	} `yaml:"dependencies"`
}

func read(tree *repofs.Tree, dir string) (*Chart, error) {
	c := &Chart{File: path.Join(dir, "Chart.yaml")}
	data, err := tree.ReadFile(c.File)
	if err != nil {
		return nil, fmt.Errorf("read chart: %w", err)
	}
	doc, err := decode(c.File, data)
	if err != nil {
		return nil, err
	}
	c.Library = doc.Type == "library"
	c.add(c.File, doc)
	req := path.Join(dir, "requirements.yaml")
	data, err = tree.ReadFile(req)
	switch {
	case err == nil:
		reqDoc, err := decode(req, data)
		if err != nil {
			return nil, err
		}
		c.add(req, reqDoc)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read chart requirements: %w", err)
	}
	return c, nil
}

func (c *Chart) add(file string, doc *chartDoc) {
	for _, d := range doc.Dependencies {
		dep := Dependency{Repository: d.Repository, File: file}
		name := &d.Name
		if name.Kind == yaml.AliasNode && name.Alias != nil {
			name = name.Alias // written where its anchor is
		}
		if name.Kind == yaml.ScalarNode {
			dep.Name, dep.Line = name.Value, name.Line
		}
		c.Dependencies = append(c.Dependencies, dep)
	}
}

// decode decodes the first YAML document of data.
func decode(file string, data []byte) (*chartDoc, error) {
	doc := &chartDoc{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, nil
		}
		return nil, manifest.YAMLError(file, data, err)
	}
	if err := n.Decode(doc); err != nil {
		return nil, manifest.YAMLError(file, data, err)
	}
	return doc, nil
}
