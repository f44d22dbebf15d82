//! Tool declarations on agents (CONTRACT §7): what an agent's model may
//! call. Parsed from JSON by hand so every error names its exact `param`
//! (`tools[1].url`). Running tools belongs to the conversation loop.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::net::url_guard::UrlGuard;

/// Built-in tools the server implements itself.
pub const BUILTIN_TOOLS: &[&str] = &["current_time"];
/// Most tools one agent may declare.
pub const MAX_TOOLS: usize = 64;
/// HTTP methods an `http` tool may use.
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One tool an agent's model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolDeclaration {
    /// A tool the server implements, e.g. `current_time`.
    Builtin { name: String },
    /// An HTTP call: the model's arguments fill `{placeholders}` in the URL
    /// path and query, and form the JSON body of non-GET requests.
    Http {
        name: String,
        description: String,
        method: String,
        url: String,
        /// JSON Schema (draft 2020-12) of the arguments object.
        parameters: Value,
    },
    /// Runs a workflow with the model's arguments as its input.
    Workflow {
        workflow_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

impl ToolDeclaration {
    /// The name the model calls the tool by.
    pub fn name(&self) -> &str {
        match self {
            ToolDeclaration::Builtin { name } | ToolDeclaration::Http { name, .. } => name,
            ToolDeclaration::Workflow {
                name, workflow_id, ..
            } => name.as_deref().unwrap_or(workflow_id),
        }
    }
}

/// Parses and checks the `tools` list of a create or update request.
///
/// Errors (`400 invalid_request`): a non-object entry, an unknown `type`, a
/// missing or ill-typed field, an unknown builtin, a bad HTTP method, a URL
/// the guard refuses, a `parameters` value that is not a JSON Schema, or two
/// tools with one name. `param` is `tools[i]` or `tools[i].<field>`.
pub fn parse_tools(values: Vec<Value>, guard: &UrlGuard) -> Result<Vec<ToolDeclaration>> {
    if values.len() > MAX_TOOLS {
        return Err(Error::invalid(
            "tools",
            format!("an agent can declare at most {MAX_TOOLS} tools"),
        ));
    }
    let mut names = HashSet::new();
    let mut tools = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let at = format!("tools[{index}]");
        let tool = parse_tool(value, &at, guard)?;
        if !names.insert(tool.name().to_string()) {
            return Err(Error::invalid(
                format!("{at}.name"),
                format!("two tools are named '{}'", tool.name()),
            ));
        }
        tools.push(tool);
    }
    Ok(tools)
}

fn parse_tool(value: Value, at: &str, guard: &UrlGuard) -> Result<ToolDeclaration> {
    let Value::Object(mut fields) = value else {
        return Err(Error::invalid(at, "each tool must be an object"));
    };
    let kind = required_string(&mut fields, at, "type")?;
    let tool = match kind.as_str() {
        "builtin" => {
            let name = required_string(&mut fields, at, "name")?;
            if !BUILTIN_TOOLS.contains(&name.as_str()) {
                return Err(Error::invalid(
                    format!("{at}.name"),
                    format!(
                        "unknown builtin tool '{name}'; known: {}",
                        BUILTIN_TOOLS.join(", ")
                    ),
                ));
            }
            ToolDeclaration::Builtin { name }
        }
        "http" => {
            let name = tool_name(required_string(&mut fields, at, "name")?, at)?;
            let description = optional_string(&mut fields, at, "description")?.unwrap_or_default();
            let method = required_string(&mut fields, at, "method")?.to_ascii_uppercase();
            if !HTTP_METHODS.contains(&method.as_str()) {
                return Err(Error::invalid(
                    format!("{at}.method"),
                    format!("method must be one of {}", HTTP_METHODS.join(", ")),
                ));
            }
            let url = required_string(&mut fields, at, "url")?;
            guard
                .check_template(&url)
                .map_err(|reason| Error::invalid(format!("{at}.url"), reason))?;
            let parameters = fields
                .remove("parameters")
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
            check_schema(&parameters, &format!("{at}.parameters"))?;
            ToolDeclaration::Http {
                name,
                description,
                method,
                url,
                parameters,
            }
        }
        "workflow" => {
            let workflow_id = required_string(&mut fields, at, "workflow_id")?;
            if !workflow_id.starts_with("wf_") {
                return Err(Error::invalid(
                    format!("{at}.workflow_id"),
                    "workflow_id must be a workflow id (wf_…)",
                ));
            }
            let name = optional_string(&mut fields, at, "name")?
                .map(|name| tool_name(name, at))
                .transpose()?;
            let description = optional_string(&mut fields, at, "description")?;
            ToolDeclaration::Workflow {
                workflow_id,
                name,
                description,
            }
        }
        other => {
            return Err(Error::invalid(
                format!("{at}.type"),
                format!("unknown tool type '{other}'; expected builtin, http or workflow"),
            ));
        }
    };
    if let Some(extra) = fields.keys().next() {
        return Err(Error::invalid(
            format!("{at}.{extra}"),
            format!("unknown field '{extra}' for a {kind} tool"),
        ));
    }
    Ok(tool)
}

/// Tool names follow the providers' function-name rule: 1–64 of
/// `[A-Za-z0-9_-]`.
fn tool_name(name: String, at: &str) -> Result<String> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(name)
    } else {
        Err(Error::invalid(
            format!("{at}.name"),
            "tool names must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
        ))
    }
}

fn check_schema(schema: &Value, param: &str) -> Result<()> {
    if !schema.is_object() {
        return Err(Error::invalid(
            param,
            "parameters must be a JSON Schema object",
        ));
    }
    jsonschema::meta::validate(schema).map_err(|err| {
        Error::invalid(
            param,
            format!("parameters is not a valid JSON Schema: {err}"),
        )
    })
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
