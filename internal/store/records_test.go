package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/store"
)

func TestSyncRuns(t *testing.T) { onEachEngine(t, testSyncRuns) }

func testSyncRuns(t *testing.T, e engine) {
	ctx := context.Background()
	t0 := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	started := store.SyncRun{Repo: "o/r", Env: "prod", Commit: "c1", DeploymentID: 9, Attempts: 1, StartedAt: t0}
	finished := started
	finished.Attempts, finished.Result, finished.FinishedAt = 2, "succeeded", t0.Add(time.Minute)
	tests := []struct {
		name               string
		put                []store.SyncRun
		repo, env, commit  string
		want               store.SyncRun
		wantOK, wantFinish bool
	}{
		{name: "none", repo: "o/r", env: "prod", commit: "c1"},
		{name: "started", put: []store.SyncRun{started}, repo: "o/r", env: "prod", commit: "c1", want: started, wantOK: true},
		{name: "retried and finished", put: []store.SyncRun{started, finished}, repo: "o/r", env: "prod", commit: "c1",
			want: finished, wantOK: true, wantFinish: true},
		{name: "other commit", put: []store.SyncRun{finished}, repo: "o/r", env: "prod", commit: "c2"},
		{name: "other environment", put: []store.SyncRun{finished}, repo: "o/r", env: "staging", commit: "c1"},
		{name: "start defaults to now", put: []store.SyncRun{{Repo: "o/r", Env: "prod", Commit: "c1"}}, repo: "o/r", env: "prod", commit: "c1",
			want: store.SyncRun{Repo: "o/r", Env: "prod", Commit: "c1", StartedAt: newClock().Now()}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := e.open(t)
			for _, r := range tt.put {
				if err := db.PutSyncRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := db.SyncRun(ctx, tt.repo, tt.env, tt.commit)
			if err != nil || ok != tt.wantOK || got != tt.want || got.Finished() != tt.wantFinish {
				t.Errorf("SyncRun = %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.wantOK)
			}
		})
	}
	db, _ := e.open(t)
	if err := db.PutSyncRun(ctx, store.SyncRun{Repo: "o/r", Env: "prod"}); err == nil {
		t.Error("PutSyncRun without a commit succeeded")
	}
}

// TestPullRequestState covers the small per-commit and per-PR records:
// each test writes some and reads one back.
func TestPullRequestState(t *testing.T) { onEachEngine(t, testPullRequestState) }

func testPullRequestState(t *testing.T, e engine) {
	ctx := context.Background()
	type got struct {
		s  string
		n  int64
		ok bool
	}
	revert := func(db *store.DB, repo, commit string) (got, error) {
		u, ok, err := db.RevertPR(ctx, repo, commit)
		return got{s: u, ok: ok}, err
	}
	check := func(db *store.DB, repo, sha, name string) (got, error) {
		id, ok, err := db.CheckRun(ctx, repo, sha, name)
		return got{n: id, ok: ok}, err
	}
	comment := func(db *store.DB, repo string, n int) (got, error) {
		id, err := db.DiffComment(ctx, repo, n)
		return got{n: id}, err
	}
	done := func(db *store.DB, repo string, id int64) (got, error) {
		ok, err := db.CommentDone(ctx, repo, id)
		return got{ok: ok}, err
	}
	tests := []struct {
		name string
		set  func(db *store.DB) error
		get  func(db *store.DB) (got, error)
		want got
	}{
		{name: "no revert", get: func(db *store.DB) (got, error) { return revert(db, "o/r", "c1") }},
		{name: "revert", set: func(db *store.DB) error { return db.SetRevertPR(ctx, "o/r", "c1", "https://x/pull/3") },
			get: func(db *store.DB) (got, error) { return revert(db, "o/r", "c1") }, want: got{s: "https://x/pull/3", ok: true}},
		{name: "revert of another commit", set: func(db *store.DB) error { return db.SetRevertPR(ctx, "o/r", "c1", "u") },
			get: func(db *store.DB) (got, error) { return revert(db, "o/r", "c2") }},
		{name: "no check run", get: func(db *store.DB) (got, error) { return check(db, "o/r", "h1", "ferry/diff") }},
		{name: "check run", set: func(db *store.DB) error { return db.SetCheckRun(ctx, "o/r", "h1", "ferry/diff", 77) },
			get: func(db *store.DB) (got, error) { return check(db, "o/r", "h1", "ferry/diff") }, want: got{n: 77, ok: true}},
		{name: "check run by name", set: func(db *store.DB) error {
			return errors.Join(db.SetCheckRun(ctx, "o/r", "h1", "ferry/diff", 77), db.SetCheckRun(ctx, "o/r", "h1", "ferry/policy", 78))
		}, get: func(db *store.DB) (got, error) { return check(db, "o/r", "h1", "ferry/policy") }, want: got{n: 78, ok: true}},
		{name: "check run of another head", set: func(db *store.DB) error { return db.SetCheckRun(ctx, "o/r", "h1", "ferry/diff", 77) },
			get: func(db *store.DB) (got, error) { return check(db, "o/r", "h2", "ferry/diff") }},
		{name: "no diff comment", get: func(db *store.DB) (got, error) { return comment(db, "o/r", 5) }},
		{name: "diff comment replaced", set: func(db *store.DB) error {
			return errors.Join(db.SetDiffComment(ctx, "o/r", 5, 100), db.SetDiffComment(ctx, "o/r", 5, 101))
		}, get: func(db *store.DB) (got, error) { return comment(db, "o/r", 5) }, want: got{n: 101}},
		{name: "diff comment of another repository", set: func(db *store.DB) error { return db.SetDiffComment(ctx, "o/r", 5, 100) },
			get: func(db *store.DB) (got, error) { return comment(db, "o/x", 5) }},
		{name: "comment not done", get: func(db *store.DB) (got, error) { return done(db, "o/r", 555) }},
		{name: "comment done", set: func(db *store.DB) error { return db.MarkCommentDone(ctx, "o/r", 555, "rocket") },
			get: func(db *store.DB) (got, error) { return done(db, "o/r", 555) }, want: got{ok: true}},
		{name: "other comment not done", set: func(db *store.DB) error { return db.MarkCommentDone(ctx, "o/r", 555, "rocket") },
			get: func(db *store.DB) (got, error) { return done(db, "o/r", 556) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openWith(t, e, tt.set)
			g, err := tt.get(db)
			if err != nil || g != tt.want {
				t.Errorf("got %+v, %v; want %+v", g, err, tt.want)
			}
		})
	}
}

func TestPullRequestStateRejectsBadInput(t *testing.T) {
	onEachEngine(t, testPullRequestStateRejectsBadInput)
}

func testPullRequestStateRejectsBadInput(t *testing.T, e engine) {
	ctx := context.Background()
	db, _ := e.open(t)
	for name, err := range map[string]error{
		"revert without url":    db.SetRevertPR(ctx, "o/r", "c", ""),
		"check run without sha": db.SetCheckRun(ctx, "o/r", "", "ferry/diff", 1),
		"comment of PR 0":       db.SetDiffComment(ctx, "o/r", 0, 1),
		"comment id 0":          db.MarkCommentDone(ctx, "o/r", 0, "rocket"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir()+"/ferry.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

// TestPruneState checks which per-repository state Prune drops: records
// only needed while events about them arrive, once older than the
// retention; never an environment's state or an unfinished sync.
func TestPruneState(t *testing.T) { onEachEngine(t, testPruneState) }

func testPruneState(t *testing.T, e engine) {
	ctx := context.Background()
	db, c := e.open(t)
	write := func() {
		t.Helper()
		now := c.Now()
		if err := errors.Join(
			db.SetCheckRun(ctx, "o/r", now.String(), "ferry/diff", 1),
			db.MarkCommentDone(ctx, "o/r", now.UnixMilli(), "rocket"),
			db.SetRevertPR(ctx, "o/r", now.String(), "u"),
			db.PutSyncRun(ctx, store.SyncRun{Repo: "o/r", Env: "prod", Commit: "done " + now.String(), Result: "failed", FinishedAt: now}),
			db.PutSyncRun(ctx, store.SyncRun{Repo: "o/r", Env: "prod", Commit: "running " + now.String()}),
			db.SetDiffComment(ctx, "o/r", int(now.Unix()%1000)+1, 9),
			db.PutKV(ctx, "old", now.String(), "v"),
		); err != nil {
			t.Fatal(err)
		}
	}
	old := c.Now()
	write()
	if err := errors.Join(
		db.SetInventory(ctx, "o/r", "prod", nil),
		db.SetLock(ctx, "o/r", "prod", store.Lock{By: "alice"}),
		db.SetDriftIssue(ctx, "o/r", "prod", 4),
	); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.HoldIfLocked(ctx, "o/r", "prod", syncArgs("a")); err != nil {
		t.Fatal(err)
	}
	c.Advance(8 * 24 * time.Hour)
	now := c.Now()
	write()

	n, err := db.Prune(ctx, now.Add(-store.DefaultRetention))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 { // one old row of each: check run, comment, revert, finished run, PR, kv
		t.Errorf("pruned %d rows, want 6", n)
	}
	for _, tc := range []struct {
		at   time.Time
		kept bool
	}{{old, false}, {now, true}} {
		_, check, _ := db.CheckRun(ctx, "o/r", tc.at.String(), "ferry/diff")
		done, _ := db.CommentDone(ctx, "o/r", tc.at.UnixMilli())
		_, revert, _ := db.RevertPR(ctx, "o/r", tc.at.String())
		_, run, _ := db.SyncRun(ctx, "o/r", "prod", "done "+tc.at.String())
		comment, _ := db.DiffComment(ctx, "o/r", int(tc.at.Unix()%1000)+1)
		kv, _ := db.HasKV(ctx, "old", tc.at.String())
		for name, kept := range map[string]bool{"check run": check, "comment": done, "revert": revert,
			"finished sync run": run, "diff comment": comment != 0, "kv": kv} {
			if kept != tc.kept {
				t.Errorf("%s written at %v: kept = %v, want %v", name, tc.at, kept, tc.kept)
			}
		}
		if _, ok, _ := db.SyncRun(ctx, "o/r", "prod", "running "+tc.at.String()); !ok {
			t.Errorf("unfinished sync run of %v pruned", tc.at)
		}
	}
	if _, ok, _ := db.Inventory(ctx, "o/r", "prod"); !ok {
		t.Error("inventory pruned")
	}
	if lock, _ := db.Lock(ctx, "o/r", "prod"); lock == nil {
		t.Error("lock pruned")
	}
	if n, _ := db.DriftIssue(ctx, "o/r", "prod"); n != 4 {
		t.Error("drift issue pruned")
	}
	if held := heldArgs(t, db, "o/r", "prod"); len(held) != 1 {
		t.Error("held sync pruned")
	}
}
