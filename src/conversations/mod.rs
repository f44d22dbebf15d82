//! Conversations: agents answering messages (CONTRACT §7 Messages). This
//! module holds the message type and the request rules; [`engine`] runs
//! answers, [`tools`] runs tool calls, [`context`] fits the history into the
//! model's window, [`stream`] serves an answer's events, [`live`] tracks
//! answers running in this process.

pub mod context;
pub mod engine;
pub mod live;
pub mod stream;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Tenant;
use crate::agents::{self, Agent};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::models::{Role, StopReason, ToolCall, Usage};
use crate::store::{AnswerRecord, Keyed, PageRequest, Store, UsageRow};
use context::ContextReport;
use engine::{Engine, Request, Started};

/// The conversation a message goes to when the request names none.
pub const DEFAULT_CONVERSATION: &str = "default";
/// Longest conversation id, in characters.
pub const MAX_CONVERSATION_ID_CHARS: usize = 128;
/// Longest message content, in characters.
pub const MAX_CONTENT_CHARS: usize = 200_000;

/// A stored message of a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "message")]
pub struct Message {
    /// `msg_…`
    pub id: String,
    pub agent_id: String,
    pub conversation_id: String,
    pub role: Role,
    pub content: String,
    /// The calls an assistant message asked for (assistant messages that
    /// called tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a tool message answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool a tool message comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Whether a tool call failed (tool messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// The model that wrote an assistant message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tokens the model call that wrote it used; on assistant messages, else
    /// `null`. An answer's usage is the sum over its assistant messages.
    pub usage: Option<Usage>,
    /// Why the model call stopped; on assistant messages, else `null`:
    /// `end_turn`, `max_steps`, `max_tokens`, `cancelled`, `error`, or
    /// `tool_use` on the assistant messages of tool rounds.
    pub stop_reason: Option<StopReason>,
    /// Present when older messages were left out to fit the model's context
    /// window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextReport>,
    #[schema(value_type = crate::metadata::MetadataSchema)]
    pub metadata: Metadata,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

impl Message {
    /// A new message of `agent` in a conversation, stamped now.
    pub fn new(agent: &Agent, conversation_id: &str, role: Role, content: String) -> Message {
        Message {
            id: new_id(IdKind::Message),
            agent_id: agent.id.clone(),
            conversation_id: conversation_id.to_string(),
            role,
            content,
            tool_calls: None,
            tool_call_id: None,
            tool_name: None,
            is_error: None,
            model: None,
            usage: None,
            stop_reason: None,
            context: None,
            metadata: Metadata::new(),
            created_at: clock::now_ms(),
        }
    }
}

/// What to do with a message sent while its conversation is answering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnBusy {
    /// Answer `409 conflict` (the default).
    #[default]
    Reject,
    /// Wait, and answer after the messages before it, in order.
    Enqueue,
}

/// Body of `POST /v1/agents/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The user's message, 1–200,000 characters.
    #[schema(required = true, value_type = String)]
    pub content: Option<String>,
    /// Any string of 1–128 characters; left out, `default`.
    pub conversation_id: Option<String>,
    /// `true` answers `text/event-stream`: `answer.started`,
    /// `message.delta`, `tool_call.started`, `tool_call.completed`, then
    /// `message.completed` (the stored final message) or `error`.
    pub stream: Option<bool>,
    /// `reject` (default) or `enqueue`.
    pub on_busy: Option<OnBusy>,
    /// Metadata stored on the user's message.
    #[schema(value_type = Option<crate::metadata::MetadataSchema>)]
    pub metadata: Option<Metadata>,
}

