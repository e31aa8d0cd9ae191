-- +goose Up
-- API tokens for the HTTP server. Only the SHA-256 of a token is stored; the
-- token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE api_tokens;
