package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

func TestClaimSerializesKeys(t *testing.T) { onEachEngine(t, testClaimSerializesKeys) }

func testClaimSerializesKeys(t *testing.T, e engine) {
	db, c := e.open(t)
	ctx := context.Background()
	mustEnqueue(t, db, spec("render", "A"), spec("render", "A"), spec("render", "B"))

	steps := []struct {
		do        string // "claim" or "complete"
		wantJob   int64  // for claim: expected job id, 0 = nothing
		completed int64  // for complete
	}{
		{do: "claim", wantJob: 1},
		{do: "claim", wantJob: 3}, // A busy: B's job goes next
		{do: "claim", wantJob: 0}, // A's second job waits for the first
		{do: "complete", completed: 1},
		{do: "claim", wantJob: 2},
		{do: "claim", wantJob: 0},
	}
	for i, s := range steps {
		switch s.do {
		case "claim":
			j := mustClaim(t, db, "w", c.Now())
			var got int64
			if j != nil {
				got = j.ID
			}
			if got != s.wantJob {
				t.Fatalf("step %d: claimed %s, want job %d", i, claimedID(j), s.wantJob)
			}
		case "complete":
			if err := db.Complete(ctx, s.completed); err != nil {
				t.Fatalf("step %d: Complete: %v", i, err)
			}
		}
	}
}

func TestClaimConcurrentNeverRunsAKeyTwice(t *testing.T) {
	onEachEngine(t, testClaimConcurrentNeverRunsAKeyTwice)
}

