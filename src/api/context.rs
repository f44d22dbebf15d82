//! The request id of the request being handled. The request middleware sets
//! it for the whole handling of one request (a tokio task-local), so every
//! response body rendered inside it — success, error, rejection or panic —
//! carries the same `meta.request_id` as the `X-Request-Id` header.

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The current request id (`req_…`), or `req_unknown` outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "req_unknown".to_string())
}
