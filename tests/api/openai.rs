//! The `openai` (and `ollama`) provider against a stand-in server in the
//! test that speaks the Chat Completions wire protocol over HTTP, including
//! its error responses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, send, spawn_app_with};

const KEY: &str = "sk-test-openai-key";

/// What the stand-in received: headers' Authorization and the JSON body.
type Log = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// Answers like OpenAI's `/v1/chat/completions`. The last user message
/// chooses the behaviour: `fail500`, `fail429`, `slow`, `garbage`,
/// `length`; anything else gets a normal completion.
async fn chat_completions(
    State(log): State<Log>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    log.lock().unwrap().push((auth.clone(), body.clone()));
    if auth
        .as_deref()
        .is_some_and(|a| a != format!("Bearer {KEY}"))
    {
        let error = json!({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
        return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
    }
    let last = body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    let finish = match last.as_str() {
        "fail500" => {
            let error = json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(error)).into_response();
        }
        "fail429" => {
            let error = json!({"error": {"message": "Rate limit reached for gpt-4o-mini.", "type": "requests", "code": "rate_limit_exceeded"}});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(error),
            )
                .into_response();
        }
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "stop"
        }
        "garbage" => return (StatusCode::OK, "<html>not json</html>").into_response(),
        "length" => "length",
        _ => "stop",
    };
    Json(json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body["model"],
        "system_fingerprint": "fp_1",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": format!("Stand-in heard: {last}"), "refusal": null},
            "logprobs": null,
            "finish_reason": finish
        }],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    }))
    .into_response()
}

async fn stand_in() -> (String, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

async fn app_with_provider(key: &str) -> (TestApp, Log) {
    let (base, log) = stand_in().await;
    let key = key.to_string();
    let app = spawn_app_with(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some(key);
        c.ollama_base_url = base.clone();
        c.model_timeout_seconds = 1;
    })
    .await;
    (app, log)
}

#[tokio::test]
async fn replies_come_from_the_provider_with_instructions_and_history() {
    let (app, log) = app_with_provider(KEY).await;
    let agent = app
        .create_agent(
            json!({"name": "GPT", "instructions": "Be terse.", "model": "openai/gpt-4o-mini"}),
        )
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    let (status, first) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "Hello"})),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["data"]["content"], "Stand-in heard: Hello");
    assert_eq!(
        first["data"]["usage"],
        json!({"input_tokens": 42, "output_tokens": 7})
    );
    assert_eq!(first["data"]["stop_reason"], "end_turn");

    let (status, second) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "length"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(second["data"]["stop_reason"], "max_tokens");

    let calls = log.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let (auth, body) = &calls[1];
    assert_eq!(auth.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Stand-in heard: Hello"},
            {"role": "user", "content": "length"}
        ])
    );
}

#[tokio::test]
async fn provider_failures_are_502_and_keep_the_users_message() {
    let (app, _) = app_with_provider(KEY).await;
    let agent = app
        .create_agent(json!({"name": "GPT", "model": "openai/gpt-4o-mini"}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    for (content, expect) in [
        ("fail500", "HTTP 500"),
        ("fail429", "HTTP 429"),
        ("garbage", "not a chat completion"),
        ("slow", "did not answer within 1 s"),
    ] {
        let (status, body) = send(
            app.request(Method::POST, &path)
                .json(&json!({"content": content})),
        )
        .await;
        assert_error(status, &body, 502, "model_error", None);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expect), "{content}: {message}");
    }
    let (_, history) = send(app.request(Method::GET, &format!("{path}?order=asc"))).await;
    let stored: Vec<(&str, &str, &Value)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap(),
                &m["stop_reason"],
            )
        })
        .collect();
    let failed = json!("error");
    let mut expected = Vec::new();
    for content in ["fail500", "fail429", "garbage", "slow"] {
        expected.push(("user", content, &Value::Null));
        expected.push(("assistant", "", &failed));
    }
    assert_eq!(
        stored, expected,
        "each user message stays, and its answer is recorded as failed"
    );
}

#[tokio::test]
async fn a_wrong_provider_key_surfaces_the_providers_message() {
    let (app, _) = app_with_provider("sk-wrong").await;
    let agent = app
        .create_agent(json!({"name": "GPT", "model": "openai/gpt-4o-mini"}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    let (status, body) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "hi"})),
    )
    .await;
    assert_error(status, &body, 502, "model_error", None);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("HTTP 401") && message.contains("Incorrect API key provided."));
    assert!(!message.contains("sk-wrong"));
}

#[tokio::test]
async fn an_unreachable_provider_is_502() {
    let app = spawn_app_with(|c| {
        c.openai_base_url = "http://127.0.0.1:9/v1".into();
        c.model_timeout_seconds = 2;
    })
    .await;
    let agent = app
        .create_agent(json!({"name": "GPT", "model": "openai/gpt-4o-mini"}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    let (status, body) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "hi"})),
    )
    .await;
    assert_error(status, &body, 502, "model_error", None);
}

#[tokio::test]
async fn ollama_is_the_same_protocol_without_a_key() {
    let (app, log) = app_with_provider(KEY).await;
    let agent = app
        .create_agent(json!({"name": "Local", "model": "ollama/llama3.2"}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    let (status, reply) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "Hi"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["content"], "Stand-in heard: Hi");
    let calls = log.lock().unwrap().clone();
    assert_eq!(calls[0].0, None, "no Authorization header for Ollama");
    assert_eq!(calls[0].1["model"], "llama3.2");
}
