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
	op      string // extend, complete, retry, fail
	id      int64
	at      time.Time // until (extend) or runAfter (retry)
	lastErr string
	worker  string
}

// fakeStore hands out a fixed list of jobs once and records what the pool
// does with them.
type fakeStore struct {
	mu        sync.Mutex
	jobs      []queue.Job
	extendErr error
	calls     chan outcome
}

func newFakeStore(jobs ...queue.Job) *fakeStore {
	return &fakeStore{jobs: jobs, calls: make(chan outcome, 100)}
}

func (s *fakeStore) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*queue.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) == 0 {
		return nil, nil
	}
	j := s.jobs[0]
	s.jobs = s.jobs[1:]
	return &j, nil
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
		{name: "permanent fails at once", attempts: 1, handler: func() error { return queue.Permanent(boom) },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "last attempt fails", attempts: 3, handler: func() error { return boom },
			wantOp: "fail", wantErr: boom.Error(), wantHandled: true},
		{name: "panic is recovered and retried", attempts: 1, handler: func() error { panic("nil map") },
			wantOp: "retry", wantAt: t0.Add(time.Second), wantErr: "handler panic: nil map", wantHandled: true},
		{name: "job whose runs never finished is not run again", attempts: 4, handler: func() error { return nil },
			wantOp: "fail", wantErr: "not running attempt 4, over the limit of 3: earlier runs never reported back (their worker died?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore(queue.Job{ID: 7, Kind: "render", Key: "o/r#1", Args: []byte(`{"pr":1}`), Attempts: tc.attempts})
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
