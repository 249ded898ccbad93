package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type seqArgs struct {
	Seq int `json:"seq"`
}

// runLog records handler runs to check serialization, order and
// exactly-once completion.
type runLog struct {
	mu        sync.Mutex
	inflight  map[string]int
	runs      map[string][]int // per key, the seq of every run in start order
	succeeded map[int]int
	overlaps  []string
}

func (l *runLog) start(key string, seq int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight[key] > 0 {
		l.overlaps = append(l.overlaps, fmt.Sprintf("job seq %d started while %s was running another job", seq, key))
	}
	l.inflight[key]++
	l.runs[key] = append(l.runs[key], seq)
}

func (l *runLog) end(key string, seq int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[key]--
	if ok {
		l.succeeded[seq]++
	}
}

func TestPoolEndToEnd(t *testing.T) {
	const jobs, keys = 120, 5
	failOnce := func(seq int) bool { return seq%7 == 3 }
	panicOnce := func(seq int) bool { return seq%11 == 5 }
	permanent := func(seq int) bool { return seq%13 == 12 }

	db := openStore(t)
	log := &runLog{inflight: map[string]int{}, runs: map[string][]int{}, succeeded: map[int]int{}}
	final := make(chan int, jobs) // seq of each job on its last run
	p := &queue.Pool{
		Store: db,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) (err error) {
			var a seqArgs
			if err := json.Unmarshal(j.Args, &a); err != nil {
				return queue.Permanent(err)
			}
			log.start(j.Key, a.Seq)
			ok := false
			defer func() { log.end(j.Key, a.Seq, ok) }()
			switch {
			case permanent(a.Seq):
				final <- a.Seq
				return queue.Permanent(errors.New("no such environment"))
			case failOnce(a.Seq) && j.Attempts == 1:
				return errors.New("github: 502")
			case panicOnce(a.Seq) && j.Attempts == 1:
				panic("nil map write")
			}
			ok = true
			final <- a.Seq
			return nil
		}),
		Workers:     4,
		Poll:        time.Hour, // progress must come from Wake and retry wake-ups alone
		MaxAttempts: 3,
		Backoff:     func(int) time.Duration { return 0 },
		Logger:      quietLogger(),
	}
	stop := runPool(t, p)

	// Deliveries keep arriving while the pool works.
	go func() {
		for seq := range jobs {
			args, _ := json.Marshal(seqArgs{Seq: seq})
			if err := db.Enqueue(context.Background(), queue.Spec{Kind: "render", Key: fmt.Sprintf("octo/repo#%d", seq%keys), Args: args}); err != nil {
				t.Errorf("Enqueue: %v", err)
				return
			}
			p.Wake()
		}
	}()
	for range jobs {
		waitFor(t, final, "all jobs to finish")
	}
	stop() // waits for the last outcomes to be recorded

	for _, o := range log.overlaps {
		t.Error(o)
	}
	for key, runs := range log.runs {
		if !slices.IsSorted(runs) {
			t.Errorf("%s ran out of order: %v", key, runs)
		}
	}
	wantFailed := 0
	for seq := range jobs {
		want := 1
		if permanent(seq) {
			want = 0
			wantFailed++
		}
		if got := log.succeeded[seq]; got != want {
			t.Errorf("job seq %d succeeded %d times, want %d", seq, got, want)
		}
	}

	recs, err := db.Jobs(context.Background(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != jobs {
		t.Fatalf("%d jobs stored, want %d", len(recs), jobs)
	}
	failed := 0
	for _, r := range recs {
		var a seqArgs
		if err := json.Unmarshal(r.Args, &a); err != nil {
			t.Fatal(err)
		}
		wantState, wantAttempts := store.StateDone, 1
		switch {
		case permanent(a.Seq):
			wantState = store.StateFailed
			failed++
		case failOnce(a.Seq) || panicOnce(a.Seq):
			wantAttempts = 2
		}
		if r.State != wantState || r.Attempts != wantAttempts {
			t.Errorf("job seq %d: %s after %d attempts (last error %q), want %s after %d",
				a.Seq, r.State, r.Attempts, r.LastError, wantState, wantAttempts)
		}
	}
	if failed != wantFailed {
		t.Errorf("%d jobs failed, want %d", failed, wantFailed)
	}
}

// idleSignal reports each time a worker finds nothing to do.
type idleSignal struct {
	queue.Store
	idle chan struct{}
}

func (s idleSignal) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*queue.Job, error) {
	j, err := s.Store.Claim(ctx, worker, now, lease)
	if j == nil && err == nil {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
	return j, err
}

func TestPoolWakePicksUpWorkWithoutPolling(t *testing.T) {
	db := openStore(t)
	s := idleSignal{Store: db, idle: make(chan struct{}, 1)}
	handled := make(chan int64, 1)
	p := &queue.Pool{
		Store: s,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			handled <- j.ID
			return nil
		}),
		Workers: 1,
		Poll:    time.Hour,
		Logger:  quietLogger(),
	}
	runPool(t, p)
	waitFor(t, s.idle, "the worker to go idle") // now only Wake (or an hour) gets it going

	if _, err := db.Accept(context.Background(), queue.Delivery{ID: "d-1", Event: "pull_request"},
		[]queue.Spec{{Kind: "render", Key: "octo/repo#1", Args: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	p.Wake()
	if id := waitFor(t, handled, "the woken worker to run the job"); id != 1 {
		t.Errorf("ran job %d, want 1", id)
	}
}

func TestPoolRecoversJobOfCrashedWorker(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	if err := db.Enqueue(ctx, queue.Spec{Kind: "render", Key: "octo/repo#1", Args: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	crashedAt := time.Now()
	if j, err := db.Claim(ctx, "dead-pod/0", crashedAt, time.Minute); err != nil || j == nil {
		t.Fatalf("Claim = %v, %v", j, err)
	}
	// The worker that claimed it is gone; this pool lives past its lease.
	handled := make(chan queue.Job, 1)
	p := &queue.Pool{
		Store: db,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			handled <- j
			return nil
		}),
		Workers: 1,
		Clock:   func() time.Time { return crashedAt.Add(2 * time.Minute) },
		Logger:  quietLogger(),
	}
	stop := runPool(t, p)
	if j := waitFor(t, handled, "the abandoned job to be reclaimed"); j.ID != 1 || j.Attempts != 2 {
		t.Errorf("ran job %d attempt %d, want job 1 attempt 2", j.ID, j.Attempts)
	}
	stop()
	rec, err := db.Job(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != store.StateDone {
		t.Errorf("job state %s, want done", rec.State)
	}
}
