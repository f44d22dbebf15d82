//! Stand-ins for the model providers this machine cannot reach: small HTTP
//! servers that speak OpenAI's Chat Completions and Anthropic's Messages
//! wire protocols, streaming and tool calls included, and reject histories
//! the real APIs reject (a tool call without its result). Each test scripts
//! the replies.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

/// What the stand-in answers to one request.
#[derive(Clone)]
pub enum Scripted {
    Text(String),
    /// Tool calls: (name, arguments).
    ToolCalls(Vec<(String, Value)>),
    /// The text, cut by the output limit.
    Length(String),
    /// An API error: status, message, and a `retry-after-ms` header.
    Error(u16, String, Option<u64>),
    /// A 200 whose body is not JSON.
    Garbage,
    /// The reply, after a delay.
    Slow(Duration, Box<Scripted>),
}

/// Chooses the reply from the request body.
pub type Script = Arc<dyn Fn(&Value) -> Scripted + Send + Sync>;

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone)]
struct Shared {
    script: Script,
    log: Arc<Mutex<Vec<Received>>>,
    /// Pause between streamed chunks.
    chunk_delay: Duration,
}

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: Arc<Mutex<Vec<Received>>>,
}

impl StandIn {
    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

/// The last user text of an OpenAI-style or Anthropic-style request.
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(text) => text.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        })
        .unwrap_or_default()
}

/// Whether the request allows tool calls now.
pub fn tools_allowed(body: &Value) -> bool {
    body.get("tools").is_some()
        && body["tool_choice"] != "none"
        && body["tool_choice"]["type"] != "none"
}

/// The default script: the last user message chooses the behaviour
/// (`fail500`, `fail429`, `slow`, `garbage`, `length`), else a text reply
/// `Stand-in heard: <message>`.
pub fn keyword_script() -> Script {
    Arc::new(|body: &Value| {
        let last = last_user_text(body);
        match last.as_str() {
            "fail500" => Scripted::Error(
                500,
                "The server had an error while processing your request.".into(),
                None,
            ),
            "fail429" => {
                Scripted::Error(429, "Rate limit reached for gpt-4o-mini.".into(), Some(50))
            }
            "slow" => Scripted::Slow(
                Duration::from_secs(5),
                Box::new(Scripted::Text("late".into())),
            ),
            "garbage" => Scripted::Garbage,
            "length" => Scripted::Length(format!("Stand-in heard: {last}")),
            _ => Scripted::Text(format!("Stand-in heard: {last}")),
        }
    })
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Starts an OpenAI stand-in at `{base}/v1/chat/completions`.
pub async fn openai(script: Script, chunk_delay: Duration) -> StandIn {
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared {
        script,
        log: log.clone(),
        chunk_delay,
    };
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(openai_completions))
        .with_state(shared);
    StandIn {
        base: serve(router).await,
        log,
    }
}

/// Starts an Anthropic stand-in at `{base}/v1/messages`.
pub async fn anthropic(script: Script, chunk_delay: Duration) -> StandIn {
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared {
        script,
        log: log.clone(),
        chunk_delay,
    };
    let router = axum::Router::new()
        .route("/v1/messages", post(anthropic_messages))
        .with_state(shared);
    StandIn {
        base: serve(router).await,
        log,
    }
}

fn error_response(status: u16, body: Value, retry_after_ms: Option<u64>) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    if let Some(ms) = retry_after_ms {
        response
            .headers_mut()
            .insert("retry-after-ms", ms.to_string().parse().unwrap());
    }
    response
}

