package environment_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// multiSource is an Application with spec.sources in the shape Argo CD
// documents for an external chart with value files from Git.
func multiSource(name, sources string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ` + name + `
spec:
  project: default
  sources:
` + sources + `  destination:
    server: https://kubernetes.default.svc
    namespace: ` + name + "\n"
}

const (
	repo        = "https://github.com/skillzmist/infrastructure"
	chartSource = "  - repoURL: https://charts.example.com\n    chart: ingress-nginx\n    targetRevision: 4.9.0\n" +
		"    helm:\n      valueFiles:\n        - $values/values/ingress.yaml\n        - values-prod.yaml\n"
	valuesSource = "  - repoURL: " + repo + ".git\n    targetRevision: main\n    ref: values\n"
)

func TestMultiSourceApplications(t *testing.T) {
	tests := []struct {
		name       string
		sources    string
		want       *environment.Environment
		wantReason string
	}{
		{
			name:    "external chart with value files from this repository",
			sources: chartSource + valuesSource,
			want: &environment.Environment{
				Type:           environment.Helm,
				Chart:          &environment.ChartSource{RepoURL: "https://charts.example.com", Name: "ingress-nginx", Version: "4.9.0"},
				RepoURL:        repo + ".git",
				TargetRevision: "main",
				Helm:           &environment.HelmSource{ValueFiles: []string{"$values/values/ingress.yaml", "values-prod.yaml"}, Refs: []string{"values"}},
			},
		},
		{
			name:    "a path here with a ref source",
			sources: "  - repoURL: " + repo + "\n    path: charts/web\n    targetRevision: main\n    helm:\n      valueFiles: [$shared/common.yaml]\n" + strings.Replace(valuesSource, "ref: values", "ref: shared", 1),
			want: &environment.Environment{
				Type: environment.Helm, Path: "charts/web", RepoURL: repo, TargetRevision: "main",
				Helm: &environment.HelmSource{ValueFiles: []string{"$shared/common.yaml"}, Refs: []string{"shared"}},
			},
		},
		{
			name:    "two rendered sources, both rendered",
			sources: chartSource + "  - repoURL: " + repo + "\n    path: extra\n",
			want: &environment.Environment{
				Type:    environment.Helm,
				Chart:   &environment.ChartSource{RepoURL: "https://charts.example.com", Name: "ingress-nginx", Version: "4.9.0"},
				Helm:    &environment.HelmSource{ValueFiles: []string{"$values/values/ingress.yaml", "values-prod.yaml"}},
				Sources: []environment.Source{{Path: "extra", Type: environment.Directory, RepoURL: repo}},
			},
		},
		{
			name: "paths here and a source elsewhere, with a ref",
			sources: "  - repoURL: https://github.com/other/apps\n    path: web\n" +
				"  - repoURL: " + repo + "\n    path: charts/web\n    targetRevision: main\n    helm:\n      valueFiles: [$values/values/web.yaml]\n" +
				"  - repoURL: " + repo + "\n    path: extra\n    kustomize:\n      commonAnnotations: {a: b}\n" + valuesSource,
			want: &environment.Environment{
				Type: environment.Helm, Path: "charts/web", RepoURL: repo, TargetRevision: "main",
				Helm: &environment.HelmSource{ValueFiles: []string{"$values/values/web.yaml"}, Refs: []string{"values"}},
				Sources: []environment.Source{{Path: "extra", Type: environment.Kustomize, RepoURL: repo,
					Kustomize: &environment.KustomizeSource{CommonAnnotations: map[string]string{"a": "b"}}}},
				ExternalSources: []string{"https://github.com/other/apps (path web)"},
			},
		},
		{
			name:    "only sources elsewhere",
			sources: "  - repoURL: https://github.com/other/apps\n    path: web\n  - repoURL: https://github.com/other/more\n    path: db\n",
			want: &environment.Environment{
				External: true, Path: "web", RepoURL: "https://github.com/other/apps",
				ExternalSources: []string{"https://github.com/other/more (path db)"},
			},
		},
		{
			name:       "a second source leaving the repository",
			sources:    chartSource + "  - repoURL: " + repo + "\n    path: ../outside\n",
			wantReason: `spec.sources[1].path`,
		},
		{
			name:       "values from another repository",
			sources:    chartSource + "  - repoURL: https://github.com/other/values\n    ref: values\n",
			wantReason: `value files from another repository (https://github.com/other/values, ref "values")`,
		},
		{
			name:       "ref sources at two revisions",
			sources:    chartSource + valuesSource + "  - repoURL: " + repo + "\n    targetRevision: dev\n    ref: more\n",
			wantReason: `ref sources at different revisions ("main", "dev")`,
		},
		{
			name:       "a ref that is not a name",
			sources:    chartSource + "  - repoURL: " + repo + "\n    ref: a/b\n",
			wantReason: `source ref "a/b" is not a name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"apps/ingress.yaml": multiSource("ingress", tt.sources), "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n"}
			got, err := environment.Discover(testrepo.Tree(t, files), environment.DiscoverOptions{RepoURL: repo})
			if err != nil {
				t.Fatal(err)
			}
			var apps []environment.Environment
			for _, e := range got.Environments {
				if e.Origin == environment.FromApplication {
					apps = append(apps, e)
				}
			}
			got.Environments = apps
			if tt.want == nil {
				if len(got.Environments) != 0 || len(got.Skipped) != 1 || !strings.Contains(got.Skipped[0].Reason, tt.wantReason) {
					t.Fatalf("environments %+v skipped %+v, want skipped for %q", got.Environments, got.Skipped, tt.wantReason)
				}
				return
			}
			if len(got.Environments) != 1 {
				t.Fatalf("environments %+v skipped %+v", got.Environments, got.Skipped)
			}
			e := got.Environments[0]
			w := *tt.want
			w.Name, w.Origin, w.File, w.Line, w.Project = "ingress", environment.FromApplication, "apps/ingress.yaml", e.Line, "default"
			w.Destination = environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "ingress"}
			if !reflect.DeepEqual(e, w) {
				t.Errorf("got  %+v\nwant %+v", e, w)
			}
		})
	}
}

func TestRefFile(t *testing.T) {
	h := &environment.HelmSource{Refs: []string{"values"}}
	tests := []struct {
		file, want string
		ok         bool
		wantErr    string
	}{
		{file: "values-prod.yaml"},
		{file: "$values/envs/prod.yaml", want: "envs/prod.yaml", ok: true},
		{file: "$values/../../etc/passwd", ok: true, wantErr: "leaves the repository root"},
		{file: "$other/x.yaml", ok: true, wantErr: "names $other, which is no ref source"},
	}
	for _, tt := range tests {
		got, ok, err := h.RefFile(tt.file)
		if got != tt.want || ok != tt.ok || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("RefFile(%q) = %q, %t, %v; want %q, %t, %q", tt.file, got, ok, err, tt.want, tt.ok, tt.wantErr)
		}
	}
}

func TestChartDependencies(t *testing.T) {
	files := map[string]string{"apps/ingress.yaml": multiSource("ingress", chartSource+valuesSource), "values/ingress.yaml": "a: 1\n", "values-prod.yaml": "b: 2\n"}
	tree := testrepo.Tree(t, files)
	found, err := environment.Discover(tree, environment.DiscoverOptions{RepoURL: repo})
	if err != nil || len(found.Environments) != 1 {
		t.Fatalf("discover: %v %+v", err, found)
	}
	deps, err := environment.Dependencies(tree, found.Environments[0])
	if err != nil {
		t.Fatal(err)
	}
	// The chart's own value file is in the fetched chart, not the repository.
	want := environment.Deps{Files: []string{"apps/ingress.yaml", "values/ingress.yaml"}}
	if !reflect.DeepEqual(deps, want) {
		t.Errorf("deps %+v, want %+v", deps, want)
	}
	for _, changed := range [][]string{{"apps/ingress.yaml"}, {"values/ingress.yaml"}} {
		if !deps.Touches(changed) {
			t.Errorf("%v does not touch the chart environment", changed)
		}
	}
	if deps.Touches([]string{"values-prod.yaml"}) {
		t.Error("a repository file named like the chart's value file touches it")
	}
}
