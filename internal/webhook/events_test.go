package webhook

import (
	"testing"

	"github.com/ferry-gitops/ferry/internal/githubtest"
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
