-- +goose Up
-- Runs are recorded when they start (status running) and keep a lease that
-- their heartbeat renews; a running run whose lease ran out was
-- interrupted. Locks are held by runs (holder = run id) on the same lease.
-- host, pid and pid_start name the run's process: on the same host, a lock
-- of a dead process is freed at once, and a live one's is never taken.
-- Lock rows of older versions named plans and lasted 30 minutes: drop them.
ALTER TABLE runs ADD COLUMN holder TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pid_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN tick TIMESTAMPTZ;
CREATE INDEX runs_tick ON runs (kind, source, tick);
ALTER TABLE plans ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
DELETE FROM locks;

-- +goose Down
ALTER TABLE plans DROP COLUMN run_id;
DROP INDEX runs_tick;
ALTER TABLE runs DROP COLUMN tick;
ALTER TABLE runs DROP COLUMN expires_at;
ALTER TABLE runs DROP COLUMN pid_start;
ALTER TABLE runs DROP COLUMN pid;
ALTER TABLE runs DROP COLUMN host;
ALTER TABLE runs DROP COLUMN holder;
