-- +goose Up
-- Drift digests (issue 24): a schedule with report.only_on_change posts
-- its report only when the open drift differs from what the last posted
-- report held. One row per schedule remembers that report (its Open items
-- are the "before" of the next digest) and the fingerprint of its open
-- drift (sorted item keys and pins, SHA-256). The row is written only
-- after the receiver accepted the post: a failed post is retried at the
-- next tick with the same "before".
CREATE TABLE report_digests (
    schedule    TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    sent_at     TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE report_digests;
