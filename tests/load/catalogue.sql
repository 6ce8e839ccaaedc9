-- A large catalogue for benchmarks, made in SQL: 10 stores of 20 tags each,
-- :items items spread over them (2 tags each, every 50th named "Coffee ..."),
-- created one second apart. Run on a migrated database with no stores:
--
--   psql -v items=1000000 -f tests/load/catalogue.sql "$DATABASE_URL"
--
-- It writes no audit records or events: nothing is announced.
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO stores (name)
SELECT 'Store ' || s FROM generate_series(1, 10) AS s;

INSERT INTO tags (store_id, name)
SELECT stores.id, 'tag ' || t
FROM stores CROSS JOIN generate_series(0, 19) AS t;

CREATE TEMPORARY TABLE numbered_stores ON COMMIT DROP AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM stores;

INSERT INTO items (store_id, name, description, price, created_at, updated_at)
SELECT s.id,
       (ARRAY['Coffee beans', 'Green tea', 'Dark chocolate', 'Olive oil', 'Sea salt',
              'Honey', 'Rye bread', 'Apple juice', 'Goat cheese', 'Black pepper'])[1 + (i / 10) % 10]
           || CASE WHEN i % 50 = 0 THEN ' coffee blend ' ELSE ' no. ' END || i,
       'Item number ' || i,
       1 + (i % 10000) / 100.0,
       now() - (:items - i) * interval '1 second',
       now() - (:items - i) * interval '1 second'
FROM generate_series(1, :items) AS i
JOIN numbered_stores AS s ON s.n = i % 10;

-- Tags k and k + 7 of the item's store, where k = id mod 20.
CREATE TEMPORARY TABLE numbered_tags ON COMMIT DROP AS
SELECT id, store_id, row_number() OVER (PARTITION BY store_id ORDER BY id) - 1 AS n FROM tags;

INSERT INTO item_tags (item_id, tag_id, store_id)
SELECT items.id, numbered_tags.id, items.store_id
FROM items
CROSS JOIN (VALUES (0), (7)) AS step (k)
JOIN numbered_tags ON numbered_tags.store_id = items.store_id AND numbered_tags.n = (items.id + step.k) % 20;

COMMIT;
ANALYZE stores;
ANALYZE items;
ANALYZE tags;
ANALYZE item_tags;
