package environment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// maxScanSize bounds the files searched for Applications: Applications are
// small, and the multi-megabyte YAML in repositories is CRD bundles.
const maxScanSize = 1 << 20

// ferryConfigFile is the repository's ferry config; discovery does not read
// it (see DiscoverOptions.Config) but refuses to run as if it were absent.
const ferryConfigFile = ".ferry.yaml"

// Declarer supplies environments declared outside Argo CD Applications.
// *config.Config is one. The indirection keeps this package free of the
// config package, which builds on these types.
type Declarer interface {
	DeclaredEnvironments() []Environment
}

// DiscoverOptions tunes Discover.
type DiscoverOptions struct {
	// RepoURL is the repository being read. Applications whose repoURL names
	// another repository are listed as External. "" means every Application
	// points here.
	RepoURL string
	// Config supplies the .ferry.yaml environments, usually a *config.Config
	// from config.Load. Discover does not load it itself so the caller
	// chooses which revision's config applies. Nil declares nothing, and is
	// refused when the tree has a .ferry.yaml, so a forgotten Config cannot
	// silently drop environments.
	Config Declarer
}

// Skipped is a file, or a definition in one, that discovery passed over.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Discovery is what Discover found.
type Discovery struct {
	// Environments are sorted by name; names are unique.
	Environments []Environment `json:"environments"`
	Skipped      []Skipped     `json:"skipped,omitempty"`
}

// Discover lists the environments of a repository:
//
//  1. every Argo CD Application in a *.yaml or *.yml file (multi-document
//     files too), in path order;
//  2. then every environment opts.Config declares.
//
// A name defined twice keeps the first definition; the later one is Skipped.
// Only when these yield nothing are environments found by convention: every
// leaf Kustomize overlay and every top-level Helm chart, named by its path.
//
// Discovery does not fail on a file it cannot read or parse; that file is
// Skipped with the reason. The error return is for misuse only.
func Discover(tree *repofs.Tree, opts DiscoverOptions) (*Discovery, error) {
	if opts.Config == nil && tree.Exists(ferryConfigFile) {
		return nil, errors.New("discover environments: the repository has a .ferry.yaml but DiscoverOptions.Config is nil; load it with config.Load and pass it")
	}
	// Discovery reads most manifests of the repository: fetch them in one
	// batch. A failed prefetch only means files are read one by one.
	_ = tree.Prefetch(func(name string, size int64) bool {
		return size <= maxScanSize && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || path.Base(name) == "Kustomization")
	})
	d := &Discovery{}
	defined := map[string]string{}
	add := func(env Environment) {
		if prev, ok := defined[env.Name]; ok {
			d.Skipped = append(d.Skipped, Skipped{
				File:   env.File,
				Reason: fmt.Sprintf("environment %q is already defined in %s", env.Name, prev),
			})
			return
		}
		defined[env.Name] = env.File
		d.Environments = append(d.Environments, env)
	}

	var candidates []string
	for _, file := range tree.Files() {
		if ext := path.Ext(file); ext == ".yaml" || ext == ".yml" {
			candidates = append(candidates, file)
		}
	}
	type scanned struct {
		envs    []Environment
		skipped []Skipped
	}
	results := make([]scanned, len(candidates))
	forEach(len(candidates), func(i int) {
		results[i].envs, results[i].skipped = scanFile(tree, candidates[i], opts.RepoURL)
	})
	// In path order, whatever order the files were read in, so "the later
	// definition" is well defined.
	for _, r := range results {
		d.Skipped = append(d.Skipped, r.skipped...)
		for _, env := range r.envs {
			add(env)
		}
	}

	if opts.Config != nil {
		for _, env := range opts.Config.DeclaredEnvironments() {
			clean, err := repofs.Clean(env.Path)
			switch {
			case env.Name == "":
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: "environment without a name"})
				continue
			case invalidName(env.Name) != "":
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: fmt.Sprintf("line %d: environment %s", env.Line, invalidName(env.Name))})
				continue
			case err != nil:
				d.Skipped = append(d.Skipped, Skipped{File: env.File, Reason: fmt.Sprintf("environment %q: path: %v", env.Name, err)})
				continue
			}
			env.Path = clean
			if env.Type == "" {
				env.Type = detectType(tree, env.Path)
			}
			add(env)
		}
	}

	if len(d.Environments) == 0 {
		d.Environments = conventional(tree)
	}
	sort.SliceStable(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
	return d, nil
}

