package store

import (
	"context"
	"fmt"
	"time"
)

// leaderLock is the PostgreSQL advisory lock key the leader holds.
const leaderLock = 0x6665727279_01

// Lead blocks until this process leads the replicas on the database, polling
// every poll, or until ctx ends (then it returns ctx's error). Leading, it
// returns a context that ends when the leadership is lost (the database
// connection that holds it failing) or ctx ends, and a function that steps
// down, which the caller must call.
//
// PostgreSQL: the leader holds a session advisory lock on one pooled
// connection, checked every poll; the server drops it the moment that
// connection closes, a killed process included, so another replica leads
// within a poll. SQLite: the leader holds an exclusive flock beside the
// database file, which the kernel drops when its holder dies.
func (db *DB) Lead(ctx context.Context, poll time.Duration) (context.Context, func(), error) {
	for {
		lctx, stop, err := db.tryLead(ctx, poll)
		if err != nil {
			return nil, nil, fmt.Errorf("store: lead: %w", err)
		}
		if lctx != nil {
			return lctx, stop, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("store: lead: %w", ctx.Err())
		case <-time.After(poll):
		}
	}
}

// tryLead takes the leadership if it is free; a nil context means another
// process leads.
func (db *DB) tryLead(ctx context.Context, poll time.Duration) (context.Context, func(), error) {
	if db.d.name != "postgres" {
		return tryLeadFile(ctx, db.path+".ferry-leader")
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, nil, nil // the database is unreachable: try again later
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(leaderLock)).Scan(&got); err != nil || !got {
		conn.Close()
		return nil, nil, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // the lock lives as long as the connection answers
		defer close(done)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if err := conn.PingContext(lctx); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	stop := func() {
		cancel()
		<-done
		// Closing the session releases its advisory lock; unlock first so
		// a pooled connection never keeps it.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(leaderLock))
		conn.Close()
	}
	return lctx, stop, nil
}
