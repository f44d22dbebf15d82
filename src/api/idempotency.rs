//! Idempotency keys (CONTRACT §6): a `POST` with `Idempotency-Key` (1–255
//! characters) has its first response — status and body, errors included —
//! stored for 24 hours per API key (or OAuth client) and replayed, with `Idempotent-Replayed:
//! true`, for the same method, path and body; the replayed body's
//! `meta.request_id` is the new request's, like its `X-Request-Id`. The same
//! key with a different request is `422 idempotency_key_reused`; while the
//! first request is still running, `409 conflict`. Not stored, and the key
//! freed again: answers that say "try again" (401, 409, 429) and streams
//! (`text/event-stream`), which cannot be replayed — resume those with
//! their stream endpoint instead. Answers that show a secret once (new
//! keys, OAuth clients and webhook endpoints, rotated secrets) are kept
//! and replayed without the secret, which is never stored: a retry gets
//! the object it made, not a second one.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::access::Caller;
use crate::api::envelope::ShowsSecret;
use crate::app::AppState;
use crate::clock;
use crate::error::Error;
use crate::store::IdempotencyState;

/// How long a first response is kept, in milliseconds.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// After this long, a request still marked running is taken to have died.
const STALE_MS: i64 = 5 * 60 * 1000;
/// Longest key, in characters.
const MAX_KEY_CHARS: usize = 255;

/// The middleware.
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(raw) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    let key = match raw.to_str() {
        Ok(key) if !key.is_empty() && key.chars().count() <= MAX_KEY_CHARS => key.to_string(),
        _ => {
            return Error::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            )
            .into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let Some(caller) = parts.extensions.get::<Caller>() else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let principal = caller.principal().to_string();
    let bytes = match to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Error::PayloadTooLarge(format!(
                "The request body is larger than the limit of {} bytes.",
                state.max_body_bytes
            ))
            .into_response();
        }
    };
    let mut fingerprint = Sha256::new();
    fingerprint.update(parts.method.as_str().as_bytes());
    fingerprint.update(b" ");
    fingerprint.update(parts.uri.path().as_bytes());
    fingerprint.update(b"\n");
    fingerprint.update(&bytes);
    let fingerprint = fingerprint.finalize();
    let now = clock::now_ms();
    let begun = state
        .store
        .begin_idempotent(
            &principal,
            &key,
            &fingerprint,
            now - RETENTION_MS,
            now - STALE_MS,
        )
        .await;
    match begun {
        Err(err) => err.into_response(),
        Ok(IdempotencyState::Mismatch) => Error::IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request (method, path or body)."
                .into(),
        )
        .into_response(),
        Ok(IdempotencyState::InProgress) => Error::Conflict {
            message: "A request with this Idempotency-Key is still being processed; retry later."
                .into(),
            param: Some("Idempotency-Key".into()),
        }
        .into_response(),
        Ok(IdempotencyState::Done(status, content_type, body)) => {
            let body = with_current_request_id(body);
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Some(value) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Ok(IdempotencyState::Claimed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let status = response.status();
            let streaming = content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("text/event-stream"));
            let secret = response.extensions().get::<ShowsSecret>().is_some();
            let transient = matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
            );
            if streaming || transient {
                if let Err(err) = state.store.release_idempotent(&principal, &key).await {
                    tracing::warn!(error = %err, "could not free an idempotency key");
                }
                return response;
            }
            let (parts, body) = response.into_parts();
            let body = match to_bytes(body, usize::MAX).await {
                Ok(body) => body,
                Err(err) => {
                    return Error::Internal(anyhow::anyhow!(
                        "reading a response body failed: {err}"
                    ))
                    .into_response();
                }
            };
            // A secret is shown once: the kept answer goes without it.
            let kept = if secret {
                without_secrets(&body)
            } else {
                body.to_vec()
            };
            if let Err(err) = state
                .store
                .complete_idempotent(
                    &principal,
                    &key,
                    status.as_u16(),
                    content_type.as_deref(),
                    &kept,
                )
                .await
            {
                tracing::warn!(error = %err, "could not store an idempotent response");
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}

/// Fields of `data` that hold a secret shown once: an API key's `secret`,
/// an OAuth client's `client_secret`, a webhook endpoint's signing
/// `secret`.
const SECRET_FIELDS: [&str; 2] = ["secret", "client_secret"];

/// The body of an answer that showed a secret, as kept for replays: the
/// same without [`SECRET_FIELDS`] (secrets are never stored). A body that
/// is not an object answer is kept as `{}`, never as it was.
fn without_secrets(body: &[u8]) -> Vec<u8> {
    let mut value = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
    match value
        .get_mut("data")
        .and_then(serde_json::Value::as_object_mut)
    {
        Some(data) => {
            for field in SECRET_FIELDS {
                data.remove(field);
            }
            serde_json::to_vec(&value).unwrap_or_default()
        }
        None => b"{}".to_vec(),
    }
}

/// A stored JSON body with `meta.request_id` set to this request's id.
fn with_current_request_id(body: Vec<u8>) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(mut value) if value["meta"]["request_id"].is_string() => {
            value["meta"]["request_id"] =
                serde_json::Value::String(crate::api::context::request_id());
            serde_json::to_vec(&value).unwrap_or(body)
        }
        _ => body,
    }
}
