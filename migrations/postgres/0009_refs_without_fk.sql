-- +goose Up
-- refs loses its foreign keys. Every to_id and from_id is an entry id the
-- writing transaction read from entries or inserted itself, and entries
-- are never hard-deleted (only soft), so the per-row checks (a trigger
-- and a parent lookup per key column) could never fail; they took a
-- quarter of a bulk import. Store.CheckReferences verifies the invariant
-- in one query, and the store tests run it.
ALTER TABLE refs DROP CONSTRAINT refs_to_id_fkey, DROP CONSTRAINT refs_from_id_fkey;

-- +goose Down
ALTER TABLE refs ADD CONSTRAINT refs_to_id_fkey FOREIGN KEY (to_id) REFERENCES entries (id),
    ADD CONSTRAINT refs_from_id_fkey FOREIGN KEY (from_id) REFERENCES entries (id) ON DELETE CASCADE;
