//! Context windows, usage totals and the model list.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::send;
use crate::standins::{self, Script, Scripted};

#[tokio::test]
async fn a_long_conversation_on_a_small_window_is_trimmed_and_still_answers() {
    let script: Script = Arc::new(|_: &Value| Scripted::Text("noted, thank you".into()));
    let stand_in = standins::openai(script, Duration::ZERO).await;
    let base = stand_in.base.clone();
    let app = app!(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some("sk-test-openai-key".into());
        c.model_context_windows = "openai/small=300".into();
    });
    let agent = app
        .create_agent(json!({"name": "Small", "model": "openai/small", "instructions": "Remember everything."}))
        .await;
    let path = format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap());
    let mut last = Value::Null;
    for i in 0..75 {
        let (status, reply) = send(app.request(Method::POST, &path).json(
            &json!({"content": format!("Fact number {i}: the sky was a different colour today.")}),
        ))
        .await;
        assert_eq!(status, 201, "message {i}: {reply}");
        last = reply["data"].clone();
    }
    assert_eq!(last["content"], "noted, thank you");
    assert_eq!(last["context"]["window"], 300);
    let dropped = last["context"]["dropped_messages"].as_u64().unwrap();
    assert!(
        dropped > 100,
        "most of the 149 earlier messages were left out: {dropped}"
    );

    let sent = stand_in.received().last().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sent[0]["role"], "system", "instructions are always kept");
    assert_eq!(sent[0]["content"], "Remember everything.");
    assert_eq!(
        sent[1]["role"], "user",
        "history starts with a user message"
    );
    assert_eq!(
        sent.len() as u64,
        150 - dropped,
        "system + the kept 149-dropped+1 messages"
    );
    assert!(
        sent.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .starts_with("Fact number 74")
    );

    let (_, page) = send(app.request(Method::GET, &format!("{path}?limit=100"))).await;
    assert!(
        page["meta"]["has_more"].as_bool().unwrap(),
        "nothing was deleted from history"
    );
}

#[tokio::test]
async fn usage_totals_equal_the_sum_over_messages() {
    let app = app!(|_| {});
    let agent = app
        .create_agent(json!({"name": "Counted", "template": "customer-service", "tools": [{"type": "builtin", "name": "current_time"}]}))
        .await;
    let id = agent["id"].as_str().unwrap();
    for (content, conversation) in [
        ("refund?", "a"),
        ("What time is it?", "a"),
        ("shipping?", "b"),
        ("hello", "c"),
    ] {
        let (status, _) = send(
            app.request(Method::POST, &format!("/v1/agents/{id}/messages"))
                .json(&json!({"content": content, "conversation_id": conversation})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let mut input = 0;
    let mut output = 0;
    for conversation in ["a", "b", "c"] {
        let (_, page) = send(app.request(
            Method::GET,
            &format!("/v1/agents/{id}/messages?conversation_id={conversation}&limit=100"),
        ))
        .await;
        for message in page["data"].as_array().unwrap() {
            if message["role"] == "assistant" {
                input += message["usage"]["input_tokens"].as_u64().unwrap();
                output += message["usage"]["output_tokens"].as_u64().unwrap();
            }
        }
    }
    assert!(input > 0 && output > 0);
    let (status, usage) = send(app.request(Method::GET, &format!("/v1/agents/{id}/usage"))).await;
    assert_eq!(status, 200, "{usage}");
    let usage = &usage["data"];
    assert_eq!(usage["object"], "usage");
    assert_eq!(
        (
            usage["input_tokens"].as_u64(),
            usage["output_tokens"].as_u64()
        ),
        (Some(input), Some(output))
    );
    let today = chrono_today();
    assert_eq!(
        usage["by_day"],
        json!([{"date": today, "input_tokens": input, "output_tokens": output}])
    );
    assert_eq!(
        usage["by_model"],
        json!([{"model": "builtin/assistant", "input_tokens": input, "output_tokens": output}])
    );

    let (status, _) = send(app.request_as(
        &app.test_key,
        Method::GET,
        &format!("/v1/agents/{id}/usage"),
    ))
    .await;
    assert_eq!(status, 404);
}

fn chrono_today() -> String {
    let output = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn the_model_list_shows_configured_providers() {
    let app = app!(|c| {
        c.openai_api_key = Some("sk-x".into());
        c.ollama_models = "llama3.2".into();
    });
    let (status, models) = send(app.request(Method::GET, "/v1/models")).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"builtin/assistant") && ids.contains(&"builtin/echo"));
    assert!(ids.contains(&"openai/gpt-4o-mini"));
    assert!(ids.contains(&"ollama/llama3.2"));
    assert!(
        !ids.iter().any(|id| id.starts_with("anthropic/")),
        "no Anthropic key, no Anthropic models"
    );
    let mini = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "openai/gpt-4o-mini")
        .unwrap();
    assert_eq!(mini["object"], "model");
    assert_eq!(mini["context_window"], 128_000);
}
