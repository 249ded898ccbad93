package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/store"
)

const secret = "webhook-test-secret"

// lastObserved is what the latest delivery told Handler.Observe.
var lastObserved atomic.Value

func newServer(t testing.TB) (*httptest.Server, *store.DB, *atomic.Int64) {
	t.Helper()
	return newServerWith(t, Limits{})
}

func newServerWith(t testing.TB, limits Limits) (*httptest.Server, *store.DB, *atomic.Int64) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var wakes atomic.Int64
	h := &Handler{Secret: []byte(secret), Intake: db, Wake: func() { wakes.Add(1) }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, Limits: limits,
		Observe: func(event string, code int) { lastObserved.Store(fmt.Sprintf("%s %d", event, code)) }}
	e := echo.New()
	e.POST("/webhook", h.Serve)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, db, &wakes
}

func post(t testing.TB, url, event, delivery string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if event != "" {
		req.Header.Set("X-GitHub-Event", event)
	}
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func prPayload(t testing.TB, action string, number int) []byte {
	repo := githubtest.Repo{Owner: "octo", Name: "infra"}
	return githubtest.PullRequestPayload(t, action, repo, githubtest.PullRequest{Number: number, HeadSHA: fmt.Sprintf("%040d", number)})
}

func TestServe(t *testing.T) {
	opened := prPayload(t, "opened", 7)
	labeled := prPayload(t, "labeled", 7)
	sign := func(b []byte) string { return githubtest.Sign([]byte(secret), b) }
	tests := []struct {
		name     string
		event    string
		delivery string
		body     []byte
		sig      string
		want     int
		jobs     int
		observed string // what Observe was told
	}{
		{"opened is accepted and queued", "pull_request", "d1", opened, sign(opened), http.StatusAccepted, 1, "pull_request 202"},
		{"same delivery again is acknowledged, not queued", "pull_request", "d1", opened, sign(opened), http.StatusAccepted, 0, "pull_request 202"},
		{"wrong secret", "pull_request", "d2", opened, githubtest.Sign([]byte("nope"), opened), http.StatusUnauthorized, 0, "unverified 401"},
		{"missing signature", "pull_request", "d3", opened, "", http.StatusUnauthorized, 0, "unverified 401"},
		{"signature of another body", "pull_request", "d4", opened, sign(labeled), http.StatusUnauthorized, 0, "unverified 401"},
		{"sha1 only is refused", "pull_request", "d5", opened, "sha1=0000", http.StatusUnauthorized, 0, "unverified 401"},
		{"an action ferry ignores", "pull_request", "d6", labeled, sign(labeled), http.StatusAccepted, 0, "pull_request 202"},
		{"ping", "ping", "d7", []byte(`{"zen":"hi"}`), sign([]byte(`{"zen":"hi"}`)), http.StatusOK, 0, "ping 200"},
		{"missing delivery id", "pull_request", "", opened, sign(opened), http.StatusBadRequest, 0, "pull_request 400"},
		{"malformed json", "pull_request", "d8", []byte(`{`), sign([]byte(`{`)), http.StatusBadRequest, 0, "pull_request 400"},
	}
	srv, db, _ := newServer(t)
	total := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, srv.URL, tt.event, tt.delivery, tt.body, tt.sig); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
			if got := lastObserved.Load(); got != tt.observed {
				t.Errorf("observed %v, want %q", got, tt.observed)
			}
			total += tt.jobs
			jobs, err := db.Jobs(context.Background(), store.JobFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != total {
				t.Errorf("%d jobs stored, want %d", len(jobs), total)
			}
		})
	}
}

func TestOversizedBodyRefused(t *testing.T) {
	srv, db, _ := newServer(t)
	body := []byte(`{"action":"opened","x":"` + strings.Repeat("a", MaxBody) + `"}`)
	if got := post(t, srv.URL, "pull_request", "big", body, githubtest.Sign([]byte(secret), body)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", got)
	}
	if jobs, _ := db.Jobs(context.Background(), store.JobFilter{}); len(jobs) != 0 {
		t.Errorf("%d jobs stored", len(jobs))
	}
}

// BenchmarkIntake measures the webhook front door: signed deliveries over
// loopback HTTP, verified, translated and persisted (with their job) before
// the 202. It reports accepted deliveries per second and latency percentiles.
func BenchmarkIntake(b *testing.B) {
	srv, _, _ := newServer(b)
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = prPayload(b, "synchronize", i+1)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			i := n.Add(1)
			body := bodies[i%int64(len(bodies))]
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i))
			req.Header.Set("X-Hub-Signature-256", githubtest.Sign([]byte(secret), body))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "accepted/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
