package job

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// fakeDiscovery serves the discovery documents of a small cluster.
func fakeDiscovery(t *testing.T, versions *atomic.Int32) *httptest.Server {
	docs := map[string]any{
		"/version": map[string]any{"major": "1", "minor": "31", "gitVersion": "v1.31.4+k3s1"},
		"/api":     map[string]any{"kind": "APIVersions", "versions": []string{"v1"}},
		"/apis": map[string]any{"kind": "APIGroupList", "groups": []any{map[string]any{
			"name": "apps", "versions": []any{map[string]any{"groupVersion": "apps/v1", "version": "v1"}},
			"preferredVersion": map[string]any{"groupVersion": "apps/v1", "version": "v1"}}}},
		"/api/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
			map[string]any{"name": "configmaps", "kind": "ConfigMap", "namespaced": true, "verbs": []string{"get"}},
			map[string]any{"name": "pods/log", "kind": "Pod", "namespaced": true, "verbs": []string{"get"}}}},
		"/apis/apps/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": []any{
			map[string]any{"name": "deployments", "kind": "Deployment", "namespaced": true, "verbs": []string{"get"}}}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			versions.Add(1)
		}
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type recordingRenderer struct{ got []*environment.Capabilities }

func (r *recordingRenderer) Render(_ context.Context, _ *repofs.Tree, env environment.Environment) (*render.Result, error) {
	r.got = append(r.got, env.Capabilities)
	return &render.Result{}, nil
}

func TestCapabilitiesFromTheDestinationCluster(t *testing.T) {
	var versions atomic.Int32
	srv := fakeDiscovery(t, &versions)
	clusters := func(d environment.Destination) (*kube.Cluster, error) {
		if d.Name != "prod" {
			return nil, errors.New("unknown destination")
		}
		return kube.NewCluster(&rest.Config{Host: srv.URL})
	}
	want := &environment.Capabilities{KubeVersion: "v1.31.4+k3s1", APIVersions: []string{"apps/v1", "apps/v1/Deployment", "v1", "v1/ConfigMap"}}
	helmEnv := environment.Environment{Name: "web", Type: environment.Helm, Destination: environment.Destination{Name: "prod", Namespace: "a"}}
	tests := []struct {
		name string
		env  environment.Environment
		want *environment.Capabilities
	}{
		{"a Helm environment", helmEnv, want},
		{"again, from the cache (another namespace)", func() environment.Environment { e := helmEnv; e.Destination.Namespace = "b"; return e }(), want},
		{"a multi-source environment with a chart", environment.Environment{Type: environment.Kustomize, Destination: helmEnv.Destination,
			Sources: []environment.Source{{Type: environment.Helm}}}, want},
		{"a Kustomize environment asks nothing", environment.Environment{Type: environment.Kustomize, Destination: helmEnv.Destination}, nil},
		{"an unknown destination", environment.Environment{Type: environment.Helm, Destination: environment.Destination{Name: "nowhere"}}, nil},
		{"capabilities already set are kept", func() environment.Environment {
			e := helmEnv
			e.Capabilities = &environment.Capabilities{KubeVersion: "v1.2.3"}
			return e
		}(), &environment.Capabilities{KubeVersion: "v1.2.3"}},
	}
	rec := &recordingRenderer{}
	c := &Capabilities{Renderer: rec, Clusters: clusters}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Render(context.Background(), nil, tt.env); err != nil {
				t.Fatal(err)
			}
			if got := rec.got[len(rec.got)-1]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("capabilities %+v, want %+v", got, tt.want)
			}
		})
	}
	if n := versions.Load(); n != 1 {
		t.Errorf("the cluster was asked its version %d times, want once (cached)", n)
	}
}
