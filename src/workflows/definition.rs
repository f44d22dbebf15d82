//! Workflow definitions: parsing and checking the JSON a client sends
//! (CONTRACT §7 Workflows) into typed [`Step`]s. Every error is `400
//! invalid_request` naming the exact field (`steps[2].agent_id`,
//! `steps[1].then[0].url`). Checked here: step ids (unique across the whole
//! definition), types and their fields, template syntax, references to
//! steps (only to steps that come earlier and are not containers of the
//! referring step, so there are no cycles), `item` only inside `map`,
//! literal URLs against the URL guard, and the input schema. Agents and
//! sub-workflows are collected for the caller to check against the store.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Map, Value};

use super::template::Templates;
use crate::error::{Error, Result};
use crate::net::url_guard::UrlGuard;

/// Most steps in one definition, nested ones included.
pub const MAX_STEPS: usize = 200;
/// Deepest nesting of containers (`branch`, `parallel`, `map`).
pub const MAX_NESTING: usize = 8;
/// Most attempts a retry policy may ask for.
pub const MAX_ATTEMPTS: u32 = 10;
/// Largest `map` concurrency.
pub const MAX_CONCURRENCY: usize = 32;
/// Longest `wait`, in seconds.
pub const MAX_WAIT_SECONDS: f64 = 86_400.0;

/// A checked definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub input_schema: Option<Value>,
    pub steps: Vec<Step>,
    /// Template of the run's output; `None`: the last step's output.
    pub output: Option<Value>,
}

/// One step and its common settings.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: Kind,
    /// Skip the step unless this condition is true.
    pub when: Option<String>,
    pub retry: Retry,
    /// Bound on each attempt.
    pub timeout: Option<Duration>,
    pub on_error: OnError,
}

/// Attempts and backoff: attempt n waits `backoff × 2^(n-2)` (±20 %).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max_attempts: u32,
    pub backoff: Duration,
}

/// What a failed step does to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The run fails.
    Fail,
    /// The step is recorded as failed with output `null`; the run goes on.
    Continue,
}

/// The step types.
#[derive(Debug, Clone)]
pub enum Kind {
    Agent {
        agent_id: String,
        message: Value,
        conversation_id: Option<Value>,
    },
    Http {
        method: String,
        url: Value,
        headers: Map<String, Value>,
        body: Option<Value>,
    },
    Transform {
        value: Value,
    },
    Branch {
        condition: String,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Parallel {
        branches: Vec<Vec<Step>>,
    },
    Map {
        items: Value,
        concurrency: usize,
        steps: Vec<Step>,
    },
    Wait {
        seconds: Value,
    },
    Workflow {
        workflow_id: String,
        input: Value,
    },
}

/// Whether any step, nested ones included, talks to an agent.
pub fn uses_agents(steps: &[Step]) -> bool {
    steps.iter().any(|step| match &step.kind {
        Kind::Agent { .. } => true,
        Kind::Branch {
            then, otherwise, ..
        } => uses_agents(then) || uses_agents(otherwise),
        Kind::Parallel { branches } => branches.iter().any(|b| uses_agents(b)),
        Kind::Map { steps, .. } => uses_agents(steps),
        _ => false,
    })
}

impl Kind {
    /// Whether the step runs steps of its own (containers, sub-workflows),
    /// which record their own ends.
    pub fn has_nested_work(&self) -> bool {
        matches!(
            self,
            Kind::Branch { .. } | Kind::Parallel { .. } | Kind::Map { .. } | Kind::Workflow { .. }
        )
    }

    /// The `type` name.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Agent { .. } => "agent",
            Kind::Http { .. } => "http",
            Kind::Transform { .. } => "transform",
            Kind::Branch { .. } => "branch",
            Kind::Parallel { .. } => "parallel",
            Kind::Map { .. } => "map",
            Kind::Wait { .. } => "wait",
            Kind::Workflow { .. } => "workflow",
        }
    }
}

/// A definition plus what it refers to outside itself, each with the
/// `param` to blame.
pub struct Checked {
    pub definition: Definition,
    pub agents: Vec<(String, String)>,
    pub workflows: Vec<(String, String)>,
}

