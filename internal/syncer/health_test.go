package syncer

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-gitops/ferry/internal/health"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// setStatus replaces obj's status through the status subresource, as a
// controller would.
func setStatus(t *testing.T, s *Syncer, k manifest.Key, status map[string]any) {
	t.Helper()
	ri, err := s.resourceFor(k)
	if err != nil {
		t.Fatal(err)
	}
	live := get(t, s, k)
	if status["observedGeneration"] == "current" {
		status["observedGeneration"] = live.GetGeneration()
	}
	live.Object["status"] = status
	if _, err := ri.UpdateStatus(ctxFor(t), live, metav1.UpdateOptions{FieldManager: "test-controller"}); err != nil {
		t.Fatalf("update status of %s: %v", k, err)
	}
}

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}`

func TestWaitHealthyDeployment(t *testing.T) {
	s, opts, _ := syncedApp(t, []string{deploymentYAML, configMap("web", nil)})
	dep := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: opts.Namespace, Name: "web"}
	keys := []manifest.Key{cmKey(opts.Namespace, "web"), dep}

	// Progressing: a short deadline times out and names the Deployment.
	setStatus(t, s, dep, map[string]any{"observedGeneration": "current", "replicas": int64(2), "updatedReplicas": int64(1), "availableReplicas": int64(0)})
	report, err := s.WaitHealthy(ctxFor(t), keys, 200*time.Millisecond)
	var herr *HealthError
	if !errors.Is(err, ErrHealthTimeout) || !errors.As(err, &herr) {
		t.Fatalf("WaitHealthy: err = %v, want ErrHealthTimeout", err)
	}
	if len(herr.Resources) != 1 || herr.Resources[0].Key != dep || herr.Resources[0].Status.Code != health.Progressing {
		t.Errorf("unhealthy resources %+v, want the Deployment, Progressing", herr.Resources)
	}
	if !strings.Contains(err.Error(), dep.String()+" is Progressing: waiting for rollout to finish: 1 out of 2") {
		t.Errorf("error %q does not list the Deployment and why", err)
	}
	if report.Status() != health.Progressing {
		t.Errorf("report status %s, want Progressing", report.Status())
	}

	// A wait in progress sees the rollout finish.
	done := make(chan error, 1)
	var got HealthReport
	go func() {
		var err error
		got, err = s.WaitHealthy(ctxFor(t), keys, time.Minute)
		done <- err
	}()
	setStatus(t, s, dep, map[string]any{"observedGeneration": "current", "replicas": int64(2), "updatedReplicas": int64(2), "availableReplicas": int64(2), "readyReplicas": int64(2)})
	if err := <-done; err != nil {
		t.Fatalf("WaitHealthy after the rollout: %v", err)
	}
	if got.Status() != health.Healthy || len(got.Resources) != 2 {
		t.Errorf("report %+v, want two Healthy resources", got)
	}

	// Degraded returns at once, however long the timeout.
	setStatus(t, s, dep, map[string]any{
		"observedGeneration": "current", "replicas": int64(2), "updatedReplicas": int64(1),
		"conditions": []any{map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet web-1 has timed out progressing."}},
	})
	report, err = s.WaitHealthy(ctxFor(t), keys, time.Hour)
	if !errors.Is(err, ErrDegraded) || report.Status() != health.Degraded {
		t.Fatalf("WaitHealthy: err = %v, status %s, want Degraded", err, report.Status())
	}
}

func TestWaitHealthyJobFailed(t *testing.T) {
	s, opts, _ := syncedApp(t, []string{`apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: migrate:1}]`})
	job := manifest.Key{Group: "batch", Kind: "Job", Namespace: opts.Namespace, Name: "migrate"}
	report, err := s.WaitHealthy(ctxFor(t), []manifest.Key{job}, 100*time.Millisecond)
	if !errors.Is(err, ErrHealthTimeout) || report.Resources[0].Status.Code != health.Progressing {
		t.Fatalf("running job: err = %v report %+v, want Progressing and a timeout", err, report)
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	setStatus(t, s, job, map[string]any{
		"startTime": now,
		"failed":    int64(1),
		"conditions": []any{
			map[string]any{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": now, "lastProbeTime": now},
			map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": now, "lastProbeTime": now},
		},
	})
	report, err = s.WaitHealthy(ctxFor(t), []manifest.Key{job}, time.Hour)
	if !errors.Is(err, ErrDegraded) {
		t.Fatalf("failed job: err = %v, want ErrDegraded", err)
	}
	if st := report.Resources[0].Status; st.Code != health.Degraded || !strings.Contains(st.Message, "backoff limit") {
		t.Errorf("job health %s, want Degraded with the reason", st)
	}
}

func TestWaitHealthyMissing(t *testing.T) {
	s := newSyncer(t, nil)
	tests := []struct {
		name       string
		key        manifest.Key
		want       health.Code
		wantInText string
	}{
		{"never created", cmKey("default", "never-created"), health.Missing, "ConfigMap/default/never-created is Missing"},
		{"rendered key without its namespace", cmKey("", "settings"), health.Unknown, "key has no namespace"},
		{"kind the cluster does not serve", manifest.Key{Group: "nope.example.com", Kind: "Nope", Namespace: "default", Name: "x"}, health.Unknown, "map kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := s.WaitHealthy(ctxFor(t), []manifest.Key{tt.key}, 100*time.Millisecond)
			if !errors.Is(err, ErrHealthTimeout) || report.Status() != tt.want {
				t.Fatalf("err = %v, status %s, want a timeout with the object %s", err, report.Status(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantInText) {
				t.Errorf("error %q does not say %q", err, tt.wantInText)
			}
		})
	}
}

// TestWaitHealthyMany covers the listing path: enough Deployments in one
// namespace that the syncer lists them (to apply and to poll) instead of
// reading each.
func TestWaitHealthyMany(t *testing.T) {
	rec := &recorder{}
	var docs []string
	for i := range listThreshold + 2 {
		docs = append(docs, strings.ReplaceAll(deploymentYAML, "web", fmt.Sprintf("web-%d", i)))
	}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	cs, _, err := s.Sync(ctxFor(t), parse(t, docs...), nil, opts)
	if err != nil || cs.Count(Created) != len(docs)+1 {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	keys := cs.Keys(Created, Configured, Unchanged)[1:] // not the namespace
	for i, k := range keys {
		status := map[string]any{"observedGeneration": "current", "replicas": int64(2), "updatedReplicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2)}
		if i == 3 {
			status["readyReplicas"], status["availableReplicas"] = int64(1), int64(1)
		}
		setStatus(t, s, k, status)
	}

	rec.mu.Lock()
	rec.reqs = nil
	rec.mu.Unlock()
	_, err = s.WaitHealthy(ctxFor(t), keys, 100*time.Millisecond)
	var herr *HealthError
	if !errors.As(err, &herr) || !errors.Is(err, ErrHealthTimeout) {
		t.Fatalf("WaitHealthy: err = %v, want a health timeout", err)
	}
	if len(herr.Resources) != 1 || herr.Resources[0].Key != keys[3] || !strings.Contains(herr.Resources[0].Status.Message, "1 of 2 updated replicas are available") {
		t.Errorf("unhealthy %+v, want only %s, not available", herr.Resources, keys[3])
	}
	rec.mu.Lock()
	for _, r := range rec.reqs {
		if strings.HasPrefix(r, "GET") && strings.Contains(r, "/deployments/") {
			t.Errorf("polled one Deployment by itself: %s", r)
		}
	}
	rec.mu.Unlock()

	setStatus(t, s, keys[3], map[string]any{"observedGeneration": "current", "replicas": int64(2), "updatedReplicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2)})
	report, err := s.WaitHealthy(ctxFor(t), keys, time.Minute)
	if err != nil || report.Status() != health.Healthy {
		t.Fatalf("WaitHealthy: %v, status %s", err, report.Status())
	}
}

// TestWaitHealthyWhileTheClusterIsDown: a wait that could not read the
// objects not healthy because the API server failed (500s) is no rollout's
// fault: its error is Unavailable, not a HealthError. One object read and
// still progressing makes it the rollout's timeout again.
func TestWaitHealthyWhileTheClusterIsDown(t *testing.T) {
	rec := &recorder{}
	s := newSyncer(t, rec)
	opts := testOptions(t)
	if _, _, err := s.Sync(ctxFor(t), parse(t, deploymentYAML, configMap("web", nil)), nil, opts); err != nil {
		t.Fatal(err)
	}
	dep := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: opts.Namespace, Name: "web"}
	keys := []manifest.Key{cmKey(opts.Namespace, "web"), dep}
	failReads := func(path string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.fail = func(r *http.Request) bool { return r.Method == http.MethodGet && strings.Contains(r.URL.Path, path) }
	}

	failReads("/namespaces/" + opts.Namespace + "/")
	report, err := s.WaitHealthy(ctxFor(t), keys, 200*time.Millisecond)
	var herr *HealthError
	if err == nil || errors.As(err, &herr) || !Unavailable(err) || report.Status() != health.Unknown {
		t.Fatalf("nothing readable: err = %v, status %s; want an Unavailable error, Unknown", err, report.Status())
	}

	failReads("/configmaps/")
	report, err = s.WaitHealthy(ctxFor(t), keys, 200*time.Millisecond)
	if !errors.Is(err, ErrHealthTimeout) || Unavailable(err) || report.Resources[1].Status.Code != health.Progressing {
		t.Fatalf("the Deployment read, progressing: err = %v, report %+v; want the rollout's timeout", err, report)
	}
}
