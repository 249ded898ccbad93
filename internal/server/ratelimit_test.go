package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestSecondaryLimitPausesEveryWorker: five pull requests previewed at
// once on four workers; GitHub answers one check-run creation with a
// secondary rate limit (403, Retry-After: 2). No call with the
// installation's token reaches GitHub before the two seconds pass, and
// every pull request still ends with one comment and a completed check.
func TestSecondaryLimitPausesEveryWorker(t *testing.T) {
	h := newHarnessWith(t, testrepo.Build(t), func(c *Config) { c.Workers = 4 })
	h.gh.FailNext("checks/create", http.StatusForbidden, 1, http.Header{"Retry-After": []string{"2"}})
	var prs []githubtest.PullRequest
	for n := 1; n <= 5; n++ {
		pr := h.openPR(n, testrepo.Branch("image-bump-production"))
		prs = append(prs, pr)
		if code := h.deliver("pull_request", "opened", pr, "limit-"+itoa(n)); code != http.StatusAccepted {
			t.Fatalf("opened #%d: status %d", n, code)
		}
	}
	h.waitFor("every preview", func() bool {
		for _, pr := range prs {
			if len(h.gh.Comments(owner, repoName, pr.Number)) != 1 {
				return false
			}
		}
		return h.completedCheck(prs[0].HeadSHA) != nil
	})
	var limited time.Time
	for _, c := range h.gh.Calls() {
		if c.Status == http.StatusForbidden && c.OperationID == "checks/create" {
			limited = c.At
		}
	}
	if limited.IsZero() {
		t.Fatal("the secondary limit was never hit")
	}
	for _, c := range h.gh.Calls() {
		token := strings.HasPrefix(c.Header.Get("Authorization"), "token ")
		if token && c.At.After(limited) && c.At.Before(limited.Add(2*time.Second)) {
			t.Errorf("%s %s sent %s after the limit, inside its Retry-After of 2s", c.Method, c.Path, c.At.Sub(limited))
		}
	}
	for _, pr := range prs {
		if n := len(h.gh.Comments(owner, repoName, pr.Number)); n != 1 {
			t.Errorf("#%d has %d comments, want 1", pr.Number, n)
		}
	}
}
