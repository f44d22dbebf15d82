//! Storage: every query FAOS runs lives under this module. The traits here
//! are what the domain sees; each backend (`sqlite`, `postgres`) is one
//! implementation of them; `shared` holds the pure logic they have in
//! common. Every call about a user resource takes the
//! caller's [`Tenant`]; there is no query by bare id.

pub mod postgres;
mod shared;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::access::rate_limits::{GiveBack, Grant, Limits, Windows};
use crate::access::{Mode, Tenant};
use crate::agents::Agent;
use crate::conversations::Message;
use crate::error::{Error, Result};
use crate::metadata::Metadata;
use crate::webhooks::{Attempt, ClaimedDelivery, Delivery, Endpoint, EndpointRecord, Event};
use crate::workflows::{Run, RunStatus, StepRun, Workflow};

/// The whole store: one value of this is shared by the API and the workers.
pub trait Store:
    AccessStore
    + AgentStore
    + MessageStore
    + AnswerStore
    + WorkflowStore
    + RunStore
    + EventStore
    + WebhookStore
    + IdempotencyStore
    + RateLimitStore
    + OAuthStore
    + Send
    + Sync
    + 'static
{
}
impl<T> Store for T where
    T: AccessStore
        + AgentStore
        + MessageStore
        + AnswerStore
        + WorkflowStore
        + RunStore
        + EventStore
        + WebhookStore
        + IdempotencyStore
        + RateLimitStore
        + OAuthStore
        + Send
        + Sync
        + 'static
{
}

/// What opening a store does about the schema's migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Applies pending migrations (safe from several nodes at once).
    Apply,
    /// Applies none, and fails when one is pending (`serve --no-migrate`,
    /// for deployments that run `faos migrate` as a separate step).
    Require,
}

/// Opens the store named by a database URL, applying or requiring its
/// migrations.
///
/// Errors: an unknown scheme, an unreadable or uncreatable database, a
/// failed migration, or (with [`Migrations::Require`]) a pending one.
pub async fn open(database_url: &str, migrations: Migrations) -> Result<Arc<dyn Store>> {
    check_url(database_url)?;
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(database_url, migrations).await?,
        ))
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PostgresStore::open(database_url, migrations).await?,
        ))
    } else {
        unreachable!("check_url accepts only SQLite and PostgreSQL URLs")
    }
}

/// Checks that `database_url` names a database FAOS can use, before
/// anything is opened: `sqlite://PATH` (a file: every connection of an
/// in-memory database would have its own) or `postgres://…`.
///
/// Errors: `400 invalid_request` (`param: database`) naming what is wrong.
pub fn check_url(database_url: &str) -> Result<()> {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        let in_memory = file.contains(":memory:")
            || query
                .split('&')
                .any(|pair| pair.eq_ignore_ascii_case("mode=memory"));
        if file.is_empty() || in_memory {
            return Err(Error::invalid(
                "database",
                format!("the SQLite URL '{database_url}' names no file: use sqlite://PATH"),
            ));
        }
        return Ok(());
    }
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        return Ok(());
    }
    Err(Error::invalid(
        "database",
        format!(
            "unsupported database URL '{database_url}': expected sqlite://PATH or postgres://…"
        ),
    ))
}

/// Sort direction of a list (CONTRACT §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first (the default).
    Desc,
    /// Oldest first.
    Asc,
}

/// One page request in keyset form: rows strictly after `after` (a row's
/// position, see [`Keyed`]) in `order`, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u32,
    pub order: Order,
    pub after: Option<i64>,
}

/// A row with its position: a per-table, strictly increasing insertion
/// sequence number, the keyset pagination key.
#[derive(Debug, Clone)]
pub struct Keyed<T> {
    pub position: i64,
    pub item: T,
}

/// An organization (the tenant above modes).
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// `starter`, `growth` or `enterprise`.
    pub plan: String,
    pub created_at: i64,
}

