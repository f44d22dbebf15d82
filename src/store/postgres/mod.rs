//! The PostgreSQL store: a connection pool on one database (the schema is
//! the first one on the connection's `search_path`), migrated at open, and
//! a LISTEN task that turns other nodes' event commits into local wake-ups.
//! Several `faos serve` processes may share one database: work with a lease
//! (runs, deliveries, events to fan out) is claimed with
//! `FOR UPDATE SKIP LOCKED`, read-modify-write transactions lock their row
//! with `FOR UPDATE`, and conversation locks and idempotency keys rely on
//! unique indexes.

mod access;
mod agents;
mod answers;
mod events;
mod idempotency;
mod messages;
mod oauth;
mod rate_limits;
mod runs;
mod webhooks;
mod workflows;

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use tokio::sync::Notify;

use crate::access::Mode;
use crate::error::{Error, Result};
use crate::store::shared;
use crate::store::shared::{corrupt, tenant_args};
use crate::store::{Migrations, PageRequest};

/// The channel every FAOS schema's event commits are announced on; the
/// payload is the schema's name (set by the `events` trigger, migration
/// 0004), so deployments sharing a database wake only themselves.
const EVENTS_CHANNEL: &str = "faos_events";

/// The channel queued runs are announced on (payload: the schema), so an
/// idle worker on any node starts them at once.
const RUNS_CHANNEL: &str = "faos_runs";

/// A FAOS store on one PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    /// The schema the tables live in (NOTIFY payloads name it).
    schema: String,
    /// Notified after each commit that wrote events, here or on another
    /// node (through LISTEN).
    events_signal: Arc<Notify>,
    /// Notified after each commit that queued a run, here or on another
    /// node.
    runs_signal: Arc<Notify>,
    /// Stops the LISTEN task when the store goes away.
    listener: tokio::task::AbortHandle,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…` or
    /// `postgresql://…`, with any libpq-style options such as
    /// `options[search_path]=faos`), applies or requires its migrations (see
    /// [`Migrations`]) and starts
    /// listening for other nodes' events.
    ///
    /// Errors: an invalid URL; an unreachable server; a failed migration.
    pub async fn open(url: &str, migrations: Migrations) -> Result<PostgresStore> {
        let shown = redacted(url);
        let options = PgConnectOptions::from_str(url).map_err(|err| {
            Error::invalid(
                "database",
                format!("invalid PostgreSQL URL '{shown}': {err}"),
            )
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(|err| {
                Error::Unavailable(format!("cannot open the database '{shown}': {err}"))
            })?;
        // sqlx's PostgreSQL migrator holds a session advisory lock
        // (`pg_advisory_lock`, keyed by the database name) while it checks
        // and applies migrations, so nodes starting together on one
        // database migrate one after the other, never twice. Keep
        // migrating through it.
        let migrator = sqlx::migrate!("./migrations/postgres");
        match migrations {
            Migrations::Apply => migrator.run(&pool).await.map_err(|err| {
                Error::Unavailable(format!("cannot migrate the database '{shown}': {err}"))
            })?,
            Migrations::Require => {
                let applied = sqlx::query_scalar(shared::APPLIED_MIGRATION)
                    .fetch_one(&pool)
                    .await
                    .ok()
                    .flatten();
                shared::require_migrated(&migrator, applied)?;
            }
        }
        let schema: String = sqlx::query("SELECT current_schema() AS schema")
            .fetch_one(&pool)
            .await?
            .try_get("schema")?;
        let events_signal = Arc::new(Notify::new());
        let runs_signal = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(
            options,
            schema.clone(),
            Arc::downgrade(&events_signal),
            Arc::downgrade(&runs_signal),
        ))
        .abort_handle();
        Ok(PostgresStore {
            pool,
            schema,
            events_signal,
            runs_signal,
            listener,
        })
    }

    /// Wakes this process's dispatchers when committed events (or
    /// deliveries) are `wanted`: an endpoint may want them. (Other nodes
    /// hear of it through the `events` trigger's NOTIFY.)
    fn signal_events(&self, wanted: bool) {
        if wanted {
            self.events_signal.notify_one();
        }
    }
}

/// Listens on [`EVENTS_CHANNEL`] and [`RUNS_CHANNEL`] with its own
/// connection and wakes the local dispatchers or workflow worker for each
/// notification about `schema`, until the store is gone. A lost connection
/// is re-established (waking both, as notifications may have been missed
/// meanwhile); their own polling covers the time it is down.
async fn listen(
    options: PgConnectOptions,
    schema: String,
    events: Weak<Notify>,
    runs: Weak<Notify>,
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot connect to LISTEN for events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen_all([EVENTS_CHANNEL, RUNS_CHANNEL]).await {
            tracing::warn!(error = %err, "cannot LISTEN for events; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            let (Some(events), Some(runs)) = (events.upgrade(), runs.upgrade()) else {
                return;
            };
            let wake_both = || {
                events.notify_one();
                runs.notify_one();
            };
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.payload() == schema => {
                    if notification.channel() == RUNS_CHANNEL {
                        runs.notify_one();
                    } else {
                        events.notify_one();
                    }
                }
                Ok(Some(_)) => {}
                // Reconnected: anything sent meanwhile was lost.
                Ok(None) => wake_both(),
                Err(err) => {
                    tracing::warn!(error = %err, "lost the LISTEN connection; reconnecting");
                    wake_both();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The end of a keyset page query on `column` whose bound is parameter
/// `$n` and limit `$n+1` (see [`shared::keyset`]).
fn keyset(page: PageRequest, column: &str, n: usize) -> (String, i64) {
    shared::keyset(page, column, &format!("${n}"), &format!("${}", n + 1))
}

fn mode_from_row(row: &PgRow) -> Result<Mode> {
    let mode: String = row.try_get("mode")?;
    shared::parse_mode(&mode)
}

/// Tells other nodes' dispatchers that this transaction made work for them
/// (new or retried deliveries); delivered at commit.
async fn notify_events<'e, E: sqlx::PgExecutor<'e>>(executor: E, schema: &str) -> Result<()> {
    notify(executor, EVENTS_CHANNEL, schema).await
}

/// `NOTIFY channel, schema`, delivered when the transaction commits.
async fn notify<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    channel: &str,
    schema: &str,
) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(schema)
        .execute(executor)
        .await?;
    Ok(())
}
