//! Idempotency keys: replay, reuse with another request, concurrency,
//! scope per API key.

use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, send};

#[tokio::test]
async fn the_first_response_is_replayed() {
    let app = app!();
    let post = |body: serde_json::Value, key: &str| {
        app.request(Method::POST, "/v1/agents")
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let first = post(json!({"name": "Once"}), "k1").send().await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    let again = post(json!({"name": "Once"}), "k1").send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let replay_id = again.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["data"], first["data"], "the same object");
    assert_eq!(
        again["meta"]["request_id"],
        replay_id.as_str(),
        "the body names this request, as its header does"
    );
    let (_, list) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "one effect");

    let (status, body) = send(post(json!({"name": "Different"}), "k1")).await;
    assert_error(
        status,
        &body,
        422,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    );

    // Errors are first responses too.
    let (status, bad) = send(post(json!({}), "k2")).await;
    assert_eq!(status, 400);
    let replayed = post(json!({}), "k2").send().await.unwrap();
    assert_eq!(replayed.status(), 400);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(
        replayed.json::<serde_json::Value>().await.unwrap()["error"],
        bad["error"]
    );

    // Keys belong to their API key.
    let (status, _) = send(
        app.request_as(&app.test_key, Method::POST, "/v1/agents")
            .header("Idempotency-Key", "k1")
            .json(&json!({"name": "Once"})),
    )
    .await;
    assert_eq!(status, 201);

    let (status, body) = send(post(json!({"name": "x"}), &"k".repeat(256))).await;
    assert_error(
        status,
        &body,
        400,
        "invalid_request",
        Some("Idempotency-Key"),
    );
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_have_one_effect() {
    let app = app!();
    let agent = app.agent_id("Busy").await;
    let requests = (0..50).map(|_| {
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .header("Idempotency-Key", "same")
            .json(&json!({"content": "only once", "conversation_id": "idem"}))
            .send()
    });
    let mut created = 0;
    let mut replayed = 0;
    let mut conflicts = 0;
    for response in join_all(requests).await {
        let response = response.unwrap();
        match (
            response.status().as_u16(),
            response.headers().contains_key("idempotent-replayed"),
        ) {
            (201, false) => created += 1,
            (201, true) => replayed += 1,
            (409, _) => conflicts += 1,
            (other, _) => panic!(
                "unexpected status {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert_eq!(created, 1, "one effect");
    assert_eq!(replayed + conflicts, 49);
    let (_, history) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages?conversation_id=idem"),
    ))
    .await;
    assert_eq!(
        history["data"].as_array().unwrap().len(),
        2,
        "one question, one answer"
    );
}

/// An answer that shows a secret once is replayed without the secret,
/// which is never stored: a retry gets the key it made, not a second one.
#[tokio::test]
async fn answers_showing_a_secret_are_replayed_without_it() {
    let app = app!();
    let create = |scope: &str| {
        app.request(Method::POST, "/v1/api_keys")
            .header("idempotency-key", "key-once")
            .json(&json!({"scopes": [scope]}))
            .send()
    };
    let first = create("agents:read").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let second = create("agents:read").await.unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["data"]["id"], first["data"]["id"]);
    assert_eq!(second["data"]["redacted"], first["data"]["redacted"]);
    assert!(second["data"].get("secret").is_none(), "{second}");
    let secret = first["data"]["secret"].as_str().unwrap();
    assert!(
        !app.database.stores_text(secret).await,
        "the secret is stored"
    );
    let (status, body) = send(
        app.request(Method::POST, "/v1/api_keys")
            .header("idempotency-key", "key-once")
            .json(&json!({"scopes": ["agents:write"]})),
    )
    .await;
    assert_error(
        status,
        &body,
        422,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    );
    let (_, keys) = send(app.request(Method::GET, "/v1/api_keys")).await;
    let restricted = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["scopes"].is_array())
        .count();
    assert_eq!(restricted, 1, "one key made: {keys}");
    let (status, client) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .header("idempotency-key", "client-once")
            .json(&json!({"name": "c", "scopes": ["agents:read"]})),
    )
    .await;
    assert_eq!(status, 201);
    let secret = client["data"]["client_secret"].as_str().unwrap();
    assert!(!app.database.stores_text(secret).await);
}
