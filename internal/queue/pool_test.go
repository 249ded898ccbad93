package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// waitTimeout only keeps a broken test from hanging; no assertion depends
// on timing.
const waitTimeout = 20 * time.Second

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// outcome is one recorded store call.
type outcome struct {
	op      string // extend, complete, retry, wait, fail
	id      int64
	at      time.Time // until (extend) or runAfter (retry)
	lastErr string
	worker  string
}

// fakeStore hands out a fixed list of jobs once and records what the pool
// does with them.
type fakeStore struct {
	mu         sync.Mutex
	jobs       []queue.Job
	extendErr  error
	enqueueErr error
	calls      chan outcome
	// empty, when set, receives a value each time Claim finds nothing.
	empty chan struct{}
}

func newFakeStore(jobs ...queue.Job) *fakeStore {
	return &fakeStore{jobs: jobs, calls: make(chan outcome, 100)}
}

func (s *fakeStore) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*queue.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) == 0 {
		if s.empty != nil {
			select {
			case s.empty <- struct{}{}:
			default:
			}
		}
		return nil, nil
	}
	j := s.jobs[0]
	s.jobs = s.jobs[1:]
	return &j, nil
}

// Enqueue adds a job per spec, with ids from 100 on, claimable at once.
func (s *fakeStore) Enqueue(ctx context.Context, specs ...queue.Spec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enqueueErr != nil {
		return s.enqueueErr
	}
	for _, sp := range specs {
		s.jobs = append(s.jobs, queue.Job{ID: int64(100 + len(s.jobs)), Kind: sp.Kind, Key: sp.Key, Args: sp.Args, Attempts: 1})
	}
	return nil
}

func (s *fakeStore) Extend(ctx context.Context, id int64, worker string, until time.Time) error {
	s.mu.Lock()
	err := s.extendErr
	s.mu.Unlock()
	s.calls <- outcome{op: "extend", id: id, at: until, worker: worker}
	return err
}

func (s *fakeStore) Complete(ctx context.Context, id int64) error {
	s.calls <- outcome{op: "complete", id: id}
	return nil
}

func (s *fakeStore) Retry(ctx context.Context, id int64, runAfter time.Time, lastErr string) error {
	s.calls <- outcome{op: "retry", id: id, at: runAfter, lastErr: lastErr}
	return nil
}

func (s *fakeStore) Wait(ctx context.Context, id int64, runAfter time.Time, lastErr string) error {
	s.calls <- outcome{op: "wait", id: id, at: runAfter, lastErr: lastErr}
	return nil
}

func (s *fakeStore) Fail(ctx context.Context, id int64, lastErr string) error {
	s.calls <- outcome{op: "fail", id: id, lastErr: lastErr}
	return nil
}

// next returns the next recorded call other than a heartbeat.
func (s *fakeStore) next(t *testing.T) outcome {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case o := <-s.calls:
			if o.op != "extend" {
				return o
			}
		case <-deadline:
			t.Fatal("no outcome recorded")
		}
	}
}

