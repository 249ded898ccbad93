package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is every difference between the two engines, in one place. The
// queries elsewhere are written once, in the SQL both accept.
type dialect struct {
	// name is "sqlite" or "postgres".
	name string
	// forUpdate ends a SELECT that reads a row the transaction then
	// writes: SQLite's single writer needs nothing, PostgreSQL locks the
	// row so that concurrent transactions take turns.
	forUpdate string
	// skipLocked ends Claim's candidate query: PostgreSQL skips rows another
	// replica is claiming instead of waiting for it.
	skipLocked string
	// claimSetup runs before Claim's statement, in its transaction.
	// PostgreSQL: without fresh statistics (a new or fast-moving jobs
	// table) its planner filters every pending job and sorts them, O(n) a
	// claim; with sorting off it walks the pending index in id order and
	// stops at the first claimable job, as SQLite does.
	claimSetup string
	// greatest is the two-argument maximum function.
	greatest string
	// returningID: the engine has no LastInsertId; INSERTs whose id is
	// needed end in RETURNING id instead.
	returningID bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", greatest: "MAX"}
	postgresDialect = dialect{name: "postgres", forUpdate: " FOR UPDATE", skipLocked: " FOR UPDATE SKIP LOCKED",
		claimSetup: "SET LOCAL enable_sort = off", greatest: "GREATEST", returningID: true}
)

// migration adapts a migration file to the engine. The files are written
// for both except for their id columns, spelled SQLite's way.
func (d dialect) migration(body string) string {
	if d.name != "postgres" {
		return body
	}
	return strings.ReplaceAll(body, "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
}

// insertID runs an INSERT and returns the id of the row it added.
func (d dialect) insertID(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	if d.returningID {
		var id int64
		err := tx.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
		return id, err
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// conflict reports a unique violation, which on PostgreSQL two replicas
// claiming jobs of one key in the same instant can meet (the loser tries
// again).
func conflict(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}
