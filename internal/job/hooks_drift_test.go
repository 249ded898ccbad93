package job

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// TestHooksAreNotDesiredState: the desired state a sync stores for drift
// holds the app's resources, never its sync hooks, which the sync creates
// and deletes by their policies.
func TestHooksAreNotDesiredState(t *testing.T) {
	rendered, err := manifest.Parse([]byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {argocd.argoproj.io/hook: PreSync}
`), "app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	web := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}
	migrate := manifest.Key{Group: "batch", Kind: "Job", Namespace: "prod", Name: "migrate"}
	cs := &syncer.ChangeSet{App: "app", Changes: []syncer.Change{
		{Key: migrate, Action: syncer.HookCreated, Hook: synchook.PreSync},
		{Key: migrate, Action: syncer.HookSucceeded, Hook: synchook.PreSync},
		{Key: web, Action: syncer.Configured},
	}}
	want, kinds := desiredState(rendered, cs)
	if _, ok := want[migrate]; ok || len(want) != 1 {
		t.Errorf("desired state %v: want only the Deployment, not the hook", want)
	}
	if len(kinds) != 1 || kinds[0].Kind != "Deployment" {
		t.Errorf("watched kinds %v, want only Deployment", kinds)
	}
}
