//! `/v1/templates`: the built-in agent templates.

use axum::extract::State;

use crate::access::{Caller, Permission};
use crate::agents::templates::{self, Template};
use crate::api::envelope::{ListEnvelope, Page};
use crate::api::extract::QueryParams;
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Error;

/// List the built-in agent templates, paginated like every list.
#[utoipa::path(
    get, path = "/v1/templates", tag = "Agents", operation_id = "listTemplates",
    params(PageParams),
    responses((status = 200, description = "A page of templates.", body = ListEnvelope<Template>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn list_templates(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Template>, Error> {
    caller.require(Permission::AgentsRead)?;
    let templates = templates::all(state.models.default_model());
    state.cursors.page_of("templates", &params, templates)
}
