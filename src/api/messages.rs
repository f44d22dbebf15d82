//! `/v1/agents/{id}/messages`: talk to an agent, read a conversation, and
//! resume an answer's stream (CONTRACT §7 Messages).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::access::{Caller, Permission};
use crate::api::envelope::{Envelope, ListEnvelope, Page, Reply};
use crate::api::error::ErrorBody;
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::conversations::stream::EventStream;
use crate::conversations::{self, Message, SendMessage};
use crate::error::{Error, Result};

/// Which conversation to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    /// The conversation; left out, `default` (as when sending).
    pub conversation_id: Option<String>,
}

/// Where to resume a stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeParams {
    /// The last event id received, for clients that cannot send the
    /// `Last-Event-ID` header (the header wins when both are sent).
    pub last_event_id: Option<String>,
}

/// Send a message to an agent and get its reply.
///
/// The user's message is stored, then the agent answers with its model,
/// given its instructions and the conversation so far, calling its tools
/// as the model asks (at most `max_steps` rounds). The reply — the final
/// `assistant` message — is stored and returned. If the model fails the
/// answer is `502 model_error`; the user's message stays stored.
///
/// With `"stream": true` the answer is a `text/event-stream` of
/// `answer.started` (its `id` is the final message's id), `message.delta`
/// (`{"delta": "…"}`), `tool_call.started`, `tool_call.completed`, then
/// `message.completed` (the stored final message) or `error`. Every event
/// has an `id:`; resume with `GET /v1/agents/{id}/messages/{message_id}/stream`.
/// A client that disconnects does not stop the answer.
#[utoipa::path(
    post, path = "/v1/agents/{id}/messages", tag = "Messages", operation_id = "sendMessage",
    params(("id" = String, Path, description = "The agent's id, `agt_…`.")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "The agent's reply.", body = Envelope<Message>),
        (status = 200, description = "With `stream: true`: the answer's events.", content_type = "text/event-stream", body = String),
        (status = 409, description = "The conversation is answering another message.", body = ErrorBody),
        (status = 502, description = "The model provider failed or timed out.", body = ErrorBody),
    ),
    security(("bearer" = ["messages:write"]), ("api_key" = ["messages:write"]))
)]
pub async fn send_message(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<SendMessage>,
) -> Result<Response> {
    caller.require(Permission::MessagesWrite)?;
    let (started, stream) = state.conversations.send(&caller.tenant, &id, input).await?;
    if stream {
        let events = state
            .conversations
            .events(&caller.tenant, &id, &started.answer_id, 0)
            .await?;
        return Ok(sse(events));
    }
    let reply = started
        .done
        .await
        .map_err(|err| Error::Internal(anyhow::anyhow!("the answer task failed: {err}")))??;
    Ok(Reply::created(reply).into_response())
}

/// Resume an answer's stream.
///
/// Sends the events of the answer `message_id` after the one named by
/// `Last-Event-ID` (all of them without it), then follows the answer until
/// it ends. Events are kept for 48 hours after the answer finishes.
#[utoipa::path(
    get, path = "/v1/agents/{id}/messages/{message_id}/stream", tag = "Messages", operation_id = "resumeStream",
    params(
        ("id" = String, Path, description = "The agent's id, `agt_…`."),
        ("message_id" = String, Path, description = "The answer's id (`id` of `answer.started`, the final message's id)."),
        ("Last-Event-ID" = Option<String>, Header, description = "The last event id received."),
        ResumeParams,
    ),
    responses((status = 200, description = "The remaining events.", content_type = "text/event-stream", body = String)),
    security(("bearer" = ["messages:read"]), ("api_key" = ["messages:read"]))
)]
pub async fn resume_stream(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, message_id)): PathParams<(String, String)>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<ResumeParams>,
) -> Result<Response> {
    caller.require(Permission::MessagesRead)?;
    let (raw, param) = match headers.get("last-event-id") {
        Some(value) => (
            Some(value.to_str().unwrap_or("?").to_string()),
            "Last-Event-ID",
        ),
        None => (params.last_event_id, "last_event_id"),
    };
    let after = match raw.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                Error::invalid(
                    param,
                    "The last event id must be an event id from this stream",
                )
            })?,
    };
    let events = state
        .conversations
        .events(&caller.tenant, &id, &message_id, after)
        .await?;
    Ok(sse(events))
}

/// Events as a Server-Sent Events response, with keep-alive comments.
fn sse(events: EventStream) -> Response {
    let events = events.map(|event| {
        Ok::<_, Infallible>(
            Event::default()
                .id(event.seq.to_string())
                .event(event.event)
                .data(event.data),
        )
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
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
    PathParams(id): PathParams<String>,
    QueryParams(conversation): QueryParams<ConversationParams>,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<Message>> {
    caller.require(Permission::MessagesRead)?;
    let conversation_id = conversations::parse_conversation_id(conversation.conversation_id)?;
    let list = format!(
        "messages\n{}\n{}\n{id}\n{conversation_id}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    );
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = state
        .conversations
        .list(&caller.tenant, &id, &conversation_id, request)
        .await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}
