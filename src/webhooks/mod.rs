//! Webhooks and events (CONTRACT §7 Webhooks and events): endpoints, their
//! secrets, the event log, and deliveries. [`dispatcher`] sends deliveries;
//! [`signing`] signs them per Standard Webhooks; [`secrets`] seals secrets
//! at rest; this module holds the request rules.

pub mod dispatcher;
pub mod secrets;
pub mod signing;
pub mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::json;
use utoipa::ToSchema;

pub use types::{
    Attempt, ClaimedDelivery, Delivery, DeliveryStatus, Endpoint, EndpointRecord, Event,
};

use crate::access::Tenant;
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::net::url_guard::UrlGuard;
use crate::store::{Keyed, PageRequest, Store};
use secrets::SecretBox;

/// The event types of the contract, plus `webhook.disabled` (an endpoint
/// was disabled by the server) and `webhook.test`.
pub const EVENT_TYPES: &[&str] = &[
    "agent.created",
    "agent.updated",
    "agent.deleted",
    "message.created",
    "workflow.created",
    "workflow.updated",
    "workflow.deleted",
    "workflow.run.started",
    "workflow.run.succeeded",
    "workflow.run.failed",
    "workflow.run.cancelled",
    "webhook.disabled",
    "webhook.test",
];

/// How long a rotated-out secret keeps signing, in milliseconds.
pub const OLD_SECRET_GRACE_MS: i64 = 24 * 3600 * 1000;
/// Most event patterns on one endpoint.
pub const MAX_PATTERNS: usize = 50;
/// Longest endpoint URL, in bytes (what browsers and proxies reliably take).
pub const MAX_URL_BYTES: usize = 2048;
/// Longest endpoint description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Does an endpoint subscribed to `patterns` get events of `kind`? A
/// pattern is `*`, an exact type, or a prefix ending in `.*`
/// (`workflow.run.*`, `agent.*`).
pub fn matches(patterns: &[String], kind: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == kind
            || p.strip_suffix(".*")
                .is_some_and(|prefix| kind.starts_with(&format!("{prefix}.")))
    })
}

/// Body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// `http(s)` URL the events are POSTed to; checked by the URL guard.
    #[schema(required = true, value_type = String)]
    pub url: Option<String>,
    /// Event types, `*`, or wildcards such as `workflow.run.*`; default `["*"]`.
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Body of `PATCH /v1/webhooks/{id}`: only the fields sent change.
/// Enabling an endpoint clears its `disabled_reason`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    /// A JSON Merge Patch (RFC 7396) of the metadata.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<BTreeMap<String, Option<String>>>>,
}

fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The webhook service.
pub struct Webhooks {
    store: Arc<dyn Store>,
    guard: Arc<UrlGuard>,
    pub(crate) secrets: SecretBox,
}

impl Webhooks {
    /// `master_key` (`FAOS_SECRET_KEY`) seals secrets at rest when set.
    pub fn new(store: Arc<dyn Store>, guard: Arc<UrlGuard>, master_key: Option<&str>) -> Self {
        Webhooks {
            store,
            guard,
            secrets: SecretBox::new(master_key),
        }
    }

    fn parse_url(&self, url: String) -> Result<String> {
        if url.len() > MAX_URL_BYTES {
            return Err(Error::invalid(
                "url",
                format!("url must be at most {MAX_URL_BYTES} bytes"),
            ));
        }
        self.guard
            .check_url(&url)
            .map_err(|reason| Error::invalid("url", reason))?;
        Ok(url)
    }

