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

// githubWrites is the class of the advisory locks that serialise an
// installation's GitHub writes across replicas ("ferr").
const githubWrites = 0x66657272

// LockGitHubWrites waits until no other replica is sending a write with
// installation's token and returns the function that lets the next one go.
// On PostgreSQL it is an advisory lock held on a connection of its own for
// the call's length; with SQLite there is one process, whose writes its
// GitHub client already sends one at a time, so it returns at once.
func (db *DB) LockGitHubWrites(ctx context.Context, installation int64) (func(), error) {
	if db.d.name != "postgres" {
		return func() {}, nil
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock installation %d writes: %w", installation, err)
	}
	// Installations beyond 32 bits share a lock with another: they only
	// wait for each other.
	key := int32(installation)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, int32(githubWrites), key); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: lock installation %d writes: %w", installation, err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, int32(githubWrites), key)
		conn.Close()
	}, nil
}
