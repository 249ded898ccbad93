package environment_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const ignoreApp = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  project: default
  source:
    repoURL: https://github.com/o/r
    path: web
  destination:
    namespace: web
  ignoreDifferences:
`

func TestIgnoreDifferencesParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []environment.IgnoreDifference
		// wantSkip is in the reason the Application is skipped for.
		wantSkip []string
	}{
		{name: "all three kinds", yaml: `  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
  - kind: "*"
    group: "*"
    name: web
    namespace: web
    jqPathExpressions:
    - .spec.template.spec.containers[] | select(.name == "sidecar").image
    managedFieldsManagers: [kube-controller-manager]
`, want: []environment.IgnoreDifference{
			{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
			{Group: "*", Kind: "*", Name: "web", Namespace: "web",
				JQPathExpressions:     []string{`.spec.template.spec.containers[] | select(.name == "sidecar").image`},
				ManagedFieldsManagers: []string{"kube-controller-manager"}},
		}},
		{name: "jq that does not parse names its line", yaml: `  - group: apps
    kind: Deployment
    jqPathExpressions:
    - .spec.replicas
    - .spec.template[
`, wantSkip: []string{`spec.ignoreDifferences[0] (line 17)`, `jqPathExpressions[1]`, `.spec.template[`}},
		{name: "jq with an unknown function", yaml: `  - kind: Deployment
    jqPathExpressions: [nosuchfunction(.spec)]
`, wantSkip: []string{`(line 14)`, `nosuchfunction`}},
		{name: "bad pointer", yaml: `  - kind: ConfigMap
    jsonPointers:
    - spec/replicas
`, wantSkip: []string{`(line 15)`, `jsonPointers[0]`, `does not start with /`}},
		{name: "no kind", yaml: `  - group: apps
    jsonPointers: [/spec/replicas]
`, wantSkip: []string{`spec.ignoreDifferences[0] (line 13)`, `kind is required`}},
		{name: "misspelt field", yaml: `  - group: apps
    kind: Deployment
    jsonPointer: [/spec/replicas]
`, wantSkip: []string{`spec.ignoreDifferences[0] (line 15): unknown field "jsonPointer"`}},
		{name: "not a list", yaml: `    kind: Deployment
`, wantSkip: []string{`spec.ignoreDifferences (line 13) is not a list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"apps/web.yaml": ignoreApp + tt.yaml, "web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
			got, err := environment.Discover(testrepo.Tree(t, files), environment.DiscoverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSkip == nil {
				if len(got.Environments) != 1 || len(got.Skipped) != 0 {
					t.Fatalf("environments %v skipped %v, want web", got.Environments, got.Skipped)
				}
				if !reflect.DeepEqual(got.Environments[0].IgnoreDifferences, tt.want) {
					t.Errorf("IgnoreDifferences = %#v, want %#v", got.Environments[0].IgnoreDifferences, tt.want)
				}
				return
			}
			if len(got.Environments) != 0 || len(got.Skipped) != 1 {
				t.Fatalf("environments %v skipped %v, want web skipped", got.Environments, got.Skipped)
			}
			s := got.Skipped[0]
			if s.File != "apps/web.yaml" {
				t.Errorf("skipped file %s", s.File)
			}
			for _, w := range tt.wantSkip {
				if !strings.Contains(s.Reason, w) {
					t.Errorf("reason %q does not contain %q", s.Reason, w)
				}
			}
		})
	}
}
