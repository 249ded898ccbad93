// Package store is ferry's database: webhook deliveries (for
// deduplication), the durable job queue behind internal/queue, sync history
// and the audit log, the state ferry keeps per repository (per environment:
// inventory, lock and the syncs it holds, drift issue; per sync of a
// commit; per pull request: sticky comment, check runs, revert pull
// requests; per comment: commands run), the watches the leader resumes
// (watches.go), GitHub rate-limit pauses, and the leadership itself
// (leader.go).
//
// Two engines run the same queries (dialect.go holds every difference):
// SQLite through modernc.org/sqlite (pure Go, one file, the default: one
// replica) and PostgreSQL through pgx (postgres.go: any number of replicas
// on one database).
//
// # SQLite
//
// All writes go through one connection (a database/sql pool capped at one)
// that begins transactions with BEGIN IMMEDIATE. Writers therefore queue in
// Go instead of racing for SQLite's write lock, so SQLITE_BUSY cannot arise
// within a process and a transaction never fails halfway on a lock upgrade;
// busy_timeout only covers a second process on the same file. Reads use a
// separate query-only pool and, thanks to WAL, never wait for the writer.
// synchronous=NORMAL is used: with WAL a committed transaction survives a
// process crash, and only an OS crash or power loss can lose the last few
// commits (the database itself stays consistent).
//
// A job is claimed under a lease its worker keeps extending; if the worker
// dies, the job becomes claimable again when the lease expires. Waiting out
// the lease is only needed while another process may still be working,
// though: every process holds a shared flock on path+".ferry-lock", and one
// that gets it exclusively at Open knows it is alone, so it requeues every
// job left running at once (the interrupted run still counts as an
// attempt). The kernel releases the flock of a killed process, so a
// restarted ferry resumes its predecessor's work immediately.
//
// # PostgreSQL
//
// One pool serves reads and writes. Replicas exclude each other where
// SQLite's single writer did it for free:
//
//   - Claim's candidate query ends in FOR UPDATE SKIP LOCKED, so replicas
//     skip a job another is claiming instead of waiting for it; two that
//     pick different jobs of one key in the same instant meet the
//     jobs_one_running_per_key unique index, and the loser looks again;
//   - a killed replica's jobs are claimed by another when their lease
//     lapses (nothing is requeued at Open: the others may be running them);
//   - HoldIfLocked reads the lock FOR UPDATE, and Release unlocks (updating
//     that row) before it reads the held syncs, so a hold and a release of
//     one environment take turns;
//   - Accept's INSERT ... ON CONFLICT DO NOTHING on the delivery id waits
//     for a concurrent insert of the same id to commit and then reports the
//     conflict, so exactly one replica enqueues a delivery;
//   - migrations run under an advisory lock, so replicas starting together
//     apply each once.
//
// # Schema
//
// Migrations are the embedded migrations/NNNN_name.sql files, applied in
// name order, each in its own transaction and recorded in schema_migrations,
// so reopening a database applies only what is new. A migration may have a
// Go step (migrationSteps) run in its transaction after its SQL, for data
// moves SQL cannot spell portably. The SQL is written for both engines: $N
// placeholders, BIGINT Unix-millisecond times instead of engine-specific
// date types, INSERT ... ON CONFLICT, partial indexes and UPDATE ...
// RETURNING. The id columns are spelled SQLite's way (INTEGER PRIMARY KEY
// AUTOINCREMENT) and become identity columns on PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultRetention is how long Prune callers should keep finished jobs and
// delivery ids: longer than GitHub lets anyone redeliver a webhook (3 days).
const DefaultRetention = 7 * 24 * time.Hour

// readConns sizes the read pool; reads are short point lookups.
const readConns = 4

// DB is ferry's database handle. It is safe for concurrent use.
type DB struct {
	d   dialect
	w   *sql.DB // SQLite: exactly one connection, every write is serialized here; PostgreSQL: the pool
	r   *sql.DB // SQLite: query-only connections for reads; PostgreSQL: the pool, as w
	now func() time.Time
	// lock is held shared while open; see processLock (SQLite only).
	lock *processLock
	// path is the SQLite file ("" on PostgreSQL).
	path string

	// Group commit of Accept calls (see commitLoop).
	accepts   chan *acceptRequest
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	loopDone  chan struct{} // nil until the loop starts

	insertDelivery, insertJob, supersede *sql.Stmt
	claim, extend, complete, retry, fail *sql.Stmt
	wait                                 *sql.Stmt
}

// Option configures Open.
type Option func(*DB)

// WithClock makes the store read time from now (for created_at, updated_at
// and default run_after values). Tests use it to control time.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open opens ferry's database and brings its schema up to date. target is
// either a file path, for the embedded SQLite database (created, private
// to the user, if needed: it names repositories and pull requests), or a
// postgres:// or postgresql:// URL, for a PostgreSQL database that several
// replicas share (see openPostgres).
func Open(ctx context.Context, target string, opts ...Option) (*DB, error) {
	if IsPostgresURL(target) {
		return openPostgres(ctx, target, opts...)
	}
	return openSQLite(ctx, target, opts...)
}

