package config

import (
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// TestArgoSourceFieldsInFerryYAML: .ferry.yaml takes the rest of Argo CD's
// helm and kustomize fields under the same names.
func TestArgoSourceFieldsInFerryYAML(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		helm      *environment.HelmSource
		kustomize *environment.KustomizeSource
	}{
		{
			name: "helm",
			yaml: "environments:\n  - name: web\n    path: chart\n    helm:\n      kubeVersion: \"1.30\"\n      apiVersions: [example.com/v1]\n" +
				"      skipCrds: true\n      ignoreMissingValueFiles: true\n      namespace: other\n      passCredentials: true\n" +
				"      fileParameters: [{name: cert, path: files/cert.pem}]\n",
			helm: &environment.HelmSource{KubeVersion: "1.30", APIVersions: []string{"example.com/v1"}, SkipCrds: true,
				IgnoreMissingValueFiles: true, Namespace: "other", PassCredentials: true,
				FileParameters: []environment.HelmFileParameter{{Name: "cert", Path: "files/cert.pem"}}},
		},
		{
			name: "kustomize",
			yaml: "environments:\n  - name: web\n    path: overlay\n    kustomize:\n      commonAnnotations: {a: b}\n      forceCommonAnnotations: true\n" +
				"      labelWithoutSelector: true\n      components: [../c]\n      patches: [{path: p.yaml, target: {kind: Service}}]\n",
			kustomize: &environment.KustomizeSource{CommonAnnotations: map[string]string{"a": "b"}, ForceCommonAnnotations: true,
				LabelWithoutSelector: true, Components: []string{"../c"},
				Patches: []environment.KustomizePatch{{Path: "p.yaml", Target: &environment.PatchTarget{Kind: "Service"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			e := cfg.Environments[0]
			if !reflect.DeepEqual(e.Helm, tt.helm) || !reflect.DeepEqual(e.Kustomize, tt.kustomize) {
				t.Errorf("helm %+v kustomize %+v, want %+v and %+v", e.Helm, e.Kustomize, tt.helm, tt.kustomize)
			}
		})
	}
}
