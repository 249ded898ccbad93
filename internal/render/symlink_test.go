package render

import (
	"slices"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// Result.Files names every symlink a render followed, besides the paths it
// read and where they really are: a pull request that only retargets a link
// changes what the render sees, and callers match changed files against
// Result.Files exactly.
func TestFilesRecordSymlinks(t *testing.T) {
	kustHeader := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	tests := []struct {
		name  string
		files map[string]string
		env   environment.Environment
		want  []string // must all be in Files (others may be too)
	}{
		{
			name: "helm templates through a chain of directory links and a file link",
			files: map[string]string{
				"charts/app/Chart.yaml":       "apiVersion: v2\nname: app\nversion: 1.0.0\n",
				"charts/app/templates":        "symlink:../../hop",
				"hop":                         "symlink:shared/tpl",
				"shared/tpl/a.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
				"shared/tpl/b.yaml":           "symlink:../cm.yaml",
				"shared/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
				"charts/app/values.yaml":      "symlink:../../shared/values.yaml",
				"shared/values.yaml":          "x: 1\n",
				"charts/unrelated/Chart.yaml": "apiVersion: v2\nname: unrelated\nversion: 1.0.0\n",
			},
			env: environment.Environment{Name: "app", Path: "charts/app", Type: environment.Helm},
			want: []string{
				"charts/app/templates", "hop", "charts/app/templates/a.yaml", "shared/tpl/a.yaml",
				"charts/app/templates/b.yaml", "shared/tpl/b.yaml", "shared/cm.yaml",
				"charts/app/values.yaml", "shared/values.yaml",
			},
		},
		{
			// kustomize refuses files whose real path leaves the
			// kustomization's directory (as on disk), so the file links
			// stay inside it.
			name: "kustomize overlay and base behind links, resource through a chain",
			files: map[string]string{
				"envs/prod":                        "symlink:../overlays/prod",
				"overlays/prod/kustomization.yaml": kustHeader + "resources: [../../linked-base, cm.yaml]\n",
				"overlays/prod/cm.yaml":            "symlink:current.yaml",
				"overlays/prod/current.yaml":       "symlink:files/v1.yaml",
				"overlays/prod/files/v1.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod\n",
				"linked-base":                      "symlink:base",
				"base/kustomization.yaml":          kustHeader + "resources: [deploy.yaml]\n",
				"base/deploy.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
			},
			env: environment.Environment{Name: "prod", Path: "envs/prod", Type: environment.Kustomize},
			want: []string{
				"envs/prod", "linked-base", "overlays/prod/kustomization.yaml", "overlays/prod/cm.yaml",
				"overlays/prod/current.yaml", "overlays/prod/files/v1.yaml", "base/kustomization.yaml", "base/deploy.yaml",
			},
		},
		{
			name: "plain directory behind a link",
			files: map[string]string{
				"app":             "symlink:real-app",
				"real-app/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
			},
			env:  environment.Environment{Name: "app", Path: "app", Type: environment.Directory},
			want: []string{"app", "app/x.yaml", "real-app/x.yaml"},
		},
	}
	for _, tt := range tests {
		for kind, open := range map[string]func(testing.TB, map[string]string) *Result{
			"dir": func(t testing.TB, f map[string]string) *Result { return render(t, testrepo.Tree(t, f), tt.env) },
			"git": func(t testing.TB, f map[string]string) *Result { return render(t, gitTree(t, f), tt.env) },
		} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				res := open(t, tt.files)
				for _, w := range tt.want {
					if !slices.Contains(res.Files, w) {
						t.Errorf("Files lacks %s: %v", w, res.Files)
					}
				}
				if slices.Contains(res.Files, "charts/unrelated/Chart.yaml") {
					t.Errorf("Files names a file the render did not read: %v", res.Files)
				}
			})
		}
	}
}
