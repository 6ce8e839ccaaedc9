-- Accounts. Emails are unique regardless of case; the role is one of three
-- fixed values and nobody gets more than `member` by registering.
CREATE TABLE users (
    id                 BIGSERIAL PRIMARY KEY,
    email              TEXT        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash      TEXT        NOT NULL,
    role               TEXT        NOT NULL DEFAULT 'member'
                                   CHECK (role IN ('member', 'staff', 'admin')),
    is_active          BOOLEAN     NOT NULL DEFAULT TRUE,
    -- Tokens issued before this instant are refused (password change, deactivation).
    tokens_valid_after TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created_at_idx ON users (created_at, id);
CREATE INDEX users_role_idx ON users (role, id);
