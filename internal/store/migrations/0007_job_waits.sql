-- A job's runs that ended waiting (queue.Wait: the cluster it deploys to
-- was down) rather than failing: they are not held against its attempts.
ALTER TABLE jobs ADD COLUMN waits INTEGER NOT NULL DEFAULT 0;
