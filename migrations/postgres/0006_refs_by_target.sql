-- +goose Up
-- refs is found by the referenced entry (to_id, attr, from_id, pos)
-- through its primary key, which also covers back-reference lookups, and no
-- longer has a second index by referrer: a bulk import maintains one index
-- fewer. An entry's own references are read from entries.ref_ids; an
-- update removes its old rows by exact key.
ALTER TABLE refs DROP CONSTRAINT refs_pkey;
DROP INDEX refs_to;
ALTER TABLE refs ADD PRIMARY KEY (to_id, attr, from_id, pos);

-- +goose Down
ALTER TABLE refs DROP CONSTRAINT refs_pkey;
ALTER TABLE refs ADD PRIMARY KEY (from_id, attr, pos);
CREATE INDEX refs_to ON refs (to_id, attr);
