//! The success envelope (CONTRACT §2): `{"data": …, "meta": {"request_id",
//! "timestamp"}}`, plus `has_more` and `next_cursor` on lists.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::context;
use crate::clock;

/// Metadata of every success response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// `req_…`, equal to the `X-Request-Id` header.
    pub request_id: String,
    /// When the response was made, RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// A single-object response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
    pub meta: Meta,
}

/// Metadata of a list response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    pub request_id: String,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Whether another page follows.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A list response: one page of objects.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListEnvelope<T> {
    pub data: Vec<T>,
    pub meta: ListMeta,
}

/// The answer of a `DELETE`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    pub id: String,
    /// The kind of object deleted, e.g. `agent`.
    pub object: &'static str,
    pub deleted: bool,
}

/// A handler's successful answer: a status and the `data` to wrap.
pub struct Reply<T> {
    status: StatusCode,
    data: T,
    shows_secret: bool,
}

/// Marks a response that shows a secret once (a new key, client secret or
/// signing secret): the secret must not be kept anywhere, so the answer an
/// idempotency key replays goes without it.
#[derive(Debug, Clone, Copy)]
pub struct ShowsSecret;

impl<T> Reply<T> {
    /// `200 OK`.
    pub fn ok(data: T) -> Self {
        Reply {
            status: StatusCode::OK,
            data,
            shows_secret: false,
        }
    }

    /// `201 Created`.
    pub fn created(data: T) -> Self {
        Reply {
            status: StatusCode::CREATED,
            data,
            shows_secret: false,
        }
    }

    /// This answer shows a secret once (see [`ShowsSecret`]).
    pub fn showing_secret(self) -> Self {
        Reply {
            shows_secret: true,
            ..self
        }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            data: self.data,
            meta: Meta {
                request_id: context::request_id(),
                timestamp: clock::now_rfc3339(),
            },
        };
        let mut response = json_response(self.status, &body);
        if self.shows_secret {
            response.extensions_mut().insert(ShowsSecret);
        }
        response
    }
}

/// One page, ready to render.
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let body = ListEnvelope {
            data: self.data,
            meta: ListMeta {
                request_id: context::request_id(),
                timestamp: clock::now_rfc3339(),
                has_more: self.has_more,
                next_cursor: self.next_cursor,
            },
        };
        json_response(StatusCode::OK, &body)
    }
}

/// Serializes `body` as an `application/json` response.
pub fn json_response<B: Serialize>(status: StatusCode, body: &B) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(err) => crate::error::Error::Internal(err.into()).into_response(),
    }
}
