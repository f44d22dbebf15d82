//! Black-box tests: each starts the real server on 127.0.0.1:0 with a
//! SQLite database file in a temp dir and speaks HTTP to it. One test
//! binary (modules below) keeps link time low.

mod access;
mod agents;
mod anthropic;
mod auth;
mod cli;
mod helpers;
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
