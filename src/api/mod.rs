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
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

/// The complete service: routes, `/v1/openapi.json`, the `/docs` reference
/// page, the `404` fallback and the middleware stack.
pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    let docs = SwaggerUi::new("/docs").url("/v1/openapi.json", openapi::document());
    let limit = state.max_body_bytes;
    let app = routes
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
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
