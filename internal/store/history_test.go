package store

import (
	"context"
	"fmt"
	"github.com/ferry-gitops/ferry/internal/pgtest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/history"
)

func TestSyncHistoryKeepsLimit(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testSyncHistoryKeepsLimit(t, engine) })
	}
}

func testSyncHistoryKeepsLimit(t *testing.T, engine string) {
	ctx := context.Background()
	db := openHistory(t, engine)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 13; i++ {
		for _, env := range []string{"production", "staging"} {
			s := history.Sync{Environment: env, Revision: fmt.Sprintf("%040d", i), PR: i, Result: history.Succeeded, Trigger: "merge",
				Started: t0.Add(time.Duration(i) * time.Minute), Finished: t0.Add(time.Duration(i)*time.Minute + time.Second), Applied: []string{"configured apps/Deployment/p/x"}}
			if _, err := db.RecordSync(ctx, s, 10); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := db.Syncs(ctx, "", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d syncs kept, want 10", len(got))
	}
	if got[0].PR != 12 || got[9].PR != 3 || got[0].ID == 0 {
		t.Errorf("kept PRs %d..%d (id %d), want newest first 12..3", got[0].PR, got[9].PR, got[0].ID)
	}
	audit, err := db.Audit(ctx, "", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 13 {
		t.Errorf("audit log has %d events, want all 13 (append-only)", len(audit))
	}
	all, _ := db.Audit(ctx, "", "")
	if len(all) != 26 {
		t.Errorf("whole audit log has %d events, want 26", len(all))
	}
}

// TestSyncHistoryPerRepository: two repositories with an environment of
// the same name keep separate histories, each trimmed to its own limit, and
// separate audit logs.
func TestSyncHistoryPerRepository(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testSyncHistoryPerRepository(t, engine) })
	}
}

func testSyncHistoryPerRepository(t *testing.T, engine string) {
	ctx := context.Background()
	db := openHistory(t, engine)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	counts := map[string]int{"acme/payments": 5, "other/shop": 2}
	for repo, n := range counts {
		for i := 0; i < n; i++ {
			s := history.Sync{Repo: repo, Environment: "prod", Revision: fmt.Sprintf("%s-%d", repo, i), Result: history.Succeeded,
				Started: t0.Add(time.Duration(i) * time.Minute), Finished: t0.Add(time.Duration(i) * time.Minute)}
			if _, err := db.RecordSync(ctx, s, 3); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		repo   string
		syncs  int
		newest string
		events int
	}{
		{"acme/payments", 3, "acme/payments-4", 5},
		{"other/shop", 2, "other/shop-1", 2},
		{"", 5, "", 7}, // every repository's (the CLI's view)
	}
	for _, tt := range tests {
		got, err := db.Syncs(ctx, tt.repo, "prod")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.syncs || (tt.newest != "" && got[0].Revision != tt.newest) {
			t.Errorf("%q: %d syncs, newest %q; want %d, %q", tt.repo, len(got), got[0].Revision, tt.syncs, tt.newest)
		}
		for _, s := range got {
			if tt.repo != "" && s.Repo != tt.repo {
				t.Errorf("%q: a sync of %s", tt.repo, s.Repo)
			}
		}
		if events, err := db.Audit(ctx, tt.repo, "prod"); err != nil || len(events) != tt.events {
			t.Errorf("%q: %d audit events (%v), want %d", tt.repo, len(events), err, tt.events)
		}
	}
}

// openHistory opens a new database on engine ("sqlite" or "postgres").
func openHistory(t *testing.T, engine string) *DB {
	t.Helper()
	target := filepath.Join(t.TempDir(), "ferry.db")
	if engine == "postgres" {
		target = pgtest.URL(t)
	}
	db, err := Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
