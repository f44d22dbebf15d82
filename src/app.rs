//! The running server: shared state, startup (store, bootstrap keys,
//! listener) and graceful shutdown on SIGINT/SIGTERM.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::access::keys;
use crate::access::limiter::{LEASE_IDLE, Limiter};
use crate::access::rate_limits::Windows;
use crate::access::{Mode, Tenant};
use crate::api::auth::{KeyCache, key_cache};
use crate::api::pagination::CursorCodec;
use crate::clock;
use crate::config::Config;
use crate::conversations::Conversations;
use crate::conversations::engine::Engine;
use crate::conversations::tools::ToolRunner;
use crate::ids::{IdKind, new_id};
use crate::metadata::Metadata;
use crate::models::Models;
use crate::net::url_guard::UrlGuard;
use crate::store::{self, ApiKeyRecord, Store};
use crate::webhooks::Webhooks;
use crate::webhooks::dispatcher::{DispatchSettings, Dispatcher};
use crate::workflows::{WorkflowSettings, Workflows};

/// Everything a request handler may use, shared by all requests.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub models: Arc<Models>,
    pub guard: Arc<UrlGuard>,
    pub conversations: Arc<Conversations>,
    pub workflows: Arc<Workflows>,
    pub webhooks: Webhooks,
    dispatcher: Arc<Dispatcher>,
    /// How long events are kept.
    event_retention: Duration,
    pub cursors: CursorCodec,
    /// Recently used API keys (see `api::auth`).
    pub keys: KeyCache,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Rate limits (CONTRACT §5).
    pub limiter: Limiter,
    /// Seconds an OAuth access token is valid.
    pub oauth_token_ttl_seconds: u64,
}

/// Cheap-to-clone handle on [`Services`], the axum state.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    /// Checks the settings, opens the store and builds the services from
    /// `config`. Settings are checked first, so a bad one never leaves a
    /// new database behind.
    pub async fn new(config: &Config) -> anyhow::Result<AppState> {
        let models = Arc::new(Models::from_config(config)?);
        let guard = Arc::new(
            UrlGuard::from_allow_list(&config.outbound_allow).map_err(anyhow::Error::msg)?,
        );
        let windows = rate_limit_windows(config)?;
        let migrations = if config.migrate_on_start {
            store::Migrations::Apply
        } else {
            store::Migrations::Require
        };
        let store = store::open(&config.database_url, migrations)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let secret = store
            .server_secret()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let tools = ToolRunner::new(
            guard.clone(),
            Duration::from_secs(config.tool_timeout_seconds),
        );
        let conversations = Arc::new(Conversations::new(Engine::new(
            store.clone(),
            models.clone(),
            tools,
        )));
        let settings = WorkflowSettings {
            lease: Duration::from_secs_f64(config.run_lease_seconds.max(0.5)),
            concurrency: config.run_concurrency.max(1),
        };
        let workflows = Workflows::new(store.clone(), guard.clone(), settings);
        workflows.connect(conversations.clone());
        let dispatch = DispatchSettings {
            schedule: DispatchSettings::parse_schedule(&config.webhook_retry_schedule)
                .map_err(anyhow::Error::msg)?,
            disable_after: Duration::from_secs(config.webhook_disable_after_seconds),
            concurrency: config.webhook_concurrency.max(1),
            lease: Duration::from_secs_f64(config.webhook_lease_seconds.max(0.5)),
        };
        let webhooks = Webhooks::new(store.clone(), guard.clone(), config.secret_key.as_deref());
        if !webhooks.secrets.encrypts() {
            tracing::warn!("FAOS_SECRET_KEY is not set: webhook secrets are stored unencrypted");
        }
        let dispatcher = Dispatcher::new(
            store.clone(),
            guard.clone(),
            webhooks.secrets.clone(),
            dispatch,
        );
        conversations.connect_workflows(workflows.clone());
        let limiter = Limiter::new(windows, config.redis_url.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(AppState(Arc::new(Services {
            store,
            models,
            guard,
            conversations,
            workflows,
            webhooks,
            dispatcher,
            event_retention: Duration::from_secs(config.event_retention_days * 24 * 3600),
            cursors: CursorCodec::new(&secret),
            keys: key_cache(),
            max_body_bytes: config.max_body_bytes,
            limiter,
            oauth_token_ttl_seconds: config.oauth_token_ttl_seconds.max(1),
        })))
    }
}

