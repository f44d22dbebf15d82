//! `/v1/agents`: list, create, get, update, delete (CONTRACT §7 Agents).

use axum::extract::State;

use crate::access::{Caller, Permission};
use crate::agents::{self, Agent, AgentRules, CreateAgent, UpdateAgent};
use crate::api::envelope::{Deleted, Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Error;

fn list_name(caller: &Caller) -> String {
    format!(
        "agents\n{}\n{}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    )
}

fn rules(state: &AppState) -> AgentRules<'_> {
    AgentRules {
        models: &state.models,
        guard: &state.guard,
    }
}

/// List agents, newest first by default.
#[utoipa::path(
    get, path = "/v1/agents", tag = "Agents", operation_id = "listAgents",
    params(PageParams),
    responses((status = 200, description = "A page of agents.", body = ListEnvelope<Agent>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn list_agents(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Agent>, Error> {
    caller.require(Permission::AgentsRead)?;
    let list = list_name(&caller);
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = agents::list(state.store.as_ref(), &caller.tenant, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Create an agent. A `template` fills the fields the request leaves out.
#[utoipa::path(
    post, path = "/v1/agents", tag = "Agents", operation_id = "createAgent",
    request_body = CreateAgent,
    responses((status = 201, description = "The new agent.", body = Envelope<Agent>)),
    security(("bearer" = ["agents:write"]), ("api_key" = ["agents:write"]))
)]
pub async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateAgent>,
) -> Result<Reply<Agent>, Error> {
    caller.require(Permission::AgentsWrite)?;
    let agent = rules(&state)
        .create(state.store.as_ref(), &caller.tenant, input)
        .await?;
    Ok(Reply::created(agent))
}

/// Get an agent.
#[utoipa::path(
    get, path = "/v1/agents/{id}", tag = "Agents", operation_id = "getAgent",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    responses((status = 200, description = "The agent.", body = Envelope<Agent>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn get_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Agent>, Error> {
    caller.require(Permission::AgentsRead)?;
    let agent = agents::get(state.store.as_ref(), &caller.tenant, &id, "id").await?;
    Ok(Reply::ok(agent))
}

/// Update an agent: only the fields sent change.
#[utoipa::path(
    patch, path = "/v1/agents/{id}", tag = "Agents", operation_id = "updateAgent",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    request_body = UpdateAgent,
    responses((status = 200, description = "The updated agent.", body = Envelope<Agent>)),
    security(("bearer" = ["agents:write"]), ("api_key" = ["agents:write"]))
)]
pub async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<UpdateAgent>,
) -> Result<Reply<Agent>, Error> {
    caller.require(Permission::AgentsWrite)?;
    let agent = rules(&state)
        .update(state.store.as_ref(), &caller.tenant, &id, input)
        .await?;
    Ok(Reply::ok(agent))
}

/// Delete an agent and its conversations.
#[utoipa::path(
    delete, path = "/v1/agents/{id}", tag = "Agents", operation_id = "deleteAgent",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    responses((status = 200, description = "The agent was deleted.", body = Envelope<Deleted>)),
    security(("bearer" = ["agents:write"]), ("api_key" = ["agents:write"]))
)]
pub async fn delete_agent(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Deleted>, Error> {
    caller.require(Permission::AgentsWrite)?;
    agents::delete(state.store.as_ref(), &caller.tenant, &id).await?;
    Ok(Reply::ok(Deleted {
        id,
        object: "agent",
        deleted: true,
    }))
}
