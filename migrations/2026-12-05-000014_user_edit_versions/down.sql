DROP TRIGGER users_new_version ON users;
DROP FUNCTION users_new_version();
ALTER TABLE users DROP COLUMN version;
