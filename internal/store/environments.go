package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/queue"
)

// Lock is an environment's lock: merges to a locked environment are held
// until it is released.
type Lock struct {
	By     string // who locked it; required
	Reason string
	PR     int       // the pull request whose comment locked it, 0 if none
	At     time.Time // zero in SetLock means now
}

// execer is what both *sql.DB and *sql.Tx offer for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// setEnvironment writes values to the environments columns of one
// environment, creating its row; set updates an existing row (e.g.
// "drift_issue = excluded.drift_issue").
func setEnvironment(ctx context.Context, x execer, repo, env string, at time.Time, columns, set string, values ...any) error {
	if repo == "" || env == "" {
		return errors.New("repository and environment are required")
	}
	placeholders := ""
	for i := range values {
		placeholders += fmt.Sprintf(", $%d", i+4)
	}
	_, err := x.ExecContext(ctx, `INSERT INTO environments (repo, name, updated_at, `+columns+`)
VALUES ($1, $2, $3`+placeholders+`)
ON CONFLICT (repo, name) DO UPDATE SET `+set+`, updated_at = excluded.updated_at`,
		append([]any{repo, env, millis(at)}, values...)...)
	return err
}

// Inventory returns what the last sync of repo's environment env left
// tracked; ok is false if it was never synced.
func (db *DB) Inventory(ctx context.Context, repo, env string) (inv []manifest.Key, ok bool, err error) {
	var raw sql.NullString
	err = db.r.QueryRowContext(ctx, `SELECT inventory FROM environments WHERE repo = $1 AND name = $2`, repo, env).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !raw.Valid) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: inventory of %s/%s: %w", repo, env, err)
	}
	if err := json.Unmarshal([]byte(raw.String), &inv); err != nil {
		return nil, false, fmt.Errorf("store: inventory of %s/%s: %w", repo, env, err)
	}
	if inv == nil {
		inv = []manifest.Key{}
	}
	return inv, true, nil
}

// SetInventory records what a sync of repo's environment env left tracked;
// a nil inventory is stored as an empty one (synced, tracking nothing).
func (db *DB) SetInventory(ctx context.Context, repo, env string, inv []manifest.Key) error {
	if inv == nil {
		inv = []manifest.Key{}
	}
	b, err := json.Marshal(inv)
	if err == nil {
		err = setEnvironment(ctx, db.w, repo, env, db.now(), "inventory", "inventory = excluded.inventory", string(b))
	}
	if err != nil {
		return fmt.Errorf("store: set inventory of %s/%s: %w", repo, env, err)
	}
	return nil
}

// Lock returns the lock on repo's environment env, or nil when it is
// unlocked.
func (db *DB) Lock(ctx context.Context, repo, env string) (*Lock, error) {
	l, err := readLock(ctx, db.r, repo, env, "")
	if err != nil {
		return nil, fmt.Errorf("store: lock of %s/%s: %w", repo, env, err)
	}
	return l, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readLock reads an environment's lock; lockRow ends the query (FOR UPDATE
// when the transaction goes on to write under that lock).
func readLock(ctx context.Context, q queryRower, repo, env, lockRow string) (*Lock, error) {
	var (
		by     sql.NullString
		l      Lock
		pr, at int64
	)
	err := q.QueryRowContext(ctx, `SELECT lock_by, lock_reason, lock_pr, lock_at FROM environments
WHERE repo = $1 AND name = $2`+lockRow, repo, env).Scan(&by, &l.Reason, &pr, &at)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !by.Valid) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.By, l.PR, l.At = by.String, int(pr), fromMillis(at)
	return &l, nil
}

// SetLock locks repo's environment env, replacing any lock it had. Release
// unlocks it.
func (db *DB) SetLock(ctx context.Context, repo, env string, l Lock) error {
	if err := setLock(ctx, db.w, repo, env, db.now(), l); err != nil {
		return fmt.Errorf("store: lock %s/%s: %w", repo, env, err)
	}
	return nil
}

func setLock(ctx context.Context, x execer, repo, env string, now time.Time, l Lock) error {
	if l.By == "" {
		return errors.New("a lock needs the name of who locked")
	}
	if l.At.IsZero() {
		l.At = now
	}
	return setEnvironment(ctx, x, repo, env, now, "lock_by, lock_reason, lock_pr, lock_at",
		"lock_by = excluded.lock_by, lock_reason = excluded.lock_reason, lock_pr = excluded.lock_pr, lock_at = excluded.lock_at",
		l.By, l.Reason, l.PR, millis(l.At))
}

