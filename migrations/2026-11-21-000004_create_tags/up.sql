CREATE TABLE tags (
    id         BIGSERIAL PRIMARY KEY,
    store_id   BIGINT      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 40),
    version    INTEGER     NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (id, store_id)
);

CREATE UNIQUE INDEX tags_store_name_key ON tags (store_id, lower(name));
CREATE INDEX tags_name_idx ON tags (name, id);

-- A link carries the store of both ends, and both composite foreign keys use
-- it, so the database itself refuses to tag an item with another store's tag.
CREATE TABLE item_tags (
    item_id    BIGINT      NOT NULL,
    tag_id     BIGINT      NOT NULL,
    store_id   BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, tag_id),
    FOREIGN KEY (item_id, store_id) REFERENCES items (id, store_id) ON DELETE CASCADE,
    -- NO ACTION (checked at the end of the statement), not RESTRICT: deleting
    -- a linked tag is refused, yet deleting a store may remove its items'
    -- links and its tags in one cascade, whatever order PostgreSQL visits them.
    FOREIGN KEY (tag_id, store_id) REFERENCES tags (id, store_id) ON DELETE NO ACTION
);

CREATE INDEX item_tags_tag_id_idx ON item_tags (tag_id, item_id);
