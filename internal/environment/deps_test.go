package environment_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// kustomizeFiles are the names kustomize accepts in dir: all of them are
// dependencies, since adding a second one changes the build.
func kustomizeFiles(dir string) []string {
	return []string{dir + "/Kustomization", dir + "/kustomization.yaml", dir + "/kustomization.yml"}
}

func files(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	sort.Strings(out)
	return out
}

func TestDependencies(t *testing.T) {
	kust := func(name, path, file string) environment.Environment {
		return environment.Environment{Name: name, Path: path, File: file, Type: environment.Kustomize}
	}
	tests := []struct {
		name      string
		files     map[string]string
		env       environment.Environment
		wantFiles []string
		wantDirs  []string
		wantErr   string
	}{
		{
			name:  "overlay on a shared base",
			files: sharedBase(),
			env:   kust("prod-eu", "envs/prod-eu", "apps/prod-eu.yaml"),
			wantFiles: files(
				[]string{"apps/prod-eu.yaml", "base/deployment.yaml", "base/service.yaml"},
				kustomizeFiles("base"), kustomizeFiles("envs/prod-eu"),
				[]string{"envs/prod-eu/app.properties", "envs/prod-eu/config/extra.properties", "envs/prod-eu/replicas.yaml", "envs/prod-eu/settings.env"},
			),
		},
		{
			name: "every kind of kustomize reference",
			files: map[string]string{
				"o/kustomization.yaml": kustomizationHeader + `resources:
  - https://github.com/example/repo//deploy?ref=v1
  - github.com/example/repo/deploy?ref=v1
  - missing-dir
  - plain-dir
  - ns.yaml
  - ../../outside
components:
  - ../comp
patchesStrategicMerge:
  - smp.yaml
  - |-
    apiVersion: apps/v1
    kind: Deployment
patchesJson6902:
  - path: json6902.yaml
    target: {kind: Deployment, name: app}
patches:
  - patch: '[{"op": "remove", "path": "/spec"}]'
    target: {kind: Service}
secretGenerator:
  - name: s
    env: secret.env
crds: [crds/widget.yaml]
configurations: [config/naming.yaml]
openapi:
  path: schema.json
replacements:
  - path: replacements.yaml
transformers:
  - transformers
  - labels.yaml
  - |
    apiVersion: builtin
    kind: LabelTransformer
helmGlobals:
  chartHome: vendored
helmCharts:
  - name: web
    valuesFile: web-values.yaml
    additionalValuesFiles: [web-extra.yaml]
`,
				"o/plain-dir/cm.yaml":               "kind: ConfigMap\n",
				"o/ns.yaml":                         "kind: Namespace\n",
				"o/labels.yaml":                     "kind: LabelTransformer\n",
				"o/transformers/prefix.yaml":        "kind: PrefixTransformer\n",
				"o/unrelated.yaml":                  "kind: ConfigMap\n",
				"comp/kustomization.yaml":           "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: comp-patch.yaml}]\n",
				"o/transformers/kustomization.yaml": kustomizationHeader + "resources: [prefix.yaml]\n",
				"o/vendored/web/Chart.yaml":         "apiVersion: v2\nname: web\nversion: 1.0.0\n",
			},
			env: kust("o", "o", ""),
			wantFiles: files(
				kustomizeFiles("o"), kustomizeFiles("comp"), kustomizeFiles("o/transformers"),
				[]string{
					"comp/comp-patch.yaml", "o/config/naming.yaml", "o/crds/widget.yaml", "o/json6902.yaml",
					"o/labels.yaml", "o/ns.yaml", "o/replacements.yaml", "o/schema.json", "o/secret.env",
					"o/smp.yaml", "o/transformers/prefix.yaml", "o/web-extra.yaml", "o/web-values.yaml",
				},
			),
			// github.com/... without a scheme could be a local directory: kept.
			wantDirs: []string{"o/github.com/example/repo/deploy?ref=v1", "o/missing-dir", "o/plain-dir", "o/vendored"},
		},
		{
			name: "keys are case-insensitive, as in kustomize",
			files: map[string]string{
				"o/kustomization.yaml": "Resources: [a.yaml]\nPatches:\n  - Path: p.yaml\n",
				"o/a.yaml":             "kind: ConfigMap\n",
			},
			env:       kust("o", "o", ""),
			wantFiles: files(kustomizeFiles("o"), []string{"o/a.yaml", "o/p.yaml"}),
		},
		{
			name: "directory without a kustomization counts whole",
			files: map[string]string{
				"o/kustomization.yaml": kustomizationHeader + "resources: [../raw]\n",
				"raw/cm.yaml":          "kind: ConfigMap\n",
			},
			env:       kust("o", "o", ""),
			wantFiles: kustomizeFiles("o"),
			wantDirs:  []string{"raw"},
		},
		{
			name:     "overlay directory that does not exist",
			files:    map[string]string{"README.md": ""},
			env:      kust("gone", "envs/gone", "apps/gone.yaml"),
			wantDirs: []string{"envs/gone"},
			// apps/gone.yaml is the defining file; it is not in the tree here,
			// which does not matter to dependencies.
			wantFiles: []string{"apps/gone.yaml"},
		},
		{
			name: "base through a symlink",
			files: merge(sharedBase(), map[string]string{
				"envs/linked/kustomization.yaml": kustomizationHeader + "resources: [../../linked-base]\n",
				"linked-base":                    symlinkPrefix + "base",
			}),
			env: kust("linked", "envs/linked", ""),
			wantFiles: files(
				kustomizeFiles("envs/linked"), kustomizeFiles("base"),
				[]string{"base/deployment.yaml", "base/service.yaml", "linked-base"},
			),
		},
		{
			name: "cycles end",
			files: map[string]string{
				"a/kustomization.yaml": kustomizationHeader + "resources: [../b]\n",
				"b/kustomization.yaml": kustomizationHeader + "resources: [../a]\n",
			},
			env:       kust("a", "a", ""),
			wantFiles: files(kustomizeFiles("a"), kustomizeFiles("b")),
		},
		{
			name: "unparsable kustomization in the graph",
			files: merge(sharedBase(), map[string]string{
				"base/kustomization.yaml": kustomizationHeader + "resources:\n  - deployment.yaml\n   service.yaml: x\n",
			}),
			env:     kust("staging", "envs/staging", ""),
			wantErr: "dependencies of staging: base/kustomization.yaml:",
		},
		{
			name: "helm chart, value files and file:// dependencies",
			files: map[string]string{
				"charts/pay/Chart.yaml":       "apiVersion: v2\nname: pay\nversion: 1.0.0\ndependencies:\n  - name: common\n    repository: file://../common\n  - name: redis\n    repository: https://charts.example.com\n",
				"charts/pay/values.yaml":      "",
				"charts/common/Chart.yaml":    "apiVersion: v2\nname: common\nversion: 1.0.0\ndependencies:\n  - name: base\n    repository: file://../../lib/base\n",
				"lib/base/Chart.yaml":         "apiVersion: v2\nname: base\nversion: 1.0.0\n",
				"envs/prod/values-pay.yaml":   "replicas: 5\n",
				"charts/unrelated/Chart.yaml": "apiVersion: v2\nname: unrelated\nversion: 1.0.0\n",
			},
			env: environment.Environment{
				Name: "pay", Path: "charts/pay", File: "apps/pay.yaml", Type: environment.Helm,
				Helm: &environment.HelmSource{ValueFiles: []string{
					"values-prod.yaml", "../../envs/prod/values-pay.yaml", "/envs/shared.yaml",
					"https://example.com/values.yaml", "$values/envs/prod.yaml", "../../../outside.yaml",
				}},
			},
			wantFiles: []string{"apps/pay.yaml", "envs/prod/values-pay.yaml", "envs/shared.yaml"},
			wantDirs:  []string{"charts/common", "charts/pay", "lib/base"},
		},
		{
			name:      "directory source",
			files:     map[string]string{"manifests/cm.yaml": "kind: ConfigMap\n"},
			env:       environment.Environment{Name: "m", Path: "manifests", File: ".ferry.yaml", Type: environment.Directory},
			wantFiles: []string{".ferry.yaml"},
			wantDirs:  []string{"manifests"},
		},
		{
			name:      "external environments depend on their Application only",
			files:     sharedBase(),
			env:       environment.Environment{Name: "x", Path: "envs/prod-eu", File: "apps/x.yaml", Type: environment.Kustomize, External: true},
			wantFiles: []string{"apps/x.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := environment.Dependencies(testrepo.Tree(t, tt.files), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Dependencies() error = %v, want one containing %q", err, tt.wantErr)
				}
				var pe *manifest.ParseError
				if !errors.As(err, &pe) || pe.Line == 0 {
					t.Errorf("error %v does not carry a *manifest.ParseError with a line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkDeps(t, got, tt.wantFiles, tt.wantDirs)
		})
	}
}

