-- Web sessions carry the token their forms must echo back (CSRF).
ALTER TABLE sessions ADD COLUMN csrf_token TEXT;