/// A stored API key: never the secret, only its SHA-256.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub org_id: String,
    pub mode: Mode,
    pub name: Option<String>,
    pub secret_hash: Vec<u8>,
    /// Recognisable form of the secret, e.g. `sk_live_…Wx9z`.
    pub redacted: String,
    /// `None`: every scope.
    pub scopes: Option<Vec<String>>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// For an OAuth access token: the `cli_…` client it was issued to.
    /// Tokens are not listed with the API keys.
    pub client_id: Option<String>,
    /// Empty for keys not made through `POST /v1/api_keys` (secret keys,
    /// OAuth access tokens).
    pub metadata: Metadata,
}

/// Organizations, keys and server-wide settings.
#[async_trait]
pub trait AccessStore {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<()>;

    /// The server's 32-byte secret (for signing cursors), made on first use
    /// and shared by every process on this database.
    async fn server_secret(&self) -> Result<Vec<u8>>;

    /// On a database with no API key, atomically stores the given keys in
    /// the organization named `name` (created with id `org_id` if missing)
    /// and returns it; otherwise `None`.
    async fn bootstrap(
        &self,
        name: &str,
        keys: &[ApiKeyRecord],
        org_id: &str,
    ) -> Result<Option<Organization>>;

    /// The organization named `name`, created (on `plan`) if missing.
    async fn ensure_organization(&self, name: &str, plan: &str) -> Result<Organization>;

    /// Sets an organization's plan and, for enterprise, its limits.
    async fn set_plan(
        &self,
        org_id: &str,
        plan: &str,
        per_minute: Option<i64>,
        per_day: Option<i64>,
    ) -> Result<()>;

    /// Stores a key (its hash only).
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()>;

