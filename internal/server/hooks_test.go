package server

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var jobs = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}

// migrateHook is a chart template: a PreSync Job running the new image's
// migrations, deleted once it succeeded.
const migrateHook = `apiVersion: batch/v1
kind: Job
metadata:
  name: payment-service-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          args: ["migrate"]
`

// jobRun is what the stand-in Job controller saw of the hook.
type jobRun struct {
	ran atomic.Bool
	// image is the Deployment's image while the Job ran.
	image atomic.Value
}

// completeJobs acts as the Job controller (envtest runs none): a Job named
// name in ns that has no status yet is marked Complete, as Kubernetes
// would, after noting the Deployment's image at that moment.
func (h *syncHarness) completeJobs(ctx context.Context, ns, name string, run *jobRun) {
	for ctx.Err() == nil {
		job, err := h.dyn.Resource(jobs).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		var status map[string]any
		if err == nil {
			status, _ = job.Object["status"].(map[string]any)
		}
		if err == nil && len(status) == 0 {
			if d := h.deployment(ns, "payment-service"); d != nil {
				containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
				img, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
				run.image.Store(img)
			}
			now := time.Now().UTC().Format(time.RFC3339)
			cond := func(typ string) map[string]any {
				return map[string]any{"type": typ, "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods",
					"lastProbeTime": now, "lastTransitionTime": now}
			}
			job.Object["status"] = map[string]any{"startTime": now, "completionTime": now, "succeeded": int64(1),
				"conditions": []any{cond("SuccessCriteriaMet"), cond("Complete")}}
			if _, err := h.dyn.Resource(jobs).Namespace(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err == nil {
				run.ran.Store(true)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPreSyncHookOnMerge: a merge that adds a PreSync hook Job to the chart
// and rolls a new image runs the Job while the Deployment still has the old
// image, rolls out only after it completed, and deletes it by its policy
// (HookSucceeded).
func TestPreSyncHookOnMerge(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool {
		states := h.deploymentStates("payment-service")
		if last(states) == "failure" {
			t.Fatalf("the first sync failed: %+v", h.gh.Deployments(owner, repoName))
		}
		return len(states) >= 2 && last(states) == "success"
	})
	run := &jobRun{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.completeJobs(ctx, "production", "payment-service-migrate", run)

	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	app = strings.Replace(app, "tag: v2.4.1", "tag: v2.5.0", 1)
	second := h.git.Commit(t, repoName, "main", map[string]string{
		"apps/payment-service.yaml":                         app,
		"charts/payment-service/templates/migrate-job.yaml": migrateHook,
	}, "v2.5.0 with a migration")
	h.push(first, second, "push-2")
	h.waitFor("the second sync", func() bool {
		states := strings.Join(h.deploymentStates("payment-service"), ",")
		if strings.Count(states, "failure") > 0 {
			t.Fatalf("the second sync failed: %+v", h.gh.Deployments(owner, repoName))
		}
		return strings.Count(states, "success") == 2
	})
	if !run.ran.Load() {
		t.Fatal("the PreSync hook Job never ran")
	}
	if img, _ := run.image.Load().(string); !strings.HasSuffix(img, ":v2.4.1") {
		t.Errorf("while the hook ran the Deployment's image was %q, want the old v2.4.1", img)
	}
	d := h.deployment("production", "payment-service")
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if img, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image"); !strings.HasSuffix(img, ":v2.5.0") {
		t.Errorf("after the sync the image is %q, want v2.5.0", img)
	}
	_, err := h.dyn.Resource(jobs).Namespace("production").Get(context.Background(), "payment-service-migrate", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the hook Job is still there (err %v): HookSucceeded should have deleted it", err)
	}
}

// TestPullRequestListsHooks: a pull request that adds a PreSync hook to a
// chart gets a comment listing it apart from the resources, by phase.
func TestPullRequestListsHooks(t *testing.T) {
	h := newHarness(t)
	branch := "add-migrate-hook"
	h.git.Commit(t, repoName, branch, map[string]string{"charts/payment-service/templates/migrate-job.yaml": migrateHook}, "a migration hook")
	pr := h.openPR(7, branch)
	if code := h.deliver("pull_request", "opened", pr, "hooks-1"); code != http.StatusAccepted {
		t.Fatalf("opened: status %d", code)
	}
	h.waitFor("the check run", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	comments := h.gh.Comments(owner, repoName, 7)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].Body
	heading := strings.Index(body, "**Sync hooks**")
	hook := strings.Index(body, "+ batch/Job payment-service-migrate** — PreSync hook")
	if heading < 0 || hook < heading {
		t.Errorf("comment does not list the PreSync hook under its own heading:\n%s", body)
	}
}
