package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/ferry-gitops/ferry/internal/chartfile"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// helm renders a chart like `helm template` with Argo CD's arguments:
// --include-crds, --kube-version, the release name and namespace, value
// files, values and parameters. A chart in the repository takes its
// dependencies from charts/, file:// paths inside the repository, or the
// allowed repositories; a chart from a Helm repository or OCI registry is
// fetched from the allowed ones (see helm_remote.go).
func (j *job) helm() ([]manifest.Object, error) {
	ch, node, dir, err := j.chartSource()
	if err != nil {
		return nil, err
	}
	vals, err := j.helmValues(dir, ch)
	if err != nil {
		return nil, err
	}
	return j.template(ch, node, dir, vals)
}

// chartSource loads the environment's chart with its dependencies; dir is
// its directory in the repository ("" for a fetched chart).
func (j *job) chartSource() (*chart.Chart, *chartNode, string, error) {
	if j.env.Chart != nil {
		ch, node, err := j.remoteChart()
		return ch, node, "", err
	}
	dir, err := j.sourceDir()
	if err != nil {
		return nil, nil, "", err
	}
	ch, node, err := j.loadChart(dir, 0)
	if err != nil {
		return nil, nil, "", err
	}
	if err := j.attachDependencies(ch, node, dir); err != nil {
		return nil, nil, "", err
	}
	return ch, node, dir, nil
}