// DriftIssue returns the number of the open drift issue of repo's
// environment env, 0 when there is none.
func (db *DB) DriftIssue(ctx context.Context, repo, env string) (int, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT drift_issue FROM environments WHERE repo = $1 AND name = $2`, repo, env).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: drift issue of %s/%s: %w", repo, env, err)
	}
	return int(n), nil
}

// SetDriftIssue records the open drift issue of repo's environment env; 0
// records that none is open.
func (db *DB) SetDriftIssue(ctx context.Context, repo, env string, n int) error {
	if err := setEnvironment(ctx, db.w, repo, env, db.now(), "drift_issue", "drift_issue = excluded.drift_issue", n); err != nil {
		return fmt.Errorf("store: set drift issue of %s/%s: %w", repo, env, err)
	}
	return nil
}

// HoldIfLocked holds a sync of repo's environment env, whose job arguments
// are args, if the environment is locked: it returns the lock and how many
// syncs are held now, this one included. When the environment is unlocked
// it holds nothing and returns a nil lock: the caller runs the sync. Reading
// the lock and holding are one transaction, so a hold is never lost to a
// Release running at the same time: it lands either before the release,
// which then enqueues it, or after it, and finds the environment unlocked.
func (db *DB) HoldIfLocked(ctx context.Context, repo, env string, args []byte) (lock *Lock, waiting int, err error) {
	if err := validateSpecs([]queue.Spec{{Kind: "held sync", Key: repo + "/" + env, Args: args}}); err != nil {
		return nil, 0, fmt.Errorf("store: hold sync of %s/%s: %w", repo, env, err)
	}
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		if lock, err = readLock(ctx, tx, repo, env, db.d.forUpdate); err != nil || lock == nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO held_syncs (repo, env, args, held_at) VALUES ($1, $2, $3, $4)`,
			repo, env, string(args), millis(db.now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM held_syncs WHERE repo = $1 AND env = $2`, repo, env).Scan(&waiting)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: hold sync of %s/%s: %w", repo, env, err)
	}
	return lock, waiting, nil
}

// HeldSyncs returns the job arguments of the syncs held for repo's
// environment env, in the order they were held.
func (db *DB) HeldSyncs(ctx context.Context, repo, env string) ([][]byte, error) {
	held, _, err := heldSyncs(ctx, db.r, repo, env)
	if err != nil {
		return nil, fmt.Errorf("store: held syncs of %s/%s: %w", repo, env, err)
	}
	return held, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// heldSyncs reads the held syncs in hold order and the last one's id.
func heldSyncs(ctx context.Context, q querier, repo, env string) (held [][]byte, last int64, err error) {
	rows, err := q.QueryContext(ctx, `SELECT id, args FROM held_syncs WHERE repo = $1 AND env = $2 ORDER BY id`, repo, env)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var args string
		if err := rows.Scan(&last, &args); err != nil {
			return nil, 0, err
		}
		held = append(held, []byte(args))
	}
	return held, last, rows.Err()
}

// Release unlocks repo's environment env and queues its held syncs: specs
// gets their job arguments in hold order (possibly none) and returns the
// jobs to enqueue. Unlocking, forgetting the held syncs and enqueueing the
// jobs are one transaction, so a crash can neither lose nor duplicate a held
// sync. specs runs inside that transaction, which holds the database's
// writer: it must only build the specs, never block. An error from specs
// aborts the release and is returned as is (wrapped).
func (db *DB) Release(ctx context.Context, repo, env string, specs func(held [][]byte) ([]queue.Spec, error)) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		// Unlock first: on an engine with row locks this also makes a
		// concurrent HoldIfLocked wait, then find the environment unlocked.
		now := db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE environments
SET lock_by = NULL, lock_reason = '', lock_pr = 0, lock_at = 0, updated_at = $1
WHERE repo = $2 AND name = $3`, millis(now), repo, env); err != nil {
			return err
		}
		held, last, err := heldSyncs(ctx, tx, repo, env)
		if err != nil {
			return err
		}
		jobs, err := specs(held)
		if err != nil {
			return err
		}
		if err := validateSpecs(jobs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM held_syncs WHERE repo = $1 AND env = $2 AND id <= $3`,
			repo, env, last); err != nil {
			return err
		}
		return db.enqueueTx(ctx, tx, "", now, jobs)
	})
	if err != nil {
		return fmt.Errorf("store: release %s/%s: %w", repo, env, err)
	}
	return nil
}
