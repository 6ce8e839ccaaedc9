-- Passkeys (WebAuthn credentials) as a second step of signing in, beside
-- authenticator apps; and the ceremonies under way, kept here so that any
-- instance can finish one, and each challenge is answered once.
ALTER TABLE second_factors DROP CONSTRAINT second_factors_kind_check;
ALTER TABLE second_factors ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE second_factors
    -- The credential as webauthn-rs keeps it: public key, counter, flags.
    ADD COLUMN passkey JSONB,
    ADD COLUMN credential_id BYTEA,
    ADD CONSTRAINT second_factors_kind_check CHECK (
        (kind = 'totp' AND secret IS NOT NULL AND passkey IS NULL AND credential_id IS NULL)
        OR (kind = 'passkey' AND secret IS NULL AND passkey IS NOT NULL AND credential_id IS NOT NULL)
    );

-- A credential belongs to one account.
CREATE UNIQUE INDEX second_factors_credential_idx ON second_factors (credential_id)
    WHERE credential_id IS NOT NULL;

CREATE TABLE passkey_ceremonies (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    -- The challenge and what answers it, as webauthn-rs keeps it.
    state JSONB NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- One ceremony of each kind per account at a time: a new one replaces it.
CREATE UNIQUE INDEX passkey_ceremonies_user_purpose_idx ON passkey_ceremonies (user_id, purpose);
CREATE INDEX passkey_ceremonies_expires_idx ON passkey_ceremonies (expires_at);
