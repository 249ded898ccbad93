package queue

import (
	"errors"
	"time"
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
	return &retryAfterError{err: err, after: d}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

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
		if r, ok := err.(*retryAfterError); ok && r.after > floor {
			floor = r.after
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

// DefaultBackoff waits 1s after the first failed attempt and doubles per
// attempt, capped at 5 minutes.
func DefaultBackoff(attempt int) time.Duration {
	const maxDelay = 5 * time.Minute
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 10 { // 2^9 s already exceeds the cap; avoid overflow
		return maxDelay
	}
	return min(time.Second<<(attempt-1), maxDelay)
}
