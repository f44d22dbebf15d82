//! Plans and rate limits (CONTRACT §5): each (organization, mode) may make
//! a number of requests per minute and per day, by plan. Windows are fixed
//! and aligned to the Unix epoch (a minute starts at :00, a day at 00:00
//! UTC), as GitHub's and Stripe's limits are: `X-RateLimit-Reset` is the
//! window's end. Only accepted requests count. The arithmetic lives here
//! ([`grant`], [`Decision`]); the stores (or Redis) keep the counters and
//! apply it atomically, and `leases` counts what a process leased.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

/// Requests allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_minute: i64,
    pub per_day: i64,
}

impl Limits {
    /// The limits of a stored organization row: the plan's, or for
    /// enterprise the organization's own (starter's where unset).
    pub fn of(plan: &str, per_minute: Option<i64>, per_day: Option<i64>) -> Limits {
        const STARTER: Limits = Limits {
            per_minute: 60,
            per_day: 10_000,
        };
        match plan {
            "growth" => Limits {
                per_minute: 300,
                per_day: 100_000,
            },
            "enterprise" => Limits {
                per_minute: per_minute.unwrap_or(STARTER.per_minute),
                per_day: per_day.unwrap_or(STARTER.per_day),
            },
            // `starter`, and any name this version does not know.
            _ => STARTER,
        }
    }
}

/// The two window kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Minute,
    Day,
}

impl WindowKind {
    /// `minute` or `day`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Minute => "minute",
            WindowKind::Day => "day",
        }
    }
}

/// Window lengths. The defaults are a minute and a day; tests shorten them
/// (`[rate_limits]` in the configuration) instead of waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub minute: Duration,
    pub day: Duration,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            minute: Duration::from_secs(60),
            day: Duration::from_secs(86_400),
        }
    }
}

impl Windows {
    /// Start (Unix ms) of the window of `kind` holding `now_ms`.
    pub fn start(&self, kind: WindowKind, now_ms: i64) -> i64 {
        let length = self.length_ms(kind);
        now_ms - now_ms.rem_euclid(length)
    }

    /// Length of a window of `kind`, in ms (at least 1).
    pub fn length_ms(&self, kind: WindowKind) -> i64 {
        let length = match kind {
            WindowKind::Minute => self.minute,
            WindowKind::Day => self.day,
        };
        i64::try_from(length.as_millis()).unwrap_or(i64::MAX).max(1)
    }
}

/// A stored counter: the window it counts (its start, Unix ms) and the
/// requests accepted or leased in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub window_start: i64,
    pub used: i64,
}

/// Requests a process leased and never used, handed back to the shared
/// counters: `count` comes off each window's counter if that counter still
/// counts the window the lease was taken in (`minute_start`, `day_start`,
/// Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GiveBack {
    pub count: i64,
    pub minute_start: i64,
    pub day_start: i64,
}

/// Most requests leased beyond those waiting: a process takes at most this
/// many ahead of need from the shared counters in one write.
pub const SPARE_CAP: i64 = 1_000;
/// A lease takes ahead at most 1/`SPARE_DIVISOR` of the room left, so near
/// a window's limit leases shrink to one request (counted one at a time,
/// across processes, by the shared counters).
pub const SPARE_DIVISOR: i64 = 16;

/// Requests taken beyond `want` when `room` are left: none when nothing is
/// wanted (a lease only handed back), else `room / SPARE_DIVISOR` up to
/// [`SPARE_CAP`].
pub fn spare(want: i64, room: i64) -> i64 {
    if want <= 0 {
        0
    } else {
        (room / SPARE_DIVISOR).clamp(0, SPARE_CAP)
    }
}

/// What one lease statement did: the limits it counted against, both
/// counters after it, and how many requests it granted (0: no room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub limits: Limits,
    pub minute: Counter,
    pub day: Counter,
    pub granted: i64,
}

/// Applies a lease to stored counters (`None`: never counted) at `now_ms`:
/// hands `give_back` back, then grants `want` plus [`spare`] requests, as
/// many as both windows have room for. Stores running it in a transaction
/// save `minute` and `day` of the result when anything changed.
///
/// A counter never moves back to an older window: a lease asked for with a
/// `now_ms` read just before another process moved the counter into the
/// next window is counted in that next window (else both windows would
/// start again from the counts of the other).
pub fn grant(
    limits: Limits,
    windows: &Windows,
    now_ms: i64,
    stored: [Option<Counter>; 2],
    give_back: GiveBack,
    want: i64,
) -> Grant {
    let [minute, day] = [
        (WindowKind::Minute, stored[0], give_back.minute_start),
        (WindowKind::Day, stored[1], give_back.day_start),
    ]
    .map(|(kind, counter, given_in)| {
        let stored = counter.map_or(i64::MIN, |c| c.window_start);
        let start = windows.start(kind, now_ms).max(stored);
        let used = counter
            .filter(|c| c.window_start == start)
            .map_or(0, |c| c.used);
        let back = if given_in == start {
            give_back.count
        } else {
            0
        };
        Counter {
            window_start: start,
            used: (used - back).max(0),
        }
    });
    let room = (limits.per_minute - minute.used).min(limits.per_day - day.used);
    let granted = (want + spare(want, room)).min(room).max(0);
    let add = |c: Counter| Counter {
        used: c.used + granted,
        ..c
    };
    Grant {
        limits,
        minute: add(minute),
        day: add(day),
        granted,
    }
}

