//! `/healthz` (the process is up) and `/readyz` (the database answers).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::envelope::{Envelope, Reply};
use crate::app::AppState;
use crate::error::Result;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: answers while the process runs.
#[utoipa::path(
    get, path = "/healthz", tag = "Operations", operation_id = "health",
    responses((status = 200, description = "The process is up.", body = Envelope<Health>)),
    security(())
)]
pub async fn healthz() -> Reply<Health> {
    Reply::ok(Health { status: "ok" })
}

/// Readiness: answers `200` when the database is reachable, else `503
/// unavailable`.
#[utoipa::path(
    get, path = "/readyz", tag = "Operations", operation_id = "ready",
    responses(
        (status = 200, description = "The database is reachable.", body = Envelope<Health>),
        (status = 503, description = "The database is unreachable.", body = crate::api::error::ErrorBody),
    ),
    security(())
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Reply<Health>> {
    state.store.ping().await?;
    Ok(Reply::ok(Health { status: "ready" }))
}