    fn parse_description(description: Option<String>) -> Result<Option<String>> {
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(Error::invalid(
                "description",
                format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        Ok(description)
    }

    /// Checks event type patterns; duplicates are dropped, order kept.
    fn parse_patterns(patterns: Vec<String>) -> Result<Vec<String>> {
        if patterns.is_empty() || patterns.len() > MAX_PATTERNS {
            return Err(Error::invalid(
                "events",
                format!("events must list 1 to {MAX_PATTERNS} event types"),
            ));
        }
        for (index, pattern) in patterns.iter().enumerate() {
            let known = pattern == "*"
                || EVENT_TYPES.contains(&pattern.as_str())
                || pattern.strip_suffix(".*").is_some_and(|prefix| {
                    EVENT_TYPES
                        .iter()
                        .any(|t| t.starts_with(&format!("{prefix}.")))
                });
            if !known {
                return Err(Error::invalid(
                    format!("events[{index}]"),
                    format!(
                        "unknown event type '{pattern}'; known: *, {}, or a prefix such as workflow.run.*",
                        EVENT_TYPES.join(", ")
                    ),
                ));
            }
        }
        let mut unique: Vec<String> = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            if !unique.contains(&pattern) {
                unique.push(pattern);
            }
        }
        Ok(unique)
    }

    /// Creates an endpoint; the answer carries its secret, once.
    ///
    /// Errors: `400` naming `url` (not http(s), refused by the URL guard),
    /// `events[i]`, `metadata…`.
    pub async fn create(&self, tenant: &Tenant, input: CreateEndpoint) -> Result<Endpoint> {
        let url = self.parse_url(
            input
                .url
                .ok_or_else(|| Error::invalid("url", "The 'url' field is required"))?,
        )?;
        let events = Self::parse_patterns(input.events.unwrap_or_else(|| vec!["*".into()]))?;
        let description = Self::parse_description(input.description)?;
        let secret = signing::new_secret();
        let now = clock::now_ms();
        let record = EndpointRecord {
            endpoint: Endpoint {
                id: new_id(IdKind::Endpoint),
                url,
                events,
                enabled: input.enabled.unwrap_or(true),
                disabled_reason: None,
                description,
                metadata: metadata::validate(input.metadata.unwrap_or_default())?,
                secret: None,
                created_at: now,
                updated_at: now,
            },
            secret: self.secrets.seal(&secret),
            old_secret: None,
            old_secret_until: None,
            failing_since: None,
        };
        self.store.insert_endpoint(tenant, &record).await?;
        Ok(Endpoint {
            secret: Some(secret),
            ..record.endpoint
        })
    }

    /// The endpoint (never its secret), or `404` (`param: id`).
    pub async fn get(&self, tenant: &Tenant, id: &str) -> Result<Endpoint> {
        Ok(self.record(tenant, id).await?.endpoint)
    }

    async fn record(&self, tenant: &Tenant, id: &str) -> Result<EndpointRecord> {
        self.store
            .get_endpoint(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("webhook", id, "id"))
    }

    /// One page of endpoints.
    pub async fn list(&self, tenant: &Tenant, page: PageRequest) -> Result<Vec<Keyed<Endpoint>>> {
        self.store.list_endpoints(tenant, page).await
    }

    /// Applies the fields sent.
    pub async fn update(
        &self,
        tenant: &Tenant,
        id: &str,
        input: UpdateEndpoint,
    ) -> Result<Endpoint> {
        let url = input.url.map(|u| self.parse_url(u)).transpose()?;
        let events = input.events.map(Self::parse_patterns).transpose()?;
        let description = input.description.map(Self::parse_description).transpose()?;
        let change = move |mut record: EndpointRecord| -> Result<EndpointRecord> {
            let endpoint = &mut record.endpoint;
            if let Some(patch) = input.metadata {
                endpoint.metadata = metadata::merge(std::mem::take(&mut endpoint.metadata), patch)?;
            }
            if let Some(url) = url {
                endpoint.url = url;
            }
            if let Some(events) = events {
                endpoint.events = events;
            }
            if let Some(description) = description {
                endpoint.description = description;
            }
            if let Some(enabled) = input.enabled {
                if enabled && !endpoint.enabled {
                    endpoint.disabled_reason = None;
                    record.failing_since = None;
                }
                endpoint.enabled = enabled;
            }
            endpoint.updated_at = clock::now_ms().max(endpoint.updated_at);
            Ok(record)
        };
        self.store
            .update_endpoint(tenant, id, Box::new(change))
            .await?
            .map(|r| r.endpoint)
            .ok_or_else(|| Error::not_found("webhook", id, "id"))
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete(&self, tenant: &Tenant, id: &str) -> Result<()> {
        if self.store.delete_endpoint(tenant, id).await? {
            Ok(())
        } else {
            Err(Error::not_found("webhook", id, "id"))
        }
    }

    /// Issues a new secret; the old one keeps signing for 24 hours. The
    /// answer carries the new secret, once.
    pub async fn rotate_secret(&self, tenant: &Tenant, id: &str) -> Result<Endpoint> {
        let secret = signing::new_secret();
        let sealed = self.secrets.seal(&secret);
        let change = move |mut record: EndpointRecord| -> Result<EndpointRecord> {
            let now = clock::now_ms();
            // Only one previous secret is kept: rotating again while it
            // still signs would drop it from under receivers still using it.
            if let Some(until) = record.old_secret_until.filter(|until| *until > now) {
                return Err(Error::Conflict {
                    message: format!(
                        "The previous secret still signs until {}; rotate again after that, or delete and recreate the endpoint.",
                        clock::rfc3339(until)
                    ),
                    param: None,
                });
            }
            record.old_secret = Some(std::mem::replace(&mut record.secret, sealed));
            record.old_secret_until = Some(now + OLD_SECRET_GRACE_MS);
            record.endpoint.updated_at = now.max(record.endpoint.updated_at);
            Ok(record)
        };
        let record = self
            .store
            .update_endpoint(tenant, id, Box::new(change))
            .await?
            .ok_or_else(|| Error::not_found("webhook", id, "id"))?;
        Ok(Endpoint {
            secret: Some(secret),
            ..record.endpoint
        })
    }

    /// Sends a `webhook.test` event to this endpoint only.
    pub async fn test(&self, tenant: &Tenant, id: &str) -> Result<Event> {
        let endpoint = self.get(tenant, id).await?;
        let data = json!({"webhook_id": endpoint.id, "message": "This is a test event from FAOS."});
        self.store
            .insert_targeted_event(tenant, id, "webhook.test", &data)
            .await
    }

    /// One page of an endpoint's deliveries, newest first by default.
    pub async fn deliveries(
        &self,
        tenant: &Tenant,
        id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Delivery>>> {
        self.record(tenant, id).await?;
        self.store.list_deliveries(tenant, id, page).await
    }

    /// Makes a delivery due now again (a manual redelivery).
    pub async fn retry(&self, tenant: &Tenant, id: &str, delivery_id: &str) -> Result<Delivery> {
        self.record(tenant, id).await?;
        self.store
            .retry_delivery(tenant, id, delivery_id)
            .await?
            .ok_or_else(|| Error::not_found("delivery", delivery_id, "delivery_id"))
    }

    /// One page of events, optionally of one type.
    pub async fn events(
        &self,
        tenant: &Tenant,
        kind: Option<&str>,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Event>>> {
        if let Some(kind) = kind
            && !EVENT_TYPES.contains(&kind)
        {
            return Err(Error::invalid(
                "type",
                format!("unknown event type '{kind}'"),
            ));
        }
        self.store.list_events(tenant, kind, page).await
    }

    /// One event, or `404` (`param: id`).
    pub async fn event(&self, tenant: &Tenant, id: &str) -> Result<Event> {
        self.store
            .get_event(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("event", id, "id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_and_wildcards() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches(&p(&["*"]), "agent.created"));
        assert!(matches(&p(&["agent.created"]), "agent.created"));
        assert!(!matches(&p(&["agent.created"]), "agent.updated"));
        assert!(matches(&p(&["workflow.run.*"]), "workflow.run.failed"));
        assert!(!matches(&p(&["workflow.run.*"]), "workflow.created"));
        assert!(matches(&p(&["workflow.*"]), "workflow.run.started"));
        assert!(!matches(&p(&["agent.*"]), "agents.x"));
    }
}
