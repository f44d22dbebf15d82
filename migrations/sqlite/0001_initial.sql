-- FAOS initial schema (SQLite). Timestamps are Unix milliseconds.
-- `position` is each table's keyset pagination key: AUTOINCREMENT never
-- reuses a value, so cursors stay valid across deletes.

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    plan       TEXT NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter', 'growth', 'enterprise')),
    per_minute INTEGER,
    per_day    INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name        TEXT,
    secret_hash BLOB NOT NULL UNIQUE,
    redacted    TEXT NOT NULL,
    scopes      TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);

CREATE TABLE agents (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name         TEXT NOT NULL,
    template     TEXT,
    instructions TEXT NOT NULL,
    model        TEXT NOT NULL,
    tools        TEXT NOT NULL,
    max_steps    INTEGER NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (org_id, mode, position);

CREATE TABLE messages (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL,
    mode            TEXT NOT NULL,
    agent_id        TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    input_tokens    INTEGER,
    output_tokens   INTEGER,
    stop_reason     TEXT,
    metadata        TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (agent_id, conversation_id, position);
