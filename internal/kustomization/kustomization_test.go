package kustomization_test

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	k "github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const everyField = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
openapi:
  path: schema.json
resources:
  - ../base
  - cm.yaml
bases:
  - ../old-base
components:
  - ../comp
crds:
  - crd.yaml
configurations:
  - naming.yaml
patches:
  - path: p.yaml
  - patch: "{}"
patchesJson6902:
  - path: j.yaml
patchesStrategicMerge:
  - smp.yaml
replacements:
  - path: r.yaml
configMapGenerator:
  - name: c
    files:
      - app.properties
      - key=extra.properties
      - a=b=c
    envs:
      - c.env
    env: one.env
secretGenerator:
  - name: s
    files:
      - secret.txt
generators:
  - gen.yaml
transformers:
  - ../transformers
validators:
  - v.yaml
helmGlobals:
  chartHome: vendored
helmCharts:
  - name: web
    valuesFile: web-values.yaml
    additionalValuesFiles:
      - web-extra.yaml
helmChartInflationGenerator:
  - chartName: legacy
    chartHome: legacy-charts
    values: legacy-values.yaml
`

func TestLoadListsEveryReference(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{"o/kustomization.yaml": everyField})
	f, err := k.Load(tr, "o")
	if err != nil {
		t.Fatal(err)
	}
	ref := func(field k.Field, kind k.Kind, value string, line int) lined {
		return lined{k.Ref{Field: field, Kind: kind, Value: value, Path: value}, line}
	}
	want := []lined{
		ref(k.OpenAPI, k.YAMLFile, "schema.json", 4),
		ref(k.Resources, k.Resource, "../base", 6),
		ref(k.Resources, k.Resource, "cm.yaml", 7),
		ref(k.Bases, k.Resource, "../old-base", 9),
		ref(k.Components, k.Component, "../comp", 11),
		ref(k.CRDs, k.YAMLFile, "crd.yaml", 13),
		ref(k.Configurations, k.YAMLFile, "naming.yaml", 15),
		ref(k.Patches, k.YAMLFile, "p.yaml", 17),
		ref(k.PatchesJSON6902, k.YAMLFile, "j.yaml", 20),
		ref(k.PatchesStrategicMerge, k.YAMLFile, "smp.yaml", 22),
		ref(k.Replacements, k.YAMLFile, "r.yaml", 24),
		ref(k.ConfigMapGenerator, k.DataFile, "app.properties", 28),
		{k.Ref{Field: k.ConfigMapGenerator, Kind: k.DataFile, Value: "key=extra.properties", Path: "extra.properties"}, 29},
		{k.Ref{Field: k.ConfigMapGenerator, Kind: k.DataFile, Value: "a=b=c"}, 30},
		ref(k.ConfigMapGenerator, k.DataFile, "c.env", 32),
		ref(k.ConfigMapGenerator, k.DataFile, "one.env", 33),
		ref(k.SecretGenerator, k.DataFile, "secret.txt", 37),
		ref(k.Generators, k.Plugin, "gen.yaml", 39),
		ref(k.Transformers, k.Plugin, "../transformers", 41),
		ref(k.Validators, k.Plugin, "v.yaml", 43),
		{k.Ref{Field: k.HelmCharts, Kind: k.Chart, Value: "web", Home: "vendored"}, 47},
		ref(k.HelmCharts, k.ChartValues, "web-values.yaml", 48),
		ref(k.HelmCharts, k.ChartValues, "web-extra.yaml", 50),
		{k.Ref{Field: k.HelmChartInflationGenerator, Kind: k.Chart, Value: "legacy", Home: "legacy-charts"}, 52},
		ref(k.HelmChartInflationGenerator, k.ChartValues, "legacy-values.yaml", 54),
	}
	if got := withLines(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Refs:\n%s\nwant\n%s", sprintRefs(got), sprintRefs(want))
	}
	if f.Path != "o/kustomization.yaml" || f.Dir != "o" || f.Kind != "Kustomization" || f.Invalid != nil {
		t.Errorf("File = %s in %s, kind %q, invalid %v", f.Path, f.Dir, f.Kind, f.Invalid)
	}
	// What a build sees: FixKustomization has merged bases into resources
	// and the inflation generator into helmCharts.
	fixed := f.Kustomization()
	if !reflect.DeepEqual(fixed.Resources, []string{"../base", "cm.yaml", "../old-base"}) || len(fixed.HelmCharts) != 2 || fixed.HelmChartInflationGenerator != nil {
		t.Errorf("Kustomization() = resources %q, %d helm charts, inflation generator %v", fixed.Resources, len(fixed.HelmCharts), fixed.HelmChartInflationGenerator)
	}
	if got := f.KeyLine("HELMCHARTS"); got != 46 {
		t.Errorf("KeyLine(HELMCHARTS) = %d, want 46", got)
	}
}

// lined is a reference with its line.
type lined struct {
	k.Ref
	Line int
}

func withLines(f *k.File) []lined {
	var out []lined
	for _, r := range f.Refs {
		out = append(out, lined{r, f.Line(r)})
	}
	return out
}

func sprintRefs(refs []lined) string {
	var b strings.Builder
	for _, r := range refs {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

// TestLoadReadsAsKustomize: keys in any case, anchors, deprecated
// fields; references resolve from where the file really is.
func TestLoadReadsAsKustomize(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{
		"o/kustomization.yml": "metadata:\n  name: &u https://example.com/x\nRESOURCES:\n  - *u\n  - a.yaml\nPatches:\n  - Path: p.yaml\n",
		"linked":              "symlink:o",
	})
	f, err := k.Load(tr, "linked")
	if err != nil {
		t.Fatal(err)
	}
	want := []lined{
		{k.Ref{Field: k.Resources, Kind: k.Resource, Value: "https://example.com/x", Path: "https://example.com/x"}, 2},
		{k.Ref{Field: k.Resources, Kind: k.Resource, Value: "a.yaml", Path: "a.yaml"}, 5},
		{k.Ref{Field: k.Patches, Kind: k.YAMLFile, Value: "p.yaml", Path: "p.yaml"}, 7},
	}
	if got := withLines(f); !reflect.DeepEqual(got, want) || f.Path != "o/kustomization.yml" || f.Dir != "o" {
		t.Errorf("Load(linked) = %s in %s:\n%s", f.Path, f.Dir, sprintRefs(got))
	}
	again, err := k.Load(tr, "o")
	if err != nil || again != f {
		t.Errorf("Load decoded the same kustomization twice in one tree (%v)", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{
		"syntax/kustomization.yaml":  "resources:\n- a.yaml\n  bad: [\n",
		"unknown/kustomization.yaml": "resources:\n  - a.yaml\nnamePrefx: x-\n",
		"typed/kustomization.yaml":   "resources: a.yaml\n",
		"none/deploy.yaml":           "kind: Deployment\n",
	})
	tests := []struct {
		dir      string
		wantLine int
		wantMsg  string
		invalid  bool // decoded, but kustomize refuses it
	}{
		{dir: "syntax", wantLine: 3, wantMsg: "mapping values are not allowed"},
		{dir: "typed", wantMsg: "cannot unmarshal string"},
		{dir: "unknown", wantLine: 3, wantMsg: `unknown field "namePrefx"`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			f, err := k.Load(tr, tt.dir)
			if tt.invalid {
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Refs) != 1 || f.Refs[0].Value != "a.yaml" {
					t.Errorf("references of a file kustomize refuses = %s, want a.yaml", sprintRefs(withLines(f)))
				}
				err = f.Invalid
			}
			var pe *manifest.ParseError
			if !errors.As(err, &pe) || pe.File != tt.dir+"/kustomization.yaml" || pe.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %v, want a *manifest.ParseError at %s/kustomization.yaml:%d saying %q", err, tt.dir, tt.wantLine, tt.wantMsg)
			}
		})
	}
	for _, dir := range []string{"none", "missing", "."} {
		if _, err := k.Load(tr, dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%s) error = %v, want fs.ErrNotExist", dir, err)
		}
	}
}

func TestFind(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{
		"two/kustomization.yaml":       "",
		"two/Kustomization":            "",
		"one/kustomization.yml":        "",
		"kustomization.yaml/README.md": "a directory with a kustomization's name is not one\n",
	})
	for dir, want := range map[string][]string{
		"two": {"two/kustomization.yaml", "two/Kustomization"},
		"one": {"one/kustomization.yml"},
		".":   nil,
	} {
		if got := k.Find(tr, dir); !reflect.DeepEqual(got, want) {
			t.Errorf("Find(%s) = %q, want %q", dir, got, want)
		}
	}
	for name, want := range map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true, "kustomization.json": false, "Kustomization.yaml": false} {
		if got := k.IsName(name); got != want {
			t.Errorf("IsName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFileSourcePath(t *testing.T) {
	tests := []struct {
		src, want string
		ok        bool
	}{
		{"app.properties", "app.properties", true},
		{"key=dir/app.properties", "dir/app.properties", true},
		{"", "", true},
		{"a=b=c", "", false},
		{"=path", "", false},
		{"key=", "", false},
	}
	for _, tt := range tests {
		if got, ok := k.FileSourcePath(tt.src); got != tt.want || ok != tt.ok {
			t.Errorf("FileSourcePath(%q) = %q, %v, want %q, %v", tt.src, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRemoteShapes(t *testing.T) {
	tests := []struct {
		ref       string
		url, repo bool
	}{
		{ref: "https://github.com/org/repo/base?ref=main", url: true},
		{ref: "ssh://git@example.com/repo.git", url: true},
		{ref: "git::https://example.com/repo.git", url: true, repo: true},
		{ref: "github.com/org/repo//x?ref=v1", repo: true},
		{ref: "GitHub.com:org/repo", repo: true},
		{ref: "git@github.com:org/repo.git//c", repo: true},
		{ref: "../base"},
		{ref: "github.company.com/x"},
	}
	for _, tt := range tests {
		if got := k.IsURL(tt.ref); got != tt.url {
			t.Errorf("IsURL(%q) = %v, want %v", tt.ref, got, tt.url)
		}
		if got := k.LooksLikeRepo(tt.ref); got != tt.repo {
			t.Errorf("LooksLikeRepo(%q) = %v, want %v", tt.ref, got, tt.repo)
		}
	}
}

func TestPluginConfigs(t *testing.T) {
	data := []byte(`apiVersion: builtin