// template runs Helm's client-only install, as `helm template` does.
func (j *job) template(ch *chart.Chart, node *chartNode, dir string, vals map[string]any) ([]manifest.Object, error) {
	kubeVersion, err := j.helmKubeVersion()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = j.env.File // a fetched chart: its objects come from the Application
	}

	env := j.env
	// Helm's debug messages (chart versions, hooks skipped) say nothing a
	// render's result does not; an engine does not log them.
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	install := action.NewInstall(cfg)
	// The settings of `helm template` (client-only dry run).
	install.DryRun = true
	install.DryRunOption = "true"
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = env.Helm == nil || !env.Helm.SkipCrds // Argo CD's --include-crds unless skipCrds
	install.APIVersions = j.apiVersions()
	install.EnableDNS = false
	install.KubeVersion = kubeVersion
	install.ReleaseName = env.Name
	if env.Helm != nil && env.Helm.ReleaseName != "" {
		install.ReleaseName = env.Helm.ReleaseName
	}
	if err := chartutil.ValidateReleaseName(install.ReleaseName); err != nil {
		return nil, &Error{File: env.File, Err: fmt.Errorf("release name %q: %w", install.ReleaseName, err)}
	}
	install.Namespace = env.Destination.Namespace
	if env.Helm != nil && env.Helm.Namespace != "" {
		install.Namespace = env.Helm.Namespace
	}
	if install.Namespace == "" {
		install.Namespace = "default"
	}

	rel, err := install.RunWithContext(j.ctx, ch, vals)
	if err != nil {
		return nil, node.locate(err)
	}

	var out []manifest.Object
	add := func(source, content string) error {
		objs, err := manifest.Parse([]byte(content), source)
		if err != nil {
			return located(source, 0, err)
		}
		out = append(out, objs...)
		return nil
	}
	if err := j.output.add(len(rel.Manifest)); err != nil {
		return nil, &Error{File: dir, Err: err}
	}
	for _, chunk := range splitHelmManifest(rel.Manifest) {
		if err := add(node.repoPath(chunk.source), chunk.content); err != nil {
			return nil, err
		}
	}
	// `helm template` prints hooks too (tests included), after the manifest.
	for _, h := range rel.Hooks {
		if err := j.output.add(len(h.Manifest)); err != nil {
			return nil, &Error{File: dir, Err: err}
		}
		if err := add(node.repoPath(h.Path), h.Manifest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type helmChunk struct{ source, content string }

var helmSourceRE = regexp.MustCompile(`(?m)^---\n# Source: (.+)\n`)

// splitHelmManifest splits Helm's combined manifest at its "# Source:"
// markers. A chunk may hold several documents (a CRD file), so chunks are
// parsed as streams.
func splitHelmManifest(m string) []helmChunk {
	idx := helmSourceRE.FindAllStringSubmatchIndex(m, -1)
	var out []helmChunk
	for i, loc := range idx {
		end := len(m)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out = append(out, helmChunk{source: m[loc[2]:loc[3]], content: m[loc[1]:end]})
	}
	if len(idx) == 0 && strings.TrimSpace(m) != "" {
		out = append(out, helmChunk{content: m})
	}
	return out
}

// chartNode records where a loaded chart came from in the repository, so
// Helm's template names ("top/charts/sub/templates/x.yaml") map back to files.
type chartNode struct {
	dir      string // the chart's directory, for charts loaded from directories
	archive  string // the .tgz holding the chart (and everything below it)
	aliases  map[string]string
	children map[string]*chartNode
}

func newChartNode(dir string, c *chart.Chart) *chartNode {
	n := &chartNode{dir: dir, aliases: map[string]string{}, children: map[string]*chartNode{}}
	if c != nil && c.Metadata != nil {
		for _, d := range c.Metadata.Dependencies {
			if d != nil && d.Alias != "" {
				n.aliases[d.Alias] = d.Name
			}
		}
	}
	return n
}

func (n *chartNode) child(name string) *chartNode {
	if c, ok := n.children[name]; ok {
		return c
	}
	return n.children[n.aliases[name]]
}

// repoPath maps a Helm template name to the repository file it came from.
func (n *chartNode) repoPath(helmPath string) string {
	if n == nil || helmPath == "" {
		return ""
	}
	parts := strings.Split(helmPath, "/")
	cur, i := n, 1 // parts[0] is the top chart's name
	for cur.archive == "" && i+1 < len(parts) && parts[i] == "charts" {
		next := cur.child(parts[i+1])
		if next == nil {
			break
		}
		cur, i = next, i+2
	}
	if cur.archive != "" {
		return cur.archive
	}
	if i >= len(parts) {
		return cur.dir
	}
	return joinDir(cur.dir, strings.Join(parts[i:], "/"))
}

var helmLocationREs = []*regexp.Regexp{
	regexp.MustCompile(`template: ([^\s:]+):(\d+):\d+:`),
	regexp.MustCompile(`template: ([^\s:]+):(\d+):`),
	regexp.MustCompile(`execution error at \(([^\s:]+):(\d+):\d+\)`),
	regexp.MustCompile(`parse error at \(([^\s:]+):(\d+)\)`),
	regexp.MustCompile(`YAML parse error on ([^\s:]+):()`),
}

// locate maps a Helm render error to the template it names.
func (n *chartNode) locate(err error) error {
	msg := err.Error()
	for _, re := range helmLocationREs {
		m := re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		line := 0
		if m[2] != "" {
			fmt.Sscanf(m[2], "%d", &line)
		}
		return &Error{File: n.repoPath(m[1]), Line: line, Err: reword(err, msg)}
	}
	return &Error{File: joinDir(n.dir, "Chart.yaml"), Err: reword(err, msg)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// chartFiles reads a chart directory like Helm's LoadDir: every file,
// following symlinks inside the tree, minus what .helmignore excludes.
func (j *job) chartFiles(dir string) ([]*loader.BufferedFile, error) {
	rules := ignore.Empty()
	if p := joinDir(dir, ignore.HelmIgnore); j.r.isFile(p) {
		data, err := j.r.read(p)
		if err != nil {
			return nil, located(p, 0, err)
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, &Error{File: p, Err: err}
		}
	}
	rules.AddDefaults()

	var files []*loader.BufferedFile
	var walk func(rel string, stack []string) error
	walk = func(rel string, stack []string) error {
		full := dir
		if rel != "" {
			full = joinDir(dir, rel)
		}
		real, err := j.r.resolve(full)
		if err != nil {
			return &Error{File: full, Err: err}
		}
		if len(stack) > maxDirDepth {
			return errorf(full, 0, "chart directories nested too deeply")
		}
		for _, s := range stack {
			if s == real {
				return errorf(full, 0, "symlink loop in chart")
			}
		}
		names, err := j.tree.ReadDir(real)
		if err != nil {
			return &Error{File: full, Err: err}
		}
		for _, name := range names {
			childRel := joinDir(rel, name)
			child := joinDir(dir, childRel)
			childReal, err := j.r.resolve(child)
			if err != nil {
				return &Error{File: child, Err: err}
			}
			if j.tree.IsDir(childReal) {
				if rules.Ignore(childRel, fileInfo{name: name, dir: true}) {
					continue
				}
				if err := walk(childRel, append(stack[:len(stack):len(stack)], real)); err != nil {
					return err
				}
				continue
			}
			size, _ := j.tree.Size(childReal)
			if rules.Ignore(childRel, fileInfo{name: name, size: size}) {
				continue
			}
			data, err := j.r.read(child)
			if err != nil {
				return located(child, 0, err)
			}
			files = append(files, &loader.BufferedFile{Name: childRel, Data: bytes.TrimPrefix(data, utf8BOM)})
		}
		return nil
	}
	if err := walk("", nil); err != nil {
		return nil, err
	}
	return files, nil
}

// loadChart loads the chart in dir with its vendored subcharts.
func (j *job) loadChart(dir string, depth int) (*chart.Chart, *chartNode, error) {
	files, err := j.chartFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	return j.buildChart(dir, files, depth)
}

// buildChart does what loader.LoadFiles does, but loads the subcharts in
// charts/ itself so it knows which directory or archive each came from.
func (j *job) buildChart(dir string, files []*loader.BufferedFile, depth int) (*chart.Chart, *chartNode, error) {
	if depth > maxDirDepth {
		return nil, nil, errorf(dir, 0, "subcharts nested too deeply")
	}
	var own []*loader.BufferedFile
	subcharts := map[string][]*loader.BufferedFile{}
	for _, f := range files {
		if strings.HasPrefix(f.Name, "charts/") && path.Ext(f.Name) != ".prov" {
			name := strings.TrimPrefix(f.Name, "charts/")
			sub, _, _ := strings.Cut(name, "/")
			subcharts[sub] = append(subcharts[sub], &loader.BufferedFile{Name: name, Data: f.Data})
			continue
		}
		own = append(own, f)
	}
	c, err := loader.LoadFiles(own)
	if err != nil {
		return nil, nil, chartLoadError(dir, err)
	}
	node := newChartNode(dir, c)
	names := make([]string, 0, len(subcharts))
	for n := range subcharts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.IndexAny(n, "_.") == 0 {
			continue // Helm skips these too
		}
		subFiles := subcharts[n]
		var sc *chart.Chart
		var child *chartNode
		if path.Ext(n) == ".tgz" {
			archive := joinDir(dir, "charts/"+n)
			if subFiles[0].Name != n {
				return nil, nil, errorf(archive, 0, "error unpacking subchart tar in %s: expected %s, got %s", c.Name(), n, subFiles[0].Name)
			}
			sc, err = loader.LoadArchive(bytes.NewReader(subFiles[0].Data))
			if err != nil {
				return nil, nil, &Error{File: archive, Err: fmt.Errorf("error unpacking subchart %s in %s: %w", n, c.Name(), err)}
			}
			child = &chartNode{archive: archive}
		} else {
			var inner []*loader.BufferedFile
			for _, f := range subFiles {
				_, rest, ok := strings.Cut(f.Name, "/")
				if ok {
					inner = append(inner, &loader.BufferedFile{Name: rest, Data: f.Data})
				}
			}
			sc, child, err = j.buildChart(joinDir(dir, "charts/"+n), inner, depth+1)
			if err != nil {
				return nil, nil, err
			}
		}
		c.AddDependency(sc)
		node.children[sc.Name()] = child
	}
	return c, node, nil
}

var chartFileRE = regexp.MustCompile(`cannot load ([^\s:]+)`)

func chartLoadError(dir string, err error) error {
	file := joinDir(dir, "Chart.yaml")
	if m := chartFileRE.FindStringSubmatch(err.Error()); m != nil {
		file = joinDir(dir, m[1])
	}
	return &Error{File: file, Line: manifest.YAMLErrorLine(nil, err), Err: err}
}

// attachDependencies supplies what Argo CD's `helm dependency build` would
// for dependencies missing from charts/: file:// charts are loaded from the
// repository, others fetched from the allowed repositories at the version
// Chart.lock pins (or the newest the constraint allows). Like `helm
// template`, only the top chart's dependencies are checked.
func (j *job) attachDependencies(c *chart.Chart, node *chartNode, dir string) error {
	chartYAML := joinDir(dir, "Chart.yaml")
	for _, dep := range c.Metadata.Dependencies {
		if dep == nil || hasDependency(c, dep.Name) {
			continue
		}
		line := j.dependencyLine(dir, dep.Name)
		repo := dep.Repository
		switch {
		case strings.HasPrefix(repo, "file://"):
			sc, child, err := j.localDependency(dir, chartYAML, line, dep)
			if err != nil {
				return err
			}
			c.AddDependency(sc)
			node.children[sc.Name()] = child
		case repo == "":
			return errorf(chartYAML, line, "dependency %q is not vendored in charts/ and has no repository", dep.Name)
		default:
			sc, err := j.remoteDependency(c, chartYAML, line, dep)
			if err != nil {
				return err
			}
			c.AddDependency(sc)
			node.children[sc.Name()] = &chartNode{archive: chartYAML}
		}
	}
	return nil
}

func (j *job) localDependency(dir, chartYAML string, line int, dep *chart.Dependency) (*chart.Chart, *chartNode, error) {
	ref := strings.TrimPrefix(dep.Repository, "file://")
	if path.IsAbs(ref) {
		return nil, nil, &Error{File: chartYAML, Line: line, Err: fmt.Errorf("dependency %q: %s: %w", dep.Name, dep.Repository, repofs.ErrOutsideRoot)}
	}
	depDir, err := repofs.Join(dir, ref)
	if err != nil {
		return nil, nil, &Error{File: chartYAML, Line: line, Err: fmt.Errorf("dependency %q: %w", dep.Name, err)}
	}
	real, err := j.r.resolve(depDir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !j.tree.IsDir(real)) {
		return nil, nil, errorf(chartYAML, line, "dependency %q: %s is not a directory in the repository", dep.Name, depDir)
	}
	if err != nil {
		return nil, nil, &Error{File: chartYAML, Line: line, Err: fmt.Errorf("dependency %q: %w", dep.Name, err)}
	}
	sc, child, err := j.loadChart(depDir, 1)
	if err != nil {
		return nil, nil, err
	}
	if sc.Name() != dep.Name {
		return nil, nil, errorf(chartYAML, line, "dependency %q: the chart in %s is named %q", dep.Name, depDir, sc.Name())
	}
	// `helm dependency build` packages a local chart only if its version
	// satisfies the constraint.
	if dep.Version != "" {
		constraint, err := semver.NewConstraint(dep.Version)
		if err != nil {
			return nil, nil, errorf(chartYAML, line, "dependency %s has an invalid version/constraint format: %v", dep.Name, err)
		}
		v, err := semver.NewVersion(sc.Metadata.Version)
		if err != nil || !constraint.Check(v) {
			return nil, nil, errorf(chartYAML, line, "can't get a valid version for dependency %s: %s has version %s", dep.Name, depDir, sc.Metadata.Version)
		}
	}
	return sc, child, nil
}

func hasDependency(c *chart.Chart, name string) bool {
	for _, d := range c.Dependencies() {
		if d.Name() == name {
			return true
		}
	}
	return false
}

// dependencyLine is the line of Chart.yaml in dir that names a dependency;
// 0 when unknown (Helm read the chart, so an error here only costs the line).
func (j *job) dependencyLine(dir, name string) int {
	meta, err := chartfile.Read(j.tree, dir)
	if err != nil {
		return 0
	}
	for _, d := range meta.Dependencies {
		if d.File == meta.File && d.Name == name {
			return d.Line
		}
	}
	return 0
}
