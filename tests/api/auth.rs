//! API keys: Bearer and `?api_key=`, live/test isolation, organizations.

use faos::access::Mode;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, send};

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let app = app!();
    let (status, body) = send(app.anonymous(Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);

    for header in ["Basic abc", "Bearer", "Bearer    ", "sk_live_abc"] {
        let request = app
            .anonymous(Method::GET, "/v1/agents")
            .header("Authorization", header);
        let (status, body) = send(request).await;
        assert_error(status, &body, 401, "unauthenticated", None);
    }
    for key in [
        "sk_live_nope",
        "sk_test_nope",
        "garbage",
        &app.live_key[..app.live_key.len() - 1],
    ] {
        let (status, body) = send(app.request_as(key, Method::GET, "/v1/agents")).await;
        assert_error(status, &body, 401, "unauthenticated", None);
        assert!(
            !body["error"]["message"].as_str().unwrap().contains(key) || key.len() <= 8,
            "keys are not echoed whole"
        );
    }
    let (status, body) = send(app.anonymous(Method::GET, "/v1/agents?api_key=sk_live_wrong")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    let response = app
        .anonymous(Method::GET, "/v1/agents")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"faos\""
    );
}

#[tokio::test]
async fn the_key_may_come_as_a_query_parameter() {
    let app = app!();
    let id = app.agent_id("Query").await;
    let (status, body) = send(app.anonymous(
        Method::GET,
        &format!("/v1/agents/{id}?api_key={}", app.live_key),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["id"], id.as_str());
    // One method per request (RFC 6750 §2): a header and a query key
    // together are refused, whichever would be used.
    let path = format!("/v1/agents/{id}?api_key={}", app.test_key);
    let (status, body) = send(app.request(Method::GET, &path)).await;
    assert_error(status, &body, 400, "invalid_request", Some("api_key"));
    let path = format!(
        "/v1/agents?api_key={}&api_key={}",
        app.test_key, app.live_key
    );
    let (status, body) = send(app.anonymous(Method::GET, &path)).await;
    assert_error(status, &body, 400, "invalid_request", Some("api_key"));
}

#[tokio::test]
async fn live_and_test_keys_see_disjoint_data() {
    let app = app!();
    let live_agent = app.agent_id("Live").await;
    let (status, test_agent) = send(
        app.request_as(&app.test_key, Method::POST, "/v1/agents")
            .json(&json!({"name": "Test"})),
    )
    .await;
    assert_eq!(status, 201);
    let test_agent = test_agent["data"]["id"].as_str().unwrap().to_string();

    let (_, live_list) = send(app.request(Method::GET, "/v1/agents")).await;
    let (_, test_list) = send(app.request_as(&app.test_key, Method::GET, "/v1/agents")).await;
    assert_eq!(live_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(live_list["data"][0]["id"], live_agent.as_str());
    assert_eq!(test_list["data"].as_array().unwrap().len(), 1);
    assert_eq!(test_list["data"][0]["id"], test_agent.as_str());

    for (key, foreign) in [(&app.live_key, &test_agent), (&app.test_key, &live_agent)] {
        for method in [Method::GET, Method::DELETE] {
            let (status, body) =
                send(app.request_as(key, method, &format!("/v1/agents/{foreign}"))).await;
            assert_error(status, &body, 404, "not_found", Some("id"));
        }
        let (status, body) = send(
            app.request_as(key, Method::PATCH, &format!("/v1/agents/{foreign}"))
                .json(&json!({"name": "stolen"})),
        )
        .await;
        assert_error(status, &body, 404, "not_found", Some("id"));
        let (status, body) = send(
            app.request_as(key, Method::POST, &format!("/v1/agents/{foreign}/messages"))
                .json(&json!({"content": "hi"})),
        )
        .await;
        assert_error(status, &body, 404, "not_found", Some("id"));
        let (status, body) =
            send(app.request_as(key, Method::GET, &format!("/v1/agents/{foreign}/messages"))).await;
        assert_error(status, &body, 404, "not_found", Some("id"));
    }
    let (_, still) = send(app.request(Method::GET, &format!("/v1/agents/{live_agent}"))).await;
    assert_eq!(
        still["data"]["name"], "Live",
        "foreign calls changed nothing"
    );
}

#[tokio::test]
async fn another_organization_never_sees_an_agent() {
    let app = app!();
    let id = app.agent_id("Ours").await;
    let other = app.key_for_new_org("acme", Mode::Live).await;
    let (status, body) =
        send(app.request_as(&other, Method::GET, &format!("/v1/agents/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (_, list) = send(app.request_as(&other, Method::GET, "/v1/agents")).await;
    assert_eq!(list["data"], json!([]));
    let (status, body) =
        send(app.request_as(&other, Method::DELETE, &format!("/v1/agents/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, _) = send(app.request(Method::GET, &format!("/v1/agents/{id}"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn only_a_hash_of_each_key_is_stored() {
    let app = app!();
    for key in [&app.live_key, &app.test_key] {
        assert!(!app.database.stores_text(key).await, "no key in plain text");
        let (prefix, secret) = key.split_at(8);
        assert!(!app.database.stores_text(secret).await, "{prefix}… stored");
    }
    let (status, _) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(status, 200, "and the key still works");
}
