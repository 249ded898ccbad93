package job

import (
	"context"
	"encoding/json"
	"sort"
	"testing"

	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/internal/work"
)

// TestRefreshesQueuesEveryOpenPullRequest: a policy change on main queues a
// preview of each pull request open into main, at its current head.
func TestRefreshesQueuesEveryOpenPullRequest(t *testing.T) {
	f := newFixture(t)
	f.openPR(1, testrepo.Branch(testrepo.ImageBumpProduction))
	f.openPR(2, testrepo.Branch(testrepo.BaseChange))
	h := &Refreshes{Repos: f.repos, Queue: f.db, Logger: f.log}
	if err := h.Handle(context.Background(), f.job(work.Refresh{Repo: f.repo, BaseRef: "main"}.Spec())); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, j := range f.queued(work.KindPreview) {
		var p work.Preview
		if err := json.Unmarshal(j.Args, &p); err != nil {
			t.Fatal(err)
		}
		if j.Key != work.PRKey(f.repo.FullName, p.Number) || p.BaseRef != "main" || p.HeadSHA == "" || p.FullName != f.repo.FullName {
			t.Errorf("queued preview %s: %+v", j.Key, p)
		}
		got = append(got, p.Number)
	}
	sort.Ints(got)
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("previews queued for %v, want [1 2]", got)
	}
}
