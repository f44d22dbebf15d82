//! SQLite rate-limit counters. A lease is one transaction on a connection
//! of the limiter's own: a conditional UPSERT that reads the
//! organization's plan and both counters, hands back a process's unused
//! requests and grants new ones, as many as both windows have room for
//! ([`grant`] is the same arithmetic in Rust); when nothing fits, it reads
//! what the UPSERT saw, for the headers. `BEGIN IMMEDIATE` makes it atomic
//! across every process on the file, so the count is exact. Within a
//! process leases take turns on the connection, so they queue here instead
//! of sleeping in SQLite's busy handler, and skip the pool. The plan read
//! of every request is in `plans`.

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

use super::{SqliteStore, tenant_args};
use crate::access::Tenant;
use crate::access::rate_limits::{
    Counter, GiveBack, Grant, Limits, SPARE_CAP, SPARE_DIVISOR, WindowKind, Windows, grant,
};
use crate::error::Result;
use crate::store::RateLimitStore;

/// Binds: org, mode, minute start, day start, starter's and growth's limits
/// (per minute, per day) from [`Limits::of`] (enterprise organizations
/// carry their own, starter's where unset, as there), requests wanted,
/// requests handed back and the minute and day starts they were leased
/// in, [`SPARE_CAP`], [`SPARE_DIVISOR`]. A counter already in a later
/// window than the one bound stays there (see [`grant`]). Returns both
/// rows, with their window, the limits counted against and how many were
/// granted; none when nothing changed.
///
/// [`grant`]: crate::access::rate_limits::grant
const LEASE: &str = r#"
WITH lim AS (
    SELECT CASE o.plan WHEN 'growth' THEN ?7 WHEN 'enterprise' THEN COALESCE(o.per_minute, ?5) ELSE ?5 END AS per_minute,
           CASE o.plan WHEN 'growth' THEN ?8 WHEN 'enterprise' THEN COALESCE(o.per_day, ?6) ELSE ?6 END AS per_day
    FROM organizations o WHERE o.id = ?1
),
st AS (
    SELECT MAX(?3, COALESCE((SELECT window_start FROM rate_counters
                             WHERE org_id = ?1 AND mode = ?2 AND "window" = 'minute'), ?3)) AS ms,
           MAX(?4, COALESCE((SELECT window_start FROM rate_counters
                             WHERE org_id = ?1 AND mode = ?2 AND "window" = 'day'), ?4)) AS ds
),
cur AS (
    SELECT st.ms, st.ds,
           MAX(0, COALESCE((SELECT used FROM rate_counters
                            WHERE org_id = ?1 AND mode = ?2 AND "window" = 'minute' AND window_start = st.ms), 0)
                  - CASE WHEN ?11 = st.ms THEN ?10 ELSE 0 END) AS m,
           MAX(0, COALESCE((SELECT used FROM rate_counters
                            WHERE org_id = ?1 AND mode = ?2 AND "window" = 'day' AND window_start = st.ds), 0)
                  - CASE WHEN ?12 = st.ds THEN ?10 ELSE 0 END) AS d
    FROM st
),
r AS (
    SELECT lim.per_minute, lim.per_day, cur.*,
           MIN(lim.per_minute - cur.m, lim.per_day - cur.d) AS room
    FROM lim CROSS JOIN cur
),
g AS (
    SELECT r.*, CASE WHEN ?9 > 0 THEN MAX(0, MIN(r.room, ?9 + MIN(?13, MAX(0, r.room / ?14))))
                     ELSE 0 END AS n
    FROM r
)
INSERT INTO rate_counters (org_id, mode, "window", window_start, used, allowed, added)
SELECT ?1, ?2, w.kind,
       CASE w.kind WHEN 'minute' THEN g.ms ELSE g.ds END,
       CASE w.kind WHEN 'minute' THEN g.m + g.n ELSE g.d + g.n END,
       CASE w.kind WHEN 'minute' THEN g.per_minute ELSE g.per_day END,
       g.n
