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
