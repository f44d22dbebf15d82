//! `/v1/templates`: the built-in agent templates.

use axum::extract::State;

use crate::access::{Caller, Permission};
use crate::agents::templates::{self, Template};
use crate::api::envelope::{ListEnvelope, Page};
use crate::app::AppState;
use crate::error::Error;

/// List the built-in agent templates. Not paginated: the list is short and
/// fixed, so `has_more` is always `false`.
#[utoipa::path(
    get, path = "/v1/templates", tag = "Agents", operation_id = "listTemplates",
    responses((status = 200, description = "Every template.", body = ListEnvelope<Template>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn list_templates(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Page<Template>, Error> {
    caller.require(Permission::AgentsRead)?;
    Ok(Page {
        data: templates::all(state.models.default_model()),
        has_more: false,
        next_cursor: None,
    })
}
