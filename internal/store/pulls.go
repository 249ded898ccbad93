package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CheckRun returns the id of the check run named name that ferry started on
// repo's head commit sha, and whether there is one.
func (db *DB) CheckRun(ctx context.Context, repo, sha, name string) (int64, bool, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT id FROM check_runs WHERE repo = $1 AND head_sha = $2 AND name = $3`,
		repo, sha, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: check run %s of %s@%s: %w", name, repo, sha, err)
	}
	return id, true, nil
}

// SetCheckRun records the id of the check run named name on repo's head
// commit sha.
func (db *DB) SetCheckRun(ctx context.Context, repo, sha, name string, id int64) error {
	if err := setCheckRun(ctx, db.w, repo, sha, name, id, db.now()); err != nil {
		return fmt.Errorf("store: set check run %s of %s@%s: %w", name, repo, sha, err)
	}
	return nil
}

func setCheckRun(ctx context.Context, x execer, repo, sha, name string, id int64, at time.Time) error {
	if repo == "" || sha == "" || name == "" {
		return errors.New("repository, head commit and check name are required")
	}
	_, err := x.ExecContext(ctx, `INSERT INTO check_runs (repo, head_sha, name, id, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (repo, head_sha, name) DO UPDATE SET id = excluded.id, created_at = excluded.created_at`,
		repo, sha, name, id, millis(at))
	return err
}

// DiffComment returns the id of the sticky diff comment on repo's pull
// request number, 0 when ferry knows none.
func (db *DB) DiffComment(ctx context.Context, repo string, number int) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT diff_comment_id FROM pull_requests WHERE repo = $1 AND number = $2`,
		repo, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: diff comment of %s#%d: %w", repo, number, err)
	}
	return id, nil
}

// SetDiffComment records the id of the sticky diff comment on repo's pull
// request number.
func (db *DB) SetDiffComment(ctx context.Context, repo string, number int, id int64) error {
	if err := setDiffComment(ctx, db.w, repo, number, id, db.now()); err != nil {
		return fmt.Errorf("store: set diff comment of %s#%d: %w", repo, number, err)
	}
	return nil
}

func setDiffComment(ctx context.Context, x execer, repo string, number int, id int64, at time.Time) error {
	if repo == "" || number <= 0 {
		return errors.New("repository and pull request number are required")
	}
	_, err := x.ExecContext(ctx, `INSERT INTO pull_requests (repo, number, diff_comment_id, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (repo, number) DO UPDATE SET diff_comment_id = excluded.diff_comment_id, updated_at = excluded.updated_at`,
		repo, number, id, millis(at))
	return err
}

// CommentDone reports whether the commands of repo's comment id already ran.
func (db *DB) CommentDone(ctx context.Context, repo string, id int64) (bool, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM comment_commands WHERE repo = $1 AND comment_id = $2`,
		repo, id).Scan(&n); err != nil {
		return false, fmt.Errorf("store: commands of comment %d on %s: %w", id, repo, err)
	}
	return n > 0, nil
}

// MarkCommentDone records that the commands of repo's comment id ran, with
// outcome (the final reaction).
func (db *DB) MarkCommentDone(ctx context.Context, repo string, id int64, outcome string) error {
	if err := markCommentDone(ctx, db.w, repo, id, outcome, db.now()); err != nil {
		return fmt.Errorf("store: mark comment %d on %s done: %w", id, repo, err)
	}
	return nil
}

func markCommentDone(ctx context.Context, x execer, repo string, id int64, outcome string, at time.Time) error {
	if repo == "" || id == 0 {
		return errors.New("repository and comment id are required")
	}
	_, err := x.ExecContext(ctx, `INSERT INTO comment_commands (repo, comment_id, outcome, at) VALUES ($1, $2, $3, $4)
ON CONFLICT (repo, comment_id) DO UPDATE SET outcome = excluded.outcome, at = excluded.at`,
		repo, id, outcome, millis(at))
	return err
}
