//! The workflow resources as stored and shown: [`Workflow`], [`Run`] and
//! [`StepRun`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::clock;
use crate::metadata::Metadata;

/// A workflow: a named, versioned definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "workflow")]
pub struct Workflow {
    /// `wf_…`
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// 1 on creation, +1 on each change of the definition.
    pub version: u32,
    /// JSON Schema the run input must match.
    pub input_schema: Option<Value>,
    /// The steps, as sent.
    #[schema(value_type = Vec<Object>)]
    pub steps: Value,
    /// The run output template; left out, the last step's output.
    pub output: Option<Value>,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl Workflow {
    /// The stored definition: `{input_schema, steps, output}`.
    pub fn definition(&self) -> Value {
        serde_json::json!({"input_schema": self.input_schema, "steps": self.steps, "output": self.output})
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<RunStatus> {
        [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

/// Where a step execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

impl StepStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<StepStatus> {
        [
            StepStatus::Running,
            StepStatus::Succeeded,
            StepStatus::Failed,
            StepStatus::Skipped,
            StepStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One execution of one step of a run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepRun {
    /// Where the step ran: its id, under its container for nested steps
    /// (`route/then/refund`, `each/2/up`, `both/0/a`).
    pub path: String,
    /// The step's `id` in the definition.
    pub id: String,
    /// The step's `type`.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: StepStatus,
    /// Attempts made, retries included.
    pub attempts: u32,
    /// What the step was given, templates rendered.
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: i64,
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<i64>,
    /// Start order within the run.
    #[serde(skip)]
    pub seq: i64,
}

/// A run of a workflow.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "run")]
pub struct Run {
    /// `run_…`
    pub id: String,
    pub workflow_id: String,
    /// The version of the workflow the run executes.
    pub workflow_version: u32,
    /// The run that started this one (a `workflow` step), if any.
    pub parent_run_id: Option<String>,
    pub status: RunStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    /// Each step execution, in start order (empty in lists).
    pub steps: Vec<StepRun>,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<i64>,
    #[serde(serialize_with = "clock::serialize_optional_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<i64>,
}
