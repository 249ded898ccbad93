-- Sync history (trimmed per environment to its revisionHistoryLimit) and the
-- append-only audit log. Resource names and outcomes only: never manifests.
CREATE TABLE syncs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY
    environment TEXT    NOT NULL,
    revision    TEXT    NOT NULL,
    record      TEXT    NOT NULL, -- history.Sync as JSON
    started_at  BIGINT  NOT NULL
);

CREATE INDEX syncs_environment ON syncs (environment, id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY
    at          BIGINT  NOT NULL,
    environment TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    revision    TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);

CREATE INDEX audit_log_environment ON audit_log (environment, id);
