// Package queue is ferry's durable work queue: the job model, the Store
// contract a persistent backend fulfils, and the worker Pool that claims jobs,
// runs them under a heartbeated lease and records the outcome (done, retry
// with backoff, failed).
//
// Durability, deduplication and per-key serialization are the Store's job
// (see internal/store); this package holds no SQL. Because a job may run more
// than once (a worker can crash after doing the work but before recording
// it), handlers must be idempotent: at-least-once execution, exactly-once
// completion.
package queue

import (
	"context"
	"errors"
	"time"
)

// Job is one unit of claimed work as the handler sees it.
type Job struct {
	ID   int64
	Kind string
	// Key serializes work: jobs with the same key never run at the same time
	// and start in the order they were enqueued (e.g. "octo/repo#12").
	Key string
	// Args are the job's compact JSON arguments. They may name a repository
	// and commits but never hold a raw webhook payload or a secret, and are
	// never logged.
	Args       []byte
	DeliveryID string
	// Attempts counts the runs started so far, this one included (1 on the
	// first run).
	Attempts int
	// Waits counts the earlier runs that ended in a Wait: they are not
	// held against the Pool's MaxAttempts.
	Waits     int
	RunAfter  time.Time
	CreatedAt time.Time
}

// Spec describes a job to enqueue.
type Spec struct {
	Kind string
	Key  string
	Args []byte
	// Supersede marks older queued (not running) jobs with the same Kind and
	// Key superseded, so a burst of pushes renders only the newest head.
	Supersede bool
	// RunAfter delays the job; zero means now.
	RunAfter time.Time
}

// ErrLeaseLost reports that a job is no longer running under the caller's
// lease: it expired and another worker claimed it, or the job already
// reached another state. The caller must drop its result.
var ErrLeaseLost = errors.New("queue: job lease lost")

// Store is what the Pool needs from the persistent queue. Implementations
// must make Claim atomic: a job is handed to one worker at a time, and never
// while another job with the same Key is running under a live lease.
//
// Complete, Retry and Fail act on a running job without checking who runs
// it, so a worker must not call them once Extend reported ErrLeaseLost (the
// Pool drops the outcome then). A worker frozen for longer than its whole
// lease without a heartbeat noticing could still overwrite the new owner's
// run: Lease must comfortably exceed any pause a process may suffer.
type Store interface {
	// Enqueue adds jobs (see Spec); the Pool's Enqueue calls it.
	Enqueue(ctx context.Context, specs ...Spec) error
	// Claim marks the next ready job running, leased to worker until
	// now+lease, and returns it; nil, nil when nothing is ready. A running job
	// whose lease expired before now is ready again (crash recovery).
	Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*Job, error)
	// Extend moves the lease of a job worker still holds to until, or
	// returns ErrLeaseLost.
	Extend(ctx context.Context, id int64, worker string, until time.Time) error
	// Complete marks a running job done.
	Complete(ctx context.Context, id int64) error
	// Retry puts a running job back in the queue, not to run before runAfter.
	Retry(ctx context.Context, id int64, runAfter time.Time, lastErr string) error
	// Wait puts a running job back in the queue as Retry does, and counts
	// the run in the job's Waits: it does not use up an attempt.
	Wait(ctx context.Context, id int64, runAfter time.Time, lastErr string) error
	// Fail marks a running job failed for good.
	Fail(ctx context.Context, id int64, lastErr string) error
}

// Handler runs one job. A nil error completes it; an error schedules a retry
// unless it is Permanent or the attempts are used up; a Wait error
// schedules another run without using up an attempt.
type Handler interface {
	Handle(ctx context.Context, job Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job Job) error { return f(ctx, job) }

// Delivery identifies an accepted webhook delivery. Only this metadata is
// stored, never the payload.
type Delivery struct {
	ID             string // X-GitHub-Delivery
	Event          string // X-GitHub-Event
	Action         string
	Repo           string // owner/name
	InstallationID int64
	ReceivedAt     time.Time // zero means now
}
