//! Black-box tests on SQLite: each starts the real server on 127.0.0.1:0
//! with a SQLite database file in a temp dir and speaks HTTP to it. One
//! test binary (modules below) keeps link time low. `tests/api_postgres`
//! compiles the same modules again to run every test on PostgreSQL.

// First: its macros (`app!`, `skip_unless!`, `sqlite_only!`) serve the rest.
#[macro_use]
mod helpers;

mod access;
mod agents;
mod anthropic;
mod auth;
mod cli;
mod idempotency;
mod messages;
mod nodes;
mod oauth;
mod openai;
mod openapi;
mod pagination;
mod rate_limits;
mod seed;
mod standins;
mod streaming;
mod tools;
mod usage;
mod webhooks;
mod wire;
mod workflows;

/// The database every test of this binary runs on.
pub const BACKEND: helpers::Backend = helpers::Backend::Sqlite;
