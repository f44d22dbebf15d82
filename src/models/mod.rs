//! Model providers behind one trait. An agent names its model as
//! `provider/model`; [`Models`] routes each call to the provider's adapter:
//! `builtin` (offline, deterministic), `openai` (any OpenAI-compatible Chat
//! Completions server) and `ollama` (the same adapter, preset to a local
//! Ollama).

pub mod builtin;
pub mod openai;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Config;
use crate::error::{Error, Result};

/// Who said a turn of the conversation, as sent to a model.
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

/// One turn of the conversation given to a model.
#[derive(Debug, Clone)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

/// Tokens a model call consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Why an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer.
    EndTurn,
    /// The tool-call round cap was reached.
    MaxSteps,
    /// The model hit its output token limit.
    MaxTokens,
    /// The answer was cancelled.
    Cancelled,
    /// The answer failed.
    Error,
}

/// What a provider is asked: the model's own name (after `provider/`), the
/// agent's instructions (the system prompt) and the conversation so far,
/// oldest first, ending with the user's new message.
pub struct ModelRequest<'a> {
    pub model: &'a str,
    pub instructions: &'a str,
    pub turns: &'a [Turn],
}

/// A provider's answer.
#[derive(Debug, Clone)]
pub struct ModelReply {
    pub content: String,
    pub usage: Usage,
    pub stop_reason: StopReason,
}

/// One model provider. Errors are one-line reasons safe to show the caller
/// (no secrets); they surface as `502 model_error`.
#[async_trait]
pub trait ModelProvider: Send + Sync {
    async fn complete(&self, request: &ModelRequest<'_>)
    -> std::result::Result<ModelReply, String>;
}

/// The configured providers and the server's default model.
pub struct Models {
    default_model: String,
    builtin: builtin::BuiltinModel,
    openai: openai::OpenAiCompatible,
    ollama: openai::OpenAiCompatible,
}

impl Models {
    /// Builds the providers from the configuration.
    ///
    /// Errors: a default model that is not a valid `provider/model`.
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
            "openai" | "ollama" => Ok(()),
            other => Err(format!(
                "unknown model provider '{other}'; known: builtin, openai, ollama"
            )),
        }
    }

    /// Asks `model` (`provider/name`) for the next assistant turn.
    ///
    /// Errors: `502 model_error` when the provider fails or times out;
    /// `400` for a model this server does not have.
    pub async fn complete(
        &self,
        model: &str,
        instructions: &str,
        turns: &[Turn],
    ) -> Result<ModelReply> {
        self.check(model)
            .map_err(|reason| Error::invalid("model", reason))?;
        let (provider_name, name) = model.split_once('/').unwrap_or_default();
        let provider: &dyn ModelProvider = match provider_name {
            "builtin" => &self.builtin,
            "openai" => &self.openai,
            _ => &self.ollama,
        };
        let request = ModelRequest {
            model: name,
            instructions,
            turns,
        };
        provider
            .complete(&request)
            .await
            .map_err(|reason| Error::Model(format!("The model '{model}' failed: {reason}")))
    }
}

/// A rough token count (≈4 characters a token) for providers that report
/// none, such as the builtin model.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}
