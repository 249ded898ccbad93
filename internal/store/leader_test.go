package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ferry-gitops/ferry/internal/store"
)

// TestLeadership: of two processes on one database one leads; the other
// leads once the first steps down.
func TestLeadership(t *testing.T) { onEachEngine(t, testLeadership) }

func testLeadership(t *testing.T, e engine) {
	target := e.target(t)
	a, b := openAt(t, target, newClock()), openAt(t, target, newClock())
	ctx := context.Background()
	const poll = 50 * time.Millisecond
	actx, stepDown, err := a.Lead(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 5*poll)
	defer cancel()
	if _, _, err := b.Lead(short, poll); err == nil {
		t.Fatal("a second process leads while the first does")
	}
	stepDown()
	if actx.Err() == nil {
		t.Error("the leader's context goes on after it stepped down")
	}
	bctx, stop, err := b.Lead(ctx, poll)
	if err != nil {
		t.Fatalf("the second process never leads: %v", err)
	}
	defer stop()
	if bctx.Err() != nil {
		t.Error("the new leader's context has ended")
	}
}

// TestLeaderConnectionLost: when the PostgreSQL session holding the
// leadership dies (its process killed, the network gone), the leader's
// context ends and another replica leads within a poll or two.
func TestLeaderConnectionLost(t *testing.T) {
	target := engines[1].target(t)
	a, b := openAt(t, target, newClock()), openAt(t, target, newClock())
	ctx := context.Background()
	const poll = 100 * time.Millisecond
	actx, stopA, err := a.Lead(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	defer stopA()
	led := make(chan time.Time, 1)
	go func() {
		if _, stop, err := b.Lead(ctx, poll); err == nil {
			led <- time.Now()
			t.Cleanup(stop)
		}
	}()
	admin, err := sql.Open("pgx", target)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	killed := time.Now()
	var n int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(l.pid)) FROM pg_locks l
JOIN pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminated %d leader sessions (%v), want 1", n, err)
	}
	select {
	case <-actx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the old leader's context goes on after its session died")
	}
	select {
	case at := <-led:
		t.Logf("new leader %v after the session died", at.Sub(killed).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("no replica took over")
	}
}

func TestWatches(t *testing.T) { onEachEngine(t, testWatches) }

func testWatches(t *testing.T, e engine) {
	db, c := e.open(t)
	ctx := context.Background()
	put := func(w store.Watch) {
		t.Helper()
		if err := db.PutWatch(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	t0 := c.Now()
	put(store.Watch{Kind: "drift", Repo: "o/r", Env: "prod", State: []byte(`{"v":1}`)})
	put(store.Watch{Kind: "rollout", Repo: "o/r", Env: "prod", State: []byte(`{}`), Until: t0.Add(time.Minute)})
	c.Advance(time.Second)
	put(store.Watch{Kind: "drift", Repo: "o/r", Env: "staging", State: []byte(`{"v":2}`)})
	put(store.Watch{Kind: "drift", Repo: "o/r", Env: "prod", State: []byte(`{"v":3}`)}) // replaces

	all, err := db.Watches(ctx, "drift", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, w := range all {
		states[w.Env] = string(w.State)
	}
	if len(all) != 2 || states["prod"] != `{"v":3}` || states["staging"] != `{"v":2}` {
		t.Fatalf("drift watches = %v, want prod's second state and staging's", states)
	}
	if recent, _ := db.Watches(ctx, "drift", t0.Add(time.Second)); len(recent) != 2 {
		t.Errorf("%d watches updated since the second write, want 2", len(recent))
	}
	if err := db.EndWatch(ctx, "drift", "o/r", "prod", t0); err != nil {
		t.Fatal(err)
	}
	if left, _ := db.Watches(ctx, "drift", time.Time{}); len(left) != 2 {
		t.Errorf("ending an older update ended the newer watch: %d left", len(left))
	}
	if err := db.EndWatch(ctx, "drift", "o/r", "prod", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if left, _ := db.Watches(ctx, "drift", time.Time{}); len(left) != 1 || left[0].Env != "staging" {
		t.Errorf("after ending prod: %+v", left)
	}
	if r, _ := db.Watches(ctx, "rollout", time.Time{}); len(r) != 1 || !r[0].Until.Equal(t0.Add(time.Minute)) {
		t.Errorf("rollout watches = %+v", r)
	}
	c.Advance(time.Minute)
	if r, _ := db.Watches(ctx, "rollout", time.Time{}); len(r) != 0 {
		t.Errorf("an ended rollout watch is listed: %+v", r)
	}
	if err := db.PutWatch(ctx, store.Watch{Kind: "drift", Repo: "o/r"}); err == nil {
		t.Error("a watch without environment was stored")
	}
}

// TestGitHubWritesAcrossReplicas: one replica's write with an
// installation's token holds the others' writes for it, not another
// installation's.
func TestGitHubWritesAcrossReplicas(t *testing.T) {
	target := engines[1].target(t)
	a, b := openAt(t, target, newClock()), openAt(t, target, newClock())
	ctx := context.Background()
	unlock, err := a.LockGitHubWrites(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.LockGitHubWrites(short, 7); err == nil {
		t.Fatal("a second replica wrote for installation 7 while the first was writing")
	}
	other, err := b.LockGitHubWrites(ctx, 8)
	if err != nil {
		t.Fatalf("installation 8 waits for installation 7: %v", err)
	}
	other()
	got := make(chan error, 1)
	go func() {
		u, err := b.LockGitHubWrites(ctx, 7)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second replica's write never went after the first ended")
	}
}
