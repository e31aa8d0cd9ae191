-- +goose Up
-- refs loses its foreign keys. Every to_id and from_id is an entry id the
-- writing transaction read from entries or inserted itself, and entries
-- are never hard-deleted (only soft), so the per-row checks could never
-- fail; they cost a parent lookup per key column, 40% of a bulk import's
-- reference inserts. Store.CheckReferences verifies the invariant in one
-- query, and the store tests run it.
CREATE TABLE refs_new (
    to_id   INTEGER NOT NULL,
    attr    TEXT NOT NULL,
    from_id INTEGER NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (to_id, attr, from_id, pos)
) WITHOUT ROWID;
INSERT INTO refs_new (to_id, attr, from_id, pos)
    SELECT to_id, attr, from_id, pos FROM refs ORDER BY to_id, attr, from_id, pos;
DROP TABLE refs;
ALTER TABLE refs_new RENAME TO refs;

-- +goose Down
CREATE TABLE refs_old (
    to_id   INTEGER NOT NULL REFERENCES entries (id),
    attr    TEXT NOT NULL,
    from_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (to_id, attr, from_id, pos)
) WITHOUT ROWID;
INSERT INTO refs_old (to_id, attr, from_id, pos)
    SELECT to_id, attr, from_id, pos FROM refs ORDER BY to_id, attr, from_id, pos;
DROP TABLE refs;
ALTER TABLE refs_old RENAME TO refs;
