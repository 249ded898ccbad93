package server

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/store"
)

// scaleAs changes the Deployment's replicas the way `kubectl scale` does
// with server-side apply: another field manager takes the field over.
func (h *syncHarness) scaleAs(manager string, replicas int64) {
	h.t.Helper()
	patch := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"payment-service","namespace":"production"},"spec":{"replicas":` + strconv.FormatInt(replicas, 10) + `}}`)
	force := true
	if _, err := h.dyn.Resource(deployments).Namespace("production").Patch(context.Background(), "payment-service", types.ApplyPatchType, patch,
		metav1.PatchOptions{FieldManager: manager, Force: &force}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *syncHarness) replicas() int64 {
	d := h.deployment("production", "payment-service")
	if d == nil {
		return -1
	}
	r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	return r
}

// audit stops the server and reads the audit log of payment-service.
func (h *syncHarness) audit() []history.Event {
	h.t.Helper()
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
	db, err := store.Open(context.Background(), filepath.Join(h.dir, "ferry.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	events, err := db.Audit(context.Background(), "", "payment-service")
	if err != nil {
		h.t.Fatal(err)
	}
	return events
}

// TestSelfHeal: with selfHeal (the seed's Application) an out-of-band scale
// is recorded with its field manager and put back; a deleted object is
// recreated; status updates (the stand-in controller's) are not drift.
func TestSelfHeal(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	h.push(strings.Repeat("0", 40), h.head, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	h.scaleAs("kubectl-scale", 7)
	h.waitFor("drift to be healed", func() bool { return h.replicas() == 3 })

	h.deleteTrackedConfigMap(t)

	var drifts, heals []history.Event
	for _, e := range h.audit() {
		switch e.Kind {
		case "drift":
			drifts = append(drifts, e)
		case "heal":
			heals = append(heals, e)
		}
	}
	if len(drifts) != 2 || len(heals) != 2 {
		t.Fatalf("audit has %d drift and %d heal events, want 2 and 2 (status updates are not drift): %+v", len(drifts), len(heals), drifts)
	}
	if drifts[0].Actor != "kubectl-scale" || !strings.Contains(drifts[0].Detail, "spec.replicas") {
		t.Errorf("first drift %+v, want spec.replicas by kubectl-scale", drifts[0])
	}
	if !strings.Contains(drifts[1].Detail, "deleted") {
		t.Errorf("second drift %+v, want the deletion", drifts[1])
	}
}

// TestDriftIssueWithoutSelfHeal: with selfHeal off ferry reports the drift
// in one issue; `/ferry sync` of the commit already synced heals it and
// closes the issue.
func TestDriftIssueWithoutSelfHeal(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	app := readFileAt(t, h.git.RepoPath(repoName), "main", "apps/payment-service.yaml")
	noHeal := strings.Replace(app, "selfHeal: true", "selfHeal: false", 1)
	if noHeal == app {
		t.Fatal("the Application has no selfHeal: true to turn off")
	}
	first := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": noHeal}, "no self-heal")
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })

	h.scaleAs("kubectl-scale", 6)
	h.waitFor("the drift issue", func() bool { return len(h.gh.Issues(owner, repoName)) == 1 })
	issue := h.gh.Issues(owner, repoName)[0]
	for _, want := range []string{"payment-service", "spec.replicas", "kubectl-scale", "/ferry sync payment-service"} {
		if !strings.Contains(issue.Body, want) {
			t.Errorf("drift issue lacks %q:\n%s", want, issue.Body)
		}
	}
	if h.replicas() != 6 {
		t.Errorf("selfHeal is off but replicas changed back to %d", h.replicas())
	}

	// `/ferry sync` of the very commit already synced applies it again:
	// replicas go back to Git's, and the issue closes.
	h.gh.SetPermission(owner, repoName, "writer", "write")
	h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 9, HeadSHA: first, HeadRef: "x", BaseRef: "main", User: "alice", Merged: true, MergeCommitSHA: first})
	h.command(9, "writer", "/ferry sync payment-service", "sync-again")
	h.waitFor("the drift issue to close", func() bool {
		is := h.gh.Issues(owner, repoName)
		return len(is) == 1 && is[0].State == "closed"
	})
	if h.replicas() != 3 {
		t.Errorf("replicas %d after /ferry sync, want Git's 3", h.replicas())
	}
	said := false
	for _, c := range h.gh.Comments(owner, repoName, 9) {
		said = said || strings.Contains(c.Body, "tip of") && strings.Contains(c.Body, first[:7])
	}
	if !said {
		t.Errorf("no reply names the synced tip %s: %+v", first[:7], h.gh.Comments(owner, repoName, 9))
	}
}

// TestDiffLive: `/ferry diff --live` shows, next to the Git diff, what a
// sync of the head would change in the cluster now — drift included. It
// needs write access, and it reads only what ferry tracks in each
// environment, as defined on the default branch: a pull request cannot
// make it read anything else.
func TestDiffLive(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	repoPath := h.git.RepoPath(repoName)
	app := readFileAt(t, repoPath, "main", "apps/payment-service.yaml")
	noHeal := strings.Replace(app, "selfHeal: true", "selfHeal: false", 1)
	first := h.git.Commit(t, repoName, "main", map[string]string{"apps/payment-service.yaml": noHeal}, "no self-heal")
	h.push(strings.Repeat("0", 40), first, "push-1")
	h.waitFor("the first sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	h.scaleAs("kubectl-scale", 7) // drift the PR does not know about
	// Live objects ferry does not track, which the pull request names.
	h.createConfigMap("production", "db-settings", map[string]any{"password": "hunter2-live"})
	h.createConfigMap("kube-system", "cluster-secret", map[string]any{"token": "live-token-kube-system"})

	head := h.git.Commit(t, repoName, "bump", map[string]string{
		"apps/payment-service.yaml": strings.Replace(noHeal, "tag: v2.4.1", "tag: v2.7.0", 1),
		// The chart now names both untracked ConfigMaps.
		"charts/payment-service/templates/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-settings\ndata:\n  mode: head\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-secret\n  namespace: kube-system\ndata:\n  mode: head\n",
		// A new Application aimed at another namespace.
		"apps/snoop.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: snoop\nspec:\n  source:\n" +
			"    repoURL: https://github.com/skillzmist/infrastructure\n    path: snoop\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: kube-system\n",
		"snoop/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-secret\ndata:\n  mode: snoop\n",
	}, "v2.7.0")
	h.setPullRef(9, head)
	h.gh.SetPermission(owner, repoName, "reader", "read")
	h.gh.SetPermission(owner, repoName, "writer", "write")
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 9, HeadSHA: head, HeadRef: "bump", BaseRef: "main", User: "alice"})

	// A reader is refused, and nothing is previewed.
	c := h.command(pr.Number, "reader", "/ferry diff --live", "live-reader")
	if got := h.reactions(c); got[len(got)-1] != "confused" {
		t.Errorf("reader's live diff: reactions %v, want confused", got)
	}
	if reply := h.reply(pr.Number, c); !strings.Contains(reply, "@reader needs write access to run `/ferry diff --live`; they have read") {
		t.Errorf("reader's live diff: reply %q, want the refusal", reply)
	}
	for _, cm := range h.gh.Comments(owner, repoName, pr.Number) {
		if strings.Contains(cm.Body, "ferry:diff") {
			t.Fatalf("a refused live diff previewed:\n%s", cm.Body)
		}
	}

	c = h.command(pr.Number, "writer", "/ferry diff --live", "live")
	h.reactions(c)
	var body string
	h.waitFor("the live diff in the sticky comment", func() bool {
		for _, cm := range h.gh.Comments(owner, repoName, pr.Number) {
			if strings.Contains(cm.Body, "ferry diff --live (head against the cluster)") {
				body = cm.Body
				return true
			}
		}
		return false
	})
	live := body[strings.Index(body, "ferry diff --live (head against the cluster)"):]
	for _, want := range []string{
		"--- live/apps/Deployment/production/payment-service", "-  replicas: 7", "+  replicas: 3", "+        image: payment-service:v2.7.0",
		"`payment-service`: objects ferry does not track there, shown as a sync would create them without reading the cluster: 1.",
		// The kube-system one is outside the default project: not even shown.
		"`payment-service`: objects outside its project, not read (a sync of them is refused; see the policy): 1.",
		"`snoop` is not an environment on the default branch `main`: it has no live state to compare.",
		"+  mode: head",
	} {
		if !strings.Contains(live, want) {
			t.Errorf("live section lacks %q:\n%s", want, live)
		}
	}
	for _, cm := range h.gh.Comments(owner, repoName, pr.Number) {
		for _, leak := range []string{"hunter2-live", "live-token-kube-system"} {
			if strings.Contains(cm.Body, leak) {
				t.Errorf("a comment shows the untracked live value %q:\n%s", leak, cm.Body)
			}
		}
	}
	if h.replicas() != 7 {
		t.Errorf("a live diff changed the cluster: replicas %d", h.replicas())
	}
}

// createConfigMap creates a ConfigMap ferry does not track.
func (h *syncHarness) createConfigMap(ns, name string, data map[string]any) {
	h.t.Helper()
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"data":     data,
	}}
	configmaps := deployments
	configmaps.Group, configmaps.Resource = "", "configmaps"
	if _, err := h.dyn.Resource(configmaps).Namespace(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// deleteTrackedConfigMap deletes a ConfigMap ferry tracks in production
// and waits for self-heal to recreate it.
func (h *syncHarness) deleteTrackedConfigMap(t *testing.T) {
	t.Helper()
	configmaps := deployments
	configmaps.Group, configmaps.Resource = "", "configmaps"
	cms, err := h.dyn.Resource(configmaps).Namespace("production").List(context.Background(), metav1.ListOptions{LabelSelector: "ferry.dev/app"})
	if err != nil || len(cms.Items) == 0 {
		t.Fatalf("no tracked ConfigMap to delete: %v", err)
	}
	name := cms.Items[0].GetName()
	if err := h.dyn.Resource(configmaps).Namespace("production").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the deleted ConfigMap to be recreated", func() bool {
		_, err := h.dyn.Resource(configmaps).Namespace("production").Get(context.Background(), name, metav1.GetOptions{})
		return err == nil
	})
}
