package render

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/ferry-gitops/ferry/internal/fetch"
)

// errNoRemote is the refusal when the render has no Remote: nothing may
// be fetched (the CLI without --config, or a server with no repositories).
var errNoRemote = errors.New("fetching is off: ferry fetches charts only from the repositories of the server configuration (`repositories:` in the file given to --config)")

// remoteChart fetches the environment's chart from its Helm repository or
// OCI registry. Every object it renders is attributed to the Application.
func (j *job) remoteChart() (*chart.Chart, *chartNode, error) {
	c := j.env.Chart
	ch, err := j.fetchChart(fetch.ChartRef{RepoURL: c.RepoURL, Chart: c.Name, Version: c.Version})
	if err != nil {
		return nil, nil, &Error{File: j.env.File, Err: err}
	}
	return ch, &chartNode{archive: j.env.File}, nil
}

// remoteDependency fetches a dependency of a chart in the repository at
// the version Chart.lock pins, or the newest its constraint allows.
func (j *job) remoteDependency(c *chart.Chart, chartYAML string, line int, dep *chart.Dependency) (*chart.Chart, error) {
	repo := dep.Repository
	if strings.HasPrefix(repo, "@") || strings.HasPrefix(repo, "alias:") {
		return nil, errorf(chartYAML, line, "dependency %q names the repository %s by a `helm repo add` alias; name it by URL", dep.Name, repo)
	}
	version := dep.Version
	if c.Lock != nil {
		for _, l := range c.Lock.Dependencies {
			if l != nil && l.Name == dep.Name && l.Repository == repo {
				version = l.Version
			}
		}
	}
	sc, err := j.fetchChart(fetch.ChartRef{RepoURL: repo, Chart: dep.Name, Version: version})
	if err != nil {
		return nil, &Error{File: chartYAML, Line: line, Err: fmt.Errorf("dependency %q: %w", dep.Name, err)}
	}
	return sc, nil
}

// fetchChart fetches and loads a chart archive, charging it to the
// render's read budget.
func (j *job) fetchChart(ref fetch.ChartRef) (*chart.Chart, error) {
	what := fmt.Sprintf("chart %s %s from %s", ref.Chart, ref.Version, ref.RepoURL)
	if j.opts.Remote == nil {
		return nil, fmt.Errorf("%s: %w", what, errNoRemote)
	}
	got, err := j.opts.Remote.Chart(j.ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := j.r.charge(what, int64(len(got.Archive))); err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(got.Archive))
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", what, got.Version, err)
	}
	if ch.Name() != ref.Chart {
		return nil, fmt.Errorf("%s: the archive holds chart %q", what, ch.Name())
	}
	return ch, nil
}

// chartValueFile reads a value file of a fetched chart, as Argo CD reads a
// relative valueFiles entry of a chart from a Helm repository.
func chartValueFile(ch *chart.Chart, appFile, vf string) ([]byte, string, error) {
	name := path.Clean(strings.TrimPrefix(vf, "/"))
	for _, f := range ch.Raw {
		if f.Name == name {
			return f.Data, appFile, nil
		}
	}
	return nil, "", &Error{File: appFile, Err: fmt.Errorf("value file %q is not in chart %s %s", vf, ch.Name(), ch.Metadata.Version)}
}