// IsPostgresURL reports whether target names a PostgreSQL database.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

func newDB(d dialect, opts []Option) *DB {
	db := &DB{d: d, now: time.Now, accepts: make(chan *acceptRequest), closing: make(chan struct{})}
	for _, o := range opts {
		o(db)
	}
	return db
}

// start begins group-committing Accept calls.
func (db *DB) start() {
	db.loopDone = make(chan struct{})
	go db.commitLoop()
}

func openSQLite(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || strings.Contains(path, "?") || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// A DSN would smuggle in options, and an in-memory database would be
		// a different one on every pooled connection.
		return nil, fmt.Errorf("store: invalid database path %q: want a plain file path or a postgres:// URL", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	db := newDB(sqliteDialect, opts)
	lock, alone, err := lockProcess(ctx, path+".ferry-lock")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.lock, db.path = lock, path
	db.w, err = sql.Open("sqlite", dsn(path,
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
	)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)

	if err := db.init(ctx, path, alone); err != nil {
		_ = db.Close()
		return nil, err
	}
	db.start()
	return db, nil
}

func (db *DB) init(ctx context.Context, path string, alone bool) error {
	var mode string
	if err := db.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// Without WAL readers block the writer; refuse rather than degrade.
		return fmt.Errorf("store: open %s: journal mode is %q, want wal", path, mode)
	}
	if err := db.migrate(ctx, db.w); err != nil {
		return fmt.Errorf("store: migrate %s: %w", path, err)
	}
	if alone {
		if err := db.requeueOrphans(ctx); err != nil {
			return fmt.Errorf("store: open %s: %w", path, err)
		}
		if err := db.lock.share(); err != nil {
			return fmt.Errorf("store: open %s: share lock: %w", path, err)
		}
	}

	var err error
	db.r, err = sql.Open("sqlite", dsn(path, "query_only(1)"))
	if err != nil {
		return fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	db.r.SetMaxOpenConns(readConns)
	db.r.SetMaxIdleConns(readConns)
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	return db.prepare(ctx)
}

// dsn builds a modernc.org/sqlite data source name for path with the common
// pragmas plus extra ones.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range append([]string{"busy_timeout(10000)", "foreign_keys(1)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	return path + "?" + q.Encode()
}

func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return nil
}

// Close closes the database after the Accept calls already being committed
// finish; later calls fail with ErrClosed. Stop the queue.Pool first.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.closing)
		if db.loopDone != nil {
			<-db.loopDone
		}
		var errs []error
		for _, s := range []*sql.Stmt{
			db.insertDelivery, db.insertJob, db.supersede,
			db.claim, db.extend, db.complete, db.retry, db.fail, db.wait,
		} {
			if s != nil {
				errs = append(errs, s.Close())
			}
		}
		pools := []*sql.DB{db.w}
		if db.r != db.w {
			pools = append(pools, db.r)
		}
		for _, c := range pools {
			if c != nil {
				errs = append(errs, c.Close())
			}
		}
		if db.lock != nil {
			errs = append(errs, db.lock.release())
		}
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("store: close: %w", err)
		}
	})
	return db.closeErr
}

// migrate applies the embedded migrations not yet recorded. Each runs in a
// transaction that re-checks the record, so two processes opening the same
// new database apply each migration once (SQLite: an IMMEDIATE transaction;
// PostgreSQL: c holds an advisory lock).
func (db *DB) migrate(ctx context.Context, c migrator) error {
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT   NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		if err := db.applyMigration(ctx, c, version, db.d.migration(string(body))); err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

// migrator is where migrations run: SQLite's writer, or the one PostgreSQL
// connection that holds the migration lock.
type migrator interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (db *DB) applyMigration(ctx context.Context, c migrator, version, body string) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if step := migrationSteps[version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		version, millis(db.now())); err != nil {
		return err
	}
	return tx.Commit()
}

// requeueOrphans puts jobs left running by a process that died back in the
// queue. Only called when no other process has the database open, so no
// live worker owns them; without this they would wait for their lease to
// expire. The interrupted run still counts as an attempt.
func (db *DB) requeueOrphans(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE jobs
SET state = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1,
    last_error = 'interrupted: the ferry process running it stopped (crash or kill)'
WHERE state = 'running'`, millis(db.now())); err != nil {
		return fmt.Errorf("requeue jobs of a stopped process: %w", err)
	}
	return nil
}

// Migrations lists the applied schema versions in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: list migrations: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	return out, nil
}

// Ping checks that the database answers a read, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	select {
	case <-db.closing:
		return fmt.Errorf("store: ping: %w", ErrClosed)
	default:
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
