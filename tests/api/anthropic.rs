//! The `anthropic` provider against a stand-in speaking the Messages API,
//! streaming and tool use included.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, deltas, read_events, send, spawn_app_with};
use crate::standins::{self, Script, Scripted, StandIn};

async fn app(script: Script, key: &str) -> Option<(TestApp, StandIn)> {
    let stand_in = standins::anthropic(script, Duration::ZERO).await;
    let base = stand_in.base.clone();
    let key = key.to_string();
    let app = spawn_app_with(move |c| {
        c.anthropic_base_url = base;
        c.anthropic_api_key = Some(key);
    })
    .await?;
    Some((app, stand_in))
}

/// Calls `current_time` first, then reports the result.
fn clock_script() -> Script {
    Arc::new(|body: &Value| {
        let last = body["messages"].as_array().unwrap().last().unwrap();
        let has_result = last["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["type"] == "tool_result");
        if has_result {
            Scripted::Text("It is now, more or less.".into())
        } else {
            Scripted::ToolCalls(vec![("current_time".into(), json!({}))])
        }
    })
}

async fn claude_agent(app: &TestApp) -> String {
    app.create_agent(json!({
        "name": "Claude", "instructions": "Be precise.", "model": "anthropic/claude-sonnet-4-5",
        "tools": [{"type": "builtin", "name": "current_time"}]
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tool_use_round_trips_through_the_messages_api() {
    let (app, stand_in) = skip_unless!(app(clock_script(), "sk-ant-test").await);
    let agent = claude_agent(&app).await;
    let (status, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "What time is it?"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["content"], "It is now, more or less.");
    assert_eq!(
        reply["data"]["usage"],
        json!({"input_tokens": 30, "output_tokens": 9})
    );
    let calls = stand_in.received();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body["system"], "Be precise.");
    assert_eq!(calls[0].body["tools"][0]["name"], "current_time");
    assert!(calls[0].body["tools"][0]["input_schema"].is_object());
    let second = calls[1].body["messages"].as_array().unwrap();
    assert_eq!(second[1]["content"][0]["type"], "tool_use");
    assert_eq!(second[2]["content"][0]["type"], "tool_result");
    assert_eq!(
        second[2]["content"][0]["tool_use_id"],
        second[1]["content"][0]["id"]
    );

    // The next turn's history (tool_use, tool_result, text) is still valid.
    let (status, _) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "thanks"})),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn streaming_with_tool_use() {
    let (app, _) = skip_unless!(app(clock_script(), "sk-ant-test").await);
    let agent = claude_agent(&app).await;
    let response = app
        .request(Method::POST, &format!("/v1/agents/{agent}/messages"))
        .json(&json!({"content": "What time is it?", "stream": true}))
        .send()
        .await
        .unwrap();
    let events = read_events(response, None).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names.first(), Some(&"answer.started"));
    assert!(names.contains(&"tool_call.started") && names.contains(&"tool_call.completed"));
    let started = events
        .iter()
        .find(|e| e.event == "tool_call.started")
        .unwrap();
    assert_eq!(started.data["tool_call"]["name"], "current_time");
    let completed = events.last().unwrap();
    assert_eq!(completed.event, "message.completed");
    assert_eq!(deltas(&events), "It is now, more or less.");
    assert_eq!(completed.data["content"], "It is now, more or less.");
    assert_eq!(completed.data["usage"]["output_tokens"], 9);
}

#[tokio::test]
async fn anthropic_errors_are_502() {
    let (app, _) = skip_unless!(app(clock_script(), "sk-ant-wrong").await);
    let agent = claude_agent(&app).await;
    let (status, body) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "hi"})),
    )
    .await;
    assert_error(status, &body, 502, "model_error", None);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid x-api-key")
    );
}