// checkDeps compares dependencies with the files and directories wanted.
func checkDeps(t *testing.T, got environment.Deps, wantFiles, wantDirs []string) {
	t.Helper()
	if !reflect.DeepEqual(got.Files, wantFiles) {
		t.Errorf("Files:\n  %s\nwant\n  %s", strings.Join(got.Files, "\n  "), strings.Join(wantFiles, "\n  "))
	}
	if !reflect.DeepEqual(got.Dirs, wantDirs) {
		t.Errorf("Dirs = %q, want %q", got.Dirs, wantDirs)
	}
}

func TestTouches(t *testing.T) {
	tr := testrepo.Tree(t, merge(sharedBase(), map[string]string{
		"charts/pay/Chart.yaml":     "apiVersion: v2\nname: pay\nversion: 1.0.0\n",
		"envs/prod/values-pay.yaml": "replicas: 5\n",
	}))
	envs := []environment.Environment{
		{Name: "prod-eu", Path: "envs/prod-eu", File: "apps/prod-eu.yaml", Type: environment.Kustomize},
		{Name: "staging", Path: "envs/staging", File: "apps/staging.yaml", Type: environment.Kustomize},
		{Name: "pay", Path: "charts/pay", File: "apps/pay.yaml", Type: environment.Helm,
			Helm: &environment.HelmSource{ValueFiles: []string{"../../envs/prod/values-pay.yaml"}}},
	}
	deps := map[string]environment.Deps{}
	for _, e := range envs {
		d, err := environment.Dependencies(tr, e)
		if err != nil {
			t.Fatal(err)
		}
		deps[e.Name] = d
	}
	tests := []struct {
		name    string
		changed []string
		want    []string
	}{
		{"base file touches both overlays", []string{"base/deployment.yaml"}, []string{"prod-eu", "staging"}},
		{"base kustomization touches both overlays", []string{"base/kustomization.yaml"}, []string{"prod-eu", "staging"}},
		{"second kustomization file in base", []string{"base/kustomization.yml"}, []string{"prod-eu", "staging"}},
		{"overlay patch touches its overlay", []string{"envs/prod-eu/replicas.yaml"}, []string{"prod-eu"}},
		{"generator source", []string{"envs/prod-eu/config/extra.properties"}, []string{"prod-eu"}},
		{"Application manifest", []string{"apps/staging.yaml"}, []string{"staging"}},
		{"chart template", []string{"charts/pay/templates/deployment.yaml"}, []string{"pay"}},
		{"helm value file outside the chart", []string{"envs/prod/values-pay.yaml"}, []string{"pay"}},
		{"unreferenced file next to the base", []string{"base/NOTES.md"}, nil},
		{"unreferenced file in an overlay", []string{"envs/prod-eu/README.md"}, nil},
		{"unrelated files", []string{"README.md", "docs/x.yaml", "envs/prod-eu-2/kustomization.yaml", "charts/pay2/Chart.yaml"}, nil},
		{"nothing changed", nil, nil},
		{"several", []string{"README.md", "envs/staging/kustomization.yaml", "charts/pay/values.yaml"}, []string{"pay", "staging"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range envs {
				if deps[e.Name].Touches(tt.changed) {
					got = append(got, e.Name)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("touched %v, want %v", got, tt.want)
			}
		})
	}
	if !(environment.Deps{Dirs: []string{"."}}).Touches([]string{"anything"}) {
		t.Error(`Dirs ["."] does not touch everything`)
	}
}

// On the test repository, static dependencies must pick exactly the
// environments its README says each scenario touches, computed on both
// sides of the change as a caller would.
func TestDependenciesScenarios(t *testing.T) {
	repo := testrepo.Build(t)
	open := func(rev string) (*repofs.Tree, []environment.Environment) {
		tr, err := repofs.OpenGit(context.Background(), repo, rev)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		cfg, err := config.Load(tr)
		if err != nil {
			t.Fatal(err)
		}
		d, err := environment.Discover(tr, environment.DiscoverOptions{RepoURL: testrepo.RepoURL, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		return tr, d.Environments
	}
	base, baseEnvs := open(testrepo.Main)
	want := map[string][]string{
		testrepo.ImageBumpProduction: {"payment-service-production"},
		testrepo.BaseChange:          {"payment-service-production", "payment-service-staging"},
		testrepo.AddRemoveResource:   {"payment-service", "payment-service-production"},
		testrepo.SecretChange:        {"payment-service-staging"},
		testrepo.BrokenKustomization: {"payment-service-staging"},
		testrepo.HelmValues:          {"payment-service"},
	}
	for _, s := range testrepo.Scenarios() {
		t.Run(s, func(t *testing.T) {
			head, headEnvs := open(testrepo.Branch(s))
			changed := repofs.Changed(base, head)
			touched := map[string]bool{}
			for _, side := range []struct {
				tree *repofs.Tree
				envs []environment.Environment
			}{{base, baseEnvs}, {head, headEnvs}} {
				for _, e := range side.envs {
					d, err := environment.Dependencies(side.tree, e)
					if err != nil || d.Touches(changed) {
						touched[e.Name] = true
					}
				}
			}
			var got []string
			for name := range touched {
				got = append(got, name)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, want[s]) {
				t.Errorf("changed %v touches %v, want %v", changed, got, want[s])
			}
		})
	}
}
