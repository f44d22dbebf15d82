//! Authentication (CONTRACT §3): the secret key comes from
//! `Authorization: Bearer <key>` or, not recommended, `?api_key=<key>`. The
//! key is hashed and looked up; only its SHA-256 is stored. Found keys are
//! kept in memory for [`KEY_CACHE_TTL`], so a busy key costs no database
//! read per request; a key revoked in the database stops working within
//! that time on every process. OAuth access tokens (`at_…`) are stored
//! and checked the same way.
//!
//! [`authenticate`] is the middleware of every route that needs
//! credentials: it finds the caller, counts the request against the rate
//! limits (CONTRACT §5) and adds the `X-RateLimit-*` headers to the answer.
//! Handlers take the [`Caller`] it found as an extractor.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::{Caller, Tenant, keys};
use crate::app::AppState;
use crate::clock;
use crate::error::Error;

/// How long a looked-up key is trusted without reading it again.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Most keys kept in memory.
pub const KEY_CACHE_CAPACITY: u64 = 10_000;

/// Keys by the SHA-256 of their secret.
pub type KeyCache = moka::sync::Cache<[u8; 32], crate::store::ApiKeyRecord>;

/// A new, empty key cache.
pub fn key_cache() -> KeyCache {
    moka::sync::Cache::builder()
        .max_capacity(KEY_CACHE_CAPACITY)
        .time_to_live(KEY_CACHE_TTL)
        .build()
}

/// The middleware: `401` without valid credentials, `429` over the rate
/// limit (with `Retry-After`), else the request goes on with its
/// [`Caller`]; every answer from here on carries the `X-RateLimit-*`
/// headers.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match find_caller(&parts, &state).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let now = clock::now_ms();
    let decision = match state
        .limiter
        .take(state.store.as_ref(), &caller.tenant, now)
        .await
    {
        Ok(decision) => decision,
        Err(err) => return err.into_response(),
    };
    let mut response = if decision.accepted {
        parts.extensions.insert(caller);
        next.run(Request::from_parts(parts, body)).await
    } else {
        let window = decision.nearest();
        Error::RateLimited(format!(
            "Too many requests: this organization's plan allows {} requests per {} in {} mode. Retry after the time in the Retry-After header.",
            window.limit,
            window.kind.as_str(),
            caller.tenant.mode.as_str()
        ))
        .into_response()
    };
    decision.write_headers(now, response.headers_mut());
    response
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    /// The caller [`authenticate`] found.
    ///
    /// Errors: `401 unauthenticated` on a route without that middleware
    /// (a wiring mistake, never a client's).
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Caller, Error> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Error::Unauthenticated("This route takes no credentials.".into()))
    }
}

/// Errors: `401 unauthenticated` for missing, malformed, unknown, revoked
/// or expired credentials.
async fn find_caller(parts: &Parts, state: &AppState) -> Result<Caller, Error> {
    let secret = presented_secret(parts)?;
    let hash = keys::hash(&secret);
    let unknown = || {
        let shown: String = secret.chars().take(8).collect();
        Error::Unauthenticated(format!("Invalid API key provided: {shown}…"))
    };
    let record = match state.keys.get(&hash) {
        Some(record) => record,
        None => {
            let record = state.store.find_api_key(&hash).await?.ok_or_else(unknown)?;
            state.keys.insert(hash, record.clone());
            record
        }
    };
    if !keys::digests_equal(&record.secret_hash, &hash)
        || keys::mode_of(&secret) != Some(record.mode)
    {
        return Err(unknown());
    }
    let what = if record.client_id.is_some() {
        "access token"
    } else {
        "API key"
    };
    if record.revoked_at.is_some() {
        return Err(Error::Unauthenticated(format!(
            "This {what} has been revoked."
        )));
    }
    if record.expires_at.is_some_and(|at| at <= clock::now_ms()) {
        return Err(Error::Unauthenticated(format!("This {what} has expired.")));
    }
    Ok(Caller {
        tenant: Tenant {
            org_id: record.org_id,
            mode: record.mode,
        },
        key_id: record.id,
        scopes: record.scopes,
        client_id: record.client_id,
    })
}

/// The secret from the `Authorization` header, else from `api_key`.
///
/// Errors: `400 invalid_request` (`param: api_key`) when both carry one:
/// a client must use one method per request (RFC 6750 §2).
fn presented_secret(parts: &Parts) -> Result<String, Error> {
    let query = parts.uri.query().unwrap_or_default();
    let mut in_query = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "api_key")
        .map(|(_, value)| value.into_owned());
    let (in_query, twice) = (in_query.next(), in_query.next().is_some());
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        if in_query.is_some() || twice {
            return Err(Error::invalid(
                "api_key",
                "Send the API key once: in the Authorization header or in api_key, not both.",
            ));
        }
        let value = value.to_str().unwrap_or_default().trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Error::Unauthenticated(
                "Malformed Authorization header; use 'Authorization: Bearer sk_live_…'.".into(),
            ));
        }
        return Ok(token.trim().to_string());
    }
    if twice {
        return Err(Error::invalid(
            "api_key",
            "The query parameter 'api_key' is given more than once; send the key once.",
        ));
    }
    in_query
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            Error::Unauthenticated(
                "No API key provided. Send 'Authorization: Bearer sk_live_…' (or ?api_key=, not recommended).".into(),
            )
        })
}
