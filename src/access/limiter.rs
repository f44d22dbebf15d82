//! The rate limiter of a serving process. Counts live in shared counters,
//! in the database (the default; exact across every process on it) or in
//! Redis when `FAOS_REDIS_URL` is set (exact across every process using
//! that Redis). A process takes quota from them in leases
//! ([`crate::access::leases`]): most requests are counted in memory, and
//! one write takes the next block. The plan is read on every request (a
//! cheap read), so `faos orgs set-plan` applies to the next request: a
//! lease taken under other limits is handed back first.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::Tenant;
use super::leases::{Leases, TenantLease};
use super::rate_limits::{
    Counter, Decision, GiveBack, Grant, Limits, SPARE_CAP, SPARE_DIVISOR, WindowKind, Windows,
};
use crate::clock;
use crate::error::{Error, Result};
use crate::store::Store;

/// Hands a lease back, then grants requests as [`grant`](super::rate_limits::grant)
/// does. KEYS: minute and day counters now; minute and day counters of the
/// lease handed back. ARGV: minute limit, day limit, minute TTL (ms), day
/// TTL (ms), requests handed back, requests wanted, spare divisor, spare
/// cap. Returns the requests granted and both counters after.
const LEASE_SCRIPT: &str = r"
local back = tonumber(ARGV[5])
if back > 0 then
  for i = 3, 4 do
    local had = tonumber(redis.call('GET', KEYS[i]) or '0')
    if had > 0 then redis.call('DECRBY', KEYS[i], math.min(back, had)) end
  end
end
local m = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(redis.call('GET', KEYS[2]) or '0')
local room = math.min(tonumber(ARGV[1]) - m, tonumber(ARGV[2]) - d)
local want = tonumber(ARGV[6])
local n = 0
if want > 0 and room > 0 then
  local spare = math.max(0, math.min(tonumber(ARGV[8]), math.floor(room / tonumber(ARGV[7]))))
  n = math.min(room, want + spare)
  m = redis.call('INCRBY', KEYS[1], n); redis.call('PEXPIRE', KEYS[1], ARGV[3])
  d = redis.call('INCRBY', KEYS[2], n); redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return {n, m, d}
";

/// How long an unused lease is kept before [`Limiter::give_back_idle`]
/// hands it back, so other processes can use its requests.
pub const LEASE_IDLE: Duration = Duration::from_secs(1);

/// Where the shared counters are.
enum Counters {
    /// The store's `rate_counters` table.
    Store,
    /// Redis, one key per (organization, mode, window).
    Redis {
        connection: ConnectionManager,
        script: redis::Script,
    },
}

/// The rate limiter of one server process.
pub struct Limiter {
    windows: Windows,
    counters: Counters,
    leases: Leases,
}

impl Limiter {
    /// A limiter on the database, or on Redis when `redis_url` is given.
    ///
    /// Errors: a Redis URL that does not parse or a server that does not
    /// answer (`503 unavailable`).
    pub async fn new(windows: Windows, redis_url: Option<&str>) -> Result<Limiter> {
        let counters = match redis_url {
            None => Counters::Store,
            Some(url) => {
                let client = redis::Client::open(url).map_err(|err| {
                    Error::invalid("redis_url", format!("invalid Redis URL: {err}"))
                })?;
                let connection = ConnectionManager::new(client)
                    .await
                    .map_err(|err| Error::Unavailable(format!("cannot reach Redis: {err}")))?;
                Counters::Redis {
                    connection,
                    script: redis::Script::new(LEASE_SCRIPT),
                }
            }
        };
        Ok(Limiter {
            windows,
            counters,
            leases: Leases::default(),
        })
    }

