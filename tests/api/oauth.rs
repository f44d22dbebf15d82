//! OAuth 2.0 client credentials (RFC 6749 §4.4) and token revocation (RFC
//! 7009): clients, tokens, scopes, errors in the RFC's form, revoked and
//! expired tokens.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, bad_metadata, send};

/// Creates a client with `scopes`; returns (client_id, client_secret).
async fn client(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let (status, body) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .json(&json!({"name": "CI bot", "scopes": scopes})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let data = &body["data"];
    assert_eq!(data["object"], "oauth_client");
    let secret = data["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("cs_live_"));
    (data["id"].as_str().unwrap().into(), secret.into())
}

/// POSTs a form to an OAuth endpoint, optionally with HTTP Basic.
async fn post_form(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.anonymous(Method::POST, path).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

/// Asserts an RFC 6749 §5.2 error.
async fn assert_oauth_error(response: reqwest::Response, status: u16, error: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    if status == 401 {
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

async fn token(app: &TestApp, id: &str, secret: &str, scope: Option<&str>) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = post_form(app, "/v1/oauth/token", Some((id, secret)), &form).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    response.json().await.unwrap()
}

#[tokio::test]
async fn client_credentials_grant_a_token_limited_to_its_scopes() {
    let app = app!();
    let (id, secret) = client(&app, &["agents:read", "agents:write"]).await;
    let granted = token(&app, &id, &secret, None).await;
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 3600);
    assert_eq!(granted["scope"], "agents:read agents:write");
    let access = granted["access_token"].as_str().unwrap();
    assert!(access.starts_with("at_live_"), "{access}");

    let (status, created) = send(
        app.request_as(access, Method::POST, "/v1/agents")
            .json(&json!({"name": "Made by a token"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    // The token's data is the client's organization and mode.
    let (_, listed) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(listed["data"][0]["id"], created["data"]["id"]);
    let (status, body) = send(app.request_as(access, Method::GET, "/v1/workflows")).await;
    assert_error(status, &body, 403, "permission_denied", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("workflows:read")
    );

    // Form-field client authentication, and a narrower scope.
    let response = post_form(
        &app,
        "/v1/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "agents:read"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let narrow: Value = response.json().await.unwrap();
    assert_eq!(narrow["scope"], "agents:read");
    let narrow = narrow["access_token"].as_str().unwrap();
    assert_eq!(
        send(app.request_as(narrow, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );
    let (status, body) = send(
        app.request_as(narrow, Method::POST, "/v1/agents")
            .json(&json!({"name": "no"})),
    )
    .await;
    assert_error(status, &body, 403, "permission_denied", None);
    // Access tokens are not API keys: they are not listed with them, and
    // cannot manage keys or clients.
    let (_, keys) = send(app.request(Method::GET, "/v1/api_keys")).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1, "{keys}");
    let (status, body) = send(app.request_as(access, Method::GET, "/v1/oauth/clients")).await;
    assert_error(status, &body, 403, "permission_denied", None);
}

#[tokio::test]
async fn bad_client_credentials_are_invalid_client() {
    let app = app!();
    let (id, secret) = client(&app, &["agents:read"]).await;
    let grant = [("grant_type", "client_credentials")];
    let wrong = post_form(
        &app,
        "/v1/oauth/token",
        Some((&id, "cs_live_wrong")),
        &grant,
    )
    .await;
    assert_oauth_error(wrong, 401, "invalid_client").await;
    let unknown = post_form(&app, "/v1/oauth/token", Some(("cli_nope", &secret)), &grant).await;
    assert_oauth_error(unknown, 401, "invalid_client").await;
    let none = post_form(&app, "/v1/oauth/token", None, &grant).await;
    assert_oauth_error(none, 401, "invalid_client").await;
    let garbled = app
        .anonymous(Method::POST, "/v1/oauth/token")
        .header("authorization", "Basic !!!")
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_oauth_error(garbled, 401, "invalid_client").await;
    // An API key is not a client secret.
    let key = post_form(&app, "/v1/oauth/token", Some((&id, &app.live_key)), &grant).await;
    assert_oauth_error(key, 401, "invalid_client").await;
    // Both methods at once, a repeated parameter: invalid_request.
    let both = post_form(
        &app,
        "/v1/oauth/token",
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(both, 400, "invalid_request").await;
    let repeated = post_form(
        &app,
        "/v1/oauth/token",
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_oauth_error(repeated, 400, "invalid_request").await;
    // Basic credentials are form-encoded before Base64 (RFC 6749 §2.3.1).
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let ok = app
        .anonymous(Method::POST, "/v1/oauth/token")
        .header("authorization", format!("Basic {encoded}"))
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn bad_grants_and_scope_escalation_are_refused() {
    let app = app!();
    let (id, secret) = client(&app, &["agents:read"]).await;
    let basic = Some((id.as_str(), secret.as_str()));
    let password = post_form(
        &app,
        "/v1/oauth/token",
        basic,
        &[("grant_type", "password")],
    )
    .await;
    assert_oauth_error(password, 400, "unsupported_grant_type").await;
    let missing = post_form(&app, "/v1/oauth/token", basic, &[("scope", "agents:read")]).await;
    assert_oauth_error(missing, 400, "invalid_request").await;
    for scope in ["agents:write", "agents:read webhooks:write", "admin", " "] {
        let escalated = post_form(
            &app,
            "/v1/oauth/token",
            basic,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_oauth_error(escalated, 400, "invalid_scope").await;
    }
}

#[tokio::test]
async fn revoked_tokens_and_deleted_clients_stop_working() {
    let app = app!();
    let (id, secret) = client(&app, &["agents:read"]).await;
    let first = token(&app, &id, &secret, None).await;
    let first = first["access_token"].as_str().unwrap();
    let second = token(&app, &id, &secret, None).await;
    let second = second["access_token"].as_str().unwrap();
    assert_eq!(
        send(app.request_as(first, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );

    let basic = Some((id.as_str(), secret.as_str()));
    let revoked = post_form(&app, "/v1/oauth/revoke", basic, &[("token", first)]).await;
    assert_eq!(revoked.status(), 200);
    let (status, body) = send(app.request_as(first, Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    // RFC 7009 §2.2: unknown and already revoked tokens answer 200 too.
    for token in [first, "at_live_unknown"] {
        let again = post_form(&app, "/v1/oauth/revoke", basic, &[("token", token)]).await;
        assert_eq!(again.status(), 200);
    }
    // Another client cannot revoke this client's token.
    let (other_id, other_secret) = client(&app, &["agents:read"]).await;
    let foreign = post_form(
        &app,
        "/v1/oauth/revoke",
        Some((&other_id, &other_secret)),
        &[("token", second)],
    )
    .await;
    assert_eq!(foreign.status(), 200);
    assert_eq!(
        send(app.request_as(second, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );
    let anonymous = post_form(&app, "/v1/oauth/revoke", None, &[("token", second)]).await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;
    let no_token = post_form(&app, "/v1/oauth/revoke", basic, &[]).await;
    assert_oauth_error(no_token, 400, "invalid_request").await;

    // Deleting the client ends its tokens.
    let (status, deleted) =
        send(app.request(Method::DELETE, &format!("/v1/oauth/clients/{id}"))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["data"]["deleted"], true);
    let (status, body) = send(app.request_as(second, Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    let (status, body) =
        send(app.request(Method::DELETE, &format!("/v1/oauth/clients/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = app!(|c| c.oauth_token_ttl_seconds = 1);
    let (id, secret) = client(&app, &["agents:read"]).await;
    let granted = token(&app, &id, &secret, None).await;
    assert_eq!(granted["expires_in"], 1);
    let access = granted["access_token"].as_str().unwrap();
    assert_eq!(
        send(app.request_as(access, Method::GET, "/v1/agents"))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = send(app.request_as(access, Method::GET, "/v1/agents")).await;
    assert_error(status, &body, 401, "unauthenticated", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn clients_are_managed_with_secret_keys_only_and_never_show_secrets_again() {
    let app = app!();
    let (status, body) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .json(&json!({"name": "x", "scopes": ["agents:read", "root"]})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("scopes[1]"));
    let (status, body) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .json(&json!({"scopes": ["agents:read"]})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("name"));
    let (status, body) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .json(&json!({"name": "x", "scopes": []})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("scopes"));
    let (id, _) = client(&app, &["agents:read"]).await;
    let (status, listed) = send(app.request(Method::GET, "/v1/oauth/clients")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert!(listed["data"][0].get("client_secret").is_none());
    // The sandbox sees none of the live clients.
    let (_, sandbox) = send(app.request_as(&app.test_key, Method::GET, "/v1/oauth/clients")).await;
    assert_eq!(sandbox["data"].as_array().unwrap().len(), 0);
    let (status, body) = send(app.request_as(
        &app.test_key,
        Method::DELETE,
        &format!("/v1/oauth/clients/{id}"),
    ))
    .await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    // A restricted key cannot make a client (and so a token) of any scope.
    let (_, key) = send(
        app.request(Method::POST, "/v1/api_keys")
            .json(&json!({"scopes": ["agents:read"]})),
    )
    .await;
    let restricted = key["data"]["secret"].as_str().unwrap();
    let (status, body) = send(
        app.request_as(restricted, Method::POST, "/v1/oauth/clients")
            .json(&json!({"name": "x", "scopes": ["agents:read"]})),
    )
    .await;
    assert_error(status, &body, 403, "permission_denied", None);
}

#[tokio::test]
async fn clients_carry_metadata() {
    let app = app!();
    let labels = json!({"env": "ci", "team": "billing"});
    let (status, created) = send(
        app.request(Method::POST, "/v1/oauth/clients")
            .json(&json!({"name": "labelled", "scopes": ["agents:read"], "metadata": labels})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["metadata"], labels);
    let (plain, _) = client(&app, &["agents:read"]).await;
    let (_, listed) = send(app.request(Method::GET, "/v1/oauth/clients")).await;
    assert_eq!(listed["data"][0]["id"], plain.as_str(), "newest first");
    assert_eq!(listed["data"][0]["metadata"], json!({}));
    assert_eq!(listed["data"][1]["id"], created["data"]["id"]);
    assert_eq!(listed["data"][1]["metadata"], labels);
}

#[tokio::test]
async fn bad_client_metadata_is_named_and_makes_no_client() {
    let app = app!();
    for (metadata, param) in bad_metadata() {
        let (status, body) = send(
            app.request(Method::POST, "/v1/oauth/clients")
                .json(&json!({"name": "x", "scopes": ["agents:read"], "metadata": metadata})),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request", Some(&param));
    }
    let (_, listed) = send(app.request(Method::GET, "/v1/oauth/clients")).await;
    assert_eq!(listed["data"], json!([]));
}

#[tokio::test]
async fn idempotency_keys_belong_to_the_client_across_its_tokens() {
    let app = app!();
    let (id, secret) = client(&app, &["agents:write"]).await;
    let one = token(&app, &id, &secret, None).await;
    let two = token(&app, &id, &secret, None).await;
    let create = |access: String| {
        app.request_as(&access, Method::POST, "/v1/agents")
            .header("idempotency-key", "same-key")
            .json(&json!({"name": "Once"}))
            .send()
    };
    let first = create(one["access_token"].as_str().unwrap().into())
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let second = create(two["access_token"].as_str().unwrap().into())
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn a_nul_in_the_client_id_is_an_invalid_client() {
    let app = app!();
    let (_, secret) = client(&app, &["agents:read"]).await;
    let grant = [("grant_type", "client_credentials")];
    let basic = post_form(
        &app,
        "/v1/oauth/token",
        Some(("cli_\u{0}", &secret)),
        &grant,
    )
    .await;
    assert_oauth_error(basic, 401, "invalid_client").await;
    let form = post_form(
        &app,
        "/v1/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "cli_\u{0}"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth_error(form, 401, "invalid_client").await;
}
