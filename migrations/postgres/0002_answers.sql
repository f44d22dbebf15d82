-- Tool calls in history, per-message model and context reports, and
-- answers: one row per agent answer, which is also the per-conversation
-- lock (at most one running answer per conversation) and the owner of the
-- stream event log used to resume streams.

ALTER TABLE messages ADD COLUMN tool_calls TEXT;
ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
ALTER TABLE messages ADD COLUMN tool_name TEXT;
ALTER TABLE messages ADD COLUMN is_error BOOLEAN;
ALTER TABLE messages ADD COLUMN model TEXT;
ALTER TABLE messages ADD COLUMN context TEXT;

CREATE TABLE answers (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    agent_id         TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    lease_until      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX answers_one_running ON answers (agent_id, conversation_id) WHERE status = 'running';
CREATE INDEX answers_by_age ON answers (created_at);

CREATE TABLE answer_events (
    answer_id  TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    event      TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (answer_id, seq)
);
