//! SQLite rate-limit counters. A request costs one statement: a
//! conditional UPSERT of both counters that reads the organization's plan
//! itself and writes only when both windows have room. One statement is
//! atomic across every process on the file, and reading the plan in it
//! makes a plan change apply to the next request. Within a process the
//! UPSERTs take turns on a mutex, so they queue here instead of sleeping in
//! SQLite's busy handler.

use async_trait::async_trait;
use sqlx::Row;

use super::{SqliteStore, tenant_args};
use crate::access::Tenant;
use crate::access::rate_limits::{Counter, Decision, Limits, WindowKind, Windows, decide};
use crate::error::{Error, Result};
use crate::store::RateLimitStore;

/// Counts one request in both windows if neither is full. Binds: org,
/// mode, minute start, day start, then starter's and growth's limits
/// (per minute, per day) from [`Limits::of`]; enterprise organizations
/// carry their own (starter's where unset), as in [`Limits::of`]. Returns
/// the two updated rows with the limits they were counted against, or
/// none when refused.
const TAKE: &str = r#"
WITH lim AS (
    SELECT CASE o.plan WHEN 'growth' THEN ?7 WHEN 'enterprise' THEN COALESCE(o.per_minute, ?5) ELSE ?5 END AS per_minute,
           CASE o.plan WHEN 'growth' THEN ?8 WHEN 'enterprise' THEN COALESCE(o.per_day, ?6) ELSE ?6 END AS per_day
    FROM organizations o WHERE o.id = ?1
)
INSERT INTO rate_counters (org_id, mode, "window", window_start, used, allowed)
SELECT ?1, ?2, w.kind, w.start,
       CASE WHEN c.window_start = w.start THEN c.used + 1 ELSE 1 END,
       CASE w.kind WHEN 'minute' THEN lim.per_minute ELSE lim.per_day END
FROM lim
CROSS JOIN (SELECT 'minute' AS kind, ?3 AS start UNION ALL SELECT 'day', ?4) AS w
LEFT JOIN rate_counters c ON c.org_id = ?1 AND c.mode = ?2 AND c."window" = w.kind
WHERE NOT EXISTS (
    SELECT 1 FROM rate_counters f
    WHERE f.org_id = ?1 AND f.mode = ?2
      AND ((f."window" = 'minute' AND f.window_start = ?3 AND f.used >= lim.per_minute)
        OR (f."window" = 'day' AND f.window_start = ?4 AND f.used >= lim.per_day)))
ON CONFLICT (org_id, mode, "window")
DO UPDATE SET window_start = excluded.window_start, used = excluded.used, allowed = excluded.allowed
RETURNING "window" AS kind, used, allowed
"#;

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn take_request(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
    ) -> Result<Decision> {
        let (org_id, mode) = tenant_args(tenant);
        let minute_start = windows.start(WindowKind::Minute, now_ms);
        let day_start = windows.start(WindowKind::Day, now_ms);
        let starter = Limits::of("starter", None, None);
        let growth = Limits::of("growth", None, None);
        let counted = {
            let _turn = self.rate_limit_turn.lock().await;
            sqlx::query(TAKE)
                .bind(org_id)
                .bind(mode)
                .bind(minute_start)
                .bind(day_start)
                .bind(starter.per_minute)
                .bind(starter.per_day)
                .bind(growth.per_minute)
                .bind(growth.per_day)
                .fetch_all(&self.pool)
                .await?
        };
        if counted.is_empty() {
            // Refused (or no such organization): read the plan and the
            // counters for the answer's headers.
            let limits = self.organization_limits(org_id).await?;
            let rows = sqlx::query(
                r#"SELECT "window" AS kind, window_start, used FROM rate_counters WHERE org_id = ? AND mode = ?"#,
            )
            .bind(org_id)
            .bind(mode)
            .fetch_all(&self.pool)
            .await?;
            let (mut minute, mut day) = (None, None);
            for row in &rows {
                let counter = Counter {
                    window_start: row.try_get("window_start")?,
                    used: row.try_get("used")?,
                };
                match row.try_get::<&str, _>("kind")? {
                    "minute" => minute = Some(counter),
                    _ => day = Some(counter),
                }
            }
            return Ok(decide(limits, windows, now_ms, minute, day));
        }
        // Counted: `decide` on the counts before this request reaches the
        // same verdict and gives the headers.
        let (mut limits, mut minute, mut day) = (starter, None, None);
        for row in &counted {
            let used: i64 = row.try_get("used")?;
            let allowed: i64 = row.try_get("allowed")?;
            if row.try_get::<&str, _>("kind")? == "minute" {
                limits.per_minute = allowed;
                minute = Some(Counter {
                    window_start: minute_start,
                    used: used - 1,
                });
            } else {
                limits.per_day = allowed;
                day = Some(Counter {
                    window_start: day_start,
                    used: used - 1,
                });
            }
        }
        Ok(decide(limits, windows, now_ms, minute, day))
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
