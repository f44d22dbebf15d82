//! Managing API keys through the API (`/v1/api_keys`): restricted keys
//! (`rk_live_…`, `rk_test_…`) carry only the scopes they are made with and
//! may expire; any key can be revoked. Only secret keys (`sk_…`, every
//! scope) may manage keys, so a restricted key cannot mint a stronger one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Caller, Mode, checked_scopes, keys};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::store::{ApiKeyRecord, Keyed, PageRequest, Store};

/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// An API key as the API shows it: never its secret, except once in the
/// answer that creates it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "api_key")]
pub struct ApiKey {
    /// `key_…`
    pub id: String,
    pub name: Option<String>,
    pub mode: Mode,
    /// The key's scopes; `null` for a secret key (every scope).
    pub scopes: Option<Vec<String>>,
    /// Recognisable form, e.g. `rk_live_…Wx9z`.
    pub redacted: String,
    /// The key itself: only in the answer that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<i64>,
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<i64>,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
}

impl From<ApiKeyRecord> for ApiKey {
    fn from(record: ApiKeyRecord) -> Self {
        ApiKey {
            id: record.id,
            name: record.name,
            mode: record.mode,
            scopes: record.scopes,
            redacted: record.redacted,
            secret: None,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            metadata: record.metadata,
        }
    }
}

/// Body of `POST /v1/api_keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: Option<String>,
    /// One or more of the contract's scopes, e.g. `["agents:read"]`.
    #[schema(required = true, value_type = Vec<String>)]
    pub scopes: Option<Vec<String>>,
    /// RFC 3339 time after which the key stops working; in the future.
    pub expires_at: Option<String>,
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Creates a restricted key for the caller's organization and mode; the
/// answer holds its secret, once.
///
/// Errors: `403` for a restricted caller; `400` naming `scopes`,
/// `scopes[i]`, `name`, `expires_at` or `metadata…`.
pub async fn create(store: &dyn Store, caller: &Caller, input: CreateApiKey) -> Result<ApiKey> {
    caller.require_secret_key("manage API keys")?;
    let checked = checked_scopes(input.scopes)?;
    if let Some(name) = &input.name
        && (name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control))
    {
        return Err(Error::invalid(
            "name",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let now = clock::now_ms();
    let expires_at = input
        .expires_at
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.timestamp_millis())
                .ok()
                .filter(|ms| *ms > now)
                .ok_or_else(|| {
                    Error::invalid(
                        "expires_at",
                        "expires_at must be an RFC 3339 time in the future",
                    )
                })
        })
        .transpose()?;
    let metadata = metadata::validate(input.metadata.unwrap_or_default())?;
    let made = keys::generate(keys::SecretKind::RestrictedKey, caller.tenant.mode);
    let record = ApiKeyRecord {
        id: new_id(IdKind::ApiKey),
        org_id: caller.tenant.org_id.clone(),
        mode: caller.tenant.mode,
        name: input.name,
        secret_hash: made.hash.to_vec(),
        redacted: made.redacted,
        scopes: Some(checked),
        created_at: now,
        expires_at,
        revoked_at: None,
        client_id: None,
        metadata,
    };
    store.insert_api_key(&record).await?;
    Ok(ApiKey {
        secret: Some(made.secret),
        ..ApiKey::from(record)
    })
}

/// One page of the tenant's keys, never their secrets.
pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    page: PageRequest,
) -> Result<Vec<Keyed<ApiKey>>> {
    caller.require_secret_key("manage API keys")?;
    let rows = store.list_api_keys(&caller.tenant, page).await?;
    Ok(rows
        .into_iter()
        .map(|k| Keyed {
            position: k.position,
            item: ApiKey::from(k.item),
        })
        .collect())
}

/// Revokes a key; it stops working at once in this process and within the
/// key cache's lifetime (5 s) in others.
pub async fn revoke(store: &dyn Store, caller: &Caller, id: &str) -> Result<ApiKey> {
    caller.require_secret_key("manage API keys")?;
    store
        .revoke_api_key(&caller.tenant, id)
        .await?
        .map(ApiKey::from)
        .ok_or_else(|| Error::not_found("API key", id, "id"))
}
