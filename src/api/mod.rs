//! The HTTP API: routes, extractors and rendering. Handlers parse and
//! authenticate, call the domain, and render; they never touch SQL.

pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod context;
pub mod conversations;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod messages;
pub mod middleware;
pub mod models;
pub mod oauth;
pub mod openapi;
pub mod pagination;
pub mod templates;
pub mod webhooks;
pub mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

/// Every documented route. The OpenAPI document is generated from this same
/// table, so the served API and the spec cannot drift apart.
pub fn routes() -> OpenApiRouter<AppState> {
    authenticated_routes().merge(public_routes())
}

/// The routes that take an API key or access token: [`router`] puts them
/// behind authentication, rate limiting and idempotency keys.
fn authenticated_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(agents::list_agents, agents::create_agent))
        .routes(routes!(
            agents::get_agent,
            agents::update_agent,
            agents::delete_agent
        ))
        .routes(routes!(templates::list_templates))
        .routes(routes!(messages::list_messages, messages::send_message))
        .routes(routes!(messages::resume_stream))
        .routes(routes!(conversations::cancel_answer))
        .routes(routes!(conversations::agent_usage))
        .routes(routes!(models::list_models))
        .routes(routes!(
            workflows::list_workflows,
            workflows::create_workflow
        ))
        .routes(routes!(
            workflows::get_workflow,
            workflows::update_workflow,
            workflows::delete_workflow
        ))
        .routes(routes!(workflows::run_workflow))
        .routes(routes!(workflows::list_runs))
        .routes(routes!(workflows::get_run))
        .routes(routes!(workflows::cancel_run))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::retry_delivery))
        .routes(routes!(webhooks::list_events))
        .routes(routes!(webhooks::get_event))
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(oauth::list_clients, oauth::create_client))
        .routes(routes!(oauth::delete_client))
}

/// The routes without API credentials: probes, and the OAuth endpoints
/// where clients authenticate themselves.
fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The complete service: routes, `/v1/openapi.json`, the `/docs` reference
/// page, the `404` fallback and the middleware stack.
pub fn router(state: AppState) -> Router {
    let (authenticated, _) = authenticated_routes().split_for_parts();
    let (public, _) = public_routes().split_for_parts();
    let docs = SwaggerUi::new("/docs").url("/v1/openapi.json", openapi::document());
    let limit = state.max_body_bytes;
    // The last layer added runs first: authentication (and rate limiting),
    // then idempotency keys, which belong to the caller it found.
    let authenticated = authenticated
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    let app = authenticated
        .merge(public)
        .fallback(middleware::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
        .merge(docs);
    with_middleware(app)
}

/// Wraps a router in the middleware stack: panics become `500
/// internal_error`; the request middleware wraps the whole router as one
/// service (not each route, as `Router::layer` would), so it also sees the
/// `Allow` header axum adds to `405` answers.
pub fn with_middleware(app: Router) -> Router {
    Router::new()
        .fallback_service(app.layer(CatchPanicLayer::custom(middleware::panic_response)))
        .layer(axum::middleware::from_fn(middleware::request_context))
}