/// Parses and checks `{input_schema?, steps, output?}`.
pub fn check(
    input_schema: Option<&Value>,
    steps: &Value,
    output: Option<&Value>,
    templates: &Templates,
    guard: &UrlGuard,
) -> Result<Checked> {
    if let Some(schema) = input_schema {
        if !schema.is_object() {
            return Err(Error::invalid(
                "input_schema",
                "input_schema must be a JSON Schema object",
            ));
        }
        jsonschema::meta::validate(schema).map_err(|err| {
            Error::invalid(
                "input_schema",
                format!("input_schema is not a valid JSON Schema: {err}"),
            )
        })?;
    }
    let mut parser = Parser {
        templates,
        guard,
        seen: HashSet::new(),
        visible: Vec::new(),
        ancestors: Vec::new(),
        in_map: 0,
        count: 0,
        agents: Vec::new(),
        workflows: Vec::new(),
    };
    let steps = parser.steps(steps, "steps")?;
    if steps.is_empty() {
        return Err(Error::invalid(
            "steps",
            "a workflow needs at least one step",
        ));
    }
    if let Some(output) = output {
        parser.references(output, "output")?;
    }
    Ok(Checked {
        definition: Definition {
            input_schema: input_schema.cloned(),
            steps,
            output: output.cloned(),
        },
        agents: parser.agents,
        workflows: parser.workflows,
    })
}

struct Parser<'a> {
    templates: &'a Templates,
    guard: &'a UrlGuard,
    /// Ids of the steps parsed so far (document order = execution order).
    seen: HashSet<String>,
    /// Ids a template may refer to here: earlier steps of this list and of
    /// the lists around it. Steps inside a finished container are not:
    /// they may not have run (a branch path), run concurrently with a
    /// sibling (a parallel branch), or have one output per item (a map).
    visible: Vec<String>,
    /// Ids of the containers around the step being parsed.
    ancestors: Vec<String>,
    in_map: usize,
    count: usize,
    agents: Vec<(String, String)>,
    workflows: Vec<(String, String)>,
}