/// Resolves delays; returns the final scripted reply.
async fn settle(mut reply: Scripted) -> Scripted {
    while let Scripted::Slow(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    reply
}

fn sse_response(chunks: Vec<String>, delay: Duration) -> Response {
    let stream = futures::stream::iter(chunks).then(move |chunk| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, Infallible>(chunk)
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Rejects what OpenAI rejects: a tool call without its result, or a
/// result without its call.
fn openai_history_error(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let mut pending: Vec<String> = Vec::new();
    for message in messages {
        if message["role"] == "tool" {
            let id = message["tool_call_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !pending.contains(&id) {
                return Some(format!(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' ({id})."
                ));
            }
            pending.retain(|p| *p != id);
            continue;
        }
        if !pending.is_empty() {
            return Some("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.".into());
        }
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            pending.push(call["id"].as_str().unwrap_or_default().to_string());
        }
    }
    (!pending.is_empty()).then(|| "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.".into())
}

async fn openai_completions(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared.log.lock().unwrap().push(Received {
        headers: headers.clone(),
        body: body.clone(),
    });
    if let Some(auth) = headers.get("authorization")
        && auth != "Bearer sk-test-openai-key"
    {
        let error = json!({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}});
        return error_response(401, error, None);
    }
    if let Some(problem) = openai_history_error(&body) {
        return error_response(
            400,
            json!({"error": {"message": problem, "type": "invalid_request_error"}}),
            None,
        );
    }
    let reply = settle((shared.script)(&body)).await;
    let round = shared.log.lock().unwrap().len();
    let (text, calls, finish) = match reply {
        Scripted::Error(status, message, retry) => {
            return error_response(
                status,
                json!({"error": {"message": message, "type": "server_error"}}),
                retry,
            );
        }
        Scripted::Garbage => return (StatusCode::OK, "<html>not json</html>").into_response(),
        Scripted::Text(text) => (text, vec![], "stop"),
        Scripted::Length(text) => (text, vec![], "length"),
        Scripted::ToolCalls(calls) => (String::new(), calls, "tool_calls"),
        Scripted::Slow(..) => unreachable!(),
    };
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"id": format!("call_{round}_{i}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    let usage = json!({"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49});
    if body["stream"] != true {
        let message = if calls.is_empty() {
            json!({"role": "assistant", "content": text, "refusal": null})
        } else {
            json!({"role": "assistant", "content": null, "tool_calls": calls})
        };
        return Json(json!({
            "id": "chatcmpl-123", "object": "chat.completion", "created": 1_700_000_000, "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": usage
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": body["model"],
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut chunks = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for word in text.split_inclusive(' ') {
        chunks.push(chunk(json!({"content": word}), Value::Null));
    }
    for (i, call) in calls.iter().enumerate() {
        let arguments = call["function"]["arguments"].as_str().unwrap();
        let (first, second) = arguments.split_at(arguments.len() / 2);
        chunks.push(chunk(
            json!({"tool_calls": [{"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": first}}]}),
            Value::Null,
        ));
        chunks.push(chunk(
            json!({"tool_calls": [{"index": i, "function": {"arguments": second}}]}),
            Value::Null,
        ));
    }
    chunks.push(chunk(json!({}), json!(finish)));
    chunks.push(format!(
        "data: {}\n\n",
        json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "choices": [], "usage": usage})
    ));
    chunks.push("data: [DONE]\n\n".to_string());
    sse_response(chunks, shared.chunk_delay)
}

/// Rejects what Anthropic rejects: roles that do not alternate, a first
/// message not from the user, a tool_result not answering the previous
/// assistant turn's tool_use, a tool_use left without its result.
fn anthropic_history_error(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    if messages.first().is_none_or(|m| m["role"] != "user") {
        return Some("messages: first message must use the \"user\" role".into());
    }
    let mut pending: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        if i > 0 && messages[i - 1]["role"] == message["role"] {
            return Some(
                "messages: roles must alternate between \"user\" and \"assistant\"".into(),
            );
        }
        let blocks = message["content"].as_array()?;
        if message["role"] == "user" {
            let results: Vec<String> = blocks
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .map(|b| b["tool_use_id"].as_str().unwrap_or_default().to_string())
                .collect();
            if results != pending {
                return Some(format!(
                    "messages.{i}: tool_use ids were found without tool_result blocks immediately after"
                ));
            }
            pending.clear();
        } else {
            if blocks
                .iter()
                .any(|b| b["type"] == "text" && b["text"] == "")
            {
                return Some("messages: text content blocks must be non-empty".into());
            }
            pending = blocks
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| b["id"].as_str().unwrap_or_default().to_string())
                .collect();
        }
    }
    (!pending.is_empty())
        .then(|| "tool_use ids were found without tool_result blocks immediately after".into())
}

async fn anthropic_messages(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared.log.lock().unwrap().push(Received {
        headers: headers.clone(),
        body: body.clone(),
    });
    let error = |status: u16, kind: &str, message: &str| {
        error_response(
            status,
            json!({"type": "error", "error": {"type": kind, "message": message}}),
            None,
        )
    };
    if headers
        .get("anthropic-version")
        .is_none_or(|v| v != "2023-06-01")
    {
        return error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    if headers.get("x-api-key").is_none_or(|v| v != "sk-ant-test") {
        return error(401, "authentication_error", "invalid x-api-key");
    }
    if body["max_tokens"].as_u64().is_none() {
        return error(400, "invalid_request_error", "max_tokens: Field required");
    }
    if let Some(problem) = anthropic_history_error(&body) {
        return error(400, "invalid_request_error", &problem);
    }
    let reply = settle((shared.script)(&body)).await;
    let round = shared.log.lock().unwrap().len();
    let (text, calls, stop) = match reply {
        Scripted::Error(status, message, _) => return error(status, "overloaded_error", &message),
        Scripted::Garbage => return (StatusCode::OK, "not json").into_response(),
        Scripted::Text(text) => (text, vec![], "end_turn"),
        Scripted::Length(text) => (text, vec![], "max_tokens"),
        Scripted::ToolCalls(calls) => (String::new(), calls, "tool_use"),
        Scripted::Slow(..) => unreachable!(),
    };
    let tool_blocks: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, input))| json!({"type": "tool_use", "id": format!("toolu_{round}_{i}"), "name": name, "input": input}))
        .collect();
    if body["stream"] != true {
        let mut content = Vec::new();
        if !text.is_empty() {
            content.push(json!({"type": "text", "text": text}));
        }
        content.extend(tool_blocks);
        return Json(json!({
            "id": "msg_123", "type": "message", "role": "assistant", "model": body["model"], "content": content,
            "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 30, "output_tokens": 9}
        }))
        .into_response();
    }
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut chunks = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_123", "type": "message", "role": "assistant", "content": [], "model": body["model"], "stop_reason": null, "usage": {"input_tokens": 30, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    if !text.is_empty() {
        chunks.push(event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
        chunks.push(event("ping", json!({"type": "ping"})));
        for word in text.split_inclusive(' ') {
            chunks.push(event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}})));
        }
        chunks.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        index = 1;
    }
    for block in &tool_blocks {
        chunks.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}),
        ));
        let input = block["input"].to_string();
        let (first, second) = input.split_at(input.len() / 2);
        for part in [first, second] {
            chunks.push(event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}})));
        }
        chunks.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    chunks.push(event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 9}})));
    chunks.push(event("message_stop", json!({"type": "message_stop"})));
    sse_response(chunks, shared.chunk_delay)
}
