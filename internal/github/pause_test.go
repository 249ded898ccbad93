package github

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memPauses is the store's pause table in memory, shared by the "replicas"
// of a test.
type memPauses struct {
	mu    sync.Mutex
	until map[int64]time.Time
}

func (m *memPauses) PauseGitHub(_ context.Context, id int64, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.until[id]) {
		m.until[id] = until
	}
	return nil
}

func (m *memPauses) GitHubPausedUntil(_ context.Context, id int64) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until[id], nil
}

// fakeGitHub answers each call with the next scripted answer and records
// when (on the test's clock) each call arrived.
type fakeGitHub struct {
	answers []func() *http.Response
	clock   *fakeClock
	sent    []time.Time
}

func (f *fakeGitHub) RoundTrip(*http.Request) (*http.Response, error) {
	f.sent = append(f.sent, f.clock.now())
	answer := func() *http.Response { return answer(200, nil, "{}") }
	if len(f.answers) > 0 {
		answer, f.answers = f.answers[0], f.answers[1:]
	}
	return answer(), nil
}

func answer(code int, header map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// sleep advances the clock instead of waiting.
func (c *fakeClock) sleep(_ *http.Request, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

func TestSharedPauses(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		first     func() *http.Response
		wantPause time.Duration // 0: none
		wantBody  string        // the first answer's body, still readable
	}{
		{"secondary limit with Retry-After", func() *http.Response { return answer(403, map[string]string{"Retry-After": "2"}, "slow down") }, 2 * time.Second, "slow down"},
		{"429 without Retry-After", func() *http.Response { return answer(429, nil, "") }, time.Minute, ""},
		{"secondary limit named in the body", func() *http.Response {
			return answer(403, nil, `{"message":"You have exceeded a secondary rate limit"}`)
		}, time.Minute, `{"message":"You have exceeded a secondary rate limit"}`},
		{"primary limit used up", func() *http.Response {
			return answer(200, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(start.Add(30*time.Minute).Unix(), 10)}, "ok")
		}, 30 * time.Minute, "ok"},
		{"a plain 403", func() *http.Response { return answer(403, nil, `{"message":"Resource not accessible by integration"}`) }, 0, `{"message":"Resource not accessible by integration"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: start}
			pauses := &memPauses{until: map[int64]time.Time{}}
			gh := &fakeGitHub{answers: []func() *http.Response{tt.first}, clock: clock}
			// Two replicas: each its own transport, one shared store.
			a := &gateTransport{next: gh, pauses: pauses, installation: 7, writes: &sync.Mutex{}, now: clock.now, sleep: clock.sleep}
			b := &gateTransport{next: gh, pauses: pauses, installation: 7, writes: &sync.Mutex{}, now: clock.now, sleep: clock.sleep}
			req, _ := http.NewRequest(http.MethodGet, "https://api.github.com/repos/o/r", nil)
			resp, err := a.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if body, _ := io.ReadAll(resp.Body); string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			_, err = b.RoundTrip(req)
			var paused *PausedError
			switch {
			case tt.wantPause == 0:
				if err != nil || len(gh.sent) != 2 || !gh.sent[1].Equal(start) {
					t.Errorf("no pause wanted: err %v, calls at %v", err, gh.sent)
				}
			case tt.wantPause <= maxInlineWait:
				// The other replica waits it out, then sends.
				if err != nil || len(gh.sent) != 2 || gh.sent[1].Before(start.Add(tt.wantPause)) {
					t.Errorf("short pause: err %v, calls at %v, want the second at %s or later", err, gh.sent, start.Add(tt.wantPause))
				}
			default:
				// The other replica sends nothing; its job retries when the pause ends.
				if !errors.As(err, &paused) || len(gh.sent) != 1 || !paused.Until.Equal(start.Add(tt.wantPause)) {
					t.Fatalf("long pause: err %v, %d calls sent", err, len(gh.sent))
				}
				if d, ok := RetryDelay(err, start); !ok || d != tt.wantPause {
					t.Errorf("RetryDelay = %s, %t; want %s", d, ok, tt.wantPause)
				}
			}
		})
	}
}

// TestWritesOneAtATime: an installation's writes never overlap; reads do.
func TestWritesOneAtATime(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := map[string]int{}, map[string]int{}
	next := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		kind := "write"
		if req.Method == http.MethodGet {
			kind = "read"
		}
		mu.Lock()
		inFlight[kind]++
		most[kind] = max(most[kind], inFlight[kind])
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight[kind]--
		mu.Unlock()
		return answer(200, nil, ""), nil
	})
	g := &gateTransport{next: next, pauses: &memPauses{until: map[int64]time.Time{}}, installation: 1, writes: &sync.Mutex{}, now: time.Now, sleep: sleepCtx}
	var wg sync.WaitGroup
	for _, method := range []string{"POST", "PATCH", "POST", "DELETE", "GET", "GET", "GET"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(method, "https://api.github.com/x", nil)
			if _, err := g.RoundTrip(req); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most["write"] != 1 || most["read"] < 2 {
		t.Errorf("most in flight: %v; want one write at a time and reads together", most)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// memLocks is one lock per installation, as the store's advisory locks are.
type memLocks struct{ mu sync.Mutex }

func (l *memLocks) LockGitHubWrites(context.Context, int64) (func(), error) {
	l.mu.Lock()
	return l.mu.Unlock, nil
}

// TestWritesOneAtATimeAcrossReplicas: two replicas (a gate each, with its
// own mutex) sharing the write locks never write for one installation at
// the same time.
func TestWritesOneAtATimeAcrossReplicas(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	next := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return answer(200, nil, ""), nil
	})
	locks, pauses := &memLocks{}, &memPauses{until: map[int64]time.Time{}}
	replicas := []*gateTransport{
		{next: next, pauses: pauses, locks: locks, installation: 1, writes: &sync.Mutex{}, now: time.Now, sleep: sleepCtx},
		{next: next, pauses: pauses, locks: locks, installation: 1, writes: &sync.Mutex{}, now: time.Now, sleep: sleepCtx},
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, "https://api.github.com/x", nil)
			if _, err := replicas[i%2].RoundTrip(req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d writes in flight at once across the replicas, want 1", most)
	}
}
