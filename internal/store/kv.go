package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Get returns the value stored under namespace and key, and whether there is
// one. The key/value area holds small state ferry must remember about a pull
// request, such as the id of its sticky comment; never secrets.
//
// Deprecated: use the typed state methods (Inventory, Lock, SyncRun,
// CheckRun, DiffComment, CommentDone, ...) and Ping. Migration 0003 moved
// the namespaces ferry used into their tables; Prune drops old kv rows.
func (db *DB) Get(ctx context.Context, namespace, key string) (string, bool, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE namespace = $1 AND name = $2`, namespace, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: get %s/%s: %w", namespace, key, err)
	}
	return v, true, nil
}

// Put stores value under namespace and key, replacing any previous value.
//
// Deprecated: use the typed state methods (SetInventory, SetLock,
// PutSyncRun, SetCheckRun, SetDiffComment, MarkCommentDone, ...).
func (db *DB) Put(ctx context.Context, namespace, key, value string) error {
	if namespace == "" || key == "" {
		return errors.New("store: put: namespace and key are required")
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO kv (namespace, name, value, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (namespace, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		namespace, key, value, millis(db.now())); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", namespace, key, err)
	}
	return nil
}

// Delete removes the value under namespace and key, if any (e.g. when a pull
// request is closed).
//
// Deprecated: use the typed state methods.
func (db *DB) Delete(ctx context.Context, namespace, key string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM kv WHERE namespace = $1 AND name = $2`, namespace, key); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", namespace, key, err)
	}
	return nil
}
