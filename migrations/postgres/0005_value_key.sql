-- +goose Up
-- entry_values is found by what searches ask for (type, attribute, value)
-- through its primary key, and no longer has a second index by entry: a
-- bulk import maintains one index fewer. An update removes an entry's old
-- rows by their exact keys, which it knows from the entry's old attributes.
ALTER TABLE entry_values DROP CONSTRAINT entry_values_pkey;
DROP INDEX entry_values_lookup;
ALTER TABLE entry_values ADD PRIMARY KEY (type, attr, value, entry_id);

-- +goose Down
ALTER TABLE entry_values DROP CONSTRAINT entry_values_pkey;
ALTER TABLE entry_values ADD PRIMARY KEY (entry_id, attr, value);
CREATE INDEX entry_values_lookup ON entry_values (type, attr, value);
