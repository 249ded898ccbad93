package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/clustertest"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// syncHarness is the e2e harness plus a real API server, with the seed's
// payment-service Application (the Helm chart with inline values) alone in
// a repository, so environments do not share objects.
type syncHarness struct {
	*harness
	cluster *rest.Config
	dyn     dynamic.Interface
	head    string
	sleeps  *[]time.Duration
	// mode is how the stand-in controller finishes rollouts: healthy or degraded.
	mode atomic.Value
}

func newSyncHarness(t testing.TB, rollout string, configure ...func(*Config)) *syncHarness {
	cfg := clustertest.Start(t)
	src := t.TempDir()
	copyTree(t, testrepo.BaseDir(t), src, []string{"apps/payment-service.yaml", "charts/payment-service"})
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "payment-service"}} {
		if out, err := exec.Command("git", append([]string{"-C", src, "-c", "user.name=t", "-c", "user.email=t@ferry.invalid"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	var sleeps []time.Duration
	var mu sync.Mutex
	h := newHarnessWith(t, src, func(c *Config) {
		c.HealthTimeout = 20 * time.Second
		kc, err := kube.NewCluster(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.ClusterFor = func(environment.Destination) (*kube.Cluster, error) { return kc, nil }
		// A fake clock: record the backoff, don't wait it out.
		c.RetryDelay = func(d time.Duration) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			sleeps = append(sleeps, d)
			return 0
		}
		for _, f := range configure {
			f(c)
		}
	})
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sh := &syncHarness{harness: h, cluster: cfg, dyn: dyn, sleeps: &sleeps}
	sh.mode.Store(rollout)
	sh.head, _ = h.git.RevParse(repoName, "main")
	// Nothing runs pods here: a stand-in controller moves rollouts along.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go sh.rollouts(ctx)
	// ferry looks up the pull request each pushed commit came from.
	h.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})
	return sh
}

func copyTree(t testing.TB, from, to string, paths []string) {
	t.Helper()
	for _, p := range paths {
		if out, err := exec.Command("bash", "-c", fmt.Sprintf("cd %q && cp -r --parents %q %q", from, p, to)).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v: %s", p, err, out)
		}
	}
}

