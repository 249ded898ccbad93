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
// newest limit syncs of its repository's environment. It returns the sync's
// id.
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
		id, err = db.d.insertID(ctx, tx, `INSERT INTO syncs (repo, environment, revision, record, started_at) VALUES ($1, $2, $3, $4, $5)`,
			s.Repo, s.Environment, s.Revision, string(rec), millis(s.Started))
		if err != nil {
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM syncs WHERE repo = $1 AND environment = $2 AND id NOT IN
  (SELECT id FROM syncs WHERE repo = $1 AND environment = $2 ORDER BY id DESC LIMIT $3)`, s.Repo, s.Environment, limit); err != nil {
			return err
		}
		detail := fmt.Sprintf("sync %s: %d applied, %d pruned", s.Result, len(s.Applied), len(s.Pruned))
		if s.Error != "" {
			detail += ": " + s.Error
		}
		return appendAudit(ctx, tx, history.Event{Time: s.Finished, Repo: s.Repo, Environment: s.Environment, Kind: "sync", Actor: s.Merger, Revision: s.Revision, Detail: detail})
	})
	if err != nil {
		return 0, fmt.Errorf("store: record sync of %s: %w", s.Environment, err)
	}
	return id, nil
}

// Syncs returns the kept syncs of repo's environment, newest first; repo
// "" reads every repository's environment of that name (the CLI's view).
func (db *DB) Syncs(ctx context.Context, repo, environment string) ([]history.Sync, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT record FROM syncs WHERE ($1 = '' OR repo = $1) AND environment = $2 ORDER BY id DESC`, repo, environment)
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
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, repo, environment, kind, actor, revision, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		millis(e.Time), e.Repo, e.Environment, e.Kind, e.Actor, e.Revision, e.Detail)
	return err
}

// Audit returns the audit log of repo's environment, oldest first; ""
// for either reads them all.
func (db *DB) Audit(ctx context.Context, repo, environment string) ([]history.Event, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, repo, environment, kind, actor, revision, detail FROM audit_log
WHERE ($1 = '' OR repo = $1) AND ($2 = '' OR environment = $2) ORDER BY id`, repo, environment)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []history.Event
	for rows.Next() {
		var e history.Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Repo, &e.Environment, &e.Kind, &e.Actor, &e.Revision, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
