//! SQLite rate-limit counters: one `BEGIN IMMEDIATE` transaction per
//! request reads the plan and both counters and writes them back, so the
//! count is exact across processes (SQLite serialises writers).

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, tenant_args};
use crate::access::Tenant;
use crate::access::rate_limits::{Counter, Decision, Limits, Windows, decide};
use crate::error::{Error, Result};
use crate::store::RateLimitStore;

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn take_request(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
    ) -> Result<Decision> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT o.plan, o.per_minute, o.per_day,
                    m.window_start AS m_start, m.used AS m_used,
                    d.window_start AS d_start, d.used AS d_used
             FROM organizations o
             LEFT JOIN rate_counters m ON m.org_id = o.id AND m.mode = ?2 AND m.window = 'minute'
             LEFT JOIN rate_counters d ON d.org_id = o.id AND d.mode = ?2 AND d.window = 'day'
             WHERE o.id = ?1",
        )
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("organization {org_id} is missing")))?;
        let counter = |start: &str, used: &str| -> Result<Option<Counter>> {
            let window_start: Option<i64> = row.try_get(start)?;
            let used: Option<i64> = row.try_get(used)?;
            Ok(window_start
                .zip(used)
                .map(|(window_start, used)| Counter { window_start, used }))
        };
        let limits = Limits::of(
            row.try_get("plan")?,
            row.try_get("per_minute")?,
            row.try_get("per_day")?,
        );
        let decision = decide(
            limits,
            windows,
            now_ms,
            counter("m_start", "m_used")?,
            counter("d_start", "d_used")?,
        );
        if decision.accepted {
            for window in [decision.minute, decision.day] {
                sqlx::query(
                    "INSERT INTO rate_counters (org_id, mode, window, window_start, used)
                     VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (org_id, mode, window)
                     DO UPDATE SET window_start = excluded.window_start, used = excluded.used",
                )
                .bind(org_id)
                .bind(mode)
                .bind(window.kind.as_str())
                .bind(window.start_ms)
                .bind(window.used)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok(decision)
    }

    async fn organization_limits(&self, org_id: &str) -> Result<Limits> {
        let row = sqlx::query("SELECT plan, per_minute, per_day FROM organizations WHERE id = ?")
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
