-- +goose Up
-- The head of a subject (issue 24 follow-up): of each subscription's and
-- subject's pending deliveries, the first routed one has head = 1 and is
-- the only one that may be claimed; when it leaves pending (delivered or
-- given up) the next one becomes the head. The claim then reads the heads
-- due now in one index range, instead of testing every pending delivery
-- for an earlier one of its subject (which rescanned the backlog at every
-- claim: quadratic, and on PostgreSQL a nested loop over the whole
-- backlog while the table had no statistics yet).
ALTER TABLE event_deliveries ADD COLUMN head SMALLINT NOT NULL DEFAULT 0;
UPDATE event_deliveries SET head = 1 WHERE id IN (
    SELECT MIN(id) FROM event_deliveries WHERE status = 'pending' GROUP BY subscription, subject);
DROP INDEX event_deliveries_due;
DROP INDEX event_deliveries_order;
-- the claim: heads due now, oldest first
CREATE INDEX event_deliveries_due ON event_deliveries (subscription, next_at, id) WHERE status = 'pending' AND head = 1;
-- a subject's head, or its next one
CREATE INDEX event_deliveries_order ON event_deliveries (subscription, subject, head, id) WHERE status = 'pending';
-- Pruning finds old events by id (PruneEvents); an index on at cost
-- every import one more index entry per changed entry.
DROP INDEX events_at;

-- +goose Down
CREATE INDEX events_at ON events (at);
DROP INDEX event_deliveries_due;
DROP INDEX event_deliveries_order;
CREATE INDEX event_deliveries_due ON event_deliveries (subscription, next_at) WHERE status = 'pending';
CREATE INDEX event_deliveries_order ON event_deliveries (subscription, subject, event_id) WHERE status = 'pending';
ALTER TABLE event_deliveries DROP COLUMN head;
