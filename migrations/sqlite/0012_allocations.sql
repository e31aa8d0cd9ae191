-- +goose Up
-- Values handed out from pools (ip_pool and name_pool entries). A value is
-- live while held (until expires_at) or granted; released and expired ones
-- stay as history. The unique indexes are the last line of defence behind
-- the per-pool lock: one live grant per value, one grant per idempotency key.
-- seq orders a pool's values (an address's place, a name's number) within
-- a variant: a template with variables ({env}-db{seq:02}) numbers each
-- variant (prod-db{seq}) on its own.
CREATE TABLE allocations (
    id          TEXT PRIMARY KEY,
    pool_id     INTEGER NOT NULL,
    variant     TEXT NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL,
    value       TEXT NOT NULL,
    idem_key    TEXT NOT NULL DEFAULT '',
    ordinal     INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    entry_id    INTEGER,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    ended_at    TIMESTAMP
);
CREATE UNIQUE INDEX allocations_live_value ON allocations (pool_id, value) WHERE status IN ('held', 'granted');
CREATE UNIQUE INDEX allocations_live_seq ON allocations (pool_id, variant, seq) WHERE status IN ('held', 'granted');
CREATE UNIQUE INDEX allocations_key ON allocations (pool_id, idem_key, ordinal) WHERE idem_key <> '';
CREATE INDEX allocations_seq ON allocations (pool_id, variant, seq);
CREATE INDEX allocations_entry ON allocations (entry_id);

-- +goose Down
DROP TABLE allocations;
