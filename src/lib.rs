//! FAOS: a self-hosted agent platform server.
//!
//! Data flows one way: [`api`] parses, authenticates and renders; the domain
//! modules ([`access`], [`agents`], [`conversations`], [`models`]) hold the
//! rules; [`store`] holds every query. See `docs/ARCHITECTURE.md`.

pub mod access;
pub mod agents;
pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod conversations;
pub mod error;
pub mod ids;
pub mod metadata;
pub mod models;
pub mod net;
pub mod store;
pub mod webhooks;
pub mod workflows;
