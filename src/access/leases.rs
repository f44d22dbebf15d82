//! Rate-limit leases: the part of each (organization, mode)'s quota this
//! process has taken from the shared counters (database or Redis) and not
//! used yet. A request is counted against its lease in memory, with no
//! write; only when the lease is empty does the limiter take a new one
//! (`crate::access::limiter`). Shared counters include every leased
//! request, so accepted ≤ limit holds across processes: a process only
//! accepts what it leased. Leases are dropped (and their unused requests
//! handed back) when the plan's limits change or a window turns over. A
//! process killed without stopping loses what it leased and had not used
//! until the window ends: the limit then errs on the side of refusing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::rate_limits::{Counter, Decision, GiveBack, Grant, Limits, WindowKind, Windows};
use super::{Mode, Tenant};

/// Every lease of this process, by (organization, mode). Entries are kept
/// for the process's life: one per pair that sent a request.
#[derive(Default)]
pub struct Leases {
    tenants: Mutex<HashMap<(String, Mode), Arc<TenantLease>>>,
}

/// One (organization, mode)'s lease, and its turn to take a new one.
#[derive(Default)]
pub struct TenantLease {
    state: Mutex<Lease>,
    /// Held while a new lease is taken, so requests arriving meanwhile
    /// wait for it (and use its spare) instead of taking one each.
    pub refill: tokio::sync::Mutex<()>,
}

/// What a process holds of one (organization, mode)'s quota.
#[derive(Debug, Default, Clone, Copy)]
struct Lease {
    /// The limits the lease was taken under; `None`: nothing held.
    limits: Option<Limits>,
    /// The shared counters after the last lease statement; they count
    /// `unused` requests not yet made.
    minute: Counter,
    day: Counter,
    unused: i64,
    /// When the lease was last taken or used, Unix ms.
    touched_ms: i64,
}

impl Leases {
    /// The lease of `tenant` (created empty on first use).
    pub fn of(&self, tenant: &Tenant) -> Arc<TenantLease> {
        let mut tenants = self.tenants.lock().expect("leases");
        tenants
            .entry((tenant.org_id.clone(), tenant.mode))
            .or_default()
            .clone()
    }

    /// Every lease, with its (organization, mode).
    pub fn all(&self) -> Vec<(Tenant, Arc<TenantLease>)> {
        let tenants = self.tenants.lock().expect("leases");
        tenants
            .iter()
            .map(|((org_id, mode), lease)| {
                let tenant = Tenant {
                    org_id: org_id.clone(),
                    mode: *mode,
                };
                (tenant, lease.clone())
            })
            .collect()
    }
}

impl TenantLease {
    /// Counts one request at `now_ms` against the lease, if it holds an
    /// unused request of both current windows under `limits`.
    pub fn take(&self, limits: Limits, windows: &Windows, now_ms: i64) -> Option<Decision> {
        let mut lease = self.state.lock().expect("lease");
        // A lease of a later window than `now_ms`'s (taken by a request
        // that came after this one read the time) counts it there.
        let current = lease.limits == Some(limits)
            && lease.minute.window_start >= windows.start(WindowKind::Minute, now_ms)
            && lease.day.window_start >= windows.start(WindowKind::Day, now_ms);
        if !current || lease.unused == 0 {
            return None;
        }
        lease.unused -= 1;
        lease.touched_ms = now_ms;
        Some(lease.decision(windows))
    }

    /// The limits the lease was taken under, if one was.
    pub fn limits(&self) -> Option<Limits> {
        self.state.lock().expect("lease").limits
    }

    /// Empties the lease: what to hand back to the shared counters.
    pub fn give_back(&self) -> GiveBack {
        let mut lease = self.state.lock().expect("lease");
        let given = GiveBack {
            count: lease.unused,
            minute_start: lease.minute.window_start,
            day_start: lease.day.window_start,
        };
        lease.unused = 0;
        given
    }

    /// Empties the lease if it was not used since `before_ms` (Unix ms).
    pub fn give_back_if_idle(&self, before_ms: i64) -> Option<GiveBack> {
        let idle = {
            let lease = self.state.lock().expect("lease");
            lease.unused > 0 && lease.touched_ms < before_ms
        };
        idle.then(|| self.give_back())
    }

    /// Keeps a new lease, granted for one request at `now_ms` (and maybe
    /// spare ones), and decides that request: accepted when anything was
    /// granted.
    pub fn keep(&self, grant: Grant, windows: &Windows, now_ms: i64) -> Decision {
        let mut lease = self.state.lock().expect("lease");
        *lease = Lease {
            limits: Some(grant.limits),
            minute: grant.minute,
            day: grant.day,
            unused: (grant.granted - 1).max(0),
            touched_ms: now_ms,
        };
        if grant.granted > 0 {
            lease.decision(windows)
        } else {
            // Refused: the counters as the lease statement saw them.
            Decision::of(grant.limits, windows, grant.minute, grant.day, false)
        }
    }
}

impl Lease {
    /// The decision for a request just taken from the lease: the windows
    /// count every request made so far and none of those left unused.
    fn decision(&self, windows: &Windows) -> Decision {
        let limits = self.limits.expect("a held lease has limits");
        let made = |counter: Counter| Counter {
            used: counter.used - self.unused,
            ..counter
        };
        Decision::of(limits, windows, made(self.minute), made(self.day), true)
    }
}
