//! `/v1/models`: the models agents can use on this server.

use axum::extract::State;

use crate::access::{Caller, Permission};
use crate::api::envelope::{ListEnvelope, Page};
use crate::api::extract::QueryParams;
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Result;
use crate::models::catalog::ModelInfo;

/// List the models of the configured providers (the builtin ones always),
/// paginated like every list.
#[utoipa::path(
    get, path = "/v1/models", tag = "Agents", operation_id = "listModels",
    params(PageParams),
    responses((status = 200, description = "Every model offered.", body = ListEnvelope<ModelInfo>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn list_models(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<ModelInfo>> {
    caller.require(Permission::AgentsRead)?;
    state
        .cursors
        .page_of("models", &params, state.models.catalog().models().to_vec())
}
