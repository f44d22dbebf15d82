//! PostgreSQL queries for webhook endpoints and deliveries: the fan-out of
//! new events into deliveries (the outbox), claiming due deliveries with a
//! lease, and recording attempts. Fan-out and claims lock their rows with
//! `FOR UPDATE SKIP LOCKED`, so dispatchers on several nodes never take the
//! same event or delivery, and a delivery whose lease expired (its node
//! died) is claimed again.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::events::record;
use super::{PostgresStore, corrupt, keyset, mode_from_row, notify_events, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::ids::{IdKind, new_id};
use crate::store::shared::{delivery_targets, kept_body, status_after};
use crate::store::{EventMatcher, Keyed, PageRequest, WebhookStore};
use crate::webhooks::{
    Attempt, ClaimedDelivery, Delivery, DeliveryStatus, Endpoint, EndpointRecord, Event,
};

/// A delivery's own columns, aliased where they clash with the endpoint's.
const DELIVERY_ALIASES: &str =
    "id AS d_id, status AS d_status, created_at AS d_created_at, updated_at AS d_updated_at";

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn insert_endpoint(&self, tenant: &Tenant, record: &EndpointRecord) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let e = &record.endpoint;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, org_id, mode, url, events, enabled, disabled_reason, description, metadata,
                                            secret, old_secret, old_secret_until, failing_since, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&e.id)
        .bind(org_id)
        .bind(mode)
        .bind(&e.url)
        .bind(serde_json::to_string(&e.events)?)
        .bind(e.enabled)
        .bind(&e.disabled_reason)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.metadata)?)
        .bind(&record.secret)
        .bind(&record.old_secret)
        .bind(record.old_secret_until)
        .bind(record.failing_since)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<EndpointRecord>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(
            "SELECT * FROM webhook_endpoints WHERE id = $1 AND org_id = $2 AND mode = $3 AND NOT deleted",
        )
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| endpoint_from_row(&row).map(|k| k.item))
            .transpose()
    }

    async fn list_endpoints(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Endpoint>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position", 3);
        let sql = format!(
            "SELECT * FROM webhook_endpoints WHERE org_id = $1 AND mode = $2 AND NOT deleted AND {tail}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .bind(mode)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                endpoint_from_row(row).map(|k| Keyed {
                    position: k.position,
                    item: k.item.endpoint,
                })
            })
            .collect()
    }

    async fn update_endpoint(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(EndpointRecord) -> Result<EndpointRecord> + Send>,
    ) -> Result<Option<EndpointRecord>> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT * FROM webhook_endpoints WHERE id = $1 AND org_id = $2 AND mode = $3 AND NOT deleted FOR UPDATE",
        )
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = change(endpoint_from_row(&row)?.item)?;
        let e = &record.endpoint;
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, events = $2, enabled = $3, disabled_reason = $4, description = $5,
                    metadata = $6, secret = $7, old_secret = $8, old_secret_until = $9, failing_since = $10, updated_at = $11
             WHERE id = $12 AND org_id = $13 AND mode = $14",
        )
        .bind(&e.url)
        .bind(serde_json::to_string(&e.events)?)
        .bind(e.enabled)
        .bind(&e.disabled_reason)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.metadata)?)
        .bind(&record.secret)
        .bind(&record.old_secret)
        .bind(record.old_secret_until)
        .bind(record.failing_since)
        .bind(e.updated_at)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    async fn delete_endpoint(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let done = sqlx::query(
            "DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2 AND mode = $3",
        )
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn fan_out(&self, limit: u32, matches: EventMatcher) -> Result<u32> {
        let now = clock::now_ms();
        // A read first: most wake-ups find nothing, and need no transaction.
        let pending = sqlx::query("SELECT 1 FROM events WHERE NOT dispatched LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if pending.is_none() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        // Events another node is fanning out are skipped; sequence values
        // may commit out of order, so the rows taken are marked by
        // position, not by a "up to" bound.
        let events = sqlx::query(
            "SELECT * FROM events WHERE NOT dispatched ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        if events.is_empty() {
            return Ok(0);
        }
        // (org, mode) → enabled endpoints: (id, patterns).
        let mut endpoints: HashMap<(String, String), Vec<(String, Vec<String>)>> = HashMap::new();
        let mut positions = Vec::with_capacity(events.len());
        let mut created = 0;
        for row in &events {
            positions.push(row.try_get::<i64, _>("position")?);
            let org_id: String = row.try_get("org_id")?;
            let mode: String = row.try_get("mode")?;
            let kind: String = row.try_get("type")?;
            let event_id: String = row.try_get("id")?;
            let target: Option<String> = row.try_get("endpoint_id")?;
            let key = (org_id.clone(), mode.clone());
            if !endpoints.contains_key(&key) {
                let rows = sqlx::query(
                    "SELECT id, events FROM webhook_endpoints WHERE org_id = $1 AND mode = $2 AND enabled AND NOT deleted",
                )
                .bind(&org_id)
                .bind(&mode)
                .fetch_all(&mut *tx)
                .await?;
                let list = rows
                    .iter()
                    .map(|r| {
                        Ok((
                            r.try_get("id")?,
                            serde_json::from_str(&r.try_get::<String, _>("events")?)?,
                        ))
                    })
                    .collect::<Result<Vec<(String, Vec<String>)>>>()?;
                endpoints.insert(key.clone(), list);
            }
            let targets = delivery_targets(target, &endpoints[&key], &kind, matches);
            for endpoint_id in targets {
                sqlx::query(
                    "INSERT INTO deliveries (id, org_id, mode, endpoint_id, event_id, event_type, status, next_attempt_at,
                                             created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)",
                )
                .bind(new_id(IdKind::Delivery))
                .bind(&org_id)
                .bind(&mode)
                .bind(&endpoint_id)
                .bind(&event_id)
                .bind(&kind)
                .bind(now)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                created += 1;
            }
        }
        sqlx::query("UPDATE events SET dispatched = TRUE WHERE position = ANY($1)")
            .bind(&positions)
            .execute(&mut *tx)
            .await?;
        if created > 0 {
            notify_events(&mut *tx, &self.schema).await?;
        }
        tx.commit().await?;
        self.signal_events(created > 0);
        Ok(events.len() as u32)
    }

    async fn claim_deliveries(
        &self,
        owner: &str,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let now = clock::now_ms();
        // A read first: most loops find nothing due, and need no write.
        let due = sqlx::query(
            "SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
             AND (lease_until IS NULL OR lease_until < $2) LIMIT 1",
        )
        .bind(now)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let claimed = sqlx::query(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM deliveries
                          WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $4)
                          ORDER BY next_attempt_at LIMIT $5
                          FOR UPDATE SKIP LOCKED)
             RETURNING id",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = claimed
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let rows = sqlx::query(
            "SELECT d.id AS d_id, d.org_id, d.mode, d.endpoint_id, d.event_id, d.event_type, d.status AS d_status, d.attempts,
                    d.next_attempt_at, d.response_status, d.response_body, d.latency_ms, d.error, d.created_at AS d_created_at,
                    d.updated_at AS d_updated_at,
                    e.id AS e_id, e.type AS e_type, e.data AS e_data, e.created_at AS e_created_at,
                    w.position, w.id, w.url, w.events, w.enabled, w.disabled_reason, w.description, w.metadata, w.secret,
                    w.old_secret, w.old_secret_until, w.failing_since, w.created_at, w.updated_at
             FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id
             WHERE d.id = ANY($1)
             ORDER BY d.next_attempt_at, d.position",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedDelivery {
                    tenant: Tenant {
                        org_id: row.try_get("org_id")?,
                        mode: mode_from_row(row)?,
                    },
                    delivery: delivery_from_row(row)?,
                    endpoint: endpoint_from_row(row)?.item,
                    event: Event {
                        id: row.try_get("e_id")?,
                        kind: row.try_get("e_type")?,
                        created_at: row.try_get("e_created_at")?,
                        data: serde_json::from_str(&row.try_get::<String, _>("e_data")?)?,
                    },
                })
            })
            .collect()
    }

    async fn record_attempt(
        &self,
        tenant: &Tenant,
        delivery_id: &str,
        endpoint_id: &str,
        attempt: &Attempt,
    ) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let now = clock::now_ms();
        let status = status_after(attempt);
        let body = kept_body(attempt);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2, response_status = $3,
                    response_body = $4, latency_ms = $5, error = $6, lease_owner = NULL, lease_until = NULL, updated_at = $7
             WHERE id = $8 AND org_id = $9 AND mode = $10",
        )
        .bind(status.as_str())
        .bind(attempt.next_attempt_at)
        .bind(attempt.response_status.map(i64::from))
        .bind(body)
        .bind(attempt.latency_ms as i64)
        .bind(&attempt.error)
        .bind(now)
        .bind(delivery_id)
        .bind(org_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        if attempt.succeeded {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND org_id = $2 AND mode = $3",
            )
            .bind(endpoint_id)
            .bind(org_id)
            .bind(mode)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1)
                 WHERE id = $2 AND org_id = $3 AND mode = $4",
            )
            .bind(now)
            .bind(endpoint_id)
            .bind(org_id)
            .bind(mode)
            .execute(&mut *tx)
            .await?;
        }
        let mut disabled = false;
        if let Some(reason) = &attempt.disable_endpoint {
            let row = sqlx::query(
                "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $1, updated_at = $2
                 WHERE id = $3 AND org_id = $4 AND mode = $5 AND enabled RETURNING *",
            )
            .bind(reason)
            .bind(now)
            .bind(endpoint_id)
            .bind(org_id)
            .bind(mode)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let endpoint = endpoint_from_row(&row)?.item.endpoint;
                disabled = record(&mut *tx, tenant, "webhook.disabled", &endpoint, None)
                    .await?
                    .wanted;
            }
        }
        tx.commit().await?;
        self.signal_events(disabled);
        Ok(())
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Delivery>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position", 4);
        let sql = format!(
            "SELECT *, {DELIVERY_ALIASES} FROM deliveries
             WHERE endpoint_id = $1 AND org_id = $2 AND mode = $3 AND {tail}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(endpoint_id)
            .bind(org_id)
            .bind(mode)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Keyed {
                    position: row.try_get("position")?,
                    item: delivery_from_row(row)?,
                })
            })
            .collect()
    }

    async fn retry_delivery(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Option<Delivery>> {
        let (org_id, mode) = tenant_args(tenant);
        let now = clock::now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_owner = NULL, lease_until = NULL,
                    updated_at = $2
             WHERE id = $3 AND endpoint_id = $4 AND org_id = $5 AND mode = $6
             RETURNING *, {DELIVERY_ALIASES}"
        )))
        .bind(now)
        .bind(now)
        .bind(delivery_id)
        .bind(endpoint_id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() {
            notify_events(&mut *tx, &self.schema).await?;
        }
        tx.commit().await?;
        self.signal_events(row.is_some());
        row.map(|row| delivery_from_row(&row)).transpose()
    }

    async fn insert_targeted_event(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        kind: &str,
        data: &Value,
    ) -> Result<Event> {
        let event = record(&self.pool, tenant, kind, data, Some(endpoint_id))
            .await?
            .event;
        self.signal_events(true);
        Ok(event)
    }
}

