//! SQLite rate-limit counters, counted in batches. Requests of one
//! organization and mode that wait together are counted by one statement:
//! a conditional UPSERT that reads the organization's plan and both
//! counters and adds as many requests as both windows have room for. One
//! statement is atomic across every process on the file (so the count is
//! exact), reading the plan in it makes a plan change apply to the next
//! request, and batching keeps one write per batch rather than per request.
//! Within a process the statements take turns on one connection of their
//! own, so they queue here instead of sleeping in SQLite's busy handler, and
//! skip the pool.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Row, SqliteExecutor};
use tokio::sync::oneshot;

use super::{SqliteStore, tenant_args};
use crate::access::Tenant;
use crate::access::rate_limits::{Counter, Decision, Limits, WindowKind, Windows, decide};
use crate::error::{Error, Result};
use crate::store::RateLimitStore;

/// Counts up to `?9` requests in both windows, as many as both have room
/// for. Binds: org, mode, minute start, day start, starter's and growth's
/// limits (per minute, per day) from [`Limits::of`] (enterprise
/// organizations carry their own, starter's where unset, as there), and
/// the number of requests. Returns both rows, with the limits counted
/// against and how many were added; none when no request fits.
const TAKE: &str = r#"
WITH lim AS (
    SELECT CASE o.plan WHEN 'growth' THEN ?7 WHEN 'enterprise' THEN COALESCE(o.per_minute, ?5) ELSE ?5 END AS per_minute,
           CASE o.plan WHEN 'growth' THEN ?8 WHEN 'enterprise' THEN COALESCE(o.per_day, ?6) ELSE ?6 END AS per_day
    FROM organizations o WHERE o.id = ?1
),
cur AS (
    SELECT COALESCE((SELECT used FROM rate_counters
                     WHERE org_id = ?1 AND mode = ?2 AND "window" = 'minute' AND window_start = ?3), 0) AS m,
           COALESCE((SELECT used FROM rate_counters
                     WHERE org_id = ?1 AND mode = ?2 AND "window" = 'day' AND window_start = ?4), 0) AS d
),
g AS (
    SELECT MIN(?9, lim.per_minute - cur.m, lim.per_day - cur.d) AS n,
           lim.per_minute, lim.per_day, cur.m, cur.d
    FROM lim CROSS JOIN cur
)
INSERT INTO rate_counters (org_id, mode, "window", window_start, used, allowed, added)
SELECT ?1, ?2, w.kind, w.start,
       CASE w.kind WHEN 'minute' THEN g.m + g.n ELSE g.d + g.n END,
       CASE w.kind WHEN 'minute' THEN g.per_minute ELSE g.per_day END,
       g.n
FROM g CROSS JOIN (SELECT 'minute' AS kind, ?3 AS start UNION ALL SELECT 'day', ?4) AS w
WHERE g.n > 0
ON CONFLICT (org_id, mode, "window")
DO UPDATE SET window_start = excluded.window_start, used = excluded.used,
              allowed = excluded.allowed, added = excluded.added
RETURNING "window" AS kind, used, allowed, added
"#;

/// Which counters a request counts against: org, mode, minute start, day
/// start.
type BatchKey = (String, String, i64, i64);

/// Requests waiting to be counted, and the connection that counts them
/// (opened on first use, again after a failure).
pub(super) struct RateBatches {
    waiting: Mutex<HashMap<BatchKey, Vec<oneshot::Sender<Result<Decision>>>>>,
    connection: tokio::sync::Mutex<Option<SqliteConnection>>,
    options: SqliteConnectOptions,
}

