//! Workflows (CONTRACT §7 Workflows): declarative steps, durable runs,
//! cancel, step history. [`definition`] checks definitions, [`template`]
//! renders their values, [`executor`] runs steps, [`worker`] claims runs and
//! holds the service; this module holds the request rules.

pub mod definition;
pub mod executor;
pub mod template;
pub mod types;
pub mod worker;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

pub use types::{Run, RunStatus, StepRun, StepStatus, Workflow};
pub use worker::{WorkflowSettings, Workflows};

use crate::access::Tenant;
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::store::{Keyed, PageRequest};

/// Longest workflow name, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest `wait` of a run request, in seconds.
pub const MAX_RUN_WAIT_SECONDS: f64 = 60.0;

/// Body of `POST /v1/workflows`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkflow {
    /// 1–256 characters.
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    pub description: Option<String>,
    /// JSON Schema the run input must match.
    pub input_schema: Option<Value>,
    /// The steps (see the contract): each `{id, type, …}`.
    #[schema(required = true, value_type = Vec<Object>)]
    pub steps: Option<Value>,
    /// Output template; left out, the last step's output.
    pub output: Option<Value>,
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Body of `PATCH /v1/workflows/{id}`: only the fields sent change; a new
/// `input_schema`, `steps` or `output` makes a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkflow {
    pub name: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Option<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub steps: Option<Value>,
    /// Any JSON with templates, as at creation; `null` removes it (the
    /// last step's output is the run's).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub output: Option<Option<Value>>,
    /// A JSON Merge Patch (RFC 7396) of the metadata.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// Body of `POST /v1/workflows/{id}/run`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The run input; default `{}`.
    pub input: Option<Value>,
    /// Seconds (at most 60) to wait for the run to end before answering.
    pub wait: Option<f64>,
}

fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Checks a run input against a workflow's input schema.
///
/// Errors: `400 invalid_request` with `param: input` or `input.<path>`.
pub fn check_input(schema: Option<&Value>, input: &Value) -> Result<()> {
    let Some(schema) = schema else { return Ok(()) };
    let validator = jsonschema::validator_for(schema).map_err(|err| {
        Error::Internal(anyhow::anyhow!(
            "a stored input schema does not compile: {err}"
        ))
    })?;
    if let Some(error) = validator.iter_errors(input).next() {
        let pointer = error.instance_path().to_string();
        let param = if pointer.is_empty() {
            "input".to_string()
        } else {
            format!("input{}", pointer.replace('/', "."))
        };
        return Err(Error::invalid(
            param,
            format!("The input does not match the workflow's input_schema: {error}"),
        ));
    }
    Ok(())
}

fn parse_name(name: String) -> Result<String> {
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters, not blank"),
        ));
    }
    Ok(name)
}

impl Workflows {
    /// Checks a definition and what it refers to: its agents exist, its
    /// sub-workflows exist and do not lead back to `own_id`.
    async fn check_definition(
        &self,
        tenant: &Tenant,
        own_id: Option<&str>,
        input_schema: Option<&Value>,
        steps: &Value,
        output: Option<&Value>,
    ) -> Result<()> {
        let checked = definition::check(input_schema, steps, output, &self.templates, &self.guard)?;
        for (agent_id, param) in &checked.agents {
            if self.store.get_agent(tenant, agent_id).await?.is_none() {
                return Err(Error::invalid(
                    param,
                    format!("No such agent: '{agent_id}'"),
                ));
            }
        }
        for (workflow_id, param) in &checked.workflows {
            if Some(workflow_id.as_str()) == own_id {
                return Err(Error::invalid(param, "a workflow cannot run itself"));
            }
            let mut pending = vec![workflow_id.clone()];
            let mut visited = HashSet::new();
            while let Some(next) = pending.pop() {
                if !visited.insert(next.clone()) {
                    continue;
                }
                let Some(target) = self.store.get_workflow(tenant, &next).await? else {
                    return Err(Error::invalid(param, format!("No such workflow: '{next}'")));
                };
                let nested = self.parse(&target.definition())?;
                let mut refs = Vec::new();
                collect_workflows(&nested.steps, &mut refs);
                if own_id.is_some_and(|own| refs.iter().any(|r| r == own)) {
                    return Err(Error::invalid(
                        param,
                        format!("the workflow '{workflow_id}' leads back to this one: a cycle"),
                    ));
                }
                pending.extend(refs);
            }
        }
        Ok(())
    }

