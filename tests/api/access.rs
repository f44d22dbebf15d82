//! Restricted keys and scopes: `/v1/api_keys`, and a scope matrix over
//! every operation, generated from the OpenAPI document.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, bad_metadata, send};

const SCOPES: [&str; 8] = [
    "agents:read",
    "agents:write",
    "messages:read",
    "messages:write",
    "workflows:read",
    "workflows:write",
    "webhooks:read",
    "webhooks:write",
];

async fn restricted(app: &TestApp, scopes: &[&str]) -> String {
    let (status, key) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"name": "r", "scopes": scopes})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    key["data"]["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn restricted_keys_carry_only_their_scopes() {
    let app = app!();
    let (status, created) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"name": "reader", "scopes": ["agents:read", "agents:read"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = &created["data"];
    assert_eq!(key["object"], "api_key");
    assert_eq!(key["scopes"], json!(["agents:read"]));
    assert_eq!(key["mode"], "live");
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with("rk_live_"));
    assert!(
        key["redacted"]
            .as_str()
            .unwrap()
            .ends_with(&secret[secret.len() - 4..])
    );

    let (status, _) = send(app.request_as(secret, Method::GET, "/v1/agents")).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        app.request_as(secret, Method::POST, "/v1/agents")
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_error(status, &body, 403, "permission_denied", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agents:write")
    );
    let (status, body) = send(
        app.request_as(secret, Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:write"]})),
    )
    .await;
    assert_error(status, &body, 403, "permission_denied", None);

    let (_, list) = send(app.request(Method::GET, "/v1/api_keys")).await;
    let keys = list["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the bootstrap live key and the new one");
    assert!(keys.iter().all(|k| k.get("secret").is_none()));

    let (status, test_key) = send(
        app.request_as(&app.test_key, Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:read"]})),
    )
    .await;
    assert_eq!(status, 201);
    assert!(
        test_key["data"]["secret"]
            .as_str()
            .unwrap()
            .starts_with("rk_test_")
    );
}

#[tokio::test]
async fn bad_key_requests_are_named() {
    let app = app!();
    let past = "2020-01-01T00:00:00Z";
    for (body, param) in [
        (json!({}), "scopes"),
        (json!({"scopes": []}), "scopes"),
        (json!({"scopes": ["agents:read", "root"]}), "scopes[1]"),
        (json!({"scopes": "agents:read"}), "scopes"),
        (
            json!({"scopes": ["agents:read"], "expires_at": past}),
            "expires_at",
        ),
        (
            json!({"scopes": ["agents:read"], "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (
            json!({"scopes": ["agents:read"], "name": "n".repeat(257)}),
            "name",
        ),
        (json!({"scopes": ["agents:read"], "admin": true}), "admin"),
    ] {
        let (status, response) = send(app.request(Method::POST, "/v1/api_keys").json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (status, body) = send(app.request(Method::DELETE, "/v1/api_keys/key_nope")).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn keys_carry_metadata() {
    let app = app!();
    let (status, created) =
        send(app.request(Method::POST, "/v1/api_keys").json(
            &json!({"scopes": ["agents:read"], "metadata": {"team": "billing", "env": "ci"}}),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    let labels = json!({"env": "ci", "team": "billing"});
    assert_eq!(created["data"]["metadata"], labels);
    let (_, plain) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:read"]})),
    )
    .await;
    assert_eq!(plain["data"]["metadata"], json!({}));

    // Newest first: the plain key, the labelled one, the bootstrap key.
    let (_, list) = send(app.request(Method::GET, "/v1/api_keys")).await;
    let listed: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["metadata"])
        .collect();
    assert_eq!(listed, [&json!({}), &labels, &json!({})], "{list}");

    let id = created["data"]["id"].as_str().unwrap();
    let (_, revoked) = send(app.request(Method::DELETE, &format!("/v1/api_keys/{id}"))).await;
    assert_eq!(revoked["data"]["metadata"], labels);
}

#[tokio::test]
async fn bad_key_metadata_is_named_and_makes_no_key() {
    let app = app!();
    for (metadata, param) in bad_metadata() {
        let (status, body) = send(
            app.request(Method::POST, "/v1/api_keys")
                .json(&json!({"scopes": ["agents:read"], "metadata": metadata})),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request", Some(&param));
    }
    let (_, list) = send(app.request(Method::GET, "/v1/api_keys")).await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "only the bootstrap key: {list}"
    );
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused() {
    let app = app!();
    let (_, created) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:read"]})),
    )
    .await;
    let secret = created["data"]["secret"].as_str().unwrap().to_string();
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        send(app.request_as(&secret, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );
    let (status, revoked) = send(app.request(Method::DELETE, &format!("/v1/api_keys/{id}"))).await;
    assert_eq!(status, 200);
    assert!(revoked["data"]["revoked_at"].is_string());
    let (status, body) = send(app.request_as(&secret, Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    let soon = chrono_in(1);
    let (_, expiring) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:read"], "expires_at": soon})),
    )
    .await;
    let secret = expiring["data"]["secret"].as_str().unwrap().to_string();
    assert_eq!(
        send(app.request_as(&secret, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, body) = send(app.request_as(&secret, Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

fn chrono_in(seconds: u64) -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(seconds);
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let output = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Every operation that names a scope refuses a key without it (403
/// naming the scope) and admits a key with only it (anything but 403).
/// The list comes from the OpenAPI document, not from a hand-kept table.
#[tokio::test]
async fn the_scope_matrix_covers_every_operation() {
    let app = app!();
    let agent = app.agent_id("Matrix").await;
    let (_, spec) = send(app.anonymous(Method::GET, "/v1/openapi.json")).await;
    let mut without = std::collections::HashMap::new();
    let mut only = std::collections::HashMap::new();
    for scope in SCOPES {
        let others: Vec<&str> = SCOPES.iter().copied().filter(|s| *s != scope).collect();
        without.insert(scope, restricted(&app, &others).await);
        only.insert(scope, restricted(&app, &[scope]).await);
    }
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(scope) = operation["security"][0]["bearer"][0].as_str() else {
                continue;
            };
            let method: Method = method.to_uppercase().parse().unwrap();
            let concrete = path
                .replace("{id}", &agent)
                .replace("{conversation_id}", "c")
                .replace("{message_id}", "msg_x")
                .replace("{delivery_id}", "dlv_x");
            let call = |key: &str| {
                let mut request = app.request_as(key, method.clone(), &concrete);
                if method != Method::GET && method != Method::DELETE {
                    request = request.json(&json!({}));
                }
                send(request)
            };
            let (status, body) = call(&without[&scope]).await;
            assert_error(status, &body, 403, "permission_denied", None);
            assert!(
                body["error"]["message"].as_str().unwrap().contains(scope),
                "{method} {path}: {body}"
            );
            let (status, body): (u16, Value) = call(&only[&scope]).await;
            assert_ne!(status, 403, "{method} {path} with only {scope}: {body}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} operations checked");
}

#[tokio::test]
async fn scopes_cannot_be_widened_through_workflows_or_events() {
    let app = app!();
    let agent = app.agent_id("Private").await;
    send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "my secret is hunter2", "conversation_id": "private"})),
    )
    .await;
    let (_, workflow) = send(app.request(Method::POST, "/v1/workflows").json(&json!({"name": "Snoop", "steps": [
        {"id": "ask", "type": "agent", "agent_id": agent, "conversation_id": "private", "message": "what did I say"}
    ]}))).await;
    let id = workflow["data"]["id"].as_str().unwrap();
    let workflows_only = restricted(&app, &["workflows:read", "workflows:write"]).await;
    let (status, body) = send(
        app.request_as(
            &workflows_only,
            Method::POST,
            &format!("/v1/workflows/{id}/run"),
        )
        .json(&json!({"wait": 5})),
    )
    .await;
    assert_error(status, &body, 403, "permission_denied", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages:write")
    );

    let webhooks_only = restricted(&app, &["webhooks:read"]).await;
    let (status, page) =
        send(app.request_as(&webhooks_only, Method::GET, "/v1/events?limit=100")).await;
    assert_eq!(status, 200);
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["type"].as_str().unwrap().starts_with("message.")),
        "{page}"
    );
    let (_, all) = send(app.request(Method::GET, "/v1/events?type=message.created")).await;
    let message_event = all["data"][0]["id"].as_str().unwrap();
    let (status, body) = send(app.request_as(
        &webhooks_only,
        Method::GET,
        &format!("/v1/events/{message_event}"),
    ))
    .await;
    assert_error(status, &body, 403, "permission_denied", None);
}
