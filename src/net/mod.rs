//! Outbound networking rules shared by everything that calls a URL a user
//! gave (HTTP tools, later webhooks and `http` workflow steps).

pub mod http_client;
pub mod url_guard;
