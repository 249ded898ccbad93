// Package environment is ferry's model of a deployment target: one rendered
// source (a Kustomize overlay, a Helm chart or a directory of YAML) bound for
// one destination, as described by an Argo CD Application, a .ferry.yaml entry,
// or found by convention.
package environment

// SourceType is how an environment's path is rendered.
type SourceType string

const (
	Kustomize SourceType = "kustomize"
	Helm      SourceType = "helm"
	Directory SourceType = "directory"
)

// Origin says where an environment's definition came from.
type Origin string

const (
	FromApplication Origin = "application"
	FromFerryConfig Origin = "ferry.yaml"
	FromDiscovery   Origin = "discovered"
)

// Environment is one rendered target.
type Environment struct {
	Name   string `json:"name"`
	Origin Origin `json:"origin"`
	// File is the repository file that defines the environment (the
	// Application manifest or .ferry.yaml); empty when discovered.
	File string `json:"file,omitempty"`
	// Line is where the definition starts in File, for messages; 0 when
	// unknown. It is not part of the definition: moving it changes nothing.
	Line int `json:"-"`
	// Path is the source directory relative to the repository root.
	Path string     `json:"path"`
	Type SourceType `json:"type"`

	RepoURL        string `json:"repoURL,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
	// External is set when the Application's repoURL names another
	// repository: it is listed but not rendered.
	External bool `json:"external,omitempty"`

	// Chart is set for a chart from a Helm repository or an OCI registry
	// (spec.source.chart): it is fetched from the server's allowed
	// repositories. Path is then empty, and RepoURL and TargetRevision are
	// those of this repository's values source, if any.
	Chart *ChartSource `json:"chart,omitempty"`

	Destination Destination `json:"destination"`
	// Project is the Argo CD project (spec.project) that bounds where and
	// what the environment may deploy; "" is project "default".
	Project   string           `json:"project,omitempty"`
	Helm      *HelmSource      `json:"helm,omitempty"`
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`
	// Directory is spec.source.directory: recurse, include/exclude globs
	// and Jsonnet settings for a plain-directory source.
	Directory  *DirectorySource `json:"directory,omitempty"`
	SyncPolicy *SyncPolicy      `json:"syncPolicy,omitempty"`
	// IgnoreDifferences is spec.ignoreDifferences: live fields drift,
	// self-heal and the live diff leave alone.
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty"`
	// Sources are the further sources of a multi-source Application
	// (spec.sources) that are this repository, rendered after the one the
	// fields above describe; their objects are concatenated.
	Sources []Source `json:"sources,omitempty"`
	// ExternalSources name the sources of a multi-source Application that
	// ferry does not render (another repository): listed, not rendered.
	ExternalSources []string `json:"externalSources,omitempty"`
	// Capabilities are the destination cluster's version and API versions
	// for Helm's .Capabilities, when the server knows them (see
	// render.DefaultKubeVersion otherwise). Never read from Git.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Parent names the environment whose render defines this one
	// (app-of-apps); "" when Git defines it directly.
	Parent string `json:"parent,omitempty"`
	// RevisionHistoryLimit is how many syncs are kept for rollback (10 when nil).
	RevisionHistoryLimit *int64 `json:"revisionHistoryLimit,omitempty"`
}

// ChartSource names a chart in a Helm repository (https://…) or an OCI
// registry (oci://…, or a registry path without a scheme), as an Argo CD
// Application does.
type ChartSource struct {
	RepoURL string `json:"repoURL"`
	Name    string `json:"name"`
	// Version is the targetRevision: an exact version or a semver range.
	Version string `json:"version"`
}

