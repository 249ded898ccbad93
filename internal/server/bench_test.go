package server

import (
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// BenchmarkWebhookToComment measures what a user waits for: from the signed
// pull_request delivery to the sticky comment being posted, through the real
// server (intake, queue, git fetch over HTTP, render, diff, report) with the
// fake GitHub and git server on loopback. Each iteration is a new pull
// request of the example repository (production image bump).
func BenchmarkWebhookToComment(b *testing.B) {
	h := newHarness(b)
	sha, err := h.git.RevParse(repoName, testrepo.Branch("image-bump-production"))
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		number := 100 + i
		b.StopTimer()
		h.setPullRef(number, sha)
		pr := h.openPR(number, testrepo.Branch("image-bump-production"))
		b.StartTimer()
		t0 := time.Now()
		if code := h.deliver("pull_request", "opened", pr, fmt.Sprintf("bench-%d", i)); code != http.StatusAccepted {
			b.Fatalf("status %d", code)
		}
		h.waitFor("the comment", func() bool { return len(h.gh.Comments(owner, repoName, number)) == 1 })
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
}

// BenchmarkMergeGroupChecks is BenchmarkWebhookToComment for a merge queue:
// from the signed merge_group delivery to both checks completed on the
// group's head, for a group holding the same production image bump.
func BenchmarkMergeGroupChecks(b *testing.B) {
	h := newHarness(b)
	sha, err := h.git.RevParse(repoName, testrepo.Branch("image-bump-production"))
	if err != nil {
		b.Fatal(err)
	}
	base, err := h.git.RevParse(repoName, "main")
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		number := 100 + i
		b.StopTimer()
		branch := fmt.Sprintf("gh-readonly-queue/main/pr-%d-%s", number, sha)
		if out, err := exec.Command("git", "-C", h.git.RepoPath(repoName), "update-ref", "refs/heads/"+branch, sha).CombinedOutput(); err != nil {
			b.Fatalf("update-ref: %v: %s", err, out)
		}
		h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: number, HeadSHA: sha, HeadRef: "bump", BaseRef: "main", User: "alice"})
		body := githubtest.MergeGroupPayload(b, "checks_requested", h.repo, githubtest.MergeGroup{
			HeadSHA: sha, HeadRef: "refs/heads/" + branch, BaseSHA: base, BaseRef: "refs/heads/main", Message: fmt.Sprintf("Bump (#%d)", number)})
		b.StartTimer()
		t0 := time.Now()
		if resp := githubtest.Deliver(b, h.url+"/webhook", testSecret, "merge_group", body, fmt.Sprintf("bench-mg-%d", i)); resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
		h.waitFor("both checks", func() bool {
			done := 0
			for _, c := range h.gh.CheckRuns(owner, repoName, sha) {
				if c.Status == "completed" && c.CompletedAt.After(t0) {
					done++
				}
			}
			return done == 2
		})
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
}
