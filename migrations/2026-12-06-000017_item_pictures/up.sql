-- Pictures of items. The bytes of each size made of an upload are stored
-- once per content, named by their SHA-256, whoever uses them; an item's
-- pictures are ordered, each with its alt text (none: the item's name) and
-- the sizes made of it. Deleting an item deletes its pictures; bytes that
-- no picture uses any more are deleted by the code that removed the last
-- use (the foreign key keeps them while one does).
CREATE TABLE picture_blobs (
    digest TEXT PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    bytes BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- JPEG and PNG are compressed already: stored as they are, out of line.
ALTER TABLE picture_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;

CREATE TABLE item_pictures (
    id BIGSERIAL PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    position INT NOT NULL CHECK (position >= 0),
    alt TEXT CHECK (char_length(alt) <= 500),
    width INT NOT NULL CHECK (width > 0),
    height INT NOT NULL CHECK (height > 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Checked at commit, so that a reordering may swap positions.
    CONSTRAINT item_pictures_position_key UNIQUE (item_id, position) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE item_picture_sizes (
    picture_id BIGINT NOT NULL REFERENCES item_pictures (id) ON DELETE CASCADE,
    width INT NOT NULL CHECK (width > 0),
    height INT NOT NULL CHECK (height > 0),
    digest TEXT NOT NULL REFERENCES picture_blobs (digest),
    PRIMARY KEY (picture_id, width)
);
-- Whether any picture still uses some bytes.
CREATE INDEX item_picture_sizes_digest_idx ON item_picture_sizes (digest);

-- The item's pictures as every representation of the item shows them,
-- kept with the item and rewritten whenever they change, so that reading
-- items (a page of 50, a list of a million) reads nothing more:
-- [{id, alt, width, height, sizes: [{width, height, digest, type}]}].
ALTER TABLE items ADD COLUMN pictures JSONB NOT NULL DEFAULT '[]';
