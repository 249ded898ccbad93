package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxKustDepth bounds how deep bases may nest; real overlays are a few levels.
const maxKustDepth = 50

// kustRefs walks the kustomization graph before kustomize runs. kustomize
// itself would clone git URLs and download http(s) URLs wherever a path is
// expected; the walk finds every such reference first and refuses it, or
// for a remote base or component fetches it through the render's Remote
// (kustomize_remote.go), and it turns missing files, escapes and bad YAML
// into errors with a file and line.
//
// The graph (package kustomization) reads each kustomization with
// kustomize's own decoder (case-insensitive keys, anchors), so the walk
// sees exactly the references kustomize will. Every file is read through
// the render's reader, which charges it to the render and records it.
type kustRefs struct {
	j   *job
	rf  *resource.Factory
	rmf *resmap.Factory

	seen map[string]bool
	// rewrites are the remote entries of each kustomization (by file)
	// and the mounted directories kustomize reads them from instead;
	// rewritten are those kustomizations (kustomize_remote.go).
	rewrites  map[string]map[string]string
	rewritten map[string]*kustomization.File
	// openAPI is set when some kustomization carries an openapi field, which
	// changes kyaml's process-wide schema.
	openAPI bool
}

func newKustRefs(j *job) *kustRefs {
	rf := provider.NewDepProvider().GetResourceFactory()
	return &kustRefs{j: j, rf: rf, rmf: resmap.NewFactory(rf), seen: map[string]bool{}}
}

// visit checks the kustomization in dir (a resolved directory) and
// everything it references. plugin marks a directory used as a source of
// generator or transformer configurations. It returns nil for a directory
// already visited.
func (c *kustRefs) visit(dir string, plugin bool, depth int) (*kustomization.File, error) {
	if depth > maxKustDepth {
		return nil, errorf(dir, 0, "kustomizations nested more than %d deep", maxKustDepth)
	}
	key := fmt.Sprintf("%s|%t", dir, plugin)
	if c.seen[key] {
		return nil, nil
	}
	c.seen[key] = true
	kf, data, err := c.load(dir)
	if err != nil {
		return nil, err
	}
	if plugin {
		if err := noURLs(kf.Path, data); err != nil {
			return nil, err
		}
	}
	return kf, c.check(kf, plugin, depth)
}

// load finds the kustomization file in dir, reads it through the reader
// and returns it as the graph decoded it, with its content.
func (c *kustRefs) load(dir string) (*kustomization.File, []byte, error) {
	found := c.j.r.findKust(dir)
	switch len(found) {
	case 0:
		return nil, nil, errorf(dir, 0, "no kustomization file (%s) in %s", strings.Join(kustomization.Names(), ", "), dir)
	case 1:
	default:
		return nil, nil, errorf(found[0], 0, "found multiple kustomization files in %s: %s", dir, strings.Join(found, ", "))
	}
	data, err := c.j.r.read(found[0])
	if err != nil {
		return nil, nil, located(found[0], 0, err)
	}
	var kf *kustomization.File
	if m, _ := c.j.r.mountOf(dir); m != nil {
		kf, err = kustomization.Parse(found[0], dir, data)
	} else {
		kf, err = kustomization.Load(c.j.tree, dir)
	}
	if err == nil {
		err = kf.Invalid
	}
	if err != nil {
		return nil, nil, located(found[0], 0, err)
	}
	return kf, data, nil
}

func (c *kustRefs) check(kf *kustomization.File, plugin bool, depth int) error {
	k := kf.Kustomization()
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		line := kf.KeyLine("helmCharts")
		if line == 0 {
			line = kf.KeyLine("helmChartInflationGenerator")
		}
		return errorf(kf.Path, line, "helmCharts inflation is disabled: ferry does not run Helm from kustomize (render the chart as a Helm environment, or commit its output)")
	}
	c.openAPI = c.openAPI || len(k.OpenAPI) > 0
	for _, ref := range kf.Refs {
		if err := c.ref(kf, ref, plugin, depth); err != nil {
			return err
		}
	}
	return nil
}

