//! The models this server offers (`GET /v1/models`) and each model's
//! context window, in tokens.
//!
//! Listed: the builtin models always; `openai/…` when an OpenAI key or a
//! non-default base URL is configured; `anthropic/…` when an Anthropic key
//! is configured; `ollama/…` for the names in `FAOS_OLLAMA_MODELS`. The
//! names come from `FAOS_OPENAI_MODELS`, `FAOS_ANTHROPIC_MODELS` and
//! `FAOS_OLLAMA_MODELS` (comma-separated). Context windows come from
//! `FAOS_MODEL_CONTEXT_WINDOWS` (`provider/model=tokens,…`), else a table of
//! well-known models, else [`DEFAULT_CONTEXT_WINDOW`].

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::builtin;
use crate::config::Config;

/// Window assumed for a model nothing else describes, in tokens.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 8_192;

/// Windows of well-known model families, by name prefix (longest first).
const KNOWN_WINDOWS: &[(&str, u64)] = &[
    ("builtin/", 8_192),
    ("openai/gpt-4.1", 1_047_576),
    ("openai/gpt-4o", 128_000),
    ("openai/gpt-5", 400_000),
    ("openai/o1", 200_000),
    ("openai/o3", 200_000),
    ("openai/o4", 200_000),
    ("openai/gpt-3.5-turbo", 16_385),
    ("anthropic/claude-", 200_000),
];

/// One model as `GET /v1/models` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "model")]
pub struct ModelInfo {
    /// `provider/model`, as agents name it.
    pub id: String,
    pub provider: String,
    /// Tokens of instructions, history and answer the model takes at once.
    pub context_window: u64,
}

/// The model list and window table.
pub struct Catalog {
    models: Vec<ModelInfo>,
    windows: HashMap<String, u64>,
}

impl Catalog {
    /// Builds the catalog from the configuration.
    ///
    /// Errors: a `FAOS_MODEL_CONTEXT_WINDOWS` entry that is not
    /// `provider/model=tokens` with a positive number.
    pub fn from_config(config: &Config) -> anyhow::Result<Catalog> {
        let mut windows = HashMap::new();
        for entry in split(&config.model_context_windows) {
            let (model, tokens) = entry
                .split_once('=')
                .and_then(|(m, t)| {
                    Some((m.trim(), t.trim().parse::<u64>().ok().filter(|t| *t > 0)?))
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "invalid context window '{entry}': expected provider/model=tokens"
                    )
                })?;
            windows.insert(model.to_string(), tokens);
        }
        let mut catalog = Catalog {
            models: Vec::new(),
            windows,
        };
        let mut names: Vec<(&str, String)> = builtin::VARIANTS
            .iter()
            .map(|v| ("builtin", v.to_string()))
            .collect();
        let openai_configured = config
            .openai_api_key
            .as_deref()
            .is_some_and(|k| !k.is_empty())
            || config.openai_base_url != Config::default().openai_base_url;
        if openai_configured {
            names.extend(split(&config.openai_models).map(|m| ("openai", m.to_string())));
        }
        if config
            .anthropic_api_key
            .as_deref()
            .is_some_and(|k| !k.is_empty())
        {
            names.extend(split(&config.anthropic_models).map(|m| ("anthropic", m.to_string())));
        }
        names.extend(split(&config.ollama_models).map(|m| ("ollama", m.to_string())));
        catalog.models = names
            .into_iter()
            .map(|(provider, name)| {
                let id = format!("{provider}/{name}");
                ModelInfo {
                    context_window: catalog.context_window(&id),
                    id,
                    provider: provider.to_string(),
                }
            })
            .collect();
        Ok(catalog)
    }

    /// Every offered model.
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// The context window of `model` (`provider/name`), in tokens.
    pub fn context_window(&self, model: &str) -> u64 {
        if let Some(tokens) = self.windows.get(model) {
            return *tokens;
        }
        KNOWN_WINDOWS
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(DEFAULT_CONTEXT_WINDOW, |(_, tokens)| *tokens)
    }
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_come_from_configuration_then_the_table() {
        let config = Config {
            model_context_windows: "ollama/llama3.2=4096, openai/gpt-4o-mini=1000".into(),
            ..Config::default()
        };
        let catalog = Catalog::from_config(&config).unwrap();
        assert_eq!(catalog.context_window("ollama/llama3.2"), 4096);
        assert_eq!(catalog.context_window("openai/gpt-4o-mini"), 1000);
        assert_eq!(catalog.context_window("openai/gpt-4o"), 128_000);
        assert_eq!(
            catalog.context_window("anthropic/claude-sonnet-4-5"),
            200_000
        );
        assert_eq!(
            catalog.context_window("ollama/other"),
            DEFAULT_CONTEXT_WINDOW
        );
        let ids: Vec<&str> = catalog.models().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["builtin/assistant", "builtin/echo"],
            "unconfigured providers are not listed"
        );
        let bad = Config {
            model_context_windows: "x=0".into(),
            ..Config::default()
        };
        assert!(Catalog::from_config(&bad).is_err());
    }
}
