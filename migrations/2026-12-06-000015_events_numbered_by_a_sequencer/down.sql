DROP INDEX events_unnumbered_idx;
CREATE INDEX events_at_idx ON events (at);
DROP INDEX events_store_id_idx;
CREATE INDEX events_store_id_idx ON events (store_id, id);
DROP INDEX events_id_key;

-- Whatever the sequencer had not numbered yet is numbered now, after the rest.
CREATE SEQUENCE events_id_seq AS BIGINT;
SELECT setval('events_id_seq', coalesce((SELECT max(id) FROM events), 0) + 1, false);
UPDATE events SET id = nextval('events_id_seq')
    FROM (SELECT draft_id FROM events WHERE id IS NULL ORDER BY draft_id) AS pending
    WHERE events.draft_id = pending.draft_id;

ALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (id);

CREATE FUNCTION storefront_number_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    assigned BIGINT;
BEGIN
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
