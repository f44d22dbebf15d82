-- Events (written in the same transaction as the change they describe),
-- webhook endpoints, and deliveries (the outbox: one row per event and
-- endpoint, claimed by dispatchers with a lease).

CREATE TABLE events (
    position   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    endpoint_id TEXT,
    dispatched BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_tenant ON events (org_id, mode, position);
CREATE INDEX events_by_type ON events (org_id, mode, type, position);
CREATE INDEX events_to_dispatch ON events (position) WHERE NOT dispatched;
CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE webhook_endpoints (
    position        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode            TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    description     TEXT,
    metadata        TEXT NOT NULL,
    secret          TEXT NOT NULL,
    old_secret      TEXT,
    old_secret_until BIGINT,
    failing_since   BIGINT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX endpoints_by_tenant ON webhook_endpoints (org_id, mode, position);

CREATE TABLE deliveries (
    position         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    org_id           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    response_status  BIGINT,
    response_body    TEXT,
    latency_ms       BIGINT,
    error            TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, position);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

-- Every statement that writes events announces it on channel `faos_events`
-- (payload: this schema), delivered when the transaction commits, so the
-- dispatchers of every node wake without tight polling.
CREATE FUNCTION faos_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('faos_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION faos_notify_events();
