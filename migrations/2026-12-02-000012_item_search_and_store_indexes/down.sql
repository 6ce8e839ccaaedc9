DROP INDEX items_store_price_idx;
DROP INDEX items_store_name_idx;
DROP INDEX items_store_created_at_idx;
CREATE INDEX items_store_id_idx ON items (store_id, id);
DROP INDEX items_name_folded_trgm_idx;
ALTER TABLE items DROP COLUMN name_folded;
CREATE INDEX items_name_trgm_idx ON items USING gin (name gin_trgm_ops);
