DROP TABLE api_usage;
DROP TABLE idempotency_keys;
