-- FAOS initial schema (PostgreSQL), the twin of migrations/sqlite/0001.
-- Timestamps are Unix milliseconds (BIGINT). JSON is kept as TEXT, byte for
-- byte as serialized, so reads return exactly what SQLite returns (JSONB
-- would reorder keys). `position` is each table's keyset pagination key: an
-- identity sequence never reuses a value, so cursors stay valid across
-- deletes.

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    plan       TEXT NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter', 'growth', 'enterprise')),
    per_minute BIGINT,
    per_day    BIGINT,
    created_at BIGINT NOT NULL
);

-- SQLite pages keys by rowid; here `position` plays that part.
CREATE TABLE api_keys (
    position    BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name        TEXT,
    secret_hash BYTEA NOT NULL UNIQUE,
    redacted    TEXT NOT NULL,
    scopes      TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (org_id, mode, position);

CREATE TABLE agents (
    position     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name         TEXT NOT NULL,
    template     TEXT,
    instructions TEXT NOT NULL,
    model        TEXT NOT NULL,
    tools        TEXT NOT NULL,
    max_steps    BIGINT NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (org_id, mode, position);

CREATE TABLE messages (
    position        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL,
    mode            TEXT NOT NULL,
    agent_id        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    input_tokens    BIGINT,
    output_tokens   BIGINT,
    stop_reason     TEXT,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (agent_id, conversation_id, position);
