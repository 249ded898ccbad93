package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
)

func TestIgnoreDifferences(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []environment.IgnoreDifference
		wantErr string
	}{
		{name: "declared", yaml: `environments:
- name: web
  path: web
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
    jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "x").image']
    managedFieldsManagers: [hpa]
`, want: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"},
			JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "x").image`}, ManagedFieldsManagers: []string{"hpa"}}}},
		{name: "bad jq", yaml: `environments:
- name: web
  path: web
  ignoreDifferences:
  - kind: Deployment
    jqPathExpressions: ['.spec[']
`, wantErr: ".ferry.yaml:2: environments[0]: ignoreDifferences[0]: jqPathExpressions[0]"},
		{name: "misspelt field", yaml: `environments:
- name: web
  path: web
  ignoreDifferences:
  - kind: Deployment
    jsonPointer: [/spec/replicas]
`, wantErr: "jsonPointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			envs := cfg.DeclaredEnvironments()
			if len(envs) != 1 || !reflect.DeepEqual(envs[0].IgnoreDifferences, tt.want) {
				t.Errorf("declared %#v, want ignoreDifferences %#v", envs, tt.want)
			}
		})
	}
}
