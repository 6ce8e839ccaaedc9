DROP INDEX login_failures_device_idx;
ALTER TABLE login_failures DROP COLUMN device;
DROP INDEX sessions_expires_at_idx;
ALTER TABLE sessions DROP COLUMN idle_minutes;