impl RateBatches {
    /// Batches counted on a connection made with `options`.
    pub(super) fn new(options: SqliteConnectOptions) -> Self {
        RateBatches {
            waiting: Mutex::default(),
            connection: tokio::sync::Mutex::default(),
            options,
        }
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn take_request(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
    ) -> Result<Decision> {
        let (org_id, mode) = tenant_args(tenant);
        let key: BatchKey = (
            org_id.to_string(),
            mode.to_string(),
            windows.start(WindowKind::Minute, now_ms),
            windows.start(WindowKind::Day, now_ms),
        );
        let (reply, answer) = oneshot::channel();
        let leads = {
            let mut waiting = self.rate_batches.waiting.lock().expect("rate batches");
            let queue = waiting.entry(key.clone()).or_default();
            queue.push(reply);
            queue.len() == 1
        };
        if leads {
            // On its own task: the batch is counted even if this request
            // goes away meanwhile.
            let (batches, windows) = (self.rate_batches.clone(), *windows);
            tokio::spawn(async move {
                let mut connection = batches.connection.lock().await;
                let waiters = batches
                    .waiting
                    .lock()
                    .expect("rate batches")
                    .remove(&key)
                    .unwrap_or_default();
                let counted = match connection.as_mut() {
                    Some(open) => count(open, &key, &windows, now_ms, waiters.len()).await,
                    None => match batches.options.connect().await {
                        Ok(open) => {
                            let open = connection.insert(open);
                            count(open, &key, &windows, now_ms, waiters.len()).await
                        }
                        Err(err) => Err(err.into()),
                    },
                };
                if counted.is_err() {
                    *connection = None;
                }
                match counted {
                    Ok(decisions) => {
                        for (waiter, decision) in waiters.into_iter().zip(decisions) {
                            let _ = waiter.send(Ok(decision));
                        }
                    }
                    Err(err) => {
                        let reason = err.to_string();
                        for waiter in waiters {
                            let _ = waiter.send(Err(Error::Unavailable(reason.clone())));
                        }
                    }
                }
            });
        }
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("the rate-limit batch was lost")))?
    }

    async fn organization_limits(&self, org_id: &str) -> Result<Limits> {
        organization_limits(&self.pool, org_id).await
    }
}

/// Counts `n` requests for `key` in one statement; one decision each, the
/// accepted ones first.
async fn count(
    connection: &mut SqliteConnection,
    key: &BatchKey,
    windows: &Windows,
    now_ms: i64,
    n: usize,
) -> Result<Vec<Decision>> {
    let (org_id, mode, minute_start, day_start) = key;
    let starter = Limits::of("starter", None, None);
    let growth = Limits::of("growth", None, None);
    let rows = sqlx::query(TAKE)
        .bind(org_id)
        .bind(mode)
        .bind(minute_start)
        .bind(day_start)
        .bind(starter.per_minute)
        .bind(starter.per_day)
        .bind(growth.per_minute)
        .bind(growth.per_day)
        .bind(n as i64)
        .fetch_all(&mut *connection)
        .await?;
    let (limits, minute, day, added) = if rows.is_empty() {
        // Nothing fits: read the plan and the counters for the headers.
        let limits = organization_limits(&mut *connection, org_id).await?;
        let rows = sqlx::query(
            r#"SELECT "window" AS kind, window_start, used FROM rate_counters WHERE org_id = ? AND mode = ?"#,
        )
        .bind(org_id)
        .bind(mode)
        .fetch_all(&mut *connection)
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
        (limits, minute, day, 0)
    } else {
        let (mut limits, mut minute, mut day, mut added) = (starter, None, None, 0);
        for row in &rows {
            let counter = |window_start| -> Result<Option<Counter>> {
                Ok(Some(Counter {
                    window_start,
                    used: row.try_get("used")?,
                }))
            };
            added = row.try_get("added")?;
            if row.try_get::<&str, _>("kind")? == "minute" {
                limits.per_minute = row.try_get("allowed")?;
                minute = counter(*minute_start)?;
            } else {
                limits.per_day = row.try_get("allowed")?;
                day = counter(*day_start)?;
            }
        }
        (limits, minute, day, added)
    };
    // `minute` and `day` are the counts after the batch. Request i of the
    // batch saw them `added - i` lower; `decide` on what it saw gives its
    // verdict and headers (the ones past `added` see full windows).
    let before = |counter: Option<Counter>, i: i64| {
        counter.map(|c| Counter {
            used: c.used - (added - i).max(0),
            ..c
        })
    };
    Ok((0..n as i64)
        .map(|i| {
            let mut decision = decide(limits, windows, now_ms, before(minute, i), before(day, i));
            // Only what the statement counted is accepted (a window that
            // turned over between the two reads changes nothing now).
            decision.accepted &= i < added;
            decision
        })
        .collect())
}

async fn organization_limits<'e>(
    executor: impl SqliteExecutor<'e>,
    org_id: &str,
) -> Result<Limits> {
    let row = sqlx::query("SELECT plan, per_minute, per_day FROM organizations WHERE id = ?")
        .bind(org_id)
        .fetch_optional(executor)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("organization {org_id} is missing")))?;
    Ok(Limits::of(
        row.try_get("plan")?,
        row.try_get("per_minute")?,
        row.try_get("per_day")?,
    ))
}
