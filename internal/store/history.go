package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ferry-gitops/ferry/internal/history"
)

// RecordSync stores a sync, appends it to the audit log, and keeps only the
// newest limit syncs of its environment. It returns the sync's id.
func (db *DB) RecordSync(ctx context.Context, s history.Sync, limit int) (int64, error) {
	if limit <= 0 {
		limit = history.DefaultLimit
	}
	var id int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		rec, err := json.Marshal(s)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO syncs (environment, revision, record, started_at) VALUES ($1, $2, $3, $4)`,
			s.Environment, s.Revision, string(rec), millis(s.Started))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		// The record's own id is only known now; store it inside too.
		s.ID = id
		if rec, err = json.Marshal(s); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE syncs SET record = $1 WHERE id = $2`, string(rec), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM syncs WHERE environment = $1 AND id NOT IN
  (SELECT id FROM syncs WHERE environment = $1 ORDER BY id DESC LIMIT $2)`, s.Environment, limit); err != nil {
			return err
		}
		detail := fmt.Sprintf("sync %s: %d applied, %d pruned", s.Result, len(s.Applied), len(s.Pruned))
		if s.Error != "" {
			detail += ": " + s.Error
		}
		return appendAudit(ctx, tx, history.Event{Time: s.Finished, Environment: s.Environment, Kind: "sync", Actor: s.Merger, Revision: s.Revision, Detail: detail})
	})
	if err != nil {
		return 0, fmt.Errorf("store: record sync of %s: %w", s.Environment, err)
	}
	return id, nil
}

// Syncs returns an environment's kept syncs, newest first.
func (db *DB) Syncs(ctx context.Context, environment string) ([]history.Sync, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT record FROM syncs WHERE environment = $1 ORDER BY id DESC`, environment)
	if err != nil {
		return nil, fmt.Errorf("store: syncs of %s: %w", environment, err)
	}
	defer rows.Close()
	var out []history.Sync
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		var s history.Sync
		if err := json.Unmarshal([]byte(rec), &s); err != nil {
			return nil, fmt.Errorf("store: sync record: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AppendAudit adds one event to the audit log.
func (db *DB) AppendAudit(ctx context.Context, e history.Event) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e) })
}

func appendAudit(ctx context.Context, tx *sql.Tx, e history.Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, environment, kind, actor, revision, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		millis(e.Time), e.Environment, e.Kind, e.Actor, e.Revision, e.Detail)
	return err
}

// Audit returns an environment's audit log, oldest first ("" for all).
func (db *DB) Audit(ctx context.Context, environment string) ([]history.Event, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, environment, kind, actor, revision, detail FROM audit_log
WHERE $1 = '' OR environment = $1 ORDER BY id`, environment)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []history.Event
	for rows.Next() {
		var e history.Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Environment, &e.Kind, &e.Actor, &e.Revision, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
