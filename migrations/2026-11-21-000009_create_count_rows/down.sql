DROP FUNCTION storefront_count_rows(TEXT, BIGINT);
