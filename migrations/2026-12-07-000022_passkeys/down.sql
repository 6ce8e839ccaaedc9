DROP TABLE passkey_ceremonies;
DELETE FROM second_factors WHERE kind = 'passkey';
ALTER TABLE second_factors DROP CONSTRAINT second_factors_kind_check;
ALTER TABLE second_factors DROP COLUMN passkey, DROP COLUMN credential_id;
ALTER TABLE second_factors ALTER COLUMN secret SET NOT NULL;
ALTER TABLE second_factors ADD CONSTRAINT second_factors_kind_check CHECK (kind IN ('totp'));
