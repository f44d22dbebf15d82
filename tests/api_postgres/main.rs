//! The black-box tests of `tests/api`, run on PostgreSQL: the same
//! modules, compiled again with `BACKEND = Postgres`, so each test gets a
//! fresh schema in the server named by `FAOS_TEST_POSTGRES_URL` (and
//! returns early, saying why, when that is unset or unreachable). Keep the
//! module list in step with `tests/api/main.rs`.

#[path = "../api/helpers.rs"]
#[macro_use]
mod helpers;

#[path = "../api/access.rs"]
mod access;
#[path = "../api/agents.rs"]
mod agents;
#[path = "../api/anthropic.rs"]
mod anthropic;
#[path = "../api/auth.rs"]
mod auth;
#[path = "../api/cli.rs"]
mod cli;
#[path = "../api/idempotency.rs"]
mod idempotency;
#[path = "../api/messages.rs"]
mod messages;
#[path = "../api/nodes.rs"]
mod nodes;
#[path = "../api/oauth.rs"]
mod oauth;
#[path = "../api/openai.rs"]
mod openai;
#[path = "../api/openapi.rs"]
mod openapi;
#[path = "../api/pagination.rs"]
mod pagination;
#[path = "../api/rate_limits.rs"]
mod rate_limits;
#[path = "../api/seed.rs"]
mod seed;
#[path = "../api/standins.rs"]
mod standins;
#[path = "../api/streaming.rs"]
mod streaming;
#[path = "../api/tools.rs"]
mod tools;
#[path = "../api/usage.rs"]
mod usage;
#[path = "../api/webhooks.rs"]
mod webhooks;
#[path = "../api/wire.rs"]
mod wire;
#[path = "../api/workflows.rs"]
mod workflows;

/// The database every test of this binary runs on.
pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;
