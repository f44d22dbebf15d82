//! Agents: the rules for creating, changing and deleting them (CONTRACT §7
//! Agents). Requests are validated here into an [`Agent`]; the store only
//! saves what passed.

pub mod templates;
pub mod tools;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::access::Tenant;
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::models::Models;
use crate::net::url_guard::UrlGuard;
use crate::store::{Keyed, PageRequest, Store};
use tools::ToolDeclaration;

/// Longest agent name, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest instructions, in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 100_000;
/// Default cap on tool-call rounds per answer.
pub const DEFAULT_MAX_STEPS: u32 = 10;
/// Largest allowed `max_steps`.
pub const MAX_MAX_STEPS: i64 = 100;

/// An agent, as stored and as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "object", rename = "agent")]
pub struct Agent {
    /// `agt_…`
    pub id: String,
    pub name: String,
    /// The template the agent was made from, if any.
    pub template: Option<String>,
    /// The system prompt given to the model.
    pub instructions: String,
    /// `provider/model`, e.g. `builtin/assistant` or `openai/gpt-4o-mini`.
    pub model: String,
    pub tools: Vec<ToolDeclaration>,
    /// Cap on tool-call rounds per answer.
    pub max_steps: u32,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// Body of `POST /v1/agents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// 1–256 characters.
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    /// A template id from `GET /v1/templates`; fills the fields left out.
    pub template: Option<String>,
    /// The system prompt, at most 100,000 characters.
    pub instructions: Option<String>,
    /// `provider/model`; left out, the template's or the server's default.
    pub model: Option<String>,
    #[schema(value_type = Option<Vec<ToolDeclaration>>)]
    pub tools: Option<Vec<Value>>,
    /// 1–100, default 10.
    pub max_steps: Option<i64>,
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Body of `PATCH /v1/agents/{id}`: only the fields sent change. `null` is
/// refused for every field but `metadata`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = false)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = false)]
    pub instructions: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = false)]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<ToolDeclaration>>, nullable = false)]
    pub tools: Option<Option<Vec<Value>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = false)]
    pub max_steps: Option<Option<i64>>,
    /// A JSON Merge Patch (RFC 7396) of the metadata: keys set to `null` are
    /// removed; `"metadata": null` removes every key.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// A PATCH field that may be left out but not sent as `null`.
fn not_null<T>(field: Option<Option<T>>, param: &str) -> Result<Option<T>> {
    match field {
        Some(None) => Err(Error::invalid(param, format!("'{param}' cannot be null"))),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

/// Distinguishes a field sent as `null` (`Some(None)`) from one left out
/// (`None`, via `#[serde(default)]`).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What agent rules need besides the store.
pub struct AgentRules<'a> {
    pub models: &'a Models,
    pub guard: &'a UrlGuard,
}

impl AgentRules<'_> {
    /// Validates a create request and stores the new agent.
    ///
    /// Errors: `400 invalid_request` naming the field (`name`, `template`,
    /// `instructions`, `model`, `tools[i]…`, `max_steps`, `metadata…`).
    pub async fn create(
        &self,
        store: &dyn Store,
        tenant: &Tenant,
        input: CreateAgent,
    ) -> Result<Agent> {
        let name = parse_name(
            input
                .name
                .ok_or_else(|| Error::invalid("name", "The 'name' field is required"))?,
        )?;
        let default_model = self.models.default_model();
        let template = match &input.template {
            None => None,
            Some(id) => Some(templates::find(id, default_model).ok_or_else(|| {
                Error::invalid(
                    "template",
                    format!(
                        "unknown template '{id}'; known: {}",
                        templates::ids().join(", ")
                    ),
                )
            })?),
        };
        let instructions = match input.instructions {
            Some(text) => parse_instructions(text)?,
            None => template
                .as_ref()
                .map(|t| t.instructions.to_string())
                .unwrap_or_default(),
        };
        let model = match input.model {
            Some(model) => self.parse_model(model)?,
            None => template
                .as_ref()
                .map_or_else(|| default_model.to_string(), |t| t.model.clone()),
        };
        let declared = tools::parse_tools(input.tools.unwrap_or_default(), self.guard)?;
        check_workflow_tools(store, tenant, &declared).await?;
        let now = clock::now_ms();
        let agent = Agent {
            id: new_id(IdKind::Agent),
            name,
            template: input.template,
            instructions,
            model,
            tools: declared,
            max_steps: input
                .max_steps
                .map(parse_max_steps)
                .transpose()?
                .unwrap_or(DEFAULT_MAX_STEPS),
            metadata: metadata::validate(input.metadata.unwrap_or_default())?,
            created_at: now,
            updated_at: now,
        };
        store.insert_agent(tenant, &agent).await?;
        Ok(agent)
    }

    /// Validates an update and applies the fields sent, atomically.
    ///
    /// Errors: `404 not_found` (`param: id`), or `400` as for create.
    pub async fn update(
        &self,
        store: &dyn Store,
        tenant: &Tenant,
        id: &str,
        input: UpdateAgent,
    ) -> Result<Agent> {
        let name = not_null(input.name, "name")?.map(parse_name).transpose()?;
        let instructions = not_null(input.instructions, "instructions")?
            .map(parse_instructions)
            .transpose()?;
        let model = not_null(input.model, "model")?
            .map(|m| self.parse_model(m))
            .transpose()?;
        let tools = not_null(input.tools, "tools")?
            .map(|t| tools::parse_tools(t, self.guard))
            .transpose()?;
        if let Some(tools) = &tools {
            check_workflow_tools(store, tenant, tools).await?;
        }
        let max_steps = not_null(input.max_steps, "max_steps")?
            .map(parse_max_steps)
            .transpose()?;
        let metadata_patch = input.metadata;
        let change = move |mut agent: Agent| -> Result<Agent> {
            if let Some(patch) = metadata_patch {
                agent.metadata = metadata::merge(agent.metadata, patch)?;
            }
            agent.name = name.unwrap_or(agent.name);
            agent.instructions = instructions.unwrap_or(agent.instructions);
            agent.model = model.unwrap_or(agent.model);
            agent.tools = tools.unwrap_or(agent.tools);
            agent.max_steps = max_steps.unwrap_or(agent.max_steps);
            agent.updated_at = clock::now_ms().max(agent.updated_at);
            Ok(agent)
        };
        store
            .update_agent(tenant, id, Box::new(change))
            .await?
            .ok_or_else(|| Error::not_found("agent", id, "id"))
    }

    fn parse_model(&self, model: String) -> Result<String> {
        self.models
            .check(&model)
            .map_err(|reason| Error::invalid("model", reason))?;
        Ok(model)
    }
}

