//! The error envelope (CONTRACT §2): the one place an [`Error`] becomes an
//! HTTP response, `{"error": {"code", "message", "param"?}, "meta":
//! {"request_id"}}`. Internal errors are logged with their cause and shown
//! without it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::context;
use crate::api::envelope::json_response;
use crate::error::Error;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    pub meta: ErrorMeta,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// One of the contract's codes: `invalid_request`, `unauthenticated`,
    /// `permission_denied`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `idempotency_key_reused`, `rate_limit_exceeded`,
    /// `internal_error`, `model_error`, `unavailable`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The parameter at fault, as a path (`tools[0].url`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

/// Metadata of an error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorMeta {
    pub request_id: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let request_id = context::request_id();
        match &self {
            Error::Internal(cause) => {
                tracing::error!(request_id = %request_id, error = %format!("{cause:#}"), "internal error")
            }
            Error::Unavailable(reason) => {
                tracing::warn!(request_id = %request_id, reason = %reason, "unavailable")
            }
            Error::Model(reason) => {
                tracing::warn!(request_id = %request_id, reason = %reason, "model error")
            }
            _ => {}
        }
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.public_message(),
                param: self.param().map(str::to_string),
            },
            meta: ErrorMeta { request_id },
        };
        let mut response = json_response(status, &body);
        if matches!(self, Error::Unauthenticated(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"faos\""),
            );
        }
        response
    }
}
