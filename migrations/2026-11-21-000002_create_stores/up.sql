CREATE TABLE stores (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    owner_id   BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    version    INTEGER     NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Names are NFC-normalised by the application; uniqueness ignores case.
CREATE UNIQUE INDEX stores_name_key ON stores (lower(name));
CREATE INDEX stores_name_idx ON stores (name, id);
CREATE INDEX stores_owner_id_idx ON stores (owner_id);
CREATE INDEX stores_created_at_idx ON stores (created_at, id);
