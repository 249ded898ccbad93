package github

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pausingLocks is a replica's write lock granted only once another
// replica's write met a limit: the pause begins while the write queues.
type pausingLocks struct {
	pauses *memPauses
	until  time.Time
}

func (l *pausingLocks) LockGitHubWrites(ctx context.Context, id int64) (func(), error) {
	return func() {}, l.pauses.PauseGitHub(ctx, id, l.until)
}

// TestPauseBegunWhileWaiting: a pause that begins while a write queues
// for the write lock, or grows while a call sleeps through a shorter one,
// still holds the call: it is sent when the pause ends, or, for a long
// pause, not at all (the job retries).
func TestPauseBegunWhileWaiting(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name       string
		method     string
		pausedFor  time.Duration // before the call; 0: no pause
		grownTo    time.Duration // what another replica makes it during the first sleep; 0: no change
		queuedFor  time.Duration // a pause begun while the write waited for the lock; 0: none
		wantSentAt time.Duration // -1: not sent, paused
	}{
		{"a write queued behind a limited write", http.MethodPost, 0, 0, 2 * time.Second, 2 * time.Second},
		{"a write queued behind a long limit", http.MethodPatch, 0, 0, time.Minute, -1},
		{"a pause grown during the sleep", http.MethodGet, time.Second, 3 * time.Second, 0, 3 * time.Second},
		{"a pause grown long during the sleep", http.MethodGet, time.Second, time.Minute, 0, -1},
		{"a pause that did not grow", http.MethodGet, time.Second, 0, 0, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: start}
			pauses := &memPauses{until: map[int64]time.Time{}}
			if tc.pausedFor > 0 {
				_ = pauses.PauseGitHub(context.Background(), 7, start.Add(tc.pausedFor))
			}
			sleep := func(req *http.Request, d time.Duration) error {
				if tc.grownTo > 0 {
					_ = pauses.PauseGitHub(req.Context(), 7, start.Add(tc.grownTo))
				}
				return clock.sleep(req, d)
			}
			gh := &fakeGitHub{clock: clock}
			g := &gateTransport{next: gh, pauses: pauses, installation: 7, writes: &sync.Mutex{}, now: clock.now, sleep: sleep}
			if tc.queuedFor > 0 {
				g.locks = &pausingLocks{pauses: pauses, until: start.Add(tc.queuedFor)}
			}
			req, _ := http.NewRequest(tc.method, "https://api.github.com/repos/o/r/check-runs", nil)
			_, err := g.RoundTrip(req)
			var paused *PausedError
			switch {
			case tc.wantSentAt < 0:
				if !errors.As(err, &paused) || len(gh.sent) != 0 {
					t.Errorf("err %v, calls at %v; want none sent and a PausedError", err, gh.sent)
				}
			case err != nil || len(gh.sent) != 1 || gh.sent[0].Before(start.Add(tc.wantSentAt)):
				t.Errorf("err %v, calls at %v; want one at %s or later", err, gh.sent, start.Add(tc.wantSentAt))
			}
		})
	}
}
