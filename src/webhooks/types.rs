//! The webhook resources as stored and shown: [`Event`], [`Endpoint`] and
//! [`Delivery`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::clock;
use crate::metadata::Metadata;

/// Something that happened, as webhooks deliver it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "event")]
pub struct Event {
    /// `evt_…`; also the `webhook-id` of its deliveries.
    pub id: String,
    /// E.g. `agent.created`, `workflow.run.succeeded`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// The object as the API returns it.
    pub data: Value,
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "webhook")]
pub struct Endpoint {
    /// `whk_…`
    pub id: String,
    pub url: String,
    /// Event types, `*`, or wildcards such as `workflow.run.*`.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why the server disabled it (`410 Gone`, failing for days), if it did.
    pub disabled_reason: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
    /// `whsec_…`: only in the answers that create or rotate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// An endpoint as stored: its secrets (sealed) and health.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub endpoint: Endpoint,
    /// The signing secret, sealed (see `webhooks::secrets`).
    pub secret: String,
    /// The previous secret, still signing until `old_secret_until`.
    pub old_secret: Option<String>,
    pub old_secret_until: Option<i64>,
    /// Start of the current run of failures, if failing.
    pub failing_since: Option<i64>,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Succeeded,
    /// Out of attempts, or its endpoint is gone.
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One event on its way to one endpoint, with its last attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "delivery")]
pub struct Delivery {
    /// `dlv_…`
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<i64>,
    /// HTTP status of the last attempt's answer.
    pub response_status: Option<u16>,
    /// First 4 KiB of the last answer's body.
    pub response_body: Option<String>,
    /// Milliseconds the last attempt took.
    pub latency_ms: Option<u64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A delivery handed to a dispatcher, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub tenant: crate::access::Tenant,
    pub delivery: Delivery,
    pub endpoint: EndpointRecord,
    pub event: Event,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub succeeded: bool,
    pub response_status: Option<u16>,
    pub response_body: Option<String>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The next attempt's time; `None` ends the delivery.
    pub next_attempt_at: Option<i64>,
    /// Disables the endpoint, with this reason.
    pub disable_endpoint: Option<String>,
}