/// Every `workflow` tool must name an existing workflow of the tenant.
///
/// Errors: `400 invalid_request` with `param: tools[i].workflow_id`.
async fn check_workflow_tools(
    store: &dyn Store,
    tenant: &Tenant,
    declared: &[ToolDeclaration],
) -> Result<()> {
    for (index, tool) in declared.iter().enumerate() {
        if let ToolDeclaration::Workflow { workflow_id, .. } = tool
            && store.get_workflow(tenant, workflow_id).await?.is_none()
        {
            return Err(Error::invalid(
                format!("tools[{index}].workflow_id"),
                format!("No such workflow: '{workflow_id}'"),
            ));
        }
    }
    Ok(())
}

/// The agent, or `404 not_found` with `param` naming where the id came from.
pub async fn get(store: &dyn Store, tenant: &Tenant, id: &str, param: &str) -> Result<Agent> {
    store
        .get_agent(tenant, id)
        .await?
        .ok_or_else(|| Error::not_found("agent", id, param))
}

/// One page of the tenant's agents.
pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    page: PageRequest,
) -> Result<Vec<Keyed<Agent>>> {
    store.list_agents(tenant, page).await
}

/// Deletes an agent and its conversations; `404 not_found` if absent.
pub async fn delete(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<()> {
    if store.delete_agent(tenant, id).await? {
        Ok(())
    } else {
        Err(Error::not_found("agent", id, "id"))
    }
}

fn parse_name(name: String) -> Result<String> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            format!(
                "name must be 1 to {MAX_NAME_CHARS} characters (Unicode scalar values), not blank, without control characters"
            ),
        ));
    }
    Ok(name)
}

fn parse_instructions(text: String) -> Result<String> {
    if text.chars().count() > MAX_INSTRUCTIONS_CHARS {
        return Err(Error::invalid(
            "instructions",
            format!("instructions must be at most {MAX_INSTRUCTIONS_CHARS} characters"),
        ));
    }
    Ok(text)
}

fn parse_max_steps(value: i64) -> Result<u32> {
    if (1..=MAX_MAX_STEPS).contains(&value) {
        Ok(value as u32)
    } else {
        Err(Error::invalid(
            "max_steps",
            format!("max_steps must be between 1 and {MAX_MAX_STEPS}"),
        ))
    }
}
