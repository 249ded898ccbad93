package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pauses is where GitHub's rate-limit pauses live, shared by every replica
// (the store): after one worker meets a limit, no worker anywhere sends a
// call with that installation's token until the pause ends.
type Pauses interface {
	PauseGitHub(ctx context.Context, installation int64, until time.Time) error
	GitHubPausedUntil(ctx context.Context, installation int64) (time.Time, error)
}

// WriteLocks serialises an installation's writes across replicas (the
// store, on PostgreSQL).
type WriteLocks interface {
	LockGitHubWrites(ctx context.Context, installation int64) (unlock func(), err error)
}

// secondaryWait is how long to pause after a secondary rate limit that
// gives no Retry-After, as GitHub's best practices ask.
const secondaryWait = time.Minute

// PausedError is a call not sent because its installation is paused for
// longer than ferry waits inline; the job retries after Until.
type PausedError struct {
	Installation int64
	Until        time.Time
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("GitHub calls for installation %d are paused by a rate limit until %s", e.Installation, e.Until.UTC().Format(time.RFC3339))
}

// gateTransport holds an installation's calls while a pause lasts, records
// the pauses GitHub's answers ask for, and sends its writes (POST, PATCH,
// PUT, DELETE) one at a time, as GitHub's best practices ask: one at a time
// in this process, and with locks one at a time across replicas.
type gateTransport struct {
	next         http.RoundTripper
	pauses       Pauses
	installation int64
	writes       *sync.Mutex // this process's writes
	locks        WriteLocks  // every replica's writes; nil: this process's only
	now          func() time.Time
	sleep        func(req *http.Request, d time.Duration) error
}

func (g *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.wait(req); err != nil {
		return nil, err
	}
	if !readOnly(req.Method) {
		g.writes.Lock()
		defer g.writes.Unlock()
		if g.locks != nil {
			unlock, err := g.locks.LockGitHubWrites(req.Context(), g.installation)
			if err := req.Context().Err(); err != nil {
				return nil, err
			}
			if err == nil { // a store that can't lock does not stop writes
				defer unlock()
			}
		}
		// A pause may have begun while this write queued behind another.
		if err := g.wait(req); err != nil {
			return nil, err
		}
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if until, ok := pauseFrom(resp, g.now()); ok {
		// Best effort: an unrecorded pause still stops this job (its error
		// says when to retry); only the other workers would not know.
		_ = g.pauses.PauseGitHub(req.Context(), g.installation, until)
	}
	return resp, nil
}

// wait sleeps through a short pause, and through any that began or grew
// meanwhile, and refuses the call during a long one. A store that can't
// be read does not stop calls.
func (g *gateTransport) wait(req *http.Request) error {
	var slept time.Time // the end of the pause last slept through
	for {
		until, err := g.pauses.GitHubPausedUntil(req.Context(), g.installation)
		if err != nil || !until.After(slept) {
			return nil
		}
		d := until.Sub(g.now())
		switch {
		case d <= 0:
			return nil
		case d > maxInlineWait:
			return &PausedError{Installation: g.installation, Until: until}
		}
		if err := g.sleep(req, d); err != nil {
			return err
		}
		slept = until
	}
}

func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// pauseFrom reads the pause an answer asks for: a Retry-After on a 403 or
// 429, a minute for a secondary limit without one, or the primary limit's
// reset once none is left.
func pauseFrom(resp *http.Response, now time.Time) (time.Time, bool) {
	limited := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests
	if d, ok := retryAfterHeader(resp); ok && limited {
		return now.Add(d), true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return time.Unix(reset, 0), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden && secondaryLimit(resp) {
		return now.Add(secondaryWait), true
	}
	return time.Time{}, false
}

// secondaryLimit reports whether a 403's body says it is a secondary rate
// limit; the body stays readable for the caller.
func secondaryLimit(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return err == nil && strings.Contains(strings.ToLower(string(b)), "secondary rate limit")
}
