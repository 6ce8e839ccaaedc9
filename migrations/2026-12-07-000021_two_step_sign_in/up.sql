-- Second steps of signing in: authenticator apps (TOTP secrets), and the
-- single-use recovery codes of accounts that have one.
CREATE TABLE second_factors (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('totp')),
    name TEXT NOT NULL,
    -- An authenticator app's secret (RFC 6238).
    secret BYTEA NOT NULL,
    -- The time step of the last code taken: it and earlier ones never pass again.
    last_step BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ
);

CREATE INDEX second_factors_user_idx ON second_factors (user_id);

CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the code as shown (lower case, without separators).
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);
