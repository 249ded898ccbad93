package server

import (
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

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
