package environment

// Source is one more source of a multi-source Application: a path of this
// repository (or a chart) rendered with its own settings.
type Source struct {
	Path           string           `json:"path,omitempty"`
	Type           SourceType       `json:"type"`
	RepoURL        string           `json:"repoURL,omitempty"`
	TargetRevision string           `json:"targetRevision,omitempty"`
	Chart          *ChartSource     `json:"chart,omitempty"`
	Helm           *HelmSource      `json:"helm,omitempty"`
	Kustomize      *KustomizeSource `json:"kustomize,omitempty"`
	Directory      *DirectorySource `json:"directory,omitempty"`
}

// Capabilities are what Helm's .Capabilities says of a cluster.
type Capabilities struct {
	// KubeVersion is the server's version, e.g. "v1.31.4".
	KubeVersion string `json:"kubeVersion,omitempty"`
	// APIVersions are group/version and group/version/Kind entries, as
	// `helm template --api-versions` takes them.
	APIVersions []string `json:"apiVersions,omitempty"`
}

// HelmFileParameter is one --set-file: the value of Name is the content of
// the repository file Path.
type HelmFileParameter struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// KustomizePatch is one entry of spec.source.kustomize.patches, as
// kustomize's patches field takes it.
type KustomizePatch struct {
	Path    string          `json:"path,omitempty"`
	Patch   string          `json:"patch,omitempty"`
	Target  *PatchTarget    `json:"target,omitempty"`
	Options map[string]bool `json:"options,omitempty"`
}

// PatchTarget selects the objects a patch applies to.
type PatchTarget struct {
	Group              string `json:"group,omitempty" yaml:"group"`
	Version            string `json:"version,omitempty" yaml:"version"`
	Kind               string `json:"kind,omitempty" yaml:"kind"`
	Name               string `json:"name,omitempty" yaml:"name"`
	Namespace          string `json:"namespace,omitempty" yaml:"namespace"`
	LabelSelector      string `json:"labelSelector,omitempty" yaml:"labelSelector"`
	AnnotationSelector string `json:"annotationSelector,omitempty" yaml:"annotationSelector"`
}

// Views are the environment's rendered sources, each as an environment of
// its own: the first is env itself (without Sources), the others take their
// path, type and settings from Sources.
func (env Environment) Views() []Environment {
	first := env
	first.Sources = nil
	out := []Environment{first}
	for _, s := range env.Sources {
		v := first
		v.Path, v.Type, v.RepoURL, v.TargetRevision = s.Path, s.Type, s.RepoURL, s.TargetRevision
		v.Chart, v.Helm, v.Kustomize, v.Directory = s.Chart, s.Helm, s.Kustomize, s.Directory
		out = append(out, v)
	}
	return out
}
