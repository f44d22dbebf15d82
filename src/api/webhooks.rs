//! `/v1/webhooks` and `/v1/events` (CONTRACT §7 Webhooks and events).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Caller, Permission};
use crate::api::envelope::{Deleted, Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Result;
use crate::webhooks::{CreateEndpoint, Delivery, Endpoint, Event, UpdateEndpoint};

fn list_name(caller: &Caller, what: &str) -> String {
    format!(
        "{what}\n{}\n{}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    )
}

/// The scope needed to read an event's `data`, by its type.
fn read_permission(kind: &str) -> Permission {
    match kind.split('.').next() {
        Some("agent") => Permission::AgentsRead,
        Some("message") => Permission::MessagesRead,
        Some("workflow") => Permission::WorkflowsRead,
        _ => Permission::WebhooksRead,
    }
}

fn accepted<T: serde::Serialize>(data: T) -> Response {
    let mut response = Reply::ok(data).into_response();
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// List webhook endpoints (never their secrets).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "Webhooks", operation_id = "listWebhooks",
    params(PageParams),
    responses((status = 200, description = "A page of endpoints.", body = ListEnvelope<Endpoint>)),
    security(("bearer" = ["webhooks:read"]), ("api_key" = ["webhooks:read"]))
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Endpoint>> {
    caller.require(Permission::WebhooksRead)?;
    let list = list_name(&caller, "webhooks");
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state.webhooks.list(&caller.tenant, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Create a webhook endpoint. The answer holds its `secret` (`whsec_…`),
/// shown this once.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "Webhooks", operation_id = "createWebhook",
    request_body = CreateEndpoint,
    responses((status = 201, description = "The new endpoint, with its secret.", body = Envelope<Endpoint>)),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateEndpoint>,
) -> Result<Reply<Endpoint>> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(Reply::created(state.webhooks.create(&caller.tenant, input).await?).showing_secret())
}

/// Get a webhook endpoint.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "getWebhook",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`.")),
    responses((status = 200, description = "The endpoint.", body = Envelope<Endpoint>)),
    security(("bearer" = ["webhooks:read"]), ("api_key" = ["webhooks:read"]))
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Endpoint>> {
    caller.require(Permission::WebhooksRead)?;
    Ok(Reply::ok(state.webhooks.get(&caller.tenant, &id).await?))
}

/// Update a webhook endpoint: only the fields sent change.
#[utoipa::path(
    patch, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "updateWebhook",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`.")),
    request_body = UpdateEndpoint,
    responses((status = 200, description = "The updated endpoint.", body = Envelope<Endpoint>)),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<UpdateEndpoint>,
) -> Result<Reply<Endpoint>> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(Reply::ok(
        state.webhooks.update(&caller.tenant, &id, input).await?,
    ))
}

/// Delete a webhook endpoint and its deliveries.
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "deleteWebhook",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`.")),
    responses((status = 200, description = "The endpoint was deleted.", body = Envelope<Deleted>)),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Deleted>> {
    caller.require(Permission::WebhooksWrite)?;
    state.webhooks.delete(&caller.tenant, &id).await?;
    Ok(Reply::ok(Deleted {
        id,
        object: "webhook",
        deleted: true,
    }))
}

/// Issue a new signing secret. The old one keeps signing (as a second
/// signature) for 24 hours, so receivers can switch without losing events.
/// Rotating again within those 24 hours is `409 conflict`: it would drop
/// the old secret from under receivers still using it.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/rotate_secret", tag = "Webhooks", operation_id = "rotateWebhookSecret",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`.")),
    responses(
        (status = 200, description = "The endpoint, with its new secret.", body = Envelope<Endpoint>),
        (status = 409, description = "The previous secret still signs.", body = crate::api::error::ErrorBody),
    ),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Endpoint>> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(Reply::ok(state.webhooks.rotate_secret(&caller.tenant, &id).await?).showing_secret())
}

/// Send a `webhook.test` event to this endpoint. Answers `202` with the
/// event; its delivery shows in the endpoint's deliveries.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/test", tag = "Webhooks", operation_id = "testWebhook",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`.")),
    responses((status = 202, description = "The test event, on its way.", body = Envelope<Event>)),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(accepted(state.webhooks.test(&caller.tenant, &id).await?))
}

/// An endpoint's deliveries, newest first by default: status, attempts,
/// the last answer's status code, first 4 KiB of its body and latency, and
/// when the next attempt is due.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "Webhooks", operation_id = "listDeliveries",
    params(("id" = String, Path, description = "The endpoint's id, `whk_…`."), PageParams),
    responses((status = 200, description = "A page of deliveries.", body = ListEnvelope<Delivery>)),
    security(("bearer" = ["webhooks:read"]), ("api_key" = ["webhooks:read"]))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Delivery>> {
    caller.require(Permission::WebhooksRead)?;
    let list = format!("{}\n{id}", list_name(&caller, "deliveries"));
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state
        .webhooks
        .deliveries(&caller.tenant, &id, request)
        .await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Deliver again now (a manual redelivery); answers `202` with the
/// delivery.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "Webhooks", operation_id = "retryDelivery",
    params(
        ("id" = String, Path, description = "The endpoint's id, `whk_…`."),
        ("delivery_id" = String, Path, description = "The delivery's id, `dlv_…`."),
    ),
    responses((status = 202, description = "The delivery, due now.", body = Envelope<Delivery>)),
    security(("bearer" = ["webhooks:write"]), ("api_key" = ["webhooks:write"]))
)]
pub async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, delivery_id)): PathParams<(String, String)>,
) -> Result<Response> {
    caller.require(Permission::WebhooksWrite)?;
    Ok(accepted(
        state
            .webhooks
            .retry(&caller.tenant, &id, &delivery_id)
            .await?,
    ))
}

/// Filters of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only events of this type, e.g. `agent.created`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// List events, newest first by default (kept 30 days). A restricted key
/// sees only events about resources its scopes let it read (`agent.*` needs
/// `agents:read`, `message.*` `messages:read`, `workflow.*`
/// `workflows:read`).
#[utoipa::path(
    get, path = "/v1/events", tag = "Webhooks", operation_id = "listEvents",
    params(EventFilter, PageParams),
    responses((status = 200, description = "A page of events.", body = ListEnvelope<Event>)),
    security(("bearer" = ["webhooks:read"]), ("api_key" = ["webhooks:read"]))
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(filter): QueryParams<EventFilter>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Event>> {
    caller.require(Permission::WebhooksRead)?;
    let list = format!(
        "{}\n{}",
        list_name(&caller, "events"),
        filter.kind.as_deref().unwrap_or("*")
    );
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state
        .webhooks
        .events(&caller.tenant, filter.kind.as_deref(), request)
        .await?;
    let mut page = state.cursors.page(&list, request, limit, rows);
    // A restricted key sees only events about what it may read (the page
    // may then be shorter; its cursor still continues where it stopped).
    page.data
        .retain(|event| caller.may(read_permission(&event.kind)));
    Ok(page)
}

/// Get an event.
#[utoipa::path(
    get, path = "/v1/events/{id}", tag = "Webhooks", operation_id = "getEvent",
    params(("id" = String, Path, description = "The event's id, `evt_…`.")),
    responses((status = 200, description = "The event.", body = Envelope<Event>)),
    security(("bearer" = ["webhooks:read"]), ("api_key" = ["webhooks:read"]))
)]
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Event>> {
    caller.require(Permission::WebhooksRead)?;
    let event = state.webhooks.event(&caller.tenant, &id).await?;
    caller.require(read_permission(&event.kind))?;
    Ok(Reply::ok(event))
}