func testClaimConcurrentNeverRunsAKeyTwice(t *testing.T, e engine) {
	// Two handles on one database: two processes, or two replicas.
	target, c := e.target(t), newClock()
	handles := []*store.DB{openAt(t, target, c), openAt(t, target, c)}
	db := handles[0]
	ctx := context.Background()
	const jobs, keys, workers = 90, 3, 8
	var specs []queue.Spec
	for i := range jobs {
		specs = append(specs, spec("render", fmt.Sprintf("key-%d", i%keys)))
	}
	mustEnqueue(t, db, specs...)

	var (
		mu      sync.Mutex
		running = map[string]bool{}
		done    int
	)
	var wg sync.WaitGroup
	for w := range workers {
		db := handles[w%2]
		wg.Go(func() {
			for {
				j, err := db.Claim(ctx, fmt.Sprintf("w%d", w), c.Now(), time.Minute)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				mu.Lock()
				if j == nil {
					finished := done == jobs
					mu.Unlock()
					if finished {
						return
					}
					continue
				}
				if running[j.Key] {
					t.Errorf("job %d claimed while another job of %s is running", j.ID, j.Key)
				}
				running[j.Key] = true
				mu.Unlock()

				mu.Lock()
				running[j.Key] = false // released before Complete makes the key claimable
				done++
				mu.Unlock()
				if err := db.Complete(ctx, j.ID); err != nil {
					t.Errorf("Complete: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for id, st := range states(t, db) {
		if st != store.StateDone {
			t.Errorf("job %d ended %q, want done", id, st)
		}
	}
}

func TestClaimOrderWithinKey(t *testing.T) { onEachEngine(t, testClaimOrderWithinKey) }

func testClaimOrderWithinKey(t *testing.T, e engine) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, db *store.DB, c *clock)
	}{
		{"job scheduled for later does not hold its key", func(t *testing.T, db *store.DB, c *clock) {
			later := spec("followup", "K")
			later.RunAfter = c.Now().Add(time.Hour)
			mustEnqueue(t, db, later, spec("render", "K"))
			if j := mustClaim(t, db, "w", c.Now()); j == nil || j.ID != 2 {
				t.Fatalf("claimed %s, want job 2", claimedID(j))
			}
			if err := db.Complete(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if j := mustClaim(t, db, "w", c.Now()); j != nil {
				t.Fatalf("claimed %s before it was due", claimedID(j))
			}
			if j := mustClaim(t, db, "w", c.Advance(time.Hour)); j == nil || j.ID != 1 {
				t.Fatalf("claimed %s once due, want job 1", claimedID(j))
			}
		}},
		{"job awaiting retry holds its key", func(t *testing.T, db *store.DB, c *clock) {
			mustEnqueue(t, db, spec("render", "K"), spec("render", "K"), spec("render", "L"))
			first := mustClaim(t, db, "w", c.Now())
			if err := db.Retry(ctx, first.ID, c.Now().Add(10*time.Second), "boom"); err != nil {
				t.Fatal(err)
			}
			if j := mustClaim(t, db, "w", c.Now()); j == nil || j.Key != "L" {
				t.Fatalf("claimed %s, want L's job while K's first job waits to retry", claimedID(j))
			}
			if j := mustClaim(t, db, "w", c.Now()); j != nil {
				t.Fatalf("claimed %s, want nothing", claimedID(j))
			}
			if j := mustClaim(t, db, "w", c.Advance(10*time.Second)); j == nil || j.ID != first.ID || j.Attempts != 2 {
				t.Fatalf("claimed %s, want job %d on attempt 2", claimedID(j), first.ID)
			}
		}},
		{"oldest ready job first across keys", func(t *testing.T, db *store.DB, c *clock) {
			mustEnqueue(t, db, spec("render", "B"), spec("render", "A"), spec("render", "C"))
			for want := int64(1); want <= 3; want++ {
				if j := mustClaim(t, db, "w", c.Now()); j == nil || j.ID != want {
					t.Fatalf("claimed %s, want job %d", claimedID(j), want)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, c := e.open(t)
			tc.run(t, db, c)
		})
	}
}

func TestCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		// The handle that claimed the job is abandoned but stays open: to
		// the new handle it is another live process, maybe another ferry
		// still working, so only the lease expiring frees the job.
		otherProcessAlive bool
	}{
		{name: "another process has the database open", otherProcessAlive: true},
		{name: "restart after the only process stopped", otherProcessAlive: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "ferry.db")
			c := newClock()
			old, err := store.Open(ctx, path, store.WithClock(c.Now))
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			if _, err := old.Accept(ctx, queue.Delivery{ID: "d-1", Event: "pull_request"}, []queue.Spec{spec("render", "o/r#1")}); err != nil {
				t.Fatal(err)
			}
			first, err := old.Claim(ctx, "old-worker", c.Now(), time.Minute)
			if err != nil || first == nil {
				t.Fatalf("Claim = %v, %v", first, err)
			}
			// The worker dies here: no Complete, no Retry.
			if !tc.otherProcessAlive {
				if err := old.Close(); err != nil {
					t.Fatal(err)
				}
			}

			db := openAt(t, path, c)
			if tc.otherProcessAlive {
				if j := mustClaim(t, db, "new-worker", c.Advance(30*time.Second)); j != nil {
					t.Fatalf("claimed %s while its lease is live", claimedID(j))
				}
				c.Advance(31 * time.Second)
			} else {
				rec := mustJob(t, db, first.ID)
				if rec.State != store.StateQueued || !strings.HasPrefix(rec.LastError, "interrupted") {
					t.Fatalf("after restart: %s (%q), want requeued as interrupted", rec.State, rec.LastError)
				}
			}
			j := mustClaim(t, db, "new-worker", c.Now())
			if j == nil || j.ID != first.ID || j.Attempts != 2 || j.DeliveryID != "d-1" {
				t.Fatalf("claimed %+v, want job %d on attempt 2", j, first.ID)
			}
			if rec := mustJob(t, db, j.ID); rec.LeaseOwner != "new-worker" || rec.State != store.StateRunning {
				t.Errorf("record = %+v, want running under new-worker", rec)
			}
			if tc.otherProcessAlive {
				if err := old.Extend(ctx, first.ID, "old-worker", c.Now().Add(time.Minute)); !errors.Is(err, queue.ErrLeaseLost) {
					t.Errorf("stale worker Extend = %v, want ErrLeaseLost", err)
				}
			}
			if err := db.Complete(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCrashRecoveryAfterKill accepts a delivery and claims its job in a child
// process, kills it with SIGKILL (no Close, WAL not checkpointed), and expects
// the next process to find the delivery and run the job at once.
func TestCrashRecoveryAfterKill(t *testing.T) {
	ctx := context.Background()
	if path := os.Getenv(crashChildEnv); path != "" {
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Accept(ctx, queue.Delivery{ID: "d-1", Event: "pull_request"}, []queue.Spec{spec("render", "o/r#1")}); err != nil {
			t.Fatal(err)
		}
		if j, err := db.Claim(ctx, "doomed", time.Now(), time.Hour); err != nil || j == nil {
			t.Fatalf("Claim = %v, %v", j, err)
		}
		fmt.Println("claimed")
		select {} // working on it until killed
	}
	if runtime.GOOS == "windows" {
		t.Skip("no process lock on this platform; recovery waits for the lease")
	}

	path := filepath.Join(t.TempDir(), "ferry.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecoveryAfterKill$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "claimed\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db := openAt(t, path, newClock())
	if dup, err := db.Accept(ctx, queue.Delivery{ID: "d-1"}, nil); err != nil || !dup {
		t.Errorf("delivery accepted before the kill was lost: duplicate=%v err=%v", dup, err)
	}
	// The lease had an hour to run; the job is reclaimable at once anyway.
	j, err := db.Claim(ctx, "survivor", time.Now(), time.Minute)
	if err != nil || j == nil || j.Attempts != 2 {
		t.Fatalf("Claim after restart = %+v, %v; want the job on attempt 2", j, err)
	}
}

func TestRetryAndFail(t *testing.T) { onEachEngine(t, testRetryAndFail) }

func testRetryAndFail(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	mustEnqueue(t, db, spec("render", "K"))
	t0 := c.Now()
	j := mustClaim(t, db, "w", t0)

	if err := db.Retry(ctx, j.ID, t0.Add(10*time.Second), "github: 502"); err != nil {
		t.Fatal(err)
	}
	rec := mustJob(t, db, j.ID)
	if rec.State != store.StateQueued || rec.Attempts != 1 || !rec.RunAfter.Equal(t0.Add(10*time.Second)) ||
		rec.LastError != "github: 502" || rec.LeaseOwner != "" || !rec.LeaseUntil.IsZero() {
		t.Fatalf("after Retry: %+v", rec)
	}
	if j := mustClaim(t, db, "w", t0.Add(9*time.Second)); j != nil {
		t.Fatalf("claimed %s before run_after", claimedID(j))
	}
	j = mustClaim(t, db, "w", t0.Add(10*time.Second))
	if j == nil || j.Attempts != 2 {
		t.Fatalf("claimed %+v, want attempt 2", j)
	}

	long := strings.Repeat("é", 5000) // multi-byte, over the stored cap
	if err := db.Fail(ctx, j.ID, long); err != nil {
		t.Fatal(err)
	}
	rec = mustJob(t, db, j.ID)
	if rec.State != store.StateFailed || len(rec.LastError) > 2100 || !strings.HasPrefix(long, strings.TrimSuffix(rec.LastError, "…")) {
		t.Errorf("after Fail: state %q, last_error %d bytes", rec.State, len(rec.LastError))
	}
	if j := mustClaim(t, db, "w", c.Advance(time.Hour)); j != nil {
		t.Errorf("failed job claimed again: %s", claimedID(j))
	}
}

func TestTransitionsNeedARunningJob(t *testing.T) { onEachEngine(t, testTransitionsNeedARunningJob) }

func testTransitionsNeedARunningJob(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	mustEnqueue(t, db, spec("render", "a"), spec("render", "b"))
	done := mustClaim(t, db, "w", c.Now()) // job 1
	if err := db.Complete(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, db, spec("render", "a"))   // job 3 stays queued
	running := mustClaim(t, db, "w", c.Now()) // job 2 (oldest ready)

	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"complete done job", func() error { return db.Complete(ctx, done.ID) }},
		{"retry done job", func() error { return db.Retry(ctx, done.ID, c.Now(), "x") }},
		{"fail queued job", func() error { return db.Fail(ctx, 3, "x") }},
		{"complete missing job", func() error { return db.Complete(ctx, 999) }},
		{"extend with another worker's name", func() error { return db.Extend(ctx, running.ID, "other", c.Now().Add(time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, queue.ErrLeaseLost) {
				t.Errorf("err = %v, want ErrLeaseLost", err)
			}
		})
	}

	// The owner's heartbeat keeps the job from being reclaimed at the
	// original expiry.
	if err := db.Extend(ctx, running.ID, "w", c.Now().Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if j := mustClaim(t, db, "thief", c.Advance(2*time.Minute)); j != nil && j.ID == running.ID {
		t.Errorf("extended job was reclaimed")
	}
	if rec := mustJob(t, db, running.ID); !rec.LeaseUntil.Equal(c.Now().Add(3 * time.Minute)) {
		t.Errorf("lease_until = %v", rec.LeaseUntil)
	}
}
