-- Each event records who made the change (`actor_id`, kept after the
-- account is deleted, so no foreign key) and, once numbered, the primary's
-- WAL position at numbering (`lsn`, bytes from 0/0). The sequencer numbers
-- rows only after their transactions committed, so the change an event
-- announces is in the WAL before `lsn`: a streaming replica whose
-- `pg_last_wal_replay_lsn()` has passed it shows the change. Rows written
-- before this migration have neither.
ALTER TABLE events ADD COLUMN actor_id BIGINT, ADD COLUMN lsn BIGINT;

-- A client's newest numbered event: where a replica must have replayed to
-- before it may serve that client.
CREATE INDEX events_actor_idx ON events (actor_id, id) WHERE id IS NOT NULL AND actor_id IS NOT NULL;
