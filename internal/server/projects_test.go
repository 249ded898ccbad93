package server

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/serverconfig"
)

// clusterAdmin and inKubeSystem are what a merged chart must not bring:
// the whole cluster to a service account, and an object among the
// cluster's own.
const (
	clusterAdmin = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: payment-service-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: default, namespace: production}
`
	inKubeSystem = `apiVersion: v1
kind: ConfigMap
metadata:
  name: payment-service-hook
  namespace: kube-system
data: {k: v}
`
)

// lastStatus is the description of env's last deployment status.
func (h *syncHarness) lastStatus(env string) string {
	var desc string
	for _, d := range h.gh.Deployments(owner, repoName) {
		if d.Environment == env && len(d.Statuses) > 0 {
			desc = d.Statuses[len(d.Statuses)-1].Description
		}
	}
	return desc
}

// TestProjectRefusesBeforeApplying: with the built-in default project, a
// pull request whose chart brings a ClusterRoleBinding to cluster-admin and
// a ConfigMap in kube-system fails ferry/policy with an annotation at each
// file; merged anyway, its sync applies nothing (not even the replica
// change beside them), says why on the deployment, and opens no revert.
func TestProjectRefusesBeforeApplying(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	first := h.head
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	bad := h.git.Commit(t, repoName, "grant", map[string]string{
		"apps/payment-service.yaml":                         strings.Replace(app, "replicas: 3", "replicas: 4", 1),
		"charts/payment-service/templates/admin.yaml":       clusterAdmin,
		"charts/payment-service/templates/kube-system.yaml": inKubeSystem,
	}, "grant the service cluster-admin")
	h.setPullRef(7, bad)
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 7, HeadSHA: bad, HeadRef: "grant", BaseRef: "main", User: "alice"})
	if code := h.deliver("pull_request", "opened", pr, "pr-7"); code != http.StatusAccepted {
		t.Fatalf("pull_request delivery: %d", code)
	}
	check := h.policyCheck(bad, 0)
	if check.Conclusion != "failure" || !strings.Contains(check.Summary, "ClusterRoleBinding is not permitted in project default") ||
		!strings.Contains(check.Summary, "namespace kube-system is not permitted in project default") {
		t.Errorf("ferry/policy %s:\n%s", check.Conclusion, check.Summary)
	}
	annotated := map[string]bool{}
	for _, a := range check.Annotations {
		annotated[fmt.Sprintf("%s:%d", a.Path, a.StartLine)] = true
	}
	for _, want := range []string{"charts/payment-service/templates/admin.yaml:1", "charts/payment-service/templates/kube-system.yaml:1"} {
		if !annotated[want] {
			t.Errorf("no annotation at %s: %+v", want, check.Annotations)
		}
	}

	// Merged anyway (say, by an admin past branch protection).
	if out, err := exec.Command("git", "-C", h.git.RepoPath(repoName), "update-ref", "refs/heads/main", bad).CombinedOutput(); err != nil {
		t.Fatalf("merge: %v: %s", err, out)
	}
	h.push(first, bad, "push-bad")
	h.waitFor("the refused sync", func() bool {
		return len(h.deploymentStates("payment-service")) >= 4 && last(h.deploymentStates("payment-service")) != "in_progress"
	})
	if states := h.deploymentStates("payment-service"); last(states) != "failure" {
		t.Fatalf("deployment states %v, want the last a failure", states)
	}
	if desc := h.lastStatus("payment-service"); !strings.Contains(desc, "refused") || !strings.Contains(desc, "not permitted") {
		t.Errorf("deployment status %q does not say why", desc)
	}
	ctx := context.Background()
	crbs := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
	if _, err := h.dyn.Resource(crbs).Get(ctx, "payment-service-admin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ClusterRoleBinding reached the cluster (err %v)", err)
	}
	cms := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	if _, err := h.dyn.Resource(cms).Namespace("kube-system").Get(ctx, "payment-service-hook", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the kube-system ConfigMap reached the cluster (err %v)", err)
	}
	if r := h.replicas(); r != 3 {
		t.Errorf("replicas %d after a refused sync, want 3: nothing may be applied", r)
	}
	time.Sleep(300 * time.Millisecond)
	if prs := h.gh.PullRequests(owner, repoName); len(prs) != 1 {
		t.Errorf("pull requests %+v: a refusal opens no revert", prs)
	}
}

// TestAppProjectOnDefaultBranchNarrows: an AppProject named default on the
// default branch that allows only namespace staging keeps the
// payment-service (namespace production) from syncing at all.
func TestAppProjectOnDefaultBranchNarrows(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	narrow := h.git.Commit(t, repoName, "main", map[string]string{"projects/default.yaml": `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
spec:
  sourceRepos: ["*"]
  destinations:
  - {server: "*", namespace: staging}
