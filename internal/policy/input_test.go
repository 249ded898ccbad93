package policy

import (
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
)

func TestEnvironmentFrom(t *testing.T) {
	resources := []diff.Change{
		{Key: manifest.Key{Kind: "Service", Namespace: "payments", Name: "api"}, Change: diff.Added},
		{Key: manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "payments", Name: "api"}, Change: diff.Changed},
		{Key: manifest.Key{Kind: "ConfigMap", Namespace: "payments", Name: "c"}, Change: diff.Changed},
		{Key: manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "payments", Name: "worker"}, Change: diff.Changed},
		{Key: manifest.Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "admin"}, Change: diff.Added},
		{Key: manifest.Key{Group: "batch", Kind: "Job", Namespace: "payments", Name: "migrate"}, Change: diff.Removed},
		{Key: manifest.Key{Kind: "Secret", Namespace: "payments", Name: "db"}, Change: diff.Unchanged},
	}
	objects := []Object{
		{Kind: "Service", Namespace: "payments", Name: "api", Change: "added"},
		{Group: "apps", Kind: "Deployment", Namespace: "payments", Name: "api", Change: "changed"},
		{Kind: "ConfigMap", Namespace: "payments", Name: "c", Change: "changed"},
		{Group: "apps", Kind: "Deployment", Namespace: "payments", Name: "worker", Change: "changed"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "admin", Change: "added"},
		{Group: "batch", Kind: "Job", Namespace: "payments", Name: "migrate", Change: "removed"},
	}
	kinds := Kinds{Added: []string{"ClusterRoleBinding", "Service"}, Changed: []string{"ConfigMap", "Deployment"}, Removed: []string{"Job"}}
	none := Kinds{Added: []string{}, Changed: []string{}, Removed: []string{}}
	tests := []struct {
		name string
		res  preview.EnvironmentResult
		want Environment
	}{
		{
			name: "destination by server, project unset is default",
			res: preview.EnvironmentResult{
				Name: "production", Status: preview.Changed,
				Destination: environment.Destination{Server: "https://k8s.example.com", Namespace: "payments"},
				Counts:      preview.Counts{Added: 2, Changed: 3, Removed: 1, Unchanged: 1},
				Resources:   resources,
				Env:         environment.Environment{Name: "production"},
			},
			want: Environment{Name: "production", Namespace: "payments", Cluster: "https://k8s.example.com",
				Server: "https://k8s.example.com", Project: "default", Status: "changed",
				Added: 2, Changed: 3, Removed: 1, Kinds: kinds, Objects: objects},
		},
		{
			name: "destination by name, named project",
			res: preview.EnvironmentResult{
				Name: "tools", Status: preview.Changed,
				Destination: environment.Destination{Name: "production-eu", Namespace: "tools"},
				Counts:      preview.Counts{Added: 2, Changed: 3, Removed: 1},
				Resources:   resources,
				Env:         environment.Environment{Name: "tools", Project: "platform"},
			},
			want: Environment{Name: "tools", Namespace: "tools", Cluster: "production-eu",
				ClusterName: "production-eu", Project: "platform", Status: "changed",
				Added: 2, Changed: 3, Removed: 1, Kinds: kinds, Objects: objects},
		},
		{
			name: "destination by both: cluster is the name",
			res: preview.EnvironmentResult{
				Name: "staging", Status: preview.Unchanged,
				Destination: environment.Destination{Name: "staging", Server: "https://k8s.staging.example.com", Namespace: "payments"},
				Env:         environment.Environment{Name: "staging", Project: "payments"},
			},
			want: Environment{Name: "staging", Namespace: "payments", Cluster: "staging",
				Server: "https://k8s.staging.example.com", ClusterName: "staging", Project: "payments", Status: "unchanged",
				Kinds: none, Objects: []Object{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvironmentFrom(tt.res); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EnvironmentFrom =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestNormalizedLists: a policy can iterate every list of an environment,
// however the caller built it.
func TestNormalizedLists(t *testing.T) {
	tests := []struct {
		name string
		env  Environment
	}{
		{name: "zero environment", env: Environment{Name: "x"}},
		{name: "filled in", env: Environment{Name: "x",
			Objects:           []Object{{Kind: "Service", Name: "api", Change: "added"}},
			ProjectViolations: []ProjectViolation{{Reason: "r"}},
			SecretFindings:    []SecretFinding{{Rule: "r"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Input{Environments: []Environment{tt.env}}.normalized().Environments[0]
			for name, isNil := range map[string]bool{
				"objects":            got.Objects == nil,
				"project_violations": got.ProjectViolations == nil,
				"secret_findings":    got.SecretFindings == nil,
				"kinds.added":        got.Kinds.Added == nil,
			} {
				if isNil {
					t.Errorf("%s is nil after normalized()", name)
				}
			}
			if len(got.Objects) != len(tt.env.Objects) || len(got.ProjectViolations) != len(tt.env.ProjectViolations) {
				t.Errorf("normalized() changed the lists: %+v from %+v", got, tt.env)
			}
		})
	}
}
