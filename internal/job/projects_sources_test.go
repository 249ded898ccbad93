package job

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestProjectChecksEveryChartSource: each chart of a multi-source
// Application must be among the project's sourceRepos, as in Argo CD.
func TestProjectChecksEveryChartSource(t *testing.T) {
	p := project.Project{Name: "p", Repos: []string{"*"}, SourceRepos: []string{"https://github.com/acme/*", "https://charts.acme.example"},
		Destinations: []project.Destination{{Server: "*", Namespace: "*"}}}
	repo := work.Repo{HTMLURL: "https://github.com/acme/web"}
	env := environment.Environment{Name: "web", Type: environment.Kustomize, Path: "k", Destination: environment.Destination{Server: "https://kubernetes.default.svc", Namespace: "web"}}
	tests := []struct {
		name    string
		sources []environment.Source
		wantErr string
	}{
		{"a path here", nil, ""},
		{"an allowed chart", []environment.Source{{Type: environment.Helm, Chart: &environment.ChartSource{RepoURL: "https://charts.acme.example", Name: "db"}}}, ""},
		{"a chart from elsewhere", []environment.Source{{Type: environment.Helm, Chart: &environment.ChartSource{RepoURL: "https://charts.evil.example", Name: "db"}}},
			"source https://charts.evil.example is not permitted in project p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			e.Sources = tt.sources
			b := bound{env: e, project: project.Effective{Name: "p", Layers: []project.Project{p}}, cluster: project.Cluster{Server: "https://kubernetes.default.svc"}}
			err := b.admits(repo)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("admits: %v, want %q", err, tt.wantErr)
			}
		})
	}
}
