//! `/v1/agents/{id}/messages`: talk to an agent and read a conversation
//! (CONTRACT §7 Messages).

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Caller, Permission};
use crate::api::envelope::{Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::conversations::{self, Message, SendMessage};
use crate::error::{Error, Result};

/// Which conversation to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    /// The conversation; left out, `default` (as when sending).
    pub conversation_id: Option<String>,
}

/// Send a message to an agent and get its reply.
///
/// The user's message is stored, the agent answers with its model given its
/// instructions and the conversation so far, and the reply (an `assistant`
/// message) is stored and returned. If the model fails the answer is `502
/// model_error` and the user's message stays stored.
#[utoipa::path(
    post, path = "/v1/agents/{id}/messages", tag = "Messages", operation_id = "sendMessage",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "The agent's reply.", body = Envelope<Message>),
        (status = 502, description = "The model provider failed or timed out.", body = crate::api::error::ErrorBody),
    ),
    security(("bearer" = ["messages:write"]), ("api_key" = ["messages:write"]))
)]
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SendMessage>,
) -> Result<Reply<Message>> {
    caller.require(Permission::MessagesWrite)?;
    let reply = conversations::send(
        state.store.as_ref(),
        &state.models,
        &caller.tenant,
        &id,
        input,
    )
    .await?;
    Ok(Reply::created(reply))
}

/// A conversation's history, newest first by default.
#[utoipa::path(
    get, path = "/v1/agents/{id}/messages", tag = "Messages", operation_id = "listMessages",
    params(("id" = String, Path, description = "The agent's id, `agt_…`."), ConversationParams, PageParams),
    responses((status = 200, description = "A page of messages.", body = ListEnvelope<Message>)),
    security(("bearer" = ["messages:read"]), ("api_key" = ["messages:read"]))
)]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(conversation): QueryParams<ConversationParams>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Message>, Error> {
    caller.require(Permission::MessagesRead)?;
    let conversation_id = conversations::parse_conversation_id(conversation.conversation_id)?;
    let list = format!(
        "messages\n{}\n{}\n{id}\n{conversation_id}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    );
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = conversations::list(
        state.store.as_ref(),
        &caller.tenant,
        &id,
        &conversation_id,
        request,
    )
    .await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}
