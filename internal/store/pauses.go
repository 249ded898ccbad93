package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PauseGitHub records that no call may use installation's token before
// until; an earlier pause already recorded is extended, never shortened.
func (db *DB) PauseGitHub(ctx context.Context, installation int64, until time.Time) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO github_pauses (installation_id, until) VALUES ($1, $2)
			ON CONFLICT (installation_id) DO UPDATE SET until = `+db.d.greatest+`(github_pauses.until, excluded.until)`, installation, until.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: pause installation %d: %w", installation, err)
		}
		return nil
	})
}

// GitHubPausedUntil is when installation's pause ends (the zero time when
// it has none).
func (db *DB) GitHubPausedUntil(ctx context.Context, installation int64) (time.Time, error) {
	var ms int64
	err := db.r.QueryRowContext(ctx, `SELECT until FROM github_pauses WHERE installation_id = $1`, installation).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: installation %d pause: %w", installation, err)
	}
	return time.UnixMilli(ms), nil
}
