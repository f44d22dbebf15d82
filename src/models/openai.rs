//! Adapter for the OpenAI Chat Completions API (`POST {base}/chat/completions`),
//! which OpenAI, Ollama, vLLM, llama.cpp's server and LiteLLM all speak.
//! A thin reqwest adapter rather than a typed client crate: compatible
//! servers differ in small ways (missing `usage`, extra fields, `null`
//! content) that strict clients reject, and FAOS owns timeouts and error
//! text.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{ModelProvider, ModelReply, ModelRequest, Role, StopReason, Usage, estimate_tokens};

/// Longest provider error text passed on to the caller, in characters.
const MAX_ERROR_CHARS: usize = 300;

/// One OpenAI-compatible server.
pub struct OpenAiCompatible {
    endpoint: String,
    api_key: Option<String>,
    http: reqwest::Client,
    timeout: Duration,
}

impl OpenAiCompatible {
    /// `base_url` is the API root, e.g. `https://api.openai.com/v1`.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> anyhow::Result<Self> {
        Ok(OpenAiCompatible {
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            timeout,
        })
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<CompletionUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct CompletionUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

#[async_trait]
impl ModelProvider for OpenAiCompatible {
    async fn complete(&self, request: &ModelRequest<'_>) -> Result<ModelReply, String> {
        let mut messages = Vec::with_capacity(request.turns.len() + 1);
        if !request.instructions.is_empty() {
            messages.push(json!({"role": "system", "content": request.instructions}));
        }
        for turn in request.turns {
            let role = match turn.role {
                Role::Tool => "tool",
                Role::Assistant => "assistant",
                Role::User => "user",
            };
            messages.push(json!({"role": role, "content": turn.content}));
        }
        let body = json!({"model": request.model, "messages": messages});
        let mut call = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call
            .send()
            .await
            .map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| self.transport_error(&err))?;
        if !status.is_success() {
            return Err(format!(
                "the provider answered HTTP {}: {}",
                status.as_u16(),
                provider_message(&text)
            ));
        }
        let completion: Completion = serde_json::from_str(&text)
            .map_err(|err| format!("the provider's answer is not a chat completion: {err}"))?;
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or("the provider's answer has no choices")?;
        let content = choice.message.content.unwrap_or_default();
        let usage = completion.usage.map_or_else(
            || Usage {
                input_tokens: 0,
                output_tokens: estimate_tokens(&content),
            },
            |u| Usage {
                input_tokens: u.prompt_tokens.unwrap_or(0),
                output_tokens: u.completion_tokens.unwrap_or(0),
            },
        );
        let stop_reason = match choice.finish_reason.as_deref() {
            Some("length") => StopReason::MaxTokens,
            _ => StopReason::EndTurn,
        };
        Ok(ModelReply {
            content,
            usage,
            stop_reason,
        })
    }
}

impl OpenAiCompatible {
    fn transport_error(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            format!(
                "the provider did not answer within {} s",
                self.timeout.as_secs()
            )
        } else if err.is_connect() {
            "could not connect to the provider".to_string()
        } else {
            "the connection to the provider failed".to_string()
        }
    }
}

/// The `error.message` of an OpenAI-style error body, else the start of the
/// body, shortened.
fn provider_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/error"))
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| body.trim().to_string());
    let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
    if message.is_empty() {
        "(no error message)".to_string()
    } else {
        message
    }
}