// detectType picks the tool Argo CD would for a path without an explicit
// one: Helm if there is a Chart.yaml, then Kustomize, else plain YAML.
func detectType(tree *repofs.Tree, dir string) SourceType {
	if p := path.Join(dir, "Chart.yaml"); tree.Exists(p) && !tree.IsDir(p) {
		return Helm
	}
	if KustomizationFile(tree, dir) != "" {
		return Kustomize
	}
	return Directory
}

// scanFile returns the Applications defined in one file.
func scanFile(tree *repofs.Tree, file, repoURL string) ([]Environment, []Skipped) {
	// A symlinked file is scanned under its own name, when inside the tree,
	// so it is not found twice.
	if real, err := tree.Resolve(file); err != nil || real != file {
		return nil, nil
	}
	size, err := tree.Size(file)
	if err != nil {
		return nil, []Skipped{{File: file, Reason: fmt.Sprintf("unreadable: %v", err)}}
	}
	if size > maxScanSize {
		return nil, []Skipped{{File: file, Reason: fmt.Sprintf("%d bytes is over %d; not searched for Applications", size, maxScanSize)}}
	}
	data, err := tree.ReadFile(file)
	if err != nil {
		return nil, []Skipped{{File: file, Reason: fmt.Sprintf("unreadable: %v", err)}}
	}
	// Most YAML in a GitOps repository is not an Application; this keeps
	// discovery of large repositories from parsing all of it.
	if !bytes.Contains(data, []byte("argoproj.io")) {
		return nil, nil
	}

	var envs []Environment
	var skipped []Skipped
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Unparsable YAML that mentions Applications is most likely a
			// template (Helm's {{ }}): say so. Anything else only carried an
			// argoproj.io annotation and is not ours to report.
			if bytes.Contains(data, []byte("Application")) {
				skipped = append(skipped, Skipped{File: file, Reason: fmt.Sprintf("not valid YAML, so any Application in it is not discovered (a template?): %v", manifest.YAMLError(file, nil, err))})
			}
			break
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yamlv3.MappingNode {
			continue
		}
		root := doc.Content[0]
		apiVersion, kind := scalarField(root, "apiVersion"), scalarField(root, "kind")
		if !strings.HasPrefix(apiVersion, "argoproj.io/") {
			continue
		}
		switch kind {
		case "Application":
			env, reason := parseApplication(tree, file, root, repoURL)
			if reason != "" {
				skipped = append(skipped, Skipped{File: file, Reason: fmt.Sprintf("line %d: %s", root.Line, reason)})
				continue
			}
			envs = append(envs, env)
		case "ApplicationSet":
			skipped = append(skipped, Skipped{File: file, Reason: fmt.Sprintf("line %d: ApplicationSet %q is not expanded; the Applications it generates are not discovered", root.Line, nestedScalar(root, "metadata", "name"))})
		}
	}
	return envs, skipped
}

func scalarField(m *yamlv3.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yamlv3.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

func nestedScalar(m *yamlv3.Node, outer, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == outer && m.Content[i+1].Kind == yamlv3.MappingNode {
			return scalarField(m.Content[i+1], key)
		}
	}
	return ""
}