fn endpoint_from_row(row: &PgRow) -> Result<Keyed<EndpointRecord>> {
    let events: String = row.try_get("events")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Keyed {
        position: row.try_get("position")?,
        item: EndpointRecord {
            endpoint: Endpoint {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                events: serde_json::from_str(&events)?,
                enabled: row.try_get("enabled")?,
                disabled_reason: row.try_get("disabled_reason")?,
                description: row.try_get("description")?,
                metadata: serde_json::from_str(&metadata)?,
                secret: None,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            },
            secret: row.try_get("secret")?,
            old_secret: row.try_get("old_secret")?,
            old_secret_until: row.try_get("old_secret_until")?,
            failing_since: row.try_get("failing_since")?,
        },
    })
}

/// A delivery from a row whose own id, status and times are aliased
/// `d_…` (they clash with the endpoint's in joins).
fn delivery_from_row(row: &PgRow) -> Result<Delivery> {
    let status: String = row.try_get("d_status")?;
    Ok(Delivery {
        id: row.try_get("d_id")?,
        webhook_id: row.try_get("endpoint_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        response_status: row
            .try_get::<Option<i64>, _>("response_status")?
            .map(|s| s as u16),
        response_body: row.try_get("response_body")?,
        latency_ms: row
            .try_get::<Option<i64>, _>("latency_ms")?
            .map(|l| l as u64),
        error: row.try_get("error")?,
        created_at: row.try_get("d_created_at")?,
        updated_at: row.try_get("d_updated_at")?,
    })
}
