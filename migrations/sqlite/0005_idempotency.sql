-- Idempotency keys (CONTRACT §6): the first response to a POST with an
-- Idempotency-Key, kept 24 h per API key and replayed for the same request.

CREATE TABLE idempotency_keys (
    principal      TEXT NOT NULL,
    key            TEXT NOT NULL,
    fingerprint    BLOB NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    response_status INTEGER,
    content_type   TEXT,
    response_body  BLOB,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
