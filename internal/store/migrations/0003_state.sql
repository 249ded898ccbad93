-- Typed, repository-scoped state in place of the kv namespaces that held it.
-- repo is always "owner/name"; env is an environment's name (DNS-1123).
-- The Go step moveKV (migrate_kv.go) runs in this migration's transaction,
-- right after this file, to carry the rows of those namespaces over: the key
-- parsing it needs has no SQL spelling common to SQLite and PostgreSQL.

-- One row per environment ferry has seen, created by its first write.
CREATE TABLE environments (
    repo        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    inventory   TEXT,                       -- JSON []manifest.Key; NULL: never synced
    lock_by     TEXT,                       -- NULL: unlocked
    lock_reason TEXT   NOT NULL DEFAULT '',
    lock_pr     BIGINT NOT NULL DEFAULT 0,
    lock_at     BIGINT NOT NULL DEFAULT 0,
    drift_issue BIGINT NOT NULL DEFAULT 0,  -- 0: no drift issue open
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (repo, name)
);

-- Syncs of a locked environment, waiting for its release, in id order.
CREATE TABLE held_syncs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT, -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    repo    TEXT    NOT NULL,
    env     TEXT    NOT NULL,
    args    TEXT    NOT NULL,                  -- the sync job's JSON arguments
    held_at BIGINT  NOT NULL
);

CREATE INDEX held_syncs_environment ON held_syncs (repo, env, id);

-- One attempt sequence per (environment, commit): what a sync retried by the
-- queue, or replayed by a redelivered event, finds of the earlier attempts.
CREATE TABLE sync_runs (
    repo          TEXT    NOT NULL,
    env           TEXT    NOT NULL,
    revision      TEXT    NOT NULL,            -- the commit synced
    result        TEXT    NOT NULL DEFAULT '', -- '' while unfinished
    deployment_id BIGINT  NOT NULL DEFAULT 0,  -- GitHub deployment, 0: none yet
    attempts      INTEGER NOT NULL DEFAULT 0,
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT,                      -- NULL while unfinished
    PRIMARY KEY (repo, env, revision)
);

-- Revert pull requests opened for commits that failed to sync.
CREATE TABLE reverts (
    repo       TEXT   NOT NULL,
    revision   TEXT   NOT NULL,
    url        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, revision)
);

-- Check runs ferry started, so a retried preview reuses its run.
CREATE TABLE check_runs (
    repo       TEXT   NOT NULL,
    head_sha   TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    id         BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, head_sha, name)
);

-- Per pull request state: the sticky diff comment.
CREATE TABLE pull_requests (
    repo            TEXT   NOT NULL,
    number          BIGINT NOT NULL,
    diff_comment_id BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (repo, number)
);

-- Comments whose commands ran, so a redelivered comment runs once.
CREATE TABLE comment_commands (
    repo       TEXT   NOT NULL,
    comment_id BIGINT NOT NULL,
    outcome    TEXT   NOT NULL, -- the final reaction
    at         BIGINT NOT NULL,
    PRIMARY KEY (repo, comment_id)
);

-- Prune deletes by these times.
CREATE INDEX kv_updated_at ON kv (updated_at);
CREATE INDEX sync_runs_finished_at ON sync_runs (finished_at);
CREATE INDEX check_runs_created_at ON check_runs (created_at);
CREATE INDEX comment_commands_at ON comment_commands (at);
