//! PostgreSQL rate-limit counters: one transaction per lease locks the
//! organization's row (`FOR UPDATE`), so leases of one organization are
//! taken one at a time across every node, reads both counters, applies
//! [`grant`] and writes them back when anything changed.

use async_trait::async_trait;
use sqlx::Row;

use super::PostgresStore;
use crate::access::Tenant;
use crate::access::rate_limits::{Counter, GiveBack, Grant, Limits, WindowKind, Windows, grant};
use crate::error::{Error, Result};
use crate::store::RateLimitStore;
use crate::store::shared::tenant_args;

#[async_trait]
impl RateLimitStore for PostgresStore {
    async fn lease_requests(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
        give_back: GiveBack,
        want: i64,
    ) -> Result<Grant> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let plan = sqlx::query(
            "SELECT plan, per_minute, per_day FROM organizations WHERE id = $1 FOR UPDATE",
        )
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("organization {org_id} is missing")))?;
        let limits = Limits::of(
            plan.try_get("plan")?,
            plan.try_get("per_minute")?,
            plan.try_get("per_day")?,
        );
        let rows = sqlx::query(
            r#"SELECT "window", window_start, used FROM rate_counters WHERE org_id = $1 AND mode = $2"#,
        )
        .bind(org_id)
        .bind(mode)
        .fetch_all(&mut *tx)
        .await?;
        let mut stored = [None, None];
        for row in &rows {
            let counter = Counter {
                window_start: row.try_get("window_start")?,
                used: row.try_get("used")?,
            };
            match row.try_get::<&str, _>("window")? {
                "minute" => stored[0] = Some(counter),
                _ => stored[1] = Some(counter),
            }
        }
        let grant = grant(limits, windows, now_ms, stored, give_back, want);
        if grant.granted > 0 || give_back.count > 0 {
            for (kind, counter) in [
                (WindowKind::Minute, grant.minute),
                (WindowKind::Day, grant.day),
            ] {
                sqlx::query(
                    r#"INSERT INTO rate_counters (org_id, mode, "window", window_start, used)
                       VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT (org_id, mode, "window")
                       DO UPDATE SET window_start = EXCLUDED.window_start, used = EXCLUDED.used"#,
                )
                .bind(org_id)
                .bind(mode)
                .bind(kind.as_str())
                .bind(counter.window_start)
                .bind(counter.used)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(grant)
    }

    async fn organization_limits(&self, org_id: &str) -> Result<Limits> {
        let row = sqlx::query("SELECT plan, per_minute, per_day FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("organization {org_id} is missing")))?;
        Ok(Limits::of(
            row.try_get("plan")?,
            row.try_get("per_minute")?,
            row.try_get("per_day")?,
        ))
    }
}
