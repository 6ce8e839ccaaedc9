-- The version an admin edits a user at. Random, and drawn again at every
-- change of the row, so that it cannot be derived from anything a user can
-- see (such as when the account was created): a form can only carry the
-- version it was read at. Below 2^53, so that it stays exact in JavaScript.
ALTER TABLE users
    ADD COLUMN version BIGINT NOT NULL DEFAULT floor(random() * 9007199254740991)::bigint;

CREATE FUNCTION users_new_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := floor(random() * 9007199254740991)::bigint;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_new_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_new_version();
