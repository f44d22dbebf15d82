//! OAuth 2.0 client credentials (RFC 6749 §4.4): clients made with a secret
//! key (`/v1/oauth/clients`), tokens issued at `/v1/oauth/token` and
//! revoked at `/v1/oauth/revoke` (RFC 7009).
//!
//! Tokens are opaque (`at_live_…`, 40 random alphanumerics), not JWTs: they
//! are stored like restricted keys (SHA-256 only, with the client's id, the
//! granted scopes and an expiry), so revoking one works at once and the
//! authentication path is the API keys' one. Errors follow RFC 6749 §5.2.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keys::{self, SecretKind};
use super::{Caller, Mode, checked_scopes};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::store::{ApiKeyRecord, Keyed, OAuthClientRecord, PageRequest, Store};

/// Longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// An OAuth client as the API shows it: never its secret, except once in
/// the answer that creates it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "oauth_client")]
pub struct OAuthClient {
    /// `cli_…`.
    pub id: String,
    /// The OAuth `client_id`: the same as `id`, under the RFC's name.
    pub client_id: String,
    pub name: String,
    pub mode: Mode,
    /// The most a token of this client may carry.
    pub scopes: Vec<String>,
    /// The `client_secret` (`cs_live_…`): only in the answer that creates
    /// the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
}

impl From<OAuthClientRecord> for OAuthClient {
    fn from(record: OAuthClientRecord) -> Self {
        OAuthClient {
            client_id: record.id.clone(),
            id: record.id,
            name: record.name,
            mode: record.mode,
            scopes: record.scopes,
            client_secret: None,
            created_at: record.created_at,
            metadata: record.metadata,
        }
    }
}

/// Body of `POST /v1/oauth/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOAuthClient {
    /// 1–256 characters.
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    /// One or more of the contract's scopes.
    #[schema(required = true, value_type = Vec<String>)]
    pub scopes: Option<Vec<String>>,
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Creates a client in the caller's organization and mode; the answer
/// holds its `client_secret`, once.
///
/// Errors: `403` for restricted credentials; `400` naming `name`,
/// `scopes`, `scopes[i]` or `metadata…`.
pub async fn create(
    store: &dyn Store,
    caller: &Caller,
    input: CreateOAuthClient,
) -> Result<OAuthClient> {
    caller.require_secret_key("manage OAuth clients")?;
    let name = input
        .name
        .ok_or_else(|| Error::invalid("name", "The 'name' field is required"))?;
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters, not blank"),
        ));
    }
    let scopes = checked_scopes(input.scopes)?;
    let metadata = metadata::validate(input.metadata.unwrap_or_default())?;
    let secret = keys::generate(SecretKind::ClientSecret, caller.tenant.mode);
    let record = OAuthClientRecord {
        id: new_id(IdKind::OAuthClient),
        org_id: caller.tenant.org_id.clone(),
        mode: caller.tenant.mode,
        name,
        secret_hash: secret.hash.to_vec(),
        scopes,
        created_at: clock::now_ms(),
        metadata,
    };
    store.insert_oauth_client(&record).await?;
    Ok(OAuthClient {
        client_secret: Some(secret.secret),
        ..OAuthClient::from(record)
    })
}

/// One page of the tenant's clients, never their secrets.
pub async fn list(
    store: &dyn Store,
    caller: &Caller,
    page: PageRequest,
) -> Result<Vec<Keyed<OAuthClient>>> {
    caller.require_secret_key("manage OAuth clients")?;
    let rows = store.list_oauth_clients(&caller.tenant, page).await?;
    Ok(rows
        .into_iter()
        .map(|row| Keyed {
            position: row.position,
            item: OAuthClient::from(row.item),
        })
        .collect())
}

/// Deletes a client; its tokens stop working with it.
///
/// Errors: `403` for restricted credentials; `404` for no such client.
pub async fn delete(store: &dyn Store, caller: &Caller, id: &str) -> Result<()> {
    caller.require_secret_key("manage OAuth clients")?;
    if store.delete_oauth_client(&caller.tenant, id).await? {
        Ok(())
    } else {
        Err(Error::not_found("OAuth client", id, "id"))
    }
}

/// An RFC 6749 §5.2 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidScope,
    UnsupportedGrantType,
}

impl OAuthErrorCode {
    /// The code as sent in `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
        }
    }
}

/// An error of the token or revocation endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub enum OAuthError {
    /// One of the RFC's errors, with a human-readable description.
    Protocol(OAuthErrorCode, String),
    /// The server failed (database down, …): answered with the usual
    /// envelope, since no RFC error fits.
    Server(Error),
}

