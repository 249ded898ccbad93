-- What the leader watches after each environment's last successful sync,
-- so that a restart or a failover resumes at once: kind 'drift' (the
-- desired state as applied, with Secret values as digests, never values)
-- and kind 'rollout' (a degradation window, until its end). state is the
-- watcher's JSON; until is 0 for a watch without end. Any replica writes a
-- row after its sync; the leader reads the rows updated since it last
-- looked.
CREATE TABLE watches (
    kind       TEXT   NOT NULL,
    repo       TEXT   NOT NULL,
    env        TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    until      BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, repo, env)
);

CREATE INDEX watches_updated_at ON watches (kind, updated_at);
