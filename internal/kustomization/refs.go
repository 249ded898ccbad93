package kustomization

import (
	"strings"

	"sigs.k8s.io/kustomize/api/types"
)

// Field is the kustomization field a reference is written in, spelled as
// kustomize spells it.
type Field string

// The fields that name files, directories or charts, in the order File.Refs
// lists them.
const (
	OpenAPI                     Field = "openapi"
	Resources                   Field = "resources"
	Bases                       Field = "bases"
	Components                  Field = "components"
	CRDs                        Field = "crds"
	Configurations              Field = "configurations"
	Patches                     Field = "patches"
	PatchesJSON6902             Field = "patchesJson6902"
	PatchesStrategicMerge       Field = "patchesStrategicMerge"
	Replacements                Field = "replacements"
	ConfigMapGenerator          Field = "configMapGenerator"
	SecretGenerator             Field = "secretGenerator"
	Generators                  Field = "generators"
	Transformers                Field = "transformers"
	Validators                  Field = "validators"
	HelmCharts                  Field = "helmCharts"
	HelmChartInflationGenerator Field = "helmChartInflationGenerator"
)

// Kind is what kustomize does with a reference.
type Kind int

const (
	// Resource is a file of resources, or a directory holding a
	// kustomization (resources, bases).
	Resource Kind = iota
	// Component is a directory holding a kustomization (components).
	Component
	// Plugin is generator, transformer or validator configuration: inline,
	// a file of it, or a kustomization directory whose output is it.
	Plugin
	// YAMLFile is a file kustomize decodes: the OpenAPI schema, a CRD, a
	// transformer configuration, a patch (a patchesStrategicMerge entry may
	// be the patch itself instead), a replacement.
	YAMLFile
	// DataFile is a file a generator reads as data: an entry of files
	// ("path" or "key=path"), envs or env.
	DataFile
	// ChartValues is a Helm values file of a chart kustomize inflates.
	ChartValues
	// Chart is a Helm chart kustomize inflates: Value is its name, Home the
	// chart home it is looked up in.
	Chart
)

// Ref is one reference of a kustomization.
type Ref struct {
	Field Field
	Kind  Kind
	// Value is the entry as written.
	Value string
	// Path is the path the entry names, relative to the kustomization's
	// directory: Value, except for a generator's "key=path", and "" for a
	// generator entry that names none (kustomize rejects it unread).
	Path string
	// Home is a Chart's chart home, relative to the kustomization's
	// directory.
	Home string
}

// NamesPath reports whether the reference names a path (Path, which may be
// "": the kustomization's own directory).
func (r Ref) NamesPath() bool { return r.Path != "" || r.Value == "" }

// refBuilder collects references.
type refBuilder struct {
	out []Ref
}

func (b *refBuilder) add(field Field, kind Kind, values ...string) {
	for _, v := range values {
		b.out = append(b.out, Ref{Field: field, Kind: kind, Value: v, Path: v})
	}
}

// refs lists the references of a kustomization as decoded, before
// FixKustomization: in the order of kustomize's fields, which is the order
// the render checks them in.
func refs(k *types.Kustomization) []Ref {
	b := &refBuilder{}
	if p, ok := k.OpenAPI["path"]; ok {
		b.add(OpenAPI, YAMLFile, p)
	}
	b.add(Resources, Resource, k.Resources...)
	b.add(Bases, Resource, k.Bases...)
	b.add(Components, Component, k.Components...)
	b.add(CRDs, YAMLFile, k.Crds...)
	b.add(Configurations, YAMLFile, k.Configurations...)
	for _, p := range k.Patches {
		if p.Path != "" {
			b.add(Patches, YAMLFile, p.Path)
		}
	}
	for _, p := range k.PatchesJson6902 {
		if p.Path != "" {
			b.add(PatchesJSON6902, YAMLFile, p.Path)
		}
	}
	for _, p := range k.PatchesStrategicMerge {
		b.add(PatchesStrategicMerge, YAMLFile, string(p))
	}
	for _, r := range k.Replacements {
		if r.Path != "" {
			b.add(Replacements, YAMLFile, r.Path)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		b.kvSources(ConfigMapGenerator, g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		b.kvSources(SecretGenerator, g.KvPairSources)
	}
	b.add(Generators, Plugin, k.Generators...)
	b.add(Transformers, Plugin, k.Transformers...)
	b.add(Validators, Plugin, k.Validators...)
	b.helm(k)
	return b.out
}

func (b *refBuilder) kvSources(field Field, s types.KvPairSources) {
	for _, src := range s.FileSources {
		p, _ := FileSourcePath(src)
		b.out = append(b.out, Ref{Field: field, Kind: DataFile, Value: src, Path: p})
	}
	b.add(field, DataFile, s.EnvSources...)
	if s.EnvSource != "" {
		b.add(field, DataFile, s.EnvSource)
	}
}

// helm adds the charts kustomize would inflate and their values files.
func (b *refBuilder) helm(k *types.Kustomization) {
	home := types.HelmDefaultHome
	if k.HelmGlobals != nil && k.HelmGlobals.ChartHome != "" {
		home = k.HelmGlobals.ChartHome
	}
	for _, c := range k.HelmCharts {
		b.out = append(b.out, Ref{Field: HelmCharts, Kind: Chart, Value: c.Name, Home: home})
		if c.ValuesFile != "" {
			b.add(HelmCharts, ChartValues, c.ValuesFile)
		}
		b.add(HelmCharts, ChartValues, c.AdditionalValuesFiles...)
	}
	for _, g := range k.HelmChartInflationGenerator {
		b.out = append(b.out, Ref{Field: HelmChartInflationGenerator, Kind: Chart, Value: g.ChartName, Home: g.ChartHome})
		if g.Values != "" {
			b.add(HelmChartInflationGenerator, ChartValues, g.Values)
		}
	}
}

// FileSourcePath returns the path of a generator's files entry ("path" or
// "key=path"), as kustomize parses it; false for an entry kustomize
// rejects without reading anything.
func FileSourcePath(src string) (string, bool) {
	switch n := strings.Count(src, "="); {
	case n == 0:
		return src, true
	case n == 1 && !strings.HasPrefix(src, "=") && !strings.HasSuffix(src, "="):
		_, p, _ := strings.Cut(src, "=")
		return p, true
	}
	return "", false
}
