package github

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// maxInlineWait is the longest ferry waits inside a call. Longer waits are
// handed back to the queue (RetryDelay) so a worker is not held hostage.
const maxInlineWait = 5 * time.Second

// inlineRetries bounds retries of one idempotent request on a 5xx.
const inlineRetries = 2

// rateLimitTransport retries what is safe to retry in place: idempotent
// requests that met a 5xx, and any request GitHub asked to retry after a few
// seconds (secondary rate limit, 429). POSTs that met a 5xx are not replayed
// here: GitHub may have done them, so the job retries and upserts instead.
type rateLimitTransport struct {
	next  http.RoundTripper
	sleep func(req *http.Request, d time.Duration) error
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sleep := t.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= inlineRetries {
			return resp, err
		}
		wait, retry := inlineRetry(req, resp, attempt)
		if !retry || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		resp.Body.Close()
		if err := sleep(req, wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func inlineRetry(req *http.Request, resp *http.Response, attempt int) (time.Duration, bool) {
	if d, ok := retryAfterHeader(resp); ok && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden) {
		return d, d <= maxInlineWait
	}
	if resp.StatusCode >= 500 && idempotent(req.Method) {
		return time.Duration(200*(attempt+1)) * time.Millisecond, true
	}
	return 0, false
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

func retryAfterHeader(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

func sleepCtx(req *http.Request, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-req.Context().Done():
		return req.Context().Err()
	}
}

// RetryDelay says whether a GitHub error is worth retrying later and how long
// to wait first: a shared pause's end (PausedError), the primary limit's reset (at least a second), a secondary
// limit's or a 429's Retry-After (a minute when absent), or 0 (the queue's
// own backoff) for 5xx and transport errors. Other 4xx are final.
func RetryDelay(err error, now time.Time) (time.Duration, bool) {
	var paused *PausedError
	if errors.As(err, &paused) {
		return max(paused.Until.Sub(now), time.Second), true
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return max(rl.Rate.Reset.Time.Sub(now), time.Second), true
	}
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil {
			return *abuse.RetryAfter, true
		}
		return time.Minute, true
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch code := er.Response.StatusCode; {
		case code == http.StatusTooManyRequests:
			if d, ok := retryAfterHeader(er.Response); ok {
				return d, true
			}
			return time.Minute, true
		case code >= 500:
			return 0, true
		}
		return 0, false
	}
	// Transport errors (connection reset, timeouts) are worth another try.
	return 0, err != nil
}

// IsNotFound reports a 404, which right after a webhook often only means
// GitHub's replicas have not caught up.
func IsNotFound(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}
