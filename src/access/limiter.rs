//! Where rate-limit counters live: in the database (the default; exact
//! across every process on it) or in Redis when `FAOS_REDIS_URL` is set
//! (exact across every process using that Redis; one round trip). Either
//! way the plan is read from the database on each request, so `faos orgs
//! set-plan` applies to the next request.

use redis::aio::ConnectionManager;

use super::Tenant;
use super::rate_limits::{Counter, Decision, WindowKind, Windows, decide};
use crate::error::{Error, Result};
use crate::store::Store;

/// Checks both windows and counts the request only if both have room.
/// KEYS: minute counter, day counter. ARGV: minute limit, day limit, minute
/// TTL (ms), day TTL (ms). Returns the counts before this request and
/// whether it was counted.
const TAKE_SCRIPT: &str = r"
local m = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(redis.call('GET', KEYS[2]) or '0')
if m < tonumber(ARGV[1]) and d < tonumber(ARGV[2]) then
  redis.call('INCR', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return {1, m, d}
end
return {0, m, d}
";

/// The rate limiter of one server process.
pub enum Limiter {
    /// Counters in the store's `rate_counters` table.
    Store { windows: Windows },
    /// Counters in Redis, one key per (organization, mode, window).
    Redis {
        windows: Windows,
        connection: ConnectionManager,
        script: redis::Script,
    },
}

impl Limiter {
    /// A limiter on the database, or on Redis when `redis_url` is given.
    ///
    /// Errors: a Redis URL that does not parse or a server that does not
    /// answer (`503 unavailable`).
    pub async fn new(windows: Windows, redis_url: Option<&str>) -> Result<Limiter> {
        let Some(url) = redis_url else {
            return Ok(Limiter::Store { windows });
        };
        let client = redis::Client::open(url)
            .map_err(|err| Error::invalid("redis_url", format!("invalid Redis URL: {err}")))?;
        let connection = ConnectionManager::new(client)
            .await
            .map_err(|err| Error::Unavailable(format!("cannot reach Redis: {err}")))?;
        Ok(Limiter::Redis {
            windows,
            connection,
            script: redis::Script::new(TAKE_SCRIPT),
        })
    }

    /// Counts one request of `tenant` at `now_ms`, if the plan allows it.
    ///
    /// Errors: the database or Redis failing (`503 unavailable`).
    pub async fn take(&self, store: &dyn Store, tenant: &Tenant, now_ms: i64) -> Result<Decision> {
        match self {
            Limiter::Store { windows } => store.take_request(tenant, windows, now_ms).await,
            Limiter::Redis {
                windows,
                connection,
                script,
            } => {
                let limits = store.organization_limits(&tenant.org_id).await?;
                let key = |kind: WindowKind| {
                    format!(
                        "faos:ratelimit:{}:{}:{}:{}",
                        tenant.org_id,
                        tenant.mode.as_str(),
                        kind.as_str(),
                        windows.start(kind, now_ms)
                    )
                };
                let (_, minute_used, day_used): (i64, i64, i64) = script
                    .key(key(WindowKind::Minute))
                    .key(key(WindowKind::Day))
                    .arg(limits.per_minute)
                    .arg(limits.per_day)
                    .arg(windows.length_ms(WindowKind::Minute))
                    .arg(windows.length_ms(WindowKind::Day))
                    .invoke_async(&mut connection.clone())
                    .await
                    .map_err(|err| Error::Unavailable(format!("Redis failed: {err}")))?;
                // The script applied the same rule as `decide` to the same
                // counts, so this reproduces its answer and the headers.
                let counter = |kind, used| {
                    Some(Counter {
                        window_start: windows.start(kind, now_ms),
                        used,
                    })
                };
                Ok(decide(
                    limits,
                    windows,
                    now_ms,
                    counter(WindowKind::Minute, minute_used),
                    counter(WindowKind::Day, day_used),
                ))
            }
        }
    }
}
