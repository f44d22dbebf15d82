//! The tool loop: tool calls and results in history, failing and slow
//! tools, the step cap, the builtin clock, the URL guard at call time.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, send, spawn_app_with};
use crate::standins::{self, Script, Scripted, StandIn};

/// An app with an OpenAI stand-in, 127.0.0.1 allowed for HTTP tools, and
/// a 1 s tool timeout.
async fn app(script: Script) -> Option<(TestApp, StandIn)> {
    let stand_in = standins::openai(script, Duration::ZERO).await;
    let base = stand_in.base.clone();
    let app = spawn_app_with(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some("sk-test-openai-key".into());
        c.outbound_allow = "127.0.0.1".into();
        c.tool_timeout_seconds = 1;
    })
    .await?;
    Some((app, stand_in))
}

/// A local service for HTTP tools: `/orders/{id}` answers JSON,
/// `/slow` answers after 3 s, `/fail` answers 500.
async fn orders_service() -> String {
    let router = axum::Router::new()
        .route(
            "/orders/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    axum::Json(json!({"order": id, "status": "shipped"}))
                },
            ),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Calls `tool` with `arguments` while the last message is from the user,
/// then answers with what the tool returned.
fn call_then_report(tool: &'static str, arguments: Value) -> Script {
    Arc::new(move |body: &Value| {
        let last = body["messages"].as_array().unwrap().last().unwrap().clone();
        if last["role"] == "tool" {
            Scripted::Text(format!("Tool said: {}", last["content"].as_str().unwrap()))
        } else {
            Scripted::ToolCalls(vec![(tool.to_string(), arguments.clone())])
        }
    })
}

async fn history(app: &TestApp, agent: &str, conversation: &str) -> Vec<Value> {
    let (_, page) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages?conversation_id={conversation}&order=asc&limit=100"),
    ))
    .await;
    page["data"].as_array().unwrap().clone()
}

async fn tool_agent(app: &TestApp, service: &str, max_steps: u32) -> String {
    app.create_agent(json!({
        "name": "Tools",
        "model": "openai/gpt-4o-mini",
        "max_steps": max_steps,
        "tools": [
            {"type": "http", "name": "order", "description": "Look up an order", "method": "GET",
             "url": format!("{service}/orders/{{order_id}}"),
             "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}},
            {"type": "http", "name": "slow", "method": "GET", "url": format!("{service}/slow")},
            {"type": "http", "name": "fail", "method": "GET", "url": format!("{service}/fail")},
            {"type": "builtin", "name": "current_time"}
        ]
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tool_calls_and_results_are_stored_in_history() {
    let service = orders_service().await;
    let (app, stand_in) =
        skip_unless!(app(call_then_report("order", json!({"order_id": "A-17"}))).await);
    let agent = tool_agent(&app, &service, 10).await;
    let (status, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "Where is A-17?", "conversation_id": "t"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["stop_reason"], "end_turn");
    assert!(
        reply["data"]["content"]
            .as_str()
            .unwrap()
            .contains("shipped")
    );

    let messages = history(&app, &agent, "t").await;
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["user", "assistant", "tool", "assistant"]);
    let call = &messages[1]["tool_calls"][0];
    assert_eq!(call["name"], "order");
    assert_eq!(call["arguments"], json!({"order_id": "A-17"}));
    assert_eq!(messages[1]["stop_reason"], "tool_use");
    assert_eq!(messages[2]["tool_call_id"], call["id"]);
    assert_eq!(messages[2]["tool_name"], "order");
    assert_eq!(messages[2]["is_error"], false);
    let result: Value = serde_json::from_str(messages[2]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({"status": 200, "body": {"order": "A-17", "status": "shipped"}})
    );

    // The provider was shown the tools, then the call and its result.
    let calls = stand_in.received();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body["tools"][0]["function"]["name"], "order");
    let second = calls[1].body["messages"].as_array().unwrap();
    assert_eq!(second[second.len() - 2]["tool_calls"][0]["id"], call["id"]);
    assert_eq!(second.last().unwrap()["role"], "tool");
}

#[tokio::test]
async fn a_tool_that_times_out_leaves_valid_history_and_the_next_message_works() {
    let service = orders_service().await;
    let script: Script = Arc::new(|body: &Value| {
        let last = body["messages"].as_array().unwrap().last().unwrap().clone();
        match (
            last["role"].as_str(),
            standins::last_user_text(body).as_str(),
        ) {
            (Some("tool"), _) => {
                Scripted::Text(format!("Tool said: {}", last["content"].as_str().unwrap()))
            }
            (_, "slow please") => Scripted::ToolCalls(vec![("slow".into(), json!({}))]),
            (_, "fail please") => Scripted::ToolCalls(vec![("fail".into(), json!({}))]),
            (_, "bad args") => Scripted::ToolCalls(vec![("order".into(), json!({"order_id": 5}))]),
            (_, "ghost") => Scripted::ToolCalls(vec![("no_such_tool".into(), json!({}))]),
            _ => Scripted::Text("plain answer".into()),
        }
    });
    let (app, _) = skip_unless!(app(script).await);
    let agent = tool_agent(&app, &service, 10).await;
    let path = format!("/v1/agents/{agent}/messages");
    for (content, expect) in [
        ("slow please", "timed out"),
        ("fail please", "\"status\":500"),
        ("bad args", "do not match the tool's schema"),
        ("ghost", "There is no tool named 'no_such_tool'"),
    ] {
        let (status, reply) = send(
            app.request(Method::POST, &path)
                .json(&json!({"content": content, "conversation_id": "e"})),
        )
        .await;
        assert_eq!(status, 201, "{content}: {reply}");
        assert!(
            reply["data"]["content"].as_str().unwrap().contains(expect),
            "{content}: {reply}"
        );
    }
    let messages = history(&app, &agent, "e").await;
    let tool_results: Vec<&Value> = messages.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_results.len(), 4);
    assert!(tool_results.iter().all(|m| m["is_error"] == true));
    // The stand-in rejects invalid histories, so this proves the history is valid.
    let (status, reply) = send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "and now?", "conversation_id": "e"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["content"], "plain answer");
}

#[tokio::test]
async fn the_step_cap_ends_with_a_final_message() {
    let service = orders_service().await;
    // A model that always wants another tool call while it may.
    let script: Script = Arc::new(|body: &Value| {
        if standins::tools_allowed(body) {
            Scripted::ToolCalls(vec![("current_time".into(), json!({}))])
        } else {
            Scripted::Text("Here is what I found.".into())
        }
    });
    let (app, stand_in) = skip_unless!(app(script).await);
    let agent = tool_agent(&app, &service, 2).await;
    let (status, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "loop", "conversation_id": "cap"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["stop_reason"], "max_steps");
    assert_eq!(reply["data"]["content"], "Here is what I found.");
    let roles: Vec<String> = history(&app, &agent, "cap")
        .await
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "assistant"
        ]
    );
    let calls = stand_in.received();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[2].body["tool_choice"], "none",
        "the last call asks for a final answer"
    );
}

