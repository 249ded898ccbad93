package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
		if want := []string{"0001_init", "0002_history", "0003_state", "0004_history_repo", "0005_github_pauses", "0006_watches", "0007_job_waits"}; !slices.Equal(got, want) {
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

// crashChildEnv makes the test binary act as the process that gets killed.
const crashChildEnv = "FERRY_STORE_TEST_CRASH_DB"

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
