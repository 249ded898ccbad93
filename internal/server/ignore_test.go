package server

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/history"
)

// TestSelfHealIgnoreDifferences: an Application that ignores the
// Deployment's spec.replicas, with RespectIgnoreDifferences=true. An
// autoscaler-like scale is no drift (nothing recorded, nothing healed);
// a deleted ConfigMap is, and its heal recreates it without resetting the
// replicas.
func TestSelfHealIgnoreDifferences(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	edited := strings.Replace(app, "      - CreateNamespace=true\n", "      - CreateNamespace=true\n      - RespectIgnoreDifferences=true\n", 1)
	edited = strings.Replace(edited, "  revisionHistoryLimit: 10", "  ignoreDifferences:\n  - group: apps\n    kind: Deployment\n    jsonPointers: [/spec/replicas]\n  revisionHistoryLimit: 10", 1)
	if strings.Count(edited, "RespectIgnoreDifferences") != 1 || !strings.Contains(edited, "ignoreDifferences:") {
		t.Fatalf("the seed Application changed shape:\n%s", app)
	}
	first := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": edited}, "ignore replicas")
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	h.scaleAs("hpa", 7)
	h.deleteTrackedConfigMap(t)
	if got := h.replicas(); got != 7 {
		t.Errorf("replicas %d after the heal, want the autoscaler's 7", got)
	}
	var drifts, heals []history.Event
	for _, e := range h.audit() {
		switch e.Kind {
		case "drift":
			drifts = append(drifts, e)
		case "heal":
			heals = append(heals, e)
		}
	}
	if len(drifts) != 1 || len(heals) != 1 || !strings.Contains(drifts[0].Detail, "deleted") {
		t.Errorf("audit has drifts %+v and %d heals, want only the deletion, healed once", drifts, len(heals))
	}
}
