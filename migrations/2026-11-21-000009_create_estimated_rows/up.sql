-- The planner's row estimate of a table, for lists too large to count on
-- every page view. Never below zero (a table not yet analysed says -1).
CREATE FUNCTION storefront_estimated_rows(table_name TEXT) RETURNS BIGINT
    LANGUAGE sql STABLE AS
$$ SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(table_name) $$;
