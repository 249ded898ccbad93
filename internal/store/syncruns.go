package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SyncRun is the attempt sequence of syncing one environment to one commit.
// A sync retried by the queue finds it and keeps its GitHub deployment and
// start time; a finished one stops a redelivered or replayed event from
// syncing the commit again.
type SyncRun struct {
	Repo, Env, Commit string
	// Result is the history result ("succeeded", "failed", ...) once
	// finished, "" before.
	Result       string
	DeploymentID int64 // 0 until a deployment is created
	Attempts     int
	StartedAt    time.Time // zero in PutSyncRun means now
	FinishedAt   time.Time // zero while unfinished
}

// Finished reports whether the run reached a result.
func (r SyncRun) Finished() bool { return !r.FinishedAt.IsZero() }

// SyncRun returns the run of repo's environment env at commit, and whether
// there is one.
func (db *DB) SyncRun(ctx context.Context, repo, env, commit string) (SyncRun, bool, error) {
	r := SyncRun{Repo: repo, Env: env, Commit: commit}
	var (
		started  int64
		finished sql.NullInt64
	)
	err := db.r.QueryRowContext(ctx, `SELECT result, deployment_id, attempts, started_at, finished_at FROM sync_runs
WHERE repo = $1 AND env = $2 AND revision = $3`, repo, env, commit).Scan(&r.Result, &r.DeploymentID, &r.Attempts, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return SyncRun{}, false, nil
	}
	if err != nil {
		return SyncRun{}, false, fmt.Errorf("store: sync run of %s/%s@%s: %w", repo, env, commit, err)
	}
	r.StartedAt = fromMillis(started)
	if finished.Valid {
		r.FinishedAt = fromMillis(finished.Int64)
	}
	return r, true, nil
}

// PutSyncRun stores r, replacing the run of the same environment and commit.
func (db *DB) PutSyncRun(ctx context.Context, r SyncRun) error {
	if r.StartedAt.IsZero() {
		r.StartedAt = db.now()
	}
	if err := putSyncRun(ctx, db.w, r); err != nil {
		return fmt.Errorf("store: put sync run of %s/%s@%s: %w", r.Repo, r.Env, r.Commit, err)
	}
	return nil
}

func putSyncRun(ctx context.Context, x execer, r SyncRun) error {
	if r.Repo == "" || r.Env == "" || r.Commit == "" {
		return errors.New("repository, environment and commit are required")
	}
	var finished any // NULL while unfinished
	if r.Finished() {
		finished = millis(r.FinishedAt)
	}
	_, err := x.ExecContext(ctx, `INSERT INTO sync_runs (repo, env, revision, result, deployment_id, attempts, started_at, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (repo, env, revision) DO UPDATE SET result = excluded.result, deployment_id = excluded.deployment_id,
    attempts = excluded.attempts, started_at = excluded.started_at, finished_at = excluded.finished_at`,
		r.Repo, r.Env, r.Commit, r.Result, r.DeploymentID, r.Attempts, millis(r.StartedAt), finished)
	return err
}

// RevertPR returns the URL of the revert pull request opened for repo's
// commit, and whether one was.
func (db *DB) RevertPR(ctx context.Context, repo, commit string) (string, bool, error) {
	var url string
	err := db.r.QueryRowContext(ctx, `SELECT url FROM reverts WHERE repo = $1 AND revision = $2`, repo, commit).Scan(&url)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: revert of %s@%s: %w", repo, commit, err)
	}
	return url, true, nil
}

// SetRevertPR records the revert pull request opened for repo's commit.
func (db *DB) SetRevertPR(ctx context.Context, repo, commit, url string) error {
	if err := setRevertPR(ctx, db.w, repo, commit, url, db.now()); err != nil {
		return fmt.Errorf("store: set revert of %s@%s: %w", repo, commit, err)
	}
	return nil
}

func setRevertPR(ctx context.Context, x execer, repo, commit, url string, at time.Time) error {
	if repo == "" || commit == "" || url == "" {
		return errors.New("repository, commit and URL are required")
	}
	_, err := x.ExecContext(ctx, `INSERT INTO reverts (repo, revision, url, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (repo, revision) DO UPDATE SET url = excluded.url, created_at = excluded.created_at`,
		repo, commit, url, millis(at))
	return err
}
