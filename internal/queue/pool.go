package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Pool defaults.
const (
	DefaultWorkers     = 4
	DefaultLease       = time.Minute
	DefaultPoll        = 5 * time.Second
	DefaultMaxAttempts = 10
)

// claimErrorDelay caps the wait after a failed Claim, so a database hiccup
// does not idle the pool for a whole (possibly long) poll interval.
const claimErrorDelay = 5 * time.Second

// storeTimeout bounds recording an outcome. It runs on a context detached
// from shutdown so that finished work is recorded rather than redone.
const storeTimeout = 30 * time.Second

// Pool claims jobs from a Store and runs them on a fixed number of workers.
// Zero fields take the defaults above. A Pool must not be copied after first
// use.
type Pool struct {
	Store   Store
	Handler Handler
	// Workers is the number of jobs run at once.
	Workers int
	// Lease is how long a claimed job stays reserved without a heartbeat.
	// The pool extends it every Lease/3 while the handler runs, so only a
	// dead or stalled worker loses its job, which then becomes claimable
	// again once the lease runs out.
	Lease time.Duration
	// Poll is how often an idle worker looks for work nobody woke it for:
	// delayed jobs, jobs enqueued by another process, expired leases.
	Poll time.Duration
	// MaxAttempts is the number of runs before a failing job is given up;
	// runs that ended in a Wait do not count.
	MaxAttempts int
	// Backoff is the delay before retrying after the given failed attempt
	// (1-based); DefaultBackoff when nil. A RetryAfter error raises it; a
	// RetryIn or Wait error replaces it.
	Backoff func(attempt int) time.Duration
	// Delay, when set, maps every retry delay, once Backoff, RetryAfter,
	// RetryIn and Wait have decided it, to the one actually scheduled. It is a hook
	// for tests, which observe the delays or compress them (return 0 or a
	// millisecond) instead of waiting; nil schedules them as they are.
	Delay func(d time.Duration) time.Duration
	// ShutdownGrace is how long running handlers may go on after Run's
	// context is done before their own context is cancelled. Zero lets them
	// finish however long they take.
	ShutdownGrace time.Duration
	// Name prefixes the worker names recorded as lease owners; default
	// host:pid plus a random suffix, so a restarted process never reuses the
	// identity of its predecessor.
	Name string
	// Observe, when set, is told how each run of a job of kind ended
	// (done, retry, wait, failed, interrupted, lost) and how long it took.
	Observe func(kind, outcome string, d time.Duration)
	Logger  *slog.Logger
	Clock   func() time.Time

	wakeOnce sync.Once
	wakeCh   chan struct{}
}

// Enqueue stores jobs in the Store, then wakes an idle worker to run them:
// handlers that enqueue follow-up work are given the Pool to do it with and
// never call Wake themselves.
func (p *Pool) Enqueue(ctx context.Context, specs ...Spec) error {
	if p.Store == nil {
		return errors.New("queue: enqueue: the pool has no Store")
	}
	if err := p.Store.Enqueue(ctx, specs...); err != nil {
		return err
	}
	p.Wake()
	return nil
}

// Wake prompts an idle worker to look for work now instead of at its next
// poll. Enqueue calls it; call it after enqueuing through the Store itself.
// It never blocks and is safe to call before Run or after it returned.
func (p *Pool) Wake() {
	select {
	case p.wake() <- struct{}{}:
	default: // a wake-up is already pending; one is enough to start the chain
	}
}

func (p *Pool) wake() chan struct{} {
	p.wakeOnce.Do(func() { p.wakeCh = make(chan struct{}, 1) })
	return p.wakeCh
}

