package webhook

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestPushJobs: a push plans its syncs; only a change to the default
// branch's .ferry.yaml or policies re-judges the open pull requests (the
// default branch's rules judge them all).
func TestPushJobs(t *testing.T) {
	repo := githubtest.Repo{Owner: "octo", Name: "infra"}
	policy := []githubtest.PushCommit{{ID: "1111111111111111111111111111111111111111", Modified: []string{".ferry/policies/approvals.rego"}}}
	docs := []githubtest.PushCommit{{ID: "2222222222222222222222222222222222222222", Modified: []string{"docs/README.md"}}}
	tests := []struct {
		name  string
		push  githubtest.Push
		kinds []string
	}{
		{"policy change on the default branch", githubtest.Push{Commits: policy}, []string{work.KindPush, work.KindRefresh}},
		{"policy change on another branch", githubtest.Push{Ref: "refs/heads/release", Commits: policy}, []string{work.KindPush}},
		{"other change on the default branch", githubtest.Push{Commits: docs}, []string{work.KindPush}},
		{"deleted branch", githubtest.Push{Ref: "refs/heads/old", Deleted: true}, nil},
		{"tag", githubtest.Push{Ref: "refs/tags/v1"}, nil},
		{"merge queue branch", githubtest.Push{Ref: "refs/heads/gh-readonly-queue/main/pr-7-" + docs[0].ID, Commits: policy}, nil},
	}
	for _, tt := range tests {
		tr, err := translate("push", githubtest.PushPayload(t, repo, tt.push))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var kinds []string
		for _, j := range tr.jobs {
			kinds = append(kinds, j.Kind)
		}
		if len(kinds) != len(tt.kinds) {
			t.Errorf("%s: jobs %v, want %v", tt.name, kinds, tt.kinds)
			continue
		}
		for i := range kinds {
			if kinds[i] != tt.kinds[i] {
				t.Errorf("%s: jobs %v, want %v", tt.name, kinds, tt.kinds)
			}
		}
	}
}

// TestMergeGroupJobs: checks_requested queues the group's check on its
// head; destroyed queues a job of the same key that supersedes it.
func TestMergeGroupJobs(t *testing.T) {
	repo := githubtest.Repo{Owner: "octo", Name: "infra"}
	g := githubtest.MergeGroup{HeadSHA: "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d", BaseSHA: "380387fbc80638b734a49e1be1c4dfec1c01b33c",
		HeadRef: "refs/heads/gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64", BaseRef: "refs/heads/main",
		Message: "Merge pull request #104 from octo/infra-change\n\nBump"}
	var keys []string
	for _, action := range []string{"checks_requested", "destroyed"} {
		tr, err := translate("merge_group", githubtest.MergeGroupPayload(t, action, repo, g))
		if err != nil || len(tr.jobs) != 1 {
			t.Fatalf("%s: jobs %+v, err %v", action, tr.jobs, err)
		}
		j := tr.jobs[0]
		a, err := work.Decode[work.MergeGroup](queue.Job{Kind: j.Kind, Args: j.Args})
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind != work.KindMergeGroup || !j.Supersede || a.HeadSHA != g.HeadSHA || a.BaseSHA != g.BaseSHA || a.BaseRef != "main" ||
			a.HeadRef != "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64" || a.Destroyed != (action == "destroyed") {
			t.Errorf("%s: job %s %+v", action, j.Kind, a)
		}
		if got := a.PullRequests(); len(got) != 1 || got[0] != 104 {
			t.Errorf("pull requests %v, want [104]", got)
		}
		keys = append(keys, j.Key)
	}
	if keys[0] != keys[1] {
		t.Errorf("keys %q: destroyed must supersede the queued check", keys)
	}
}