// rollouts marks every Deployment's rollout finished ("healthy") or past
// its progress deadline ("degraded"), as the deployment controller would.
func (h *syncHarness) rollouts(ctx context.Context) {
	for ctx.Err() == nil {
		mode := h.mode.Load().(string)
		list, err := h.dyn.Resource(deployments).Namespace("").List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, d := range list.Items {
				h.setStatus(ctx, &d, mode)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *syncHarness) setStatus(ctx context.Context, d *unstructured.Unstructured, mode string) {
	replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	if observed == d.GetGeneration() {
		return
	}
	status := map[string]any{"observedGeneration": d.GetGeneration(), "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
		"conditions": []any{map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}}}
	if mode == "degraded" {
		status = map[string]any{"observedGeneration": d.GetGeneration(), "replicas": replicas, "updatedReplicas": int64(0), "availableReplicas": int64(0),
			"conditions": []any{map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet has timed out progressing."}}}
	}
	d.Object["status"] = status
	_, _ = h.dyn.Resource(deployments).Namespace(d.GetNamespace()).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

func (h *syncHarness) push(before, after, delivery string) {
	h.t.Helper()
	body := githubtest.PushPayload(h.t, h.repo, githubtest.Push{Ref: "refs/heads/main", Before: before, After: after,
		Commits: []githubtest.PushCommit{{ID: after, Modified: []string{"apps/payment-service.yaml"}}}})
	if resp := githubtest.Deliver(h.t, h.url+"/webhook", testSecret, "push", body, delivery); resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("push delivery: status %d", resp.StatusCode)
	}
}

func (h *syncHarness) deployment(ns, name string) *unstructured.Unstructured {
	d, err := h.dyn.Resource(deployments).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return d
}

func (h *syncHarness) deploymentStates(env string) []string {
	var out []string
	for _, d := range h.gh.Deployments(owner, repoName) {
		if d.Environment != env {
			continue
		}
		for _, s := range d.Statuses {
			out = append(out, s.State)
		}
	}
	return out
}

func TestSyncOnMerge(t *testing.T) {
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
	d := h.deployment("production", "payment-service")
	if d == nil {
		t.Fatalf("no Deployment production/payment-service after the first sync")
	}
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas %d, want 3", r)
	}
	if id := d.GetAnnotations()["ferry.dev/tracking-id"]; id != "skillzmist/infrastructure/payment-service:apps/Deployment:production/payment-service" {
		t.Errorf("tracking id %q", id)
	}

	// The next merge: replicas 3 → 5 and a new image tag.
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	app = strings.Replace(strings.Replace(app, "replicas: 3", "replicas: 5", 1), "tag: v2.4.1", "tag: v2.5.0", 1)
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": app}, "scale to 5, v2.5.0")
	h.push(first, second, "push-2")
	h.waitFor("the second sync", func() bool {
		d := h.deployment("production", "payment-service")
		r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		return r == 5 && strings.Count(strings.Join(h.deploymentStates("payment-service"), ","), "success") == 2
	})
	d = h.deployment("production", "payment-service")
	b, _ := json.Marshal(d.Object["spec"])
	if !strings.Contains(string(b), "v2.5.0") {
		t.Errorf("image tag not updated: %s", b)
	}
	// History holds both syncs, newest first.
	h.stop()
	h.stop = nil
	out, err := exec.Command(buildFerry(t), "history", "--app", "payment-service", "--data-dir", h.dir, "--format", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("ferry history: %v: %s", err, out)
	}
	var syncs []struct{ Revision, Result, Trigger string }
	if err := json.Unmarshal(out, &syncs); err != nil {
		t.Fatalf("history json: %v: %s", err, out)
	}
	if len(syncs) != 2 || syncs[0].Revision != second || syncs[1].Revision != first || syncs[0].Result != "succeeded" || syncs[1].Trigger != "first-sight" {
		t.Errorf("history = %+v", syncs)
	}
}

func TestDegradedRolloutOpensRevertPR(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-healthy")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	// The next merge's rollout never finishes: ProgressDeadlineExceeded.
	h.mode.Store("degraded")
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": strings.Replace(app, "tag: v2.4.1", "tag: v9.9.9-broken", 1)}, "broken image")
	h.push(first, second, "push-degraded")
	h.waitFor("the revert pull request", func() bool { return len(h.gh.PullRequests(owner, repoName)) > 0 })
	prs := h.gh.PullRequests(owner, repoName)
	if len(prs) != 1 || prs[0].HeadRef != "ferry/revert-"+second[:12] || prs[0].BaseRef != "main" {
		t.Fatalf("pull requests %+v, want one from ferry/revert-%s into main", prs, second[:12])
	}
	if !strings.Contains(prs[0].Body, "exceeded its progress deadline") || !strings.Contains(prs[0].Body, "apps/Deployment/production/payment-service") {
		t.Errorf("revert PR body does not explain the failure:\n%s", prs[0].Body)
	}
	sha, err := h.git.RevParse(repoName, "ferry/revert-"+second[:12])
	if err != nil {
		t.Fatalf("revert branch not pushed: %v", err)
	}
	if parent, _ := h.git.RevParse(repoName, sha+"^"); parent != second {
		t.Errorf("revert commit's parent %s, want %s", parent, second)
	}
	if got := readFileAt(t, h.git.RepoPath(repoName), sha, "apps/payment-service.yaml"); got != app {
		t.Errorf("the revert branch does not hold the previous Application")
	}
	if states := h.deploymentStates("payment-service"); last(states) != "failure" {
		t.Errorf("deployment statuses %v, want ending in failure", states)
	}
	// The same push delivered again does not open a second revert.
	h.push(first, second, "push-degraded-again")
	time.Sleep(500 * time.Millisecond)
	if n := len(h.gh.PullRequests(owner, repoName)); n != 1 {
		t.Errorf("%d pull requests after a redelivered push, want 1", n)
	}
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func readFileAt(t testing.TB, gitDir, rev, name string) string {
	out, err := exec.Command("git", "-C", gitDir, "show", rev+":"+name).Output()
	if err != nil {
		t.Fatalf("git show %s:%s: %v", rev, name, err)
	}
	return string(out)
}

// TestRejectedManifestRetriesThenReverts: a merge the API server refuses
// is retried with the Application's backoff (5s ×2, capped at 3m; a fake
// clock records the waits), then fails and opens a revert pull request.
func TestRejectedManifestRetriesThenReverts(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-ok")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	bad := strings.Replace(app, "replicas: 3", "replicas: -1", 1)
	if bad == app {
		t.Fatal("the Application has no replicas: 3 to break")
	}
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": bad}, "negative replicas")
	h.push(first, second, "push-rejected")
	h.waitFor("the revert pull request", func() bool { return len(h.gh.PullRequests(owner, repoName)) > 0 })
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	if got := *h.sleeps; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("retry waits %v, want %v (limit 5, 5s ×2, max 3m)", got, want)
	}
	pr := h.gh.PullRequests(owner, repoName)[0]
	if pr.HeadRef != "ferry/revert-"+second[:12] || !strings.Contains(pr.Body, "after 6 attempts") {
		t.Errorf("revert PR %s:\n%s", pr.HeadRef, pr.Body)
	}
	sha, err := h.git.RevParse(repoName, pr.HeadRef)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFileAt(t, h.git.RepoPath(repoName), sha, "apps/payment-service.yaml"); got != app {
		t.Errorf("the pushed revert branch does not restore the Application")
	}
	// The cluster still runs the last good revision.
	if r, _, _ := unstructured.NestedInt64(h.deployment("production", "payment-service").Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas %d after a refused sync, want 3", r)
	}
}

// TestPruneAndItsGuards: a merge that would delete most of the app is
// refused by the max-prune guard; a resource removed from Git is pruned (the
// seed's Application has automated.prune); a merge that empties the app is
// refused by allowEmpty: false. Refusals change nothing and revert nothing.
func TestPruneAndItsGuards(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	ctx := context.Background()
	services := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	serviceExists := func() bool {
		_, err := h.dyn.Resource(services).Namespace("production").Get(ctx, "payment-service", metav1.GetOptions{})
		return err == nil
	}
	repoPath := h.git.RepoPath(repoName)
	deployment := readFileAt(t, repoPath, "main", "charts/payment-service/templates/deployment.yaml")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	if !serviceExists() {
		t.Fatal("the Service was not created")
	}
	lastStatus := func() string {
		deps := h.gh.Deployments(owner, repoName)
		st := deps[len(deps)-1].Statuses
		return st[len(st)-1].Description
	}
	syncs := func() int { return len(h.gh.Deployments(owner, repoName)) }

	// 2 of 3 objects gone: over the 50 % guard.
	second := h.git.Commit(t, repoName, "main", map[string]string{
		"charts/payment-service/templates/service.yaml":    "",
		"charts/payment-service/templates/deployment.yaml": "",
	}, "drop the Service and the Deployment")
	h.push(first, second, "push-2")
	h.waitFor("the refused sync", func() bool { return syncs() == 2 && last(h.deploymentStates("payment-service")) == "failure" })
	if d := lastStatus(); !strings.Contains(d, "refused") || !strings.Contains(d, "prune") {
		t.Errorf("status %q, want the prune guard's refusal", d)
	}
	if !serviceExists() {
		t.Error("the prune guard did not keep the Service")
	}

	// Only the Service gone: pruned.
	third := h.git.Commit(t, repoName, "main", map[string]string{"charts/payment-service/templates/deployment.yaml": deployment}, "keep the Deployment")
	h.push(second, third, "push-3")
	h.waitFor("the Service to be pruned", func() bool { return syncs() == 3 && last(h.deploymentStates("payment-service")) == "success" })
	if serviceExists() {
		t.Error("the Service removed from Git was not pruned")
	}

	// Nothing left: allowEmpty: false refuses.
	fourth := h.git.Commit(t, repoName, "main", map[string]string{
		"charts/payment-service/templates/deployment.yaml": "",
		"charts/payment-service/templates/configmap.yaml":  "",
	}, "drop everything")
	h.push(third, fourth, "push-4")
	h.waitFor("the empty sync to be refused", func() bool { return syncs() == 4 && last(h.deploymentStates("payment-service")) == "failure" })
	if d := lastStatus(); !strings.Contains(d, "refused") || !strings.Contains(d, "allowEmpty") {
		t.Errorf("status %q, want the allowEmpty refusal", d)
	}
	if h.deployment("production", "payment-service") == nil {
		t.Error("allowEmpty: false did not keep the Deployment")
	}
	if n := len(h.gh.PullRequests(owner, repoName)); n != 0 {
		t.Errorf("refused syncs opened %d revert pull requests; a refusal changes nothing and needs none", n)
	}
}

// TestDegradationAfterSyncReverts: a rollout that turns Degraded after its
// sync had succeeded (within the degradation window) reverts that commit.
func TestDegradationAfterSyncReverts(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	second := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": strings.Replace(app, "tag: v2.4.1", "tag: v2.6.0", 1)}, "v2.6.0")
	h.push(first, second, "push-2")
	h.waitFor("the second sync", func() bool {
		return strings.Count(strings.Join(h.deploymentStates("payment-service"), ","), "success") == 2
	})
	if n := len(h.gh.PullRequests(owner, repoName)); n != 0 {
		t.Fatalf("%d pull requests before any degradation", n)
	}
	// Later, the new pods start crashing: the rollout is past its deadline.
	h.mode.Store("degraded")
	d := h.deployment("production", "payment-service")
	d.Object["status"] = map[string]any{"observedGeneration": d.GetGeneration(), "replicas": int64(3), "updatedReplicas": int64(3), "availableReplicas": int64(0),
		"conditions": []any{map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "crash looping"}}}
	if _, err := h.dyn.Resource(deployments).Namespace("production").UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the revert pull request", func() bool { return len(h.gh.PullRequests(owner, repoName)) == 1 })
	pr := h.gh.PullRequests(owner, repoName)[0]
	if pr.HeadRef != "ferry/revert-"+second[:12] {
		t.Errorf("revert PR from %s, want ferry/revert-%s (the commit that degraded)", pr.HeadRef, second[:12])
	}
	if !strings.Contains(pr.Body, "degraded after a successful sync") {
		t.Errorf("revert PR body does not say why:\n%s", pr.Body)
	}
}
