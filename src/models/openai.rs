//! Adapter for the OpenAI Chat Completions API (`POST {base}/chat/completions`),
//! which OpenAI, Ollama, vLLM, llama.cpp's server and LiteLLM all speak,
//! with tool calls (`tools`, `tool_calls`, `role: tool`) and streaming
//! (`stream: true`, `stream_options.include_usage`).
//!
//! A thin reqwest adapter rather than a typed client crate: compatible
//! servers differ in small ways (missing `usage`, extra fields, `null`
//! content) that strict clients reject, and FAOS owns retries, timeouts and
//! error text.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::sse;
use super::{
    DeltaSink, ModelError, ModelProvider, ModelReply, ModelRequest, StopReason, ToolCall, Turn,
    Usage, estimate_tokens,
};

/// One OpenAI-compatible server.
pub struct OpenAiCompatible {
    endpoint: sse::ProviderEndpoint,
}

impl OpenAiCompatible {
    /// `base_url` is the API root, e.g. `https://api.openai.com/v1`.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        Ok(OpenAiCompatible {
            endpoint: sse::ProviderEndpoint::new(base_url, "/chat/completions", api_key, timeout)?,
        })
    }

    fn body(&self, request: &ModelRequest<'_>, stream: bool) -> Value {
        let mut messages = Vec::with_capacity(request.prompt.turns.len() + 1);
        let prompt = &request.prompt;
        if !prompt.instructions.is_empty() {
            messages.push(json!({"role": "system", "content": prompt.instructions}));
        }
        messages.extend(prompt.turns.iter().map(wire_message));
        let mut body = json!({"model": request.model, "messages": messages});
        if !prompt.tools.is_empty() {
            if !prompt.tools_allowed {
                body["tool_choice"] = json!("none");
            }
            body["tools"] = prompt
                .tools
                .iter()
                .map(|tool| {
                    json!({"type": "function", "function": {
                        "name": tool.name, "description": tool.description, "parameters": tool.parameters
                    }})
                })
                .collect();
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }
}

fn wire_message(turn: &Turn) -> Value {
    match turn {
        Turn::User { content } => json!({"role": "user", "content": content}),
        Turn::Assistant {
            content,
            tool_calls,
        } if tool_calls.is_empty() => {
            json!({"role": "assistant", "content": content})
        }
        Turn::Assistant {
            content,
            tool_calls,
        } => json!({
            "role": "assistant",
            "content": if content.is_empty() { Value::Null } else { json!(content) },
            "tool_calls": tool_calls.iter().map(|call| json!({
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments.to_string()}
            })).collect::<Vec<_>>()
        }),
        Turn::ToolResult {
            call_id, content, ..
        } => {
            json!({"role": "tool", "tool_call_id": call_id, "content": content})
        }
    }
}

#[async_trait]
impl ModelProvider for OpenAiCompatible {
    async fn complete(
        &self,
        request: &ModelRequest<'_>,
        sink: Option<DeltaSink<'_>>,
    ) -> Result<ModelReply, ModelError> {
        let mut call = self
            .endpoint
            .http
            .post(&self.endpoint.url)
            .json(&self.body(request, sink.is_some()));
        if let Some(key) = &self.endpoint.api_key {
            call = call.bearer_auth(key);
        }
        let response = sse::send(call, self.endpoint.timeout).await?;
        match sink {
            Some(sink) => self.read_stream(response, sink).await,
            None => {
                let text = response
                    .text()
                    .await
                    .map_err(|e| sse::transport_error(&e, self.endpoint.timeout))?;
                parse_completion(&text)
            }
        }
    }
}

impl OpenAiCompatible {
    async fn read_stream(
        &self,
        response: reqwest::Response,
        sink: DeltaSink<'_>,
    ) -> Result<ModelReply, ModelError> {
        let mut content = String::new();
        let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
        let mut usage = None;
        let mut finish = None;
        let mut events = std::pin::pin!(sse::events(response));
        while let Some(event) = events.next().await {
            let event = event?;
            if event.data.trim() == "[DONE]" {
                break;
            }
            let chunk: Value = sse::provider_json(&event.data).map_err(|err| {
                ModelError::fatal(format!(
                    "the provider's stream is not chat completion chunks: {err}"
                ))
            })?;
            if let Some(error) = chunk.get("error") {
                return Err(ModelError::fatal(format!(
                    "the provider reported an error mid-stream: {}",
                    sse::provider_message(&json!({"error": error}).to_string())
                )));
            }
            if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
                usage = Some(read_usage(u));
            }
            let Some(choice) = chunk["choices"].get(0) else {
                continue;
            };
            if let Some(text) = choice["delta"]["content"]
                .as_str()
                .filter(|t| !t.is_empty())
            {
                content.push_str(text);
                sink(text);
            }
            for delta in choice["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let index = delta["index"].as_u64().unwrap_or(0);
                let entry = calls.entry(index).or_default();
                if let Some(id) = delta["id"].as_str() {
                    entry.0 = id.to_string();
                }
                if let Some(name) = delta["function"]["name"].as_str() {
                    entry.1.push_str(name);
                }
                if let Some(arguments) = delta["function"]["arguments"].as_str() {
                    entry.2.push_str(arguments);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                finish = Some(reason.to_string());
            }
        }
        let tool_calls: Vec<ToolCall> = calls
            .into_values()
            .map(|(id, name, arguments)| ToolCall {
                id,
                name,
                arguments: sse::parse_arguments(&arguments),
            })
            .collect();
        let usage = usage.unwrap_or(Usage {
            input_tokens: 0,
            output_tokens: estimate_tokens(&content),
        });
        Ok(ModelReply {
            stop_reason: stop_reason(finish.as_deref(), !tool_calls.is_empty()),
            content,
            tool_calls,
            usage,
        })
    }
}

/// Parses a non-streaming chat completion.
fn parse_completion(text: &str) -> Result<ModelReply, ModelError> {
    let completion: Value = sse::provider_json(text).map_err(|err| {
        ModelError::fatal(format!(
            "the provider's answer is not a chat completion: {err}"
        ))
    })?;
    let choice = completion["choices"].get(0).ok_or_else(|| {
        ModelError::fatal("the provider's answer is not a chat completion: it has no choices")
    })?;
    let content = choice["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let tool_calls: Vec<ToolCall> = choice["message"]["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|call| ToolCall {
            id: call["id"].as_str().unwrap_or_default().to_string(),
            name: call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            arguments: sse::parse_arguments(
                call["function"]["arguments"].as_str().unwrap_or_default(),
            ),
        })
        .collect();
    let usage = match completion.get("usage").filter(|u| u.is_object()) {
        Some(u) => read_usage(u),
        None => Usage {
            input_tokens: 0,
            output_tokens: estimate_tokens(&content),
        },
    };
    Ok(ModelReply {
        stop_reason: stop_reason(choice["finish_reason"].as_str(), !tool_calls.is_empty()),
        content,
        tool_calls,
        usage,
    })
}

fn read_usage(usage: &Value) -> Usage {
    Usage {
        input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
    }
}

fn stop_reason(finish: Option<&str>, has_tool_calls: bool) -> StopReason {
    match finish {
        _ if has_tool_calls => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        _ => StopReason::EndTurn,
    }
}
