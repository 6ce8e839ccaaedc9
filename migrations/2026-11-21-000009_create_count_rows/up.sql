-- How many rows a table has, in one round trip: the planner's estimate when
-- it is above `exact_up_to` (counting millions of rows on every page view
-- would dominate it), otherwise an exact count.
CREATE FUNCTION storefront_count_rows(
    table_name TEXT,
    exact_up_to BIGINT,
    OUT total BIGINT,
    OUT approximate BOOLEAN
)
    LANGUAGE plpgsql STABLE AS
$$
BEGIN
    SELECT greatest(reltuples, 0)::bigint INTO total FROM pg_class WHERE oid = to_regclass(table_name);
    approximate := coalesce(total, 0) > exact_up_to;
    IF NOT approximate THEN
        -- regclass renders as a properly quoted name.
        EXECUTE format('SELECT count(*) FROM %s', to_regclass(table_name)) INTO total;
    END IF;
END
$$;
