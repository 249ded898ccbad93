package environment

import (
	"fmt"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// applicationDoc is the part of an Argo CD Application ferry reads. yaml.v3
// decodes typed booleans the YAML 1.1 way (yes/no), as kubectl would.
type applicationDoc struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Project     string      `yaml:"project"`
		Source      *sourceDoc  `yaml:"source"`
		Sources     []sourceDoc `yaml:"sources"`
		Destination struct {
			Server    string `yaml:"server"`
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"destination"`
		SyncPolicy           *syncPolicyDoc `yaml:"syncPolicy"`
		RevisionHistoryLimit *int64         `yaml:"revisionHistoryLimit"`
		// IgnoreDifferences is decoded by ignoreDifferences (ignore_parse.go).
		IgnoreDifferences yamlv3.Node `yaml:"ignoreDifferences"`
	} `yaml:"spec"`
}

type sourceDoc struct {
	RepoURL        string        `yaml:"repoURL"`
	Path           string        `yaml:"path"`
	TargetRevision string        `yaml:"targetRevision"`
	Chart          string        `yaml:"chart"`
	Ref            string        `yaml:"ref"`
	Helm           *helmDoc      `yaml:"helm"`
	Kustomize      *kustomizeDoc `yaml:"kustomize"`
	Directory      *directoryDoc `yaml:"directory"`
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
	// KubeVersion … Namespace are the rest of Argo CD's helm fields
	// (passCredentials is for remote charts, which ferry fetches itself).
	KubeVersion             string   `yaml:"kubeVersion"`
	APIVersions             []string `yaml:"apiVersions"`
	SkipCrds                bool     `yaml:"skipCrds"`
	IgnoreMissingValueFiles bool     `yaml:"ignoreMissingValueFiles"`
	FileParameters          []struct {
		Name string `yaml:"name"`
		Path string `yaml:"path"`
	} `yaml:"fileParameters"`
	Namespace string `yaml:"namespace"`
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
	// The rest of Argo CD's kustomize fields (see KustomizeSource).
	CommonAnnotations         map[string]string `yaml:"commonAnnotations"`
	CommonAnnotationsEnvsubst bool              `yaml:"commonAnnotationsEnvsubst"`
	LabelWithoutSelector      bool              `yaml:"labelWithoutSelector"`
	LabelIncludeTemplates     bool              `yaml:"labelIncludeTemplates"`
	ForceCommonLabels         bool              `yaml:"forceCommonLabels"`
	ForceCommonAnnotations    bool              `yaml:"forceCommonAnnotations"`
	Patches                   []KustomizePatch  `yaml:"patches"`
	Components                []string          `yaml:"components"`
	IgnoreMissingComponents   bool              `yaml:"ignoreMissingComponents"`
	KubeVersion               string            `yaml:"kubeVersion"`
	APIVersions               []string          `yaml:"apiVersions"`
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
	src, refs, reason := appSource(&app, repoURL)
	if reason == "" {
		reason = unusable(&app, src)
	}
	if reason != "" {
		return Environment{}, reason
	}
	env := Environment{
		Name:           app.Metadata.Name,
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
		Project:              app.Spec.Project,
		SyncPolicy:           syncPolicy(app.Spec.SyncPolicy),
		RevisionHistoryLimit: app.Spec.RevisionHistoryLimit,
	}
	if env.IgnoreDifferences, reason = ignoreDifferences(&app.Spec.IgnoreDifferences, env.Name); reason != "" {
		return Environment{}, reason
	}
	if reason := env.setSource(src, refs); reason != "" {
		return Environment{}, reason
	}
	env, reason = sourcePath(tree, env, src, repoURL)
	if reason == "" {
		reason = env.addSources(tree, &app, src, refs, repoURL)
	}
	if reason != "" {
		return Environment{}, reason
	}
	return env, ""
}

// setSource takes the source's type and its helm and kustomize settings.
func (env *Environment) setSource(src *sourceDoc, refs refSources) string {
	if src.Helm != nil {
		h, err := helmSource(src.Helm)
		if err != nil {
			return fmt.Sprintf("Application %q: spec.source.helm: %v", env.Name, err)
		}
		env.Helm = h
	}
	if src.Kustomize != nil {
		k, err := kustomizeSource(src.Kustomize)
		if err != nil {
			return fmt.Sprintf("Application %q: spec.source.kustomize: %v", env.Name, err)
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
		env.Directory = src.Directory.source()
	}
	if len(refs.names) > 0 {
		if env.Helm == nil {
			env.Helm = &HelmSource{}
		}
		env.Helm.Refs = refs.names
	}
	if src.Chart != "" {
		env.Chart = &ChartSource{RepoURL: src.RepoURL, Name: src.Chart, Version: src.TargetRevision}
		// What follows Git is this repository's values source, if any.
		env.RepoURL, env.TargetRevision = refs.repoURL, refs.revision
	}
	return ""
}

// sourcePath settles where the source lives: a chart from a Helm
// repository, another repository (listed, never rendered), or a path here.
func sourcePath(tree *repofs.Tree, env Environment, src *sourceDoc, repoURL string) (Environment, string) {
	if env.Chart != nil {
		return env, ""
	}
	if repoURL != "" && src.RepoURL != "" && !SameRepo(src.RepoURL, repoURL) {
		env.External = true
		env.Path = src.Path
		return env, ""
	}
	clean, err := repofs.Clean(src.Path)
	if err != nil {
		return Environment{}, fmt.Sprintf("Application %q: spec.source.path: %v", env.Name, err)
	}
	env.Path = clean
	if env.Type == "" {
		env.Type = detectType(tree, clean)
	}
	return env, ""
}

// unusable says why ferry cannot take an Application, or "" when it can.
func unusable(app *applicationDoc, src *sourceDoc) string {
	name := app.Metadata.Name
	switch {
	case src.Plugin != nil:
		return fmt.Sprintf("Application %q uses a config management plugin, which ferry does not render", name)
	case src.Helm != nil && src.Kustomize != nil:
		return fmt.Sprintf("Application %q sets both helm and kustomize", name)
	}
	for _, v := range []string{name, src.RepoURL, src.Path, src.TargetRevision, src.Chart,
		src.Ref, app.Spec.Destination.Server, app.Spec.Destination.Name, app.Spec.Destination.Namespace} {
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
	helmExtra(h, out)
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
	kustomizeExtra(k, out)
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
