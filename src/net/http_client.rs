//! The HTTP client for user-given URLs (HTTP tools; later webhooks and
//! workflow steps). It enforces the URL guard where it matters: every host
//! name is resolved by [`GuardedResolver`], which drops refused addresses,
//! so the address actually connected to was checked (no DNS rebinding); IP
//! literals are checked before each request and on every redirect hop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

use super::url_guard::UrlGuard;

/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;

/// A resolver that only returns addresses the guard lets us connect to.
struct GuardedResolver {
    guard: Arc<UrlGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| guard.allows_host(&host) || guard.may_connect(addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(
                    format!("'{host}' resolves only to addresses the URL guard refuses").into(),
                );
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A client that follows no redirect (webhook deliveries: a redirect is a
/// failure), whose every connection passes the guard.
pub fn guarded_client_without_redirects(
    guard: Arc<UrlGuard>,
    timeout: Duration,
) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { guard }))
        .redirect(Policy::none())
        .timeout(timeout)
        .build()
        .expect("a client with a resolver builds")
}

/// A client whose every connection passes the guard. `timeout` bounds each
/// whole request.
pub fn guarded_client(guard: Arc<UrlGuard>, timeout: Duration) -> reqwest::Client {
    let redirect_guard = guard.clone();
    let policy = Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if let Err(reason) = redirect_guard.check_url(attempt.url().as_str()) {
            attempt.error(format!("redirect refused: {reason}"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { guard }))
        .redirect(policy)
        .timeout(timeout)
        .build()
        .expect("a client with a resolver and a redirect policy builds")
}

/// The most useful line of a reqwest error: the innermost cause (the
/// guard's reason, a refused connection…).
pub fn error_reason(err: &reqwest::Error) -> String {
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    if err.is_timeout() {
        "the request timed out".to_string()
    } else {
        reason
    }
}
