package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves h once and parses the answer as Prometheus would.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

// value is the counter, gauge or histogram count of family's sample with
// exactly labels (-1 when there is none).
func value(fams map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f := fams[family]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	m := New()
	for _, d := range []struct {
		event string
		code  int
	}{{"pull_request", 202}, {"pull_request", 202}, {"unverified", 401}, {"x-made-up-by-a-sender", 202}, {"push", 400}} {
		m.Webhook(d.event, d.code)
	}
	m.Job("pull_request.preview", "done", 300*time.Millisecond)
	m.Job("pull_request.preview", "retry", time.Second)
	m.Job("environment.sync", "failed", 2*time.Second)
	m.Render("helm", 40*time.Millisecond)
	m.Render("kustomize", 10*time.Millisecond)
	m.Render("kustomize", 20*time.Millisecond)
	m.Sync("succeeded")

	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "4321")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer gh.Close()
	client := &http.Client{Transport: m.Transport(nil)}
	for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, gh.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := client.Get("http://127.0.0.1:1/"); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}

	depth := func(context.Context) (map[string]int, error) {
		return map[string]int{"pull_request.preview": 3, "environment.sync": 1}, nil
	}
	fams := scrape(t, m.Handler(depth))
	tests := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"ferry_webhooks_total", map[string]string{"event": "pull_request", "code": "202"}, 2},
		{"ferry_webhooks_total", map[string]string{"event": "unverified", "code": "401"}, 1},
		{"ferry_webhooks_total", map[string]string{"event": "other", "code": "202"}, 1},
		{"ferry_webhooks_total", map[string]string{"event": "x-made-up-by-a-sender", "code": "202"}, -1},
		{"ferry_webhooks_total", map[string]string{"event": "push", "code": "400"}, 1},
		{"ferry_job_duration_seconds", map[string]string{"kind": "pull_request.preview", "outcome": "done"}, 1},
		{"ferry_job_duration_seconds", map[string]string{"kind": "environment.sync", "outcome": "failed"}, 1},
		{"ferry_github_requests_total", map[string]string{"method": "GET", "code": "200"}, 2},
		{"ferry_github_requests_total", map[string]string{"method": "POST", "code": "201"}, 1},
		{"ferry_github_requests_total", map[string]string{"method": "GET", "code": "error"}, 1},
		{"ferry_github_rate_limit_remaining", map[string]string{}, 4321},
		{"ferry_queue_depth", map[string]string{"kind": "pull_request.preview"}, 3},
		{"ferry_queue_depth", map[string]string{"kind": "environment.sync"}, 1},
		{"ferry_render_duration_seconds", map[string]string{"source": "kustomize"}, 2},
		{"ferry_render_duration_seconds", map[string]string{"source": "helm"}, 1},
		{"ferry_syncs_total", map[string]string{"result": "succeeded"}, 1},
	}
	for _, tt := range tests {
		if got := value(fams, tt.family, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.family, tt.labels, got, tt.want)
		}
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("no Go runtime or process metrics")
	}
}
