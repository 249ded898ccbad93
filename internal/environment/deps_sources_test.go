package environment_test

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestArgoFieldDependencies: what spec.source's kustomize and helm fields
// name, and every source of a multi-source Application, is a dependency.
func TestArgoFieldDependencies(t *testing.T) {
	tree := testrepo.Tree(t, map[string]string{
		"overlay/kustomization.yaml":            "resources: [cm.yaml]\n",
		"overlay/cm.yaml":                       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"components/a/kustomization.yaml":       "kind: Component\nresources: [x.yaml]\n",
		"components/a/x.yaml":                   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"components/extra-b/kustomization.yaml": "kind: Component\n",
		"chart/Chart.yaml":                      "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"shared/script.sh":                      "echo\n",
	})
	kust := environment.Environment{Name: "k", Path: "overlay", Type: environment.Kustomize, Kustomize: &environment.KustomizeSource{
		Components: []string{"../components/a", "../components/extra-*"},
		Patches:    []environment.KustomizePatch{{Path: "patch.yaml"}, {Patch: "inline"}},
	}}
	helm := environment.Environment{Name: "h", Path: "chart", Type: environment.Helm, Helm: &environment.HelmSource{
		FileParameters: []environment.HelmFileParameter{{Name: "a", Path: "files/cert.pem"}, {Name: "b", Path: "/shared/script.sh"}},
	}}
	multi := kust
	multi.Sources = []environment.Source{{Path: helm.Path, Type: helm.Type, Helm: helm.Helm}}
	tests := []struct {
		name    string
		env     environment.Environment
		touched []string
		not     []string
	}{
		{"kustomize components and patches", kust,
			[]string{"overlay/patch.yaml", "components/a/x.yaml", "components/a/kustomization.yaml", "components/extra-c/kustomization.yaml"},
			[]string{"chart/Chart.yaml", "shared/script.sh"}},
		{"helm fileParameters", helm,
			[]string{"chart/files/cert.pem", "shared/script.sh", "chart/templates/x.yaml"},
			[]string{"overlay/cm.yaml", "shared/other.sh"}},
		{"every source of a multi-source Application", multi,
			[]string{"overlay/cm.yaml", "components/a/x.yaml", "chart/templates/x.yaml", "shared/script.sh"},
			[]string{"shared/other.sh", "elsewhere/x.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := environment.Dependencies(tree, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.touched {
				if !d.Touches([]string{f}) {
					t.Errorf("a change to %s does not touch %s (deps %+v)", f, tt.env.Name, d)
				}
			}
			for _, f := range tt.not {
				if d.Touches([]string{f}) {
					t.Errorf("a change to %s touches %s (deps %+v)", f, tt.env.Name, d)
				}
			}
		})
	}
}
