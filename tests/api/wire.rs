//! The wire format everywhere: unknown routes, wrong methods, bad bodies,
//! size limit, panics, request ids.

use axum::Router;
use axum::routing::get;
use reqwest::Method;

use crate::helpers::{assert_error, send, split};

#[tokio::test]
async fn unknown_routes_are_404_in_the_envelope() {
    let app = app!();
    for path in ["/v1/nope", "/", "/v2/agents", "/v1/agents/x/y/z"] {
        let (status, body) = send(app.request(Method::GET, path)).await;
        assert_error(status, &body, 404, "not_found", None);
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = app!();
    for (method, path, allowed) in [
        (Method::PUT, "/v1/agents", "POST"),
        (Method::DELETE, "/v1/agents", "GET"),
        (Method::POST, "/v1/agents/agt_x", "PATCH"),
        (Method::PUT, "/v1/agents/agt_x/messages", "POST"),
        (Method::POST, "/v1/templates", "GET"),
    ] {
        let response = app.request(method, path).send().await.unwrap();
        let allow = response.headers()["allow"].to_str().unwrap().to_string();
        assert!(allow.contains(allowed), "{path}: Allow {allow}");
        let (status, body) = split(response).await;
        assert_error(status, &body, 405, "method_not_allowed", None);
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_400() {
    let app = app!();
    let agent = app.agent_id("Body").await;
    for path in [
        "/v1/agents".to_string(),
        format!("/v1/agents/{agent}/messages"),
    ] {
        for body in [
            "",
            "not json",
            "{\"name\": ",
            "[]",
            "\"text\"",
            "42",
            "null",
        ] {
            let request = app
                .request(Method::POST, &path)
                .header("Content-Type", "application/json")
                .body(body);
            let (status, response) = send(request).await;
            assert_error(status, &response, 400, "invalid_request", None);
        }
    }
    let (status, response) = send(
        app.request(Method::PATCH, &format!("/v1/agents/{agent}"))
            .body("nope"),
    )
    .await;
    assert_error(status, &response, 400, "invalid_request", None);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413_and_store_nothing() {
    let app = app!();
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 1));
    let (status, body) = send(
        app.request(Method::POST, "/v1/agents")
            .header("Content-Type", "application/json")
            .body(big),
    )
    .await;
    assert_error(status, &body, 413, "payload_too_large", None);
    let (_, list) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn every_response_carries_its_request_id() {
    let app = app!();
    let id = app.agent_id("Ids").await;
    let requests = [
        app.request(Method::GET, "/v1/agents"),
        app.request(Method::GET, &format!("/v1/agents/{id}")),
        app.request(Method::GET, "/v1/nope"),
        app.anonymous(Method::GET, "/v1/agents"),
        app.request(Method::PUT, "/v1/agents"),
        app.request(Method::POST, "/v1/agents").body("{"),
    ];
    let mut seen = std::collections::HashSet::new();
    for request in requests {
        let response = request.send().await.unwrap();
        let header = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let (_, body) = split(response).await;
        assert!(header.starts_with("req_"));
        assert_eq!(body["meta"]["request_id"], header.as_str());
        assert!(seen.insert(header), "request ids are unique");
    }
    for path in ["/healthz", "/v1/openapi.json", "/docs/"] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn success_envelopes_carry_meta() {
    let app = app!();
    let (status, body) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(status, 200);
    let meta = &body["meta"];
    assert!(meta["request_id"].as_str().unwrap().starts_with("req_"));
    assert!(chrono_like(meta["timestamp"].as_str().unwrap()));
    assert_eq!(meta["has_more"], false);
    assert!(meta["next_cursor"].is_null());
}

fn chrono_like(timestamp: &str) -> bool {
    timestamp.len() >= 20 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn a_panic_is_a_500_without_internals() {
    let router = faos::api::with_middleware(Router::new().route(
        "/boom",
        get(|| async {
            if true {
                panic!("secret internals at src/foo.rs:12");
            }
        }),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let response = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = split(response).await;
    assert_error(status, &body, 500, "internal_error", None);
    assert_eq!(body["meta"]["request_id"], header.as_str());
    assert!(!body.to_string().contains("secret internals"));
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = app!();
    let (status, body) = send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("ok")));
    let (status, body) = send(app.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("ready"))
    );
}

#[tokio::test]
async fn odd_ids_and_repeated_parameters_are_named() {
    let app = app!();
    let id = app.agent_id("Odd").await;
    for (method, path) in [
        (Method::GET, "/v1/agents/%FF"),
        (Method::DELETE, "/v1/agents/%FF"),
        (Method::GET, "/v1/agents/%C0%AF"),
        (Method::GET, "/v1/agents/%FF/messages"),
    ] {
        let (status, body) = send(app.request(method, path)).await;
        assert_error(status, &body, 404, "not_found", Some("id"));
    }
    for (path, param) in [
        ("/v1/agents?limit=1&limit=2".to_string(), "limit"),
        ("/v1/agents?order=asc&order=desc".to_string(), "order"),
        (
            format!("/v1/agents/{id}/messages?conversation_id=a&conversation_id=b"),
            "conversation_id",
        ),
    ] {
        let (status, body) = send(app.request(Method::GET, &path)).await;
        assert_error(status, &body, 400, "invalid_request", Some(param));
    }
}

/// U+0000 cannot be stored as text (PostgreSQL refuses it), so it is
/// refused at the door on every backend, naming where it was.
#[tokio::test]
async fn nul_characters_are_refused_where_they_are() {
    let app = app!();
    let id = app.agent_id("Plain").await;
    for (body, param) in [
        (serde_json::json!({"name": "a\u{0}b"}), "name"),
        (
            serde_json::json!({"name": "x", "metadata": {"team": "a\u{0}"}}),
            "metadata.team",
        ),
        (
            serde_json::json!({"name": "x", "metadata": {"te\u{0}am": "a"}}),
            "metadata.te\u{0}am",
        ),
        (
            serde_json::json!({"name": "x", "tools": [{"type": "builtin", "name": "\u{0}"}]}),
            "tools[0].name",
        ),
    ] {
        let (status, response) = send(app.request(Method::POST, "/v1/agents").json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (status, body) = send(app.request(Method::GET, "/v1/agents/agt_%00")).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, body) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{id}/messages?conversation_id=a%00"),
    ))
    .await;
    assert_error(
        status,
        &body,
        400,
        "invalid_request",
        Some("conversation_id"),
    );
    let (status, body) = send(
        app.request(Method::POST, &format!("/v1/agents/{id}/messages"))
            .json(&serde_json::json!({"content": "hi\u{0}"})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("content"));
    let (_, agents) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(
        agents["data"].as_array().unwrap().len(),
        1,
        "nothing stored"
    );
}