/// One window after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub kind: WindowKind,
    pub limit: i64,
    /// When the window started, Unix ms.
    pub start_ms: i64,
    /// Requests accepted in the window, this one included if accepted.
    pub used: i64,
    /// When the window ends, Unix ms.
    pub reset_ms: i64,
}

impl WindowState {
    /// Requests still allowed in this window.
    pub fn remaining(&self) -> i64 {
        (self.limit - self.used).max(0)
    }
}

/// Whether a request is accepted, and both windows' state for the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub accepted: bool,
    pub minute: WindowState,
    pub day: WindowState,
}

impl Decision {
    /// The decision whose windows are the counters' (`used`: requests
    /// accepted in each, this one included if `accepted`).
    pub fn of(
        limits: Limits,
        windows: &Windows,
        minute: Counter,
        day: Counter,
        accepted: bool,
    ) -> Self {
        let state = |kind: WindowKind, limit: i64, counter: Counter| WindowState {
            kind,
            limit,
            start_ms: counter.window_start,
            used: counter.used,
            reset_ms: counter.window_start + windows.length_ms(kind),
        };
        Decision {
            accepted,
            minute: state(WindowKind::Minute, limits.per_minute, minute),
            day: state(WindowKind::Day, limits.per_day, day),
        }
    }

    /// The window nearest to running out (fewest requests left; on a tie,
    /// the one that resets first): the one the headers describe.
    pub fn nearest(&self) -> WindowState {
        if (self.day.remaining(), self.day.reset_ms)
            < (self.minute.remaining(), self.minute.reset_ms)
        {
            self.day
        } else {
            self.minute
        }
    }

    /// Whole seconds until a refused request could be accepted: the end of
    /// the latest exhausted window (at least 1).
    pub fn retry_after_secs(&self, now_ms: i64) -> i64 {
        let until = [self.minute, self.day]
            .iter()
            .filter(|w| w.used >= w.limit)
            .map(|w| w.reset_ms)
            .max()
            .unwrap_or(now_ms);
        ((until - now_ms + 999) / 1000).max(1)
    }

