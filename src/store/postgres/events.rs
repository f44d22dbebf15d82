//! PostgreSQL queries for events: recording one inside the transaction of
//! the change it describes (the `events_notify` trigger then announces the
//! commit to every node), and reading them back.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;
use tokio::sync::Notify;

use super::{PostgresStore, keyset, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::ids::{IdKind, new_id};
use crate::store::{EventStore, Keyed, PageRequest};
use crate::webhooks::Event;

/// An event [`record`] stored.
pub(super) struct Recorded {
    pub event: Event,
    /// Whether an endpoint may want it: then signal the local dispatchers
    /// after the commit (an event none can want is stored as dispatched,
    /// and the `events` trigger tells other nodes only of wanted ones).
    pub wanted: bool,
}

/// Records an event of `kind` about `object` (serialized as the API shows
/// it), optionally addressed to one endpoint. Call inside the change's
/// transaction, and signal local dispatchers after the commit if it is
/// wanted.
pub(super) async fn record<'e, E: sqlx::PgExecutor<'e>, T: Serialize>(
    executor: E,
    tenant: &Tenant,
    kind: &str,
    object: &T,
    endpoint_id: Option<&str>,
) -> Result<Recorded> {
    let (org_id, mode) = tenant_args(tenant);
    let event = Event {
        id: new_id(IdKind::Event),
        kind: kind.to_string(),
        created_at: clock::now_ms(),
        data: serde_json::to_value(object)?,
    };
    // An event no endpoint can want (not targeted, and the tenant has no
    // enabled endpoint) is stored as dispatched: the dispatcher has nothing
    // to write for it.
    let dispatched: bool = sqlx::query_scalar(
        "INSERT INTO events (id, org_id, mode, type, data, endpoint_id, created_at, dispatched)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6::text IS NULL AND NOT EXISTS (
             SELECT 1 FROM webhook_endpoints WHERE org_id = $2 AND mode = $3 AND enabled AND NOT deleted))
         RETURNING dispatched",
    )
    .bind(&event.id)
    .bind(org_id)
    .bind(mode)
    .bind(&event.kind)
    .bind(event.data.to_string())
    .bind(endpoint_id)
    .bind(event.created_at)
    .fetch_one(executor)
    .await?;
    Ok(Recorded {
        event,
        wanted: !dispatched,
    })
}

pub(super) fn event_from_row(row: &PgRow) -> Result<Keyed<Event>> {
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Event {
            id: row.try_get("id")?,
            kind: row.try_get("type")?,
            created_at: row.try_get("created_at")?,
            data: serde_json::from_str(&row.try_get::<String, _>("data")?)?,
        },
    })
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn list_events(
        &self,
        tenant: &Tenant,
        kind: Option<&str>,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Event>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position", 4);
        let filter = if kind.is_some() {
            "type = $3"
        } else {
            "$3::TEXT IS NULL"
        };
        let sql =
            format!("SELECT * FROM events WHERE org_id = $1 AND mode = $2 AND {filter} AND {tail}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .bind(mode)
            .bind(kind)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<Event>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query("SELECT * FROM events WHERE id = $1 AND org_id = $2 AND mode = $3")
            .bind(id)
            .bind(org_id)
            .bind(mode)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| event_from_row(&row).map(|k| k.item))
            .transpose()
    }

    async fn prune_events(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1 AND dispatched")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    fn event_signal(&self) -> Arc<Notify> {
        self.events_signal.clone()
    }
}