/// The rate-limit window lengths of `config`.
///
/// Errors: a length that is not a positive number of seconds.
fn rate_limit_windows(config: &Config) -> anyhow::Result<Windows> {
    let seconds = |name: &str, value: f64| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| d.as_millis() >= 1)
            .ok_or_else(|| anyhow::anyhow!("{name} must be a positive number of seconds"))
    };
    Ok(Windows {
        minute: seconds(
            "rate_limit_minute_seconds",
            config.rate_limit_minute_seconds,
        )?,
        day: seconds("rate_limit_day_seconds", config.rate_limit_day_seconds)?,
    })
}

impl AppState {
    /// Starts the background work of a serving process: the workflow
    /// worker, the webhook dispatcher, the hourly pruning of old answers,
    /// and handing back idle rate-limit leases.
    pub fn start_background(&self) {
        tokio::spawn(self.workflows.clone().work());
        tokio::spawn(self.dispatcher.clone().run());
        tokio::spawn(prune(self.store.clone(), self.event_retention));
        let state = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(LEASE_IDLE);
            loop {
                every.tick().await;
                state.limiter.give_back_idle(state.store.as_ref()).await;
            }
        });
    }
}

/// A key made by [`create_key`]: the secret to show once and its record.
pub struct CreatedKey {
    pub secret: String,
    pub record: ApiKeyRecord,
}

/// Makes an unrestricted secret key record for `tenant` (not yet stored).
pub fn new_key(tenant: &Tenant, name: Option<String>) -> CreatedKey {
    let made = keys::generate(keys::SecretKind::SecretKey, tenant.mode);
    CreatedKey {
        secret: made.secret,
        record: ApiKeyRecord {
            id: new_id(IdKind::ApiKey),
            org_id: tenant.org_id.clone(),
            mode: tenant.mode,
            name,
            secret_hash: made.hash.to_vec(),
            redacted: made.redacted,
            scopes: None,
            created_at: clock::now_ms(),
            expires_at: None,
            revoked_at: None,
            client_id: None,
            metadata: Metadata::new(),
        },
    }
}

/// On a database without API keys, gives the `default` organization
/// (created if missing) one live and one test key and returns their
/// secrets (to print once).
pub async fn bootstrap(store: &dyn Store) -> anyhow::Result<Option<(String, String)>> {
    let org_id = new_id(IdKind::Organization);
    let live = new_key(
        &Tenant {
            org_id: org_id.clone(),
            mode: Mode::Live,
        },
        Some("default live key".into()),
    );
    let test = new_key(
        &Tenant {
            org_id: org_id.clone(),
            mode: Mode::Test,
        },
        Some("default test key".into()),
    );
    let created = store
        .bootstrap("default", &[live.record, test.record], &org_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(created.map(|_| (live.secret, test.secret)))
}

/// Runs `faos serve` until SIGINT or SIGTERM; in-flight requests finish.
///
/// Errors: an unusable database, an address that cannot be bound.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Bind first: the one-time keys are printed only once the server can run.
    let listener = TcpListener::bind(&config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let state = AppState::new(&config).await?;
    if let Some((live, test)) = bootstrap(state.store.as_ref()).await? {
        print_stdout(&format!(
            "Created organization 'default'. Its secret keys are shown once; keep them safe:\n  live: {live}\n  test: {test}"
        ))?;
    }
    let local = listener.local_addr()?;
    // No Nagle delay: small writes (stream events) go out at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    state.start_background();
    tracing::info!(addr = %local, database = %redact_url(&config.database_url), "FAOS is listening on http://{local}");
    axum::serve(listener, crate::api::router(state.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    state.limiter.give_back_all(state.store.as_ref()).await;
    tracing::info!("FAOS stopped");
    Ok(())
}

/// Writes a line to stdout; a closed stdout is an error, not a panic.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// How long finished answers and their stream events are kept.
const ANSWER_RETENTION: Duration = Duration::from_secs(48 * 3600);

/// Deletes, hourly, finished answers (and their stream events) past their
/// retention, idempotency keys past theirs, expired OAuth access tokens,
/// and events older than `event_retention`.
async fn prune(store: Arc<dyn Store>, event_retention: Duration) {
    fn report(what: &str, result: crate::error::Result<u64>) {
        match result {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned {what}"),
            Err(err) => tracing::warn!(error = %err, "could not prune {what}"),
        }
    }
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let now = clock::now_ms();
        let answers_before = now - ANSWER_RETENTION.as_millis() as i64;
        report(
            "old answers and their stream events",
            store.prune_answers(answers_before).await,
        );
        let keys_before = now - crate::api::idempotency::RETENTION_MS;
        report(
            "old idempotency keys",
            store.prune_idempotent(keys_before).await,
        );
        report("expired access tokens", store.prune_tokens(now).await);
        let events_before = now - event_retention.as_millis() as i64;
        report("old events", store.prune_events(events_before).await);
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// A database URL without its password, for logs.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