    /// Counts one request of `tenant` at `now_ms`, if the plan allows it.
    ///
    /// Errors: the database or Redis failing (`503 unavailable`).
    pub async fn take(&self, store: &dyn Store, tenant: &Tenant, now_ms: i64) -> Result<Decision> {
        let limits = store.organization_limits(&tenant.org_id).await?;
        let lease = self.leases.of(tenant);
        if let Some(decision) = lease.take(limits, &self.windows, now_ms) {
            return Ok(decision);
        }
        // One new lease at a time: requests waiting here use its spare.
        let _turn = lease.refill.lock().await;
        if let Some(decision) = lease.take(limits, &self.windows, now_ms) {
            return Ok(decision);
        }
        let grant = self
            .lease(store, tenant, limits, now_ms, lease.give_back(), 1)
            .await?;
        Ok(lease.keep(grant, &self.windows, now_ms))
    }

    /// Hands back the leases unused for [`LEASE_IDLE`]; run every second
    /// or so by a serving process.
    pub async fn give_back_idle(&self, store: &dyn Store) {
        let now = clock::now_ms();
        let before = now - LEASE_IDLE.as_millis() as i64;
        self.hand_back(store, now, |lease| lease.give_back_if_idle(before))
            .await;
    }

    /// Hands back every lease (when the process stops).
    pub async fn give_back_all(&self, store: &dyn Store) {
        let now = clock::now_ms();
        self.hand_back(store, now, |lease| Some(lease.give_back()))
            .await;
    }

    async fn hand_back(
        &self,
        store: &dyn Store,
        now_ms: i64,
        pick: impl Fn(&TenantLease) -> Option<GiveBack>,
    ) {
        for (tenant, lease) in self.leases.all() {
            // A lease being renewed is in use.
            let Ok(_turn) = lease.refill.try_lock() else {
                continue;
            };
            // Nothing is wanted, so nothing is granted: the limits the
            // lease was taken under serve (none: nothing was ever leased).
            let Some(limits) = lease.limits() else {
                continue;
            };
            let Some(given) = pick(&lease).filter(|given| given.count > 0) else {
                continue;
            };
            if let Err(err) = self.lease(store, &tenant, limits, now_ms, given, 0).await {
                tracing::warn!(error = %err, org_id = %tenant.org_id, "could not hand back a rate-limit lease");
            }
        }
    }

    /// One lease statement on the shared counters. Redis counts against
    /// `limits` (the plan as read for this request); the database reads
    /// the plan inside its statement.
    async fn lease(
        &self,
        store: &dyn Store,
        tenant: &Tenant,
        limits: Limits,
        now_ms: i64,
        give_back: GiveBack,
        want: i64,
    ) -> Result<Grant> {
        let windows = &self.windows;
        let Counters::Redis { connection, script } = &self.counters else {
            return store
                .lease_requests(tenant, windows, now_ms, give_back, want)
                .await
                .map_err(|err| match err {
                    Error::Internal(err) => Error::Unavailable(format!(
                        "cannot count the request against the rate limits: {err}"
                    )),
                    other => other,
                });
        };
        let key = |kind: WindowKind, start: i64| {
            format!(
                "faos:ratelimit:{}:{}:{}:{start}",
                tenant.org_id,
                tenant.mode.as_str(),
                kind.as_str(),
            )
        };
        let minute_start = windows.start(WindowKind::Minute, now_ms);
        let day_start = windows.start(WindowKind::Day, now_ms);
        let (granted, minute, day): (i64, i64, i64) = script
            .key(key(WindowKind::Minute, minute_start))
            .key(key(WindowKind::Day, day_start))
            .key(key(WindowKind::Minute, give_back.minute_start))
            .key(key(WindowKind::Day, give_back.day_start))
            .arg(limits.per_minute)
            .arg(limits.per_day)
            .arg(windows.length_ms(WindowKind::Minute))
            .arg(windows.length_ms(WindowKind::Day))
            .arg(give_back.count)
            .arg(want)
            .arg(SPARE_DIVISOR)
            .arg(SPARE_CAP)
            .invoke_async(&mut connection.clone())
            .await
            .map_err(|err| Error::Unavailable(format!("Redis failed: {err}")))?;
        Ok(Grant {
            limits,
            minute: Counter {
                window_start: minute_start,
                used: minute,
            },
            day: Counter {
                window_start: day_start,
                used: day,
            },
            granted,
        })
    }
}
