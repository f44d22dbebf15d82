//! The webhook dispatcher, one per `faos serve` process. It turns new
//! events into deliveries (one per subscribed endpoint), claims due
//! deliveries with a lease, and sends them per Standard Webhooks. A 2xx
//! within 15 s is success; anything else — redirects included — fails the
//! attempt, which is tried again on the retry schedule (±20 % jitter), or
//! after the receiver's `Retry-After` on 429/503. `410 Gone` disables the
//! endpoint; so does failing without a single success for the configured
//! time (5 days by default). Deliveries survive restarts; a process that
//! dies mid-send leaves its claims to expire and be sent again
//! (at-least-once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use tokio::sync::Semaphore;

use super::secrets::SecretBox;
use super::{Attempt, ClaimedDelivery, matches, signing};
use crate::clock;
use crate::ids;
use crate::models::retry::retry_after;
use crate::net::http_client::{error_reason, guarded_client_without_redirects};
use crate::net::url_guard::UrlGuard;
use crate::store::Store;

/// How long a receiver has to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often an idle dispatcher looks for due deliveries (events written
/// in this process wake it at once).
const POLL: Duration = Duration::from_millis(200);
/// Events turned into deliveries per transaction.
const FAN_OUT_BATCH: u32 = 500;

/// Settings of the dispatcher.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Waits between attempts after the first.
    pub schedule: Vec<Duration>,
    /// An endpoint failing this long without a success is disabled.
    pub disable_after: Duration,
    /// Deliveries sent at once by this process.
    pub concurrency: usize,
    /// How long a claim lasts: a dispatcher that dies leaves its claims to
    /// others after this.
    pub lease: Duration,
}

impl DispatchSettings {
    /// Parses `FAOS_WEBHOOK_RETRY_SCHEDULE`: seconds, comma-separated.
    ///
    /// Errors: an entry that is not a non-negative number.
    pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        format!("invalid webhook retry schedule entry '{s}': expected seconds")
                    })
            })
            .collect()
    }
}

/// Sends deliveries.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    http: reqwest::Client,
    secrets: SecretBox,
    settings: DispatchSettings,
    owner: String,
    /// Wakes the loop: new events (the store's signal) or a finished send.
    signal: Arc<tokio::sync::Notify>,
}

impl Dispatcher {
    /// Builds a dispatcher; call [`Dispatcher::run`].
    pub fn new(
        store: Arc<dyn Store>,
        guard: Arc<UrlGuard>,
        secrets: SecretBox,
        settings: DispatchSettings,
    ) -> Arc<Self> {
        Arc::new(Dispatcher {
            signal: store.event_signal(),
            store,
            http: guarded_client_without_redirects(guard, DELIVERY_TIMEOUT),
            secrets,
            settings,
            owner: format!("dispatcher_{}", ids::random_alphanumeric(16)),
        })
    }

