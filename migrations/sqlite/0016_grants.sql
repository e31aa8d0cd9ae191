-- +goose Up
-- Permissions: a level (none, read, write, admin) granted to a subject
-- (user:NAME, team:NAME, role:reader|writer|admin, anyone) on an entity
-- type ('' for every type), optionally one attribute of it, optionally
-- only on entries matching a filter (JSON: a list of conditions, all to
-- hold; values may say $user or $team).
CREATE TABLE grants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject     TEXT NOT NULL,
    level       TEXT NOT NULL,
    type        TEXT NOT NULL DEFAULT '',
    attr        TEXT NOT NULL DEFAULT '',
    filter      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX grants_subject ON grants (subject);

-- +goose Down
DROP TABLE grants;