kind: PatchTransformer
Path: patch.yaml
paths: [a.yaml, b.yaml]
---
apiVersion: builtin
kind: ConfigMapGenerator
files: [k=data.txt, bad=x=y]
envs: [e.env]
env: one.env
replacements:
  - path: r.yaml
---
apiVersion: example.com/v1
kind: Exec
metadata:
  annotations:
    config.kubernetes.io/function: "exec: {path: ./fn}"
---
apiVersion: builtin
kind: LabelTransformer
labels: {source: "https://example.com/x"}
---
- not a configuration
`)
	docs, err := k.DecodeDocs(data)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		line            int
		url             string
		builtin, fn, ok bool
		refs            string
	}
	var got []summary
	for _, d := range docs {
		s := summary{line: d.Line, url: d.URL}
		if c, ok := d.Plugin(); ok {
			s.ok, s.builtin, s.fn = true, c.Builtin, c.Function
			for _, r := range c.Refs {
				s.refs += string(r.Field) + ":" + r.Path + " "
			}
		}
		got = append(got, s)
	}
	want := []summary{
		{line: 1, ok: true, builtin: true, refs: "path:patch.yaml paths:a.yaml paths:b.yaml "},
		// A document after the first starts at its "---".
		{line: 5, ok: true, builtin: true, refs: "env:one.env envs:e.env files:data.txt replacements:r.yaml "},
		{line: 13, ok: true, fn: true},
		{line: 19, ok: true, builtin: true, url: "https://example.com/x"},
		{line: 23},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plugin configurations =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := k.DecodeDocs([]byte("a: [\n")); err == nil {
		t.Error("DecodeDocs accepted invalid YAML")
	}
}
