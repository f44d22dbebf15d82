//! `/v1/api_keys`: restricted keys (CONTRACT §3). Only secret keys may call
//! these.

use axum::extract::State;

use crate::access::Caller;
use crate::access::api_keys::{self, ApiKey, CreateApiKey};
use crate::api::envelope::{Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Result;

/// List the API keys of this organization and mode (never their secrets).
#[utoipa::path(
    get, path = "/v1/api_keys", tag = "Access", operation_id = "listApiKeys",
    params(PageParams),
    responses((status = 200, description = "A page of keys.", body = ListEnvelope<ApiKey>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<ApiKey>> {
    let list = format!(
        "api_keys\n{}\n{}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    );
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = api_keys::list(state.store.as_ref(), &caller, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Create a restricted key (`rk_live_…` / `rk_test_…`) with the scopes
/// given. The answer holds its `secret`, shown this once.
#[utoipa::path(
    post, path = "/v1/api_keys", tag = "Access", operation_id = "createApiKey",
    request_body = CreateApiKey,
    responses((status = 201, description = "The new key, with its secret.", body = Envelope<ApiKey>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateApiKey>,
) -> Result<Reply<ApiKey>> {
    Ok(
        Reply::created(api_keys::create(state.store.as_ref(), &caller, input).await?)
            .showing_secret(),
    )
}

/// Revoke a key: it stops working at once on this server, and within 5 s
/// on every server sharing the database.
#[utoipa::path(
    delete, path = "/v1/api_keys/{id}", tag = "Access", operation_id = "revokeApiKey",
    params(("id" = String, Path, description = "The key's id, `key_…`.")),
    responses((status = 200, description = "The revoked key.", body = Envelope<ApiKey>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<ApiKey>> {
    let key = api_keys::revoke(state.store.as_ref(), &caller, &id).await?;
    state.keys.invalidate_all();
    Ok(Reply::ok(key))
}
