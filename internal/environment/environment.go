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
	Project    string           `json:"project,omitempty"`
	Helm       *HelmSource      `json:"helm,omitempty"`
	Kustomize  *KustomizeSource `json:"kustomize,omitempty"`
	SyncPolicy *SyncPolicy      `json:"syncPolicy,omitempty"`
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