impl From<Error> for OAuthError {
    fn from(err: Error) -> Self {
        OAuthError::Server(err)
    }
}

fn oauth_error(code: OAuthErrorCode, description: impl Into<String>) -> OAuthError {
    OAuthError::Protocol(code, description.into())
}

/// The client credentials a request presented (HTTP Basic or form fields).
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// Checks client credentials: the stored client whose secret matches.
///
/// Errors: `invalid_client` for an unknown client or a wrong secret (the
/// same answer for both).
pub async fn authenticate(
    store: &dyn Store,
    credentials: &ClientCredentials,
) -> std::result::Result<OAuthClientRecord, OAuthError> {
    let invalid = || {
        oauth_error(
            OAuthErrorCode::InvalidClient,
            "Client authentication failed.",
        )
    };
    // No stored id holds NUL (and PostgreSQL cannot even compare one).
    if credentials.client_id.contains('\0') {
        return Err(invalid());
    }
    let client = store
        .find_oauth_client(&credentials.client_id)
        .await?
        .ok_or_else(invalid)?;
    if !keys::digests_equal(&client.secret_hash, &keys::hash(&credentials.client_secret)) {
        return Err(invalid());
    }
    Ok(client)
}

/// The successful answer of the token endpoint (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer credential, `at_live_…` / `at_test_…`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// Issues an access token for `grant_type=client_credentials` with the
/// requested `scope` (space-separated, a subset of the client's; all of
/// them when absent), valid `ttl_seconds`.
///
/// Errors: `unsupported_grant_type`; `invalid_scope` for a scope the
/// client does not hold or that does not exist; `invalid_client`.
pub async fn issue_token(
    store: &dyn Store,
    credentials: &ClientCredentials,
    grant_type: &str,
    scope: Option<&str>,
    ttl_seconds: u64,
) -> std::result::Result<TokenResponse, OAuthError> {
    let client = authenticate(store, credentials).await?;
    if grant_type != "client_credentials" {
        return Err(oauth_error(
            OAuthErrorCode::UnsupportedGrantType,
            format!("grant_type '{grant_type}' is not supported; use client_credentials"),
        ));
    }
    let scopes: Vec<String> = match scope {
        None => client.scopes.clone(),
        Some(scope) => {
            let mut granted: Vec<String> = Vec::new();
            for wanted in scope.split(' ').filter(|s| !s.is_empty()) {
                if !client.scopes.iter().any(|s| s == wanted) {
                    return Err(oauth_error(
                        OAuthErrorCode::InvalidScope,
                        format!("the scope '{wanted}' is not granted to this client"),
                    ));
                }
                if !granted.iter().any(|s| s == wanted) {
                    granted.push(wanted.to_string());
                }
            }
            if granted.is_empty() {
                return Err(oauth_error(
                    OAuthErrorCode::InvalidScope,
                    "scope names no scope; omit it to get all of the client's",
                ));
            }
            granted
        }
    };
    let made = keys::generate(SecretKind::AccessToken, client.mode);
    let now = clock::now_ms();
    let ttl_ms = i64::try_from(ttl_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let record = ApiKeyRecord {
        id: new_id(IdKind::AccessToken),
        org_id: client.org_id,
        mode: client.mode,
        name: None,
        secret_hash: made.hash.to_vec(),
        redacted: made.redacted,
        scopes: Some(scopes.clone()),
        created_at: now,
        expires_at: Some(now.saturating_add(ttl_ms)),
        revoked_at: None,
        client_id: Some(client.id),
        metadata: Metadata::new(),
    };
    store.insert_api_key(&record).await?;
    Ok(TokenResponse {
        access_token: made.secret,
        token_type: "Bearer",
        expires_in: ttl_seconds,
        scope: scopes.join(" "),
    })
}

/// Revokes `token` if the authenticated client owns it (RFC 7009 §2.1).
/// Unknown tokens, other clients' tokens and tokens already revoked are
/// not errors (§2.2): the answer tells nothing about them.
///
/// Errors: `invalid_client`.
pub async fn revoke(
    store: &dyn Store,
    credentials: &ClientCredentials,
    token: &str,
) -> std::result::Result<(), OAuthError> {
    let client = authenticate(store, credentials).await?;
    store
        .revoke_token(&client.id, &keys::hash(token), clock::now_ms())
        .await?;
    Ok(())
}
