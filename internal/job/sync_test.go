package job

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/clustertest"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// demoApp is an automated Application of one ConfigMap, retried twice.
const demoApp = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
spec:
  source:
    repoURL: https://github.com/skillzmist/infrastructure
    targetRevision: main
    path: demo
  destination:
    server: https://kubernetes.default.svc
    namespace: demo
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 2, backoff: {duration: 5s, factor: 2}}
`

func demoConfigMap(value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: " + value + "\n"
}

// newSyncFixture serves a repository holding the demo Application and
// returns a Syncs handler applying to a real API server.
func newSyncFixture(t *testing.T) (*fixture, *Syncs) {
	t.Helper()
	f := newFixtureWith(t, map[string]string{"apps/demo.yaml": demoApp, "demo/settings.yaml": demoConfigMap("blue")})
	kc, err := kube.NewCluster(clustertest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	h := &Syncs{Repos: f.repos, DB: f.db, Queue: f.db, Renderer: preview.InProcess{}, HealthTimeout: 20 * time.Second, Logger: f.log,
		Clusters: func(environment.Destination) (*kube.Cluster, error) { return kc, nil }}
	return f, h
}

func (f *fixture) syncJob(commit string, pr int) queue.Job {
	return f.job(work.Sync{Repo: f.repo, Branch: "main", Commit: commit, Environment: "demo", Trigger: work.TriggerMerge, PR: pr}.Spec())
}

// TestSyncsHandle: a merge is applied once, recorded, reported on its pull
// request and as a GitHub deployment; a redelivery does nothing more.
func TestSyncsHandle(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	head := f.head("main")
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 3, Title: "Blue mode", User: "alice", Merged: true, MergeCommitSHA: head})
	j := f.syncJob(head, 3)
	for range 2 {
		if err := h.Handle(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	syncs, err := f.db.Syncs(ctx, f.repo.FullName, "demo")
	if err != nil || len(syncs) != 1 {
		t.Fatalf("history %v (%v), want one sync", syncs, err)
	}
	if s := syncs[0]; s.Result != history.Succeeded || s.Revision != head || s.PRTitle != "Blue mode" || s.Author != "alice" || len(s.Applied) == 0 {
		t.Errorf("recorded %+v", s)
	}
	deps := f.gh.Deployments(owner, repoName)
	if len(deps) != 1 || last(deps[0].Statuses) != "success" {
		t.Errorf("deployments %+v, want one ending in success", deps)
	}
	if comments := f.gh.Comments(owner, repoName, 3); len(comments) != 1 || !strings.Contains(comments[0].Body, "succeeded") {
		t.Errorf("comments %+v", comments)
	}
	if inv, ok, err := f.db.Inventory(ctx, f.repo.FullName, "demo"); err != nil || !ok || len(inv) == 0 {
		t.Errorf("inventory %v %v %v", inv, ok, err)
	}
}

func last(s []githubtest.DeploymentStatus) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1].State
}

// TestSyncsRetriesThenReverts: a manifest the API server refuses is tried
// again through the queue with the Application's backoff, then fails and
// opens a revert pull request.
func TestSyncsRetriesThenReverts(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	if err := h.Handle(ctx, f.syncJob(f.head("main"), 0)); err != nil {
		t.Fatal(err)
	}
	bad := f.git.Commit(t, repoName, "main", map[string]string{"demo/settings.yaml": strings.Replace(demoConfigMap("x"), "name: settings", "name: Not_A_Name", 1)}, "bad name")
	j := f.syncJob(bad, 0)
	retries := 0
	for attempt := 1; ; attempt++ {
		j.Attempts = attempt
		err := h.Handle(ctx, j)
		if err == nil {
			break
		}
		if queue.IsPermanent(err) || attempt > 5 {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		retries++
	}
	// The queue waits (its pool tests cover RetryIn); the handler says how long.
	if logs := f.logs.String(); retries != 2 || !strings.Contains(logs, "wait=5s") || !strings.Contains(logs, "wait=10s") {
		t.Errorf("%d retries, want 2 asking for 5s then 10s:\n%s", retries, logs)
	}
	syncs, _ := f.db.Syncs(ctx, f.repo.FullName, "demo")
	if len(syncs) != 2 || syncs[0].Result != history.Failed || !strings.Contains(syncs[0].Error, "after 3 attempts") {
		t.Fatalf("history %+v", syncs)
	}
	prs := f.gh.PullRequests(owner, repoName)
	if len(prs) != 1 || prs[0].HeadRef != "ferry/revert-"+bad[:12] {
		t.Errorf("revert pull requests %+v", prs)
	}
	if deps := f.gh.Deployments(owner, repoName); len(deps) != 2 || last(deps[1].Statuses) != "failure" {
		t.Errorf("deployments %+v: one per sync, the second failed", deps)
	}
}

// TestSyncsHoldWhileLocked: a locked environment holds its syncs; the
// release queues them, in order, in the environment's queue.
func TestSyncsHoldWhileLocked(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	if err := f.db.SetLock(ctx, f.repo.FullName, "demo", store.Lock{By: "bob", Reason: "freeze", PR: 1}); err != nil {
		t.Fatal(err)
	}
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 4, Merged: true})
	head := f.head("main")
	if err := h.Handle(ctx, f.syncJob(head, 4)); err != nil {
		t.Fatal(err)
	}
	if deps := f.gh.Deployments(owner, repoName); len(deps) != 0 {
		t.Errorf("a locked environment was synced: %+v", deps)
	}
	if c := f.gh.Comments(owner, repoName, 4); len(c) != 1 || !strings.Contains(c[0].Body, "locked by @bob") {
		t.Errorf("notice %+v", c)
	}
	r := &Releases{DB: f.db, Logger: f.log}
	if err := r.Handle(ctx, f.job(work.Release{Repo: f.repo, Environment: "demo", Actor: "bob"}.Spec())); err != nil {
		t.Fatal(err)
	}
	queued := f.queued(work.KindSync)
	if len(queued) != 1 || queued[0].Key != work.EnvKey(f.repo.FullName, "demo") {
		t.Fatalf("queued after release: %+v", queued)
	}
	var s work.Sync
	if err := json.Unmarshal(queued[0].Args, &s); err != nil || s.Commit != head || s.PR != 4 {
		t.Errorf("released sync %+v (%v)", s, err)
	}
	if lock, err := f.db.Lock(ctx, f.repo.FullName, "demo"); err != nil || lock != nil {
		t.Errorf("lock after release: %+v %v", lock, err)
	}
}

// TestSyncsUseTheDefaultBranchDefinition: a commit that moves its own
// environment's destination is applied where the default branch says.
func TestSyncsUseTheDefaultBranchDefinition(t *testing.T) {
	f, h := newSyncFixture(t)
	ctx := context.Background()
	moved := strings.Replace(demoApp, "namespace: demo", "namespace: elsewhere", 1)
	commit := f.git.Commit(t, repoName, "x", map[string]string{"apps/demo.yaml": moved, "demo/settings.yaml": demoConfigMap("green")}, "move")
	j := f.job(work.Sync{Repo: f.repo, Branch: "x", Commit: commit, Environment: "demo", Trigger: work.TriggerManual}.Spec())
	if err := h.Handle(ctx, j); err != nil {
		t.Fatal(err)
	}
	syncs, err := f.db.Syncs(ctx, f.repo.FullName, "demo")
	if err != nil || len(syncs) != 1 || syncs[0].Result != history.Succeeded {
		t.Fatalf("history %+v (%v)", syncs, err)
	}
	var applied string
	for _, a := range syncs[0].Applied {
		if strings.Contains(a, "ConfigMap") {
			applied = a
		}
	}
	if !strings.Contains(applied, "/demo/settings") {
		t.Errorf("the ConfigMap went to %q, want the default branch's namespace demo", applied)
	}
}
