package job

import (
	"context"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/syncer"
)

func liveDeployment(replicas int64, image string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "prod"},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "web", "image": image}}}}}}
}

// TestLiveDiffIgnoreDifferences: the live diff of an environment leaves
// out the fields its ignoreDifferences name, and shows the rest.
func TestLiveDiffIgnoreDifferences(t *testing.T) {
	key := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}
	tests := []struct {
		name          string
		ignore        []environment.IgnoreDifference
		want, notWant []string
		status        preview.Status
	}{
		{name: "nothing ignored", want: []string{"-  replicas: 5", "+  replicas: 2", "-      - image: web:1"}, status: preview.Changed},
		{name: "replicas ignored", ignore: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
			want: []string{"-      - image: web:1", "+      - image: web:2"}, notWant: []string{"replicas"}, status: preview.Changed},
		{name: "all that changed ignored", ignore: []environment.IgnoreDifference{{Group: "apps", Kind: "Deployment",
			JSONPointers: []string{"/spec/replicas"}, JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "web").image`}}},
			status: preview.Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			los := []syncer.LiveObject{{Key: key, Tracked: true, Live: liveDeployment(5, "web:1"), WouldBe: liveDeployment(2, "web:2")}}
			if err := syncer.IgnoreDifferences(context.Background(), los, normalize.New(tt.ignore)); err != nil {
				t.Fatal(err)
			}
			r := preview.EnvironmentResult{Status: preview.Unchanged}
			liveDiff(&r, los, diff.Options{Context: 3, From: "live", To: "head"})
			checkDiffText(t, r, tt.want, tt.notWant)
			if r.Status != tt.status {
				t.Errorf("status %s, want %s", r.Status, tt.status)
			}
		})
	}
}
