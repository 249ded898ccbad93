-- ferry's initial schema. Portable SQL (SQLite and PostgreSQL) except where
-- noted. Times are BIGINT Unix milliseconds (UTC), so comparisons and
-- ordering behave the same on every engine and no driver time parsing is
-- involved.

-- Webhook deliveries seen, for deduplication (GitHub's redelivery reuses the
-- X-GitHub-Delivery id). Only identifying metadata: never the payload.
CREATE TABLE deliveries (
    id              TEXT   NOT NULL PRIMARY KEY,
    event           TEXT   NOT NULL,
    action          TEXT   NOT NULL,
    repo            TEXT   NOT NULL,
    installation_id BIGINT NOT NULL,
    received_at     BIGINT NOT NULL
);

CREATE INDEX deliveries_received_at ON deliveries (received_at);

CREATE TABLE jobs (
    -- SQLite-only: a rowid alias that never reuses ids. PostgreSQL:
    -- id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    job_key     TEXT    NOT NULL,
    args        TEXT    NOT NULL,
    delivery_id TEXT    REFERENCES deliveries (id) ON DELETE SET NULL,
    state       TEXT    NOT NULL
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'superseded')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   BIGINT  NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- Claim scans only unfinished jobs, oldest first.
CREATE INDEX jobs_pending ON jobs (id) WHERE state IN ('queued', 'running');

-- Per-key checks in Claim.
CREATE INDEX jobs_key ON jobs (job_key, state, id);

-- Supersede in Enqueue, which would otherwise read every queued job of the
-- key when a backlog builds up.
CREATE INDEX jobs_queued_kind ON jobs (job_key, kind, id) WHERE state = 'queued';

-- The serialization guarantee, enforced by the engine as well as by Claim.
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (job_key) WHERE state = 'running';

-- ON DELETE SET NULL when deliveries are pruned.
CREATE INDEX jobs_delivery ON jobs (delivery_id);

-- Small per-PR state ferry must remember (e.g. its sticky comment id).
CREATE TABLE kv (
    namespace  TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, name)
);
