-- Sync history and the audit log belong to a repository: two repositories
-- with an environment of the same name keep separate histories (and
-- rollbacks), each trimmed to its own revisionHistoryLimit. Rows written
-- before this migration have no repository ('').
ALTER TABLE syncs ADD COLUMN repo TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN repo TEXT NOT NULL DEFAULT '';

CREATE INDEX syncs_repo_environment ON syncs (repo, environment, id);
CREATE INDEX audit_log_repo_environment ON audit_log (repo, environment, id);
