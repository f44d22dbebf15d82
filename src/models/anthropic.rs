//! Adapter for the Anthropic Messages API (`POST {base}/v1/messages`,
//! `anthropic-version: 2023-06-01`) with tool use (`tool_use` and
//! `tool_result` content blocks) and streaming (`message_start`,
//! `content_block_*`, `message_delta`, `message_stop` events).
//!
//! A thin reqwest adapter: no maintained Rust client covers the Messages API
//! with streaming tool use on this toolchain without pulling in a second
//! HTTP stack.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::sse;
use super::{
    DeltaSink, ModelError, ModelProvider, ModelReply, ModelRequest, StopReason, ToolCall, Turn,
    Usage,
};

/// The API version FAOS speaks.
const API_VERSION: &str = "2023-06-01";
/// Output cap sent with every request (the API requires one).
const MAX_OUTPUT_TOKENS: u32 = 4096;

/// The Anthropic provider.
pub struct Anthropic {
    endpoint: sse::ProviderEndpoint,
}

impl Anthropic {
    /// `base_url` is the API root without `/v1`, e.g. `https://api.anthropic.com`.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Anthropic {
            endpoint: sse::ProviderEndpoint::new(base_url, "/v1/messages", api_key, timeout)?,
        })
    }

    fn body(&self, request: &ModelRequest<'_>, stream: bool) -> Value {
        let prompt = &request.prompt;
        let mut body = json!({
            "model": request.model,
            "max_tokens": MAX_OUTPUT_TOKENS,
            "messages": wire_messages(prompt.turns),
        });
        if !prompt.instructions.is_empty() {
            body["system"] = json!(prompt.instructions);
        }
        if !prompt.tools.is_empty() {
            if !prompt.tools_allowed {
                body["tool_choice"] = json!({"type": "none"});
            }
            body["tools"] = prompt
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
        }
        if stream {
            body["stream"] = json!(true);
        }
        body
    }
}

/// The Messages API wants alternating user/assistant messages of content
/// blocks; tool results travel in user messages, so consecutive turns of
/// one side are merged.
fn wire_messages(turns: &[Turn]) -> Vec<Value> {
    let mut messages: Vec<(&str, Vec<Value>)> = Vec::new();
    for turn in turns {
        let (role, blocks) = match turn {
            Turn::User { content } => ("user", vec![json!({"type": "text", "text": content})]),
            Turn::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks = Vec::new();
                if !content.is_empty() {
                    blocks.push(json!({"type": "text", "text": content}));
                }
                blocks.extend(tool_calls.iter().map(|c| {
                    let input = if c.arguments.is_object() {
                        c.arguments.clone()
                    } else {
                        json!({})
                    };
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
                }));
                ("assistant", blocks)
            }
            Turn::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => (
                "user",
                vec![
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}),
                ],
            ),
        };
        match messages.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    messages
        .into_iter()
        .filter(|(_, blocks)| !blocks.is_empty())
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

#[async_trait]
impl ModelProvider for Anthropic {
    async fn complete(
        &self,
        request: &ModelRequest<'_>,
        sink: Option<DeltaSink<'_>>,
    ) -> Result<ModelReply, ModelError> {
        let mut call = self
            .endpoint
            .http
            .post(&self.endpoint.url)
            .header("anthropic-version", API_VERSION)
            .json(&self.body(request, sink.is_some()));
        if let Some(key) = &self.endpoint.api_key {
            call = call.header("x-api-key", key);
        }
        let response = sse::send(call, self.endpoint.timeout).await?;
        match sink {
            Some(sink) => read_stream(response, sink).await,
            None => {
                let text = response
                    .text()
                    .await
                    .map_err(|e| sse::transport_error(&e, self.endpoint.timeout))?;
                parse_message(&text)
            }
        }
    }
}

fn parse_message(text: &str) -> Result<ModelReply, ModelError> {
    let message: Value = sse::provider_json(text).map_err(|err| {
        ModelError::fatal(format!("the provider's answer is not a message: {err}"))
    })?;
    let blocks = message["content"].as_array().ok_or_else(|| {
        ModelError::fatal("the provider's answer is not a message: it has no content")
    })?;
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block["type"].as_str() {
            Some("text") => content.push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_string(),
                name: block["name"].as_str().unwrap_or_default().to_string(),
                arguments: block["input"].clone(),
            }),
            _ => {}
        }
    }
    Ok(ModelReply {
        stop_reason: stop_reason(message["stop_reason"].as_str(), !tool_calls.is_empty()),
        usage: Usage {
            input_tokens: message["usage"]["input_tokens"].as_u64().unwrap_or(0),
            output_tokens: message["usage"]["output_tokens"].as_u64().unwrap_or(0),
        },
        content,
        tool_calls,
    })
}

