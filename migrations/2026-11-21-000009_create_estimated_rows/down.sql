DROP FUNCTION storefront_estimated_rows(TEXT);
