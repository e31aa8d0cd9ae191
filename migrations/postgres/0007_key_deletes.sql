-- +goose Up
-- Writes now remove unique values by their key (type, attr, value), known
-- from the entry's old attributes, so the index by entry is no longer
-- read; nothing reads versions by change set (history is read by entry).
-- Every bulk write maintained both.
DROP INDEX unique_values_entry;
DROP INDEX versions_changeset;

-- +goose Down
CREATE INDEX unique_values_entry ON unique_values (entry_id);
CREATE INDEX versions_changeset ON versions (changeset_id);
