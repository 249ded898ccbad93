package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxKustDepth bounds how deep bases may nest; real overlays are a few levels.
const maxKustDepth = 50

// kustRefs walks the kustomization graph before kustomize runs. kustomize
// itself would clone git URLs and download http(s) URLs wherever a path is
// expected; the walk finds every such reference first and refuses it, and it
// turns missing files, escapes and bad YAML into errors with a file and line.
//
// It reads each kustomization with kustomize's own decoder (case-insensitive
// keys, anchors) so that it sees exactly the references kustomize will.
type kustRefs struct {
	j   *job
	rf  *resource.Factory
	rmf *resmap.Factory

	seen map[string]bool
	// openAPI is set when some kustomization carries an openapi field, which
	// changes kyaml's process-wide schema.
	openAPI bool
}

func newKustRefs(j *job) *kustRefs {
	rf := provider.NewDepProvider().GetResourceFactory()
	return &kustRefs{j: j, rf: rf, rmf: resmap.NewFactory(rf), seen: map[string]bool{}}
}

// kustFile is one parsed kustomization.
type kustFile struct {
	path string // repository path of the file
	dir  string // its (symlink-free) directory
	data []byte
	k    types.Kustomization
	node *yaml.Node // for line numbers only; nil when yaml.v3 cannot parse the file
}

func (f *kustFile) line(value string) int { return lineOf(f.node, value) }

// visit checks the kustomization in dir (a resolved directory) and
// everything it references. plugin marks a directory used as a source of
// generator or transformer configurations. It returns nil for a directory
// already visited.
func (c *kustRefs) visit(dir string, plugin bool, depth int) (*kustFile, error) {
	if depth > maxKustDepth {
		return nil, errorf(dir, 0, "kustomizations nested more than %d deep", maxKustDepth)
	}
	key := fmt.Sprintf("%s|%t", dir, plugin)
	if c.seen[key] {
		return nil, nil
	}
	c.seen[key] = true
	kf, err := c.load(dir)
	if err != nil {
		return nil, err
	}
	return kf, c.check(kf, plugin, depth)
}

// load finds and parses the kustomization file in dir.
func (c *kustRefs) load(dir string) (*kustFile, error) {
	var found []string
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := joinDir(dir, name)
		if c.j.r.isFile(p) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, errorf(dir, 0, "no kustomization file (%s) in %s", strings.Join(konfig.RecognizedKustomizationFileNames(), ", "), dir)
	case 1:
	default:
		return nil, errorf(found[0], 0, "found multiple kustomization files in %s: %s", dir, strings.Join(found, ", "))
	}
	kf := &kustFile{path: found[0], dir: dir}
	data, err := c.j.r.read(kf.path)
	if err != nil {
		return nil, located(kf.path, 0, err)
	}
	kf.data = data
	var node yaml.Node
	nodeErr := yaml.Unmarshal(data, &node)
	if nodeErr == nil {
		kf.node = &node
	}
	if err := kf.k.Unmarshal(data); err != nil {
		line := yamlLine(err.Error())
		if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
			line = keyLine(kf.node, m[1])
		}
		if line == 0 && nodeErr != nil {
			line = yamlLine(nodeErr.Error())
		}
		return nil, &Error{File: kf.path, Line: line, Err: err}
	}
	kf.k.FixKustomization()
	return kf, nil
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