    /// Adds `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds)
    /// for [`Decision::nearest`], and `Retry-After` when refused.
    pub fn write_headers(&self, now_ms: i64, headers: &mut HeaderMap) {
        let window = self.nearest();
        let mut put = |name: &'static str, value: i64| {
            headers.insert(name, HeaderValue::from(value));
        };
        put("x-ratelimit-limit", window.limit);
        put("x-ratelimit-remaining", window.remaining());
        put("x-ratelimit-reset", window.reset_ms.div_euclid(1000));
        if !self.accepted {
            put("retry-after", self.retry_after_secs(now_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARTER: Limits = Limits {
        per_minute: 60,
        per_day: 10_000,
    };

    /// The decision for the request a grant was asked for, as a lease
    /// makes it.
    fn decision(grant: Grant, windows: &Windows) -> Decision {
        crate::access::leases::TenantLease::default().keep(grant, windows, 0)
    }

    #[test]
    fn the_61st_request_in_a_minute_is_refused_until_the_next_minute() {
        let windows = Windows::default();
        let now = 1_700_000_005_000;
        let none = GiveBack::default();
        let start = windows.start(WindowKind::Minute, now);
        let full = Counter {
            window_start: start,
            used: 59,
        };
        let day = Counter {
            window_start: windows.start(WindowKind::Day, now),
            used: 59,
        };
        let sixtieth = grant(STARTER, &windows, now, [Some(full), Some(day)], none, 1);
        assert_eq!(sixtieth.granted, 1, "no spare on the last request");
        let sixtieth = decision(sixtieth, &windows);
        assert!(sixtieth.accepted);
        assert_eq!(sixtieth.minute.remaining(), 0);
        let full = Counter { used: 60, ..full };
        let refused = grant(STARTER, &windows, now, [Some(full), Some(day)], none, 1);
        let refused = decision(refused, &windows);
        assert!(!refused.accepted);
        assert_eq!(refused.minute.used, 60, "a refused request is not counted");
        assert_eq!(refused.nearest().kind, WindowKind::Minute);
        assert_eq!(
            refused.retry_after_secs(now),
            (start + 60_000 - now + 999) / 1000
        );
        let next = grant(
            STARTER,
            &windows,
            start + 60_000,
            [Some(full), Some(day)],
            none,
            1,
        );
        assert!(next.granted > 0);
        assert_eq!(
            next.minute.used, next.granted,
            "a new window starts from zero"
        );
        assert_eq!(decision(next, &windows).minute.used, 1);
    }

    #[test]
    fn the_day_window_is_named_when_it_is_nearer_to_running_out() {
        let windows = Windows::default();
        let now = 1_700_000_000_000;
        let none = GiveBack::default();
        let limits = Limits {
            per_minute: 100,
            per_day: 3,
        };
        let day = Counter {
            window_start: windows.start(WindowKind::Day, now),
            used: 2,
        };
        let last = decision(
            grant(limits, &windows, now, [None, Some(day)], none, 1),
            &windows,
        );
        assert!(last.accepted);
        assert_eq!(last.nearest().kind, WindowKind::Day);
        assert_eq!(last.nearest().remaining(), 0);
        let mut headers = HeaderMap::new();
        let full = Counter { used: 3, ..day };
        let refused = decision(
            grant(limits, &windows, now, [None, Some(full)], none, 1),
            &windows,
        );
        assert!(!refused.accepted);
        refused.write_headers(now, &mut headers);
        assert_eq!(headers["x-ratelimit-limit"], "3");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        let reset = windows.start(WindowKind::Day, now) + 86_400_000;
        assert_eq!(headers["x-ratelimit-reset"], (reset / 1000).to_string());
        assert_eq!(
            headers["retry-after"],
            ((reset - now + 999) / 1000).to_string()
        );
    }

    #[test]
    fn a_lease_takes_spare_requests_until_near_the_limit() {
        let windows = Windows::default();
        let now = 1_700_000_005_000;
        let none = GiveBack::default();
        let first = grant(STARTER, &windows, now, [None, None], none, 1);
        assert_eq!(first.granted, 1 + 60 / SPARE_DIVISOR, "one wanted + spare");
        assert_eq!(first.minute.used, first.granted);
        assert_eq!(first.day.used, first.granted);
        let nearly_full = Counter {
            window_start: windows.start(WindowKind::Minute, now),
            used: 50,
        };
        let near = grant(STARTER, &windows, now, [Some(nearly_full), None], none, 1);
        assert_eq!(near.granted, 1, "no spare with fewer than 16 left");
        let full = Counter {
            used: 60,
            ..nearly_full
        };
        let refused = grant(STARTER, &windows, now, [Some(full), None], none, 3);
        assert_eq!(refused.granted, 0);
        assert_eq!(refused.minute.used, 60);
        let huge = Limits {
            per_minute: i64::MAX / 2,
            per_day: i64::MAX / 2,
        };
        let capped = grant(huge, &windows, now, [None, None], none, 1);
        assert_eq!(capped.granted, 1 + SPARE_CAP);
    }

    #[test]
    fn requests_handed_back_come_off_the_windows_they_were_leased_in() {
        let windows = Windows::default();
        let now = 1_700_000_005_000;
        let minute = windows.start(WindowKind::Minute, now);
        let day = windows.start(WindowKind::Day, now);
        let stored = [
            Some(Counter {
                window_start: minute,
                used: 10,
            }),
            Some(Counter {
                window_start: day,
                used: 100,
            }),
        ];
        let back = GiveBack {
            count: 4,
            minute_start: minute,
            day_start: day,
        };
        let returned = grant(STARTER, &windows, now, stored, back, 0);
        assert_eq!(returned.granted, 0, "nothing wanted, no spare");
        assert_eq!((returned.minute.used, returned.day.used), (6, 96));
        // Leased in the previous minute of the same day: only the day
        // counter still counts them.
        let last_minute = GiveBack {
            minute_start: minute - 60_000,
            ..back
        };
        let returned = grant(STARTER, &windows, now, stored, last_minute, 0);
        assert_eq!((returned.minute.used, returned.day.used), (10, 96));
    }

    #[test]
    fn a_counter_never_moves_back_to_an_older_window() {
        let windows = Windows::default();
        let now = 1_700_000_059_999;
        let next = windows.start(WindowKind::Minute, now) + 60_000;
        // Another process already counted 25 in the next minute.
        let moved = Counter {
            window_start: next,
            used: 25,
        };
        let late = grant(
            STARTER,
            &windows,
            now,
            [Some(moved), None],
            GiveBack::default(),
            1,
        );
        assert_eq!(late.minute.window_start, next);
        assert_eq!(late.minute.used, 25 + late.granted);
    }

    #[test]
    fn enterprise_limits_are_the_organizations_own() {
        assert_eq!(Limits::of("starter", Some(5), Some(5)), STARTER);
        assert_eq!(Limits::of("growth", None, None).per_minute, 300);
        assert_eq!(
            Limits::of("enterprise", Some(7), Some(70)),
            Limits {
                per_minute: 7,
                per_day: 70
            }
        );
    }
}
