package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// ErrClosed reports a call on a closed DB.
var ErrClosed = errors.New("store: closed")

// maxAcceptBatch bounds how many deliveries share one commit.
const maxAcceptBatch = 64

// acceptTimeout bounds one group commit. It is not any caller's context: one
// caller giving up must not abort the others' deliveries.
const acceptTimeout = 30 * time.Second

// acceptRequest is one Accept call waiting for the group committer.
type acceptRequest struct {
	d    queue.Delivery
	jobs []queue.Spec
	now  time.Time
	done chan acceptResult // buffered, so the committer never waits for a caller
}

type acceptResult struct {
	duplicate bool
	err       error
}

// Accept records delivery d and enqueues its jobs in one transaction, so a
// delivery ferry acknowledged is never lost and never half-enqueued. If d.ID
// was recorded before (GitHub redelivers with the same id), it returns
// duplicate=true and enqueues nothing.
//
// Concurrent calls are group-committed: deliveries that arrive while a commit
// is under way share the next one, which is what lets a burst of webhooks be
// persisted at disk speed rather than at one commit each. If ctx ends before
// Accept returns, the delivery may or may not have been recorded; a
// redelivery of it is then deduplicated or accepted accordingly.
func (db *DB) Accept(ctx context.Context, d queue.Delivery, jobs []queue.Spec) (duplicate bool, err error) {
	if d.ID == "" {
		return false, errors.New("store: accept: delivery without id")
	}
	if err := validateSpecs(jobs); err != nil {
		return false, fmt.Errorf("store: accept delivery %s: %w", d.ID, err)
	}
	req := &acceptRequest{d: d, jobs: jobs, now: db.now(), done: make(chan acceptResult, 1)}
	select {
	case db.accepts <- req:
	case <-db.closing:
		return false, fmt.Errorf("store: accept delivery %s: %w", d.ID, ErrClosed)
	case <-ctx.Done():
		return false, fmt.Errorf("store: accept delivery %s: %w", d.ID, ctx.Err())
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return false, fmt.Errorf("store: accept delivery %s: %w", d.ID, res.err)
		}
		return res.duplicate, nil
	case <-ctx.Done():
		return false, fmt.Errorf("store: accept delivery %s: %w", d.ID, ctx.Err())
	}
}

// commitLoop is the group committer: it takes the waiting Accept calls, up to
// maxAcceptBatch, and commits them together. It never waits for a batch to
// fill, so a lone delivery is committed at once.
func (db *DB) commitLoop() {
	defer close(db.loopDone)
	batch := make([]*acceptRequest, 0, maxAcceptBatch)
	for {
		select {
		case <-db.closing:
			return
		case r := <-db.accepts:
			batch = append(batch[:0], r)
		}
	gather:
		for len(batch) < maxAcceptBatch {
			select {
			case r := <-db.accepts:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		db.commitAccepts(batch)
		clear(batch) // drop references to finished requests
	}
}

func (db *DB) commitAccepts(batch []*acceptRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	defer cancel()
	dups := make([]bool, len(batch))
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			dup, err := db.acceptTx(ctx, tx, r)
			if err != nil {
				return err
			}
			dups[i] = dup
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		// Nothing was committed; redo them one by one so that a failing
		// delivery fails alone.
		for _, r := range batch {
			db.commitAccepts([]*acceptRequest{r})
		}
		return
	}
	for i, r := range batch {
		r.done <- acceptResult{duplicate: dups[i], err: err}
	}
}

// acceptTx records one delivery and its jobs inside tx. A delivery id seen
// before, even earlier in the same batch, is a duplicate.
func (db *DB) acceptTx(ctx context.Context, tx *sql.Tx, r *acceptRequest) (duplicate bool, err error) {
	received := r.d.ReceivedAt
	if received.IsZero() {
		received = r.now
	}
	res, err := tx.StmtContext(ctx, db.insertDelivery).ExecContext(ctx,
		r.d.ID, r.d.Event, r.d.Action, r.d.Repo, r.d.InstallationID, millis(received))
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", r.d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", r.d.ID, err)
	}
	if n == 0 {
		return true, nil
	}
	return false, db.enqueueTx(ctx, tx, r.d.ID, r.now, r.jobs)
}
