package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// MaxArgsBytes caps a job's JSON arguments. Jobs carry references (repo,
// number, commit ids), never payloads; the cap keeps a raw webhook body
// (tens of KB) from being stored by mistake.
const MaxArgsBytes = 8 << 10

// maxErrorBytes caps the stored last_error.
const maxErrorBytes = 2 << 10

// State is a job's lifecycle state.
type State string

// Job states. queued and running are unfinished; the rest are final.
const (
	StateQueued     State = "queued"
	StateRunning    State = "running"
	StateDone       State = "done"
	StateFailed     State = "failed"
	StateSuperseded State = "superseded"
)

// JobRecord is a job with its bookkeeping, for tests and the admin view.
type JobRecord struct {
	queue.Job
	State      State
	LastError  string
	LeaseOwner string
	LeaseUntil time.Time // zero unless running
	UpdatedAt  time.Time
}

// JobFilter selects jobs; zero fields match everything.
type JobFilter struct {
	Kind, Key, DeliveryID string
	State                 State
	// Limit caps the result (oldest first); 0 means 1000.
	Limit int
}

var _ queue.Store = (*DB)(nil)

// maxClaimConflicts bounds how often one Claim call retries after losing a
// race for a key to another replica.
const maxClaimConflicts = 3

const insertJobQuery = `INSERT INTO jobs (kind, job_key, args, delivery_id, state, attempts, run_after, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6)`

const jobColumns = `id, kind, job_key, args, delivery_id, attempts, waits, run_after, created_at`

const recordColumns = jobColumns + `, state, last_error, lease_owner, lease_until, updated_at`

func (db *DB) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&db.insertDelivery, `INSERT INTO deliveries (id, event, action, repo, installation_id, received_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO NOTHING`},
		{&db.insertJob, insertJobQuery},
		{&db.supersede, `UPDATE jobs SET state = 'superseded', last_error = $1, updated_at = $2
WHERE job_key = $3 AND state = 'queued' AND kind = $4 AND id < $5`},
		// The candidate is the oldest job that is either a running job whose
		// lease expired (its worker died), or a due queued job whose key has
		// nothing running and no older job that must go first: one that is
		// due, or one waiting to be retried. Older jobs merely scheduled for
		// later (Spec.RunAfter) do not hold their key back.
		{&db.claim, `UPDATE jobs
SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
WHERE id = (
    SELECT j.id FROM jobs j
    WHERE j.state IN ('queued', 'running')
      AND ((j.state = 'running' AND j.lease_until <= $3)
        OR (j.state = 'queued' AND j.run_after <= $3
            AND NOT EXISTS (
                SELECT 1 FROM jobs r
                WHERE r.job_key = j.job_key AND r.state = 'running')
            AND NOT EXISTS (
                SELECT 1 FROM jobs o
                WHERE o.job_key = j.job_key AND o.state = 'queued' AND o.id < j.id
                  AND (o.run_after <= $3 OR o.attempts > 0))))
    ORDER BY j.id
    LIMIT 1` + db.d.skipLocked + `)
RETURNING ` + jobColumns},
		{&db.extend, `UPDATE jobs SET lease_until = $1, updated_at = $2
WHERE id = $3 AND state = 'running' AND lease_owner = $4`},
		{&db.complete, `UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, updated_at = $1
WHERE id = $2 AND state = 'running'`},
		{&db.retry, `UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3
WHERE id = $4 AND state = 'running'`},
		{&db.wait, `UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2, waits = waits + 1, lease_owner = NULL, lease_until = NULL, updated_at = $3
WHERE id = $4 AND state = 'running'`},
		{&db.fail, `UPDATE jobs SET state = 'failed', last_error = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
WHERE id = $3 AND state = 'running'`},
	} {
		s, err := db.w.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", firstLine(p.query), err)
		}
		*p.dst = s
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Enqueue adds jobs that no delivery carries (follow-up work) in one
// transaction.
func (db *DB) Enqueue(ctx context.Context, specs ...queue.Spec) error {
	if err := validateSpecs(specs); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	now := db.now()
	if err := db.writeTx(ctx, func(tx *sql.Tx) error {
		return db.enqueueTx(ctx, tx, "", now, specs)
	}); err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

func validateSpecs(specs []queue.Spec) error {
	for i, s := range specs {
		switch {
		case s.Kind == "" || s.Key == "":
			return fmt.Errorf("job %d: kind and key are required", i)
		case len(s.Args) > MaxArgsBytes:
			return fmt.Errorf("job %d (%s %s): args are %d bytes, over the %d-byte limit for job arguments",
				i, s.Kind, s.Key, len(s.Args), MaxArgsBytes)
		case len(s.Args) > 0 && !json.Valid(s.Args):
			return fmt.Errorf("job %d (%s %s): args are not valid JSON", i, s.Kind, s.Key)
		}
	}
	return nil
}

func (db *DB) enqueueTx(ctx context.Context, tx *sql.Tx, deliveryID string, now time.Time, specs []queue.Spec) error {
	var delivery any // NULL for follow-up work
	if deliveryID != "" {
		delivery = deliveryID
	}
	insert := tx.StmtContext(ctx, db.insertJob)
	for _, s := range specs {
		runAfter := s.RunAfter
		if runAfter.IsZero() {
			runAfter = now
		}
		args := []any{s.Kind, s.Key, string(s.Args), delivery, millis(runAfter), millis(now)}
		if !s.Supersede {
			if _, err := insert.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert %s job for %s: %w", s.Kind, s.Key, err)
			}
			continue
		}
		// Only a superseding job needs its id: on SQLite LastInsertId costs
		// nothing, where RETURNING would cost a temporary table per insert.
		id, err := db.d.insertID(ctx, tx, insertJobQuery, args...)
		if err != nil {
			return fmt.Errorf("insert %s job for %s: %w", s.Kind, s.Key, err)
		}
		if _, err := tx.StmtContext(ctx, db.supersede).ExecContext(ctx,
			fmt.Sprintf("superseded by job %d", id), millis(now), s.Key, s.Kind, id); err != nil {
			return fmt.Errorf("supersede %s jobs for %s: %w", s.Kind, s.Key, err)
		}
	}
	return nil
}

