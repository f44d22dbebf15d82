//! Model providers behind one trait. An agent names its model as
//! `provider/model`; [`Models`] routes each call to the provider's adapter:
//! `builtin` (offline, deterministic), `openai` (any OpenAI-compatible Chat
//! Completions server), `ollama` (the same adapter, preset to a local
//! Ollama) and `anthropic` (the Messages API).
//!
//! A call sends the instructions, the conversation (user, assistant and tool
//! turns) and the tools the model may call; it returns the assistant's text,
//! any tool calls, usage and why it stopped. With a delta sink the adapter
//! streams and reports text as it arrives.

pub mod anthropic;
pub mod builtin;
pub mod catalog;
pub mod openai;
pub mod retry;
mod sse;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::config::Config;
use crate::error::{Error, Result};
use retry::RetryPolicy;

/// Who said a message of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

impl Role {
    /// `user`, `assistant` or `tool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A call the model asked for: which tool, with which JSON arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolCall {
    /// The provider's call id (`call_…`, `toolu_…`), echoed by the result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments object the model produced.
    pub arguments: Value,
}

/// One turn of the conversation given to a model.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    User {
        content: String,
    },
    Assistant {
        content: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering `call_id`.
    ToolResult {
        call_id: String,
        name: String,
        content: String,
        is_error: bool,
    },
}

impl Turn {
    /// The text of the turn (for token estimates).
    pub fn text(&self) -> &str {
        match self {
            Turn::User { content }
            | Turn::Assistant { content, .. }
            | Turn::ToolResult { content, .. } => content,
        }
    }
}

/// A tool offered to the model: name, description and JSON Schema of the
/// arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// Tokens a model call consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// Why an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer.
    EndTurn,
    /// The model asked for tool calls (internal to the tool loop).
    ToolUse,
    /// The tool-call round cap was reached.
    MaxSteps,
    /// The model hit its output token limit.
    MaxTokens,
    /// The answer was cancelled.
    Cancelled,
    /// The answer failed.
    Error,
}

/// What the model is shown: instructions, conversation and tools.
#[derive(Clone, Copy)]
pub struct Prompt<'a> {
    /// The agent's instructions (the system prompt).
    pub instructions: &'a str,
    /// The conversation so far, oldest first.
    pub turns: &'a [Turn],
    /// Tools declared to the model (history may refer to them).
    pub tools: &'a [ToolSpec],
    /// Whether the model may call tools now; `false` asks for a final
    /// answer (`tool_choice: none`).
    pub tools_allowed: bool,
}

/// What a provider is asked: a prompt for one of its models.
pub struct ModelRequest<'a> {
    /// The model's own name, after `provider/`.
    pub model: &'a str,
    pub prompt: Prompt<'a>,
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub stop_reason: StopReason,
}

/// Receives text as a streaming provider produces it.
pub type DeltaSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// A failed model call. `retryable` calls may succeed if made again, after
/// `retry_after` when the provider said so.
#[derive(Debug, Clone)]
pub struct ModelError {
    pub message: String,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
}

impl ModelError {
    /// A failure that making the same call again will not fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        ModelError {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }
}

/// One model provider. Error messages are one-line reasons safe to show the
/// caller (no secrets); they surface as `502 model_error`.
#[async_trait]
pub trait ModelProvider: Send + Sync {
    /// Asks for the next assistant turn. With `sink`, streams: each piece of
    /// text is passed to it as it arrives, and the reply still carries the
    /// whole text.
    async fn complete(
        &self,
        request: &ModelRequest<'_>,
        sink: Option<DeltaSink<'_>>,
    ) -> std::result::Result<ModelReply, ModelError>;
}

/// The configured providers and the server's default model.
pub struct Models {
    default_model: String,
    builtin: builtin::BuiltinModel,
    openai: openai::OpenAiCompatible,
    ollama: openai::OpenAiCompatible,
    anthropic: anthropic::Anthropic,
    retry: RetryPolicy,
    catalog: catalog::Catalog,
}

/// Providers this server knows, as written before the `/`.
pub const PROVIDERS: &[&str] = &["builtin", "openai", "ollama", "anthropic"];

