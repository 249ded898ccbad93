package environment

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestRenderedDefinitions: an Application or ApplicationSet a parent's
// render produced goes through the checks a Git Application does.
func TestRenderedDefinitions(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{"web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n"})
	app := func(name, source string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: " + name + "}\nspec:\n  revisionHistoryLimit: 3\n  source: " + source +
			"\n  destination: {server: 'https://kubernetes.default.svc', namespace: web}\n"
	}
	tests := []struct {
		name, obj string
		want      []string // name/type/path of each environment
		reasons   []string // substrings, in order
	}{
		{name: "application", obj: app("web", "{path: web}"), want: []string{"web/directory/web"}},
		{name: "type from the path", obj: app("c", "{path: chart}"), want: []string{"c/helm/chart"}},
		{name: "other repository", obj: app("ext", "{repoURL: 'https://github.com/o/other', path: x}"), want: []string{"ext//x"}},
		{name: "path escaping the repository", obj: app("up", "{path: ../up}"), reasons: []string{`Application "up": spec.source.path`}},
		{name: "template left over", obj: app("t", "{path: '{{x}}'}"), reasons: []string{"is a template"}},
		{name: "invalid name", obj: app("Web_1", "{path: web}"), reasons: []string{`name "Web_1" is not a valid Application name`}},
		{name: "plugin", obj: app("p", "{path: web, plugin: {name: cmp}}"), reasons: []string{"config management plugin"}},
		{name: "not a definition", obj: "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: x}\n"},
		{
			name:    "applicationset refused whole",
			obj:     "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: dup}\nspec:\n  generators:\n  - list: {elements: [{team: a}, {team: b}]}\n  template:\n    metadata: {name: same}\n    spec:\n      source: {path: web}\n      destination: {server: 'https://kubernetes.default.svc', namespace: x}\n",
			reasons: []string{`parent/templates/x.yaml: ApplicationSet "dup": it generates two Applications named "same"`},
		},
		{
			name: "applicationset",
			obj: `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: set}
spec:
  generators:
  - list: {elements: [{team: a}, {team: Bad_Name}]}
  template:
    metadata: {name: '{{team}}'}
    spec:
      source: {path: web}
      destination: {server: 'https://kubernetes.default.svc', namespace: '{{team}}'}
`,
			want:    []string{"a/directory/web"},
			reasons: []string{`ApplicationSet "set", spec.generators[0]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tt.obj), &obj); err != nil {
				t.Fatal(err)
			}
			envs, reasons := RenderedDefinitions(tree, "parent/templates/x.yaml", obj, DiscoverOptions{RepoURL: "https://github.com/o/repo"})
			var got []string
			for _, e := range envs {
				got = append(got, e.Name+"/"+string(e.Type)+"/"+e.Path)
				origin := FromApplication
				if tt.name == "applicationset" {
					origin = FromApplicationSet
				}
				if e.File != "parent/templates/x.yaml" || e.Line != 0 || e.Origin != origin {
					t.Errorf("%s: file %q line %d origin %s", e.Name, e.File, e.Line, e.Origin)
				}
				if limit := e.RevisionHistoryLimit; tt.name != "applicationset" && (limit == nil || *limit != 3) {
					t.Errorf("%s: revisionHistoryLimit %v", e.Name, e.RevisionHistoryLimit)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("environments %v, want %v (reasons %v)", got, tt.want, reasons)
			}
			if len(reasons) != len(tt.reasons) {
				t.Fatalf("reasons %q, want %q", reasons, tt.reasons)
			}
			for i := range reasons {
				if !strings.Contains(reasons[i], tt.reasons[i]) {
					t.Errorf("reason %q lacks %q", reasons[i], tt.reasons[i])
				}
			}
		})
	}
}
