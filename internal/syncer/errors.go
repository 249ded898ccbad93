package syncer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

var (
	// ErrEmptySync refuses a sync of nothing when empty syncs are not
	// allowed: it would delete every object of the app, and an empty render
	// is far more often a broken source than an intent.
	ErrEmptySync = errors.New("refusing to sync an empty render: it would leave the app with no objects (allowEmpty is false)")

	// ErrPruneLimit is what a *PruneLimitError is.
	ErrPruneLimit = errors.New("prune limit exceeded")

	// ErrNotOwned: the object exists and ferry does not own it for this app.
	ErrNotOwned = errors.New("object exists and is not managed by this app")

	// ErrHealthTimeout: resources were still not healthy at the deadline.
	ErrHealthTimeout = errors.New("timed out waiting for resources to become healthy")

	// ErrDegraded: a resource became Degraded while waiting for health.
	ErrDegraded = errors.New("resource is degraded")
)

// ObjectError is one object's failure.
type ObjectError struct {
	Key manifest.Key
	Err error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// ApplyError is a sync stopped by objects that failed to apply: the wave
// they are in was applied as far as it could be, later waves were not, and
// nothing was pruned.
type ApplyError struct {
	// Wave is the sync wave that failed.
	Wave   int
	Errors []*ObjectError
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("sync stopped at wave %d: %d object(s) failed: %s", e.Wave, len(e.Errors), joinErrors(e.Errors))
}

// Unwrap lets errors.Is and errors.As see each object's error (an
// apierrors.StatusError, ErrNotOwned).
func (e *ApplyError) Unwrap() []error { return unwrapAll(e.Errors) }

// PruneError is a prune that deleted what it could and failed on the rest.
type PruneError struct {
	Errors []*ObjectError
}

func (e *PruneError) Error() string {
	return fmt.Sprintf("prune failed for %d object(s): %s", len(e.Errors), joinErrors(e.Errors))
}

func (e *PruneError) Unwrap() []error { return unwrapAll(e.Errors) }

// PruneLimitError refuses a prune that would delete more than the allowed
// fraction of the app's objects: nothing was pruned.
type PruneLimitError struct {
	// Prune is how many objects the sync would have deleted, Tracked how
	// many the app has (applied and no longer rendered).
	Prune, Tracked int
	Max            float64
}

func (e *PruneLimitError) Error() string {
	return fmt.Sprintf("%v: refusing to prune %d of %d objects (%.0f%%), more than the %.0f%% limit: nothing was pruned; "+
		"prune by hand or raise the limit if this is intended",
		ErrPruneLimit, e.Prune, e.Tracked, 100*float64(e.Prune)/float64(e.Tracked), 100*e.Max)
}

func (e *PruneLimitError) Is(target error) bool { return target == ErrPruneLimit }

// HealthError lists the resources that kept a wait from succeeding.
type HealthError struct {
	// Reason is ErrHealthTimeout or ErrDegraded.
	Reason    error
	Resources []ResourceHealth
}

func (e *HealthError) Error() string {
	parts := make([]string, len(e.Resources))
	for i, r := range e.Resources {
		parts[i] = fmt.Sprintf("%s is %s", r.Key, r.Status)
	}
	return fmt.Sprintf("%v: %s", e.Reason, strings.Join(parts, "; "))
}

func (e *HealthError) Unwrap() error { return e.Reason }

func joinErrors(errs []*ObjectError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func unwrapAll(errs []*ObjectError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}
