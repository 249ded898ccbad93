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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/pgtest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

// clock is a manually advanced time source shared by the store and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func openAt(t testing.TB, path string, c *clock) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.WithClock(c.Now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func openTemp(t testing.TB) (*store.DB, *clock) {
	t.Helper()
	c := newClock()
	return openAt(t, filepath.Join(t.TempDir(), "ferry.db"), c), c
}

// engine is one of the store's databases, for tests that run on both.
type engine struct {
	name string
	// target is a new, empty database, for Open.
	target func(t testing.TB) string
}

var engines = []engine{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "ferry.db") }},
	{"postgres", pgtest.URL},
}

// open opens a new database on e.
func (e engine) open(t testing.TB) (*store.DB, *clock) {
	t.Helper()
	c := newClock()
	return openAt(t, e.target(t), c), c
}

// onEachEngine runs test once on SQLite and once on PostgreSQL.
func onEachEngine(t *testing.T, test func(*testing.T, engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { test(t, e) })
	}
}

func spec(kind, key string) queue.Spec {
	return queue.Spec{Kind: kind, Key: key, Args: []byte(`{"pr":12}`)}
}

func mustEnqueue(t *testing.T, db *store.DB, specs ...queue.Spec) {
	t.Helper()
	if err := db.Enqueue(context.Background(), specs...); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func mustClaim(t *testing.T, db *store.DB, worker string, now time.Time) *queue.Job {
	t.Helper()
	j, err := db.Claim(context.Background(), worker, now, time.Minute)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return j
}

func claimedID(j *queue.Job) string {
	if j == nil {
		return "nothing"
	}
	return fmt.Sprintf("job %d (%s)", j.ID, j.Key)
}

func mustJob(t *testing.T, db *store.DB, id int64) *store.JobRecord {
	t.Helper()
	r, err := db.Job(context.Background(), id)
	if err != nil {
		t.Fatalf("Job(%d): %v", id, err)
	}
	return r
}

func states(t *testing.T, db *store.DB) map[int64]store.State {
	t.Helper()
	recs, err := db.Jobs(context.Background(), store.JobFilter{})
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	out := map[int64]store.State{}
	for _, r := range recs {
		out[r.ID] = r.State
	}
	return out
}

func TestOpenIsIdempotent(t *testing.T) { onEachEngine(t, testOpenIsIdempotent) }

func testOpenIsIdempotent(t *testing.T, e engine) {
	ctx := context.Background()
	path := e.target(t)
	if e.name == "sqlite" {
		path = filepath.Join(filepath.Dir(path), "sub", "ferry.db")
	}
	c := newClock()

	for round := range 3 {
		db, err := store.Open(ctx, path, store.WithClock(c.Now))
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		got, err := db.Migrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"0001_init", "0002_history", "0003_state", "0004_history_repo", "0005_github_pauses", "0006_watches"}; !slices.Equal(got, want) {
			t.Errorf("round %d: migrations = %v, want %v", round, got, want)
		}
		if round == 0 {
			if err := db.SetDiffComment(ctx, "octo/repo", 1, 101); err != nil {
				t.Fatal(err)
			}
			mustEnqueue(t, db, spec("render", "octo/repo#1"))
		}
		if id, err := db.DiffComment(ctx, "octo/repo", 1); err != nil || id != 101 {
			t.Errorf("round %d: DiffComment = %d, %v; want data kept across reopen", round, id, err)
		}
		if jobs, err := db.Jobs(ctx, store.JobFilter{}); err != nil || len(jobs) != 1 {
			t.Errorf("round %d: %d jobs (err %v), want 1", round, len(jobs), err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenConcurrently starts replicas at once on a new database: one
// migrates, the others wait and find the schema complete.
func TestOpenConcurrently(t *testing.T) { onEachEngine(t, testOpenConcurrently) }

func testOpenConcurrently(t *testing.T, e engine) {
	ctx := context.Background()
	target := e.target(t)
	const replicas = 4
	var wg sync.WaitGroup
	versions := make([][]string, replicas)
	for i := range replicas {
		wg.Go(func() {
			db, err := store.Open(ctx, target)
			if err != nil {
				t.Errorf("replica %d: Open: %v", i, err)
				return
			}
			defer db.Close()
			if versions[i], err = db.Migrations(ctx); err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, v := range versions {
		if len(v) == 0 || !slices.Equal(v, versions[0]) {
			t.Errorf("replica %d sees migrations %v, replica 0 %v", i, v, versions[0])
		}
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "ferry.db?mode=memory", "file:ferry.db"} {
		if db, err := store.Open(context.Background(), path); err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestAcceptDeduplicatesDeliveries(t *testing.T) {
	onEachEngine(t, testAcceptDeduplicatesDeliveries)
}

func testAcceptDeduplicatesDeliveries(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	steps := []struct {
		delivery      string
		jobs          []queue.Spec
		wantDuplicate bool
		wantJobs      int // jobs recorded for this delivery id afterwards
	}{
		{"d-1", []queue.Spec{spec("render", "o/r#1"), spec("comment", "o/r#1")}, false, 2},
		{"d-1", []queue.Spec{spec("render", "o/r#1")}, true, 2}, // GitHub redelivery
		{"d-2", []queue.Spec{spec("render", "o/r#1")}, false, 1},
		{"d-3", nil, false, 0}, // no work, but remembered
		{"d-3", []queue.Spec{spec("render", "o/r#1")}, true, 0},
	}
	for i, s := range steps {
		dup, err := db.Accept(ctx, queue.Delivery{ID: s.delivery, Event: "pull_request", Action: "synchronize", Repo: "o/r", InstallationID: 7}, s.jobs)
		if err != nil {
			t.Fatalf("step %d: Accept: %v", i, err)
		}
		if dup != s.wantDuplicate {
			t.Errorf("step %d: duplicate = %v, want %v", i, dup, s.wantDuplicate)
		}
		jobs, err := db.Jobs(ctx, store.JobFilter{DeliveryID: s.delivery})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != s.wantJobs {
			t.Errorf("step %d: %d jobs for %s, want %d", i, len(jobs), s.delivery, s.wantJobs)
		}
	}
}

func TestAcceptConcurrentDuplicatesEnqueueOnce(t *testing.T) {
	onEachEngine(t, testAcceptConcurrentDuplicatesEnqueueOnce)
}

func testAcceptConcurrentDuplicatesEnqueueOnce(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	const rounds, callers = 20, 3
	for round := range rounds {
		id := fmt.Sprintf("delivery-%d", round)
		start := make(chan struct{})
		results := make(chan bool, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				<-start
				dup, err := db.Accept(ctx, queue.Delivery{ID: id, Event: "push"}, []queue.Spec{spec("render", "o/r#1")})
				if err != nil {
					t.Errorf("Accept: %v", err)
				}
				results <- dup
			})
		}
		close(start)
		wg.Wait()
		close(results)
		accepted := 0
		for dup := range results {
			if !dup {
				accepted++
			}
		}
		if accepted != 1 {
			t.Errorf("%s: %d callers accepted, want exactly 1", id, accepted)
		}
		jobs, err := db.Jobs(ctx, store.JobFilter{DeliveryID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 {
			t.Errorf("%s: %d jobs, want 1", id, len(jobs))
		}
	}
}

func TestAcceptRejectsBadJobsAtomically(t *testing.T) {
	onEachEngine(t, testAcceptRejectsBadJobsAtomically)
}

func testAcceptRejectsBadJobsAtomically(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	huge := []byte(`{"payload":"` + strings.Repeat("x", store.MaxArgsBytes) + `"}`)
	for _, tc := range []struct {
		name string
		d    queue.Delivery
		jobs []queue.Spec
	}{
		{"no delivery id", queue.Delivery{}, []queue.Spec{spec("render", "k")}},
		{"args not JSON", queue.Delivery{ID: "a"}, []queue.Spec{spec("render", "k"), {Kind: "render", Key: "k", Args: []byte("{oops")}}},
		{"args too large (a raw payload)", queue.Delivery{ID: "b"}, []queue.Spec{{Kind: "render", Key: "k", Args: huge}}},
		{"missing key", queue.Delivery{ID: "c"}, []queue.Spec{{Kind: "render"}}},
		{"missing kind", queue.Delivery{ID: "d"}, []queue.Spec{{Key: "k"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.Accept(ctx, tc.d, tc.jobs); err == nil {
				t.Fatal("Accept succeeded, want an error")
			}
			if tc.d.ID == "" {
				return
			}
			// Nothing was recorded: the same delivery is accepted once fixed.
			dup, err := db.Accept(ctx, tc.d, []queue.Spec{spec("render", "k")})
			if err != nil || dup {
				t.Errorf("retry with valid jobs: duplicate=%v err=%v; want accepted", dup, err)
			}
		})
	}
}

func TestSupersede(t *testing.T) { onEachEngine(t, testSupersede) }

func testSupersede(t *testing.T, e engine) {
	db, c := e.open(t)

	mustEnqueue(t, db, spec("render", "o/r#1"))
	running := mustClaim(t, db, "w", c.Now()) // an older render already running
	mustEnqueue(t, db,
		spec("render", "o/r#1"),  // queued, older: superseded
		spec("comment", "o/r#1"), // other kind: kept
		spec("render", "o/r#2"),  // other key: kept
	)
	older := running.ID + 1
	s := spec("render", "o/r#1")
	s.Supersede = true
	mustEnqueue(t, db, s)
	newest := running.ID + 4
	noSupersede := spec("render", "o/r#2")
	mustEnqueue(t, db, noSupersede) // Supersede unset: o/r#2 keeps both

	want := map[int64]store.State{
		running.ID:     store.StateRunning,
		older:          store.StateSuperseded,
		running.ID + 2: store.StateQueued,
		running.ID + 3: store.StateQueued,
		newest:         store.StateQueued,
		running.ID + 5: store.StateQueued,
	}
	got := states(t, db)
	for id, st := range want {
		if got[id] != st {
			t.Errorf("job %d: state %q, want %q", id, got[id], st)
		}
	}
	if rec := mustJob(t, db, older); rec.LastError != fmt.Sprintf("superseded by job %d", newest) {
		t.Errorf("superseded job last_error = %q", rec.LastError)
	}
}

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

// crashChildEnv makes the test binary act as the process that gets killed.
const crashChildEnv = "FERRY_STORE_TEST_CRASH_DB"

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

func TestPrune(t *testing.T) { onEachEngine(t, testPrune) }

func testPrune(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	accept := func(id string) {
		t.Helper()
		if _, err := db.Accept(ctx, queue.Delivery{ID: id, Event: "push"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(key string, outcome func(id int64) error) int64 {
		t.Helper()
		mustEnqueue(t, db, spec("render", key))
		j := mustClaim(t, db, "w", c.Now())
		if err := outcome(j.ID); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	complete := func(id int64) error { return db.Complete(ctx, id) }
	fail := func(id int64) error { return db.Fail(ctx, id, "x") }

	// Eight days ago.
	accept("old-delivery")
	oldDone := finish("a", complete)
	oldFailed := finish("b", fail)
	// Scheduled far ahead so that they stay queued: job 3 superseded by 4.
	later := c.Now().Add(30 * 24 * time.Hour)
	mustEnqueue(t, db, queue.Spec{Kind: "render", Key: "c", RunAfter: later})
	mustEnqueue(t, db, queue.Spec{Kind: "render", Key: "c", RunAfter: later, Supersede: true})
	oldQueued, superseded := int64(4), int64(3)

	// Now.
	c.Advance(8 * 24 * time.Hour)
	accept("new-delivery")
	newDone := finish("e", complete)

	n, err := db.Prune(ctx, c.Now().Add(-store.DefaultRetention))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // old done job, superseded job, old delivery
		t.Errorf("pruned %d rows, want 3", n)
	}
	got := states(t, db)
	for _, id := range []int64{oldFailed, oldQueued, newDone} {
		if _, ok := got[id]; !ok {
			t.Errorf("job %d was pruned, want kept", id)
		}
	}
	for _, id := range []int64{oldDone, superseded} {
		if _, ok := got[id]; ok {
			t.Errorf("job %d kept, want pruned", id)
		}
	}
	if dup, err := db.Accept(ctx, queue.Delivery{ID: "new-delivery"}, nil); err != nil || !dup {
		t.Errorf("recent delivery forgotten: duplicate=%v err=%v", dup, err)
	}
	if dup, err := db.Accept(ctx, queue.Delivery{ID: "old-delivery"}, nil); err != nil || dup {
		t.Errorf("old delivery still remembered: duplicate=%v err=%v", dup, err)
	}
}

func TestJobsFilter(t *testing.T) { onEachEngine(t, testJobsFilter) }

func testJobsFilter(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	if _, err := db.Accept(ctx, queue.Delivery{ID: "d"}, []queue.Spec{spec("render", "A"), spec("comment", "A")}); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, db, spec("render", "B"))
	mustClaim(t, db, "w", c.Now())

	for _, tc := range []struct {
		name   string
		filter store.JobFilter
		want   []int64
	}{
		{"all", store.JobFilter{}, []int64{1, 2, 3}},
		{"by kind", store.JobFilter{Kind: "render"}, []int64{1, 3}},
		{"by key", store.JobFilter{Key: "A"}, []int64{1, 2}},
		{"by delivery", store.JobFilter{DeliveryID: "d"}, []int64{1, 2}},
		{"by state", store.JobFilter{State: store.StateRunning}, []int64{1}},
		{"combined", store.JobFilter{Kind: "render", State: store.StateQueued}, []int64{3}},
		{"limit", store.JobFilter{Limit: 2}, []int64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := db.Jobs(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range recs {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	rec := mustJob(t, db, 1)
	if string(rec.Args) != `{"pr":12}` || rec.Kind != "render" || rec.Key != "A" || rec.DeliveryID != "d" || !rec.CreatedAt.Equal(c.Now()) {
		t.Errorf("job 1 = %+v", rec)
	}
	if _, err := db.Job(ctx, 42); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(42) err = %v, want ErrNotFound", err)
	}
}

// Intake, workers and readers at once, from two handles on the same file
// (two processes, or an old and a new one during a restart): nothing may
// fail with SQLITE_BUSY or lose a delivery.
func TestConcurrentUseNeverBusy(t *testing.T) { onEachEngine(t, testConcurrentUseNeverBusy) }

func testConcurrentUseNeverBusy(t *testing.T, e engine) {
	ctx := context.Background()
	target, c := e.target(t), newClock()
	handles := []*store.DB{openAt(t, target, c), openAt(t, target, c)}
	const accepters, perAccepter = 8, 40

	var wg sync.WaitGroup
	for a := range accepters {
		db := handles[a%2]
		wg.Go(func() {
			for i := range perAccepter {
				d := queue.Delivery{ID: fmt.Sprintf("d-%d-%d", a, i), Event: "pull_request"}
				if dup, err := db.Accept(ctx, d, []queue.Spec{spec("render", fmt.Sprintf("o/r#%d", i%5))}); err != nil || dup {
					t.Errorf("Accept %s: duplicate=%v err=%v", d.ID, dup, err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var side sync.WaitGroup
	for w, db := range handles {
		side.Go(func() { // a worker
			for {
				select {
				case <-stop:
					return
				default:
				}
				j, err := db.Claim(ctx, fmt.Sprintf("w%d", w), c.Now(), time.Minute)
				if err != nil {
					t.Errorf("Claim: %v", err)
					return
				}
				if j != nil {
					if err := db.Complete(ctx, j.ID); err != nil {
						t.Errorf("Complete: %v", err)
						return
					}
				}
			}
		})
		side.Go(func() { // an admin view and the kv area
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Jobs(ctx, store.JobFilter{State: store.StateQueued, Limit: 10}); err != nil {
					t.Errorf("Jobs: %v", err)
					return
				}
				if err := db.SetDiffComment(ctx, "o/r", i%5+1, int64(i+1)); err != nil {
					t.Errorf("SetDiffComment: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	side.Wait()

	recs, err := handles[0].Jobs(ctx, store.JobFilter{Limit: accepters * perAccepter * 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != accepters*perAccepter {
		t.Errorf("%d jobs stored, want %d", len(recs), accepters*perAccepter)
	}
}

func TestGitHubPauses(t *testing.T) { onEachEngine(t, testGitHubPauses) }

func testGitHubPauses(t *testing.T, e engine) {
	db, _ := e.open(t)
	ctx := context.Background()
	if until, err := db.GitHubPausedUntil(ctx, 7); err != nil || !until.IsZero() {
		t.Fatalf("no pause yet: %v, %v", until, err)
	}
	later := time.UnixMilli(time.Now().Add(time.Minute).UnixMilli())
	for _, until := range []time.Time{later, later.Add(-30 * time.Second)} { // a shorter pause never shortens
		if err := db.PauseGitHub(ctx, 7, until); err != nil {
			t.Fatal(err)
		}
	}
	if until, err := db.GitHubPausedUntil(ctx, 7); err != nil || !until.Equal(later) {
		t.Errorf("pause until %v (%v), want %v", until, err, later)
	}
	if until, _ := db.GitHubPausedUntil(ctx, 8); !until.IsZero() {
		t.Errorf("another installation is paused until %v", until)
	}
}
