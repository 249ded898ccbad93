package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Watch is one environment's watch state: what the leader watches after
// the environment's last successful sync (see migration 0006).
type Watch struct {
	Kind, Repo, Env string
	// State is the watcher's own JSON.
	State []byte
	// Until ends the watch (zero: no end).
	Until     time.Time
	UpdatedAt time.Time
}

// PutWatch replaces the kind of watch of repo's environment env.
func (db *DB) PutWatch(ctx context.Context, w Watch) error {
	if w.Kind == "" || w.Repo == "" || w.Env == "" {
		return errors.New("store: put watch: kind, repository and environment are required")
	}
	var until int64
	if !w.Until.IsZero() {
		until = millis(w.Until)
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO watches (kind, repo, env, state, until, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (kind, repo, env) DO UPDATE SET state = excluded.state, until = excluded.until, updated_at = excluded.updated_at`,
			w.Kind, w.Repo, w.Env, string(w.State), until, millis(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put %s watch of %s/%s: %w", w.Kind, w.Repo, w.Env, err)
	}
	return nil
}

// Watches lists the watches of kind updated at or after since that have not
// ended by now, oldest update first.
func (db *DB) Watches(ctx context.Context, kind string, since time.Time) ([]Watch, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT repo, env, state, until, updated_at FROM watches
WHERE kind = $1 AND updated_at >= $2 AND (until = 0 OR until > $3) ORDER BY updated_at, repo, env`,
		kind, millis(since), millis(db.now()))
	if err != nil {
		return nil, fmt.Errorf("store: %s watches: %w", kind, err)
	}
	defer rows.Close()
	var out []Watch
	for rows.Next() {
		w := Watch{Kind: kind}
		var state string
		var until, updated int64
		if err := rows.Scan(&w.Repo, &w.Env, &state, &until, &updated); err != nil {
			return nil, fmt.Errorf("store: %s watches: %w", kind, err)
		}
		w.State, w.UpdatedAt = []byte(state), fromMillis(updated)
		if until != 0 {
			w.Until = fromMillis(until)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s watches: %w", kind, err)
	}
	return out, nil
}

// EndWatch deletes the kind of watch of repo's environment env if it was
// last updated at updated (a newer sync's watch stays).
func (db *DB) EndWatch(ctx context.Context, kind, repo, env string, updated time.Time) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM watches WHERE kind = $1 AND repo = $2 AND env = $3 AND updated_at = $4`,
			kind, repo, env, millis(updated))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: end %s watch of %s/%s: %w", kind, repo, env, err)
	}
	return nil
}
