//! The `openai` (and `ollama`) provider against a stand-in server in the
//! test that speaks the Chat Completions wire protocol over HTTP, including
//! its error responses.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, send, spawn_app_with};
use crate::standins::{self, Scripted, StandIn};

const KEY: &str = "sk-test-openai-key";

async fn app_with_provider(key: &str) -> Option<(TestApp, StandIn)> {
    let stand_in = standins::openai(standins::keyword_script(), Duration::ZERO).await;
    let base = stand_in.base.clone();
    let key = key.to_string();
    let app = spawn_app_with(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some(key);
        c.ollama_base_url = base.clone();
        c.model_timeout_seconds = 1;
    })
    .await?;
    Some((app, stand_in))
}

#[tokio::test]
async fn replies_come_from_the_provider_with_instructions_and_history() {
    let (app, stand_in) = skip_unless!(app_with_provider(KEY).await);
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

    let calls = stand_in.received();
    assert_eq!(calls.len(), 2);
    let body = &calls[1].body;
    assert_eq!(
        calls[1].headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
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
    let (app, _) = skip_unless!(app_with_provider(KEY).await);
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
    let (app, _) = skip_unless!(app_with_provider("sk-wrong").await);
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
    let app = app!(|c| {
        c.openai_base_url = "http://127.0.0.1:9/v1".into();
        c.model_timeout_seconds = 2;
    });
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
    let (app, stand_in) = skip_unless!(app_with_provider(KEY).await);
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
    let calls = stand_in.received();
    assert!(
        calls[0].headers.get("authorization").is_none(),
        "no Authorization header for Ollama"
    );
    assert_eq!(calls[0].body["model"], "llama3.2");
}

/// A NUL in a model's reply cannot be stored as text: it arrives as U+FFFD.
#[tokio::test]
async fn a_nul_in_the_reply_is_replaced_not_fatal() {
    let stand_in = standins::openai(
        Arc::new(|_: &Value| Scripted::Text("a\u{0}b".into())),
        Duration::ZERO,
    )
    .await;
    let base = stand_in.base.clone();
    let app = app!(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some("sk-test-openai-key".into());
    });
    let agent = app
        .create_agent(json!({"name": "Nul", "model": "openai/gpt-4o-mini"}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    for stream in [false, true] {
        let response = app
            .request(Method::POST, &path)
            .json(&json!({"content": "hi", "stream": stream}))
            .send()
            .await
            .unwrap();
        // A stream answers 200 (its events carry the message).
        assert_eq!(response.status(), if stream { 200 } else { 201 });
        if stream {
            let events = crate::helpers::read_events(response, None).await;
            assert_eq!(events.last().unwrap().event, "message.completed");
            assert_eq!(events.last().unwrap().data["content"], "a\u{FFFD}b");
        } else {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["data"]["content"], "a\u{FFFD}b");
        }
    }
}
