package job

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/store"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestPlansHandle: which environments a push to main syncs, and why.
func TestPlansHandle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := &Plans{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	f.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})
	first := f.head("main")
	plan := func(before, after string) map[string]string {
		t.Helper()
		if err := h.Handle(ctx, f.job(work.Push{Repo: f.repo, Branch: "main", Before: before, After: after}.Spec())); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, j := range f.queued(work.KindSync) {
			var s work.Sync
			if err := json.Unmarshal(j.Args, &s); err != nil {
				t.Fatal(err)
			}
			if s.Commit == after {
				got[s.Environment] = s.Trigger
			}
		}
		return got
	}
	// Never synced: every automated environment on main, first sight.
	want := map[string]string{"payment-service": work.TriggerFirstSight, "payment-service-staging": work.TriggerFirstSight}
	if got := plan(strings.Repeat("0", 40), first); !equalMaps(got, want) {
		t.Errorf("first push planned %v, want %v", got, want)
	}
	for env := range want {
		if err := f.db.SetInventory(ctx, f.repo.FullName, env, []manifest.Key{{Kind: "ConfigMap", Namespace: "x", Name: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		files map[string]string
		want  map[string]string
	}{
		{"chart change", map[string]string{"charts/payment-service/values.yaml": "replicas: 4\n"}, map[string]string{"payment-service": work.TriggerMerge}},
		{"unrelated file", map[string]string{"docs/NOTES.md": "hello\n"}, map[string]string{}},
	}
	before := first
	for _, tt := range tests {
		after := f.git.Commit(t, repoName, "main", tt.files, tt.name)
		if got := plan(before, after); !equalMaps(got, tt.want) {
			t.Errorf("%s: planned %v, want %v", tt.name, got, tt.want)
		}
		before = after
	}
}

// TestPlansManualNotice: a merge touching a manual environment syncs
// nothing there and tells the merged pull request how to sync it.
func TestPlansManualNotice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.head("main")
	kust := strings.Replace(f.file("main", "overlays/production/kustomization.yaml"), "count: 5", "count: 6", 1)
	after := f.git.Commit(t, repoName, "main", map[string]string{"overlays/production/kustomization.yaml": kust}, "production change")
	f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 7, HeadSHA: after, BaseRef: "main", User: "alice", Merged: true, MergeCommitSHA: after})
	f.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"number":7,"state":"closed","merged_at":"2026-12-01T00:00:00Z","merge_commit_sha":%q,"head":{"ref":"prod-replicas","sha":%q},"base":{"ref":"main"},"user":{"login":"alice"},"merged_by":{"login":"bob"}}]`, after, after)
	})
	for _, env := range []string{"payment-service", "payment-service-production", "payment-service-staging"} {
		if err := f.db.SetInventory(ctx, f.repo.FullName, env, []manifest.Key{{Kind: "ConfigMap", Name: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	h := &Plans{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	if err := h.Handle(ctx, f.job(work.Push{Repo: f.repo, Branch: "main", Before: first, After: after}.Spec())); err != nil {
		t.Fatal(err)
	}
	comments := f.gh.Comments(owner, repoName, 7)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "`payment-service-production`") || !strings.Contains(comments[0].Body, "/ferry sync ENV") {
		t.Errorf("comments on the merged pull request: %+v", comments)
	}
	var jobs []store.JobRecord = f.queued(work.KindSync)
	if len(jobs) != 0 {
		t.Errorf("a manual environment's merge queued %d syncs", len(jobs))
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b[k] != a[k] {
			return false
		}
	}
	return true
}

// TestPlansBranchOnlyApplication: an Application that exists only on a
// side branch, pushed there with itself as the target and an automated
// policy, syncs nothing: only the default branch defines environments.
func TestPlansBranchOnlyApplication(t *testing.T) {
	f := newFixtureWith(t, map[string]string{"apps/demo.yaml": demoApp, "demo/settings.yaml": demoConfigMap("blue")})
	f.gh.Handle("repos/list-pull-requests-associated-with-commit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "[]")
	})
	sneaky := strings.NewReplacer("name: demo", "name: sneaky", "targetRevision: main", "targetRevision: x", "namespace: demo", "namespace: kube-system").Replace(demoApp)
	after := f.git.Commit(t, repoName, "x", map[string]string{"apps/sneaky.yaml": sneaky}, "sneaky")
	h := &Plans{Repos: f.repos, DB: f.db, Queue: f.db, Logger: f.log}
	if err := h.Handle(context.Background(), f.job(work.Push{Repo: f.repo, Branch: "x", Before: strings.Repeat("0", 40), After: after}.Spec())); err != nil {
		t.Fatal(err)
	}
	if jobs := f.queued(work.KindSync); len(jobs) != 0 {
		t.Errorf("a push to a side branch queued %d syncs: %+v", len(jobs), jobs)
	}
}
