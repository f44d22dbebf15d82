//! Settings: defaults < `faos.toml` < `FAOS_*` environment < command-line
//! flags (CONTRACT §1). Read once at start and passed down; never global.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting of a FAOS process. Field names are the `faos.toml` keys;
/// the environment variable of each is `FAOS_` + the name in upper case.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address `serve` listens on, `host:port`.
    #[serde(deserialize_with = "text")]
    pub addr: String,
    /// `sqlite://path` (created if missing) or, later, `postgres://…`.
    #[serde(deserialize_with = "text")]
    pub database_url: String,
    /// Model of agents that name none, `provider/model`.
    #[serde(deserialize_with = "text")]
    pub default_model: String,
    /// Base URL of an OpenAI-compatible Chat Completions server.
    #[serde(deserialize_with = "text")]
    pub openai_base_url: String,
    /// Bearer key for `openai_base_url`; never logged.
    #[serde(default, deserialize_with = "optional_text")]
    pub openai_api_key: Option<String>,
    /// Model names offered as `openai/<name>` by `GET /v1/models`.
    #[serde(deserialize_with = "text")]
    pub openai_models: String,
    /// Base URL of the Anthropic API (without `/v1`).
    #[serde(deserialize_with = "text")]
    pub anthropic_base_url: String,
    /// `x-api-key` for the Anthropic API; never logged.
    #[serde(default, deserialize_with = "optional_text")]
    pub anthropic_api_key: Option<String>,
    /// Model names offered as `anthropic/<name>` by `GET /v1/models`.
    #[serde(deserialize_with = "text")]
    pub anthropic_models: String,
    /// Base URL of an Ollama server (its OpenAI-compatible API lives at `/v1`).
    #[serde(deserialize_with = "text")]
    pub ollama_base_url: String,
    /// Model names offered as `ollama/<name>` by `GET /v1/models`.
    #[serde(deserialize_with = "text")]
    pub ollama_models: String,
    /// Seconds one model call may take before it fails with `model_error`.
    pub model_timeout_seconds: u64,
    /// Seconds one tool call may take before it fails (an error result).
    pub tool_timeout_seconds: u64,
    /// Seconds a claimed workflow run's lease lasts without renewal; a run
    /// whose process died is resumed after it.
    pub run_lease_seconds: f64,
    /// Workflow runs one process executes at once.
    pub run_concurrency: usize,
    /// Seconds between webhook delivery attempts after the first,
    /// comma-separated (CONTRACT §1).
    #[serde(deserialize_with = "text")]
    pub webhook_retry_schedule: String,
    /// An endpoint failing this many seconds without a success is disabled.
    pub webhook_disable_after_seconds: u64,
    /// Seconds a claimed delivery stays with its dispatcher; keep it above
    /// the 15 s delivery timeout, or slow receivers get duplicate attempts.
    pub webhook_lease_seconds: f64,
    /// Webhook deliveries one process sends at once.
    pub webhook_concurrency: usize,
    /// Master key sealing webhook secrets at rest; never logged.
    #[serde(default, deserialize_with = "optional_text")]
    pub secret_key: Option<String>,
    /// Days events are kept.
    pub event_retention_days: u64,
    /// Calls made again after a provider's 429/5xx, at most.
    pub model_max_retries: u32,
    /// Context windows, `provider/model=tokens,…`, overriding the known ones.
    #[serde(deserialize_with = "text")]
    pub model_context_windows: String,
    /// Comma-separated hosts or CIDRs user-given URLs may reach despite the
    /// URL guard (CONTRACT §9).
    #[serde(deserialize_with = "text")]
    pub outbound_allow: String,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Redis for the rate-limit counters (`redis://host:port`); when unset
    /// they live in the database. Never logged.
    #[serde(default, deserialize_with = "optional_text")]
    pub redis_url: Option<String>,
    /// Length of the "per minute" rate-limit window, in seconds. Only tests
    /// change it.
    pub rate_limit_minute_seconds: f64,
    /// Length of the "per day" rate-limit window, in seconds. Only tests
    /// change it.
    pub rate_limit_day_seconds: f64,
    /// Seconds an OAuth access token is valid.
    pub oauth_token_ttl_seconds: u64,
    /// Whether `serve` applies pending migrations at start; when `false` it
    /// refuses to start on a database that needs them (run `faos migrate`).
    pub migrate_on_start: bool,
    /// `tracing` filter, e.g. `info` or `faos=debug`.
    #[serde(deserialize_with = "text")]
    pub log: String,
    /// `text` or `json`.
    #[serde(deserialize_with = "text")]
    pub log_format: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: "127.0.0.1:8080".into(),
            database_url: "sqlite://faos.db".into(),
            default_model: "builtin/assistant".into(),
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_api_key: None,
            openai_models: "gpt-4o-mini,gpt-4o,gpt-4.1-mini".into(),
            anthropic_base_url: "https://api.anthropic.com".into(),
            anthropic_api_key: None,
            anthropic_models: "claude-sonnet-4-5,claude-haiku-4-5".into(),
            ollama_base_url: "http://127.0.0.1:11434".into(),
            ollama_models: String::new(),
            model_timeout_seconds: 60,
            tool_timeout_seconds: 30,
            model_max_retries: 2,
            webhook_retry_schedule: "5,300,1800,7200,18000,36000,36000".into(),
            webhook_disable_after_seconds: 5 * 24 * 3600,
            webhook_concurrency: 64,
            webhook_lease_seconds: 30.0,
            secret_key: None,
            event_retention_days: 30,
            run_lease_seconds: 30.0,
            run_concurrency: 16,
            model_context_windows: String::new(),
            outbound_allow: String::new(),
            max_body_bytes: 1024 * 1024,
            redis_url: None,
            rate_limit_minute_seconds: 60.0,
            rate_limit_day_seconds: 86_400.0,
            oauth_token_ttl_seconds: 3600,
            migrate_on_start: true,
            log: "info".into(),
            log_format: "text".into(),
        }
    }
}

