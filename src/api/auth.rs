//! Authentication (CONTRACT §3): the secret key comes from
//! `Authorization: Bearer <key>` or, not recommended, `?api_key=<key>`. The
//! key is hashed and looked up; only its SHA-256 is stored. Found keys are
//! kept in memory for [`KEY_CACHE_TTL`], so a busy key costs no database
//! read per request; a key revoked in the database stops working within
//! that time on every process.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    /// Errors: `401 unauthenticated` for a missing, malformed, unknown,
    /// revoked or expired key.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Error> {
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
        if record.revoked_at.is_some() {
            return Err(Error::Unauthenticated(
                "This API key has been revoked.".into(),
            ));
        }
        if record.expires_at.is_some_and(|at| at <= clock::now_ms()) {
            return Err(Error::Unauthenticated("This API key has expired.".into()));
        }
        Ok(Caller {
            tenant: Tenant {
                org_id: record.org_id,
                mode: record.mode,
            },
            key_id: record.id,
            scopes: record.scopes,
        })
    }
}

/// The secret from the `Authorization` header, else from `api_key`.
pub(crate) fn presented_secret(parts: &Parts) -> Result<String, Error> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default().trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Error::Unauthenticated(
                "Malformed Authorization header; use 'Authorization: Bearer sk_live_…'.".into(),
            ));
        }
        return Ok(token.trim().to_string());
    }
    let query = parts.uri.query().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "api_key")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            Error::Unauthenticated(
                "No API key provided. Send 'Authorization: Bearer sk_live_…' (or ?api_key=, not recommended).".into(),
            )
        })
}
