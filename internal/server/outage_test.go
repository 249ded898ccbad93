package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/deploy"
	"github.com/ferry-gitops/ferry/internal/githubtest"
)

var validatingWebhooks = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}

// admission is a validating admission webhook for the Deployments of the
// production namespace that fails every call while out is set, as a
// crashed webhook does (a 500, or a connection closed without an answer),
// and admits everything otherwise.
type admission struct {
	srv *httptest.Server
	out atomic.Bool
	// failed counts the calls it failed, dry runs apart (its own probes).
	failed atomic.Int64
}

func (a *admission) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review struct {
		Request struct {
			UID    string `json:"uid"`
			DryRun bool   `json:"dryRun"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if a.out.Load() {
		if !review.Request.DryRun && a.failed.Add(1)%2 == 0 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close() // dropped mid-call: the API server reads EOF
				return
			}
		}
		http.Error(w, "webhook backend down", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":%q,"allowed":true}}`, review.Request.UID)
}

// installAdmission registers a on the test API server (failurePolicy Fail)
// and waits until the API server calls it.
func (h *syncHarness) installAdmission(a *admission) {
	h.t.Helper()
	a.srv = httptest.NewTLSServer(a)
	h.t.Cleanup(a.srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
	cfg := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "outage.ferry.test"},
		"webhooks": []any{map[string]any{
			"name":                    "outage.ferry.test",
			"clientConfig":            map[string]any{"url": a.srv.URL + "/validate", "caBundle": base64.StdEncoding.EncodeToString(ca)},
			"rules":                   []any{map[string]any{"apiGroups": []any{"apps"}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"deployments"}}},
			"namespaceSelector":       map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "production"}},
			"failurePolicy":           "Fail",
			"sideEffects":             "None",
			"admissionReviewVersions": []any{"v1"},
			"timeoutSeconds":          int64(5),
		}},
	}}
	ctx := context.Background()
	if _, err := h.dyn.Resource(validatingWebhooks).Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
	// The API server picks a new configuration up after a moment: probe
	// with dry runs until one is refused.
	a.out.Store(true)
	h.waitFor("the API server to call the webhook", func() bool {
		d := h.deployment("production", "payment-service")
		_, err := h.dyn.Resource(deployments).Namespace("production").Update(ctx, d, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "failed calling webhook")
	})
	a.out.Store(false)
}

// TestClusterOutageWaitsThenSyncs: a merge synced while a failing admission
// webhook answers every Deployment write with a 500 waits for the cluster,
// for more tries than the Application's retry limit (5) and the queue's
// attempts (10) allow, says so once on its pull request and at each try on
// its deployment, opens no revert, and reaches the cluster once the
// webhook is back. (A manifest the API server rejects still reverts:
// TestRejectedManifestRetriesThenReverts.)
func TestClusterOutageWaitsThenSyncs(t *testing.T) {
	var (
		mu     sync.Mutex
		delays []time.Duration
	)
	h := newSyncHarness(t, "healthy", func(c *Config) {
		// Record the backoff the queue is asked for; wait a little of it, so
		// that each try is a real apply against the API server.
		c.RetryDelay = func(d time.Duration) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, d)
			return 100 * time.Millisecond
		}
	})
	// Every pushed commit comes from merged pull request #7.
	h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 7, HeadRef: "scale", BaseRef: "main", User: "alice", Merged: true, MergeCommitSHA: h.head})
	h.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		sha := parts[len(parts)-2]
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"number": 7, "state": "closed", "merged_at": "2026-11-27T10:00:00Z", "merge_commit_sha": %q, "title": "scale", "user": {"login": "alice"}, "merged_by": {"login": "bob"}, "head": {"ref": "scale", "sha": %q}, "base": {"ref": "main", "sha": %q}}]`, sha, sha, sha)
	})
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	webhook := &admission{}
	h.installAdmission(webhook)

	webhook.out.Store(true)
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": strings.Replace(app, "replicas: 3", "replicas: 5", 1)}, "scale to 5")
	h.push(first, second, "push-2")
	const tries = 12 // > the queue's 10 attempts > the Application's 1+5
	h.waitFor(fmt.Sprintf("%d tries during the outage", tries), func() bool {
		if states := h.deploymentStates("payment-service"); last(states) == "failure" {
			noRevert(h)
			t.Fatalf("the sync failed after %d tries during the outage: deployment statuses %v", webhook.failed.Load(), states)
		}
		return webhook.failed.Load() >= tries
	})

	// Mid-outage: waiting, said once, nothing reverted, nothing applied.
	status := lastDeploymentStatus(h)
	t.Logf("deployment status during the outage: %s %q", status.State, status.Description)
	if status.State != "queued" || !strings.HasPrefix(status.Description, "waiting for the cluster, retrying in ") ||
		!strings.Contains(status.Description, "failed calling webhook") {
		t.Errorf("deployment status %s %q, want queued, waiting for the cluster", status.State, status.Description)
	}
	if notices := clusterNotices(h, 7); len(notices) != 1 || !strings.Contains(notices[0], "apps/Deployment/production/payment-service: Internal error occurred: failed calling webhook") {
		t.Errorf("notices of the wait on the pull request %q, want one naming the failing webhook", notices)
	}
	if r, _, _ := unstructured.NestedInt64(h.deployment("production", "payment-service").Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas %d while the webhook fails every write, want 3", r)
	}
	noRevert(h)

	webhook.out.Store(false)
	h.waitFor("the merge to reach the cluster after the outage", func() bool {
		r, _, _ := unstructured.NestedInt64(h.deployment("production", "payment-service").Object, "spec", "replicas")
		return r == 5 && last(h.deploymentStates("payment-service")) == "success"
	})
	// The comment on the pull request follows the deployment status.
	h.waitFor("the comment saying the merge synced", func() bool {
		for _, c := range h.gh.Comments(owner, repoName, 7) {
			if strings.Contains(c.Body, "ferry sync: ✅ `payment-service` succeeded") && strings.Contains(c.Body, second[:12]) {
				return true
			}
		}
		return false
	})
	noRevert(h)
	if notices := clusterNotices(h, 7); len(notices) != 1 {
		t.Errorf("%d notices of the wait on the pull request, want 1", len(notices))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(delays) < tries-1 {
		t.Fatalf("%d delays asked of the queue, want one per failed try", len(delays))
	}
	for i, d := range delays {
		if want := deploy.WaitForCluster(i + 1); d != want {
			t.Errorf("wait %d asked %v, want %v (5s doubling, capped at 2m): %v", i+1, d, want, delays)
			break
		}
	}
}

func lastDeploymentStatus(h *syncHarness) githubtest.DeploymentStatus {
	var out githubtest.DeploymentStatus
	for _, d := range h.gh.Deployments(owner, repoName) {
		if len(d.Statuses) > 0 {
			out = d.Statuses[len(d.Statuses)-1]
		}
	}
	return out
}

// clusterNotices are the comments on pull request number that say its
// sync waits for the cluster.
func clusterNotices(h *syncHarness, number int) []string {
	var out []string
	for _, c := range h.gh.Comments(owner, repoName, number) {
		if strings.Contains(c.Body, "waits for the cluster") {
			out = append(out, c.Body)
		}
	}
	return out
}

func noRevert(h *syncHarness) {
	h.t.Helper()
	for _, pr := range h.gh.PullRequests(owner, repoName) {
		if strings.HasPrefix(pr.HeadRef, "ferry/revert-") {
			h.t.Errorf("revert pull request %s opened for a cluster outage:\n%s", pr.HeadRef, pr.Body)
		}
	}
}
