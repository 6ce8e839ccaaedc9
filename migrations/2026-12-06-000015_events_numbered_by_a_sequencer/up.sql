-- Event ids are no longer handed out inside the writing transaction. A
-- change only inserts its row (id NULL) and commits: no lock, no NOTIFY.
-- One sequencer for the whole cluster (whichever instance holds its
-- session-level advisory lock) numbers the rows that have become visible,
-- in batches, each batch in one transaction of its own that also sends the
-- batch's one NOTIFY. Batches commit one after another, so an id is only
-- ever visible once every lower id is: a client resuming after id N misses
-- nothing and sees nothing twice. Ids already handed out stay as they are.
DROP TRIGGER events_number_at_commit ON events;
DROP FUNCTION storefront_number_event();
DROP SEQUENCE events_id_seq;

-- What the sequencer has still to number, oldest insert first.
CREATE INDEX events_unnumbered_idx ON events (draft_id) WHERE id IS NULL;

-- The indexes on ids hold numbered rows only: a change's insert skips them,
-- and the sequencer's numbering (which writes a new row version anyway)
-- adds the entries. Every query on ids (`id > n`, `max(id)`) implies
-- `id IS NOT NULL`, so these indexes serve them as before.
ALTER TABLE events DROP CONSTRAINT events_id_key;
CREATE UNIQUE INDEX events_id_key ON events (id) WHERE id IS NOT NULL;
DROP INDEX events_store_id_idx;
CREATE INDEX events_store_id_idx ON events (store_id, id) WHERE id IS NOT NULL;
-- Pruning by age walks the ids instead (they grow with time).
DROP INDEX events_at_idx;
