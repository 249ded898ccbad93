package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

func TestRateLimitTransportAgainstGitHub(t *testing.T) {
	get := func(ctx context.Context, e *env, pr int) error {
		_, _, err := e.client.REST.PullRequests.Get(ctx, "acme", "app", pr)
		return err
	}
	post := func(ctx context.Context, e *env, pr int) error {
		_, err := e.client.CreateComment(ctx, e.repo, pr, "hello")
		return err
	}
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name      string
		op        string
		call      func(context.Context, *env, int) error
		status    int
		n         int
		header    http.Header
		wantCalls int
		wantWaits []time.Duration
		wantErr   bool
		// wantDelay is RetryDelay's answer for the error; wantRetry whether
		// the job should retry at all.
		wantDelay time.Duration
		wantRetry bool
	}{
		{
			name: "GET answered 502 once is retried in place", op: "pulls/get", call: get,
			status: 502, n: 1, wantCalls: 2, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "GET answered 503 twice is retried twice", op: "pulls/get", call: get,
			status: 503, n: 2, wantCalls: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name: "GET answered 500 three times gives up", op: "pulls/get", call: get,
			status: 500, n: 3, wantCalls: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
			wantErr: true, wantDelay: 0, wantRetry: true,
		},
		{
			name: "POST answered 500 is not replayed", op: "issues/create-comment", call: post,
			status: 500, n: 1, wantCalls: 1, wantErr: true, wantDelay: 0, wantRetry: true,
		},
		{
			name: "POST answered 502 is not replayed", op: "issues/create-comment", call: post,
			status: 502, n: 1, wantCalls: 1, wantErr: true, wantDelay: 0, wantRetry: true,
		},
		{
			name: "secondary limit with Retry-After 1 on a GET is waited out", op: "pulls/get", call: get,
			status: 403, n: 1, header: retryAfter("1"), wantCalls: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "secondary limit with Retry-After 5 is still waited out", op: "pulls/get", call: get,
			status: 403, n: 1, header: retryAfter("5"), wantCalls: 2, wantWaits: []time.Duration{5 * time.Second},
		},
		{
			name: "secondary limit with Retry-After 1 on a POST is retried with its body", op: "issues/create-comment", call: post,
			status: 403, n: 1, header: retryAfter("1"), wantCalls: 2, wantWaits: []time.Duration{time.Second},
		},
		{
			name: "429 with Retry-After 2 is waited out", op: "pulls/get", call: get,
			status: 429, n: 1, header: retryAfter("2"), wantCalls: 2, wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name: "secondary limit with Retry-After 120 goes back to the queue", op: "pulls/get", call: get,
			status: 403, n: 1, header: retryAfter("120"), wantCalls: 1,
			wantErr: true, wantDelay: 120 * time.Second, wantRetry: true,
		},
		{
			name: "secondary limit with Retry-After 6 goes back to the queue", op: "issues/create-comment", call: post,
			status: 403, n: 1, header: retryAfter("6"), wantCalls: 1,
			wantErr: true, wantDelay: 6 * time.Second, wantRetry: true,
		},
		{
			name: "429 with Retry-After 30 goes back to the queue", op: "pulls/get", call: get,
			status: 429, n: 1, header: retryAfter("30"), wantCalls: 1,
			wantErr: true, wantDelay: 30 * time.Second, wantRetry: true,
		},
		{
			name: "403 without Retry-After is final", op: "pulls/get", call: get,
			status: 403, n: 1, wantCalls: 1, wantErr: true, wantRetry: false,
		},
		{
			name: "404 is final", op: "pulls/get", call: get,
			status: 404, n: 1, wantCalls: 1, wantErr: true, wantRetry: false,
		},
		{
			name: "422 is final", op: "issues/create-comment", call: post,
			status: 422, n: 1, wantCalls: 1, wantErr: true, wantRetry: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pr := e.gh.AddPullRequest("acme", "app", githubtest.PR{})
			ctx := context.Background()
			// Mint the token first, so only the operation's calls count.
			if _, err := e.app.Token(ctx, githubtest.DefaultInstallationID); err != nil {
				t.Fatal(err)
			}
			e.gh.FailNext(tc.op, tc.status, tc.n, tc.header)

			err := tc.call(ctx, e, pr.Number)
			if (err != nil) != tc.wantErr {
				t.Fatalf("call = %v, want error %v", err, tc.wantErr)
			}
			calls := e.gh.CallsTo(tc.op)
			if len(calls) != tc.wantCalls {
				t.Errorf("%d calls to %s, want %d", len(calls), tc.op, tc.wantCalls)
			}
			for _, c := range calls[1:] {
				if string(c.Body) != string(calls[0].Body) {
					t.Errorf("retried body %q differs from the first %q", c.Body, calls[0].Body)
				}
			}
			if got := e.sleeps.get(); fmt.Sprint(got) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tc.wantWaits)
			}
			if tc.op == "issues/create-comment" {
				want := 0
				if !tc.wantErr {
					want = 1
				}
				if cs := e.gh.Comments("acme", "app", pr.Number); len(cs) != want || (want == 1 && cs[0].Body != "hello") {
					t.Errorf("comments = %+v, want %d", cs, want)
				}
			}
			if !tc.wantErr {
				return
			}
			delay, retry := RetryDelay(err, time.Now())
			if delay != tc.wantDelay || retry != tc.wantRetry {
				t.Errorf("RetryDelay(%v) = %v, %v; want %v, %v", err, delay, retry, tc.wantDelay, tc.wantRetry)
			}
			if IsNotFound(err) != (tc.status == 404) {
				t.Errorf("IsNotFound(%v) = %v", err, IsNotFound(err))
			}
		})
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	e := newEnv(t)
	pr := e.gh.AddPullRequest("acme", "app", githubtest.PR{})
	now := time.Now()
	reset := now.Add(90 * time.Second).Unix()
	e.gh.FailNext("pulls/get", 403, 1, http.Header{
		"X-Ratelimit-Remaining": {"0"},
		"X-Ratelimit-Reset":     {strconv.FormatInt(reset, 10)},
	})
	_, _, err := e.client.REST.PullRequests.Get(context.Background(), "acme", "app", pr.Number)
	var rl *gh.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %T %v, want a *RateLimitError", err, err)
	}
	if n := len(e.gh.CallsTo("pulls/get")); n != 1 || len(e.sleeps.get()) != 0 {
		t.Errorf("%d calls, waits %v; the primary limit is not waited out in place", n, e.sleeps.get())
	}
	want := time.Unix(reset, 0).Sub(now)
	if d, ok := RetryDelay(fmt.Errorf("job: %w", err), now); d != want || !ok {
		t.Errorf("RetryDelay = %v, %v; want the reset, %v", d, ok, want)
	}
}

