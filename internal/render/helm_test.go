package render

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const valuesChartTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
  namespace: {{ .Release.Namespace }}
data:
  a: {{ .Values.a | quote }}
  b: {{ .Values.b | quote }}
  c: {{ .Values.c | quote }}
  d: {{ .Values.d | quote }}
  e: {{ .Values.e | toJson | quote }}
  nested: {{ .Values.nested | toJson | quote }}
  num: {{ kindOf .Values.num | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`

func valuesChart() map[string]string {
	return map[string]string{
		"charts/app/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"charts/app/values.yaml":       "a: chart\nb: chart\nc: chart\nd: chart\ne: chart\nnum: 1\nnested:\n  one: chart\n  two: chart\n",
		"charts/app/templates/cm.yaml": valuesChartTemplate,
		"charts/app/values-1.yaml":     "b: file1\nc: file1\nd: file1\ne: file1\nnested:\n  one: file1\n",
		"charts/app/values-2.yaml":     "c: file2\nd: file2\ne: file2\n",
		"envs/prod/values.yaml":        "d: prod\n",
	}
}

func TestHelmValuesPrecedence(t *testing.T) {
	tests := []struct {
		name string
		helm *environment.HelmSource
		want map[string]string
	}{
		{
			name: "chart defaults",
			want: map[string]string{"a": "chart", "b": "chart", "c": "chart", "d": "chart", "e": `"chart"`, "nested": `{"one":"chart","two":"chart"}`},
		},
		{
			name: "value files merge in order, deeply",
			helm: &environment.HelmSource{ValueFiles: []string{"values-1.yaml", "values-2.yaml"}},
			want: map[string]string{"a": "chart", "b": "file1", "c": "file2", "d": "file2", "e": `"file2"`, "nested": `{"one":"file1","two":"chart"}`},
		},
		{
			name: "value file outside the chart directory",
			helm: &environment.HelmSource{ValueFiles: []string{"values-1.yaml", "../../envs/prod/values.yaml"}},
			want: map[string]string{"c": "file1", "d": "prod"},
		},
		{
			name: "value file from the repository root",
			helm: &environment.HelmSource{ValueFiles: []string{"/envs/prod/values.yaml"}},
			want: map[string]string{"c": "chart", "d": "prod"},
		},
		{
			name: "values over value files",
			helm: &environment.HelmSource{ValueFiles: []string{"values-1.yaml", "values-2.yaml"}, Values: "d: values\ne: values\n"},
			want: map[string]string{"c": "file2", "d": "values", "e": `"values"`},
		},
		{
			name: "valuesObject replaces values entirely",
			helm: &environment.HelmSource{
				ValueFiles:   []string{"values-1.yaml", "values-2.yaml"},
				Values:       "d: values\ne: values\n",
				ValuesObject: map[string]any{"e": map[string]any{"from": "object"}},
			},
			want: map[string]string{"c": "file2", "d": "file2", "e": `{"from":"object"}`},
		},
		{
			name: "parameters win over everything",
			helm: &environment.HelmSource{
				ValueFiles:   []string{"values-1.yaml"},
				ValuesObject: map[string]any{"d": "object", "e": "object"},
				Parameters:   []environment.HelmParameter{{Name: "e", Value: "param"}, {Name: "nested.two", Value: "param"}},
			},
			want: map[string]string{"b": "file1", "d": "object", "e": `"param"`, "nested": `{"one":"file1","two":"param"}`},
		},
		{
			name: "parameter commas are literal, lists are lists",
			helm: &environment.HelmSource{Parameters: []environment.HelmParameter{{Name: "d", Value: "x,y"}, {Name: "e", Value: "{p,q}"}}},
			want: map[string]string{"d": "x,y", "e": `["p","q"]`},
		},
		{
			name: "forceString keeps a number a string",
			helm: &environment.HelmSource{Parameters: []environment.HelmParameter{{Name: "num", Value: "10", ForceString: true}}},
			want: map[string]string{"num": "string"},
		},
		{
			name: "plain parameter is typed",
			helm: &environment.HelmSource{Parameters: []environment.HelmParameter{{Name: "num", Value: "10"}}},
			want: map[string]string{"num": "int64"},
		},
	}
	tree := testrepo.Tree(t, valuesChart())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "rel", Path: "charts/app", Type: environment.Helm, Helm: tt.helm,
				Destination: environment.Destination{Namespace: "shop"}}
			res := render(t, tree, env)
			cm := find(t, res.Objects, "ConfigMap", "rel-values")
			if cm.Key.Namespace != "shop" {
				t.Errorf("namespace = %q", cm.Key.Namespace)
			}
			if cm.Source != "charts/app/templates/cm.yaml" {
				t.Errorf("source = %q", cm.Source)
			}
			for k, want := range tt.want {
				if got := field(cm.Object, "data", k); got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			if got := field(cm.Object, "data", "kube"); got != DefaultKubeVersion {
				t.Errorf("kube version = %v", got)
			}
			var wantFiles []string
			wantFiles = append(wantFiles, "charts/app/Chart.yaml", "charts/app/templates/cm.yaml", "charts/app/values-1.yaml", "charts/app/values-2.yaml", "charts/app/values.yaml")
			if tt.helm != nil && slices.Contains(tt.helm.ValueFiles, "../../envs/prod/values.yaml") || tt.helm != nil && slices.Contains(tt.helm.ValueFiles, "/envs/prod/values.yaml") {
				wantFiles = append(wantFiles, "envs/prod/values.yaml")
			}
			if !slices.Equal(res.Files, wantFiles) {
				t.Errorf("files = %v, want %v", res.Files, wantFiles)
			}
		})
	}
}

// packChart writes a chart archive like `helm package` would.
func packChart(t *testing.T, files map[string]string, outDir string) {
	t.Helper()
	src := testrepo.Files(t, files)
	c, err := loader.LoadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chartutil.Save(c, outDir); err != nil {
		t.Fatal(err)
	}
}

func cmTemplate(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"
}

func TestHelmDependencies(t *testing.T) {
	root := testrepo.Files(t, map[string]string{
		"services/top/Chart.yaml": `apiVersion: v2
name: top
version: 1.0.0
dependencies:
- name: sub
  version: 0.1.0
- name: packed
  version: 1.0.0
  repository: https://charts.example.com
- name: common
  alias: shared
  version: ^2.0.0
  repository: file://../../libs/common
`,
		"services/top/values.yaml":                  "sub:\n  greeting: from-top\nshared:\n  greeting: shared-from-top\n",
		"services/top/templates/cm.yaml":            cmTemplate("top"),
		"services/top/.helmignore":                  "*.md\nignored/\n",
		"services/top/README.md":                    "ignored by .helmignore\n",
		"services/top/ignored/big.yaml":             "ignored by .helmignore\n",
		"services/top/charts/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		"services/top/charts/sub/values.yaml":       "greeting: sub-default\n",
		"services/top/charts/sub/templates/cm.yaml": cmTemplate("sub"),
		"libs/common/Chart.yaml":                    "apiVersion: v2\nname: common\nversion: 2.1.0\n",
		"libs/common/templates/cm.yaml":             cmTemplate("common"),
		"libs/common/values.yaml":                   "greeting: common-default\n",
		"libs/unrelated.yaml":                       "not read\n",
	})
	packChart(t, map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: packed\nversion: 1.0.0\n",
		"values.yaml":       "greeting: packed-default\n",
		"templates/cm.yaml": cmTemplate("packed"),
	}, filepath.Join(root, "services/top/charts"))
	tree, err := repofs.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}

	res := render(t, tree, environment.Environment{Name: "top", Path: "services/top", Type: environment.Helm})
	want := map[string]struct{ greeting, source string }{
		"top":    {"", "services/top/templates/cm.yaml"},
		"sub":    {"from-top", "services/top/charts/sub/templates/cm.yaml"},
		"packed": {"packed-default", "services/top/charts/packed-1.0.0.tgz"},
		"common": {"shared-from-top", "libs/common/templates/cm.yaml"},
	}
	if len(res.Objects) != len(want) {
		t.Errorf("objects = %v", keys(res.Objects))
	}
	for name, w := range want {
		cm := find(t, res.Objects, "ConfigMap", name)
		if cm.Source != w.source {
			t.Errorf("%s source = %q, want %q", name, cm.Source, w.source)
		}
		if got, _ := field(cm.Object, "data", "greeting").(string); got != w.greeting {
			t.Errorf("%s greeting = %q, want %q", name, got, w.greeting)
		}
	}
	wantFiles := []string{
		"libs/common/Chart.yaml", "libs/common/templates/cm.yaml", "libs/common/values.yaml",
		"services/top/.helmignore", "services/top/Chart.yaml",
		"services/top/charts/packed-1.0.0.tgz",
		"services/top/charts/sub/Chart.yaml", "services/top/charts/sub/templates/cm.yaml", "services/top/charts/sub/values.yaml",
		"services/top/templates/cm.yaml", "services/top/values.yaml",
	}
	if !slices.Equal(res.Files, wantFiles) {
		t.Errorf("files =\n%v\nwant\n%v", res.Files, wantFiles)
	}
}

func TestHelmOutputLikeHelmTemplate(t *testing.T) {
	files := map[string]string{
		"chart/Chart.yaml":             "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/crds/crd.yaml":          "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\n",
		"chart/templates/multi.yaml":   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n",
		"chart/templates/hook.yaml":    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n",
		"chart/templates/tests/t.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations:\n    helm.sh/hook: test\n",
		"chart/templates/NOTES.txt":    "Thanks for installing {{ .Release.Name }}\n",
		"chart/templates/_helpers.tpl": "{{ define \"x\" }}x{{ end }}\n",
		"chart/templates/caps.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\n  namespace: {{ .Release.Namespace }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version }}\n  minor: {{ .Capabilities.KubeVersion.Minor | quote }}\n",
	}
	tree := testrepo.Tree(t, files)
	res, err := Render(context.Background(), tree, environment.Environment{Name: "my-env", Path: "chart", Type: environment.Helm}, Options{KubeVersion: "v1.31.4"})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{
		"ConfigMap/default/caps", "Pod/smoke", "Service/my-env", "ServiceAccount/my-env",
		"apiextensions.k8s.io/CustomResourceDefinition/gadgets.example.com",
		"apiextensions.k8s.io/CustomResourceDefinition/widgets.example.com",
		"batch/Job/migrate",
	}
	if got := keys(res.Objects); !slices.Equal(got, wantKeys) {
		t.Errorf("objects = %v, want %v", got, wantKeys)
	}
	sources := map[string]string{
		"caps": "chart/templates/caps.yaml", "smoke": "chart/templates/tests/t.yaml", "my-env": "chart/templates/multi.yaml",
		"widgets.example.com": "chart/crds/crd.yaml", "gadgets.example.com": "chart/crds/crd.yaml", "migrate": "chart/templates/hook.yaml",
	}
	for _, o := range res.Objects {
		if o.Source != sources[o.Key.Name] {
			t.Errorf("%s source = %q, want %q", o.Key, o.Source, sources[o.Key.Name])
		}
	}
	caps := find(t, res.Objects, "ConfigMap", "caps")
	if got := field(caps.Object, "data", "kube"); got != "v1.31.4" {
		t.Errorf("kube version = %v", got)
	}
	if got := field(caps.Object, "data", "minor"); got != "31" {
		t.Errorf("minor = %v", got)
	}
}

func TestHelmRefusesWhatItWouldFetch(t *testing.T) {
	outside := testrepo.Files(t, map[string]string{"values.yaml": "secret: stolen\n", "lib/Chart.yaml": "apiVersion: v2\nname: lib\nversion: 1.0.0\n"})
	chart := func(deps string) map[string]string {
		return map[string]string{
			"chart/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n" + deps,
			"chart/templates/cm.yaml": cmTemplate("web"),
			"lib/Chart.yaml":          "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
		}
	}
	tests := []struct {
		name     string
		tree     map[string]string
		helm     *environment.HelmSource
		wantFile string
		wantLine int
		wantMsg  string
		outside  bool
	}{
		{name: "https dependency", tree: chart("- name: redis\n  version: 17.0.0\n  repository: https://charts.bitnami.com/bitnami\n"),
			wantFile: "chart/Chart.yaml", wantLine: 5, wantMsg: "chart redis 17.0.0 from https://charts.bitnami.com/bitnami: fetching is off"},
		{name: "oci dependency", tree: chart("- name: pg\n  version: 1.0.0\n  repository: oci://registry.example.com/charts\n"),
			wantFile: "chart/Chart.yaml", wantLine: 5, wantMsg: "oci://registry.example.com/charts"},
		{name: "dependency without repository", tree: chart("- name: ghost\n  version: 1.0.0\n"),
			wantFile: "chart/Chart.yaml", wantLine: 5, wantMsg: `"ghost" is not vendored`},
		{name: "file dependency leaving the repository", tree: chart("- name: lib\n  repository: file://../../../../../../../lib\n"),
			wantFile: "chart/Chart.yaml", wantLine: 5, outside: true},
		{name: "file dependency with the wrong version", tree: chart("- name: lib\n  version: ^2.0.0\n  repository: file://../lib\n"),
			wantFile: "chart/Chart.yaml", wantLine: 5, wantMsg: "can't get a valid version for dependency lib"},
		{name: "remote value file", tree: chart(""), helm: &environment.HelmSource{ValueFiles: []string{"https://example.com/values.yaml"}},
			wantFile: "apps/web.yaml", wantMsg: "ferry does not fetch remote values"},
		{name: "value file leaving the repository", tree: chart(""), helm: &environment.HelmSource{ValueFiles: []string{"../../../../../../../" + outside + "/values.yaml"}},
			wantFile: "apps/web.yaml", outside: true},
		{name: "missing value file", tree: chart(""), helm: &environment.HelmSource{ValueFiles: []string{"nope.yaml"}},
			wantFile: "apps/web.yaml", wantMsg: `value file "nope.yaml" not found`},
		{name: "symlinked value file leaving the repository", tree: with(chart(""), map[string]string{"chart/v.yaml": "symlink:" + filepath.Join(outside, "values.yaml")}),
			helm: &environment.HelmSource{ValueFiles: []string{"v.yaml"}}, wantFile: "chart/v.yaml", outside: true},
		{name: "symlink in the chart leaving the repository", tree: with(chart(""), map[string]string{"chart/files/secret.yaml": "symlink:" + filepath.Join(outside, "values.yaml")}),
			wantFile: "chart/files/secret.yaml", outside: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "web", Path: "chart", Type: environment.Helm, Helm: tt.helm, File: "apps/web.yaml"}
			_, err := Render(context.Background(), testrepo.Tree(t, tt.tree), env, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if re.File != tt.wantFile || re.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want %s:%d: %v", re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if tt.outside && !errors.Is(err, repofs.ErrOutsideRoot) {
				t.Errorf("error %v is not ErrOutsideRoot", err)
			}
			if strings.Contains(err.Error(), "stolen") {
				t.Errorf("error reveals content from outside the repository: %v", err)
			}
		})
	}
}

func TestHelmErrorsAreLocated(t *testing.T) {
	chart := func(extra map[string]string) map[string]string {
		return with(map[string]string{
			"chart/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
			"chart/values.yaml": "x: 1\n",
		}, extra)
	}
	tests := []struct {
		name     string
		tree     map[string]string
		wantFile string
		wantLine int
		wantMsg  string
	}{
		{name: "template parse error", tree: chart(map[string]string{"chart/templates/bad.yaml": "a: 1\nb: 2\nc: {{ end }}\n"}),
			wantFile: "chart/templates/bad.yaml", wantLine: 3},
		{name: "fail in a template", tree: chart(map[string]string{"chart/templates/bad.yaml": "# comment\n{{ fail \"boom\" }}\n"}),
			wantFile: "chart/templates/bad.yaml", wantLine: 2, wantMsg: "boom"},
		{name: "execution error", tree: chart(map[string]string{"chart/templates/bad.yaml": "a: 1\nb: {{ .Values.x.y.z }}\n"}),
			wantFile: "chart/templates/bad.yaml", wantLine: 2},
		{name: "error in a subchart", tree: chart(map[string]string{
			"chart/charts/sub/Chart.yaml":         "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
			"chart/charts/sub/templates/bad.yaml": "\n\n\n{{ fail \"sub broke\" }}\n",
		}), wantFile: "chart/charts/sub/templates/bad.yaml", wantLine: 4, wantMsg: "sub broke"},
		{name: "rendered YAML is invalid", tree: chart(map[string]string{"chart/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\n metadata: [\n"}),
			wantFile: "chart/templates/bad.yaml", wantMsg: "YAML parse error"},
		{name: "values.yaml syntax", tree: chart(map[string]string{"chart/values.yaml": "a: 1\nb: [\n"}),
			wantFile: "chart/values.yaml", wantLine: 2},
		{name: "Chart.yaml missing", tree: map[string]string{"chart/values.yaml": "a: 1\n"},
			wantFile: "chart/Chart.yaml", wantMsg: "Chart.yaml file is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), testrepo.Tree(t, tt.tree), environment.Environment{Name: "web", Path: "chart", Type: environment.Helm}, Options{})
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if re.File != tt.wantFile || re.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want %s:%d: %v", re.File, re.Line, tt.wantFile, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}
