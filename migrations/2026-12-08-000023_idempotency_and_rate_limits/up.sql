-- The first answer to each API write sent with an `Idempotency-Key`, kept a
-- day per account and key so that any instance replays it; and how many
-- requests each account made in each hour, for its rate limits.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the method, path, query and body: the same key with
    -- another request is refused.
    fingerprint TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The answer, once there is one (NULL while the request runs).
    status SMALLINT,
    headers JSONB,
    body BYTEA,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_claimed_idx ON idempotency_keys (claimed_at);

CREATE TABLE api_usage (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'write' or 'read'.
    kind TEXT NOT NULL CHECK (kind IN ('write', 'read')),
    -- The hour counted, as its start.
    window_start TIMESTAMPTZ NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, window_start)
);

CREATE INDEX api_usage_window_idx ON api_usage (window_start);