func TestRetryDelay(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	resp := func(status int, header ...string) *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Request: &http.Request{Method: "GET"}}
	}
	errResp := func(status int, header ...string) error {
		return &gh.ErrorResponse{Response: resp(status, header...), Message: http.StatusText(status)}
	}
	secs := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }
	tests := []struct {
		name      string
		err       error
		wantDelay time.Duration
		wantRetry bool
	}{
		{"primary limit: until the reset", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(42 * time.Minute)}}, Response: resp(403)}, 42 * time.Minute, true},
		{"primary limit wrapped", fmt.Errorf("list: %w", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(time.Minute)}}, Response: resp(403)}), time.Minute, true},
		{"primary limit already reset: a second", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(-time.Minute)}}, Response: resp(403)}, time.Second, true},
		{"secondary limit: its Retry-After", &gh.AbuseRateLimitError{RetryAfter: secs(75), Response: resp(403)}, 75 * time.Second, true},
		{"secondary limit wrapped", fmt.Errorf("x: %w", &gh.AbuseRateLimitError{RetryAfter: secs(3), Response: resp(403)}), 3 * time.Second, true},
		{"secondary limit without Retry-After: a minute", &gh.AbuseRateLimitError{Response: resp(403)}, time.Minute, true},
		{"429 with Retry-After", errResp(429, "Retry-After", "17"), 17 * time.Second, true},
		{"429 without Retry-After: a minute", errResp(429), time.Minute, true},
		{"429 with an unparsable Retry-After: a minute", errResp(429, "Retry-After", "soon"), time.Minute, true},
		{"500: the queue's backoff", errResp(500), 0, true},
		{"502", errResp(502), 0, true},
		{"503 wrapped", fmt.Errorf("x: %w", errResp(503)), 0, true},
		{"400", errResp(400), 0, false},
		{"401", errResp(401), 0, false},
		{"403", errResp(403), 0, false},
		{"404", errResp(404), 0, false},
		{"422", errResp(422), 0, false},
		{"transport error", errors.New("read tcp: connection reset by peer"), 0, true},
		{"no error", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, retry := RetryDelay(tc.err, now)
			if d != tc.wantDelay || retry != tc.wantRetry {
				t.Errorf("RetryDelay = %v, %v; want %v, %v", d, retry, tc.wantDelay, tc.wantRetry)
			}
		})
	}
}

func TestIsNotFound(t *testing.T) {
	notFound := &gh.ErrorResponse{Response: &http.Response{StatusCode: 404, Request: &http.Request{Method: "GET"}}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"404", notFound, true},
		{"wrapped 404", fmt.Errorf("get: %w", notFound), true},
		{"500", &gh.ErrorResponse{Response: &http.Response{StatusCode: 500, Request: &http.Request{Method: "GET"}}}, false},
		{"no response", &gh.ErrorResponse{}, false},
		{"other error", errors.New("not found"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		if got := IsNotFound(tc.err); got != tc.want {
			t.Errorf("%s: IsNotFound = %v, want %v", tc.name, got, tc.want)
		}
	}
	e := newEnv(t)
	_, _, err := e.client.REST.Issues.GetComment(context.Background(), "acme", "app", 123456789)
	if !IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false for a missing comment", err)
	}
}