// runPool runs p until the returned stop function is called, which waits for
// Run to return.
func runPool(t *testing.T, p *queue.Pool) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestPoolRecordsOutcomes(t *testing.T) {
	boom := errors.New("github: 502 bad gateway")
	backoff := func(attempt int) time.Duration { return time.Duration(attempt) * time.Second }
	for _, tc := range []struct {
		name        string
		attempts    int // of the claimed job
		waits       int // of the claimed job
		handler     func() error
		wantOp      string
		wantAt      time.Time
		wantErr     string
		wantHandled bool
	}{
		{name: "success completes", attempts: 1, handler: func() error { return nil },
			wantOp: "complete", wantHandled: true},
		{name: "error retries with backoff", attempts: 2, handler: func() error { return boom },
			wantOp: "retry", wantAt: t0.Add(2 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "RetryAfter longer than backoff wins", attempts: 1, handler: func() error { return queue.RetryAfter(boom, 90*time.Second) },
			wantOp: "retry", wantAt: t0.Add(90 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "backoff longer than RetryAfter wins", attempts: 2, handler: func() error { return fmt.Errorf("list: %w", queue.RetryAfter(boom, time.Second)) },
			wantOp: "retry", wantAt: t0.Add(2 * time.Second), wantErr: "list: " + boom.Error(), wantHandled: true},
		{name: "RetryIn replaces a longer backoff", attempts: 2, handler: func() error { return queue.RetryIn(boom, 500*time.Millisecond) },
			wantOp: "retry", wantAt: t0.Add(500 * time.Millisecond), wantErr: boom.Error(), wantHandled: true},
		{name: "RetryIn replaces a shorter backoff", attempts: 1, handler: func() error { return fmt.Errorf("sync: %w", queue.RetryIn(boom, 20*time.Second)) },
			wantOp: "retry", wantAt: t0.Add(20 * time.Second), wantErr: "sync: " + boom.Error(), wantHandled: true},
		{name: "RetryIn of zero retries at once", attempts: 2, handler: func() error { return queue.RetryIn(boom, 0) },
			wantOp: "retry", wantAt: t0, wantErr: boom.Error(), wantHandled: true},
		{name: "outer RetryIn counts", attempts: 1, handler: func() error { return queue.RetryIn(queue.RetryIn(boom, time.Hour), 3*time.Second) },
			wantOp: "retry", wantAt: t0.Add(3 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "RetryAfter inside RetryIn still raises it", attempts: 1, handler: func() error { return queue.RetryIn(queue.RetryAfter(boom, time.Minute), 5*time.Second) },
			wantOp: "retry", wantAt: t0.Add(time.Minute), wantErr: boom.Error(), wantHandled: true},
		{name: "RetryIn among joined errors", attempts: 1, handler: func() error { return errors.Join(errors.New("one"), queue.RetryIn(boom, 4*time.Second)) },
			wantOp: "retry", wantAt: t0.Add(4 * time.Second), wantErr: "one\n" + boom.Error(), wantHandled: true},
		{name: "RetryIn on the last attempt fails", attempts: 3, handler: func() error { return queue.RetryIn(boom, time.Second) },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "permanent fails at once", attempts: 1, handler: func() error { return queue.Permanent(boom) },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "last attempt fails", attempts: 3, handler: func() error { return boom },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "panic is recovered and retried", attempts: 1, handler: func() error { panic("nil map") },
			wantOp: "retry", wantAt: t0.Add(time.Second), wantErr: "handler panic: nil map", wantHandled: true},
		{name: "job whose runs never finished is not run again", attempts: 4, handler: func() error { return nil },
			wantOp: "fail", wantErr: "not running attempt 4, over the limit of 3: earlier runs never reported back (their worker died?)"},
		{name: "Wait reschedules without using up an attempt", attempts: 1, handler: func() error { return queue.Wait(boom, 40*time.Second) },
			wantOp: "wait", wantAt: t0.Add(40 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "Wait on the last attempt still waits", attempts: 3, handler: func() error { return fmt.Errorf("sync: %w", queue.Wait(boom, time.Second)) },
			wantOp: "wait", wantAt: t0.Add(time.Second), wantErr: "sync: " + boom.Error(), wantHandled: true},
		{name: "RetryAfter inside Wait still raises it", attempts: 1, handler: func() error { return queue.Wait(queue.RetryAfter(boom, time.Minute), time.Second) },
			wantOp: "wait", wantAt: t0.Add(time.Minute), wantErr: boom.Error(), wantHandled: true},
		{name: "outer RetryIn over a Wait retries", attempts: 1, handler: func() error { return queue.RetryIn(queue.Wait(boom, time.Hour), 3*time.Second) },
			wantOp: "retry", wantAt: t0.Add(3 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "Permanent inside Wait fails", attempts: 1, handler: func() error { return queue.Wait(queue.Permanent(boom), time.Second) },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "waits are not attempts: backoff", attempts: 12, waits: 10, handler: func() error { return boom },
			wantOp: "retry", wantAt: t0.Add(2 * time.Second), wantErr: boom.Error(), wantHandled: true},
		{name: "waits are not attempts: last attempt", attempts: 13, waits: 10, handler: func() error { return boom },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "waits are not attempts: runs that never finished", attempts: 14, waits: 10, handler: func() error { return nil },
			wantOp: "fail", wantErr: "not running attempt 4, over the limit of 3: earlier runs never reported back (their worker died?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore(queue.Job{ID: 7, Kind: "render", Key: "o/r#1", Args: []byte(`{"pr":1}`), Attempts: tc.attempts, Waits: tc.waits})
			var handled atomic.Bool
			p := &queue.Pool{
				Store: s,
				Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
					handled.Store(true)
					if j.ID != 7 || j.Attempts != tc.attempts || string(j.Args) != `{"pr":1}` {
						t.Errorf("handler got %+v", j)
					}
					return tc.handler()
				}),
				Workers: 1, MaxAttempts: 3, Backoff: backoff, Poll: time.Hour,
				Clock: fixedClock, Logger: quietLogger(),
			}
			runPool(t, p)
			o := s.next(t)
			if o.op != tc.wantOp || o.id != 7 || !o.at.Equal(tc.wantAt) || o.lastErr != tc.wantErr {
				t.Errorf("recorded %s(id=%d, at=%v, err=%q), want %s(id=7, at=%v, err=%q)",
					o.op, o.id, o.at, o.lastErr, tc.wantOp, tc.wantAt, tc.wantErr)
			}
			if handled.Load() != tc.wantHandled {
				t.Errorf("handler called = %v, want %v", handled.Load(), tc.wantHandled)
			}
		})
	}
}

func TestPoolHeartbeatExtendsLease(t *testing.T) {
	s := newFakeStore(queue.Job{ID: 1, Kind: "render", Key: "k", Attempts: 1})
	const lease = 30 * time.Millisecond // heartbeat every 10ms
	extends := make(chan outcome, 100)
	p := &queue.Pool{
		Store: s,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			// A slow render: keep running until the lease was renewed twice.
			for n := 0; n < 2; {
				select {
				case o := <-s.calls:
					if o.op == "extend" {
						extends <- o
						n++
					}
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}),
		Workers: 1, Lease: lease, Poll: time.Hour, Name: "pod-a", Clock: fixedClock, Logger: quietLogger(),
	}
	runPool(t, p)
	if o := s.next(t); o.op != "complete" {
		t.Fatalf("recorded %s, want complete: the heartbeat must not disturb a slow job", o.op)
	}
	close(extends)
	for o := range extends {
		if o.id != 1 || !o.at.Equal(t0.Add(lease)) || !strings.HasPrefix(o.worker, "pod-a/") {
			t.Errorf("extend(id=%d, until=%v, worker=%q), want job 1 until now+lease by pod-a/N", o.id, o.at, o.worker)
		}
	}
}

func TestPoolStopsJobWhoseLeaseWasLost(t *testing.T) {
	s := newFakeStore(queue.Job{ID: 1, Kind: "render", Key: "k", Attempts: 1})
	s.extendErr = fmt.Errorf("store: extend lease of job 1: %w", queue.ErrLeaseLost)
	cancelled := make(chan struct{})
	p := &queue.Pool{
		Store: s,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			<-ctx.Done() // another worker owns the job now
			close(cancelled)
			return ctx.Err()
		}),
		Workers: 1, Lease: 30 * time.Millisecond, Poll: time.Hour, Clock: fixedClock, Logger: quietLogger(),
	}
	stop := runPool(t, p)
	select {
	case <-cancelled:
	case <-time.After(waitTimeout):
		t.Fatal("handler context not cancelled after the lease was lost")
	}
	stop()
	close(s.calls)
	for o := range s.calls {
		if o.op != "extend" {
			t.Errorf("recorded %s for a job this worker no longer owns", o.op)
		}
	}
}

func TestPoolShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grace   time.Duration
		wantOp  string
		wantErr string
	}{
		// The running job finishes and is recorded done.
		{name: "waits for running handlers", wantOp: "complete"},
		// A handler still running after the grace is cancelled and requeued
		// to run at once after restart, not after a backoff.
		{name: "grace elapsed", grace: time.Millisecond, wantOp: "retry", wantErr: "interrupted by shutdown: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore(queue.Job{ID: 1, Kind: "render", Key: "k", Attempts: 1})
			started, release := make(chan struct{}), make(chan struct{})
			p := &queue.Pool{
				Store: s,
				Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
					close(started)
					select {
					case <-release:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}),
				Workers: 2, Poll: time.Hour, ShutdownGrace: tc.grace, Backoff: func(int) time.Duration { return time.Hour },
				Clock: fixedClock, Logger: quietLogger(),
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			<-started
			cancel()
			if tc.grace == 0 {
				select {
				case <-done:
					t.Fatal("Run returned while a handler was still running")
				default:
				}
				close(release)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("Run did not return")
			}
			o := s.next(t)
			if o.op != tc.wantOp || o.lastErr != tc.wantErr {
				t.Errorf("recorded %s(%q), want %s(%q)", o.op, o.lastErr, tc.wantOp, tc.wantErr)
			}
			if o.op == "retry" && !o.at.Equal(t0) {
				t.Errorf("requeued to run at %v, want now (%v)", o.at, t0)
			}
		})
	}
}

