//! `/v1/agents/{id}/conversations/{conversation_id}/cancel` and
//! `/v1/agents/{id}/usage`.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::{Caller, Permission};
use crate::api::envelope::{Envelope, Reply};
use crate::api::extract::PathParams;
use crate::app::AppState;
use crate::clock;
use crate::error::Result;
use crate::store::UsageRow;

/// An answer of an agent, as `cancel` reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "object", rename = "answer")]
pub struct AnswerView {
    /// The answer's id: the id of its final assistant message.
    pub id: String,
    pub agent_id: String,
    pub conversation_id: String,
    /// `running`, `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// Stop the answer in progress in a conversation.
///
/// In-flight model and tool calls are abandoned, open tool calls are closed
/// with an error result, and a final assistant message with
/// `stop_reason: cancelled` holds what was written so far. Answers once the
/// answer has stopped (or after 10 s, with `status: running`).
#[utoipa::path(
    post, path = "/v1/agents/{id}/conversations/{conversation_id}/cancel", tag = "Messages",
    operation_id = "cancelAnswer",
    params(
        ("id" = String, Path, description = "The agent's id, `agt_…`."),
        ("conversation_id" = String, Path, description = "The conversation."),
    ),
    responses(
        (status = 200, description = "The answer, stopped.", body = Envelope<AnswerView>),
        (status = 409, description = "Nothing is answering in this conversation.", body = crate::api::error::ErrorBody),
    ),
    security(("bearer" = ["messages:write"]), ("api_key" = ["messages:write"]))
)]
pub async fn cancel_answer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, conversation_id)): PathParams<(String, String)>,
) -> Result<Reply<AnswerView>> {
    caller.require(Permission::MessagesWrite)?;
    let answer = state
        .conversations
        .cancel(&caller.tenant, &id, &conversation_id)
        .await?;
    Ok(Reply::ok(AnswerView {
        id: answer.id,
        agent_id: answer.agent_id,
        conversation_id: answer.conversation_id,
        status: answer.status.as_str(),
        created_at: answer.created_at,
    }))
}

/// Token totals under one key.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageTotals {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Totals of one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayUsage {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Totals of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// An agent's token usage: the sum over its assistant messages.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "object", rename = "usage")]
pub struct AgentUsage {
    pub agent_id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Oldest day first.
    pub by_day: Vec<DayUsage>,
    pub by_model: Vec<ModelUsage>,
}

/// An agent's token usage, in total, by day and by model.
#[utoipa::path(
    get, path = "/v1/agents/{id}/usage", tag = "Agents", operation_id = "getAgentUsage",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    responses((status = 200, description = "The agent's usage.", body = Envelope<AgentUsage>)),
    security(("bearer" = ["agents:read"]), ("api_key" = ["agents:read"]))
)]
pub async fn agent_usage(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<AgentUsage>> {
    caller.require(Permission::AgentsRead)?;
    let (by_day, by_model) = state.conversations.usage(&caller.tenant, &id).await?;
    let total = |rows: &[UsageRow]| {
        rows.iter().fold((0, 0), |(i, o), r| {
            (i + r.input_tokens, o + r.output_tokens)
        })
    };
    let (input_tokens, output_tokens) = total(&by_day);
    Ok(Reply::ok(AgentUsage {
        agent_id: id,
        input_tokens,
        output_tokens,
        by_day: by_day
            .into_iter()
            .map(|r| DayUsage {
                date: r.key,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
            })
            .collect(),
        by_model: by_model
            .into_iter()
            .map(|r| ModelUsage {
                model: r.key,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
            })
            .collect(),
    }))
}