// script is a RoundTripper answering from a list and recording requests.
type script struct {
	answers []func() (*http.Response, error)
	bodies  []string
	closed  int
}

func (s *script) RoundTrip(req *http.Request) (*http.Response, error) {
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	s.bodies = append(s.bodies, body)
	answer := s.answers[len(s.bodies)-1]
	return answer()
}

func (s *script) status(code int, header ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: code, Header: h, Body: &closeCounter{s: s, Reader: strings.NewReader("{}")}}, nil
	}
}

type closeCounter struct {
	io.Reader
	s *script
}

func (c *closeCounter) Close() error { c.s.closed++; return nil }

func TestRateLimitTransport(t *testing.T) {
	errReset := errors.New("connection reset")
	tests := []struct {
		name       string
		method     string
		body       io.Reader // nil: none
		noGetBody  bool
		answers    func(s *script) []func() (*http.Response, error)
		sleepErr   error
		wantStatus int
		wantErr    error
		wantBodies []string
		wantWaits  []time.Duration
	}{
		{
			name: "transport error is not retried", method: "GET",
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){func() (*http.Response, error) { return nil, errReset }}
			},
			wantErr: errReset, wantBodies: []string{""},
		},
		{
			name: "PUT and DELETE are idempotent", method: "PUT", body: strings.NewReader(`{"a":1}`),
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(502), s.status(200)}
			},
			wantStatus: 200, wantBodies: []string{`{"a":1}`, `{"a":1}`}, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "a body that cannot be replayed is not retried", method: "PATCH", body: strings.NewReader("x"), noGetBody: true,
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(502), s.status(200)}
			},
			wantStatus: 502, wantBodies: []string{"x"},
		},
		{
			name: "HTTP-date Retry-After is not waited out in place", method: "GET",
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(403, "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), s.status(200)}
			},
			wantStatus: 403, wantBodies: []string{""},
		},
		{
			name: "negative Retry-After is ignored", method: "GET",
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(429, "Retry-After", "-1"), s.status(200)}
			},
			wantStatus: 429, wantBodies: []string{""},
		},
		{
			name: "Retry-After 0 is retried at once", method: "POST", body: strings.NewReader("b"),
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(403, "Retry-After", "0"), s.status(201)}
			},
			wantStatus: 201, wantBodies: []string{"b", "b"}, wantWaits: []time.Duration{0},
		},
		{
			name: "a cancelled wait ends the call", method: "GET", sleepErr: context.Canceled,
			answers: func(s *script) []func() (*http.Response, error) {
				return []func() (*http.Response, error){s.status(503), s.status(200)}
			},
			wantErr: context.Canceled, wantBodies: []string{""}, wantWaits: []time.Duration{200 * time.Millisecond},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{}
			s.answers = tc.answers(s)
			var waits []time.Duration
			tr := &rateLimitTransport{next: s, sleep: func(_ *http.Request, d time.Duration) error {
				waits = append(waits, d)
				return tc.sleepErr
			}}
			req, err := http.NewRequest(tc.method, "https://api.github.com/x", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noGetBody {
				req.GetBody = nil
			}
			resp, err := tr.RoundTrip(req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || resp != nil {
					t.Errorf("RoundTrip = %v, %v; want %v", resp, err, tc.wantErr)
				}
			} else if err != nil || resp.StatusCode != tc.wantStatus {
				t.Errorf("RoundTrip = %v, %v; want status %d", resp, err, tc.wantStatus)
			}
			if fmt.Sprintf("%q", s.bodies) != fmt.Sprintf("%q", tc.wantBodies) {
				t.Errorf("requests sent bodies %q, want %q", s.bodies, tc.wantBodies)
			}
			if fmt.Sprint(waits) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("waits = %v, want %v", waits, tc.wantWaits)
			}
			// Every response not handed back was closed.
			handedBack := 0
			if resp != nil {
				handedBack = 1
			}
			if answered := len(s.bodies); tc.wantErr != errReset && s.closed != answered-handedBack {
				t.Errorf("%d of %d discarded responses closed", s.closed, answered-handedBack)
			}
		})
	}
}

func TestSleepCtx(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://api.github.com/", nil)
	if err := sleepCtx(req, 0); err != nil {
		t.Errorf("sleepCtx(0) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(req.WithContext(ctx), time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx with a cancelled context = %v, want context.Canceled", err)
	}
}
