-- +goose Up
-- The entity/attribute store. entry_values, unique_values, versions,
-- entry_sources and provenance are rows derived from an entry and written
-- with it in one transaction; entries are never hard-deleted, so they carry
-- no foreign keys (per-row FK checks tripled bulk-import time). refs keeps
-- its foreign keys: a reference to a missing entry is real corruption.
-- Attribute values live as JSON in entries.attrs;
-- entry_values indexes scalar values for search, refs holds references (both
-- directions indexed), unique_values enforces unique attributes, versions
-- is the history.
CREATE TABLE entity_types (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE changesets (
    id         TEXT PRIMARY KEY,
    actor      TEXT NOT NULL,
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE entries (
    id             BIGSERIAL PRIMARY KEY,
    type           TEXT NOT NULL,
    name           TEXT NOT NULL,
    attrs          TEXT NOT NULL DEFAULT '{}',
    version        BIGINT NOT NULL DEFAULT 1,
    status         TEXT NOT NULL DEFAULT 'active',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    deleted_at     TIMESTAMPTZ,
    deleted_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX entries_type_name ON entries (type, name) WHERE deleted_at IS NULL;

CREATE TABLE entry_values (
    entry_id BIGINT NOT NULL,
    type     TEXT NOT NULL,
    attr     TEXT NOT NULL,
    value    TEXT NOT NULL,
    num      DOUBLE PRECISION,
    PRIMARY KEY (entry_id, attr, value)
);
CREATE INDEX entry_values_lookup ON entry_values (type, attr, value);
CREATE INDEX entry_values_num ON entry_values (type, attr, num) WHERE num IS NOT NULL;

CREATE TABLE refs (
    from_id BIGINT NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    attr    TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    to_id   BIGINT NOT NULL REFERENCES entries (id),
    PRIMARY KEY (from_id, attr, pos)
);
CREATE INDEX refs_to ON refs (to_id, attr);

CREATE TABLE unique_values (
    type     TEXT NOT NULL,
    attr     TEXT NOT NULL,
    value    TEXT NOT NULL,
    entry_id BIGINT NOT NULL,
    PRIMARY KEY (type, attr, value)
);
CREATE INDEX unique_values_entry ON unique_values (entry_id);

CREATE TABLE versions (
    entry_id     BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    changeset_id TEXT NOT NULL,
    op           TEXT NOT NULL,
    name         TEXT NOT NULL,
    changes      TEXT NOT NULL,
    PRIMARY KEY (entry_id, version)
);
CREATE INDEX versions_changeset ON versions (changeset_id);

-- Which source object an entry stands for, per scope, and when it was seen.
CREATE TABLE entry_sources (
    scope      TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    entry_id   BIGINT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, object_id)
);
CREATE INDEX entry_sources_entry ON entry_sources (entry_id);

-- Provenance of observed values: which source wrote each attribute, when it
-- was last seen, and the value that source reported.
CREATE TABLE provenance (
    entry_id BIGINT NOT NULL,
    attr     TEXT NOT NULL,
    source   TEXT NOT NULL,
    value    TEXT NOT NULL,
    seen_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (entry_id, attr, source)
);

-- +goose Down
DROP TABLE provenance;
DROP TABLE entry_sources;
DROP TABLE versions;
DROP TABLE unique_values;
DROP TABLE refs;
DROP TABLE entry_values;
DROP TABLE entries;
DROP TABLE changesets;
DROP TABLE entity_types;
