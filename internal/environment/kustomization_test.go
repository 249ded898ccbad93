package environment_test

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

func TestReadKustomization(t *testing.T) {
	tr := testrepo.Tree(t, map[string]string{
		"o/kustomization.yml": kustomizationHeader + `resources:
  - ../base
  - cm.yaml
  - ../base
helmCharts:
  - name: web
  - name: oci://registry.example.com/charts/web
`,
		"o/cm.yaml":                    "kind: ConfigMap\n",
		"base/kustomization.yaml":      kustomizationHeader,
		"comp/kustomization.yaml":      "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
		"linked":                       symlinkPrefix + "o",
		"empty/kustomization.yaml":     "",
		"noKustomization/deploy.yaml":  "kind: Deployment\n",
		"kustomization.yaml/README.md": "a directory with a kustomization's name is not one\n",
	})
	tests := []struct {
		dir     string
		want    *environment.Kustomization
		wantErr error
	}{
		{
			dir: "o",
			want: &environment.Kustomization{
				File: "o/kustomization.yml", Dir: "o", Kind: "Kustomization",
				Dirs: []string{"base"}, Files: []string{"o/cm.yaml"},
				ChartHome: "o/charts", HelmCharts: []string{"o/charts/web"},
			},
		},
		{
			// References resolve from the real directory, as kustomize does.
			dir: "linked",
			want: &environment.Kustomization{
				File: "o/kustomization.yml", Dir: "o", Kind: "Kustomization",
				Dirs: []string{"base"}, Files: []string{"o/cm.yaml"},
				ChartHome: "o/charts", HelmCharts: []string{"o/charts/web"},
			},
		},
		{dir: "comp", want: &environment.Kustomization{File: "comp/kustomization.yaml", Dir: "comp", Kind: "Component"}},
		{dir: "empty", want: &environment.Kustomization{File: "empty/kustomization.yaml", Dir: "empty"}},
		{dir: "noKustomization", wantErr: fs.ErrNotExist},
		{dir: ".", wantErr: fs.ErrNotExist},
		{dir: "missing", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			got, err := environment.ReadKustomization(tr, tt.dir)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadKustomization() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadKustomization() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
