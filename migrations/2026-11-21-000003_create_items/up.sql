CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE items (
    id          BIGSERIAL PRIMARY KEY,
    store_id    BIGINT        NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    name        TEXT          NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    description TEXT          CHECK (char_length(description) <= 2000),
    -- NUMERIC accepts NaN, and NaN sorts above every number, so `price >= 0`
    -- alone would let it through.
    price       NUMERIC(12,2) NOT NULL CHECK (price >= 0 AND price <> 'NaN'),
    version     INTEGER       NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    -- Target of item_tags' composite foreign key.
    UNIQUE (id, store_id)
);

-- One index for every filter and sort the API offers; `id` breaks ties so
-- keyset pagination is stable.
CREATE INDEX items_store_id_idx ON items (store_id, id);
CREATE INDEX items_name_idx ON items (name, id);
CREATE INDEX items_price_idx ON items (price, id);
CREATE INDEX items_created_at_idx ON items (created_at, id);
CREATE INDEX items_name_trgm_idx ON items USING gin (name gin_trgm_ops);