// writeTx runs f in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it.
func (db *DB) writeTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Claim implements queue.Store: it marks the oldest ready job running under
// worker's lease until now+lease and returns it, or nil when none is ready.
// A job is ready when it is queued and due, nothing of its key is running,
// and no older job of its key is due or awaiting a retry (so a key's jobs
// start in enqueue order); or when it is running under an expired lease.
func (db *DB) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*queue.Job, error) {
	job, err := db.claimOne(ctx, worker, now, lease)
	for try := 0; conflict(err) && try < maxClaimConflicts; try++ {
		// PostgreSQL: another replica started a job of the same key in the
		// same instant (jobs_one_running_per_key); look for another job.
		job, err = db.claimOne(ctx, worker, now, lease)
	}
	if conflict(err) {
		return nil, nil // the others are busy claiming; the next poll tries again
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim job for %s: %w", worker, err)
	}
	return &job, nil
}

// claimOne runs the claim statement, after the engine's claimSetup in the
// same transaction when it has one.
func (db *DB) claimOne(ctx context.Context, worker string, now time.Time, lease time.Duration) (queue.Job, error) {
	args := []any{worker, millis(now.Add(lease)), millis(now)}
	if db.d.claimSetup == "" {
		return scanJob(db.claim.QueryRowContext(ctx, args...))
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return queue.Job{}, err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, db.d.claimSetup); err != nil {
		return queue.Job{}, err
	}
	job, err := scanJob(tx.StmtContext(ctx, db.claim).QueryRowContext(ctx, args...))
	if err != nil {
		return job, err
	}
	return job, tx.Commit()
}

// Extend implements queue.Store.
func (db *DB) Extend(ctx context.Context, id int64, worker string, until time.Time) error {
	return db.transition(ctx, "extend lease of", id, db.extend, millis(until), millis(db.now()), id, worker)
}

// Complete implements queue.Store.
func (db *DB) Complete(ctx context.Context, id int64) error {
	return db.transition(ctx, "complete", id, db.complete, millis(db.now()), id)
}

// Retry implements queue.Store. Attempts were counted when the job was
// claimed, so a run that crashed the worker counts too.
func (db *DB) Retry(ctx context.Context, id int64, runAfter time.Time, lastErr string) error {
	return db.transition(ctx, "retry", id, db.retry, millis(runAfter), truncate(lastErr), millis(db.now()), id)
}

// Wait implements queue.Store: a Retry whose run counts as a wait, not an
// attempt. The job still holds its key's later jobs back, as one awaiting
// a retry does.
func (db *DB) Wait(ctx context.Context, id int64, runAfter time.Time, lastErr string) error {
	return db.transition(ctx, "wait", id, db.wait, millis(runAfter), truncate(lastErr), millis(db.now()), id)
}

// Fail implements queue.Store.
func (db *DB) Fail(ctx context.Context, id int64, lastErr string) error {
	return db.transition(ctx, "fail", id, db.fail, truncate(lastErr), millis(db.now()), id)
}

// transition runs a state change on a running job; no row changed means the
// job is not running (under this lease) any more.
func (db *DB) transition(ctx context.Context, verb string, id int64, stmt *sql.Stmt, args ...any) error {
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("store: %s job %d: %w", verb, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s job %d: %w", verb, id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s job %d: %w", verb, id, queue.ErrLeaseLost)
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= maxErrorBytes {
		return s
	}
	n := maxErrorBytes
	for n > 0 && !utf8.RuneStart(s[n]) { // cut at a rune boundary
		n--
	}
	return s[:n] + "…"
}

