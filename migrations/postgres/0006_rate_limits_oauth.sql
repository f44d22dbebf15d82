-- Rate limits (CONTRACT §5) and OAuth 2.0 client credentials (§3).

-- One counter per (organization, mode, window kind): the window it counts
-- and how many requests it has accepted. A request locks its
-- organization's row, reads both counters and writes them back in one
-- transaction, so the count is exact across every node on this database.
CREATE TABLE rate_counters (
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    "window"     TEXT NOT NULL CHECK ("window" IN ('minute', 'day')),
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    PRIMARY KEY (org_id, mode, "window")
);

-- OAuth clients: only the SHA-256 of the client secret is stored.
CREATE TABLE oauth_clients (
    position    BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name        TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX oauth_clients_by_tenant ON oauth_clients (org_id, mode, position);

-- Access tokens are short-lived restricted credentials: stored with the API
-- keys (hash only), tied to the client that obtained them. Deleting the
-- client deletes its tokens.
ALTER TABLE api_keys ADD COLUMN client_id TEXT REFERENCES oauth_clients (id) ON DELETE CASCADE;
CREATE INDEX api_keys_by_client ON api_keys (client_id) WHERE client_id IS NOT NULL;
