-- Failed logins, counted per account and per client address to throttle
-- password guessing on every instance alike.
CREATE TABLE login_failures (
    id      BIGSERIAL PRIMARY KEY,
    account TEXT        NOT NULL,
    client  TEXT        NOT NULL,
    at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_account_idx ON login_failures (account, at);
CREATE INDEX login_failures_client_idx ON login_failures (client, at);
CREATE INDEX login_failures_at_idx ON login_failures (at);
