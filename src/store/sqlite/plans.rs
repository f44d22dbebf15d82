//! Plan reads on the request path. The rate limiter reads the caller's
//! plan on every request (so a change applies to the next one); through
//! sqlx that read would be a round trip to a connection thread (~60 µs
//! here), so it runs on the calling thread instead, on a small pool of
//! synchronous rusqlite connections to the same file: a few µs. In WAL
//! mode a read waits for no writer.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::access::rate_limits::Limits;
use crate::error::{Error, Result};

/// Reads organizations' limits from one database file.
pub(super) struct PlanReader {
    path: PathBuf,
    /// Connections not in use; one is opened when none is free.
    idle: Mutex<Vec<Connection>>,
}

impl PlanReader {
    /// A reader of the database file at `path`.
    pub(super) fn new(path: PathBuf) -> Self {
        PlanReader {
            path,
            idle: Mutex::default(),
        }
    }

    /// The limits of organization `org_id`.
    ///
    /// Errors: the file cannot be read (`503 unavailable`); no such
    /// organization (`500`).
    pub(super) fn limits(&self, org_id: &str) -> Result<Limits> {
        let free = self.idle.lock().expect("plan readers").pop();
        let connection = match free {
            Some(connection) => connection,
            None => self.open().map_err(unavailable)?,
        };
        let row = connection
            .prepare_cached("SELECT plan, per_minute, per_day FROM organizations WHERE id = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([org_id], |row| {
                        Ok(Limits::of(
                            &row.get::<_, String>(0)?,
                            row.get(1)?,
                            row.get(2)?,
                        ))
                    })
                    .optional()
            })
            .map_err(unavailable)?;
        self.idle.lock().expect("plan readers").push(connection);
        row.ok_or_else(|| Error::Internal(anyhow::anyhow!("organization {org_id} is missing")))
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(Duration::from_secs(1))?;
        Ok(connection)
    }
}

fn unavailable(err: rusqlite::Error) -> Error {
    Error::Unavailable(format!("cannot read plans from the database: {err}"))
}