FROM g CROSS JOIN (SELECT 'minute' AS kind UNION ALL SELECT 'day') AS w
WHERE g.n > 0 OR ?10 > 0
ON CONFLICT (org_id, mode, "window")
DO UPDATE SET window_start = excluded.window_start, used = excluded.used,
              allowed = excluded.allowed, added = excluded.added
RETURNING "window" AS kind, window_start, used, allowed, added
"#;

/// The connection lease statements take turns on (opened on first use,
/// again after a failure).
pub(super) struct LeaseConnection {
    connection: tokio::sync::Mutex<Option<SqliteConnection>>,
    options: SqliteConnectOptions,
}

impl LeaseConnection {
    /// A connection made with `options` when first needed.
    pub(super) fn new(options: SqliteConnectOptions) -> Self {
        LeaseConnection {
            connection: tokio::sync::Mutex::default(),
            options,
        }
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn lease_requests(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
        give_back: GiveBack,
        want: i64,
    ) -> Result<Grant> {
        let mut connection = self.lease_connection.connection.lock().await;
        let open = match connection.as_mut() {
            Some(open) => open,
            None => connection.insert(self.lease_connection.options.connect().await?),
        };
        let leased = lease(open, tenant, windows, now_ms, give_back, want).await;
        if leased.is_err() {
            *connection = None;
        }
        leased
    }

    async fn organization_limits(&self, org_id: &str) -> Result<Limits> {
        self.plans.limits(org_id)
    }
}

/// One lease, in a transaction: the statement, and when it changed nothing
/// (no room) the plan and counters it saw, for the headers.
async fn lease(
    connection: &mut SqliteConnection,
    tenant: &Tenant,
    windows: &Windows,
    now_ms: i64,
    give_back: GiveBack,
    want: i64,
) -> Result<Grant> {
    let (org_id, mode) = tenant_args(tenant);
    let minute_start = windows.start(WindowKind::Minute, now_ms);
    let day_start = windows.start(WindowKind::Day, now_ms);
    let starter = Limits::of("starter", None, None);
    let growth = Limits::of("growth", None, None);
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query(LEASE)
        .bind(org_id)
        .bind(mode)
        .bind(minute_start)
        .bind(day_start)
        .bind(starter.per_minute)
        .bind(starter.per_day)
        .bind(growth.per_minute)
        .bind(growth.per_day)
        .bind(want)
        .bind(give_back.count)
        .bind(give_back.minute_start)
        .bind(give_back.day_start)
        .bind(SPARE_CAP)
        .bind(SPARE_DIVISOR)
        .fetch_all(&mut *tx)
        .await?;
    let grant = if rows.is_empty() {
        let row = sqlx::query("SELECT plan, per_minute, per_day FROM organizations WHERE id = ?")
            .bind(org_id)
            .fetch_one(&mut *tx)
            .await?;
        let limits = Limits::of(
            row.try_get("plan")?,
            row.try_get("per_minute")?,
            row.try_get("per_day")?,
        );
        let rows = sqlx::query(
            r#"SELECT "window" AS kind, window_start, used FROM rate_counters WHERE org_id = ? AND mode = ?"#,
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
            match row.try_get::<&str, _>("kind")? {
                "minute" => stored[0] = Some(counter),
                _ => stored[1] = Some(counter),
            }
        }
        // Nothing wanted and nothing handed back: reads the counters.
        grant(limits, windows, now_ms, stored, GiveBack::default(), 0)
    } else {
        let mut grant = Grant {
            limits: starter,
            minute: Counter::default(),
            day: Counter::default(),
            granted: 0,
        };
        for row in &rows {
            grant.granted = row.try_get("added")?;
            let counter = Counter {
                window_start: row.try_get("window_start")?,
                used: row.try_get("used")?,
            };
            let allowed = row.try_get("allowed")?;
            if row.try_get::<&str, _>("kind")? == "minute" {
                grant.limits.per_minute = allowed;
                grant.minute = counter;
            } else {
                grant.limits.per_day = allowed;
                grant.day = counter;
            }
        }
        grant
    };
    tx.commit().await?;
    Ok(grant)
}
