//! `/v1/models`: the models agents can use on this server.

use axum::extract::State;

use crate::access::{Caller, Permission};
use crate::api::envelope::{ListEnvelope, Page};
use crate::app::AppState;
use crate::error::Result;
use crate::models::catalog::ModelInfo;

/// List the models of the configured providers (the builtin ones always).
/// Not paginated: `has_more` is always `false`.
#[utoipa::path(
    get, path = "/v1/models", tag = "Agents", operation_id = "listModels",
    responses((status = 200, description = "Every model offered.", body = ListEnvelope<ModelInfo>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn list_models(State(state): State<AppState>, caller: Caller) -> Result<Page<ModelInfo>> {
    caller.require(Permission::AgentsRead)?;
    Ok(Page {
        data: state.models.catalog().models().to_vec(),
        has_more: false,
        next_cursor: None,
    })
}
