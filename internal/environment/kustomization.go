package environment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	yamlv3 "go.yaml.in/yaml/v3"
)

// isKustomizationName reports whether a file name is one kustomize reads.
func isKustomizationName(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}

// kustomizationNames are the file names kustomize looks for, in its order.
func kustomizationNames() [3]string {
	return [3]string{"kustomization.yaml", "kustomization.yml", "Kustomization"}
}

// KustomizationFile returns the kustomization file in dir, or "" when dir
// has none.
func KustomizationFile(tree *repofs.Tree, dir string) string {
	for _, name := range kustomizationNames() {
		p := path.Join(dir, name)
		if tree.Exists(p) && !tree.IsDir(p) {
			return p
		}
	}
	return ""
}

// Kustomization is what a kustomization file says about the other files a
// build reads. It is the one parser behind both dependency tracking and
// zero-config leaf detection, so the two cannot disagree about what refers
// to what.
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

// kustomizationDoc holds the fields of a kustomization that name files.
// Unknown fields are fine: kustomize has many that name none.
type kustomizationDoc struct {
	Kind                  string      `yaml:"kind"`
	Resources             []string    `yaml:"resources"`
	Bases                 []string    `yaml:"bases"`
	Components            []string    `yaml:"components"`
	Generators            []string    `yaml:"generators"`
	Transformers          []string    `yaml:"transformers"`
	Validators            []string    `yaml:"validators"`
	Patches               []pathRef   `yaml:"patches"`
	PatchesStrategicMerge []string    `yaml:"patchesStrategicMerge"`
	PatchesJSON6902       []pathRef   `yaml:"patchesJson6902"`
	Replacements          []pathRef   `yaml:"replacements"`
	ConfigMapGenerator    []generator `yaml:"configMapGenerator"`
	SecretGenerator       []generator `yaml:"secretGenerator"`
	CRDs                  []string    `yaml:"crds"`
	Configurations        []string    `yaml:"configurations"`
	OpenAPI               pathRef     `yaml:"openapi"`
	HelmGlobals           struct {
		ChartHome string `yaml:"chartHome"`
	} `yaml:"helmGlobals"`
	HelmCharts []struct {
		Name                  string   `yaml:"name"`
		ValuesFile            string   `yaml:"valuesFile"`
		AdditionalValuesFiles []string `yaml:"additionalValuesFiles"`
	} `yaml:"helmCharts"`
	HelmChartInflationGenerator []struct {
		ChartName  string `yaml:"chartName"`
		ChartHome  string `yaml:"chartHome"`
		ValuesFile string `yaml:"values"`
	} `yaml:"helmChartInflationGenerator"`
}

type pathRef struct {
	Path string `yaml:"path"`
}

type generator struct {
	Files []string `yaml:"files"`
	Envs  []string `yaml:"envs"`
	Env   string   `yaml:"env"`
}

// ReadKustomization parses the kustomization in dir. It returns an error
// wrapping fs.ErrNotExist when dir has none, and a *manifest.ParseError
// naming the file and line when it cannot be parsed. Remote references
// (URLs, git specs) and references leaving the repository are left out:
// nothing here reads them, and the render reports them.
func ReadKustomization(tree *repofs.Tree, dir string) (*Kustomization, error) {
	// Shared bases are read once per tree, not once per overlay.
	v, err := tree.Memo("environment.kustomization\x00"+dir, func() (any, error) { return readKustomization(tree, dir) })
	if err != nil {
		return nil, err
	}
	return v.(*Kustomization), nil
}

func readKustomization(tree *repofs.Tree, dir string) (*Kustomization, error) {
	real, err := tree.Resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("kustomization in %s: %w", dir, err)
	}
	file := KustomizationFile(tree, real)
	if file == "" {
		return nil, fmt.Errorf("kustomization in %s: %w", dir, fs.ErrNotExist)
	}
	data, err := tree.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read kustomization: %w", err)
	}
	var doc kustomizationDoc
	if err := decodeKustomization(data, file, &doc); err != nil {
		return nil, err
	}
	k := &Kustomization{File: file, Dir: real, Kind: doc.Kind}
	seenDir, seenFile := map[string]bool{}, map[string]bool{}
	addDir := func(p string) {
		if !seenDir[p] {
			seenDir[p] = true
			k.Dirs = append(k.Dirs, p)
		}
	}
	addFile := func(p string) {
		if !seenFile[p] {
			seenFile[p] = true
			k.Files = append(k.Files, p)
		}
	}
	// Entries that may be a directory (built as a kustomization), a file,
	// or, for generators and the like, inline YAML.
	for _, list := range [][]string{doc.Resources, doc.Bases, doc.Components, doc.Generators, doc.Transformers, doc.Validators} {
		for _, ref := range list {
			p, ok := localRef(tree, real, ref)
			switch {
			case !ok:
			case tree.IsDir(p) || !tree.Exists(p):
				addDir(p)
			default:
				addFile(p)
			}
		}
	}
	var files []string
	for _, p := range doc.Patches {
		files = append(files, p.Path)
	}
	files = append(files, doc.PatchesStrategicMerge...)
	for _, p := range doc.PatchesJSON6902 {
		files = append(files, p.Path)
	}
	for _, p := range doc.Replacements {
		files = append(files, p.Path)
	}
	for _, g := range append(doc.ConfigMapGenerator, doc.SecretGenerator...) {
		for _, f := range g.Files {
			// "key=path" names the data key; the file is after the first "=".
			if _, after, ok := strings.Cut(f, "="); ok {
				f = after
			}
			files = append(files, f)
		}
		files = append(files, g.Envs...)
		files = append(files, g.Env)
	}
	files = append(files, doc.CRDs...)
	files = append(files, doc.Configurations...)
	files = append(files, doc.OpenAPI.Path)
	for _, c := range doc.HelmCharts {
		files = append(files, c.ValuesFile)
		files = append(files, c.AdditionalValuesFiles...)
	}
	for _, ref := range files {
		if p, ok := localRef(tree, real, ref); ok {
			addFile(p)
		}
	}

	if len(doc.HelmCharts) > 0 {
		home := doc.HelmGlobals.ChartHome
		if home == "" {
			home = "charts"
		}
		if p, ok := localRef(tree, real, home); ok {
			k.ChartHome = p
			for _, c := range doc.HelmCharts {
				if c.Name == "" || strings.Contains(c.Name, "/") {
					continue
				}
				k.HelmCharts = append(k.HelmCharts, path.Join(p, c.Name))
			}
		}
	}
	// The generator kustomize deprecated in favour of helmCharts: its chart
	// home and values file are local paths too.
	for _, g := range doc.HelmChartInflationGenerator {
		if g.ChartHome == "" || g.ChartName == "" {
			continue
		}
		if p, ok := localRef(tree, real, g.ChartHome); ok {
			addDir(p)
			k.HelmCharts = append(k.HelmCharts, path.Join(p, g.ChartName))
		}
		if p, ok := localRef(tree, real, g.ValuesFile); ok {
			addFile(p)
		}
	}
	return k, nil
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
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "git@") {
		return "", false
	}
	p, err := repofs.Join(dir, ref)
	if err != nil {
		return "", false
	}
	return p, true
}

