package job

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/project"
	"github.com/ferry-gitops/ferry/internal/work"
)

const adminBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: demo-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: demo}]
`

func catalog(t *testing.T, projects ...project.Project) *project.Catalog {
	t.Helper()
	c, err := project.NewCatalog(projects, "ferry-system")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// denyNow is a deny window open from the start of this minute until
// closes.
func denyNow(now, closes time.Time, manualSync bool) project.SyncWindow {
	start := now.UTC().Truncate(time.Minute)
	return project.SyncWindow{Kind: "deny", Schedule: fmt.Sprintf("%d %d * * *", start.Minute(), start.Hour()),
		Duration: closes.Sub(start).String(), Applications: []string{"*"}, ManualSync: manualSync}
}

// TestSyncsRefusedByProject: a sync its project refuses applies nothing,
// is recorded as refused, tells the pull request and the deployment why,
// and opens no revert pull request.
func TestSyncsRefusedByProject(t *testing.T) {
	notGranted := project.Default("")
	notGranted.Repos = []string{"other-org/*"}
	tests := []struct {
		name    string
		files   map[string]string
		catalog []project.Project
		want    string
	}{
		{"cluster-admin binding", map[string]string{"demo/admin.yaml": adminBinding}, nil, "ClusterRoleBinding is not permitted in project default"},
		{"object in kube-system", map[string]string{"demo/settings.yaml": strings.Replace(demoConfigMap("x"), "name: settings", "name: settings\n  namespace: kube-system", 1)},
			nil, "namespace kube-system is not permitted in project default"},
		{"project not granted to the repository", map[string]string{"demo/settings.yaml": demoConfigMap("x")},
			[]project.Project{notGranted}, "may not use project"},
		{"AppProject on the default branch narrows", map[string]string{"demo/settings.yaml": demoConfigMap("x"), "projects/default.yaml": `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: staging}]
`}, nil, "namespace demo is not permitted in project default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h := newSyncFixture(t)
			ctx := context.Background()
			if err := h.Handle(ctx, f.syncJob(f.head("main"), 0)); err != nil {
				t.Fatal(err)
			}
			h.Projects = Projects{Catalog: catalog(t, tt.catalog...)}
			commit := f.git.Commit(t, repoName, "main", tt.files, tt.name)
			f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 5, Merged: true, MergeCommitSHA: commit})
			if err := h.Handle(ctx, f.syncJob(commit, 5)); err != nil {
				t.Fatal(err)
			}
			syncs, err := f.db.Syncs(ctx, f.repo.FullName, "demo")
			if err != nil || len(syncs) != 2 {
				t.Fatalf("history %+v (%v)", syncs, err)
			}
			if s := syncs[0]; s.Result != history.Refused || !strings.Contains(s.Error, tt.want) || len(s.Applied) != 0 {
				t.Errorf("recorded %s %q, applied %q; want refused saying %q, nothing applied", s.Result, s.Error, s.Applied, tt.want)
			}
			if c := f.gh.Comments(owner, repoName, 5); len(c) != 1 || !strings.Contains(c[0].Body, "refused") {
				t.Errorf("pull request comments %+v", c)
			}
			deps := f.gh.Deployments(owner, repoName)
			if st := deps[len(deps)-1].Statuses; last(st) != "failure" || !strings.Contains(st[len(st)-1].Description, tt.want) {
				t.Errorf("deployment statuses %+v", st)
			}
			if prs := f.gh.PullRequests(owner, repoName); len(prs) != 1 {
				t.Errorf("pull requests %+v: a refusal opens no revert", prs)
			}
		})
	}
}

// TestSyncsInDenyWindow: an automated sync is queued again for when the
// window closes; a manual one is refused unless the window allows manual
// syncs. Nothing is deployed while the window is closed.
func TestSyncsInDenyWindow(t *testing.T) {
	now := time.Date(2026, 12, 5, 22, 30, 0, 0, time.UTC)
	closes := now.Add(90 * time.Minute)
	tests := []struct {
		name       string
		trigger    string
		manualSync bool
		held       bool
		synced     bool
	}{
		{"merge is held", work.TriggerMerge, false, true, false},
		{"self-heal is held", work.TriggerSelfHeal, false, true, false},
		{"manual is refused", work.TriggerManual, false, false, false},
		{"manual passes with manualSync", work.TriggerManual, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h := newSyncFixture(t)
			h.Now = func() time.Time { return now }
			def := project.Default("")
			def.SyncWindows = []project.SyncWindow{denyNow(now, closes, tt.manualSync)}
			h.Projects = Projects{Catalog: catalog(t, def)}
			f.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: 6, Merged: true})
			a := work.Sync{Repo: f.repo, Branch: "main", Commit: f.head("main"), Environment: "demo", Trigger: tt.trigger, PR: 6, Actor: "bob"}
			if err := h.Handle(context.Background(), f.job(a.Spec())); err != nil {
				t.Fatal(err)
			}
			if deps := f.gh.Deployments(owner, repoName); (len(deps) > 0) != tt.synced {
				t.Errorf("deployments %+v, synced want %v", deps, tt.synced)
			}
			queued := f.queued(work.KindSync)
			if tt.held {
				var s work.Sync
				if len(queued) != 1 || !queued[0].RunAfter.Equal(closes) || json.Unmarshal(queued[0].Args, &s) != nil || s.Trigger != tt.trigger {
					t.Errorf("queued %+v, want the sync again at %s", queued, closes)
				}
			} else if len(queued) != 0 {
				t.Errorf("queued %+v, want nothing", queued)
			}
			c := f.gh.Comments(owner, repoName, 6)
			if !tt.synced && (len(c) != 1 || !strings.Contains(c[0].Body, "sync window")) {
				t.Errorf("comments %+v, want one naming the sync window", c)
			}
		})
	}
}
