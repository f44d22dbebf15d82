//! The one error type of FAOS. Domain code returns [`Error`]; `api::error`
//! maps it to the wire (CONTRACT §2) in exactly one place.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a request can end in. Each variant is one row of the
/// contract's error table; the HTTP status and `code` come from
/// [`Error::code`] and [`Error::status`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `invalid_request`: a malformed body or parameter; `param` names it
    /// using dotted paths with brackets for list indexes (`tools[0].url`).
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<String>,
    },
    /// 401 `unauthenticated`: no credentials, or unknown/revoked/expired ones.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403 `permission_denied`: valid credentials lacking a scope.
    #[error("{0}")]
    PermissionDenied(String),
    /// 404 `not_found`: no such resource for this caller.
    #[error("{message}")]
    NotFound {
        message: String,
        param: Option<String>,
    },
    /// 405 `method_not_allowed`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 `conflict`: a state conflict.
    #[error("{message}")]
    Conflict {
        message: String,
        param: Option<String>,
    },
    /// 422 `idempotency_key_reused`: the `Idempotency-Key` was used for a
    /// different request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// 413 `payload_too_large`: the body exceeds the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 `rate_limit_exceeded`: the organization's plan allows no more
    /// requests in this window (the middleware adds `Retry-After`).
    #[error("{0}")]
    RateLimited(String),
    /// 502 `model_error`: the model provider failed or timed out.
    #[error("{0}")]
    Model(String),
    /// 503 `unavailable`: the database is unreachable or the server is
    /// shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `internal_error`: the cause is logged, never sent to the client.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl Error {
    /// `400 invalid_request` naming the offending parameter.
    pub fn invalid(param: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::InvalidRequest {
            message: message.to_string(),
            param: Some(param.into()),
        }
    }

    /// `400 invalid_request` that concerns no single parameter.
    pub fn invalid_body(message: impl fmt::Display) -> Self {
        Error::InvalidRequest {
            message: message.to_string(),
            param: None,
        }
    }

    /// `404 not_found` for a resource named by the path parameter `param`.
    pub fn not_found(kind: &str, id: &str, param: &str) -> Self {
        Error::NotFound {
            message: format!("No such {kind}: '{id}'"),
            param: Some(param.to_string()),
        }
    }

    /// The machine-readable `code` of the contract's error table.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. } => "invalid_request",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::PermissionDenied(_) => "permission_denied",
            Error::NotFound { .. } => "not_found",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Conflict { .. } => "conflict",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::IdempotencyKeyReused(_) => "idempotency_key_reused",
            Error::RateLimited(_) => "rate_limit_exceeded",
            Error::Model(_) => "model_error",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status code of the contract's error table.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidRequest { .. } => 400,
            Error::Unauthenticated(_) => 401,
            Error::PermissionDenied(_) => 403,
            Error::NotFound { .. } => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::Conflict { .. } => 409,
            Error::PayloadTooLarge(_) => 413,
            Error::IdempotencyKeyReused(_) => 422,
            Error::RateLimited(_) => 429,
            Error::Model(_) => 502,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }

    /// The parameter the error is about, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::InvalidRequest { param, .. }
            | Error::NotFound { param, .. }
            | Error::Conflict { param, .. } => param.as_deref(),
            Error::IdempotencyKeyReused(_) => Some("Idempotency-Key"),
            _ => None,
        }
    }

    /// The message safe to show a client: never internals for a 500.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => {
                "An internal error occurred. The request id identifies it in the server log."
                    .to_string()
            }
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable(format!("the database is unavailable: {err}"))
            }
            other => Error::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Error::Internal(err)
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(anyhow::Error::new(err))
    }
}
