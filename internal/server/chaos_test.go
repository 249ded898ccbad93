package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/pgtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// chaos is the GitHub of TestChaos: about one call with the installation's
// token in seven answered 502 Bad Gateway, half of those after the call
// took effect, and every 25th a secondary rate limit (403, Retry-After: 1).
var chaos = githubtest.ChaosOptions{Seed: 14, Fail502: 0.15, After: 0.5, SecondaryEvery: 25}

// inFlight is how long after a limited answer left the fake a call may
// still arrive that ferry had sent before it could know of the limit
// (another worker's read, or another replica's, that passed the pause
// check just before the pause was stored). Seen: up to ~30 ms.
const inFlight = 100 * time.Millisecond

// TestChaos: ten pull requests opened at once on a GitHub that answers
// random 502s (some after the write took effect) and periodic secondary
// rate limits, with one replica (SQLite) and with two `ferry serve`
// processes on one PostgreSQL database, the deliveries alternating
// between them. Every PR ends with one sticky comment and one completed
// check run of each name, and no call with the installation's token
// arrives while a Retry-After holds.
func TestChaos(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
	}{{"one replica", 1}, {"two replicas", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			h, urls, logs := chaosReplicas(t, tc.replicas)
			const prs = 10
			opened := make([]githubtest.PullRequest, 0, prs)
			for n := 1; n <= prs; n++ {
				opened = append(opened, h.openDistinctPR(n, testrepo.Branch("image-bump-production")))
			}
			h.gh.Chaos(chaos)
			start := time.Now()
			for n, pr := range opened {
				body := githubtest.PullRequestPayload(t, "opened", h.repo, pr)
				if resp := githubtest.Deliver(t, urls[n%len(urls)]+"/webhook", testSecret, "pull_request", body, fmt.Sprintf("chaos-%d", n)); resp.StatusCode != http.StatusAccepted {
					t.Fatalf("#%d: status %d", pr.Number, resp.StatusCode)
				}
			}
			deadline := start.Add(80 * time.Second)
			for _, pr := range opened {
				for !previewed(h, pr) {
					if time.Now().After(deadline) {
						t.Fatalf("#%d never completed: checks %+v, %d comments; logs:\n%s", pr.Number,
							h.gh.CheckRuns(owner, repoName, pr.HeadSHA), len(h.gh.Comments(owner, repoName, pr.Number)), logs())
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			faults := injected(h.gh.Calls())
			t.Logf("every PR previewed in %v; faults: %v", time.Since(start).Round(time.Millisecond), faults)
			if faults[githubtest.InjectedLimit] == 0 || faults[githubtest.Injected502After] == 0 {
				t.Errorf("faults %v: want secondary limits and 502s after the effect", faults)
			}
			time.Sleep(time.Second) // room for a wrong second comment or check
			assertPreviewedOnce(t, h, opened)
			for _, c := range h.gh.CallsDuringRetryAfter(inFlight) {
				t.Errorf("%s %s (%s) arrived at %s, while a Retry-After held", c.Method, c.Path, c.OperationID, c.At.Format("15:04:05.000"))
			}
		})
	}
}

// chaosReplicas starts ferry as one in-process replica on SQLite or as
// `ferry serve` processes on one PostgreSQL database, each with four
// workers, and returns their URLs and a tail of their logs.
func chaosReplicas(t *testing.T, replicas int) (*harness, []string, func() string) {
	if replicas == 1 {
		h := newHarnessWith(t, testrepo.Build(t), func(c *Config) { c.Workers = 4 })
		return h, []string{h.url}, func() string { return tail(h.logs.String(), 6000) }
	}
	h := newHarness(t)
	h.stop()
	h.stop = nil
	bin, dbURL := buildFerry(t), pgtest.URL(t)
	var urls []string
	var procs []*ferryProcess
	for range replicas {
		p := startReplica(t, h, bin, dbURL)
		urls, procs = append(urls, p.url), append(procs, p)
	}
	return h, urls, func() string {
		var b strings.Builder
		for i, p := range procs {
			fmt.Fprintf(&b, "--- replica %d\n%s\n", i, tail(p.logs.String(), 3000))
		}
		return b.String()
	}
}

// assertPreviewedOnce: each PR has exactly one comment, and one check run
// of each name on its head, completed.
func assertPreviewedOnce(t *testing.T, h *harness, prs []githubtest.PullRequest) {
	t.Helper()
	for _, pr := range prs {
		if n := len(h.gh.Comments(owner, repoName, pr.Number)); n != 1 {
			t.Errorf("#%d has %d comments, want 1", pr.Number, n)
		}
		runs := map[string][]string{}
		for _, c := range h.gh.CheckRuns(owner, repoName, pr.HeadSHA) {
			runs[c.Name] = append(runs[c.Name], c.Status)
		}
		for _, name := range []string{"ferry/diff", "ferry/policy"} {
			if got := runs[name]; len(got) != 1 || got[0] != "completed" {
				t.Errorf("#%d has %s check runs %v, want one completed", pr.Number, name, got)
			}
		}
	}
}

// injected counts the faults the fake injected, by kind.
func injected(calls []githubtest.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		if c.Injected != "" {
			out[c.Injected]++
		}
	}
	return out
}