    /// Runs forever: fans out events, sends due deliveries.
    pub async fn run(self: Arc<Self>) {
        let signal = self.signal.clone();
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        loop {
            loop {
                match self.store.fan_out(FAN_OUT_BATCH, matches).await {
                    Ok(n) if n == FAN_OUT_BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not fan out events");
                        break;
                    }
                }
            }
            let free = slots.available_permits() as u32;
            let mut busy = false;
            if free > 0 {
                let lease_until = clock::now_ms() + self.settings.lease.as_millis() as i64;
                match self
                    .store
                    .claim_deliveries(&self.owner, lease_until, free)
                    .await
                {
                    Ok(claimed) => {
                        busy = claimed.len() as u32 == free;
                        for delivery in claimed {
                            let permit = slots
                                .clone()
                                .acquire_owned()
                                .await
                                .expect("the semaphore stays open");
                            let dispatcher = self.clone();
                            tokio::spawn(async move {
                                dispatcher.send(delivery).await;
                                drop(permit);
                                // A slot is free: look for more work now.
                                dispatcher.signal.notify_one();
                            });
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "could not claim deliveries"),
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Makes one attempt and records it.
    async fn send(&self, claimed: ClaimedDelivery) {
        let ClaimedDelivery {
            tenant,
            delivery,
            endpoint,
            event,
        } = claimed;
        let attempt = if !endpoint.endpoint.enabled && event.kind != "webhook.test" {
            Attempt {
                succeeded: false,
                response_status: None,
                response_body: None,
                latency_ms: 0,
                error: Some(format!(
                    "the endpoint is disabled: {}",
                    endpoint
                        .endpoint
                        .disabled_reason
                        .as_deref()
                        .unwrap_or("by its owner")
                )),
                next_attempt_at: None,
                disable_endpoint: None,
            }
        } else {
            let mut attempt = self.attempt(&endpoint, &event).await;
            if !attempt.succeeded {
                let number = delivery.attempts as usize; // attempts before this one
                let now = clock::now_ms();
                if attempt.disable_endpoint.is_none()
                    && endpoint.failing_since.is_some_and(|since| {
                        now - since > self.settings.disable_after.as_millis() as i64
                    })
                {
                    attempt.disable_endpoint = Some(format!(
                        "the endpoint failed for {} hours without a success",
                        self.settings.disable_after.as_secs() / 3600
                    ));
                }
                if attempt.disable_endpoint.is_some() {
                    attempt.next_attempt_at = None;
                } else if let Some(wait) = self.settings.schedule.get(number) {
                    let wait = attempt.next_attempt_at.map_or_else(
                        || jittered(*wait),
                        |hinted| Duration::from_millis((hinted - now).max(0) as u64),
                    );
                    attempt.next_attempt_at = Some(now + wait.as_millis() as i64);
                } else {
                    attempt.next_attempt_at = None;
                }
            }
            attempt
        };
        if let Err(err) = self
            .store
            .record_attempt(&tenant, &delivery.id, &endpoint.endpoint.id, &attempt)
            .await
        {
            tracing::error!(delivery = %delivery.id, error = %err, "could not record a delivery attempt");
        } else {
            tracing::debug!(delivery = %delivery.id, succeeded = attempt.succeeded, "delivery attempted");
        }
    }

    /// POSTs the event, signed. A failure's `next_attempt_at` carries the
    /// receiver's `Retry-After`, if it gave one.
    async fn attempt(&self, endpoint: &super::EndpointRecord, event: &super::Event) -> Attempt {
        let failed = |error: String| Attempt {
            succeeded: false,
            response_status: None,
            response_body: None,
            latency_ms: 0,
            error: Some(error),
            next_attempt_at: None,
            disable_endpoint: None,
        };
        let now = clock::now_ms();
        let mut secrets = Vec::new();
        match self.secrets.open(&endpoint.secret) {
            Ok(secret) => secrets.push(secret),
            Err(reason) => return failed(reason),
        }
        if let (Some(old), Some(until)) = (&endpoint.old_secret, endpoint.old_secret_until)
            && until > now
            && let Ok(old) = self.secrets.open(old)
        {
            secrets.push(old);
        }
        let body = match serde_json::to_vec(event) {
            Ok(body) => body,
            Err(err) => return failed(format!("the event could not be serialized: {err}")),
        };
        let timestamp = now / 1000;
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = match signing::signature_header(&refs, &event.id, timestamp, &body) {
            Ok(signature) => signature,
            Err(reason) => return failed(reason),
        };
        let started = Instant::now();
        let sent = self
            .http
            .post(&endpoint.endpoint.url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("FAOS-Webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                let mut attempt = failed(format!("the request failed: {}", error_reason(&err)));
                attempt.latency_ms = started.elapsed().as_millis() as u64;
                return attempt;
            }
        };
        let status = response.status();
        let hint = hinted_retry(status.as_u16(), response.headers());
        // Kept as text: NUL is replaced, as no database stores it in text.
        let text = response
            .text()
            .await
            .unwrap_or_default()
            .replace('\0', "\u{FFFD}");
        let latency_ms = started.elapsed().as_millis() as u64;
        let succeeded = status.is_success();
        Attempt {
            succeeded,
            response_status: Some(status.as_u16()),
            response_body: Some(text),
            latency_ms,
            error: match status.as_u16() {
                _ if succeeded => None,
                300..=399 => {
                    Some("redirects are not followed; the endpoint must answer 2xx itself".into())
                }
                code => Some(format!("the endpoint answered HTTP {code}")),
            },
            next_attempt_at: hint.map(|wait| clock::now_ms() + wait.as_millis() as i64),
            disable_endpoint: (status.as_u16() == 410)
                .then(|| "the endpoint answered 410 Gone".to_string()),
        }
    }
}

/// The receiver's requested wait on 429 and 503, at most an hour.
fn hinted_retry(status: u16, headers: &HeaderMap) -> Option<Duration> {
    matches!(status, 429 | 503)
        .then(|| retry_after(headers))
        .flatten()
        .map(|wait| wait.min(Duration::from_secs(3600)))
}

/// `delay` ±20 %.
fn jittered(delay: Duration) -> Duration {
    let fraction = 0.8 + 0.4 * f64::from(ids::random_bytes::<1>()[0]) / 255.0;
    delay.mul_f64(fraction)
}
