//! Pure logic both backends share: keyset page bounds, decoding stored
//! enums and modes, the idempotency-key decision, webhook fan-out targets
//! and attempt outcomes. Nothing here runs SQL; each backend keeps its own
//! queries and row mapping (their placeholders and column types differ).

use serde_json::Value;

use crate::access::{Mode, Tenant};
use crate::error::{Error, Result};
use crate::models::Usage;
use crate::store::{EventMatcher, IdempotencyState, Order, PageRequest};
use crate::webhooks::{Attempt, DeliveryStatus};

/// Longest webhook response body kept per attempt, in bytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 4096;

/// The end of a keyset page query on `column`: its bound, order and limit
/// (`col < $b ORDER BY col DESC LIMIT $l`), and the bound's value.
/// `bound` and `limit` are the backend's placeholders for the two values
/// (`?` on SQLite, `$n` on PostgreSQL); bind the bound, then the limit.
pub(crate) fn keyset(page: PageRequest, column: &str, bound: &str, limit: &str) -> (String, i64) {
    match page.order {
        Order::Desc => (
            format!("{column} < {bound} ORDER BY {column} DESC LIMIT {limit}"),
            page.after.unwrap_or(i64::MAX),
        ),
        Order::Asc => (
            format!("{column} > {bound} ORDER BY {column} ASC LIMIT {limit}"),
            page.after.unwrap_or(0),
        ),
    }
}

/// The error for a stored value the code does not know (a damaged or
/// newer database).
pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(anyhow::anyhow!("bad {what} '{value}' in the database"))
}

/// A stored mode.
pub(crate) fn parse_mode(text: &str) -> Result<Mode> {
    Mode::parse(text).ok_or_else(|| corrupt("mode", text))
}

/// A tenant as the two column values every scoped query binds.
pub(crate) fn tenant_args(tenant: &Tenant) -> (&str, &str) {
    (tenant.org_id.as_str(), tenant.mode.as_str())
}

/// A serde enum as its bare string (`"end_turn"`).
pub(crate) fn enum_text<T: serde::Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value)? {
        Value::String(text) => Ok(text),
        other => Err(Error::Internal(anyhow::anyhow!(
            "{other} is not a unit variant"
        ))),
    }
}

/// The serde enum a stored string names.
pub(crate) fn enum_from<T: serde::de::DeserializeOwned>(text: String) -> Result<T> {
    Ok(serde_json::from_value(Value::String(text))?)
}

/// A message's usage from its two stored token counts (both or nothing).
pub(crate) fn usage_from(input: Option<i64>, output: Option<i64>) -> Option<Usage> {
    match (input, output) {
        (Some(input), Some(output)) => Some(Usage {
            input_tokens: input as u64,
            output_tokens: output as u64,
        }),
        _ => None,
    }
}

/// A stored JSON text column.
pub(crate) fn json_text(text: Option<String>) -> Result<Option<Value>> {
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// The parts of a stored workflow definition: input schema, steps, output.
pub(crate) fn definition_parts(definition: &Value) -> (Option<Value>, Value, Option<Value>) {
    let non_null = |v: &Value| (!v.is_null()).then(|| v.clone());
    (
        non_null(&definition["input_schema"]),
        definition["steps"].clone(),
        non_null(&definition["output"]),
    )
}

/// An idempotency key's row as both backends read it.
pub(crate) struct StoredIdempotency {
    pub fingerprint: Vec<u8>,
    pub status: String,
    pub response_status: Option<i64>,
    pub content_type: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a stored key means for a request with `fingerprint`; `None`: the
/// key is free to claim (absent, expired, or abandoned in progress).
pub(crate) fn idempotency_state(
    stored: Option<StoredIdempotency>,
    fingerprint: &[u8],
    expired_before: i64,
    stale_before: i64,
) -> Option<IdempotencyState> {
    let row = stored.filter(|row| row.created_at >= expired_before)?;
    if row.fingerprint != fingerprint {
        Some(IdempotencyState::Mismatch)
    } else if row.status == "done" {
        Some(IdempotencyState::Done(
            row.response_status.unwrap_or_default() as u16,
            row.content_type,
            row.response_body.unwrap_or_default(),
        ))
    } else if row.updated_at >= stale_before {
        Some(IdempotencyState::InProgress)
    } else {
        None
    }
}

/// The endpoints an event goes to: its one target if it has one, else
/// every enabled endpoint (id, patterns) of its tenant that `matches` it.
pub(crate) fn delivery_targets(
    target: Option<String>,
    endpoints: &[(String, Vec<String>)],
    kind: &str,
    matches: EventMatcher,
) -> Vec<String> {
    match target {
        Some(endpoint) => vec![endpoint],
        None => endpoints
            .iter()
            .filter(|(_, patterns)| matches(patterns, kind))
            .map(|(id, _)| id.clone())
            .collect(),
    }
}

/// A delivery's status after an attempt.
pub(crate) fn status_after(attempt: &Attempt) -> DeliveryStatus {
    match (attempt.succeeded, attempt.next_attempt_at) {
        (true, _) => DeliveryStatus::Succeeded,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    }
}

/// The kept part of an attempt's response body.
pub(crate) fn kept_body(attempt: &Attempt) -> Option<&str> {
    attempt
        .response_body
        .as_deref()
        .map(|b| truncate(b, MAX_RESPONSE_BYTES))
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The highest migration version applied (sqlx's bookkeeping table; the
/// same SQL on every backend). Fails when the table does not exist.
pub(crate) const APPLIED_MIGRATION: &str =
    "SELECT MAX(version) FROM _sqlx_migrations WHERE success";

/// `Ok` when `applied` (the highest applied version, if any) is the latest
/// migration `migrator` knows.
///
/// Errors: `503 unavailable` naming the first pending migration.
pub(crate) fn require_migrated(
    migrator: &sqlx::migrate::Migrator,
    applied: Option<i64>,
) -> Result<()> {
    let applied = applied.unwrap_or(0);
    match migrator.iter().find(|m| m.version > applied) {
        None => Ok(()),
        Some(pending) => Err(Error::Unavailable(format!(
            "the database is not migrated (migration {} '{}' is pending): run 'faos migrate' first",
            pending.version, pending.description
        ))),
    }
}