async fn read_stream(
    response: reqwest::Response,
    sink: DeltaSink<'_>,
) -> Result<ModelReply, ModelError> {
    let mut content = String::new();
    // Tool-use blocks by index: id, name, partial JSON.
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    let mut usage = Usage::default();
    let mut finish = None;
    let mut events = std::pin::pin!(sse::events(response));
    while let Some(event) = events.next().await {
        let event = event?;
        let data: Value = match sse::provider_json(&event.data) {
            Ok(data) => data,
            Err(_) if event.data.trim().is_empty() => continue,
            Err(err) => {
                return Err(ModelError::fatal(format!(
                    "the provider's stream is not message events: {err}"
                )));
            }
        };
        match data["type"].as_str().unwrap_or(event.event.as_str()) {
            "message_start" => {
                usage.input_tokens = data["message"]["usage"]["input_tokens"]
                    .as_u64()
                    .unwrap_or(0);
                usage.output_tokens = data["message"]["usage"]["output_tokens"]
                    .as_u64()
                    .unwrap_or(0);
            }
            "content_block_start" if data["content_block"]["type"] == "tool_use" => {
                let block = &data["content_block"];
                calls.insert(
                    data["index"].as_u64().unwrap_or(0),
                    (
                        block["id"].as_str().unwrap_or_default().to_string(),
                        block["name"].as_str().unwrap_or_default().to_string(),
                        String::new(),
                    ),
                );
            }
            "content_block_delta" => {
                let delta = &data["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        let text = delta["text"].as_str().unwrap_or_default();
                        if !text.is_empty() {
                            content.push_str(text);
                            sink(text);
                        }
                    }
                    Some("input_json_delta") => {
                        if let Some(call) = calls.get_mut(&data["index"].as_u64().unwrap_or(0)) {
                            call.2
                                .push_str(delta["partial_json"].as_str().unwrap_or_default());
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    finish = Some(reason.to_string());
                }
                if let Some(output) = data["usage"]["output_tokens"].as_u64() {
                    usage.output_tokens = output;
                }
            }
            "error" => {
                let overloaded = data["error"]["type"] == "overloaded_error";
                return Err(ModelError {
                    message: format!(
                        "the provider reported an error mid-stream: {}",
                        sse::provider_message(&data.to_string())
                    ),
                    retryable: overloaded,
                    retry_after: None,
                });
            }
            "message_stop" => break,
            _ => {}
        }
    }
    let tool_calls: Vec<ToolCall> = calls
        .into_values()
        .map(|(id, name, json)| ToolCall {
            id,
            name,
            arguments: sse::parse_arguments(&json),
        })
        .collect();
    Ok(ModelReply {
        stop_reason: stop_reason(finish.as_deref(), !tool_calls.is_empty()),
        content,
        tool_calls,
        usage,
    })
}

fn stop_reason(reason: Option<&str>, has_tool_calls: bool) -> StopReason {
    match reason {
        _ if has_tool_calls => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        _ => StopReason::EndTurn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_merge_into_one_user_message() {
        let turns = vec![
            Turn::User {
                content: "time?".into(),
            },
            Turn::Assistant {
                content: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: "t1".into(),
                        name: "a".into(),
                        arguments: json!({}),
                    },
                    ToolCall {
                        id: "t2".into(),
                        name: "b".into(),
                        arguments: json!({"x": 1}),
                    },
                ],
            },
            Turn::ToolResult {
                call_id: "t1".into(),
                name: "a".into(),
                content: "1".into(),
                is_error: false,
            },
            Turn::ToolResult {
                call_id: "t2".into(),
                name: "b".into(),
                content: "oops".into(),
                is_error: true,
            },
        ];
        let wire = wire_messages(&turns);
        assert_eq!(wire.len(), 3);
        assert_eq!(wire[1]["content"][1]["input"], json!({"x": 1}));
        assert_eq!(wire[2]["role"], "user");
        assert_eq!(wire[2]["content"].as_array().unwrap().len(), 2);
        assert_eq!(wire[2]["content"][1]["is_error"], true);
    }
}
