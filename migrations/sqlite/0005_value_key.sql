-- +goose Up
-- entry_values becomes one B-tree keyed by what searches ask for (type,
-- attribute, value) instead of a table keyed by entry plus a lookup index:
-- a bulk import writes each value row once, in key order, not twice. An
-- update removes an entry's old rows by their exact keys, which it knows
-- from the entry's old attributes.
CREATE TABLE entry_values_new (
    type     TEXT NOT NULL,
    attr     TEXT NOT NULL,
    value    TEXT NOT NULL,
    entry_id INTEGER NOT NULL,
    num      REAL,
    PRIMARY KEY (type, attr, value, entry_id)
) WITHOUT ROWID;
INSERT INTO entry_values_new (type, attr, value, entry_id, num)
    SELECT type, attr, value, entry_id, num FROM entry_values ORDER BY type, attr, value, entry_id;
DROP TABLE entry_values;
ALTER TABLE entry_values_new RENAME TO entry_values;
CREATE INDEX entry_values_num ON entry_values (type, attr, num) WHERE num IS NOT NULL;

-- +goose Down
CREATE TABLE entry_values_old (
    entry_id INTEGER NOT NULL,
    type     TEXT NOT NULL,
    attr     TEXT NOT NULL,
    value    TEXT NOT NULL,
    num      REAL,
    PRIMARY KEY (entry_id, attr, value)
) WITHOUT ROWID;
INSERT INTO entry_values_old (entry_id, type, attr, value, num)
    SELECT entry_id, type, attr, value, num FROM entry_values;
DROP TABLE entry_values;
ALTER TABLE entry_values_old RENAME TO entry_values;
CREATE INDEX entry_values_lookup ON entry_values (type, attr, value);
CREATE INDEX entry_values_num ON entry_values (type, attr, num) WHERE num IS NOT NULL;
