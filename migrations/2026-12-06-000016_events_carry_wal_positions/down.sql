DROP INDEX events_actor_idx;
ALTER TABLE events DROP COLUMN actor_id, DROP COLUMN lsn;