// decodeKustomization decodes a kustomization. Building a node tree to fold
// key case doubles the cost of a parse, so that is done only for files that
// spell some key in another case.
func decodeKustomization(data []byte, file string, out *kustomizationDoc) error {
	if !hasCaseVariantKey(data) {
		err := yamlv3.Unmarshal(data, out)
		if err == nil {
			return nil
		}
		// Fall through for the error, located the same way as always.
		*out = kustomizationDoc{}
	}
	return decodeFirst(data, file, out, foldKustomizationKeys)
}

// hasCaseVariantKey reports whether data contains one of the keys
// kustomizationDoc reads in a spelling other than its own, anywhere (a
// false positive only costs the slower decode).
func hasCaseVariantKey(data []byte) bool {
	lower := bytes.ToLower(data)
	for _, k := range kustomizationKeys() {
		lk := []byte(strings.ToLower(k))
		for off := 0; ; {
			i := bytes.Index(lower[off:], lk)
			if i < 0 {
				break
			}
			if string(data[off+i:off+i+len(k)]) != k && isKeyAt(data, off+i, len(k)) {
				return true
			}
			off += i + len(k)
		}
	}
	return false
}

// isKeyAt reports whether data[i:i+n] looks like a mapping key: a whole
// word, possibly quoted, followed by a colon.
func isKeyAt(data []byte, i, n int) bool {
	if i > 0 && !bytes.ContainsRune([]byte(" \t\n-{,\"'"), rune(data[i-1])) {
		return false
	}
	j := i + n
	if j < len(data) && (data[j] == '"' || data[j] == '\'') {
		j++
	}
	return j < len(data) && data[j] == ':'
}

// foldKustomizationKeys renames keys to the spelling kustomizationDoc
// uses when they differ only in case: kustomize decodes through
// encoding/json, which matches field names case-insensitively, so
// "Resources:" is as good as "resources:" to it.
func foldKustomizationKeys(n *yamlv3.Node) {
	if n.Kind == yamlv3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yamlv3.ScalarNode {
				if c := kustomizationKey(k.Value); c != "" {
					k.Value = c
				}
			}
		}
	}
	for _, c := range n.Content {
		foldKustomizationKeys(c)
	}
}

// kustomizationKeys are the keys kustomizationDoc reads, at any depth.
func kustomizationKeys() []string {
	return []string{
		"kind", "resources", "bases", "components", "generators", "transformers", "validators",
		"patches", "patchesStrategicMerge", "patchesJson6902", "replacements", "configMapGenerator",
		"secretGenerator", "crds", "configurations", "openapi", "helmGlobals", "helmCharts",
		"helmChartInflationGenerator", "path", "files", "envs", "env", "chartHome", "name",
		"valuesFile", "additionalValuesFiles", "chartName", "values",
	}
}

func kustomizationKey(key string) string {
	for _, k := range kustomizationKeys() {
		if strings.EqualFold(k, key) {
			return k
		}
	}
	return ""
}

// decodeFirst decodes the first YAML document of data into out, with
// errors located in file. prepare, when set, may rewrite the node tree
// first.
func decodeFirst(data []byte, file string, out any, prepare func(*yamlv3.Node)) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var doc yamlv3.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return yamlError(file, err)
	}
	if prepare != nil {
		prepare(&doc)
	}
	if err := doc.Decode(out); err != nil {
		return yamlError(file, err)
	}
	return nil
}

// yamlError turns a yaml.v3 error, whose line is only in its message, into
// a *manifest.ParseError.
func yamlError(file string, err error) error {
	msg := err.Error()
	var te *yamlv3.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		digits, after, found := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(digits); convErr == nil && found {
			line, msg = n, after
		}
	}
	return &manifest.ParseError{File: file, Line: line, Err: errors.New(msg)}
}
