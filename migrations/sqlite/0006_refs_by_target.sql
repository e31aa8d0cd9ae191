-- +goose Up
-- refs becomes one B-tree keyed by the referenced entry (to_id, attr,
-- from_id, pos): a back-reference lookup is a range of the key, and a bulk
-- import writes each reference once, in key order, instead of into a table
-- by referrer plus a second index by target. An entry's own references are
-- read from entries.ref_ids; an update removes its old rows by exact key.
CREATE TABLE refs_new (
    to_id   INTEGER NOT NULL REFERENCES entries (id),
    attr    TEXT NOT NULL,
    from_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (to_id, attr, from_id, pos)
) WITHOUT ROWID;
INSERT INTO refs_new (to_id, attr, from_id, pos)
    SELECT to_id, attr, from_id, pos FROM refs ORDER BY to_id, attr, from_id, pos;
DROP TABLE refs;
ALTER TABLE refs_new RENAME TO refs;

-- +goose Down
CREATE TABLE refs_old (
    from_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    attr    TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    to_id   INTEGER NOT NULL REFERENCES entries (id),
    PRIMARY KEY (from_id, attr, pos)
) WITHOUT ROWID;
INSERT INTO refs_old (from_id, attr, pos, to_id) SELECT from_id, attr, pos, to_id FROM refs;
DROP TABLE refs;
ALTER TABLE refs_old RENAME TO refs;
CREATE INDEX refs_to ON refs (to_id, attr);