impl Parser<'_> {
    fn steps(&mut self, value: &Value, at: &str) -> Result<Vec<Step>> {
        let Value::Array(items) = value else {
            return Err(Error::invalid(
                at,
                format!("'{at}' must be a list of steps"),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.step(item, &format!("{at}[{i}]")))
            .collect()
    }

    /// The steps of one of a container's lists: its steps see each other
    /// in order, and are out of sight again after it.
    fn inner_steps(&mut self, value: &Value, at: &str) -> Result<Vec<Step>> {
        let mark = self.visible.len();
        let steps = self.steps(value, at);
        self.visible.truncate(mark);
        steps
    }

    fn step(&mut self, value: &Value, at: &str) -> Result<Step> {
        let Value::Object(fields) = value else {
            return Err(Error::invalid(at, "each step must be an object"));
        };
        let mut fields = fields.clone();
        self.count += 1;
        if self.count > MAX_STEPS {
            return Err(Error::invalid(
                at,
                format!("a workflow can have at most {MAX_STEPS} steps"),
            ));
        }
        let id = required_string(&mut fields, at, "id")?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_id {
            return Err(Error::invalid(
                format!("{at}.id"),
                "step ids are 1 to 64 characters of A-Z, a-z, 0-9 and _, not starting with a digit",
            ));
        }
        if self.seen.contains(&id) {
            return Err(Error::invalid(
                format!("{at}.id"),
                format!("two steps have the id '{id}'"),
            ));
        }
        let kind_name = required_string(&mut fields, at, "type")?;
        let when = optional_string(&mut fields, at, "when")?;
        if let Some(when) = &when {
            self.references(&Value::String(when.clone()), &format!("{at}.when"))?;
        }
        let retry = self.retry(fields.remove("retry"), at)?;
        let timeout = match fields.remove("timeout_seconds") {
            None | Some(Value::Null) => None,
            Some(v) => Some(positive_seconds(
                &v,
                &format!("{at}.timeout_seconds"),
                86_400.0,
            )?),
        };
        let on_error = match optional_string(&mut fields, at, "on_error")?.as_deref() {
            None | Some("fail") => OnError::Fail,
            Some("continue") => OnError::Continue,
            Some(_) => {
                return Err(Error::invalid(
                    format!("{at}.on_error"),
                    "on_error must be 'fail' or 'continue'",
                ));
            }
        };
        let kind = match kind_name.as_str() {
            "agent" => {
                let agent_id = required_string(&mut fields, at, "agent_id")?;
                if !agent_id.starts_with("agt_") {
                    return Err(Error::invalid(
                        format!("{at}.agent_id"),
                        "agent_id must be an agent id (agt_…)",
                    ));
                }
                self.agents
                    .push((agent_id.clone(), format!("{at}.agent_id")));
                let message = self
                    .template_field(&mut fields, at, "message", true)?
                    .unwrap_or_default();
                if !message.is_string() {
                    return Err(Error::invalid(
                        format!("{at}.message"),
                        "'message' must be a string (templates allowed)",
                    ));
                }
                let conversation_id =
                    self.template_field(&mut fields, at, "conversation_id", false)?;
                if conversation_id
                    .as_ref()
                    .is_some_and(|c| c.as_str().is_none_or(str::is_empty))
                {
                    return Err(Error::invalid(
                        format!("{at}.conversation_id"),
                        "'conversation_id' must be a non-empty string (templates allowed)",
                    ));
                }
                Kind::Agent {
                    agent_id,
                    message,
                    conversation_id,
                }
            }
            "http" => {
                let method = optional_string(&mut fields, at, "method")?
                    .unwrap_or_else(|| "GET".into())
                    .to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str()) {
                    return Err(Error::invalid(
                        format!("{at}.method"),
                        "method must be GET, POST, PUT, PATCH, DELETE or HEAD",
                    ));
                }
                let url = self
                    .template_field(&mut fields, at, "url", true)?
                    .unwrap_or_default();
                match &url {
                    Value::String(text) if !text.contains("{{") && !text.contains("{%") => {
                        self.guard
                            .check_url(text)
                            .map_err(|reason| Error::invalid(format!("{at}.url"), reason))?;
                    }
                    Value::String(_) => {}
                    _ => {
                        return Err(Error::invalid(
                            format!("{at}.url"),
                            "'url' must be a string",
                        ));
                    }
                }
                let headers = match fields.remove("headers") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(headers)) => {
                        for (name, value) in &headers {
                            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                                return Err(Error::invalid(
                                    format!("{at}.headers.{name}"),
                                    format!("'{name}' is not a valid HTTP header name"),
                                ));
                            }
                            if !value.is_string() {
                                return Err(Error::invalid(
                                    format!("{at}.headers.{name}"),
                                    "header values must be strings",
                                ));
                            }
                        }
                        self.references(&Value::Object(headers.clone()), &format!("{at}.headers"))?;
                        headers
                    }
                    Some(_) => {
                        return Err(Error::invalid(
                            format!("{at}.headers"),
                            "'headers' must be an object of strings",
                        ));
                    }
                };
                let body = self.template_field(&mut fields, at, "body", false)?;
                Kind::Http {
                    method,
                    url,
                    headers,
                    body,
                }
            }
            "transform" => Kind::Transform {
                value: self
                    .template_field(&mut fields, at, "value", true)?
                    .unwrap_or_default(),
            },
            "wait" => {
                let seconds = self
                    .template_field(&mut fields, at, "seconds", true)?
                    .unwrap_or_default();
                if !seconds.is_string() {
                    positive_seconds(&seconds, &format!("{at}.seconds"), MAX_WAIT_SECONDS)?;
                }
                Kind::Wait { seconds }
            }
            "workflow" => {
                let workflow_id = required_string(&mut fields, at, "workflow_id")?;
                if !workflow_id.starts_with("wf_") {
                    return Err(Error::invalid(
                        format!("{at}.workflow_id"),
                        "workflow_id must be a workflow id (wf_…)",
                    ));
                }
                self.workflows
                    .push((workflow_id.clone(), format!("{at}.workflow_id")));
                let input = self
                    .template_field(&mut fields, at, "input", false)?
                    .unwrap_or_else(|| Value::Object(Map::new()));
                if !(input.is_object() || input.is_string()) {
                    return Err(Error::invalid(
                        format!("{at}.input"),
                        "'input' must be an object or a template that gives one",
                    ));
                }
                Kind::Workflow { workflow_id, input }
            }
            "branch" | "parallel" | "map" => self.container(&kind_name, &id, &mut fields, at)?,
            other => {
                return Err(Error::invalid(
                    format!("{at}.type"),
                    format!(
                        "unknown step type '{other}'; expected agent, http, transform, branch, parallel, map, wait or workflow"
                    ),
                ));
            }
        };
        if let Some(extra) = fields.keys().next() {
            return Err(Error::invalid(
                format!("{at}.{extra}"),
                format!("unknown field '{extra}' for a {kind_name} step"),
            ));
        }
        self.seen.insert(id.clone());
        self.visible.push(id.clone());
        Ok(Step {
            id,
            kind,
            when,
            retry,
            timeout,
            on_error,
        })
    }

    /// `branch`, `parallel` and `map`: their own fields first (which may
    /// not refer to their children), then the children, inside them.
    fn container(
        &mut self,
        kind: &str,
        id: &str,
        fields: &mut Map<String, Value>,
        at: &str,
    ) -> Result<Kind> {
        if self.ancestors.len() >= MAX_NESTING {
            return Err(Error::invalid(
                format!("{at}.type"),
                format!("containers nest at most {MAX_NESTING} deep"),
            ));
        }
        let own = match kind {
            "branch" => {
                let condition = required_string(fields, at, "if")?;
                self.references(&Value::String(condition.clone()), &format!("{at}.if"))?;
                Some(condition)
            }
            "map" => {
                let items = fields.remove("items").ok_or_else(|| {
                    Error::invalid(format!("{at}.items"), "The 'items' field is required")
                })?;
                if !(items.is_array() || items.is_string()) {
                    return Err(Error::invalid(
                        format!("{at}.items"),
                        "'items' must be a list or a template that gives one",
                    ));
                }
                self.references(&items, &format!("{at}.items"))?;
                fields.insert("items".into(), items);
                None
            }
            _ => None,
        };
        self.ancestors.push(id.to_string());
        let kind = match kind {
            "branch" => {
                let then = self.inner_steps(
                    &fields.remove("then").unwrap_or(Value::Array(vec![])),
                    &format!("{at}.then"),
                )?;
                let otherwise = self.inner_steps(
                    &fields.remove("else").unwrap_or(Value::Array(vec![])),
                    &format!("{at}.else"),
                )?;
                Kind::Branch {
                    condition: own.unwrap_or_default(),
                    then,
                    otherwise,
                }
            }
            "parallel" => {
                let lists = match fields.remove("branches") {
                    Some(Value::Array(lists)) if !lists.is_empty() => lists,
                    _ => {
                        self.ancestors.pop();
                        return Err(Error::invalid(
                            format!("{at}.branches"),
                            "'branches' must be a non-empty list of step lists",
                        ));
                    }
                };
                let mut branches = Vec::with_capacity(lists.len());
                for (i, list) in lists.iter().enumerate() {
                    let at = format!("{at}.branches[{i}]");
                    let steps = self.inner_steps(list, &at)?;
                    if steps.is_empty() {
                        self.ancestors.pop();
                        return Err(Error::invalid(
                            at,
                            "a parallel branch needs at least one step",
                        ));
                    }
                    branches.push(steps);
                }
                Kind::Parallel { branches }
            }
            _ => {
                let items = fields.remove("items").unwrap_or_default();
                let concurrency = match fields.remove("concurrency") {
                    None | Some(Value::Null) => 4,
                    Some(v) => v
                        .as_u64()
                        .filter(|n| (1..=MAX_CONCURRENCY as u64).contains(n))
                        .ok_or_else(|| {
                            Error::invalid(
                                format!("{at}.concurrency"),
                                format!("concurrency must be 1 to {MAX_CONCURRENCY}"),
                            )
                        })? as usize,
                };
                self.in_map += 1;
                let steps = self.inner_steps(
                    &fields.remove("steps").unwrap_or_default(),
                    &format!("{at}.steps"),
                );
                self.in_map -= 1;
                Kind::Map {
                    items,
                    concurrency,
                    steps: steps?,
                }
            }
        };
        self.ancestors.pop();
        Ok(kind)
    }

    fn retry(&self, value: Option<Value>, at: &str) -> Result<Retry> {
        let mut retry = Retry {
            max_attempts: 1,
            backoff: Duration::from_secs(1),
        };
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(retry);
        };
        let Value::Object(mut fields) = value else {
            return Err(Error::invalid(
                format!("{at}.retry"),
                "retry must be an object",
            ));
        };
        if let Some(attempts) = fields.remove("max_attempts") {
            retry.max_attempts = attempts
                .as_u64()
                .filter(|n| (1..=u64::from(MAX_ATTEMPTS)).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        format!("{at}.retry.max_attempts"),
                        format!("max_attempts must be 1 to {MAX_ATTEMPTS}"),
                    )
                })? as u32;
        }
        if let Some(backoff) = fields.remove("backoff_seconds") {
            retry.backoff =
                non_negative_seconds(&backoff, &format!("{at}.retry.backoff_seconds"), 3600.0)?;
        }
        if let Some(extra) = fields.keys().next() {
            return Err(Error::invalid(
                format!("{at}.retry.{extra}"),
                format!("unknown field '{extra}' in retry"),
            ));
        }
        Ok(retry)
    }

    /// A field whose strings are templates: syntax and references checked.
    fn template_field(
        &mut self,
        fields: &mut Map<String, Value>,
        at: &str,
        key: &str,
        required: bool,
    ) -> Result<Option<Value>> {
        match fields.remove(key) {
            None | Some(Value::Null) if required => Err(Error::invalid(
                format!("{at}.{key}"),
                format!("The '{key}' field is required"),
            )),
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                self.references(&value, &format!("{at}.{key}"))?;
                Ok(Some(value))
            }
        }
    }

    /// Checks the templates inside `value`: syntax, `steps.<id>` to earlier
    /// steps that are not containers of this one, `item` only inside `map`.
    fn references(&self, value: &Value, at: &str) -> Result<()> {
        let mut strings = Vec::new();
        Templates::strings(value, at, &mut strings);
        for (param, text) in strings {
            let variables = self
                .templates
                .variables(text)
                .map_err(|reason| Error::invalid(&param, format!("invalid template: {reason}")))?;
            for variable in variables {
                let mut parts = variable.split('.');
                match parts.next() {
                    Some("steps") => {
                        let Some(step) = parts.next() else { continue };
                        if self.ancestors.iter().any(|a| a == step) {
                            return Err(Error::invalid(
                                &param,
                                format!(
                                    "step '{step}' contains this one; its output does not exist yet"
                                ),
                            ));
                        }
                        if self.seen.contains(step) && !self.visible.iter().any(|v| v == step) {
                            return Err(Error::invalid(
                                &param,
                                format!(
                                    "step '{step}' is inside a branch, parallel or map that this step is not in; refer to that container's output instead"
                                ),
                            ));
                        }
                        if !self.seen.contains(step) {
                            return Err(Error::invalid(
                                &param,
                                format!(
                                    "unknown step '{step}': only steps that come earlier can be referred to"
                                ),
                            ));
                        }
                    }
                    Some("item") if self.in_map == 0 => {
                        return Err(Error::invalid(
                            &param,
                            "'item' only exists inside the steps of a map",
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

fn required_string(fields: &mut Map<String, Value>, at: &str, key: &str) -> Result<String> {
    optional_string(fields, at, key)?.ok_or_else(|| {
        Error::invalid(
            format!("{at}.{key}"),
            format!("The '{key}' field is required"),
        )
    })
}

fn optional_string(fields: &mut Map<String, Value>, at: &str, key: &str) -> Result<Option<String>> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(Error::invalid(
            format!("{at}.{key}"),
            format!("'{key}' must be a string"),
        )),
    }
}

fn non_negative_seconds(value: &Value, param: &str, max: f64) -> Result<Duration> {
    value
        .as_f64()
        .filter(|s| (0.0..=max).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::invalid(
                param,
                format!("must be a number of seconds from 0 to {max}"),
            )
        })
}

fn positive_seconds(value: &Value, param: &str, max: f64) -> Result<Duration> {
    value
        .as_f64()
        .filter(|s| *s > 0.0 && *s <= max)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::invalid(
                param,
                format!("must be a number of seconds above 0 and at most {max}"),
            )
        })
}
