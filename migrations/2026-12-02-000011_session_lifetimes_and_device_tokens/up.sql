-- A web session without "keep me signed in" also ends after this many
-- minutes without a request; NULL means it lasts until `expires_at`.
ALTER TABLE sessions ADD COLUMN idle_minutes INTEGER CHECK (idle_minutes > 0);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- A failure by a client that proved an earlier login with a device token is
-- counted for that device alone, so that others failing on purpose cannot
-- lock the account's owner out; NULL for every other client.
ALTER TABLE login_failures ADD COLUMN device TEXT;
CREATE INDEX login_failures_device_idx ON login_failures (device, at) WHERE device IS NOT NULL;
