-- +goose Up
-- The name epoch counts the transactions that renamed entries; each one
-- adds one as it commits. Reads select it beside their rows, so a store
-- may keep the names of referenced entries between reads: names cached
-- at an epoch are the names every read at that epoch sees.
CREATE TABLE name_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO name_epoch (id, epoch) VALUES (1, 1);

-- +goose Down
DROP TABLE name_epoch;
