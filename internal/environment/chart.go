package environment

import (
	"strings"

	"github.com/ferry-gitops/ferry/internal/chartfile"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// chart is what ferry needs from a Helm chart's metadata without loading it.
type chart struct {
	Library bool
	// FileDeps are the chart directories that file:// dependencies name.
	FileDeps []string
}

// readChart reads the chart in dir (package chartfile). It returns an
// error wrapping fs.ErrNotExist when dir holds no chart.
func readChart(tree *repofs.Tree, dir string) (*chart, error) {
	meta, err := chartfile.Read(tree, dir)
	if err != nil {
		return nil, err
	}
	c := &chart{Library: meta.Library}
	for _, d := range meta.Dependencies {
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
