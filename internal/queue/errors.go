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

// Wait asks for the job to run again after d without counting this run
// against MaxAttempts: the job could not make progress for a reason
// outside it (the cluster it deploys to is down), and must not run out of
// attempts however long that lasts. The Store records the run as a wait
// (Job.Waits), and the job keeps its place in its key's order. The handler
// bounds the waiting, if it should end, and spaces the runs: d replaces
// the Pool's Backoff as RetryIn's does, a RetryAfter in the error it wraps
// still raises it, and the Pool's Delay hook applies. When Wait and RetryIn
// wrap one another, the outer one counts. Wait(nil, d) is nil.
func Wait(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryError{err: err, d: d, exact: true, wait: true}
}

// IsWait reports whether err asks to wait (see Wait) rather than to retry.
func IsWait(err error) bool {
	r := outerExact(err)
	return r != nil && r.wait
}

// retryError is a RetryAfter (a floor) or, exact, a RetryIn or a Wait.
type retryError struct {
	err   error
	d     time.Duration
	exact bool
	wait  bool
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryDelay is when to retry after err, given the Pool's backoff for the
// attempt: the RetryIn or Wait delay when err has one, else the backoff,
// either raised to the largest RetryAfter floor.
func retryDelay(err error, backoff time.Duration) time.Duration {
	if r := outerExact(err); r != nil {
		backoff = r.d
	}
	return max(backoff, retryFloor(err), 0)
}

// outerExact is the first RetryIn or Wait in err's tree, looking where
// errors.As does; nil when there is none.
func outerExact(err error) *retryError {
	if r, ok := err.(*retryError); ok && r.exact {
		return r
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return outerExact(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if r := outerExact(e); r != nil {
				return r
			}
		}
	}
	return nil
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