    /// The key whose secret hashes to `hash`, if any (revoked ones too).
    async fn find_api_key(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>>;

    /// One page of the tenant's keys (revoked ones too).
    async fn list_api_keys(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<ApiKeyRecord>>>;

    /// Revokes a key of the tenant; `Ok(None)` when there is none.
    async fn revoke_api_key(&self, tenant: &Tenant, id: &str) -> Result<Option<ApiKeyRecord>>;
}

/// A held [`WorkflowStore::lock_workflow_changes`]; dropping it releases
/// the lock.
pub struct WorkflowChangeLock(pub Box<dyn Send>);

/// Rate-limit counters (CONTRACT §5), kept exact across processes: each
/// counts the requests every process has accepted or leased.
#[async_trait]
pub trait RateLimitStore {
    /// Atomically with every other process on this database: reads the
    /// organization's plan and the counters of `tenant` at `now_ms`, hands
    /// `give_back` back, and grants `want` requests plus spare ones as
    /// [`grant`](crate::access::rate_limits::grant) does, saving the
    /// counters when anything changed.
    async fn lease_requests(
        &self,
        tenant: &Tenant,
        windows: &Windows,
        now_ms: i64,
        give_back: GiveBack,
        want: i64,
    ) -> Result<Grant>;

    /// The organization's current limits: read on every request, so kept
    /// cheap (SQLite reads it without leaving the calling thread).
    async fn organization_limits(&self, org_id: &str) -> Result<Limits>;
}

/// A stored OAuth client: never its secret, only the SHA-256 of it.
#[derive(Debug, Clone)]
pub struct OAuthClientRecord {
    /// `cli_…`, the OAuth `client_id`.
    pub id: String,
    pub org_id: String,
    pub mode: Mode,
    pub name: String,
    pub secret_hash: Vec<u8>,
    /// The most a token of this client may carry.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub metadata: Metadata,
}

/// OAuth 2.0 clients. Their access tokens are [`ApiKeyRecord`]s with a
/// `client_id`, stored with [`AccessStore::insert_api_key`].
#[async_trait]
pub trait OAuthStore {
    async fn insert_oauth_client(&self, record: &OAuthClientRecord) -> Result<()>;

    /// The client with this `client_id`, in any tenant: clients
    /// authenticate by id and secret before a tenant is known.
    async fn find_oauth_client(&self, id: &str) -> Result<Option<OAuthClientRecord>>;

    async fn list_oauth_clients(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<OAuthClientRecord>>>;

    /// Deletes a client of the tenant and every token issued to it.
    async fn delete_oauth_client(&self, tenant: &Tenant, id: &str) -> Result<bool>;

    /// Revokes the token hashing to `hash` if it was issued to `client_id`;
    /// whether one was.
    async fn revoke_token(&self, client_id: &str, hash: &[u8], now_ms: i64) -> Result<bool>;

    /// Deletes access tokens that expired before `before`.
    async fn prune_tokens(&self, before: i64) -> Result<u64>;
}

/// Agents, scoped by tenant.
#[async_trait]
pub trait AgentStore {
    async fn insert_agent(&self, tenant: &Tenant, agent: &Agent) -> Result<()>;
    async fn get_agent(&self, tenant: &Tenant, id: &str) -> Result<Option<Agent>>;
    async fn list_agents(&self, tenant: &Tenant, page: PageRequest) -> Result<Vec<Keyed<Agent>>>;
    /// Reads the agent, applies `change` and writes it back in one
    /// transaction, so concurrent updates never lose each other's fields.
    /// `Ok(None)` when there is no such agent.
    async fn update_agent(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(Agent) -> Result<Agent> + Send>,
    ) -> Result<Option<Agent>>;
    /// Deletes the agent and its messages; `false` when there was none.
    async fn delete_agent(&self, tenant: &Tenant, id: &str) -> Result<bool>;
}

/// Messages of conversations, scoped by tenant.
#[async_trait]
pub trait MessageStore {
    async fn insert_message(&self, tenant: &Tenant, message: &Message) -> Result<()>;
    /// One page of a conversation's messages.
    async fn list_messages(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Message>>>;
    /// The whole conversation, oldest first.
    async fn conversation(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<Message>>;
    /// Token totals of the agent's assistant messages, per UTC day
    /// (`YYYY-MM-DD`, oldest first) and per model.
    async fn usage(
        &self,
        tenant: &Tenant,
        agent_id: &str,
    ) -> Result<(Vec<UsageRow>, Vec<UsageRow>)>;
}

/// Token totals under one key (a day or a model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub key: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Where an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl AnswerStatus {
    /// As stored: `running`, `completed`, `failed`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Running => "running",
            AnswerStatus::Completed => "completed",
            AnswerStatus::Failed => "failed",
            AnswerStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<AnswerStatus> {
        [
            AnswerStatus::Running,
            AnswerStatus::Completed,
            AnswerStatus::Failed,
            AnswerStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One answer of an agent: its id is the id of the assistant message that
/// ends it.
#[derive(Debug, Clone)]
pub struct AnswerRecord {
    pub id: String,
    pub agent_id: String,
    pub conversation_id: String,
    pub status: AnswerStatus,
    pub cancel_requested: bool,
    pub created_at: i64,
}

/// One event of an answer's stream, as stored for resumption.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// 1, 2, 3… within the answer; the SSE `id:`.
    pub seq: i64,
    /// The SSE event name, e.g. `message.delta`.
    pub event: String,
    /// The JSON data.
    pub data: String,
}

/// Answers: the per-conversation lock (one running answer per conversation,
/// held with a lease) and their stream event logs.
#[async_trait]
pub trait AnswerStore {
    /// Starts answer `id` on the conversation and stores the user's
    /// message, in one transaction, unless another running answer with a
    /// live lease holds the conversation (`Ok(false)`, nothing stored). A
    /// running answer whose lease expired (its process died) is marked
    /// failed first.
    async fn begin_answer(
        &self,
        tenant: &Tenant,
        id: &str,
        lease_until: i64,
        user_message: &Message,
    ) -> Result<bool>;
    /// Extends a running answer's lease; returns whether a cancel was asked.
    async fn renew_answer(&self, tenant: &Tenant, id: &str, lease_until: i64) -> Result<bool>;
    /// Records how a running answer ended, with its final message and its
    /// stream's last event (both optional), in one transaction.
    async fn finish_answer(
        &self,
        tenant: &Tenant,
        id: &str,
        status: AnswerStatus,
        message: Option<&Message>,
        last_event: Option<&StoredEvent>,
    ) -> Result<()>;
    /// The running answer of a conversation, if any.
    async fn running_answer(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
    ) -> Result<Option<AnswerRecord>>;
    /// Asks a running answer to stop (seen by its process at the next lease
    /// renewal).
    async fn request_cancel(&self, tenant: &Tenant, id: &str) -> Result<()>;
    /// An answer of the tenant's agent.
    async fn get_answer(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        id: &str,
    ) -> Result<Option<AnswerRecord>>;
    /// Appends one stream event.
    async fn append_event(&self, answer_id: &str, event: &StoredEvent) -> Result<()>;
    /// Up to `limit` events of the tenant's answer after `after`, in order.
    async fn events_after(
        &self,
        tenant: &Tenant,
        answer_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// Deletes finished answers (and their events) created before `before`
    /// (Unix ms); returns how many.
    async fn prune_answers(&self, before: i64) -> Result<u64>;
}

/// Workflows, scoped by tenant. Every version of a definition is kept, so a
/// run executes the version it started with.
#[async_trait]
pub trait WorkflowStore {
    /// Takes the tenant's lock on changes of workflow definitions, held
    /// until the returned guard is dropped: a definition's check (no
    /// cycle through sub-workflows) and its save happen under it, so two
    /// concurrent changes cannot each pass alone and close a cycle
    /// together. PostgreSQL: a transaction-level advisory lock, across
    /// every node. SQLite: a lock of this process (several processes on
    /// one file are not covered).
    async fn lock_workflow_changes(&self, tenant: &Tenant) -> Result<WorkflowChangeLock>;
    /// Stores a new workflow and its first version.
    async fn insert_workflow(&self, tenant: &Tenant, workflow: &Workflow) -> Result<()>;
    async fn get_workflow(&self, tenant: &Tenant, id: &str) -> Result<Option<Workflow>>;
    async fn list_workflows(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Workflow>>>;
    /// Reads, changes and writes a workflow in one transaction; a new
    /// `version` is stored as a new version row. `Ok(None)` when absent.
    async fn update_workflow(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(Workflow) -> Result<Workflow> + Send>,
    ) -> Result<Option<Workflow>>;
    /// Hides a workflow (its versions stay for the runs that use them);
    /// `false` when there was none.
    async fn delete_workflow(&self, tenant: &Tenant, id: &str) -> Result<bool>;
    /// The stored definition of one version.
    async fn workflow_version(
        &self,
        tenant: &Tenant,
        id: &str,
        version: u32,
    ) -> Result<Option<serde_json::Value>>;
}

/// A run handed to a worker, with the tenant it belongs to.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub tenant: Tenant,
    pub run: Run,
}

/// Workflow runs and their steps. Runs are claimed by workers with a lease
/// (`lease_owner`, `lease_until`), so a run whose process died is claimed
/// again once its lease expires.
#[async_trait]
pub trait RunStore {
    async fn insert_run(
        &self,
        tenant: &Tenant,
        run: &Run,
        lease: Option<(&str, i64)>,
    ) -> Result<()>;
    /// A run with its steps.
    async fn get_run(&self, tenant: &Tenant, id: &str) -> Result<Option<Run>>;
    /// One page of a workflow's runs (without their steps).
    async fn list_runs(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Run>>>;
    /// Claims up to `limit` runs that are queued, or running with an expired
    /// lease, oldest first, for `owner` until `lease_until`.
    async fn claim_runs(
        &self,
        owner: &str,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedRun>>;
    /// Extends `owner`'s lease: `Ok(None)` when the lease was lost, else
    /// whether a cancel was asked.
    async fn renew_run(
        &self,
        tenant: &Tenant,
        id: &str,
        owner: &str,
        lease_until: i64,
    ) -> Result<Option<bool>>;
    /// Records how a run ended (only while `owner` holds it).
    async fn finish_run(
        &self,
        tenant: &Tenant,
        id: &str,
        owner: &str,
        status: RunStatus,
        output: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()>;
    /// Asks a run to stop: a queued run is cancelled at once; a running
    /// one is flagged for its worker. Returns the status after the call.
    async fn request_run_cancel(&self, tenant: &Tenant, id: &str) -> Result<Option<RunStatus>>;
    /// Fails the still-running sub-runs of `parent_id` (left behind when
    /// the parent's process died; the parent starts new ones); returns how
    /// many.
    async fn abandon_children(&self, tenant: &Tenant, parent_id: &str) -> Result<u64>;
    /// The steps recorded for a run, in the order they started.
    async fn step_runs(&self, tenant: &Tenant, run_id: &str) -> Result<Vec<StepRun>>;
    /// Records a step's start or end (keyed by its path).
    async fn upsert_step(&self, tenant: &Tenant, run_id: &str, step: &StepRun) -> Result<()>;

    /// Notified when a queued run was stored, by this process or (where
    /// the backend can tell) another one: workers wait on it.
    fn run_signal(&self) -> std::sync::Arc<tokio::sync::Notify>;
}

/// Events. Every change the contract names writes its event in the same
/// transaction as the change (the store's mutations do it themselves).
#[async_trait]
pub trait EventStore {
    /// One page of the tenant's events, optionally of one type.
    async fn list_events(
        &self,
        tenant: &Tenant,
        kind: Option<&str>,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Event>>>;
    async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<Option<Event>>;
    /// Deletes events created before `before` (Unix ms); returns how many.
    async fn prune_events(&self, before: i64) -> Result<u64>;
    /// Notified after every commit that wrote events (dispatchers wait on it).
    fn event_signal(&self) -> std::sync::Arc<tokio::sync::Notify>;
}

/// Which endpoint patterns an event type matches (`*`, exact, `prefix.*`).
pub type EventMatcher = fn(&[String], &str) -> bool;

/// Webhook endpoints and deliveries, scoped by tenant; the dispatcher's
/// calls work across tenants on rows they claimed.
#[async_trait]
pub trait WebhookStore {
    async fn insert_endpoint(&self, tenant: &Tenant, record: &EndpointRecord) -> Result<()>;
    async fn get_endpoint(&self, tenant: &Tenant, id: &str) -> Result<Option<EndpointRecord>>;
    async fn list_endpoints(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Endpoint>>>;
    /// Reads, changes and writes an endpoint in one transaction.
    async fn update_endpoint(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(EndpointRecord) -> Result<EndpointRecord> + Send>,
    ) -> Result<Option<EndpointRecord>>;
    /// Deletes an endpoint and its deliveries; `false` when there was none.
    async fn delete_endpoint(&self, tenant: &Tenant, id: &str) -> Result<bool>;
    /// Turns up to `limit` new events into one pending delivery per enabled
    /// endpoint of their tenant that `matches` them; returns how many events.
    async fn fan_out(&self, limit: u32, matches: EventMatcher) -> Result<u32>;
    /// Claims up to `limit` deliveries that are due, for `owner` until
    /// `lease_until`.
    async fn claim_deliveries(
        &self,
        owner: &str,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Records an attempt of a claimed delivery (and the endpoint's health).
    async fn record_attempt(
        &self,
        tenant: &Tenant,
        delivery_id: &str,
        endpoint_id: &str,
        attempt: &Attempt,
    ) -> Result<()>;
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Delivery>>>;
    /// Makes a delivery due now again; `Ok(None)` when there is none.
    async fn retry_delivery(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Option<Delivery>>;
    /// Records an event addressed to one endpoint only (`webhook.test`).
    async fn insert_targeted_event(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<Event>;
}

/// What an idempotency key holds when a request arrives with it.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyState {
    /// The key was free: this request owns it now.
    Claimed,
    /// Another request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The stored first response: status, content type, body.
    Done(u16, Option<String>, Vec<u8>),
}

/// Idempotency keys, per principal (an API key's hash).
#[async_trait]
pub trait IdempotencyStore {
    /// Claims `key` for a request with `fingerprint`, or tells what it
    /// holds. Keys created before `expired_before` count as free; claims
    /// still in progress since before `stale_before` may be taken over.
    async fn begin_idempotent(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &[u8],
        expired_before: i64,
        stale_before: i64,
    ) -> Result<IdempotencyState>;
    /// Stores the first response of a claimed key.
    async fn complete_idempotent(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<()>;
    /// Frees a claimed key without storing a response.
    async fn release_idempotent(&self, principal: &str, key: &str) -> Result<()>;
    /// Deletes keys created before `before`; returns how many.
    async fn prune_idempotent(&self, before: i64) -> Result<u64>;
}