#[tokio::test]
async fn the_builtin_model_uses_the_clock_offline() {
    let app = app!(|_| {});
    let agent = app
        .create_agent(
            json!({"name": "Clock", "tools": [{"type": "builtin", "name": "current_time"}]}),
        )
        .await;
    let (status, reply) = send(
        app.request(
            Method::POST,
            &format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap()),
        )
        .json(&json!({"content": "What time is it?"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let content = reply["data"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("The current_time tool returned: {\"unix\":"),
        "{content}"
    );
}

#[tokio::test]
async fn http_tools_never_reach_a_refused_address_at_call_time() {
    // A host name (not an IP, not *.localhost) that resolves to loopback
    // passes the save-time check and must fail when called.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let Some(name) = hosts.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let ip: std::net::IpAddr = parts.next()?.parse().ok()?;
        let name = parts.find(|n| !n.contains("localhost") && !n.starts_with('#'))?;
        ip.is_loopback().then(|| name.to_string())
    }) else {
        println!("skipping: /etc/hosts names no loopback host besides localhost");
        return;
    };
    let service = orders_service().await;
    let port = service.rsplit(':').next().unwrap().to_string();
    let script = call_then_report("sneaky", json!({}));
    let stand_in = standins::openai(script, Duration::ZERO).await;
    let base = stand_in.base.clone();
    // 127.0.0.1 is NOT allowed here: the guard is fully on.
    let app = app!(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some("sk-test-openai-key".into());
    });
    let agent = app
        .create_agent(json!({"name": "Guarded", "model": "openai/gpt-4o-mini", "tools": [
            {"type": "http", "name": "sneaky", "method": "GET", "url": format!("http://{name}:{port}/orders/1")}
        ]}))
        .await;
    let (status, reply) = send(
        app.request(
            Method::POST,
            &format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap()),
        )
        .json(&json!({"content": "go"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let content = reply["data"]["content"].as_str().unwrap();
    assert!(
        content.contains("refuses"),
        "the reason is recorded: {content}"
    );
    assert!(!content.contains("shipped"));
}