// ErrNotFound reports a job id that does not exist (or was pruned).
var ErrNotFound = errors.New("store: not found")

// Job returns one job with its bookkeeping.
func (db *DB) Job(ctx context.Context, id int64) (*JobRecord, error) {
	rec, err := scanRecord(db.r.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: job %d: %w", id, err)
	}
	return &rec, nil
}

// Jobs lists jobs matching f, oldest first.
func (db *DB) Jobs(ctx context.Context, f JobFilter) ([]JobRecord, error) {
	var (
		where []string
		args  []any
	)
	add := func(column, value string) {
		if value == "" {
			return
		}
		args = append(args, value)
		where = append(where, fmt.Sprintf("%s = $%d", column, len(args)))
	}
	add("kind", f.Kind)
	add("job_key", f.Key)
	add("delivery_id", f.DeliveryID)
	add("state", string(f.State))
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT ` + recordColumns + ` FROM jobs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))

	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	defer rows.Close()
	var out []JobRecord
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list jobs: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(s scanner) (queue.Job, error) {
	var (
		j                             queue.Job
		args                          string
		delivery                      sql.NullString
		runAfter, createdAt, attempts int64
		waits                         int64
	)
	if err := s.Scan(&j.ID, &j.Kind, &j.Key, &args, &delivery, &attempts, &waits, &runAfter, &createdAt); err != nil {
		return queue.Job{}, err
	}
	if args != "" {
		j.Args = []byte(args)
	}
	j.DeliveryID = delivery.String
	j.Attempts, j.Waits = int(attempts), int(waits)
	j.RunAfter = fromMillis(runAfter)
	j.CreatedAt = fromMillis(createdAt)
	return j, nil
}

func scanRecord(s scanner) (JobRecord, error) {
	var (
		r                             JobRecord
		args, state                   string
		delivery, lastErr, owner      sql.NullString
		leaseUntil                    sql.NullInt64
		runAfter, createdAt, attempts int64
		waits, updatedAt              int64
	)
	if err := s.Scan(&r.ID, &r.Kind, &r.Key, &args, &delivery, &attempts, &waits, &runAfter, &createdAt,
		&state, &lastErr, &owner, &leaseUntil, &updatedAt); err != nil {
		return JobRecord{}, err
	}
	if args != "" {
		r.Args = []byte(args)
	}
	r.DeliveryID = delivery.String
	r.Attempts, r.Waits = int(attempts), int(waits)
	r.RunAfter = fromMillis(runAfter)
	r.CreatedAt = fromMillis(createdAt)
	r.State = State(state)
	r.LastError = lastErr.String
	r.LeaseOwner = owner.String
	if leaseUntil.Valid {
		r.LeaseUntil = fromMillis(leaseUntil.Int64)
	}
	r.UpdatedAt = fromMillis(updatedAt)
	return r, nil
}

// Prune deletes done and superseded jobs last touched before olderThan, and
// delivery records received before it (a redelivery of such an old id would
// be processed again, which GitHub's 3-day redelivery window rules out).
// Failed jobs are kept for inspection. Of the per-repository state it drops
// what is only needed while events about it can still arrive: check runs,
// comment commands, revert pull requests, finished sync runs and pull
// request rows (a forgotten sticky comment is found again by its marker)
// written before olderThan, key/value rows not updated since, and watches
// that ended before it. Each
// environment's state (inventory, lock, held syncs, drift issue) is kept.
// It returns the number of rows deleted.
func (db *DB) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	cutoff := millis(olderThan)
	var total int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM jobs WHERE state IN ('done', 'superseded') AND updated_at < $1`,
			`DELETE FROM deliveries WHERE received_at < $1`,
			`DELETE FROM check_runs WHERE created_at < $1`,
			`DELETE FROM comment_commands WHERE at < $1`,
			`DELETE FROM reverts WHERE created_at < $1`,
			`DELETE FROM sync_runs WHERE finished_at < $1`,
			`DELETE FROM pull_requests WHERE updated_at < $1`,
			`DELETE FROM kv WHERE updated_at < $1`,
			`DELETE FROM watches WHERE until <> 0 AND until < $1`,
		} {
			res, err := tx.ExecContext(ctx, q, cutoff)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune before %s: %w", olderThan.Format(time.RFC3339), err)
	}
	return int(total), nil
}

// QueueDepth counts the jobs queued or running, by kind.
func (db *DB) QueueDepth(ctx context.Context) (map[string]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT kind, COUNT(*) FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("store: queue depth: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("store: queue depth: %w", err)
		}
		out[kind] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: queue depth: %w", err)
	}
	return out, nil
}
