//! Running the tools an agent declares when its model calls them: the
//! builtin `current_time`, `http` tools (through the guarded client) and
//! `workflow` tools (a run of the workflow, awaited). Every call ends in a result for the model — a failure
//! or a timeout is an error result, never a missing one — so the history
//! stays valid for the provider.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::access::Tenant;
use crate::agents::tools::ToolDeclaration;
use crate::clock;
use crate::models::{ToolCall, ToolSpec};
use crate::net::http_client::{error_reason, guarded_client};
use crate::net::url_guard::UrlGuard;

/// Most bytes of an HTTP tool's response body given to the model.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// What a tool call produced: text for the model, and whether it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutcome {
    fn ok(value: Value) -> Self {
        ToolOutcome {
            content: value.to_string(),
            is_error: false,
        }
    }

    /// A failed call, with the reason the model is told.
    pub fn error(reason: impl Into<String>) -> Self {
        ToolOutcome {
            content: reason.into(),
            is_error: true,
        }
    }
}

/// Runs workflows for `workflow` tools (the workflow service).
#[async_trait::async_trait]
pub trait WorkflowTools: Send + Sync {
    /// Runs the tenant's workflow with `input` and waits for its output.
    /// Errors: the reason, for the model.
    /// `depth`: the agents and workflows around the run.
    async fn run_workflow(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        input: Value,
        depth: u32,
    ) -> Result<Value, String>;
}

/// Runs tool calls.
pub struct ToolRunner {
    http: reqwest::Client,
    guard: Arc<UrlGuard>,
    timeout: Duration,
    workflows: OnceLock<Arc<dyn WorkflowTools>>,
}

impl ToolRunner {
    /// `timeout` bounds each tool call.
    pub fn new(guard: Arc<UrlGuard>, timeout: Duration) -> Self {
        ToolRunner {
            http: guarded_client(guard.clone(), timeout),
            guard,
            timeout,
            workflows: OnceLock::new(),
        }
    }

    /// Lets `workflow` tools run workflows.
    pub fn connect(&self, workflows: Arc<dyn WorkflowTools>) {
        let _ = self.workflows.set(workflows);
    }

    /// Runs `call` against the agent's `tools`, within the timeout.
    pub async fn run(
        &self,
        tenant: &Tenant,
        tools: &[ToolDeclaration],
        call: &ToolCall,
        depth: u32,
    ) -> ToolOutcome {
        let Some(tool) = tools.iter().find(|t| t.name() == call.name) else {
            return ToolOutcome::error(format!("There is no tool named '{}'.", call.name));
        };
        let Some(arguments) = call.arguments.as_object() else {
            return ToolOutcome::error("The tool's arguments must be a JSON object.");
        };
        let run = async {
            match tool {
                ToolDeclaration::Builtin { .. } => ToolOutcome::ok(json!({
                    "utc": clock::now_rfc3339(),
                    "unix": clock::now_ms() / 1000,
                })),
                ToolDeclaration::Http {
                    method,
                    url,
                    parameters,
                    ..
                } => self.http_call(method, url, parameters, arguments).await,
                ToolDeclaration::Workflow { workflow_id, .. } => match self.workflows.get() {
                    Some(workflows) => match workflows
                        .run_workflow(
                            tenant,
                            workflow_id,
                            Value::Object(arguments.clone()),
                            depth + 1,
                        )
                        .await
                    {
                        Ok(output) => ToolOutcome::ok(output),
                        Err(reason) => ToolOutcome::error(reason),
                    },
                    None => ToolOutcome::error("Workflows are not available in this process."),
                },
            }
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => ToolOutcome::error(format!(
                "The tool timed out: it did not finish within {} s.",
                self.timeout.as_secs()
            )),
        }
    }

    async fn http_call(
        &self,
        method: &str,
        template: &str,
        schema: &Value,
        arguments: &Map<String, Value>,
    ) -> ToolOutcome {
        if let Ok(validator) = jsonschema::validator_for(schema) {
            let problems: Vec<String> = validator
                .iter_errors(&Value::Object(arguments.clone()))
                .map(|e| e.to_string())
                .collect();
            if !problems.is_empty() {
                return ToolOutcome::error(format!(
                    "The arguments do not match the tool's schema: {}",
                    problems.join("; ")
                ));
            }
        }
        let (url, rest) = fill_template(template, arguments);
        if let Err(reason) = self.guard.check_url(&url) {
            return ToolOutcome::error(reason);
        }
        let method: reqwest::Method = method.parse().unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method.clone(), &url);
        if method == reqwest::Method::GET || method == reqwest::Method::DELETE {
            let query: Vec<(String, String)> =
                rest.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
            request = request.query(&query);
        } else {
            request = request.json(&Value::Object(rest));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                return ToolOutcome::error(format!("The HTTP call failed: {}", error_reason(&err)));
            }
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => {
                return ToolOutcome::error(format!(
                    "Reading the HTTP response failed: {}",
                    error_reason(&err)
                ));
            }
        };
        let body = &bytes[..bytes.len().min(MAX_RESPONSE_BYTES)];
        let body = serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        ToolOutcome {
            content: json!({"status": status.as_u16(), "body": body}).to_string(),
            is_error: !status.is_success(),
        }
    }
}

/// The specs offered to the model for an agent's tools.
pub fn specs(tools: &[ToolDeclaration]) -> Vec<ToolSpec> {
    tools
        .iter()
        .map(|tool| match tool {
            ToolDeclaration::Builtin { name } => ToolSpec {
                name: name.clone(),
                description: "Returns the current date and time: UTC in RFC 3339 and Unix seconds."
                    .into(),
                parameters: json!({"type": "object", "properties": {}}),
            },
            ToolDeclaration::Http {
                name,
                description,
                parameters,
                ..
            } => ToolSpec {
                name: name.clone(),
                description: description.clone(),
                parameters: parameters.clone(),
            },
            ToolDeclaration::Workflow {
                workflow_id,
                description,
                ..
            } => ToolSpec {
                name: tool.name().to_string(),
                description: description
                    .clone()
                    .unwrap_or_else(|| format!("Runs the workflow {workflow_id}.")),
                parameters: json!({"type": "object"}),
            },
        })
        .collect()
}

/// Replaces each `{name}` in the template with the percent-encoded
/// argument; returns the URL and the arguments no placeholder used.
fn fill_template(template: &str, arguments: &Map<String, Value>) -> (String, Map<String, Value>) {
    let mut rest = arguments.clone();
    let mut url = String::with_capacity(template.len());
    let mut remaining = template;
    while let Some(start) = remaining.find('{') {
        let Some(length) = remaining[start..].find('}') else {
            break;
        };
        let name = &remaining[start + 1..start + length];
        url.push_str(&remaining[..start]);
        let value = rest.remove(name).map(|v| plain(&v)).unwrap_or_default();
        url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        remaining = &remaining[start + length + 1..];
    }
    url.push_str(remaining);
    (url, rest)
}

/// A JSON value as plain text: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_their_arguments_encoded() {
        let args = json!({"id": "a b/c", "n": 5, "extra": true});
        let (url, rest) = fill_template(
            "https://x.test/orders/{id}?n={n}",
            args.as_object().unwrap(),
        );
        assert_eq!(url, "https://x.test/orders/a+b%2Fc?n=5");
        assert_eq!(Value::Object(rest), json!({"extra": true}));
    }
}
