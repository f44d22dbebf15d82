-- `metadata` on API keys and OAuth clients (CONTRACT §2), JSON text as on
-- the other resources; existing rows, and keys the server makes itself
-- (bootstrap keys, OAuth access tokens), carry none.
ALTER TABLE api_keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE oauth_clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
