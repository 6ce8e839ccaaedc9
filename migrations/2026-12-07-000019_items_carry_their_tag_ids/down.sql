CREATE OR REPLACE FUNCTION storefront_items_retagged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET search = storefront_item_document(items.id, items.name, items.description, items.store_id)
    WHERE items.id IN (SELECT item_id FROM changed);
    RETURN NULL;
END $$;
ALTER TABLE items DROP COLUMN tag_ids;
