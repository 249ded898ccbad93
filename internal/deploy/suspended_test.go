package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestRunSuspended: a wait that ends with a Suspended object (a paused
// Deployment) is a success, and the sync's report names the object as
// Suspended, with why.
func TestRunSuspended(t *testing.T) {
	tests := []struct {
		name      string
		resources []syncer.ResourceHealth
		wantItem  string
	}{
		{"paused deployment", []syncer.ResourceHealth{
			{Key: manifest.Key{Kind: "ConfigMap", Namespace: "demo", Name: "app"}, Status: health.Status{Code: health.Healthy}},
			{Key: manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "demo", Name: "web"}, Status: health.Status{Code: health.Suspended, Message: "deployment is paused"}},
		}, "Suspended deployment is paused"},
		{"all healthy", []syncer.ResourceHealth{
			{Key: manifest.Key{Kind: "ConfigMap", Namespace: "demo", Name: "app"}, Status: health.Status{Code: health.Healthy}},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environment.Environment{Name: "demo", Type: environment.Directory, Path: "app", Destination: environment.Destination{Namespace: "demo"}}
			c := cluster{unhealthy: tt.resources}
			out := Run(context.Background(), preview.InProcess{}, &c, Request{Tree: testrepo.Tree(t, map[string]string{"app/cm.yaml": configMap}), Env: env, Config: &config.Config{}, HealthTimeout: time.Minute})
			if out.Result != history.Succeeded || out.Err != nil {
				t.Fatalf("result %s err %v, want Succeeded", out.Result, out.Err)
			}
			body := report.SyncComment(report.SyncResult{Environment: "demo", Record: history.Sync{Result: out.Result}, Changes: out.Changes, Unhealthy: out.Unhealthy})
			if tt.wantItem == "" {
				if len(out.Unhealthy) != 0 {
					t.Errorf("unhealthy %v, want none", out.Unhealthy)
				}
				return
			}
			if !strings.Contains(body, tt.wantItem) {
				t.Errorf("sync comment does not say %q:\n%s", tt.wantItem, body)
			}
		})
	}
}
