-- Idempotency keys (CONTRACT §6): the first response to a POST with an
-- Idempotency-Key, kept 24 h per API key and replayed for the same request.

CREATE TABLE idempotency_keys (
    principal      TEXT NOT NULL,
    key            TEXT NOT NULL,
    fingerprint    BYTEA NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    response_status BIGINT,
    content_type   TEXT,
    response_body  BYTEA,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