// Run works until ctx is done, then waits for running handlers to finish
// (see ShutdownGrace) and for their outcomes to be recorded. It returns nil
// after such a graceful stop and an error only when the Pool is misconfigured.
func (p *Pool) Run(ctx context.Context) error {
	if p.Store == nil || p.Handler == nil {
		return errors.New("queue: pool needs a Store and a Handler")
	}
	r := &runner{
		pool:        p,
		store:       p.Store,
		handler:     p.Handler,
		lease:       orDefault(p.Lease, DefaultLease),
		poll:        orDefault(p.Poll, DefaultPoll),
		maxAttempts: orDefault(p.MaxAttempts, DefaultMaxAttempts),
		backoff:     p.Backoff,
		log:         p.Logger,
		now:         p.Clock,
		timers:      map[*time.Timer]struct{}{},
	}
	if r.backoff == nil {
		r.backoff = DefaultBackoff
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	name := p.Name
	if name == "" {
		name = defaultName()
	}

	// Handlers outlive ctx on purpose: a half-done job would only be redone
	// after restart. ShutdownGrace is the escape hatch for stuck ones.
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	r.handlerCtx = handlerCtx

	stopped := make(chan struct{})
	go func() {
		select {
		case <-stopped:
			return
		case <-ctx.Done():
		}
		if p.ShutdownGrace <= 0 {
			return
		}
		t := time.NewTimer(p.ShutdownGrace)
		defer t.Stop()
		select {
		case <-stopped:
		case <-t.C:
			r.log.Warn("shutdown grace elapsed; cancelling running jobs", slog.Duration("grace", p.ShutdownGrace))
			cancelHandlers()
		}
	}()

	var wg sync.WaitGroup
	for i := range orDefault(p.Workers, DefaultWorkers) {
		worker := name + "/" + strconv.Itoa(i)
		wg.Go(func() { r.work(ctx, worker) })
	}
	wg.Wait()
	close(stopped)
	r.stopTimers()
	return nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func defaultName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "ferry"
	}
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// runner is the state of one Run.
type runner struct {
	pool        *Pool
	store       Store
	handler     Handler
	lease, poll time.Duration
	maxAttempts int
	backoff     func(int) time.Duration
	log         *slog.Logger
	now         func() time.Time
	handlerCtx  context.Context

	mu      sync.Mutex
	timers  map[*time.Timer]struct{} // pending wake-ups for retries due before the next poll
	stopped bool
}

func (r *runner) work(ctx context.Context, worker string) {
	for ctx.Err() == nil {
		job, err := r.store.Claim(ctx, worker, r.now(), r.lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Error("claiming job", slog.String("worker", worker), slog.Any("err", err))
			r.idle(ctx, min(r.poll, claimErrorDelay))
			continue
		}
		if job == nil {
			r.idle(ctx, r.poll)
			continue
		}
		// More work may be ready: pass the wake-up on to another idle worker.
		r.pool.Wake()
		r.process(worker, job)
	}
}

func (r *runner) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.pool.wake():
	case <-t.C:
	}
}

func (r *runner) process(worker string, job *Job) {
	log := r.log.With(
		slog.Int64("job_id", job.ID),
		slog.String("kind", job.Kind),
		slog.String("key", job.Key),
		slog.Int("attempt", job.Attempts),
	)
	if job.Waits > 0 {
		log = log.With(slog.Int("waits", job.Waits))
	}
	attempts := job.Attempts - job.Waits // the runs that count
	if attempts > r.maxAttempts {
		// Only reachable when earlier runs never reported back: their worker
		// died mid-job, and this job may be what kills it.
		msg := fmt.Sprintf("not running attempt %d, over the limit of %d: earlier runs never reported back (their worker died?)",
			attempts, r.maxAttempts)
		log.Error("job failed", slog.String("err", msg))
		r.record(log, "fail", func(ctx context.Context) error { return r.store.Fail(ctx, job.ID, msg) })
		return
	}

	jobCtx, cancel := context.WithCancel(r.handlerCtx)
	var lost atomic.Bool
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		r.heartbeat(jobCtx, cancel, worker, job.ID, &lost, log)
	}()
	start := time.Now()
	err := r.call(jobCtx, *job, log)
	cancel()
	<-hbDone
	elapsed := slog.Duration("elapsed", time.Since(start))
	if r.pool.Observe != nil {
		r.pool.Observe(job.Kind, outcome(err, lost.Load(), r.handlerCtx.Err() != nil, attempts >= r.maxAttempts), time.Since(start))
	}

	if lost.Load() {
		log.Warn("job lease lost while running; result discarded", elapsed, slog.Any("err", err))
		return
	}
	switch {
	case err == nil:
		log.Info("job done", elapsed)
		r.record(log, "complete", func(ctx context.Context) error { return r.store.Complete(ctx, job.ID) })
	case r.handlerCtx.Err() != nil:
		// Interrupted by shutdown rather than failed: run it again first thing.
		log.Warn("job interrupted by shutdown; requeued", elapsed, slog.Any("err", err))
		r.record(log, "retry", func(ctx context.Context) error {
			return r.store.Retry(ctx, job.ID, r.now(), "interrupted by shutdown: "+err.Error())
		})
	case isPermanent(err):
		log.Error("job failed permanently", elapsed, slog.Any("err", err))
		r.record(log, "fail", func(ctx context.Context) error { return r.store.Fail(ctx, job.ID, err.Error()) })
	case IsWait(err):
		r.reschedule(log, "wait", r.store.Wait, job.ID, retryDelay(err, 0), err, elapsed)
	case attempts >= r.maxAttempts:
		log.Error("job failed; attempts exhausted", elapsed, slog.Int("max_attempts", r.maxAttempts), slog.Any("err", err))
		r.record(log, "fail", func(ctx context.Context) error { return r.store.Fail(ctx, job.ID, err.Error()) })
	default:
		r.reschedule(log, "retry", r.store.Retry, job.ID, retryDelay(err, r.backoff(attempts)), err, elapsed)
	}
}