func (c *kustRefs) check(kf *kustFile, plugin bool, depth int) error {
	k := &kf.k
	if plugin {
		if err := noURLs(kf.path, kf.data); err != nil {
			return err
		}
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		line := keyLine(kf.node, "helmCharts")
		if line == 0 {
			line = keyLine(kf.node, "helmChartInflationGenerator")
		}
		return errorf(kf.path, line, "helmCharts inflation is disabled: ferry does not run Helm from kustomize (render the chart as a Helm environment, or commit its output)")
	}
	if len(k.OpenAPI) > 0 {
		c.openAPI = true
		if p, ok := k.OpenAPI["path"]; ok {
			if err := c.file(kf.dir, kf.path, kf.line(p), p, true, plugin); err != nil {
				return err
			}
		}
	}
	for _, r := range k.Resources { // includes the deprecated bases, merged by FixKustomization
		if err := c.resource(kf, r, plugin, depth); err != nil {
			return err
		}
	}
	for _, comp := range k.Components {
		if err := c.component(kf, comp, plugin, depth); err != nil {
			return err
		}
	}
	files := append(append([]string(nil), k.Crds...), k.Configurations...)
	for _, p := range append(append([]types.Patch(nil), k.Patches...), k.PatchesJson6902...) {
		if p.Path != "" {
			files = append(files, p.Path)
		}
	}
	for _, p := range k.PatchesStrategicMerge {
		// kustomize first tries an entry as inline patch content, then as a path.
		if _, err := c.rf.SliceFromBytes([]byte(p)); err != nil {
			files = append(files, string(p))
		}
	}
	for _, r := range k.Replacements {
		if r.Path != "" {
			files = append(files, r.Path)
		}
	}
	for _, f := range files {
		if err := c.file(kf.dir, kf.path, kf.line(f), f, true, plugin); err != nil {
			return err
		}
	}
	var sources []types.KvPairSources
	for _, g := range k.ConfigMapGenerator {
		sources = append(sources, g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		sources = append(sources, g.KvPairSources)
	}
	for _, s := range sources {
		if err := c.kvSources(kf.dir, kf.path, kf.node, s); err != nil {
			return err
		}
	}
	for _, list := range [][]string{k.Generators, k.Transformers, k.Validators} {
		for _, entry := range list {
			if err := c.pluginEntry(kf, entry, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// resource checks an entry of resources (or bases): a file, or a directory
// holding a kustomization.
func (c *kustRefs) resource(kf *kustFile, ref string, plugin bool, depth int) error {
	line := kf.line(ref)
	p, real, err := c.resolve(kf.dir, kf.path, line, ref, true)
	if err != nil {
		return err
	}
	if c.j.tree.IsDir(real) {
		_, err := c.visit(real, plugin, depth+1)
		return err
	}
	data, err := c.j.r.read(p)
	if err != nil {
		return located(kf.path, line, err)
	}
	if err := checkYAML(p, data); err != nil {
		return err
	}
	if plugin {
		return c.pluginDocs(kf.dir, p, 0, data, false)
	}
	return nil
}

func (c *kustRefs) component(kf *kustFile, ref string, plugin bool, depth int) error {
	line := kf.line(ref)
	_, real, err := c.resolve(kf.dir, kf.path, line, ref, true)
	if err != nil {
		return err
	}
	if !c.j.tree.IsDir(real) {
		return errorf(kf.path, line, "component %q is not a directory", ref)
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
	if c.j.tree.IsDir(real) {
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

// resolve turns a reference into a repository path and its symlink-free form,
// refusing anything kustomize would fetch and anything outside the tree.
// maybeRepo marks fields that kustomize also tries as a git repository.
func (c *kustRefs) resolve(dir, errFile string, line int, ref string, maybeRepo bool) (string, string, error) {
	if isURL(ref) {
		return "", "", remoteError(errFile, line, ref)
	}
	if path.IsAbs(ref) {
		return "", "", &Error{File: errFile, Line: line, Err: fmt.Errorf("absolute path %q: %w", ref, repofs.ErrOutsideRoot)}
	}
	p, err := repofs.Join(dir, ref)
	if err != nil {
		return "", "", &Error{File: errFile, Line: line, Err: fmt.Errorf("%q: %w", ref, repofs.ErrOutsideRoot)}
	}
	real, err := c.j.r.resolve(p)
	switch {
	case maybeRepo && looksLikeRepo(ref) && (err != nil || c.j.tree.IsDir(real)):
		// kustomize reads an existing file as a file, but tries anything
		// else shaped like a repository URL as a git clone.
		return "", "", remoteError(errFile, line, ref)
	case errors.Is(err, fs.ErrNotExist):
		return "", "", errorf(errFile, line, "%q not found in the repository (looked for %s)", ref, p)
	case err != nil:
		return "", "", &Error{File: errFile, Line: line, Err: fmt.Errorf("%q: %w", ref, err)}
	}
	return p, real, nil
}

func (c *kustRefs) kvSources(dir, errFile string, node *yaml.Node, s types.KvPairSources) error {
	for _, src := range s.FileSources {
		p, ok := fileSourcePath(src)
		if !ok {
			if isURL(src) {
				return remoteError(errFile, lineOf(node, src), src)
			}
			continue // malformed: kustomize reports it without reading anything
		}
		if err := c.file(dir, errFile, lineOf(node, src), p, false, false); err != nil {
			return err
		}
	}
	envs := s.EnvSources
	if s.EnvSource != "" {
		envs = append(envs, s.EnvSource)
	}
	for _, e := range envs {
		if err := c.file(dir, errFile, lineOf(node, e), e, false, false); err != nil {
			return err
		}
	}
	return nil
}

// fileSourcePath extracts the path from a generator "files" entry ("path" or
// "key=path"), as kustomize's ParseFileSource does.
func fileSourcePath(src string) (string, bool) {
	switch n := strings.Count(src, "="); {
	case n == 0:
		return src, true
	case n == 1 && !strings.HasPrefix(src, "=") && !strings.HasSuffix(src, "="):
		_, p, _ := strings.Cut(src, "=")
		return p, true
	}
	return "", false
}

// pluginEntry checks an entry of generators, transformers or validators:
// inline configuration, a file of configurations, or a kustomization
// directory whose output is the configurations.
func (c *kustRefs) pluginEntry(kf *kustFile, entry string, depth int) error {
	line := kf.line(entry)
	if _, err := c.rmf.NewResMapFromBytes([]byte(entry)); err == nil {
		return c.pluginDocs(kf.dir, kf.path, line, []byte(entry), true)
	}
	p, real, err := c.resolve(kf.dir, kf.path, line, entry, true)
	if err != nil {
		return err
	}
	if c.j.tree.IsDir(real) {
		_, err := c.visit(real, true, depth+1)
		return err
	}
	data, err := c.j.r.read(p)
	if err != nil {
		return located(kf.path, line, err)
	}
	if err := checkYAML(p, data); err != nil {
		return err
	}
	return c.pluginDocs(kf.dir, p, 0, data, true)
}

// pluginDocs checks generator/transformer configurations: only kustomize's
// builtins may run, and the files they name (relative to dir, the
// kustomization that lists them) must be local. checkPaths is false where
// the listing kustomization is not known precisely.
func (c *kustRefs) pluginDocs(dir, file string, line int, data []byte, checkPaths bool) error {
	docs, err := decodeDocs(data)
	if err != nil {
		return &Error{File: file, Line: yamlLine(err.Error()), Err: err}
	}
	for _, d := range docs {
		doc, ok := d.value.(map[string]any)
		if !ok {
			continue
		}
		at := line
		if at == 0 {
			at = d.line
		}
		if err := c.pluginConfig(dir, file, at, doc, checkPaths); err != nil {
			return err
		}
	}
	return nil
}

// functionAnnotations mark a configuration as a KRM function (exec,
// container or starlark) rather than a Go plugin.
var functionAnnotations = []string{"config.kubernetes.io/function", "config.k8s.io/function"}

func (c *kustRefs) pluginConfig(dir, file string, line int, doc map[string]any, checkPaths bool) error {
	apiVersion, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	if g, v := resid.ParseGroupVersion(apiVersion); g != "" || v != konfig.BuiltinPluginApiVersion {
		what := "an external kustomize plugin"
		meta, _ := doc["metadata"].(map[string]any)
		annotations, _ := meta["annotations"].(map[string]any)
		for _, a := range functionAnnotations {
			if _, ok := annotations[a]; ok {
				what = "a KRM function (exec, container or starlark)"
			}
		}
		return errorf(file, line, "%s %s is %s; ferry runs only kustomize's builtin generators and transformers", apiVersion, kind, what)
	}
	if kind == "HelmChartInflationGenerator" {
		return errorf(file, line, "helmCharts inflation is disabled: ferry does not run Helm from kustomize")
	}
	if s := findURL(doc); s != "" {
		return remoteError(file, line, s)
	}
	if !checkPaths {
		return nil
	}
	fileRef := func(ref string, parseYAML bool) error { return c.file(dir, file, line, ref, parseYAML, false) }
	for key, v := range doc {
		// Builtin configurations are decoded case-insensitively.
		switch strings.ToLower(key) {
		case "path", "targetfilepath":
			if s, ok := v.(string); ok && s != "" {
				if err := fileRef(s, true); err != nil {
					return err
				}
			}
		case "paths":
			for _, s := range stringList(v) {
				if _, err := c.rf.SliceFromBytes([]byte(s)); err == nil {
					continue // inline patch
				}
				if err := fileRef(s, true); err != nil {
					return err
				}
			}
		case "files":
			for _, s := range stringList(v) {
				if p, ok := fileSourcePath(s); ok {
					if err := fileRef(p, false); err != nil {
						return err
					}
				}
			}
		case "envs":
			for _, s := range stringList(v) {
				if err := fileRef(s, false); err != nil {
					return err
				}
			}
		case "env":
			if s, ok := v.(string); ok && s != "" {
				if err := fileRef(s, false); err != nil {
					return err
				}
			}
		case "replacements":
			list, _ := v.([]any)
			for _, item := range list {
				m, _ := item.(map[string]any)
				for k, pv := range m {
					if s, ok := pv.(string); ok && strings.EqualFold(k, "path") && s != "" {
						if err := fileRef(s, true); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

func remoteError(file string, line int, ref string) error {
	return errorf(file, line, "would fetch remote resource %q; ferry does not fetch remote bases", ref)
}

// isURL reports a reference with a scheme: kustomize downloads http(s) URLs
// and clones the other schemes git understands.
func isURL(ref string) bool { return strings.Contains(ref, "://") }

var scpUserRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksLikeRepo mirrors the shapes kustomize's repo-spec parser accepts
// without a scheme: go-getter's "git::" prefix, github.com paths and
// scp-style user@host:path.
func looksLikeRepo(ref string) bool {
	l := strings.ToLower(ref)
	return strings.HasPrefix(l, "git::") || strings.HasPrefix(l, "github.com/") ||
		strings.HasPrefix(l, "github.com:") || scpUserRE.MatchString(ref)
}

// noURLs refuses any URL anywhere in a document that feeds generator or
// transformer configurations: there a transformation could turn any string
// into a path kustomize then loads.
func noURLs(file string, data []byte) error {
	docs, err := decodeDocs(data)
	if err != nil {
		if bytes.Contains(data, []byte("://")) {
			return errorf(file, yamlLine(err.Error()), "plugin configuration contains a URL; ferry does not fetch remote resources")
		}
		return nil
	}
	for _, d := range docs {
		if s := findURL(d.value); s != "" {
			return remoteError(file, d.line, s)
		}
	}
	return nil
}

func findURL(v any) string {
	switch t := v.(type) {
	case string:
		if isURL(t) {
			return t
		}
	case map[string]any:
		for k, e := range t {
			if isURL(k) {
				return k
			}
			if s := findURL(e); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range t {
			if s := findURL(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

type doc struct {
	value any
	line  int
}

// decodeDocs decodes every document of a YAML stream, resolving anchors.
func decodeDocs(data []byte) ([]doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []doc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, doc{value: normalizeKeys(v), line: n.Line})
	}
}

// normalizeKeys turns yaml.v3's map[any]any-free output into
// map[string]any throughout (non-string keys are stringified).
func normalizeKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeKeys(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalizeKeys(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalizeKeys(e)
		}
	}
	return v
}

// checkYAML reports the first syntax error in a YAML stream with its line.
// JSON files are left to kustomize, which reads them with a JSON decoder.
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
			return &Error{File: file, Line: yamlLine(err.Error()), Err: fmt.Errorf("invalid YAML: %w", err)}
		}
	}
}

// lineOf finds the line of the first scalar equal to value.
func lineOf(n *yaml.Node, value string) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.ScalarNode && n.Value == value {
		return n.Line
	}
	for _, c := range n.Content {
		if l := lineOf(c, value); l > 0 {
			return l
		}
	}
	return 0
}

// keyLine finds the line of a mapping key, compared case-insensitively as
// kustomize's decoder does.
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

func joinDir(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}
