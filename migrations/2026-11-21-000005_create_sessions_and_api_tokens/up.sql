-- One row per login, web or API. Every instance checks tokens and cookies
-- against this table, so a logout or revocation holds everywhere at once.
CREATE TABLE sessions (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind               TEXT        NOT NULL CHECK (kind IN ('web', 'api')),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at         TIMESTAMPTZ NOT NULL,
    revoked_at         TIMESTAMPTZ,
    -- The chain of refresh tokens of this login: only the newest generation
    -- is valid, and presenting an older one revokes the session.
    refresh_family     TEXT        NOT NULL UNIQUE,
    refresh_generation INTEGER     NOT NULL DEFAULT 0,
    user_agent         TEXT        CHECK (char_length(user_agent) <= 200)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at);

-- Personal access tokens: only a SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    token_hash   BYTEA       NOT NULL UNIQUE,
    prefix       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, created_at);
