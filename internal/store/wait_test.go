package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

func TestWait(t *testing.T) { onEachEngine(t, testWait) }

// testWait: a run that waits goes back in the queue like a retry, counted
// in Waits; the job keeps holding its key's later jobs back.
func testWait(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	mustEnqueue(t, db, spec("sync", "K"), spec("sync", "K"))
	t0 := c.Now()
	j := mustClaim(t, db, "w", t0)
	if j == nil || j.ID != 1 || j.Attempts != 1 || j.Waits != 0 {
		t.Fatalf("claimed %+v, want job 1 on attempt 1 with no waits", j)
	}
	for n := 1; n <= 3; n++ {
		at := c.Now().Add(10 * time.Second)
		if err := db.Wait(ctx, j.ID, at, "cluster unavailable"); err != nil {
			t.Fatal(err)
		}
		rec := mustJob(t, db, j.ID)
		if rec.State != store.StateQueued || rec.Waits != n || rec.Attempts != n || !rec.RunAfter.Equal(at) ||
			rec.LastError != "cluster unavailable" || rec.LeaseOwner != "" {
			t.Fatalf("after wait %d: %+v", n, rec)
		}
		if got := mustClaim(t, db, "w", c.Advance(time.Second)); got != nil {
			t.Fatalf("wait %d: claimed %s while job 1 waits: a waiting job must keep its key's order", n, claimedID(got))
		}
		j = mustClaim(t, db, "w", c.Advance(9*time.Second))
		if j == nil || j.ID != 1 || j.Attempts != n+1 || j.Waits != n {
			t.Fatalf("after wait %d claimed %+v, want job 1 on run %d with %d waits", n, j, n+1, n)
		}
	}
	if err := db.Complete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Wait(ctx, j.ID, c.Now(), "x"); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Wait on a done job: %v, want ErrLeaseLost", err)
	}
	if next := mustClaim(t, db, "w", c.Now()); next == nil || next.ID != 2 || next.Waits != 0 {
		t.Errorf("claimed %+v, want job 2, fresh", next)
	}
}
