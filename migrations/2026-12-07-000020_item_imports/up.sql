-- Imports of items from CSV files: the file as uploaded, how its columns
-- map to fields, where the work stands (any instance shows its progress),
-- and what the preview found for each row, which the apply must find again.
CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    -- The file as UTF-8 without its byte order mark; dropped once the
    -- import is applied or cancelled.
    source BYTEA,
    delimiter TEXT NOT NULL CHECK (delimiter IN (',', ';', E'\t')),
    -- The names of the columns in the header row, in order.
    header JSONB NOT NULL,
    -- For each field, the index of the column it is read from.
    mapping JSONB NOT NULL DEFAULT '{}',
    match_by TEXT NOT NULL DEFAULT 'id' CHECK (match_by IN ('id', 'name')),
    create_tags BOOLEAN NOT NULL DEFAULT false,
    state TEXT NOT NULL DEFAULT 'uploaded'
        CHECK (state IN ('uploaded', 'previewing', 'previewed', 'applying', 'applied', 'failed', 'cancelled')),
    rows_total INTEGER NOT NULL DEFAULT 0,
    rows_done INTEGER NOT NULL DEFAULT 0,
    -- How many rows are new, changed, unchanged and refused:
    -- {"new": 3, "changed": 1, "unchanged": 0, "refused": 2}.
    counts JSONB NOT NULL DEFAULT '{}',
    -- Why the last step failed.
    message TEXT,
    -- Renewed while a step works: a step whose heartbeat stops has died
    -- with its instance (and, being one transaction, left nothing behind).
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX imports_user_idx ON imports (user_id, id DESC);

CREATE TABLE import_rows (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    -- The row's line in the file (the header is line 1).
    line INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('new', 'changed', 'unchanged', 'refused')),
    -- The item the row matched, and its version when previewed.
    item_id BIGINT,
    item_version INTEGER,
    -- What changes, field by field ({"price": {"from": "1.00", "to": "2.00"}}),
    -- or, for a refused row, why, column by column ({"price": "..."}).
    details JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (import_id, line)
);

CREATE INDEX import_rows_outcome_idx ON import_rows (import_id, outcome, line);

-- Rows that match items by store and name (ignoring case) find them by this.
CREATE INDEX items_store_name_folded_idx ON items (store_id, name_folded);
