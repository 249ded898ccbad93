package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// migrationSteps are Go steps run right after a migration's SQL, in its
// transaction, so they are applied (and recorded) exactly once with it.
var migrationSteps = map[string]func(ctx context.Context, tx *sql.Tx) error{
	"0003_state": moveKV,
}

// kvRow is one row of the key/value table.
type kvRow struct {
	namespace, key, value string
	at                    time.Time
}

// kvMovers carry the rows of each namespace that typed tables replaced over
// to them. A mover reports false, leaving the row in kv for Prune, when the
// key or value is not in the shape ferry wrote (nothing reads it any more).
var kvMovers = map[string]func(context.Context, *sql.Tx, kvRow) (bool, error){
	"inventory":    moveInventory,
	"lock":         moveLock,
	"held":         moveHeld,
	"drift_issue":  moveDriftIssue,
	"synced":       moveSynced,
	"revert":       moveRevert,
	"check_run":    moveCheckRun,
	"diff_comment": moveDiffComment,
	"comment_done": moveCommentDone,
	// /readyz read a value here that nobody wrote; Ping replaced it.
	"health": func(context.Context, *sql.Tx, kvRow) (bool, error) { return true, nil },
}

// moveKV moves the kv rows of the namespaces in kvMovers to the typed
// tables and deletes them from kv.
func moveKV(ctx context.Context, tx *sql.Tx) error {
	var kvs []kvRow
	rows, err := tx.QueryContext(ctx, `SELECT namespace, name, value, updated_at FROM kv ORDER BY updated_at, namespace, name`)
	if err != nil {
		return fmt.Errorf("read kv: %w", err)
	}
	for rows.Next() {
		var (
			r  kvRow
			at int64
		)
		if err := rows.Scan(&r.namespace, &r.key, &r.value, &at); err != nil {
			rows.Close()
			return fmt.Errorf("read kv: %w", err)
		}
		r.at = fromMillis(at)
		kvs = append(kvs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read kv: %w", err)
	}
	for _, r := range kvs {
		move := kvMovers[r.namespace]
		if move == nil {
			continue
		}
		moved, err := move(ctx, tx, r)
		if err != nil {
			return fmt.Errorf("move kv %s/%s: %w", r.namespace, r.key, err)
		}
		if !moved {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE namespace = $1 AND name = $2`, r.namespace, r.key); err != nil {
			return fmt.Errorf("delete kv %s/%s: %w", r.namespace, r.key, err)
		}
	}
	return nil
}

// splitRepo checks that repo is "owner/name".
func splitRepo(repo string) bool {
	owner, name, ok := strings.Cut(repo, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/")
}

// splitEnvKey splits "owner/name/ENV".
func splitEnvKey(key string) (repo, env string, ok bool) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", "", false
	}
	repo, env = key[:i], key[i+1:]
	return repo, env, splitRepo(repo) && env != ""
}

// splitLast splits key at the last sep, the part after it non-empty.
func splitLast(key string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(key, sep)
	if i < 0 || i == len(key)-1 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

func moveInventory(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, env, ok := splitEnvKey(r.key)
	var inv []manifest.Key
	if !ok || json.Unmarshal([]byte(r.value), &inv) != nil {
		return false, nil
	}
	if inv == nil {
		inv = []manifest.Key{}
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return false, err
	}
	return true, setEnvironment(ctx, tx, repo, env, r.at, "inventory", "inventory = excluded.inventory", string(b))
}

func moveLock(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, env, ok := splitEnvKey(r.key)
	if !ok {
		return false, nil
	}
	if r.value == "" { // unlocked
		return true, nil
	}
	var l struct {
		By     string `json:"by"`
		Reason string `json:"reason"`
		PR     int    `json:"pr"`
	}
	if json.Unmarshal([]byte(r.value), &l) != nil || l.By == "" {
		return false, nil
	}
	return true, setLock(ctx, tx, repo, env, r.at, Lock{By: l.By, Reason: l.Reason, PR: l.PR, At: r.at})
}

func moveHeld(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, env, ok := splitEnvKey(r.key)
	var held []json.RawMessage
	if !ok || (r.value != "" && json.Unmarshal([]byte(r.value), &held) != nil) {
		return false, nil
	}
	for _, args := range held { // ids keep the order they were held in
		if _, err := tx.ExecContext(ctx, `INSERT INTO held_syncs (repo, env, args, held_at) VALUES ($1, $2, $3, $4)`,
			repo, env, string(args), millis(r.at)); err != nil {
			return false, err
		}
	}
	return true, nil
}

func moveDriftIssue(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, env, ok := splitEnvKey(r.key)
	if !ok {
		return false, nil
	}
	if r.value == "" { // none open
		return true, nil
	}
	n, err := strconv.Atoi(r.value)
	if err != nil {
		return false, nil
	}
	return true, setEnvironment(ctx, tx, repo, env, r.at, "drift_issue", "drift_issue = excluded.drift_issue", n)
}

// moveSynced moves "owner/name/ENV@COMMIT" → result: a finished run.
func moveSynced(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	envKey, commit, ok := splitLast(r.key, '@')
	if !ok {
		return false, nil
	}
	repo, env, ok := splitEnvKey(envKey)
	if !ok {
		return false, nil
	}
	return true, putSyncRun(ctx, tx, SyncRun{Repo: repo, Env: env, Commit: commit, Result: r.value,
		Attempts: 1, StartedAt: r.at, FinishedAt: r.at})
}

func moveRevert(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, commit, ok := splitLast(r.key, '@')
	if !ok || !splitRepo(repo) || r.value == "" {
		return false, nil
	}
	return true, setRevertPR(ctx, tx, repo, commit, r.value, r.at)
}

// moveCheckRun moves "owner/name@SHA/CHECKNAME"; check names have slashes
// ("ferry/diff"), commit ids and repository names have neither '@' nor '/'.
func moveCheckRun(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, rest, ok := strings.Cut(r.key, "@")
	if !ok || !splitRepo(repo) {
		return false, nil
	}
	sha, name, ok := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(r.value, 10, 64)
	if !ok || sha == "" || name == "" || err != nil {
		return false, nil
	}
	return true, setCheckRun(ctx, tx, repo, sha, name, id, r.at)
}

func moveDiffComment(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, num, ok := splitLast(r.key, '#')
	if !ok || !splitRepo(repo) {
		return false, nil
	}
	n, nerr := strconv.Atoi(num)
	id, iderr := strconv.ParseInt(r.value, 10, 64)
	if nerr != nil || iderr != nil || n <= 0 {
		return false, nil
	}
	return true, setDiffComment(ctx, tx, repo, n, id, r.at)
}

func moveCommentDone(ctx context.Context, tx *sql.Tx, r kvRow) (bool, error) {
	repo, idText, ok := splitLast(r.key, '/')
	if !ok || !splitRepo(repo) {
		return false, nil
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id == 0 {
		return false, nil
	}
	return true, markCommentDone(ctx, tx, repo, id, r.value, r.at)
}