/// Checks a conversation id: 1–128 characters, no control characters.
///
/// Errors: `400 invalid_request` with `param: conversation_id`.
pub fn parse_conversation_id(id: Option<String>) -> Result<String> {
    let id = id.unwrap_or_else(|| DEFAULT_CONVERSATION.to_string());
    let chars = id.chars().count();
    if chars == 0 || chars > MAX_CONVERSATION_ID_CHARS || id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "conversation_id",
            format!(
                "conversation_id must be 1 to {MAX_CONVERSATION_ID_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(id)
}

/// The conversation service the API calls.
pub struct Conversations {
    engine: Arc<Engine>,
}

impl Conversations {
    /// Wraps the engine.
    pub fn new(engine: Engine) -> Self {
        Conversations {
            engine: Arc::new(engine),
        }
    }

    /// Lets agents' `workflow` tools run workflows.
    pub fn connect_workflows(&self, workflows: Arc<dyn tools::WorkflowTools>) {
        self.engine.tools.connect(workflows);
    }

    fn store(&self) -> &dyn Store {
        self.engine.store.as_ref()
    }

    /// Validates a message, takes the conversation's lock, stores the
    /// message and starts the answer.
    ///
    /// Errors: `404` (`param: id`) for an unknown agent; `400` for bad
    /// input; `409 conflict` when the conversation is busy and `on_busy` is
    /// `reject`.
    pub async fn send(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        input: SendMessage,
    ) -> Result<(Started, bool)> {
        self.send_nested(tenant, agent_id, input, 0).await
    }

    /// [`Conversations::send`] from inside other work (a workflow's agent
    /// step): `depth` counts the agents and workflows around it, and a
    /// `workflow` tool called by this answer runs one deeper, so agents and
    /// workflows calling each other stop at
    /// [`MAX_DEPTH`](crate::workflows::executor::MAX_DEPTH).
    pub async fn send_nested(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        input: SendMessage,
        depth: u32,
    ) -> Result<(Started, bool)> {
        let content = input
            .content
            .ok_or_else(|| Error::invalid("content", "The 'content' field is required"))?;
        if content.is_empty() || content.chars().count() > MAX_CONTENT_CHARS {
            return Err(Error::invalid(
                "content",
                format!("content must be 1 to {MAX_CONTENT_CHARS} characters"),
            ));
        }
        let request = Request {
            content,
            conversation_id: parse_conversation_id(input.conversation_id)?,
            metadata: metadata::validate(input.metadata.unwrap_or_default())?,
            on_busy: input.on_busy.unwrap_or_default(),
            stream: input.stream.unwrap_or(false),
            depth,
        };
        let stream = request.stream;
        let agent = agents::get(self.store(), tenant, agent_id, "id").await?;
        // A message that cannot fit the model's window even alone is refused
        // before anything is stored.
        let window = self.engine.models.catalog().context_window(&agent.model);
        let alone = [crate::models::Turn::User {
            content: request.content.clone(),
        }];
        context::fit(
            &agent.instructions,
            &tools::specs(&agent.tools),
            &alone,
            window,
        )?;
        // Started on its own task: a queued message (`on_busy: enqueue`)
        // is stored and answered even if the client goes away while it
        // waits for its turn.
        let engine = self.engine.clone();
        let tenant = tenant.clone();
        let started = tokio::spawn(async move { engine.start(&tenant, agent, request).await })
            .await
            .map_err(|err| Error::Internal(anyhow::anyhow!("the answer task failed: {err}")))??;
        Ok((started, stream))
    }

    /// One page of a conversation's messages, after checking the agent.
    pub async fn list(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Message>>> {
        agents::get(self.store(), tenant, agent_id, "id").await?;
        self.store()
            .list_messages(tenant, agent_id, conversation_id, page)
            .await
    }

    /// Token totals of an agent, by day and by model.
    pub async fn usage(
        &self,
        tenant: &Tenant,
        agent_id: &str,
    ) -> Result<(Vec<UsageRow>, Vec<UsageRow>)> {
        agents::get(self.store(), tenant, agent_id, "id").await?;
        self.store().usage(tenant, agent_id).await
    }

    /// Stops an answer this process is running (its caller gave up on
    /// it: a cancelled or timed-out workflow step); it ends `cancelled`.
    pub fn stop(&self, answer_id: &str) {
        self.engine.live.cancel(answer_id);
    }

    /// Stops the conversation's answer in progress and waits (up to 10 s)
    /// for it to record `cancelled`.
    ///
    /// Errors: `404` for an unknown agent; `409 conflict` (`param:
    /// conversation_id`) when nothing is answering.
    pub async fn cancel(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
    ) -> Result<AnswerRecord> {
        agents::get(self.store(), tenant, agent_id, "id").await?;
        let running = self
            .store()
            .running_answer(tenant, agent_id, conversation_id)
            .await?
            .ok_or_else(|| Error::Conflict {
                message: format!("The conversation '{conversation_id}' has no answer in progress."),
                param: Some("conversation_id".into()),
            })?;
        self.store().request_cancel(tenant, &running.id).await?;
        self.engine.live.cancel(&running.id);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let answer = self
                .store()
                .get_answer(tenant, agent_id, &running.id)
                .await?;
            match answer {
                Some(answer) if answer.status != crate::store::AnswerStatus::Running => {
                    return Ok(answer);
                }
                Some(answer) if tokio::time::Instant::now() >= deadline => return Ok(answer),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// The events of an answer after `after`, as a stream that ends with
    /// the answer.
    ///
    /// Errors: `404` (`param: message_id`) when the agent has no such answer
    /// (or its events are older than the retention).
    pub async fn events(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        answer_id: &str,
        after: i64,
    ) -> Result<stream::EventStream> {
        agents::get(self.store(), tenant, agent_id, "id").await?;
        self.store()
            .get_answer(tenant, agent_id, answer_id)
            .await?
            .ok_or_else(|| Error::not_found("streamed answer", answer_id, "message_id"))?;
        Ok(stream::tail(
            self.engine.clone(),
            tenant.clone(),
            agent_id.to_string(),
            answer_id.to_string(),
            after,
        ))
    }
}