func TestPoolNeedsStoreAndHandler(t *testing.T) {
	for _, p := range []*queue.Pool{
		{Handler: queue.HandlerFunc(func(context.Context, queue.Job) error { return nil })},
		{Store: newFakeStore()},
	} {
		if err := p.Run(context.Background()); err == nil {
			t.Error("Run succeeded on a misconfigured pool")
		}
	}
}

func TestPoolDelayHook(t *testing.T) {
	boom := errors.New("apply: conflict")
	for _, tc := range []struct {
		name    string
		err     error
		hook    func(time.Duration) time.Duration
		wantSaw time.Duration // the delay the hook was given
		wantAt  time.Time
	}{
		{name: "compresses the backoff", err: boom, hook: func(time.Duration) time.Duration { return 0 },
			wantSaw: time.Hour, wantAt: t0},
		{name: "sees RetryIn's delay", err: queue.RetryIn(boom, 10*time.Second), hook: func(d time.Duration) time.Duration { return d / 1000 },
			wantSaw: 10 * time.Second, wantAt: t0.Add(10 * time.Millisecond)},
		{name: "sees RetryAfter's floor", err: queue.RetryAfter(boom, 2*time.Hour), hook: func(d time.Duration) time.Duration { return d },
			wantSaw: 2 * time.Hour, wantAt: t0.Add(2 * time.Hour)},
		{name: "a negative delay is now", err: boom, hook: func(time.Duration) time.Duration { return -time.Second },
			wantSaw: time.Hour, wantAt: t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore(queue.Job{ID: 7, Kind: "sync", Key: "o/r:prod", Attempts: 1})
			saw := make(chan time.Duration, 1)
			p := &queue.Pool{
				Store:   s,
				Handler: queue.HandlerFunc(func(context.Context, queue.Job) error { return tc.err }),
				Workers: 1, MaxAttempts: 3, Poll: time.Hour, Clock: fixedClock, Logger: quietLogger(),
				Backoff: func(int) time.Duration { return time.Hour },
				Delay: func(d time.Duration) time.Duration {
					saw <- d
					return tc.hook(d)
				},
			}
			runPool(t, p)
			o := s.next(t)
			if o.op != "retry" || !o.at.Equal(tc.wantAt) {
				t.Errorf("recorded %s(at=%v), want retry(at=%v)", o.op, o.at, tc.wantAt)
			}
			if got := waitFor(t, saw, "the Delay hook"); got != tc.wantSaw {
				t.Errorf("Delay hook given %v, want %v", got, tc.wantSaw)
			}
		})
	}
}

func TestPoolEnqueueWakesAWorker(t *testing.T) {
	s := newFakeStore()
	s.empty = make(chan struct{}, 1)
	ran := make(chan queue.Job, 2)
	p := &queue.Pool{
		Store: s,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			ran <- j
			return nil
		}),
		// Without the wake-up, the idle worker would look again in an hour.
		Workers: 1, Poll: time.Hour, Clock: fixedClock, Logger: quietLogger(),
	}
	runPool(t, p)
	waitFor(t, s.empty, "the worker to find no work and idle")
	if err := p.Enqueue(context.Background(), queue.Spec{Kind: "sync", Key: "o/r:prod", Args: []byte(`{"env":"prod"}`)}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	j := waitFor(t, ran, "the enqueued job to run")
	if j.Kind != "sync" || j.Key != "o/r:prod" || string(j.Args) != `{"env":"prod"}` {
		t.Errorf("ran %+v, want the enqueued sync", j)
	}
	if o := s.next(t); o.op != "complete" {
		t.Errorf("recorded %s, want complete", o.op)
	}
}

func TestPoolEnqueueError(t *testing.T) {
	s := newFakeStore()
	s.enqueueErr = errors.New("store: enqueue: database is locked")
	p := &queue.Pool{Store: s, Handler: queue.HandlerFunc(func(context.Context, queue.Job) error { return nil })}
	if err := p.Enqueue(context.Background(), queue.Spec{Kind: "sync", Key: "k"}); !errors.Is(err, s.enqueueErr) {
		t.Errorf("Enqueue = %v, want the store's error", err)
	}
	if err := (&queue.Pool{}).Enqueue(context.Background(), queue.Spec{Kind: "sync", Key: "k"}); err == nil {
		t.Error("Enqueue without a Store succeeded")
	}
}
