package server

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// TestMetricsEndpoint: after a pull request's preview and a delivery with
// a bad signature, /metrics (parsed as Prometheus parses it) counts both
// deliveries, the preview job, GitHub's calls and the rate limit left.
func TestMetricsEndpoint(t *testing.T) {
	h := newHarness(t)
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	if code := h.deliver("pull_request", "opened", pr, "metrics-1"); code != http.StatusAccepted {
		t.Fatalf("opened: status %d", code)
	}
	body := githubtest.PullRequestPayload(t, "opened", h.repo, pr)
	if resp := githubtest.Deliver(t, h.url+"/webhook", "not-the-secret", "pull_request", body, "metrics-bad"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: status %d", resp.StatusCode)
	}
	// The job is observed once its handler returns, just after the check.
	var fams map[string]*dto.MetricFamily
	h.waitFor("the preview job in /metrics", func() bool {
		fams = h.scrape()
		return has(fams, "ferry_job_duration_seconds", "kind=pull_request.preview", "outcome=done")
	})
	for _, want := range [][]string{
		{"ferry_webhooks_total", "code=202", "event=pull_request"},
		{"ferry_webhooks_total", "code=401", "event=unverified"},
		{"ferry_job_duration_seconds", "kind=pull_request.preview", "outcome=done"},
		{"ferry_github_requests_total", "code=200", "method=GET"},
		{"ferry_github_rate_limit_remaining"},
		{"ferry_render_duration_seconds", "source=kustomize"},
	} {
		if !has(fams, want[0], want[1:]...) {
			t.Errorf("/metrics lacks %v", want)
		}
	}
}

// scrape reads /metrics as Prometheus parses it.
func (h *harness) scrape() map[string]*dto.MetricFamily {
	h.t.Helper()
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		h.t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// has reports whether family has a sample with exactly labels
// ("name=value", in name order).
func has(fams map[string]*dto.MetricFamily, family string, labels ...string) bool {
	for _, m := range fams[family].GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(got, ",") == strings.Join(labels, ",") {
			return true
		}
	}
	return false
}