/// Environment values are typed by their look (`FAOS_OPENAI_API_KEY=12345`
/// reads as a number); text settings take any scalar as its text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Integer(n) => n.to_string(),
            Scalar::Unsigned(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Scalar::deserialize(deserializer).map(Scalar::into_text)
}

fn optional_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<Scalar>::deserialize(deserializer).map(|v| v.map(Scalar::into_text))
}

/// Values given as command-line flags; `None` leaves the lower layers alone.
#[derive(Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate_on_start: Option<bool>,
}

impl Config {
    /// Loads the layers in order. `file` (else `FAOS_CONFIG`) names the TOML
    /// file, which must then exist; otherwise `faos.toml` is read if present.
    ///
    /// Errors: a TOML file that does not parse, or a value of the wrong type.
    pub fn load(file: Option<PathBuf>, overrides: Overrides) -> anyhow::Result<Config> {
        let named = file.or_else(|| std::env::var_os("FAOS_CONFIG").map(PathBuf::from));
        if let Some(path) = &named
            && !path.exists()
        {
            anyhow::bail!("the configuration file '{}' does not exist", path.display());
        }
        let file = named.unwrap_or_else(|| PathBuf::from("faos.toml"));
        let config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("FAOS_").ignore(&["config"]))
            .merge(Serialized::defaults(overrides))
            .extract::<Config>()
            .map_err(|err| anyhow::anyhow!("invalid configuration: {err}"))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure type
    fn numeric_looking_environment_values_stay_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FAOS_OPENAI_API_KEY", "12345");
            jail.set_env("FAOS_OUTBOUND_ALLOW", "10");
            jail.set_env("FAOS_MODEL_TIMEOUT_SECONDS", "7");
            let config = Config::load(None, Overrides::default()).expect("loads");
            assert_eq!(config.openai_api_key.as_deref(), Some("12345"));
            assert_eq!(config.outbound_allow, "10");
            assert_eq!(config.model_timeout_seconds, 7);
            Ok(())
        });
    }
}