// ref checks one reference of the kustomization kf.
func (c *kustRefs) ref(kf *kustomization.File, ref kustomization.Ref, plugin bool, depth int) error {
	switch ref.Kind {
	case kustomization.Resource:
		return c.resource(kf, ref, plugin, depth)
	case kustomization.Component:
		return c.component(kf, ref, plugin, depth)
	case kustomization.Plugin:
		return c.pluginEntry(kf, ref, depth)
	case kustomization.YAMLFile:
		if ref.Field == kustomization.PatchesStrategicMerge && c.inlinePatch(ref.Value) {
			return nil
		}
		return c.file(kf.Dir, kf.Path, kf.Line(ref), ref.Path, true, plugin)
	case kustomization.DataFile:
		if !ref.NamesPath() {
			if kustomization.IsURL(ref.Value) {
				return remoteFileError(kf.Path, kf.Line(ref), ref.Value)
			}
			return nil // malformed: kustomize reports it without reading anything
		}
		return c.file(kf.Dir, kf.Path, kf.Line(ref), ref.Path, false, false)
	}
	return nil // charts, which check refuses
}

// inlinePatch reports whether kustomize reads a patch entry as the patch
// itself: it tries that first, then a path.
func (c *kustRefs) inlinePatch(entry string) bool {
	_, err := c.rf.SliceFromBytes([]byte(entry))
	return err == nil
}

// resource checks an entry of resources (or bases): a file, or a directory
// holding a kustomization.
func (c *kustRefs) resource(kf *kustomization.File, ref kustomization.Ref, plugin bool, depth int) error {
	if c.remoteShaped(kf.Dir, ref.Value) {
		return c.remoteBase(kf, ref, plugin, depth)
	}
	line := kf.Line(ref)
	p, real, err := c.resolve(kf.Dir, kf.Path, line, ref.Value, true)
	if err != nil {
		return err
	}
	if c.j.r.isDir(real) {
		_, err := c.visit(real, plugin, depth+1)
		return err
	}
	data, err := c.j.r.read(p)
	if err != nil {
		return located(kf.Path, line, err)
	}
	if err := checkYAML(p, data); err != nil {
		return err
	}
	if plugin {
		return c.pluginDocs(kf.Dir, p, 0, data, false)
	}
	return nil
}

func (c *kustRefs) component(kf *kustomization.File, ref kustomization.Ref, plugin bool, depth int) error {
	if c.remoteShaped(kf.Dir, ref.Value) {
		return c.remoteBase(kf, ref, plugin, depth)
	}
	line := kf.Line(ref)
	_, real, err := c.resolve(kf.Dir, kf.Path, line, ref.Value, true)
	if err != nil {
		return err
	}
	if !c.j.r.isDir(real) {
		return errorf(kf.Path, line, "component %q is not a directory", ref.Value)
	}
	_, err = c.visit(real, plugin, depth+1)
	return err
}

// file checks a reference kustomize only ever reads as a file (patches,
// crds, configurations, replacements, generator sources, the openapi schema).
// Paths are relative to dir; errors point at errFile:line.
func (c *kustRefs) file(dir, errFile string, line int, ref string, parseYAML, plugin bool) error {
	p, real, err := c.resolve(dir, errFile, line, ref, false)
	if err != nil {
		return err
	}
	if c.j.r.isDir(real) {
		return errorf(errFile, line, "%q is a directory, expected a file", ref)
	}
	if !parseYAML {
		return nil
	}
	data, err := c.j.r.read(p)
	if err != nil {
		return located(errFile, line, err)
	}
	if err := checkYAML(p, data); err != nil {
		return err
	}
	if plugin {
		return noURLs(p, data)
	}
	return nil
}

// resolve turns a reference into a reader path (a repository path, or one in
// the mounted tree dir is in) and its symlink-free form, refusing anything
// kustomize would fetch and anything outside the tree. maybeRepo marks
// fields that kustomize also tries as a git repository.
func (c *kustRefs) resolve(dir, errFile string, line int, ref string, maybeRepo bool) (string, string, error) {
	if kustomization.IsURL(ref) {
		return "", "", remoteFileError(errFile, line, ref)
	}
	if path.IsAbs(ref) {
		return "", "", &Error{File: errFile, Line: line, Err: fmt.Errorf("absolute path %q: %w", ref, repofs.ErrOutsideRoot)}
	}
	p, err := c.j.r.join(dir, ref)
	if err != nil {
		return "", "", &Error{File: errFile, Line: line, Err: err}
	}
	real, err := c.j.r.resolve(p)
	switch {
	case maybeRepo && kustomization.LooksLikeRepo(ref) && (err != nil || c.j.r.isDir(real)):
		// kustomize reads an existing file as a file, but tries anything
		// else shaped like a repository URL as a git clone.
		return "", "", remoteFileError(errFile, line, ref)
	case errors.Is(err, fs.ErrNotExist):
		return "", "", errorf(errFile, line, "%q not found in the repository (looked for %s)", ref, p)
	case err != nil:
		return "", "", &Error{File: errFile, Line: line, Err: fmt.Errorf("%q: %w", ref, err)}
	}
	return p, real, nil
}