`}, "narrow the default project")
	h.push(strings.Repeat("0", 40), narrow, "push-narrow")
	h.waitFor("the refused sync", func() bool { return last(h.deploymentStates("payment-service")) == "failure" })
	if desc := h.lastStatus("payment-service"); !strings.Contains(desc, "namespace production is not permitted in project default") ||
		!strings.Contains(desc, "projects/default.yaml") {
		t.Errorf("deployment status %q does not name the narrowing project", desc)
	}
	if d := h.deployment("production", "payment-service"); d != nil {
		t.Error("the Deployment was applied outside the narrowed project")
	}
}

// TestDenyWindowHoldsAutomatedSync: a deny sync window open now holds the
// merge's automated sync (nothing applied, audit says so) until it closes
// a few seconds later, when the sync runs by itself.
func TestDenyWindowHoldsAutomatedSync(t *testing.T) {
	var closes time.Time
	h := newSyncHarness(t, "healthy", func(c *Config) {
		// The window is set once the test cluster is up (that takes
		// seconds), so it is still open when the push arrives.
		now := time.Now().UTC()
		start := now.Truncate(time.Minute)
		closes = now.Add(8 * time.Second)
		def := project.Default("")
		def.SyncWindows = []project.SyncWindow{{Kind: "deny", Schedule: fmt.Sprintf("%d %d * * *", start.Minute(), start.Hour()),
			Duration: closes.Sub(start).Round(time.Second).String(), Applications: []string{"*"}}}
		c.Settings = &serverconfig.Config{Projects: []project.Project{def}}
	})
	h.push(strings.Repeat("0", 40), h.head, "push-held")
	h.waitFor("the hold", func() bool { return strings.Contains(h.logs.String(), "sync window closed") })
	if time.Now().Before(closes) && h.deployment("production", "payment-service") != nil {
		t.Fatal("the sync ran inside the deny window")
	}
	if states := h.deploymentStates("payment-service"); len(states) != 0 {
		t.Errorf("deployment states %v while held, want none", states)
	}
	h.waitFor("the sync after the window", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	if d := h.deployment("production", "payment-service"); d == nil {
		t.Fatal("no Deployment after the window closed")
	}
	if time.Now().Before(closes) {
		t.Errorf("synced before the window closed at %s", closes)
	}
}

// TestBranchOnlyApplicationSyncsNothing: a pushed side branch holding an
// automated Application that follows that branch, aimed at the cluster's
// own namespace, creates nothing: only the default branch defines
// environments.
func TestBranchOnlyApplicationSyncsNothing(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	sneaky := strings.NewReplacer("name: payment-service", "name: sneaky", "targetRevision: main", "targetRevision: x").Replace(app)
	after := h.git.Commit(t, repoName, "x", map[string]string{"apps/sneaky.yaml": sneaky}, "sneaky")
	body := githubtest.PushPayload(t, h.repo, githubtest.Push{Ref: "refs/heads/x", After: after,
		Commits: []githubtest.PushCommit{{ID: after, Added: []string{"apps/sneaky.yaml"}}}})
	if resp := githubtest.Deliver(t, h.url+"/webhook", testSecret, "push", body, "push-x"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push delivery: status %d", resp.StatusCode)
	}
	h.waitFor("the push to be planned", func() bool {
		return strings.Contains(h.logs.String(), "kind=push") && strings.Contains(h.logs.String(), "job done")
	})
	time.Sleep(500 * time.Millisecond)
	if deps := h.gh.Deployments(owner, repoName); len(deps) != 0 {
		t.Errorf("a side branch's Application was synced: %+v", deps)
	}
	if d := h.deployment("production", "payment-service"); d != nil {
		t.Error("objects were applied from a side branch")
	}
}
