package queue

import (
	"errors"
	"time"

	"github.com/ferry-gitops/ferry/internal/backoff"
)

// Permanent marks a handler error that retrying cannot fix (a malformed job,
// a repository that no longer exists): the job fails at once. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryAfter asks for the job to be retried no sooner than d, e.g. the
// Retry-After GitHub sends with a rate limit. The delay is a floor: the
// regular backoff applies when it is longer. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryError{err: err, d: d}
}

// RetryIn asks for the job to be retried after d, for handlers that
// schedule their own retries (a sync following its Application's retry
// policy): d replaces the Pool's Backoff instead of being a floor under it.
// A RetryAfter in the error it wraps still raises it (a rate limit stays a
// rate limit), the Pool's Delay hook still applies, and MaxAttempts still
// ends the retries. When RetryIn wraps another, the outer one counts.
// RetryIn(nil, d) is nil.
func RetryIn(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryError{err: err, d: d, exact: true}
}

// retryError is a RetryAfter (a floor) or, exact, a RetryIn.
type retryError struct {
	err   error
	d     time.Duration
	exact bool
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryDelay is when to retry after err, given the Pool's backoff for the
// attempt: the RetryIn delay when err has one, else the backoff, either
// raised to the largest RetryAfter floor.
func retryDelay(err error, backoff time.Duration) time.Duration {
	if d, ok := retryExact(err); ok {
		backoff = d
	}
	return max(backoff, retryFloor(err), 0)
}

// retryExact is the first RetryIn delay in err's tree, looking where
// errors.As does.
func retryExact(err error) (time.Duration, bool) {
	if r, ok := err.(*retryError); ok && r.exact {
		return r.d, true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return retryExact(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if d, ok := retryExact(e); ok {
				return d, true
			}
		}
	}
	return 0, false
}

// IsPermanent reports whether err (or an error it wraps) was marked Permanent.
func IsPermanent(err error) bool { return isPermanent(err) }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryFloor is the largest RetryAfter delay in err's chain, or 0.
func retryFloor(err error) time.Duration {
	var floor time.Duration
	for err != nil {
		if r, ok := err.(*retryError); ok && !r.exact && r.d > floor {
			floor = r.d
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if f := retryFloor(e); f > floor {
					floor = f
				}
			}
			return floor
		default:
			return floor
		}
	}
	return floor
}

// defaultBackoff is DefaultBackoff's policy.
var defaultBackoff = backoff.Exponential{Base: time.Second, Factor: 2, Max: 5 * time.Minute}

// DefaultBackoff waits 1s after the first failed attempt and doubles per
// attempt, capped at 5 minutes.
func DefaultBackoff(attempt int) time.Duration {
	return defaultBackoff.Delay(max(attempt, 1))
}
