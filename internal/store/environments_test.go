package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

// openWith opens a new database and writes to it with set, if any.
func openWith(t *testing.T, e engine, set func(db *store.DB) error) *store.DB {
	t.Helper()
	db, _ := e.open(t)
	if set != nil {
		if err := set(db); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestEnvironmentState(t *testing.T) { onEachEngine(t, testEnvironmentState) }

func testEnvironmentState(t *testing.T, e engine) {
	ctx := context.Background()
	deploy := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"}
	svc := manifest.Key{Kind: "Service", Namespace: "web", Name: "api"}
	at := time.Date(2029, 5, 6, 7, 8, 9, 0, time.UTC)
	type want struct {
		inv   []manifest.Key
		invOK bool
		lock  *store.Lock
		drift int
	}
	tests := []struct {
		name string
		set  func(db *store.DB) error
		repo string // "" means o/r
		env  string // "" means prod
		want want
	}{
		{name: "unknown environment", want: want{}},
		{name: "inventory", set: func(db *store.DB) error { return db.SetInventory(ctx, "o/r", "prod", []manifest.Key{deploy, svc}) },
			want: want{inv: []manifest.Key{deploy, svc}, invOK: true}},
		{name: "empty inventory is synced", set: func(db *store.DB) error { return db.SetInventory(ctx, "o/r", "prod", nil) },
			want: want{inv: []manifest.Key{}, invOK: true}},
		{name: "lock at now", set: func(db *store.DB) error {
			return db.SetLock(ctx, "o/r", "prod", store.Lock{By: "alice", Reason: "freeze", PR: 7})
		}, want: want{lock: &store.Lock{By: "alice", Reason: "freeze", PR: 7, At: newClock().Now()}}},
		{name: "lock at a time", set: func(db *store.DB) error { return db.SetLock(ctx, "o/r", "prod", store.Lock{By: "bob", At: at}) },
			want: want{lock: &store.Lock{By: "bob", At: at}}},
		{name: "drift issue", set: func(db *store.DB) error { return db.SetDriftIssue(ctx, "o/r", "prod", 42) },
			want: want{drift: 42}},
		{name: "drift issue closed", set: func(db *store.DB) error {
			if err := db.SetDriftIssue(ctx, "o/r", "prod", 42); err != nil {
				return err
			}
			return db.SetDriftIssue(ctx, "o/r", "prod", 0)
		}, want: want{}},
		{name: "columns are independent", set: func(db *store.DB) error {
			return errors.Join(
				db.SetInventory(ctx, "o/r", "prod", []manifest.Key{svc}),
				db.SetLock(ctx, "o/r", "prod", store.Lock{By: "carol", At: at}),
				db.SetDriftIssue(ctx, "o/r", "prod", 3),
				db.SetInventory(ctx, "o/r", "prod", []manifest.Key{deploy}))
		}, want: want{inv: []manifest.Key{deploy}, invOK: true, lock: &store.Lock{By: "carol", At: at}, drift: 3}},
		{name: "other environment untouched", env: "staging", set: func(db *store.DB) error {
			return errors.Join(db.SetInventory(ctx, "o/r", "prod", []manifest.Key{svc}),
				db.SetLock(ctx, "o/r", "prod", store.Lock{By: "dave"}), db.SetDriftIssue(ctx, "o/r", "prod", 3))
		}, want: want{}},
		{name: "other repository untouched", repo: "o/other", set: func(db *store.DB) error {
			return errors.Join(db.SetInventory(ctx, "o/r", "prod", []manifest.Key{svc}),
				db.SetLock(ctx, "o/r", "prod", store.Lock{By: "dave"}), db.SetDriftIssue(ctx, "o/r", "prod", 3))
		}, want: want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openWith(t, e, tt.set)
			repo, env := tt.repo, tt.env
			if repo == "" {
				repo = "o/r"
			}
			if env == "" {
				env = "prod"
			}
			inv, ok, err := db.Inventory(ctx, repo, env)
			if err != nil || ok != tt.want.invOK || !reflect.DeepEqual(inv, tt.want.inv) {
				t.Errorf("Inventory = %v, %v, %v; want %v, %v", inv, ok, err, tt.want.inv, tt.want.invOK)
			}
			lock, err := db.Lock(ctx, repo, env)
			if err != nil || !reflect.DeepEqual(lock, tt.want.lock) {
				t.Errorf("Lock = %+v, %v; want %+v", lock, err, tt.want.lock)
			}
			if n, err := db.DriftIssue(ctx, repo, env); err != nil || n != tt.want.drift {
				t.Errorf("DriftIssue = %d, %v; want %d", n, err, tt.want.drift)
			}
		})
	}
}

func TestEnvironmentStateRejectsBadInput(t *testing.T) {
	onEachEngine(t, testEnvironmentStateRejectsBadInput)
}

func testEnvironmentStateRejectsBadInput(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	for name, err := range map[string]error{
		"lock without who":    db.SetLock(ctx, "o/r", "prod", store.Lock{Reason: "x"}),
		"inventory no env":    db.SetInventory(ctx, "o/r", "", nil),
		"drift issue no repo": db.SetDriftIssue(ctx, "", "prod", 1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// syncArgs is a held sync's job arguments in the tests.
func syncArgs(commit string) []byte { return []byte(fmt.Sprintf(`{"commit":%q}`, commit)) }

// syncSpecs builds one sync job per held sync, as the job package would.
func syncSpecs(held [][]byte) ([]queue.Spec, error) {
	var specs []queue.Spec
	for _, h := range held {
		specs = append(specs, queue.Spec{Kind: "sync", Key: "o/r/env/prod", Args: h})
	}
	return specs, nil
}

func jobArgs(t *testing.T, db *store.DB) []string {
	t.Helper()
	recs, err := db.Jobs(context.Background(), store.JobFilter{Kind: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Args))
	}
	return out
}

func heldArgs(t *testing.T, db *store.DB, repo, env string) []string {
	t.Helper()
	held, err := db.HeldSyncs(context.Background(), repo, env)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range held {
		out = append(out, string(h))
	}
	return out
}

func TestHoldAndRelease(t *testing.T) { onEachEngine(t, testHoldAndRelease) }

func testHoldAndRelease(t *testing.T, e engine) {
	ctx := context.Background()
	a, b, c := string(syncArgs("a")), string(syncArgs("b")), string(syncArgs("c"))
	tests := []struct {
		name string
		// steps: "lock", "hold X" (want held), "run X" (want unlocked),
		// "release", "release-fail", "hold-other X" (staging: held).
		steps    []string
		wantJobs []string // sync job args, in enqueue order
		wantHeld []string // still held for o/r prod
		locked   bool
	}{
		{name: "unlocked: nothing held", steps: []string{"run a", "release"}},
		{name: "held in order, released in order", steps: []string{"lock", "hold a", "hold b", "hold c", "release"},
			wantJobs: []string{a, b, c}},
		{name: "hold after release runs", steps: []string{"lock", "hold a", "release", "run b"}, wantJobs: []string{a}},
		{name: "a second lock holds anew", steps: []string{"lock", "hold a", "release", "lock", "hold b", "hold c"},
			wantJobs: []string{a}, wantHeld: []string{b, c}, locked: true},
		{name: "release twice enqueues once", steps: []string{"lock", "hold a", "release", "release"}, wantJobs: []string{a}},
		{name: "failed release changes nothing", steps: []string{"lock", "hold a", "hold b", "release-fail"},
			wantHeld: []string{a, b}, locked: true},
		{name: "other environment unaffected", steps: []string{"lock", "lock-other", "hold-other c", "hold a", "release"},
			wantJobs: []string{a}},
		{name: "release with nothing held unlocks", steps: []string{"lock", "release", "run a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := e.open(t)
			waiting := 0
			for _, step := range tt.steps {
				var op, arg string
				fmt.Sscan(step, &op, &arg)
				switch op {
				case "lock":
					if err := db.SetLock(ctx, "o/r", "prod", store.Lock{By: "alice"}); err != nil {
						t.Fatal(err)
					}
					waiting = 0
				case "lock-other":
					if err := db.SetLock(ctx, "o/r", "staging", store.Lock{By: "bob"}); err != nil {
						t.Fatal(err)
					}
				case "hold", "run":
					lock, n, err := db.HoldIfLocked(ctx, "o/r", "prod", syncArgs(arg))
					if err != nil {
						t.Fatal(err)
					}
					if op == "run" {
						if lock != nil || n != 0 {
							t.Fatalf("%s: HoldIfLocked = %+v, %d; want unlocked", step, lock, n)
						}
						continue
					}
					waiting++
					if lock == nil || lock.By != "alice" || n != waiting {
						t.Fatalf("%s: HoldIfLocked = %+v, %d; want alice's lock, %d waiting", step, lock, n, waiting)
					}
				case "hold-other":
					if lock, n, err := db.HoldIfLocked(ctx, "o/r", "staging", syncArgs(arg)); err != nil || lock == nil || n != 1 {
						t.Fatalf("%s: HoldIfLocked = %+v, %d, %v", step, lock, n, err)
					}
				case "release":
					if err := db.Release(ctx, "o/r", "prod", syncSpecs); err != nil {
						t.Fatal(err)
					}
				case "release-fail":
					boom := errors.New("boom")
					err := db.Release(ctx, "o/r", "prod", func(held [][]byte) ([]queue.Spec, error) {
						if len(held) != 2 {
							t.Errorf("specs got %d held syncs, want 2", len(held))
						}
						return nil, boom
					})
					if !errors.Is(err, boom) {
						t.Fatalf("Release = %v, want boom", err)
					}
				}
			}
			if got := jobArgs(t, db); !slices.Equal(got, tt.wantJobs) {
				t.Errorf("jobs = %q, want %q", got, tt.wantJobs)
			}
			if got := heldArgs(t, db, "o/r", "prod"); !slices.Equal(got, tt.wantHeld) {
				t.Errorf("held = %q, want %q", got, tt.wantHeld)
			}
			if lock, err := db.Lock(ctx, "o/r", "prod"); err != nil || (lock != nil) != tt.locked {
				t.Errorf("Lock = %+v, %v; want locked %v", lock, err, tt.locked)
			}
		})
	}
}

func TestReleaseRejectsInvalidSpecsAtomically(t *testing.T) {
	onEachEngine(t, testReleaseRejectsInvalidSpecsAtomically)
}

func testReleaseRejectsInvalidSpecsAtomically(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	if err := db.SetLock(ctx, "o/r", "prod", store.Lock{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.HoldIfLocked(ctx, "o/r", "prod", syncArgs("a")); err != nil {
		t.Fatal(err)
	}
	err := db.Release(ctx, "o/r", "prod", func([][]byte) ([]queue.Spec, error) {
		return []queue.Spec{{Kind: "sync", Key: "k", Args: []byte("not json")}}, nil
	})
	if err == nil {
		t.Fatal("Release with invalid args succeeded")
	}
	if lock, _ := db.Lock(ctx, "o/r", "prod"); lock == nil {
		t.Error("failed release unlocked the environment")
	}
	if held := heldArgs(t, db, "o/r", "prod"); len(held) != 1 {
		t.Errorf("held = %q after a failed release, want the one hold", held)
	}
	if _, _, err := db.HoldIfLocked(ctx, "o/r", "prod", []byte("{")); err == nil {
		t.Error("HoldIfLocked accepted invalid JSON")
	}
}

// TestHoldRacingRelease holds syncs while the environment is released: each
// sync is either run at once (found unlocked), enqueued by the release, or
// still held; none is lost or doubled.
func TestHoldRacingRelease(t *testing.T) { onEachEngine(t, testHoldRacingRelease) }

func testHoldRacingRelease(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	if err := db.SetLock(ctx, "o/r", "prod", store.Lock{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ran []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := syncArgs(fmt.Sprint(i))
			lock, _, err := db.HoldIfLocked(ctx, "o/r", "prod", args)
			if err != nil {
				t.Error(err)
				return
			}
			if lock == nil {
				mu.Lock()
				ran = append(ran, string(args))
				mu.Unlock()
			}
		}()
		if i == n/2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.Release(ctx, "o/r", "prod", syncSpecs); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	all := append(append(ran, jobArgs(t, db)...), heldArgs(t, db, "o/r", "prod")...)
	seen := map[string]int{}
	for _, a := range all {
		seen[a]++
	}
	for i := range n {
		if k := string(syncArgs(fmt.Sprint(i))); seen[k] != 1 {
			t.Errorf("sync %d seen %d times (ran, enqueued or held), want once", i, seen[k])
		}
	}
	if held := heldArgs(t, db, "o/r", "prod"); len(held) != 0 {
		t.Errorf("%d syncs held after the release, want none (it unlocked)", len(held))
	}
	var decoded map[string]string
	if jobs := jobArgs(t, db); len(jobs) > 0 && json.Unmarshal([]byte(jobs[0]), &decoded) != nil {
		t.Errorf("job args %q are not the held JSON", jobs[0])
	}
}
