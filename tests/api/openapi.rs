//! The OpenAPI document agrees with the server, and `/docs` is served from
//! the binary.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::send;

#[tokio::test]
async fn the_document_is_openapi_3_1_with_both_security_schemes() {
    let app = app!();
    let (status, spec) = send(app.anonymous(Method::GET, "/v1/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(spec["openapi"], "3.1.0");
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["in"], "query");
    assert_eq!(schemes["api_key"]["name"], "api_key");
    for schema in [
        "Agent",
        "Message",
        "ErrorBody",
        "Template",
        "CreateAgent",
        "UpdateAgent",
        "SendMessage",
    ] {
        assert!(
            spec["components"]["schemas"].get(schema).is_some(),
            "schema {schema}"
        );
    }
    for (schema, object) in [
        ("Agent", "agent"),
        ("Message", "message"),
        ("Event", "event"),
        ("Run", "run"),
        ("Endpoint", "webhook"),
    ] {
        let property = &spec["components"]["schemas"][schema]["properties"]["object"];
        assert_eq!(
            property["enum"],
            json!([object]),
            "{schema} documents its object field"
        );
    }
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/agents", vec!["get", "post"]),
        ("/v1/agents/{id}", vec!["get", "patch", "delete"]),
        ("/v1/agents/{id}/messages", vec!["get", "post"]),
        ("/v1/templates", vec!["get"]),
        ("/healthz", vec!["get"]),
        ("/readyz", vec!["get"]),
    ] {
        for method in methods {
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path} documented");
            if path.starts_with("/v1") {
                let security = operation["security"].as_array().unwrap();
                let scopes = security[0]["bearer"].as_array().unwrap();
                let expected = if path.starts_with("/v1/api_keys") {
                    0
                } else {
                    1
                };
                assert_eq!(scopes.len(), expected, "{method} {path} declares its scope");
                for code in ["400", "401", "403", "500"] {
                    assert!(
                        operation["responses"].get(code).is_some(),
                        "{method} {path} documents {code}"
                    );
                }
            }
        }
    }
}

/// Every operation in the document is routed: called with valid
/// credentials it never answers "unknown route" or "wrong method".
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = app!();
    let id = app.agent_id("Spec").await;
    let (_, spec) = send(app.anonymous(Method::GET, "/v1/openapi.json")).await;
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let concrete = path.replace("{id}", &id);
            let mut request = app.request(method.clone(), &concrete);
            if method != Method::GET && method != Method::DELETE {
                request = request.json(&json!({}));
            }
            let (status, body) = send(request).await;
            assert_ne!(status, 405, "{method} {path}: {body}");
            if status == 404 {
                assert_eq!(
                    body["error"]["param"], "id",
                    "{method} {path} is routed: {body}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10);
}

#[tokio::test]
async fn the_reference_page_is_served_without_a_cdn() {
    let app = app!();
    let response = app.anonymous(Method::GET, "/docs/").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"));
    for cdn in ["unpkg.com", "jsdelivr", "cdnjs", "https://"] {
        assert!(!html.contains(cdn), "no {cdn} in the page");
    }
    let init = app
        .anonymous(Method::GET, "/docs/swagger-initializer.js")
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/v1/openapi.json"));
    let bundle = app
        .anonymous(Method::GET, "/docs/swagger-ui-bundle.js")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bundle.status(),
        200,
        "the UI's script is served from the binary"
    );
}

#[tokio::test]
async fn the_served_document_matches_the_library_one() {
    let app = app!();
    let (_, served) = send(app.anonymous(Method::GET, "/v1/openapi.json")).await;
    let built: Value = serde_json::to_value(faos::api::openapi::document()).unwrap();
    assert_eq!(served, built);
}
