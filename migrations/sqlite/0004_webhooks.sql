-- Events (written in the same transaction as the change they describe),
-- webhook endpoints, and deliveries (the outbox: one row per event and
-- endpoint, claimed by dispatchers with a lease).

CREATE TABLE events (
    position   INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    endpoint_id TEXT,
    dispatched INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_by_tenant ON events (org_id, mode, position);
CREATE INDEX events_by_type ON events (org_id, mode, type, position);
CREATE INDEX events_to_dispatch ON events (position) WHERE dispatched = 0;
CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE webhook_endpoints (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode            TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    disabled_reason TEXT,
    description     TEXT,
    metadata        TEXT NOT NULL,
    secret          TEXT NOT NULL,
    old_secret      TEXT,
    old_secret_until INTEGER,
    failing_since   INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX endpoints_by_tenant ON webhook_endpoints (org_id, mode, position);

CREATE TABLE deliveries (
    position         INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    org_id           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER,
    response_status  INTEGER,
    response_body    TEXT,
    latency_ms       INTEGER,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, position);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
