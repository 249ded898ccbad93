package store

import (
	"context"
	"database/sql"
	"errors"
)

// PutKV writes a row of the retired key/value table, as releases before
// migration 0003 did, for the tests of what becomes of such rows.
func (db *DB) PutKV(ctx context.Context, namespace, key, value string) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO kv (namespace, name, value, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (namespace, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		namespace, key, value, millis(db.now()))
	return err
}

// HasKV reports whether the key/value table holds a row.
func (db *DB) HasKV(ctx context.Context, namespace, key string) (bool, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE namespace = $1 AND name = $2`, namespace, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
