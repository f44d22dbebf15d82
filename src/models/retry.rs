//! When to call a model provider again: rate limits (429), overload (529)
//! and server errors (5xx) are retried with exponential backoff and jitter,
//! or after the provider's `Retry-After` / `retry-after-ms` when it sends
//! one, up to `FAOS_MODEL_MAX_RETRIES` times. Timeouts are not retried: the
//! timeout is the call's whole budget.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::ModelError;
use crate::ids;

/// First backoff delay.
const BASE_DELAY: Duration = Duration::from_millis(500);
/// Longest wait between two attempts, whatever the provider asks.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// How many times, and after how long, to call again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    max_retries: u32,
}

impl RetryPolicy {
    /// At most `max_retries` calls after the first.
    pub fn new(max_retries: u32) -> Self {
        RetryPolicy { max_retries }
    }

    /// The wait before retry number `attempt + 1`, or `None` to give up.
    pub fn delay(&self, attempt: u32, error: &ModelError) -> Option<Duration> {
        if !error.retryable || attempt >= self.max_retries {
            return None;
        }
        if let Some(after) = error.retry_after {
            return Some(after.min(MAX_DELAY));
        }
        let backoff = BASE_DELAY
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(MAX_DELAY);
        // Jitter: between half and all of the backoff.
        let fraction = 0.5 + f64::from(ids::random_bytes::<1>()[0]) / 510.0;
        Some(backoff.mul_f64(fraction))
    }
}

/// Whether an HTTP status from a provider is worth retrying.
pub fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// The provider's requested wait: `retry-after-ms` (OpenAI), else
/// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retryable(after: Option<Duration>) -> ModelError {
        ModelError {
            message: "busy".into(),
            retryable: true,
            retry_after: after,
        }
    }

    #[test]
    fn backs_off_then_gives_up() {
        let policy = RetryPolicy::new(2);
        let first = policy.delay(0, &retryable(None)).unwrap();
        assert!(first >= Duration::from_millis(250) && first <= BASE_DELAY);
        let second = policy.delay(1, &retryable(None)).unwrap();
        assert!(second >= BASE_DELAY && second <= BASE_DELAY * 2);
        assert_eq!(policy.delay(2, &retryable(None)), None);
        assert_eq!(policy.delay(0, &ModelError::fatal("no")), None);
    }

    #[test]
    fn honours_the_providers_wait() {
        let policy = RetryPolicy::new(3);
        let wait = Duration::from_millis(1200);
        assert_eq!(policy.delay(0, &retryable(Some(wait))), Some(wait));
        assert_eq!(
            policy.delay(0, &retryable(Some(Duration::from_secs(600)))),
            Some(MAX_DELAY)
        );
    }

    #[test]
    fn reads_retry_after_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&dated),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
    }
}