// Destination is where the environment's objects go.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// HelmSource mirrors Argo CD's spec.source.helm.
type HelmSource struct {
	ReleaseName string `json:"releaseName,omitempty"`
	// ValueFiles are relative to the chart directory, as in Argo CD.
	ValueFiles   []string        `json:"valueFiles,omitempty"`
	Values       string          `json:"values,omitempty"`
	ValuesObject map[string]any  `json:"valuesObject,omitempty"`
	Parameters   []HelmParameter `json:"parameters,omitempty"`
	// KubeVersion and APIVersions override the destination cluster's for
	// .Capabilities (--kube-version, --api-versions).
	KubeVersion string   `json:"kubeVersion,omitempty"`
	APIVersions []string `json:"apiVersions,omitempty"`
	// SkipCrds leaves out the chart's crds/ directory (--skip-crds).
	SkipCrds bool `json:"skipCrds,omitempty"`
	// IgnoreMissingValueFiles drops value files that do not exist.
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`
	// FileParameters are --set-file name=path, path relative to the chart
	// directory as valueFiles are.
	FileParameters []HelmFileParameter `json:"fileParameters,omitempty"`
	// Namespace overrides the release namespace (default: the destination's).
	Namespace string `json:"namespace,omitempty"`
	// PassCredentials is accepted and ignored: which repositories get
	// credentials is the server's configuration, never the Application's.
	PassCredentials bool `json:"passCredentials,omitempty"`
	// Refs are the names of this repository's sources (spec.sources[].ref)
	// a value file may start with: "$values/envs/prod.yaml" is the file
	// envs/prod.yaml of this repository.
	Refs []string `json:"refs,omitempty"`
}

// HelmParameter is one --set (or --set-string when ForceString).
type HelmParameter struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	ForceString bool   `json:"forceString,omitempty"`
}

// KustomizeSource mirrors the parts of Argo CD's spec.source.kustomize ferry applies.
type KustomizeSource struct {
	// Images are kustomize edit set image arguments: name=newName:tag, name:tag, name@digest.
	Images       []string          `json:"images,omitempty"`
	Replicas     []Replica         `json:"replicas,omitempty"`
	NamePrefix   string            `json:"namePrefix,omitempty"`
	NameSuffix   string            `json:"nameSuffix,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	// CommonAnnotations are added like `kustomize edit add annotation`;
	// CommonAnnotationsEnvsubst expands ${ARGOCD_APP_…} in their values.
	CommonAnnotations         map[string]string `json:"commonAnnotations,omitempty"`
	CommonAnnotationsEnvsubst bool              `json:"commonAnnotationsEnvsubst,omitempty"`
	// LabelWithoutSelector adds CommonLabels to metadata only
	// (--without-selector); LabelIncludeTemplates to pod templates too.
	LabelWithoutSelector  bool `json:"labelWithoutSelector,omitempty"`
	LabelIncludeTemplates bool `json:"labelIncludeTemplates,omitempty"`
	// ForceCommonLabels and ForceCommonAnnotations overwrite existing keys
	// (--force) instead of failing.
	ForceCommonLabels      bool `json:"forceCommonLabels,omitempty"`
	ForceCommonAnnotations bool `json:"forceCommonAnnotations,omitempty"`
	// Patches are appended to the kustomization's patches.
	Patches []KustomizePatch `json:"patches,omitempty"`
	// Components are added like `kustomize edit add component` (paths or
	// globs relative to the kustomization); IgnoreMissingComponents drops
	// those that do not exist.
	Components              []string `json:"components,omitempty"`
	IgnoreMissingComponents bool     `json:"ignoreMissingComponents,omitempty"`
	// KubeVersion and APIVersions only reach Helm charts kustomize
	// inflates, which ferry does not (no --enable-helm): kept, unused.
	KubeVersion string   `json:"kubeVersion,omitempty"`
	APIVersions []string `json:"apiVersions,omitempty"`
}

// Replica overrides a workload's replica count.
type Replica struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// SyncPolicy mirrors Argo CD's spec.syncPolicy, kept whole for sync.
type SyncPolicy struct {
	Automated   *Automated `json:"automated,omitempty"`
	SyncOptions []string   `json:"syncOptions,omitempty"`
	Retry       *Retry     `json:"retry,omitempty"`
}

// Automated turns on sync without a human, with optional prune and self-heal.
type Automated struct {
	// Enabled false (Argo CD 3) keeps the block but turns automation off.
	Enabled    *bool `json:"enabled,omitempty"`
	Prune      bool  `json:"prune,omitempty"`
	SelfHeal   bool  `json:"selfHeal,omitempty"`
	AllowEmpty *bool `json:"allowEmpty,omitempty"`
}

// Retry is the back-off for failed syncs.
type Retry struct {
	Limit   int64    `json:"limit,omitempty"`
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff durations are Go/Argo duration strings ("5s", "3m").
type Backoff struct {
	Duration    string `json:"duration,omitempty"`
	Factor      *int64 `json:"factor,omitempty"`
	MaxDuration string `json:"maxDuration,omitempty"`
}