// reschedule puts a job back in the queue to run after delay (mapped by
// the Pool's Delay hook): put is the Store's Retry, or its Wait, which
// does not use up an attempt.
func (r *runner) reschedule(log *slog.Logger, what string, put func(context.Context, int64, time.Time, string) error,
	id int64, delay time.Duration, err error, elapsed slog.Attr) {
	if r.pool.Delay != nil {
		delay = max(r.pool.Delay(delay), 0)
	}
	msg := "job failed; will retry"
	if what == "wait" {
		msg = "job waits; will run again without using up an attempt"
	}
	log.Warn(msg, elapsed, slog.Duration("delay", delay), slog.Any("err", err))
	if r.record(log, what, func(ctx context.Context) error { return put(ctx, id, r.now().Add(delay), err.Error()) }) {
		r.wakeAfter(delay)
	}
}

// record writes an outcome, reporting whether it stuck. A failure leaves the
// job running until its lease expires, after which it is claimed again.
func (r *runner) record(log *slog.Logger, what string, f func(context.Context) error) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.handlerCtx), storeTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		log.Error("recording job outcome", slog.String("outcome", what), slog.Any("err", err))
		return false
	}
	return true
}

func (r *runner) call(ctx context.Context, job Job, log *slog.Logger) (err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("job handler panicked", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("handler panic: %v", v)
		}
	}()
	return r.handler.Handle(ctx, job)
}

// heartbeat keeps the lease alive until ctx is done. If the store says the
// lease is gone, someone else owns the job now: stop the handler.
func (r *runner) heartbeat(ctx context.Context, cancel context.CancelFunc, worker string, id int64, lost *atomic.Bool, log *slog.Logger) {
	t := time.NewTicker(max(r.lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.store.Extend(ctx, id, worker, r.now().Add(r.lease))
		switch {
		case errors.Is(err, ErrLeaseLost):
			lost.Store(true)
			cancel()
			return
		case err != nil && ctx.Err() == nil:
			// Transient: two thirds of the lease remain for the next beat.
			log.Warn("extending job lease", slog.Any("err", err))
		}
	}
}

// wakeAfter wakes a worker when a retry falls due, so a short backoff is not
// stretched to the poll interval.
func (r *runner) wakeAfter(d time.Duration) {
	if d <= 0 {
		r.pool.Wake()
		return
	}
	if d >= r.poll {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	var t *time.Timer
	// The callback takes r.mu, so it cannot observe t before it is set.
	t = time.AfterFunc(d, func() {
		r.mu.Lock()
		delete(r.timers, t)
		r.mu.Unlock()
		r.pool.Wake()
	})
	r.timers[t] = struct{}{}
}

func (r *runner) stopTimers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for t := range r.timers {
		t.Stop()
	}
	clear(r.timers)
}

// outcome names how a run ended, as Pool.Observe reports it.
func outcome(err error, lost, shutdown, lastAttempt bool) string {
	switch {
	case lost:
		return "lost"
	case err == nil:
		return "done"
	case shutdown:
		return "interrupted"
	case isPermanent(err):
		return "failed"
	case IsWait(err):
		return "wait"
	case lastAttempt:
		return "failed"
	}
	return "retry"
}
