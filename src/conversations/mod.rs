//! Conversations: an agent answering a message (CONTRACT §7 Messages). The
//! user's message is stored first, so it survives a failing model; the
//! agent's model is given its instructions and the whole conversation; the
//! reply is stored and returned.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Tenant;
use crate::agents;
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::{self, Metadata};
use crate::models::{Models, Role, StopReason, Turn, Usage};
use crate::store::{Keyed, PageRequest, Store};

/// The conversation a message goes to when the request names none.
pub const DEFAULT_CONVERSATION: &str = "default";
/// Longest conversation id, in characters.
pub const MAX_CONVERSATION_ID_CHARS: usize = 128;
/// Longest message content, in characters.
pub const MAX_CONTENT_CHARS: usize = 200_000;

/// A stored message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "object", rename = "message")]
pub struct Message {
    /// `msg_…`
    pub id: String,
    pub agent_id: String,
    pub conversation_id: String,
    pub role: Role,
    pub content: String,
    /// Tokens the answer used; on assistant messages, else `null`.
    pub usage: Option<Usage>,
    /// Why the answer ended; on assistant messages, else `null`.
    pub stop_reason: Option<StopReason>,
    pub metadata: Metadata,
    #[serde(serialize_with = "clock::serialize_ms")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// Body of `POST /v1/agents/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The user's message, 1–200,000 characters.
    #[schema(required = true)]
    pub content: Option<String>,
    /// Any string of 1–128 characters; left out, `default`.
    pub conversation_id: Option<String>,
    /// Streaming (`text/event-stream`) is not available in this version;
    /// `true` is refused with `400`.
    pub stream: Option<bool>,
    /// Metadata stored on the user's message.
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

/// Stores the user's message, asks the agent's model and stores its reply,
/// which is returned.
///
/// Errors: `404` (`param: id`) for an unknown agent; `400` for bad input;
/// `502 model_error` when the model fails — the user's message stays stored.
pub async fn send(
    store: &dyn Store,
    models: &Models,
    tenant: &Tenant,
    agent_id: &str,
    input: SendMessage,
) -> Result<Message> {
    let content = input
        .content
        .ok_or_else(|| Error::invalid("content", "The 'content' field is required"))?;
    if content.is_empty() || content.chars().count() > MAX_CONTENT_CHARS {
        return Err(Error::invalid(
            "content",
            format!("content must be 1 to {MAX_CONTENT_CHARS} characters"),
        ));
    }
    let conversation_id = parse_conversation_id(input.conversation_id)?;
    if input.stream == Some(true) {
        return Err(Error::invalid(
            "stream",
            "streaming answers are not available in this version; send 'stream': false",
        ));
    }
    let metadata = metadata::validate(input.metadata.unwrap_or_default())?;
    let agent = agents::get(store, tenant, agent_id, "id").await?;

    let user_message = Message {
        id: new_id(IdKind::Message),
        agent_id: agent.id.clone(),
        conversation_id: conversation_id.clone(),
        role: Role::User,
        content,
        usage: None,
        stop_reason: None,
        metadata,
        created_at: clock::now_ms(),
    };
    store.insert_message(tenant, &user_message).await?;

    let history = store
        .conversation(tenant, &agent.id, &conversation_id)
        .await?;
    let turns: Vec<Turn> = history
        .into_iter()
        .map(|m| Turn {
            role: m.role,
            content: m.content,
        })
        .collect();
    let reply = models
        .complete(&agent.model, &agent.instructions, &turns)
        .await?;

    let answer = Message {
        id: new_id(IdKind::Message),
        agent_id: agent.id,
        conversation_id,
        role: Role::Assistant,
        content: reply.content,
        usage: Some(reply.usage),
        stop_reason: Some(reply.stop_reason),
        metadata: Metadata::new(),
        created_at: clock::now_ms().max(user_message.created_at),
    };
    store.insert_message(tenant, &answer).await?;
    Ok(answer)
}

/// One page of a conversation's messages, after checking the agent exists.
pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    agent_id: &str,
    conversation_id: &str,
    page: PageRequest,
) -> Result<Vec<Keyed<Message>>> {
    agents::get(store, tenant, agent_id, "id").await?;
    store
        .list_messages(tenant, agent_id, conversation_id, page)
        .await
}
