-- +goose Up
-- Reconcile state: snapshots taken, drift items with their lifecycle,
-- plans, collection/reconcile runs, stored reports and apply locks.
CREATE TABLE snapshots (
    id          TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    complete    INTEGER NOT NULL,
    objects     INTEGER NOT NULL,
    errors      TEXT NOT NULL DEFAULT '[]',
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX snapshots_scope ON snapshots (scope, finished_at);

CREATE TABLE drift (
    id          TEXT PRIMARY KEY,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    type        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    entry_id    INTEGER,
    entry_name  TEXT NOT NULL DEFAULT '',
    attr        TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL,
    first_seen  TIMESTAMP NOT NULL,
    last_seen   TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE UNIQUE INDEX drift_open_key ON drift (key) WHERE resolved_at IS NULL;
CREATE INDEX drift_scope ON drift (scope, resolved_at);

CREATE TABLE plans (
    id         TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    status     TEXT NOT NULL,
    filter     TEXT NOT NULL DEFAULT '',
    fixes      INTEGER NOT NULL,
    data       TEXT NOT NULL,
    error      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    applied_at TIMESTAMP
);
CREATE INDEX plans_created ON plans (created_at);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL,
    objects     INTEGER NOT NULL DEFAULT 0,
    changes     INTEGER NOT NULL DEFAULT 0,
    errors      TEXT NOT NULL DEFAULT '[]',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_started ON runs (started_at);
CREATE INDEX runs_source ON runs (kind, source, started_at);

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    schedule   TEXT NOT NULL DEFAULT '',
    summary    TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_created ON reports (created_at);

-- One holder per scope; on PostgreSQL an advisory lock guards it, on SQLite
-- the row itself (with an expiry, for a holder that crashed).
CREATE TABLE locks (
    scope       TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE locks;
DROP TABLE reports;
DROP TABLE runs;
DROP TABLE plans;
DROP TABLE drift;
DROP TABLE snapshots;
