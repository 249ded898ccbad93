// Package pgtest gives a test its own PostgreSQL database on the machine's
// server, dropped when the test ends, so tests of the PostgreSQL store run
// against the real engine and never see each other's rows.
//
// The server is FERRY_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), a database on
// it that the test's role may create databases from. Where no server
// answers, the test is skipped, unless FERRY_TEST_POSTGRES_REQUIRED=1
// (CI sets it), where that is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// DefaultURL is the machine's PostgreSQL server.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL creates a fresh database and returns its URL; the database is
// dropped, with any connection still open to it, when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FERRY_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultURL
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		if os.Getenv("FERRY_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatalf("pgtest: PostgreSQL at %s: %v", redacted(base), err)
		}
		t.Skipf("pgtest: no PostgreSQL at %s (%v); set FERRY_TEST_POSTGRES_URL", redacted(base), err)
	}
	name := "ferry_test_" + randomSuffix(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b))
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured URL"
	}
	return u.Redacted()
}
