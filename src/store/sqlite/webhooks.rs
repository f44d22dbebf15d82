//! SQLite queries for webhook endpoints and deliveries: the fan-out of new
//! events into deliveries (the outbox), claiming due deliveries with a
//! lease, and recording attempts.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::events::record;
use super::{SqliteStore, corrupt, keyset, mode_from_row, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::ids::{IdKind, new_id};
use crate::store::shared::{delivery_targets, kept_body, status_after};
use crate::store::{EventMatcher, Keyed, PageRequest, WebhookStore};
use crate::webhooks::{
    Attempt, ClaimedDelivery, Delivery, DeliveryStatus, Endpoint, EndpointRecord, Event,
};

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_endpoint(&self, tenant: &Tenant, record: &EndpointRecord) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let e = &record.endpoint;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, org_id, mode, url, events, enabled, disabled_reason, description, metadata,
                                            secret, old_secret, old_secret_until, failing_since, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = ? AND org_id = ? AND mode = ? AND deleted = 0")
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
        let (tail, bound) = keyset(page, "position");
        let sql = format!(
            "SELECT * FROM webhook_endpoints WHERE org_id = ? AND mode = ? AND deleted = 0 AND {tail}"
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = ? AND org_id = ? AND mode = ? AND deleted = 0")
            .bind(id)
            .bind(org_id)
            .bind(mode)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let record = change(endpoint_from_row(&row)?.item)?;
        let e = &record.endpoint;
        sqlx::query(
            "UPDATE webhook_endpoints SET url = ?, events = ?, enabled = ?, disabled_reason = ?, description = ?, metadata = ?,
                    secret = ?, old_secret = ?, old_secret_until = ?, failing_since = ?, updated_at = ?
             WHERE id = ? AND org_id = ? AND mode = ?",
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
        let done =
            sqlx::query("DELETE FROM webhook_endpoints WHERE id = ? AND org_id = ? AND mode = ?")
                .bind(id)
                .bind(org_id)
                .bind(mode)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn fan_out(&self, limit: u32, matches: EventMatcher) -> Result<u32> {
        let now = clock::now_ms();
        // A read first: most wake-ups find nothing, and need no write lock.
        let pending = sqlx::query("SELECT 1 FROM events WHERE dispatched = 0 LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if pending.is_none() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let events =
            sqlx::query("SELECT * FROM events WHERE dispatched = 0 ORDER BY position LIMIT ?")
                .bind(limit as i64)
                .fetch_all(&mut *tx)
                .await?;
        let Some(last) = events.last() else {
            return Ok(0);
        };
        let last: i64 = last.try_get("position")?;
        // (org, mode) → enabled endpoints: (id, patterns).
        let mut endpoints: HashMap<(String, String), Vec<(String, Vec<String>)>> = HashMap::new();
        let mut created = 0;
        for row in &events {
            let org_id: String = row.try_get("org_id")?;
            let mode: String = row.try_get("mode")?;
            let kind: String = row.try_get("type")?;
            let event_id: String = row.try_get("id")?;
            let target: Option<String> = row.try_get("endpoint_id")?;
            let key = (org_id.clone(), mode.clone());
            if !endpoints.contains_key(&key) {
                let rows = sqlx::query(
                    "SELECT id, events FROM webhook_endpoints WHERE org_id = ? AND mode = ? AND enabled = 1 AND deleted = 0",
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
                     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
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
        sqlx::query("UPDATE events SET dispatched = 1 WHERE dispatched = 0 AND position <= ?")
            .bind(last)
            .execute(&mut *tx)
            .await?;
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
        // A read first: most loops find nothing due, and need no write lock.
        let due = sqlx::query(
            "SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
             AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
        )
        .bind(now)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let claimed = sqlx::query(
            "UPDATE deliveries SET lease_owner = ?, lease_until = ?
             WHERE id IN (SELECT id FROM deliveries
                          WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
                          ORDER BY next_attempt_at LIMIT ?)
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
        let placeholders = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT d.id AS d_id, d.org_id, d.mode, d.endpoint_id, d.event_id, d.event_type, d.status AS d_status, d.attempts,
                    d.next_attempt_at, d.response_status, d.response_body, d.latency_ms, d.error, d.created_at AS d_created_at,
                    d.updated_at AS d_updated_at,
                    e.position AS e_position, e.id AS e_id, e.type AS e_type, e.data AS e_data, e.created_at AS e_created_at,
                    w.*
             FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhook_endpoints w ON w.id = d.endpoint_id
             WHERE d.id IN ({placeholders})"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedDelivery {
                    tenant: Tenant {
                        org_id: row.try_get("org_id")?,
                        mode: mode_from_row(row)?,
                    },
                    delivery: delivery_from_row(row, "d_")?,
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
            "UPDATE deliveries SET attempts = attempts + 1, status = ?, next_attempt_at = ?, response_status = ?,
                    response_body = ?, latency_ms = ?, error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id = ? AND org_id = ? AND mode = ?",
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
        let health = if attempt.succeeded {
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND org_id = ? AND mode = ?"
        } else {
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ? AND org_id = ? AND mode = ?"
        };
        let mut query = sqlx::query(health);
        if !attempt.succeeded {
            query = query.bind(now);
        }
        query
            .bind(endpoint_id)
            .bind(org_id)
            .bind(mode)
            .execute(&mut *tx)
            .await?;
        let mut disabled = false;
        if let Some(reason) = &attempt.disable_endpoint {
            let row = sqlx::query(
                "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ?
                 WHERE id = ? AND org_id = ? AND mode = ? AND enabled = 1 RETURNING *",
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
        let (tail, bound) = keyset(page, "position");
        let sql = format!("SELECT *, id AS d_id, status AS d_status, created_at AS d_created_at, updated_at AS d_updated_at FROM deliveries
             WHERE endpoint_id = ? AND org_id = ? AND mode = ? AND {tail}");
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
                    item: delivery_from_row(row, "d_")?,
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
        let row = sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id = ? AND endpoint_id = ? AND org_id = ? AND mode = ?
             RETURNING *, id AS d_id, status AS d_status, created_at AS d_created_at, updated_at AS d_updated_at",
        )
        .bind(now)
        .bind(now)
        .bind(delivery_id)
        .bind(endpoint_id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        self.signal_events(row.is_some());
        row.map(|row| delivery_from_row(&row, "d_")).transpose()
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

fn endpoint_from_row(row: &SqliteRow) -> Result<Keyed<EndpointRecord>> {
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

/// A delivery from a row whose own id, status and times are aliased with
/// `prefix` (they clash with the endpoint's in joins).
fn delivery_from_row(row: &SqliteRow, prefix: &str) -> Result<Delivery> {
    let status: String = row.try_get(format!("{prefix}status").as_str())?;
    Ok(Delivery {
        id: row.try_get(format!("{prefix}id").as_str())?,
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
        created_at: row.try_get(format!("{prefix}created_at").as_str())?,
        updated_at: row.try_get(format!("{prefix}updated_at").as_str())?,
    })
}