    /// Creates a workflow (version 1).
    ///
    /// Errors: `400` naming the field: a bad name, schema or step, an
    /// unknown agent or sub-workflow.
    pub async fn create(&self, tenant: &Tenant, input: CreateWorkflow) -> Result<Workflow> {
        let name = parse_name(
            input
                .name
                .ok_or_else(|| Error::invalid("name", "The 'name' field is required"))?,
        )?;
        let steps = input
            .steps
            .ok_or_else(|| Error::invalid("steps", "The 'steps' field is required"))?;
        self.check_definition(
            tenant,
            None,
            input.input_schema.as_ref(),
            &steps,
            input.output.as_ref(),
        )
        .await?;
        let now = clock::now_ms();
        let workflow = Workflow {
            id: new_id(IdKind::Workflow),
            name,
            description: input.description,
            version: 1,
            input_schema: input.input_schema,
            steps,
            output: input.output,
            metadata: metadata::validate(input.metadata.unwrap_or_default())?,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_workflow(tenant, &workflow).await?;
        Ok(workflow)
    }

    /// Applies the fields sent; a changed definition becomes a new version.
    pub async fn update(
        &self,
        tenant: &Tenant,
        id: &str,
        input: UpdateWorkflow,
    ) -> Result<Workflow> {
        let current = self.get(tenant, id).await?;
        let name = input.name.map(parse_name).transpose()?;
        let definition_changed =
            input.input_schema.is_some() || input.steps.is_some() || input.output.is_some();
        let input_schema = input.input_schema.unwrap_or(current.input_schema);
        let steps = input.steps.unwrap_or(current.steps);
        let output = input.output.unwrap_or(current.output);
        // Held until the save: a concurrent change cannot close a cycle
        // this check did not see.
        let _changes = if definition_changed {
            Some(self.store.lock_workflow_changes(tenant).await?)
        } else {
            None
        };
        if definition_changed {
            self.check_definition(
                tenant,
                Some(id),
                input_schema.as_ref(),
                &steps,
                output.as_ref(),
            )
            .await?;
        }
        let description = input.description;
        let metadata_patch = input.metadata;
        let change = move |mut workflow: Workflow| -> Result<Workflow> {
            if let Some(patch) = metadata_patch {
                workflow.metadata = metadata::merge(workflow.metadata, patch)?;
            }
            workflow.name = name.unwrap_or(workflow.name);
            workflow.description = description.unwrap_or(workflow.description);
            if definition_changed {
                let before = workflow.definition();
                workflow.input_schema = input_schema;
                workflow.steps = steps;
                workflow.output = output;
                if workflow.definition() != before {
                    workflow.version += 1;
                }
            }
            workflow.updated_at = clock::now_ms().max(workflow.updated_at);
            Ok(workflow)
        };
        self.store
            .update_workflow(tenant, id, Box::new(change))
            .await?
            .ok_or_else(|| Error::not_found("workflow", id, "id"))
    }

    /// The workflow, or `404` (`param: id`).
    pub async fn get(&self, tenant: &Tenant, id: &str) -> Result<Workflow> {
        self.store
            .get_workflow(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("workflow", id, "id"))
    }

    /// One page of workflows.
    pub async fn list(&self, tenant: &Tenant, page: PageRequest) -> Result<Vec<Keyed<Workflow>>> {
        self.store.list_workflows(tenant, page).await
    }

    /// Deletes a workflow; its runs and their versions stay readable.
    pub async fn delete(&self, tenant: &Tenant, id: &str) -> Result<()> {
        if self.store.delete_workflow(tenant, id).await? {
            Ok(())
        } else {
            Err(Error::not_found("workflow", id, "id"))
        }
    }

    /// Starts a run of the workflow's current version; with `wait`, waits
    /// (at most 60 s) for it to end. Returns the run and whether it ended.
    ///
    /// Errors: `404`; `400` for an input not matching the input schema
    /// (`param: input…`) or a bad `wait`.
    pub async fn start(&self, tenant: &Tenant, id: &str, request: StartRun) -> Result<(Run, bool)> {
        let workflow = self.get(tenant, id).await?;
        let input = request
            .input
            .unwrap_or_else(|| Value::Object(Default::default()));
        check_input(workflow.input_schema.as_ref(), &input)?;
        let wait = match request.wait {
            None => None,
            Some(seconds) if (0.0..=MAX_RUN_WAIT_SECONDS).contains(&seconds) => {
                Some(Duration::from_secs_f64(seconds))
            }
            Some(_) => {
                return Err(Error::invalid(
                    "wait",
                    format!("wait must be 0 to {MAX_RUN_WAIT_SECONDS} seconds"),
                ));
            }
        };
        let run = self
            .enqueue(tenant, &workflow.id, workflow.version, input)
            .await?;
        match wait {
            None => Ok((run, false)),
            Some(wait) => {
                let run = self.wait_for(tenant, &run.id, wait).await?;
                let ended = run.status.is_final();
                Ok((run, ended))
            }
        }
    }

    /// Whether the workflow's current version has `agent` steps (running it
    /// then also needs `messages:write`: it talks in agents' conversations).
    pub async fn uses_agents(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let workflow = self.get(tenant, id).await?;
        Ok(definition::uses_agents(
            &self.parse(&workflow.definition())?.steps,
        ))
    }

    /// A run with its steps, or `404` (`param: id`).
    pub async fn run(&self, tenant: &Tenant, id: &str) -> Result<Run> {
        self.store
            .get_run(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found("run", id, "id"))
    }

    /// One page of a workflow's runs (deleted workflows' too).
    pub async fn runs(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Run>>> {
        self.store.list_runs(tenant, workflow_id, page).await
    }

    /// Cancels a run; answers it once stopped (or after 10 s).
    ///
    /// Errors: `404`; `409 conflict` for a run that already ended.
    pub async fn cancel_run(&self, tenant: &Tenant, id: &str) -> Result<Run> {
        self.cancel(tenant, id).await
    }
}

fn collect_workflows(steps: &[definition::Step], out: &mut Vec<String>) {
    use definition::Kind;
    for step in steps {
        match &step.kind {
            Kind::Workflow { workflow_id, .. } => out.push(workflow_id.clone()),
            Kind::Branch {
                then, otherwise, ..
            } => {
                collect_workflows(then, out);
                collect_workflows(otherwise, out);
            }
            Kind::Parallel { branches } => branches.iter().for_each(|b| collect_workflows(b, out)),
            Kind::Map { steps, .. } => collect_workflows(steps, out),
            _ => {}
        }
    }
}

#[async_trait::async_trait]
impl crate::conversations::tools::WorkflowTools for Workflows {
    async fn run_workflow(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        input: Value,
        depth: u32,
    ) -> std::result::Result<Value, String> {
        self.run_for_tool(tenant, workflow_id, input, depth).await
    }
}
