//! Time: stored as Unix milliseconds (`i64`), shown as RFC 3339 UTC strings
//! with millisecond precision (`2025-01-15T10:30:00.000Z`).

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// RFC 3339 UTC rendering of Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 UTC rendering of the current time.
pub fn now_rfc3339() -> String {
    rfc3339(now_ms())
}

/// `serialize_with` helper: Unix milliseconds as an RFC 3339 string.
pub fn serialize_ms<S: serde::Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*ms))
}

/// `serialize_with` helper: optional Unix milliseconds as an RFC 3339
/// string or `null`.
pub fn serialize_optional_ms<S: serde::Serializer>(
    ms: &Option<i64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => serializer.serialize_str(&rfc3339(*ms)),
        None => serializer.serialize_none(),
    }
}
