-- +goose Up
-- Every grant first ends the pool's holds whose time is over; without an
-- index on them that reads the pool's whole history of allocations (kept
-- for good), under the pool's lock, so grants slowed as a pool aged.
CREATE INDEX allocations_holds ON allocations (pool_id, expires_at) WHERE status = 'held';

-- +goose Down
DROP INDEX allocations_holds;
