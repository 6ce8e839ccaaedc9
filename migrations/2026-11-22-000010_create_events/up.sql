-- Live updates: every committed change to a store, item, tag or link, as one
-- row, written by the audit hook in the change's own transaction.
--
-- Event ids are what clients resume from ("everything after 41"), so they
-- must grow in commit order: an id taken from a sequence at insert time would
-- let a transaction that started later commit a higher id first, and a
-- client that saw it would skip the lower one when it commits. So a row is
-- inserted without its id, and a deferred trigger numbers it while the
-- transaction commits, under a lock that one committing transaction holds at
-- a time (until its commit is visible to everyone). The same trigger sends
-- the id, never the body, over NOTIFY: payloads must stay under 8,000 bytes.
CREATE SEQUENCE events_id_seq AS BIGINT;

CREATE TABLE events (
    -- Handed out at commit, in commit order; NULL only inside the writing
    -- transaction, so no other reader ever sees it.
    id         BIGINT      UNIQUE,
    -- Identifies the row until it has an id.
    draft_id   BIGSERIAL   PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind       TEXT        NOT NULL CHECK (kind IN (
                   'store.created', 'store.updated', 'store.deleted',
                   'item.created', 'item.updated', 'item.tags_changed', 'item.deleted',
                   'tag.created', 'tag.updated', 'tag.deleted')),
    entity_id  BIGINT      NOT NULL,
    -- No foreign key: a store's deletion is itself an event of that store.
    store_id   BIGINT      NOT NULL,
    -- The object as the API shows it after the change; NULL for a deletion.
    object     JSONB
);

-- Replay of one store's events after a given id.
CREATE INDEX events_store_id_idx ON events (store_id, id);
-- Pruning by age.
CREATE INDEX events_at_idx ON events (at);

CREATE FUNCTION storefront_number_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    assigned BIGINT;
BEGIN
    -- Held until this transaction's commit is visible: the next committer
    -- waits here, and so takes a higher id only once this one can be read.
    PERFORM pg_advisory_xact_lock(5495528);
    UPDATE events SET id = nextval('events_id_seq') WHERE draft_id = NEW.draft_id
        RETURNING id INTO assigned;
    PERFORM pg_notify('storefront_events', assigned::text);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER events_number_at_commit
    AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION storefront_number_event();
