package syncer

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// TestWaitHealthySuspended: a paused Deployment and a suspended CronJob are
// Suspended, which ends the wait without an error (a sync does not fail,
// nor a rollout watch revert, for them), and the report says so.
func TestWaitHealthySuspended(t *testing.T) {
	paused := strings.Replace(deploymentYAML, "replicas: 2", "replicas: 2\n  paused: true", 1)
	cron := `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: job, image: job:1}]`
	tests := []struct {
		name string
		doc  string
		key  func(ns string) manifest.Key
		msg  string
	}{
		{"paused deployment", paused, func(ns string) manifest.Key {
			return manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}
		}, "deployment is paused"},
		{"suspended cronjob", cron, func(ns string) manifest.Key {
			return manifest.Key{Group: "batch", Kind: "CronJob", Namespace: ns, Name: "nightly"}
		}, "cronjob is suspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts, _ := syncedApp(t, []string{tt.doc, configMap("web", nil)})
			keys := []manifest.Key{cmKey(opts.Namespace, "web"), tt.key(opts.Namespace)}
			// No controller runs here: a paused Deployment never rolls
			// out, and the wait must not wait for it.
			report, err := s.WaitHealthy(ctxFor(t), keys, 30*time.Second)
			if err != nil {
				t.Fatalf("WaitHealthy: %v", err)
			}
			if report.Status() != health.Suspended {
				t.Errorf("report status %s, want Suspended", report.Status())
			}
			un := report.Unhealthy()
			if len(un) != 1 || un[0].Key != keys[1] || un[0].Status.Code != health.Suspended || un[0].Status.Message != tt.msg {
				t.Errorf("not healthy %+v, want only %s Suspended: %s", un, keys[1], tt.msg)
			}
		})
	}
}