impl Models {
    /// Builds the providers from the configuration.
    ///
    /// Errors: a default model that is not a valid `provider/model`; a bad
    /// context window setting.
    pub fn from_config(config: &Config) -> anyhow::Result<Models> {
        let timeout = Duration::from_secs(config.model_timeout_seconds);
        let models = Models {
            default_model: config.default_model.clone(),
            builtin: builtin::BuiltinModel,
            openai: openai::OpenAiCompatible::new(
                &config.openai_base_url,
                config.openai_api_key.clone(),
                timeout,
            )?,
            ollama: openai::OpenAiCompatible::new(
                &format!("{}/v1", config.ollama_base_url.trim_end_matches('/')),
                None,
                timeout,
            )?,
            anthropic: anthropic::Anthropic::new(
                &config.anthropic_base_url,
                config.anthropic_api_key.clone(),
                timeout,
            )?,
            retry: RetryPolicy::new(config.model_max_retries),
            catalog: catalog::Catalog::from_config(config)?,
        };
        models
            .check(&models.default_model)
            .map_err(|reason| anyhow::anyhow!("invalid default model: {reason}"))?;
        Ok(models)
    }

    /// The model of agents that name none.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// The models this server offers (`GET /v1/models`).
    pub fn catalog(&self) -> &catalog::Catalog {
        &self.catalog
    }

    /// Checks that `model` is `provider/name` with a provider this server
    /// has; for `builtin`, that the variant exists.
    pub fn check(&self, model: &str) -> std::result::Result<(), String> {
        let Some((provider, name)) = model.split_once('/') else {
            return Err(format!(
                "model must be 'provider/model' (for example 'builtin/assistant' or 'openai/gpt-4o-mini'), got '{model}'"
            ));
        };
        if name.is_empty() || name.len() > 200 {
            return Err("the model name after 'provider/' must be 1 to 200 characters".into());
        }
        match provider {
            "builtin" if builtin::VARIANTS.contains(&name) => Ok(()),
            "builtin" => Err(format!(
                "unknown builtin model '{name}'; known: {}",
                builtin::VARIANTS.join(", ")
            )),
            p if PROVIDERS.contains(&p) => Ok(()),
            other => Err(format!(
                "unknown model provider '{other}'; known: {}",
                PROVIDERS.join(", ")
            )),
        }
    }

    /// Asks `model` (`provider/name`) for the next assistant turn, retrying
    /// rate limits and server errors as the retry policy allows (never once
    /// text has been streamed).
    ///
    /// Errors: `502 model_error` when the provider fails or times out;
    /// `400` for a model this server does not have.
    pub async fn complete(
        &self,
        model: &str,
        prompt: Prompt<'_>,
        mut sink: Option<DeltaSink<'_>>,
    ) -> Result<ModelReply> {
        self.check(model)
            .map_err(|reason| Error::invalid("model", reason))?;
        let (provider_name, name) = model.split_once('/').unwrap_or_default();
        let provider: &dyn ModelProvider = match provider_name {
            "builtin" => &self.builtin,
            "openai" => &self.openai,
            "anthropic" => &self.anthropic,
            _ => &self.ollama,
        };
        let request = ModelRequest {
            model: name,
            prompt,
        };
        let mut attempt = 0;
        loop {
            let mut streamed = false;
            let result = match sink.as_deref_mut() {
                Some(sink) => {
                    let mut tracking = |delta: &str| {
                        streamed = true;
                        sink(delta);
                    };
                    provider.complete(&request, Some(&mut tracking)).await
                }
                None => provider.complete(&request, None).await,
            };
            match result {
                Ok(mut reply) => {
                    if !prompt.tools_allowed {
                        reply.tool_calls.clear();
                    }
                    return Ok(reply);
                }
                Err(err) => match self.retry.delay(attempt, &err) {
                    Some(delay) if !streamed => {
                        tracing::warn!(model, attempt, reason = %err.message, "retrying the model call");
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    _ => {
                        return Err(Error::Model(format!(
                            "The model '{model}' failed: {}",
                            err.message
                        )));
                    }
                },
            }
        }
    }
}

/// A rough token count (≈4 characters a token) for providers that report
/// none, such as the builtin model, and for fitting the context window.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}
