-- +goose Up
-- Events out (issue 24). A change writes its events into the outbox
-- (events) in its own transaction. The delivery worker routes each event
-- to the subscriptions it matches (one event_deliveries row each, routed
-- set to 1 in the same transaction) and sends them, keeping the delivery
-- log in event_deliveries: status pending, delivered or failed (gave up),
-- attempts, the last error and response code.
--
-- uid is the CloudEvents id and the Standard Webhooks webhook-id: the
-- same on every attempt. An entry event's data holds the change; who made
-- it and from which source is its change set's.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uid          TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    changeset_id TEXT,
    entity_type  TEXT NOT NULL DEFAULT '',
    scope        TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL,
    routed       SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX events_unrouted ON events (id) WHERE routed = 0;
CREATE INDEX events_at ON events (at);

-- A delivery waits for the ones before it of its subscription and
-- subject (by event id): order per subject. A claim (claimed_by, until
-- claimed_until) keeps other replicas off it while it is being sent.
CREATE TABLE event_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription  TEXT NOT NULL,
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TIMESTAMP NOT NULL,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_until TIMESTAMP,
    last_error    TEXT NOT NULL DEFAULT '',
    response_code INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    -- retries give up this long after since: its creation, or when it was
    -- redelivered by hand
    since         TIMESTAMP NOT NULL
);
CREATE INDEX event_deliveries_due ON event_deliveries (subscription, next_at) WHERE status = 'pending';
CREATE INDEX event_deliveries_order ON event_deliveries (subscription, subject, event_id) WHERE status = 'pending';
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);
CREATE INDEX event_deliveries_recent ON event_deliveries (updated_at);

-- Subscriptions made through GraphQL (those of tana.yaml are not stored).
-- spec is the subscription as JSON; its secrets are names of environment
-- variables, never the secrets.
CREATE TABLE event_subscriptions (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE event_subscriptions;
DROP TABLE event_deliveries;
DROP TABLE events;
