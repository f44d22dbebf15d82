//! What the HTTP adapters share: the provider's endpoint and client,
//! reading its Server-Sent Events streams, and turning HTTP and transport
//! failures into [`ModelError`]s.

use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};

use super::ModelError;
use super::retry;

/// Longest provider error text passed on to the caller, in characters.
const MAX_ERROR_CHARS: usize = 300;

/// One provider API endpoint: its URL, key and a client that follows no
/// redirect and gives up after `timeout`.
pub struct ProviderEndpoint {
    pub url: String,
    pub api_key: Option<String>,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

impl ProviderEndpoint {
    /// `path` is appended to `base_url` (trailing `/` ignored); an empty key
    /// counts as none.
    pub fn new(
        base_url: &str,
        path: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(ProviderEndpoint {
            url: format!("{}{path}", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            timeout,
        })
    }
}

/// The events of a streaming response, or the reason it broke.
pub fn events(response: reqwest::Response) -> impl Stream<Item = Result<Event, ModelError>> {
    response.bytes_stream().eventsource().map(|item| {
        item.map_err(|err| ModelError {
            message: format!("the provider's stream broke: {err}"),
            retryable: false,
            retry_after: None,
        })
    })
}

/// Sends a request; a non-2xx answer becomes an error carrying the
/// provider's message and, for 429/5xx, a retry hint.
pub async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, ModelError> {
    let response = request
        .send()
        .await
        .map_err(|err| transport_error(&err, timeout))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry::retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    Err(ModelError {
        message: format!(
            "the provider answered HTTP {}: {}",
            status.as_u16(),
            provider_message(&body)
        ),
        retryable: retry::retryable_status(status),
        retry_after,
    })
}

/// A reqwest failure as a model error: timeouts are final, failures to
/// connect may be retried.
pub fn transport_error(err: &reqwest::Error, timeout: Duration) -> ModelError {
    if err.is_timeout() {
        ModelError::fatal(format!(
            "the provider did not answer within {} s",
            timeout.as_secs()
        ))
    } else if err.is_connect() {
        ModelError {
            message: "could not connect to the provider".into(),
            retryable: true,
            retry_after: None,
        }
    } else {
        ModelError::fatal("the connection to the provider failed")
    }
}

/// The `error.message` of an OpenAI- or Anthropic-style error body, else the
/// start of the body, shortened.
pub fn provider_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/error"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().to_string());
    let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
    if message.is_empty() {
        "(no error message)".to_string()
    } else {
        message
    }
}

/// Parses a tool call's arguments; text that is not JSON is kept as a
/// string, which the tool loop then reports back to the model as an error.
pub fn parse_arguments(text: &str) -> serde_json::Value {
    if text.trim().is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// Parses a provider's JSON, with every U+0000 in its strings replaced by
/// U+FFFD: no database stores NUL in text, and a reply holding one must
/// not fail to be saved.
pub fn provider_json(text: &str) -> serde_json::Result<serde_json::Value> {
    fn clean(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => {
                *text = text.replace('\0', "\u{FFFD}");
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(clean),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(clean),
            _ => {}
        }
    }
    let mut value = serde_json::from_str(text)?;
    clean(&mut value);
    Ok(value)
}
