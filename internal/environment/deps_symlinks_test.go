package environment_test

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const chartYAML = "apiVersion: v2\nname: app\nversion: 1.0.0\n"

func TestDependenciesFollowSymlinks(t *testing.T) {
	helm := environment.Environment{Name: "app", Path: "charts/app", File: "apps/app.yaml", Type: environment.Helm}
	dir := environment.Environment{Name: "m", Path: "manifests", File: "apps/m.yaml", Type: environment.Directory}
	tests := []struct {
		name      string
		files     map[string]string
		env       environment.Environment
		wantFiles []string
		wantDirs  []string
	}{
		{
			name: "chart template linked to a shared file",
			files: map[string]string{
				"charts/app/Chart.yaml":     chartYAML,
				"charts/app/templates/cm":   symlinkPrefix + "../../../shared/cm.yaml",
				"charts/app/templates/x":    "kind: ConfigMap\n",
				"shared/cm.yaml":            "kind: ConfigMap\n",
				"shared/unrelated.yaml":     "kind: ConfigMap\n",
				"charts/other/Chart.yaml":   chartYAML,
				"charts/other/templates/cm": symlinkPrefix + "../../../shared/unrelated.yaml",
			},
			env:       helm,
			wantFiles: []string{"apps/app.yaml", "shared/cm.yaml"},
			wantDirs:  []string{"charts/app"},
		},
		{
			name: "chart templates directory linked through a chain, with links inside",
			files: map[string]string{
				"charts/app/Chart.yaml": chartYAML,
				"charts/app/templates":  symlinkPrefix + "../../hop",
				"hop":                   symlinkPrefix + "shared/tpl",
				"shared/tpl/a.yaml":     "kind: ConfigMap\n",
				"shared/tpl/b.yaml":     symlinkPrefix + "../b.yaml",
				"shared/b.yaml":         "kind: ConfigMap\n",
				"shared/c.yaml":         "kind: ConfigMap\n",
			},
			env:       helm,
			wantFiles: []string{"apps/app.yaml", "hop", "shared/b.yaml"},
			wantDirs:  []string{"charts/app", "shared/tpl"},
		},
		{
			name: "vendored subchart and value file behind links",
			files: map[string]string{
				"charts/app/Chart.yaml":      chartYAML,
				"charts/app/charts/lib":      symlinkPrefix + "../../../lib",
				"lib/Chart.yaml":             "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
				"lib/templates/t.yaml":       symlinkPrefix + "../../shared/t.yaml",
				"shared/t.yaml":              "kind: ConfigMap\n",
				"charts/app/values-prod.yml": symlinkPrefix + "../../envs/prod.yaml",
				"envs/prod.yaml":             "x: 1\n",
			},
			env: environment.Environment{Name: "app", Path: "charts/app", File: "apps/app.yaml", Type: environment.Helm,
				Helm: &environment.HelmSource{ValueFiles: []string{"values-prod.yml"}}},
			wantFiles: []string{"apps/app.yaml", "envs/prod.yaml", "shared/t.yaml"},
			wantDirs:  []string{"charts/app", "lib"},
		},
		{
			// Helm joins file://../lib to charts/app as named: charts/lib,
			// not shared/lib beside where the link leads.
			name: "chart directory is a link, with a file:// dependency",
			files: map[string]string{
				"charts/app":                   symlinkPrefix + "../shared/chart",
				"shared/chart/Chart.yaml":      chartYAML + "dependencies:\n- name: lib\n  version: 1.0.0\n  repository: file://../lib\n",
				"shared/chart/templates/a.yml": "kind: ConfigMap\n",
				"charts/lib/Chart.yaml":        "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
				"charts/lib/templates/l.yaml":  "kind: ConfigMap\n",
				"shared/lib/Chart.yaml":        "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
			},
			env:       helm,
			wantFiles: []string{"apps/app.yaml"},
			wantDirs:  []string{"charts/app", "charts/lib", "shared/chart"},
		},
		{
			name: "plain directory: links at any depth, into directories that link on",
			files: map[string]string{
				"manifests/a.yaml":       "kind: ConfigMap\n",
				"manifests/sub/other":    symlinkPrefix + "../../other",
				"other/deep.yaml":        symlinkPrefix + "../third.yaml",
				"third.yaml":             "kind: ConfigMap\n",
				"manifests/self":         symlinkPrefix + ".",
				"manifests/gone":         symlinkPrefix + "../nowhere/dir",
				"manifests/outside.yaml": symlinkPrefix + "../../../etc/passwd",
			},
			env:       dir,
			wantFiles: []string{"apps/m.yaml", "third.yaml"},
			// A dangling link: where it would lead. A link back to a
			// directory already followed ends there.
			wantDirs: []string{"manifests", "nowhere/dir", "other"},
		},
		{
			name: "kustomize resource through a chain of links",
			files: map[string]string{
				"o/kustomization.yaml": kustomizationHeader + "resources: [cm.yaml]\n",
				"o/cm.yaml":            symlinkPrefix + "current.yaml",
				"o/current.yaml":       symlinkPrefix + "files/v1.yaml",
				"o/files/v1.yaml":      "kind: ConfigMap\n",
				"o/files/v2.yaml":      "kind: ConfigMap\n",
			},
			env:       environment.Environment{Name: "o", Path: "o", Type: environment.Kustomize},
			wantFiles: files(kustomizeFiles("o"), []string{"o/cm.yaml", "o/current.yaml", "o/files/v1.yaml"}),
		},
		{
			name: "kustomize directory resource without a kustomization, with a link inside",
			files: map[string]string{
				"o/kustomization.yaml": kustomizationHeader + "resources: [raw]\n",
				"o/raw/cm.yaml":        symlinkPrefix + "../../shared/cm.yaml",
				"shared/cm.yaml":       "kind: ConfigMap\n",
			},
			env:       environment.Environment{Name: "o", Path: "o", Type: environment.Kustomize},
			wantFiles: files(kustomizeFiles("o"), []string{"shared/cm.yaml"}),
			wantDirs:  []string{"o/raw"},
		},
		{
			name: "environment path is a link",
			files: map[string]string{
				"envs/prod":                        symlinkPrefix + "../overlays/prod",
				"overlays/prod/kustomization.yaml": kustomizationHeader + "resources: [cm.yaml]\n",
				"overlays/prod/cm.yaml":            "kind: ConfigMap\n",
			},
			env:       environment.Environment{Name: "prod", Path: "envs/prod", Type: environment.Kustomize},
			wantFiles: files(kustomizeFiles("overlays/prod"), []string{"envs/prod", "overlays/prod/cm.yaml"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := environment.Dependencies(testrepo.Tree(t, tt.files), tt.env)
			if err != nil {
				t.Fatal(err)
			}
			checkDeps(t, got, tt.wantFiles, tt.wantDirs)
		})
	}
}

// A symlink loop among an environment's inputs cannot be analysed: it is an
// error, which callers take as "touched".
func TestDependenciesSymlinkLoop(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   environment.Environment
	}{
		{
			name: "loop in a chart's templates",
			files: map[string]string{
				"charts/app/Chart.yaml":      chartYAML,
				"charts/app/templates/a.yml": symlinkPrefix + "b.yml",
				"charts/app/templates/b.yml": symlinkPrefix + "a.yml",
			},
			env: environment.Environment{Name: "app", Path: "charts/app", Type: environment.Helm},
		},
		{
			// Each file:// name goes through the link once more.
			name: "chart depending on itself through a link",
			files: map[string]string{
				"charts/app/Chart.yaml": chartYAML + "dependencies:\n- name: app\n  version: 1.0.0\n  repository: file://self\n",
				"charts/app/self":       symlinkPrefix + ".",
			},
			env: environment.Environment{Name: "app", Path: "charts/app", Type: environment.Helm},
		},
		{
			name: "loop as a kustomize resource",
			files: map[string]string{
				"o/kustomization.yaml": kustomizationHeader + "resources: [x.yaml]\n",
				"o/x.yaml":             symlinkPrefix + "../loop",
				"loop":                 symlinkPrefix + "o/x.yaml",
			},
			env: environment.Environment{Name: "o", Path: "o", Type: environment.Kustomize},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := environment.Dependencies(testrepo.Tree(t, tt.files), tt.env)
			if err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
				t.Errorf("Dependencies() error = %v, want a symlink loop", err)
			}
		})
	}
}