// pluginEntry checks an entry of generators, transformers or validators:
// inline configuration, a file of configurations, or a kustomization
// directory whose output is the configurations.
func (c *kustRefs) pluginEntry(kf *kustomization.File, ref kustomization.Ref, depth int) error {
	line := kf.Line(ref)
	if _, err := c.rmf.NewResMapFromBytes([]byte(ref.Value)); err == nil {
		return c.pluginDocs(kf.Dir, kf.Path, line, []byte(ref.Value), true)
	}
	if c.remoteShaped(kf.Dir, ref.Value) {
		return c.remoteBase(kf, ref, true, depth)
	}
	p, real, err := c.resolve(kf.Dir, kf.Path, line, ref.Value, true)
	if err != nil {
		return err
	}
	if c.j.r.isDir(real) {
		_, err := c.visit(real, true, depth+1)
		return err
	}
	data, err := c.j.r.read(p)
	if err != nil {
		return located(kf.Path, line, err)
	}
	if err := checkYAML(p, data); err != nil {
		return err
	}
	return c.pluginDocs(kf.Dir, p, 0, data, true)
}

// pluginDocs checks generator/transformer configurations: only kustomize's
// builtins may run, and the files they name (relative to dir, the
// kustomization that lists them) must be local. checkPaths is false where
// the listing kustomization is not known precisely.
func (c *kustRefs) pluginDocs(dir, file string, line int, data []byte, checkPaths bool) error {
	docs, err := kustomization.DecodeDocs(data)
	if err != nil {
		return &Error{File: file, Line: manifest.YAMLErrorLine(nil, err), Err: err}
	}
	for _, d := range docs {
		cfg, ok := d.Plugin()
		if !ok {
			continue
		}
		at := line
		if at == 0 {
			at = d.Line
		}
		if err := c.pluginConfig(dir, file, at, d, cfg, checkPaths); err != nil {
			return err
		}
	}
	return nil
}

func (c *kustRefs) pluginConfig(dir, file string, line int, d kustomization.Doc, cfg *kustomization.PluginConfig, checkPaths bool) error {
	if !cfg.Builtin {
		what := "an external kustomize plugin"
		if cfg.Function {
			what = "a KRM function (exec, container or starlark)"
		}
		return errorf(file, line, "%s %s is %s; ferry runs only kustomize's builtin generators and transformers", cfg.APIVersion, cfg.Kind, what)
	}
	if cfg.Kind == "HelmChartInflationGenerator" {
		return errorf(file, line, "helmCharts inflation is disabled: ferry does not run Helm from kustomize")
	}
	if d.URL != "" {
		return remoteFileError(file, line, d.URL)
	}
	if !checkPaths {
		return nil
	}
	for _, ref := range cfg.Refs {
		if ref.Field == "paths" && c.inlinePatch(ref.Value) {
			continue
		}
		if err := c.file(dir, file, line, ref.Path, ref.Kind == kustomization.YAMLFile, false); err != nil {
			return err
		}
	}
	return nil
}

// noURLs refuses any URL anywhere in a document that feeds generator or
// transformer configurations: there a transformation could turn any string
// into a path kustomize then loads.
func noURLs(file string, data []byte) error {
	docs, err := kustomization.DecodeDocs(data)
	if err != nil {
		if bytes.Contains(data, []byte("://")) {
			return errorf(file, manifest.YAMLErrorLine(nil, err), "plugin configuration contains a URL; ferry does not fetch remote resources")
		}
		return nil
	}
	for _, d := range docs {
		if d.URL != "" {
			return remoteFileError(file, d.Line, d.URL)
		}
	}
	return nil
}

// checkYAML reports the first syntax error in a YAML stream at the line
// yaml.v3 names, as kustomize would report it. JSON files are left to
// kustomize, which reads them with a JSON decoder.
func checkYAML(file string, data []byte) error {
	if strings.EqualFold(path.Ext(file), ".json") {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{File: file, Line: manifest.YAMLErrorLine(nil, err), Err: fmt.Errorf("invalid YAML: %w", err)}
		}
	}
}
