-- +goose Up
-- How a drift item was resolved: "collect <scope>", "apply of plan <id>",
-- "cross-check". Reports say when and how each item was fixed.
ALTER TABLE drift ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE drift DROP COLUMN resolved_by;