// applicationDoc is the part of an Argo CD Application ferry reads. yaml.v3
// decodes typed booleans the YAML 1.1 way (yes/no), as kubectl would.
type applicationDoc struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Source      *sourceDoc    `yaml:"source"`
		Sources     []yamlv3.Node `yaml:"sources"`
		Destination struct {
			Server    string `yaml:"server"`
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"destination"`
		SyncPolicy           *syncPolicyDoc `yaml:"syncPolicy"`
		RevisionHistoryLimit *int64         `yaml:"revisionHistoryLimit"`
	} `yaml:"spec"`
}

type sourceDoc struct {
	RepoURL        string        `yaml:"repoURL"`
	Path           string        `yaml:"path"`
	TargetRevision string        `yaml:"targetRevision"`
	Chart          string        `yaml:"chart"`
	Helm           *helmDoc      `yaml:"helm"`
	Kustomize      *kustomizeDoc `yaml:"kustomize"`
	Directory      *struct{}     `yaml:"directory"`
	Plugin         *struct {
		Name string `yaml:"name"`
	} `yaml:"plugin"`
}

type helmDoc struct {
	ReleaseName  string         `yaml:"releaseName"`
	ValueFiles   []string       `yaml:"valueFiles"`
	Values       string         `yaml:"values"`
	ValuesObject yamlv3.Node    `yaml:"valuesObject"`
	Parameters   []helmParamDoc `yaml:"parameters"`
}

type helmParamDoc struct {
	Name        string `yaml:"name"`
	Value       string `yaml:"value"`
	ForceString bool   `yaml:"forceString"`
}

type kustomizeDoc struct {
	Images   []string `yaml:"images"`
	Replicas []struct {
		Name string `yaml:"name"`
		// Count is an int-or-string in Argo CD.
		Count yamlv3.Node `yaml:"count"`
	} `yaml:"replicas"`
	NamePrefix   string            `yaml:"namePrefix"`
	NameSuffix   string            `yaml:"nameSuffix"`
	Namespace    string            `yaml:"namespace"`
	CommonLabels map[string]string `yaml:"commonLabels"`
}

type syncPolicyDoc struct {
	Automated *struct {
		Enabled    *bool `yaml:"enabled"`
		Prune      bool  `yaml:"prune"`
		SelfHeal   bool  `yaml:"selfHeal"`
		AllowEmpty *bool `yaml:"allowEmpty"`
	} `yaml:"automated"`
	SyncOptions []string `yaml:"syncOptions"`
	Retry       *struct {
		Limit   int64 `yaml:"limit"`
		Backoff *struct {
			Duration    string `yaml:"duration"`
			Factor      *int64 `yaml:"factor"`
			MaxDuration string `yaml:"maxDuration"`
		} `yaml:"backoff"`
	} `yaml:"retry"`
}

// parseApplication turns one Application into an Environment, or returns
// why it cannot.
func parseApplication(tree *repofs.Tree, file string, root *yamlv3.Node, repoURL string) (Environment, string) {
	var app applicationDoc
	if err := root.Decode(&app); err != nil {
		return Environment{}, fmt.Sprintf("Application %q: %v", nestedScalar(root, "metadata", "name"), manifest.YAMLError(file, nil, err))
	}
	if reason := unusable(&app); reason != "" {
		return Environment{}, reason
	}
	name, src := app.Metadata.Name, app.Spec.Source
	env := Environment{
		Name:           name,
		Origin:         FromApplication,
		File:           file,
		Line:           root.Line,
		RepoURL:        src.RepoURL,
		TargetRevision: src.TargetRevision,
		Destination: Destination{
			Server:    app.Spec.Destination.Server,
			Name:      app.Spec.Destination.Name,
			Namespace: app.Spec.Destination.Namespace,
		},
		SyncPolicy:           syncPolicy(app.Spec.SyncPolicy),
		RevisionHistoryLimit: app.Spec.RevisionHistoryLimit,
	}
	if src.Helm != nil {
		h, err := helmSource(src.Helm)
		if err != nil {
			return Environment{}, fmt.Sprintf("Application %q: spec.source.helm: %v", name, err)
		}
		env.Helm = h
	}
	if src.Kustomize != nil {
		k, err := kustomizeSource(src.Kustomize)
		if err != nil {
			return Environment{}, fmt.Sprintf("Application %q: spec.source.kustomize: %v", name, err)
		}
		env.Kustomize = k
	}
	switch {
	case src.Helm != nil || src.Chart != "":
		env.Type = Helm
	case src.Kustomize != nil:
		env.Type = Kustomize
	case src.Directory != nil:
		env.Type = Directory
	}

	// A chart from a Helm repository, or a path in another git repository,
	// is not in this tree: list it, never render it.
	if src.Chart != "" || (repoURL != "" && src.RepoURL != "" && !SameRepo(src.RepoURL, repoURL)) {
		env.External = true
		env.Path = src.Path
		return env, ""
	}
	clean, err := repofs.Clean(src.Path)
	if err != nil {
		return Environment{}, fmt.Sprintf("Application %q: spec.source.path: %v", name, err)
	}
	env.Path = clean
	if env.Type == "" {
		env.Type = detectType(tree, clean)
	}
	return env, ""
}

// unusable says why ferry cannot take an Application, or "" when it can.
func unusable(app *applicationDoc) string {
	name, src := app.Metadata.Name, app.Spec.Source
	switch {
	case name == "":
		return "Application without metadata.name"
	case len(app.Spec.Sources) > 0:
		return fmt.Sprintf("Application %q has multiple sources (spec.sources), which ferry does not render", name)
	case src == nil:
		return fmt.Sprintf("Application %q has no spec.source", name)
	case src.Plugin != nil:
		return fmt.Sprintf("Application %q uses a config management plugin, which ferry does not render", name)
	case src.Helm != nil && src.Kustomize != nil:
		return fmt.Sprintf("Application %q sets both helm and kustomize", name)
	}
	for _, v := range []string{name, src.RepoURL, src.Path, src.TargetRevision, src.Chart,
		app.Spec.Destination.Server, app.Spec.Destination.Name, app.Spec.Destination.Namespace} {
		if strings.Contains(v, "{{") {
			return fmt.Sprintf("Application %q is a template (it contains {{ }}); not discovered", name)
		}
	}
	if reason := invalidName(name); reason != "" {
		return "Application " + reason
	}
	return ""
}

func helmSource(h *helmDoc) (*HelmSource, error) {
	out := &HelmSource{
		ReleaseName: h.ReleaseName,
		ValueFiles:  h.ValueFiles,
		Values:      h.Values,
	}
	for _, p := range h.Parameters {
		out.Parameters = append(out.Parameters, HelmParameter{Name: p.Name, Value: p.Value, ForceString: p.ForceString})
	}
	if v := &h.ValuesObject; v.Kind != 0 && !(v.Kind == yamlv3.ScalarNode && v.ShortTag() == "!!null") {
		// Through sigs.k8s.io/yaml, as Helm reads values files, so values
		// have the same types whichever way they were written.
		b, err := yamlv3.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("valuesObject: %w", err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("valuesObject (line %d): %w", v.Line, err)
		}
		out.ValuesObject = obj
	}
	return out, nil
}

func kustomizeSource(k *kustomizeDoc) (*KustomizeSource, error) {
	out := &KustomizeSource{
		Images:       k.Images,
		NamePrefix:   k.NamePrefix,
		NameSuffix:   k.NameSuffix,
		Namespace:    k.Namespace,
		CommonLabels: k.CommonLabels,
	}
	for _, r := range k.Replicas {
		n, err := strconv.ParseInt(strings.TrimSpace(r.Count.Value), 10, 64)
		if err != nil || r.Count.Kind != yamlv3.ScalarNode {
			return nil, fmt.Errorf("replicas %q: count %q (line %d) is not an integer", r.Name, r.Count.Value, r.Count.Line)
		}
		out.Replicas = append(out.Replicas, Replica{Name: r.Name, Count: n})
	}
	return out, nil
}

func syncPolicy(s *syncPolicyDoc) *SyncPolicy {
	if s == nil {
		return nil
	}
	out := &SyncPolicy{SyncOptions: s.SyncOptions}
	if a := s.Automated; a != nil {
		out.Automated = &Automated{Enabled: a.Enabled, Prune: a.Prune, SelfHeal: a.SelfHeal, AllowEmpty: a.AllowEmpty}
	}
	if r := s.Retry; r != nil {
		out.Retry = &Retry{Limit: r.Limit}
		if b := r.Backoff; b != nil {
			out.Retry.Backoff = &Backoff{Duration: b.Duration, Factor: b.Factor, MaxDuration: b.MaxDuration}
		}
	}
	return out
}

// maxNameQuote caps how much of an invalid name a reason quotes.
const maxNameQuote = 80

// invalidName says why name cannot be an Application's, as Argo CD and
// Kubernetes require (a DNS-1123 subdomain: lower-case letters, digits, "-"
// and ".", at most 253 characters), or "" when it can. Environment names go
// into tracking ids, labels, store keys, branch names and every comment,
// so a name that is not one is never discovered.
func invalidName(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return ""
	}
	quoted := name
	if r := []rune(name); len(r) > maxNameQuote {
		quoted = string(r[:maxNameQuote]) + "…"
	}
	return fmt.Sprintf("name %q is not a valid Application name, so it is not discovered: "+
		"use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most %d characters (a DNS-1123 subdomain, as Argo CD requires)",
		quoted, validation.DNS1123SubdomainMaxLength)
}
