package environment

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// chart is what ferry needs from a Helm chart's metadata without loading it.
type chart struct {
	Library bool
	// FileDeps are the chart directories that file:// dependencies name.
	FileDeps []string
}

type chartDoc struct {
	Type         string `yaml:"type"`
	Dependencies []struct {
		Repository string `yaml:"repository"`
	} `yaml:"dependencies"`
}

// readChart reads dir/Chart.yaml and, for apiVersion v1 charts,
// dir/requirements.yaml. It returns an error wrapping fs.ErrNotExist when
// dir holds no chart.
func readChart(tree *repofs.Tree, dir string) (*chart, error) {
	file := path.Join(dir, "Chart.yaml")
	data, err := tree.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read chart: %w", err)
	}
	var doc chartDoc
	if err := decodeFirst(data, file, &doc, nil); err != nil {
		return nil, err
	}
	deps := doc.Dependencies
	req := path.Join(dir, "requirements.yaml")
	if data, err := tree.ReadFile(req); err == nil {
		var reqDoc chartDoc
		if err := decodeFirst(data, req, &reqDoc, nil); err != nil {
			return nil, err
		}
		deps = append(deps, reqDoc.Dependencies...)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read chart requirements: %w", err)
	}
	c := &chart{Library: doc.Type == "library"}
	for _, d := range deps {
		rel, ok := strings.CutPrefix(d.Repository, "file://")
		if !ok {
			continue
		}
		// Absolute or escaping paths point outside the repository: Helm will
		// fail the render, and there is nothing here to depend on.
		if p, err := repofs.Join(dir, rel); err == nil {
			c.FileDeps = append(c.FileDeps, p)
		}
	}
	return c, nil
}
