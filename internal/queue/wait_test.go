package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
	"github.com/ferry-gitops/ferry/internal/store"
)

// TestWaitOutlastsMaxAttempts: on the real store, a job that waits many
// more times than MaxAttempts allows runs is not failed; it completes once
// its handler stops waiting, and the later job of its key runs after it,
// not between its waits. Failures still use up attempts.
func TestWaitOutlastsMaxAttempts(t *testing.T) {
	const waits = 7
	ctx := context.Background()
	db := openStore(t)
	for _, s := range []queue.Spec{
		{Kind: "sync", Key: "octo/repo:production", Args: []byte(`{}`)}, // job 1: waits, then succeeds
		{Kind: "next", Key: "octo/repo:production", Args: []byte(`{}`)}, // job 2: succeeds
		{Kind: "broken", Key: "octo/repo:staging", Args: []byte(`{}`)},  // job 3: fails every run
	} {
		if err := db.Enqueue(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		ran []string
	)
	runs := make(chan string, 20)
	p := &queue.Pool{
		Store: db,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
			mu.Lock()
			ran = append(ran, fmt.Sprintf("%s %d/%d", j.Kind, j.Attempts, j.Waits))
			mu.Unlock()
			defer func() { runs <- j.Kind }()
			switch {
			case j.Kind == "sync" && j.Waits < waits:
				return queue.Wait(errors.New("cluster unavailable"), time.Millisecond)
			case j.Kind == "broken":
				return errors.New("invalid")
			}
			return nil
		}),
		Workers: 2, MaxAttempts: 2, Poll: time.Hour, Logger: quietLogger(),
		Backoff: func(int) time.Duration { return 0 },
	}
	stop := runPool(t, p)
	seen := map[string]int{}
	for seen["next"] < 1 || seen["broken"] < 2 {
		seen[waitFor(t, runs, "the jobs to run")]++
	}
	stop() // records the last outcomes

	mu.Lock()
	var production []string
	for _, r := range ran {
		if !strings.HasPrefix(r, "broken") {
			production = append(production, r)
		}
	}
	mu.Unlock()
	want := []string{"sync 1/0", "sync 2/1", "sync 3/2", "sync 4/3", "sync 5/4", "sync 6/5", "sync 7/6", "sync 8/7", "next 1/0"}
	if fmt.Sprint(production) != fmt.Sprint(want) {
		t.Errorf("runs (kind attempts/waits) %v, want %v", production, want)
	}
	for _, w := range []struct {
		id              int64
		state           store.State
		attempts, waits int
	}{
		{1, store.StateDone, waits + 1, waits},
		{2, store.StateDone, 1, 0},
		{3, store.StateFailed, 2, 0},
	} {
		rec, err := db.Job(ctx, w.id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != w.state || rec.Attempts != w.attempts || rec.Waits != w.waits {
			t.Errorf("job %d: %s after %d runs, %d of them waits; want %s after %d, %d", w.id, rec.State, rec.Attempts, rec.Waits, w.state, w.attempts, w.waits)
		}
	}
}
