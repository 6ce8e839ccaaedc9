-- Ranked search of items: each item's words (name, its tags' names, its
-- description and its store's name, weighted in that order) as one
-- document, kept current by triggers whichever surface writes, and indexed.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- English words with their accents removed, so that "cafe" finds "Café"
-- and "books" finds "book".
CREATE TEXT SEARCH CONFIGURATION storefront (COPY = english);
ALTER TEXT SEARCH CONFIGURATION storefront
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

-- What a shopper typed, in web search syntax: words, "quoted phrases",
-- `or`, and `-word` to leave out.
CREATE FUNCTION storefront_query(typed TEXT) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT websearch_to_tsquery('storefront'::regconfig, typed) $$;

CREATE FUNCTION storefront_item_document(item_id BIGINT, name TEXT, description TEXT, store_id BIGINT)
RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('storefront', name), 'A')
        || setweight(to_tsvector('storefront', coalesce(
               (SELECT string_agg(t.name, ' ') FROM item_tags it JOIN tags t ON t.id = it.tag_id
                WHERE it.item_id = storefront_item_document.item_id), '')), 'B')
        || setweight(to_tsvector('storefront', coalesce(description, '')), 'C')
        || setweight(to_tsvector('storefront', coalesce(
               (SELECT s.name FROM stores s WHERE s.id = storefront_item_document.store_id), '')), 'D')
$$;

ALTER TABLE items ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

-- An item's own words, when written.
CREATE FUNCTION storefront_item_searched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := storefront_item_document(NEW.id, NEW.name, NEW.description, NEW.store_id);
    RETURN NEW;
END $$;
CREATE TRIGGER items_searched BEFORE INSERT OR UPDATE OF name, description, store_id ON items
FOR EACH ROW EXECUTE FUNCTION storefront_item_searched();

-- The items whose tags, tags' names or store's name changed, once per statement.
CREATE FUNCTION storefront_items_retagged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET search = storefront_item_document(items.id, items.name, items.description, items.store_id)
    WHERE items.id IN (SELECT item_id FROM changed);
    RETURN NULL;
END $$;
CREATE TRIGGER item_tags_added AFTER INSERT ON item_tags
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION storefront_items_retagged();
CREATE TRIGGER item_tags_removed AFTER DELETE ON item_tags
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION storefront_items_retagged();

CREATE FUNCTION storefront_tags_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET search = storefront_item_document(items.id, items.name, items.description, items.store_id)
    WHERE items.id IN (
        SELECT it.item_id FROM item_tags it
        JOIN renamed ON renamed.id = it.tag_id
        JOIN before_rename ON before_rename.id = renamed.id
        WHERE renamed.name IS DISTINCT FROM before_rename.name);
    RETURN NULL;
END $$;
CREATE TRIGGER tags_renamed AFTER UPDATE ON tags
REFERENCING OLD TABLE AS before_rename NEW TABLE AS renamed
FOR EACH STATEMENT EXECUTE FUNCTION storefront_tags_renamed();

CREATE FUNCTION storefront_stores_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET search = storefront_item_document(items.id, items.name, items.description, items.store_id)
    WHERE items.store_id IN (
        SELECT renamed.id FROM renamed JOIN before_rename ON before_rename.id = renamed.id
        WHERE renamed.name IS DISTINCT FROM before_rename.name);
    RETURN NULL;
END $$;
CREATE TRIGGER stores_renamed AFTER UPDATE ON stores
REFERENCING OLD TABLE AS before_rename NEW TABLE AS renamed
FOR EACH STATEMENT EXECUTE FUNCTION storefront_stores_renamed();

-- The words of the catalogue as typed (lowercase, without accents), for
-- "did you mean": a typed word found nowhere is replaced by the closest of
-- these (trigram similarity). Words are added as they are written and never
-- removed: a suggestion is only made when the corrected words find items.
-- No unique key: two writers adding the same new word at once would wait
-- for each other's commit; rather, a word may rarely be there twice.
CREATE TABLE search_words (word TEXT NOT NULL);
CREATE INDEX search_words_word_idx ON search_words (word);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

CREATE FUNCTION storefront_words(typed TEXT) RETURNS SETOF TEXT
LANGUAGE sql STABLE STRICT PARALLEL SAFE
AS $$
    SELECT DISTINCT word FROM regexp_split_to_table(lower(unaccent(typed)), '[^[:alpha:]]+') AS word
    WHERE length(word) BETWEEN 3 AND 40
$$;

CREATE FUNCTION storefront_remember_item_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM written, storefront_words(written.name || ' ' || coalesce(written.description, '')) AS w
    WHERE NOT EXISTS (SELECT 1 FROM search_words known WHERE known.word = w);
    RETURN NULL;
END $$;
CREATE TRIGGER items_words_added AFTER INSERT ON items
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_item_words();
CREATE TRIGGER items_words_changed AFTER UPDATE ON items
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_item_words();

-- Tags and stores: their names.
CREATE FUNCTION storefront_remember_name_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM written, storefront_words(written.name) AS w
    WHERE NOT EXISTS (SELECT 1 FROM search_words known WHERE known.word = w);
    RETURN NULL;
END $$;
CREATE TRIGGER tags_words_added AFTER INSERT ON tags
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_name_words();
CREATE TRIGGER tags_words_changed AFTER UPDATE ON tags
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_name_words();
CREATE TRIGGER stores_words_added AFTER INSERT ON stores
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_name_words();
CREATE TRIGGER stores_words_changed AFTER UPDATE ON stores
REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION storefront_remember_name_words();

INSERT INTO search_words (word)
SELECT w FROM items, storefront_words(items.name || ' ' || coalesce(items.description, '')) AS w
UNION SELECT w FROM tags, storefront_words(tags.name) AS w
UNION SELECT w FROM stores, storefront_words(stores.name) AS w;

UPDATE items SET search = storefront_item_document(id, name, description, store_id);
CREATE INDEX items_search_idx ON items USING gin (search);
ANALYZE items;
