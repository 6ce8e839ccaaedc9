DROP INDEX items_store_name_folded_idx;
DROP TABLE import_rows;
DROP TABLE imports;
