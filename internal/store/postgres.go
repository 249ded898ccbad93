package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// postgresConns sizes the PostgreSQL pool of one replica: its workers, the
// group committer, the leader's lock and reads.
const postgresConns = 20

// migrationLock is the advisory lock key under which one replica migrates
// while the others wait ("ferry" in ASCII).
const migrationLock = 0x6665727279

// openPostgres opens a PostgreSQL database shared by replicas, through pgx
// and a database/sql pool. Nothing is requeued at open: another replica may
// be running the jobs marked running, which come back when their lease
// lapses.
func openPostgres(ctx context.Context, rawURL string, opts ...Option) (*DB, error) {
	shown := redactURL(rawURL)
	pool, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", shown, err)
	}
	pool.SetMaxOpenConns(postgresConns)
	pool.SetMaxIdleConns(postgresConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db := newDB(postgresDialect, opts)
	db.w, db.r = pool, pool
	if err := db.initPostgres(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", shown, err)
	}
	db.start()
	return db, nil
}

func (db *DB) initPostgres(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	err = db.migrate(ctx, conn)
	// Unlock even when ctx ended: the connection goes back to the pool.
	if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); uerr != nil && err == nil {
		err = fmt.Errorf("release the migration lock: %w", uerr)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.prepare(ctx)
}

// redactURL drops the password from a database URL shown in errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the database URL"
	}
	return u.Redacted()
}
