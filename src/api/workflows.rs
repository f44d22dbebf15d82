//! `/v1/workflows`: list, create, get, update, delete, run, and a
//! workflow's runs (CONTRACT §7 Workflows).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::access::{Caller, Permission};
use crate::api::envelope::{Deleted, Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Result;
use crate::workflows::{CreateWorkflow, Run, StartRun, UpdateWorkflow, Workflow};

fn list_name(caller: &Caller, what: &str) -> String {
    format!(
        "{what}\n{}\n{}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    )
}

/// List workflows, newest first by default.
#[utoipa::path(
    get, path = "/v1/workflows", tag = "Workflows", operation_id = "listWorkflows",
    params(PageParams),
    responses((status = 200, description = "A page of workflows.", body = ListEnvelope<Workflow>)),
    security(("bearer" = ["workflows:read"]), ("api_key" = ["workflows:read"]))
)]
pub async fn list_workflows(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Workflow>> {
    caller.require(Permission::WorkflowsRead)?;
    let list = list_name(&caller, "workflows");
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state.workflows.list(&caller.tenant, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Create a workflow. The definition is checked whole: every error names
/// its field (`steps[2].agent_id`).
#[utoipa::path(
    post, path = "/v1/workflows", tag = "Workflows", operation_id = "createWorkflow",
    request_body = CreateWorkflow,
    responses((status = 201, description = "The new workflow, version 1.", body = Envelope<Workflow>)),
    security(("bearer" = ["workflows:write"]), ("api_key" = ["workflows:write"]))
)]
pub async fn create_workflow(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateWorkflow>,
) -> Result<Reply<Workflow>> {
    caller.require(Permission::WorkflowsWrite)?;
    Ok(Reply::created(
        state.workflows.create(&caller.tenant, input).await?,
    ))
}

/// Get a workflow.
#[utoipa::path(
    get, path = "/v1/workflows/{id}", tag = "Workflows", operation_id = "getWorkflow",
    params(("id" = String, Path, description = "The workflow's id, `wf_…`.")),
    responses((status = 200, description = "The workflow.", body = Envelope<Workflow>)),
    security(("bearer" = ["workflows:read"]), ("api_key" = ["workflows:read"]))
)]
pub async fn get_workflow(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Workflow>> {
    caller.require(Permission::WorkflowsRead)?;
    Ok(Reply::ok(state.workflows.get(&caller.tenant, &id).await?))
}

/// Update a workflow. A new definition (`input_schema`, `steps`, `output`)
/// increases `version`; runs already started keep the version they began
/// with.
#[utoipa::path(
    patch, path = "/v1/workflows/{id}", tag = "Workflows", operation_id = "updateWorkflow",
    params(("id" = String, Path, description = "The workflow's id, `wf_…`.")),
    request_body = UpdateWorkflow,
    responses((status = 200, description = "The updated workflow.", body = Envelope<Workflow>)),
    security(("bearer" = ["workflows:write"]), ("api_key" = ["workflows:write"]))
)]
pub async fn update_workflow(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<UpdateWorkflow>,
) -> Result<Reply<Workflow>> {
    caller.require(Permission::WorkflowsWrite)?;
    Ok(Reply::ok(
        state.workflows.update(&caller.tenant, &id, input).await?,
    ))
}

/// Delete a workflow. Its runs stay readable at `/v1/runs/{id}`.
#[utoipa::path(
    delete, path = "/v1/workflows/{id}", tag = "Workflows", operation_id = "deleteWorkflow",
    params(("id" = String, Path, description = "The workflow's id, `wf_…`.")),
    responses((status = 200, description = "The workflow was deleted.", body = Envelope<Deleted>)),
    security(("bearer" = ["workflows:write"]), ("api_key" = ["workflows:write"]))
)]
pub async fn delete_workflow(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Deleted>> {
    caller.require(Permission::WorkflowsWrite)?;
    state.workflows.delete(&caller.tenant, &id).await?;
    Ok(Reply::ok(Deleted {
        id,
        object: "workflow",
        deleted: true,
    }))
}

/// Run a workflow.
///
/// Answers `202` with the queued run; with `wait`, `200` with the finished
/// run if it ends within that many seconds (else `202` with the run as it
/// is). The input is checked against the workflow's `input_schema`. A
/// restricted key also needs `messages:write` when the workflow has `agent`
/// steps.
#[utoipa::path(
    post, path = "/v1/workflows/{id}/run", tag = "Workflows", operation_id = "runWorkflow",
    params(("id" = String, Path, description = "The workflow's id, `wf_…`.")),
    request_body = StartRun,
    responses(
        (status = 202, description = "The run, queued or still running.", body = Envelope<Run>),
        (status = 200, description = "The run, finished within `wait`.", body = Envelope<Run>),
    ),
    security(("bearer" = ["workflows:write"]), ("api_key" = ["workflows:write"]))
)]
pub async fn run_workflow(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<StartRun>,
) -> Result<Response> {
    caller.require(Permission::WorkflowsWrite)?;
    if caller.scopes.is_some() && state.workflows.uses_agents(&caller.tenant, &id).await? {
        caller.require(Permission::MessagesWrite)?;
    }
    let (run, ended) = state.workflows.start(&caller.tenant, &id, input).await?;
    let status = if ended {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = Reply::ok(run).into_response();
    *response.status_mut() = status;
    Ok(response)
}

/// A workflow's runs, newest first by default (without their steps).
#[utoipa::path(
    get, path = "/v1/workflows/{id}/runs", tag = "Workflows", operation_id = "listRuns",
    params(("id" = String, Path, description = "The workflow's id, `wf_…`."), PageParams),
    responses((status = 200, description = "A page of runs.", body = ListEnvelope<Run>)),
    security(("bearer" = ["workflows:read"]), ("api_key" = ["workflows:read"]))
)]
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Run>> {
    caller.require(Permission::WorkflowsRead)?;
    state.workflows.get(&caller.tenant, &id).await?;
    let list = format!("{}\n{id}", list_name(&caller, "runs"));
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state.workflows.runs(&caller.tenant, &id, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Get a run with each step's status, attempts, input, output, error and
/// times.
#[utoipa::path(
    get, path = "/v1/runs/{id}", tag = "Workflows", operation_id = "getRun",
    params(("id" = String, Path, description = "The run's id, `run_…`.")),
    responses((status = 200, description = "The run.", body = Envelope<Run>)),
    security(("bearer" = ["workflows:read"]), ("api_key" = ["workflows:read"]))
)]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Run>> {
    caller.require(Permission::WorkflowsRead)?;
    Ok(Reply::ok(state.workflows.run(&caller.tenant, &id).await?))
}

/// Cancel a run: a queued run never starts; a running one stops promptly
/// (in-flight HTTP and model calls are abandoned, no further steps run).
/// Answers the run once it has stopped.
#[utoipa::path(
    post, path = "/v1/runs/{id}/cancel", tag = "Workflows", operation_id = "cancelRun",
    params(("id" = String, Path, description = "The run's id, `run_…`.")),
    responses(
        (status = 200, description = "The run, cancelled.", body = Envelope<Run>),
        (status = 409, description = "The run had already ended.", body = crate::api::error::ErrorBody),
    ),
    security(("bearer" = ["workflows:write"]), ("api_key" = ["workflows:write"]))
)]
pub async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Run>> {
    caller.require(Permission::WorkflowsWrite)?;
    Ok(Reply::ok(
        state.workflows.cancel_run(&caller.tenant, &id).await?,
    ))
}
