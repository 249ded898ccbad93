package githubtest

import (
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// A fault is FailNext's: the next left calls answer status.
type fault struct {
	status int
	left   int
	header http.Header
}

// FailNext makes the next n calls to operationID answer status with a body
// like GitHub's for it, and header added to the response: 403 with
// Retry-After (or 429) is a secondary rate limit, 403 with
// X-RateLimit-Remaining: 0 the primary one. Faults queue up in order.
//
// go-github remembers a secondary limit's Retry-After and refuses further
// calls itself until it passes, so tests should use "Retry-After: 1" or less.
func (s *Server) FailNext(operationID string, status, n int, header http.Header) {
	s.t.Helper()
	if _, ok := s.spec.byID[operationID]; !ok {
		s.t.Fatalf("githubtest: FailNext: no operation %q in GitHub's REST description", operationID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[operationID] = append(s.faults[operationID], &fault{status: status, left: n, header: header.Clone()})
}

func (s *Server) injectFault(w http.ResponseWriter, opID string) bool {
	s.mu.Lock()
	var f *fault
	if q := s.faults[opID]; len(q) > 0 {
		f = q[0]
		f.left--
		if f.left <= 0 {
			s.faults[opID] = q[1:]
		}
	}
	s.mu.Unlock()
	if f == nil {
		return false
	}
	for k, vs := range f.header {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	msg, doc := faultBody(f.status, w.Header())
	writeError(w, f.status, msg, doc)
	return true
}

// faultBody is what GitHub answers with the status, as go-github classifies
// it (RateLimitError, AbuseRateLimitError, ErrorResponse).
func faultBody(status int, h http.Header) (message, documentation string) {
	const secondaryDoc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	const secondaryMsg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
		"If you reach out to GitHub Support for help, please include the request ID " // + id
	switch {
	case status == http.StatusForbidden && h.Get("X-RateLimit-Remaining") == "0":
		return "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID " +
				h.Get("X-GitHub-Request-Id") + ".",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limits"
	case status == http.StatusForbidden && h.Get("Retry-After") != "", status == http.StatusTooManyRequests:
		return secondaryMsg + h.Get("X-GitHub-Request-Id") + ".", secondaryDoc
	case status == http.StatusForbidden:
		return "Resource not accessible by integration", "https://docs.github.com/rest"
	case status == http.StatusUnauthorized:
		return "Bad credentials", "https://docs.github.com/rest"
	case status == http.StatusNotFound:
		return "Not Found", "https://docs.github.com/rest"
	case status == http.StatusUnprocessableEntity:
		return "Validation Failed", "https://docs.github.com/rest"
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return "No server is currently available to service your request. Sorry about that. " +
			"Please try resubmitting your request and contact us if the problem persists.", ""
	case status >= 500:
		return "Server Error", ""
	}
	return http.StatusText(status), "https://docs.github.com/rest"
}

// ChaosOptions make the fake as unreliable as GitHub sometimes is, for
// tests of a client's retries (see Server.Chaos).
type ChaosOptions struct {
	// Seed makes the random choices repeatable: the same sequence of
	// calls meets the same faults.
	Seed uint64
	// Fail502 is the probability that a call is answered 502 Bad Gateway.
	Fail502 float64
	// After is the share of those 502s answered after the call took
	// effect: the fake did what was asked (created the comment, the check
	// run) and answers 502 instead of the result, as a gateway that lost
	// GitHub's answer does.
	After float64
	// SecondaryEvery answers every Nth call (not counting those refused
	// while a limit holds) 403 with a secondary rate limit's body and a
	// Retry-After of RetryAfter seconds; 0 means never. While the limit
	// holds, every call of the installation is refused the same way, as
	// GitHub does. Such answers are Calls with Injected "secondary limit".
	SecondaryEvery int
	// RetryAfter is the limits' Retry-After in seconds (default 1).
	RetryAfter int
	// AppJWT makes calls made as the App (its JWT: the installation token
	// exchange) meet the faults too; by default only calls with an
	// installation token do.
	AppJWT bool
	// Operations, when set, are the only operations (by operationId) that
	// meet the faults.
	Operations []string
}

// What Server.Chaos injected into a call (Call.Injected).
const (
	Injected502      = "502"
	Injected502After = "502 after effect"
	InjectedLimit    = "secondary limit"
)

// Chaos makes every later call run the gauntlet o describes, after
// routing, authentication, FailNext and body checks. Chaos(ChaosOptions{})
// ends it. Faults are drawn in the order calls arrive, so the faults are
// repeatable for calls that arrive in a repeatable order.
func (s *Server) Chaos(o ChaosOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Fail502 <= 0 && o.SecondaryEvery <= 0 {
		s.chaos = nil
		return
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 1
	}
	s.chaos = &chaos{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), limited: map[int64]time.Time{}}
}

// chaos is ChaosOptions' state; Server.mu guards it.
type chaos struct {
	o       ChaosOptions
	rng     *rand.Rand
	calls   int                 // calls that met the chaos and were not refused by a holding limit
	limited map[int64]time.Time // installation (0: the App) → end of its limit
}

// decide is what happens to a call to operation of installation (0: made
// as the App) arriving at now: "" (nothing) or one of the Injected values,
// and for a limit the Retry-After to answer.
func (c *chaos) decide(operation string, installation int64, now time.Time) (string, time.Duration) {
	if c == nil || installation == 0 && !c.o.AppJWT || len(c.o.Operations) > 0 && !slices.Contains(c.o.Operations, operation) {
		return "", 0
	}
	if until := c.limited[installation]; now.Before(until) {
		return InjectedLimit, until.Sub(now)
	}
	c.calls++
	fail, after := c.rng.Float64(), c.rng.Float64() // both drawn, so the sequence does not depend on the outcome
	switch {
	case c.o.SecondaryEvery > 0 && c.calls%c.o.SecondaryEvery == 0:
		wait := time.Duration(c.o.RetryAfter) * time.Second
		c.limited[installation] = now.Add(wait)
		return InjectedLimit, wait
	case fail >= c.o.Fail502:
		return "", 0
	case after < c.o.After:
		return Injected502After, 0
	}
	return Injected502, 0
}

// disturb applies the chaos to a call the fake would answer with run. It
// reports whether it answered.
func (s *Server) disturb(w http.ResponseWriter, call *Call, run func(http.ResponseWriter)) bool {
	s.mu.Lock()
	what, wait := s.chaos.decide(call.OperationID, call.Installation, time.Now())
	s.mu.Unlock()
	call.Injected = what
	switch what {
	case "":
		return false
	case InjectedLimit:
		// Whole seconds, rounded up: a client that honours it stays out
		// until the limit is over.
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		msg, doc := faultBody(http.StatusForbidden, w.Header())
		writeError(w, http.StatusForbidden, msg, doc)
		return true
	case Injected502After:
		run(discard{header: http.Header{}})
	}
	msg, doc := faultBody(http.StatusBadGateway, w.Header())
	writeError(w, http.StatusBadGateway, msg, doc)
	return true
}

// discard is a ResponseWriter whose answer nobody reads.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// CallsDuringRetryAfter returns the calls with an installation's token
// that arrived while a Retry-After the fake had answered that
// installation (a secondary limit: a 403 or 429 with Retry-After) still
// held, counted from grace after the answer left: a call already on its
// way then was sent before its client could know. A client that honours
// Retry-After makes none.
func (s *Server) CallsDuringRetryAfter(grace time.Duration) []Call {
	calls := s.Calls()
	type window struct{ from, to time.Time }
	held := map[int64][]window{}
	for _, c := range calls {
		if c.Installation == 0 || c.Status != http.StatusForbidden && c.Status != http.StatusTooManyRequests {
			continue
		}
		if secs, err := strconv.Atoi(c.Response.Get("Retry-After")); err == nil && secs > 0 {
			held[c.Installation] = append(held[c.Installation], window{c.Answered.Add(grace), c.Answered.Add(time.Duration(secs) * time.Second)})
		}
	}
	var out []Call
	for _, c := range calls {
		for _, w := range held[c.Installation] {
			if c.At.After(w.from) && c.At.Before(w.to) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
