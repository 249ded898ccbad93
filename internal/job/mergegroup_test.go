package job

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestMergeGroupsDestroyed: a destroyed group's job does nothing, not even
// a GitHub call.
func TestMergeGroupsDestroyed(t *testing.T) {
	f := newFixture(t)
	m := &MergeGroups{Previews: &Previews{Repos: f.repos, DB: f.db, Logger: f.log}}
	g := work.MergeGroup{Repo: f.repo, HeadSHA: strings.Repeat("a", 40), BaseSHA: strings.Repeat("b", 40), HeadRef: "gh-readonly-queue/main/pr-1-x", BaseRef: "main", Destroyed: true}
	if err := m.Handle(context.Background(), f.job(g.Spec())); err != nil {
		t.Fatal(err)
	}
	if calls := f.gh.Calls(); len(calls) != 0 {
		t.Errorf("GitHub calls %v, want none", calls)
	}
}

func TestPullFiles(t *testing.T) {
	commits := []repofs.Commit{
		{Message: "Scale (#8)", Files: []string{"apps/b.yaml"}},
		{Message: "Merge pull request #7 from acme/x\n\nBump", Files: []string{"apps/a.yaml", "charts/a/values.yaml"}},
	}
	tests := []struct {
		n, pulls int
		want     []string
	}{
		{7, 2, []string{"apps/a.yaml", "charts/a/values.yaml"}},
		{8, 2, []string{"apps/b.yaml"}},
		{9, 2, nil},
		{7, 1, nil}, // alone in its group: every environment is its
	}
	for _, tt := range tests {
		if got := pullFiles(commits, tt.n, tt.pulls); !slices.Equal(got, tt.want) {
			t.Errorf("pullFiles(#%d of %d) = %q, want %q", tt.n, tt.pulls, got, tt.want)
		}
	}
}

func TestCombine(t *testing.T) {
	d := combine([]groupPart{
		{"merge group", &policy.Decision{Allowed: true, Summary: "allowed: no approvals needed"}},
		{"#7", &policy.Decision{Allowed: true}},
		{"#8", &policy.Decision{Allowed: false, Deny: []string{"production needs 2 approvals"}, Summary: "production needs 2 more approvals (has 0 of 2)",
			Status: []policy.EnvironmentStatus{{Environment: "production", Needed: 2, Missing: 2}}}},
	})
	if d.Allowed || !slices.Equal(d.Deny, []string{"#8: production needs 2 approvals"}) || d.Status[0].Environment != "#8 production" ||
		d.Summary != "merge group: allowed: no approvals needed\n#8: production needs 2 more approvals (has 0 of 2)" {
		t.Errorf("combined %+v", d)
	}
}
