package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// oldDatabase creates a database as ferry left it before migration 0003,
// with rows in its key/value table ("namespace key", value).
func oldDatabase(t *testing.T, path string, at time.Time, kv [][2]string) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0001_init", "0002_history"} {
		body, err := migrationFiles.ReadFile("migrations/" + v + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(body)); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range kv {
		ns, key, _ := strings.Cut(r[0], " ")
		if _, err := raw.ExecContext(ctx, `INSERT INTO kv (namespace, name, value, updated_at) VALUES ($1, $2, $3, $4)`,
			ns, key, r[1], millis(at)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrationMovesKV(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2028, 3, 4, 5, 6, 7, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "ferry.db")
	oldDatabase(t, path, at, [][2]string{
		{"inventory o/r/prod", `[{"group":"apps","kind":"Deployment","namespace":"web","name":"api"}]`},
		{"inventory o/r/empty", `[]`},
		{"lock o/r/prod", `{"by":"alice","reason":"freeze","pr":7}`},
		{"lock o/r/staging", ``},
		{"held o/r/prod", `[{"commit":"a"},{"commit":"b"}]`},
		{"held o/r/staging", `[]`},
		{"drift_issue o/r/prod", `12`},
		{"drift_issue o/r/staging", ``},
		{"synced o/r/prod@c1", `failed`},
		{"revert o/r@c1", `https://github.com/o/r/pull/9`},
		{"check_run o/r@h1/ferry/diff", `77`},
		{"check_run o/r@h1/ferry/policy", `78`},
		{"diff_comment o/r#5", `1005`},
		{"comment_done o/r/555", `rocket`},
		{"health ping", `x`},
		{"other key", `kept`},                      // not a moved namespace
		{"lock not-a-repo", `{"by":"x"}`},          // malformed: left for Prune
		{"check_run o/r@h1/ferry", `not a number`}, // likewise
	})
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	inv, ok, err := db.Inventory(ctx, "o/r", "prod")
	if want := []manifest.Key{{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"}}; err != nil || !ok || !reflect.DeepEqual(inv, want) {
		t.Errorf("Inventory(prod) = %v, %v, %v", inv, ok, err)
	}
	if inv, ok, err := db.Inventory(ctx, "o/r", "empty"); err != nil || !ok || len(inv) != 0 {
		t.Errorf("Inventory(empty) = %v, %v, %v; want synced, empty", inv, ok, err)
	}
	if l, err := db.Lock(ctx, "o/r", "prod"); err != nil || l == nil || *l != (Lock{By: "alice", Reason: "freeze", PR: 7, At: at}) {
		t.Errorf("Lock(prod) = %+v, %v", l, err)
	}
	if l, err := db.Lock(ctx, "o/r", "staging"); err != nil || l != nil {
		t.Errorf("Lock(staging) = %+v, %v; want unlocked", l, err)
	}
	held, err := db.HeldSyncs(ctx, "o/r", "prod")
	if got := stringsOf(held); err != nil || !slices.Equal(got, []string{`{"commit":"a"}`, `{"commit":"b"}`}) {
		t.Errorf("HeldSyncs(prod) = %q, %v", got, err)
	}
	if n, err := db.DriftIssue(ctx, "o/r", "prod"); err != nil || n != 12 {
		t.Errorf("DriftIssue(prod) = %d, %v", n, err)
	}
	run, ok, err := db.SyncRun(ctx, "o/r", "prod", "c1")
	if want := (SyncRun{Repo: "o/r", Env: "prod", Commit: "c1", Result: "failed", Attempts: 1, StartedAt: at, FinishedAt: at}); err != nil || !ok || run != want {
		t.Errorf("SyncRun = %+v, %v, %v; want %+v", run, ok, err, want)
	}
	if u, ok, err := db.RevertPR(ctx, "o/r", "c1"); err != nil || !ok || u != "https://github.com/o/r/pull/9" {
		t.Errorf("RevertPR = %q, %v, %v", u, ok, err)
	}
	for name, want := range map[string]int64{"ferry/diff": 77, "ferry/policy": 78} {
		if id, ok, err := db.CheckRun(ctx, "o/r", "h1", name); err != nil || !ok || id != want {
			t.Errorf("CheckRun(%s) = %d, %v, %v; want %d", name, id, ok, err, want)
		}
	}
	if id, err := db.DiffComment(ctx, "o/r", 5); err != nil || id != 1005 {
		t.Errorf("DiffComment = %d, %v", id, err)
	}
	if done, err := db.CommentDone(ctx, "o/r", 555); err != nil || !done {
		t.Errorf("CommentDone = %v, %v", done, err)
	}

	var left []string
	rows, err := db.r.QueryContext(ctx, `SELECT namespace || ' ' || name FROM kv ORDER BY namespace, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		left = append(left, s)
	}
	if want := []string{"check_run o/r@h1/ferry", "lock not-a-repo", "other key"}; !slices.Equal(left, want) {
		t.Errorf("kv rows left = %q, want %q", left, want)
	}
}

func stringsOf(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestSplitKeys(t *testing.T) {
	tests := []struct {
		key       string
		repo, env string
		ok        bool
	}{
		{"o/r/prod", "o/r", "prod", true},
		{"o/r/", "", "", false},
		{"o/prod", "", "", false},
		{"a/b/c/prod", "", "", false},
		{"prod", "", "", false},
	}
	for _, tt := range tests {
		repo, env, ok := splitEnvKey(tt.key)
		if ok != tt.ok || (ok && (repo != tt.repo || env != tt.env)) {
			t.Errorf("splitEnvKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, repo, env, ok, tt.repo, tt.env, tt.ok)
		}
	}
}
