-- +goose Up
-- People and the ways they prove who they are (issue 22): local and LDAP
-- users, teams (an LDAP group maps onto one), tokens owned by a user or a
-- team, web sessions, and the audit log. Permissions (grants) are apart.
--
-- A user's password_hash is an argon2id PHC string; '' for an LDAP user,
-- who binds to the directory instead. role is a built-in role on
-- everything ('' none, reader, writer, admin), as tokens have.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT 'local',
    role          TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- ldap_group is the DN of the directory group whose members belong to the
-- team, kept lower-cased so a login's groups match whatever case the
-- directory answers in; '' for a team of tana's own.
CREATE TABLE teams (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    ldap_group TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX teams_ldap_group ON teams (ldap_group) WHERE ldap_group <> '';

-- source says who made the membership: 'local' (tana team member add) or
-- 'ldap' (a login found the user in the team's group; the next login
-- drops it if the user has left the group).
CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source  TEXT NOT NULL DEFAULT 'local',
    PRIMARY KEY (team_id, user_id, source)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Tokens of before keep no owner and work as they did, by their role. A
-- token's use is audited, and last_used_at/last_used_from written, when it
-- comes from another address than the last audited use or an hour after
-- it: never a write per request, so last_used_at lags by up to an hour.
ALTER TABLE api_tokens ADD COLUMN user_id BIGINT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN team_id BIGINT REFERENCES teams (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
ALTER TABLE api_tokens ADD COLUMN last_used_from TEXT NOT NULL DEFAULT '';
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_team ON api_tokens (team_id);

-- A web session: the SHA-256 of its cookie, never the cookie itself. It
-- ends at ended_at (logout), after idle_seconds without a request (measured
-- from last_seen_at, which moves on at most once a minute), or at
-- expires_at, whichever comes first.
CREATE TABLE sessions (
    id           BIGSERIAL PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    remote_addr  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    idle_seconds INTEGER NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Who did what, when, from where: logins and their failures, logouts,
-- changes of users, teams, tokens and grants, and token use.
CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    remote_addr TEXT NOT NULL DEFAULT '',
    success     BOOLEAN NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor_at ON audit (actor, at);

-- +goose Down
DROP TABLE audit;
DROP TABLE sessions;
DROP INDEX api_tokens_team;
DROP INDEX api_tokens_user;
ALTER TABLE api_tokens DROP COLUMN last_used_from;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN team_id;
ALTER TABLE api_tokens DROP COLUMN user_id;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE users;
