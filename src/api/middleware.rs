//! Cross-cutting request handling: a request id for every request (header
//! `X-Request-Id` and `meta.request_id`), one structured log line per
//! request, panics turned into `500 internal_error`, and bodies of errors
//! made outside our handlers (unknown route, wrong method, body limit)
//! rewritten into the error envelope.

use std::any::Any;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::context;
use crate::error::Error;
use crate::ids::random_alphanumeric;

/// Outermost middleware: request id, envelope for foreign errors, log line.
pub async fn request_context(request: Request, next: Next) -> Response {
    let request_id = format!("req_{}", random_alphanumeric(24));
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let mut response = context::scope(request_id.clone(), async move {
        let response = next.run(request).await;
        envelope_foreign_error(response)
    })
    .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// An error response whose body is not already JSON (made by axum or a
/// layer, not by us) gets the error envelope; its headers (`Allow`) stay.
fn envelope_foreign_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => Error::NotFound {
            message: "Unrecognized request URL.".into(),
            param: None,
        },
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Error::MethodNotAllowed(format!(
                "This URL does not accept this method. Allowed: {allowed}."
            ))
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge("The request body is too large.".into())
        }
        s if s.is_server_error() => Error::Internal(anyhow::anyhow!("{s} from a layer")),
        _ => Error::invalid_body(status.canonical_reason().unwrap_or("Bad request")),
    };
    let (mut parts, _) = response.into_parts();
    let rendered = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, rendered.into_body())
}

/// The `CatchPanic` handler: logs the panic, answers `500 internal_error`.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    Error::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

/// Unknown routes: `404 not_found`.
pub async fn not_found(request: Request) -> Error {
    Error::NotFound {
        message: format!(
            "Unrecognized request URL ({} {}).",
            request.method(),
            request.uri().path()
        ),
        param: None,
    }
}
