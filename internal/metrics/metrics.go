// Package metrics is what ferry tells Prometheus at /metrics: webhooks
// received by event and answer, jobs by kind and outcome with their
// durations, queue depth by kind, render times by source type, syncs by
// result, drift events by action, whether the replica leads, and calls to GitHub's API by status with the rate limit left. The
// edges that do the work report to it through small hooks
// (webhook.Handler.Observe, queue.Pool.Observe, job.Metrics, Transport);
// nothing here logs or decides anything.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// subscribed reports the webhook events ferry subscribes to (app.yml);
// any other is counted as "other", so a sender can't grow the label set.
func subscribed(event string) bool {
	switch event {
	case "pull_request", "pull_request_review", "issue_comment", "check_run", "push", "merge_group",
		"ping", "installation", "installation_repositories":
		return true
	}
	return false
}

// Metrics holds ferry's collectors in their own registry.
type Metrics struct {
	reg        *prometheus.Registry
	webhooks   *prometheus.CounterVec
	jobs       *prometheus.HistogramVec
	calls      *prometheus.CounterVec
	rateLeft   prometheus.Gauge
	queueDepth *prometheus.GaugeVec
	renders    *prometheus.HistogramVec
	syncs      *prometheus.CounterVec
	drift      *prometheus.CounterVec
	leader     prometheus.Gauge
}

// New registers ferry's collectors, with Go's runtime and process ones.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_webhooks_total", Help: "Webhook deliveries by event and HTTP status of ferry's answer (event is \"unverified\" before the signature is checked).",
		}, []string{"event", "code"}),
		jobs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ferry_job_duration_seconds", Help: "Job runs by kind and outcome (done, retry, wait, failed, interrupted, lost).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"kind", "outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_github_requests_total", Help: "Calls to GitHub's API by method and HTTP status (\"error\" when no answer came).",
		}, []string{"method", "code"}),
		rateLeft: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ferry_github_rate_limit_remaining", Help: "X-RateLimit-Remaining of GitHub's latest answer.",
		}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_queue_depth", Help: "Jobs waiting or running, by kind, at the latest scrape.",
		}, []string{"kind"}),
	}
	m.renders = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ferry_render_duration_seconds", Help: "An environment's render time in a preview (base and head), by source type.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"source"})
	m.syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_syncs_total", Help: "Finished syncs by result (succeeded, failed, degraded, refused).",
	}, []string{"result"})
	m.drift = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_drift_events_total", Help: "Out-of-band changes found by the drift watchers, by what ferry did (healed: a re-apply queued; reported: the drift issue updated).",
	}, []string{"action"})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ferry_leader", Help: "1 while this replica leads (runs drift watching, self-heal, degradation watches and the daily prune), else 0.",
	})
	m.reg.MustRegister(m.webhooks, m.jobs, m.calls, m.rateLeft, m.queueDepth, m.renders, m.syncs, m.drift, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Webhook counts a delivery answered with code.
func (m *Metrics) Webhook(event string, code int) {
	if !subscribed(event) && event != "unverified" {
		event = "other"
	}
	m.webhooks.WithLabelValues(event, strconv.Itoa(code)).Inc()
}

// Job records a run of kind that ended with outcome after d.
func (m *Metrics) Job(kind, outcome string, d time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// Render records an environment's render time by source type.
func (m *Metrics) Render(source string, d time.Duration) {
	m.renders.WithLabelValues(source).Observe(d.Seconds())
}

// Sync counts a finished sync by result.
func (m *Metrics) Sync(result string) { m.syncs.WithLabelValues(result).Inc() }

// Drift counts a drift event by what was done about it.
func (m *Metrics) Drift(action string) { m.drift.WithLabelValues(action).Inc() }

// Leader says whether this replica leads.
func (m *Metrics) Leader(leading bool) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
}

// Depth reads the queue's depth by kind when /metrics is scraped.
type Depth func(ctx context.Context) (map[string]int, error)

// depthEvery is how often a scrape may read the queue's depth: /metrics
// shares the webhook's port, and scrapes must not become store load.
const depthEvery = 5 * time.Second

// Handler serves the registry in Prometheus' text format; depth, when not
// nil, is read first, at most every depthEvery (a failure leaves the
// previous values).
func (m *Metrics) Handler(depth Depth) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	var (
		mu   sync.Mutex
		last time.Time
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if depth != nil && time.Since(last) >= depthEvery {
			last = time.Now()
			if byKind, err := depth(r.Context()); err == nil {
				m.queueDepth.Reset()
				for kind, n := range byKind {
					m.queueDepth.WithLabelValues(kind).Set(float64(n))
				}
			}
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Transport counts each call next makes to GitHub and keeps the rate limit
// GitHub reports.
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			m.calls.WithLabelValues(req.Method, "error").Inc()
			return resp, err
		}
		m.calls.WithLabelValues(req.Method, strconv.Itoa(resp.StatusCode)).Inc()
		if left, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); err == nil {
			m.rateLeft.Set(float64(left))
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
