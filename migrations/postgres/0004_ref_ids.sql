-- +goose Up
-- entries.ref_ids repeats an entry's references ("attr:id,attr:id", list
-- order per attribute) in its own row, so that streaming a whole type (the
-- Ansible inventory, exports) reads references without a second query.
-- refs stays the source of truth for back-references and integrity; both
-- are written in the same transaction.
ALTER TABLE entries ADD COLUMN ref_ids TEXT NOT NULL DEFAULT '';
UPDATE entries SET ref_ids = COALESCE((SELECT string_agg(r.attr || ':' || r.to_id, ',' ORDER BY r.attr, r.pos)
    FROM refs r WHERE r.from_id = entries.id), '');

-- +goose Down
ALTER TABLE entries DROP COLUMN ref_ids;
