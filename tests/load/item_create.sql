-- The statements of one `POST /api/items`, for pgbench (see writes.sh): the
-- bearer token's session and user (the app reads them, and touches the
-- session at most once a minute), then the creation's own transaction: the
-- store, the item, its audit entry and its event row.
--   -D events=0  without the event row
--   -D events=1  with it, as the application writes it
--   -D events=2  with it, numbered at commit under a lock and announced by
--                NOTIFY from the writing transaction (the former design),
--                into a table of its own (writes.sh makes it)
\set n random(1, 1000000000)
SELECT * FROM sessions WHERE id = :session;
SELECT * FROM users WHERE id = :user_id;
UPDATE sessions SET last_seen_at = now() WHERE id = :session AND last_seen_at < now() - interval '1 minute';
BEGIN;
SELECT * FROM stores WHERE id = :store;
INSERT INTO items (store_id, name, price, description) VALUES (:store, 'pgbench ' || :n, 1.00, NULL) RETURNING *;
INSERT INTO audit_log (actor_id, via, action, entity, entity_id, changes)
    VALUES (:user_id, 'api', 'create', 'item', currval('items_id_seq'),
            '{"name": [null, "pgbench"], "price": [null, "1.00"], "store_id": [null, 1]}');
\if :events = 1
INSERT INTO events (kind, entity_id, store_id, object)
    VALUES ('item.created', currval('items_id_seq'), :store,
            jsonb_build_object('id', currval('items_id_seq'), 'name', 'pgbench ' || :n::text, 'price', 1.00,
                               'store', jsonb_build_object('id', :store::bigint, 'name', 'Writes'), 'tags', '[]'::jsonb,
                               'description', null, 'version', 1, 'created_at', now(), 'updated_at', now()));
\elif :events = 2
INSERT INTO events_numbered_at_commit (kind, entity_id, store_id, object)
    VALUES ('item.created', currval('items_id_seq'), :store,
            jsonb_build_object('id', currval('items_id_seq'), 'name', 'pgbench ' || :n::text, 'price', 1.00,
                               'store', jsonb_build_object('id', :store::bigint, 'name', 'Writes'), 'tags', '[]'::jsonb,
                               'description', null, 'version', 1, 'created_at', now(), 'updated_at', now()));
\endif
COMMIT;
