//! The SQLite store: one database file in WAL mode with foreign keys on,
//! migrated at open. Writers are serialised by SQLite; transactions that
//! read then write start with `BEGIN IMMEDIATE` so they never deadlock.

mod access;
mod agents;
mod answers;
mod events;
mod idempotency;
mod messages;
mod oauth;
mod plans;
mod rate_limits;
mod runs;
mod webhooks;
mod workflows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::access::Mode;
use crate::error::{Error, Result};
use crate::store::shared;
use crate::store::shared::{corrupt, tenant_args};
use crate::store::{Migrations, PageRequest};

/// A FAOS store on one SQLite database.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Notified after each commit that wrote events.
    events_signal: std::sync::Arc<tokio::sync::Notify>,
    /// Notified after each commit that queued a run.
    runs_signal: std::sync::Arc<tokio::sync::Notify>,
    /// Where rate-limit leases are taken.
    lease_connection: rate_limits::LeaseConnection,
    /// Reads plans on the request path.
    plans: plans::PlanReader,
    /// Held while a workflow definition is checked and saved.
    workflow_changes: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Opens the database at `url` (`sqlite://PATH`) and applies pending
    /// migrations (creating the file if missing), or requires that none is
    /// pending (see [`Migrations`]).
    ///
    /// Errors: a path that cannot be opened or created; a failed migration.
    pub async fn open(url: &str, migrations: Migrations) -> Result<SqliteStore> {
        crate::store::check_url(url)?;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| {
                Error::invalid("database", format!("invalid SQLite URL '{url}': {err}"))
            })?
            .create_if_missing(migrations == Migrations::Apply)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Several processes opening a new file at once contend for it:
        // switching it to WAL or migrating it may find it locked, or find
        // a migration another process has just applied. Each migration is
        // one transaction, so trying again (briefly) is safe.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let pool = loop {
            match open_pool(url, &options, migrations).await {
                Err(Error::Unavailable(reason))
                    if tokio::time::Instant::now() < deadline
                        && (reason.contains("database is locked")
                            || reason.contains("already exists")
                            || reason.contains("duplicate column name")
                            || reason.contains("UNIQUE constraint failed: _sqlx_migrations")) =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other?,
            }
        };
        Ok(SqliteStore {
            pool,
            events_signal: Default::default(),
            runs_signal: Default::default(),
            plans: plans::PlanReader::new(options.get_filename().to_path_buf()),
            lease_connection: rate_limits::LeaseConnection::new(options),
            workflow_changes: Default::default(),
        })
    }
}

/// Connects the pool and applies or checks the migrations.
async fn open_pool(
    url: &str,
    options: &SqliteConnectOptions,
    migrations: Migrations,
) -> Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // A file connection does not go stale while idle; the ping before
        // each acquire would cost a round trip to its thread every time.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await
        .map_err(|err| {
            // Without migrations a missing file is not created.
            let hint = match migrations {
                Migrations::Require => "; to create it, run 'faos migrate' first",
                Migrations::Apply => "",
            };
            Error::Unavailable(format!("cannot open the database '{url}': {err}{hint}"))
        })?;
    let migrator = sqlx::migrate!("./migrations/sqlite");
    match migrations {
        Migrations::Apply => migrator.run(&pool).await.map_err(|err| {
            Error::Unavailable(format!("cannot migrate the database '{url}': {err}"))
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
    Ok(pool)
}

/// The end of a keyset page query on `column` (see [`shared::keyset`]).
/// Bind the bound, then the limit.
fn keyset(page: PageRequest, column: &str) -> (String, i64) {
    shared::keyset(page, column, "?", "?")
}

impl SqliteStore {
    /// Wakes dispatchers when committed events (or deliveries) are
    /// `wanted`: an endpoint may want them.
    fn signal_events(&self, wanted: bool) {
        if wanted {
            self.events_signal.notify_one();
        }
    }
}

fn mode_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Mode> {
    let mode: String = row.try_get("mode")?;
    shared::parse_mode(&mode)
}
