//! The answer loop: an agent answering one user message.
//!
//! Each answer runs in its own task, so a client that disconnects does not
//! stop it. Under the conversation's lock (the in-process gate, then the
//! database row of the answer, held with a lease renewed by a heartbeat) it
//! stores the user's message, then asks the model; while the model calls
//! tools it stores each assistant turn and each tool result and asks again,
//! up to the agent's `max_steps` rounds; then one last call without tools
//! gives the final answer (`stop_reason: max_steps`). The final assistant
//! message carries the answer's id. A cancelled answer stores what it had
//! (`stop_reason: cancelled`); a failed one stores an empty or partial
//! message with `stop_reason: error`, which later prompts skip.
//!
//! When the request streams, every event is also written to the answer's
//! event log (numbered from 1), which the stream and any reconnecting
//! client read.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::{OwnedMutexGuard, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::context::{self, ContextReport};
use super::live::{Live, Registration};
use super::tools::{self, ToolOutcome, ToolRunner};
use super::{Message, OnBusy};
use crate::access::Tenant;
use crate::agents::Agent;
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{IdKind, new_id};
use crate::metadata::Metadata;
use crate::models::{Models, Prompt, Role, StopReason, ToolCall, Turn, Usage};
use crate::store::{AnswerStatus, Store, StoredEvent};

/// How long an answer's lease lasts without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often the heartbeat renews it (and checks for remote cancels).
const HEARTBEAT: Duration = Duration::from_secs(2);
/// How often a queued message retries a lock held by another process.
const QUEUE_POLL: Duration = Duration::from_millis(100);

/// Answers messages; shared by the API.
pub struct Engine {
    pub(super) store: Arc<dyn Store>,
    pub(super) models: Arc<Models>,
    pub(super) tools: ToolRunner,
    pub(super) live: Arc<Live>,
}

/// An answer that has started: the user's message is stored.
pub struct Started {
    /// The answer's id: the id its final assistant message will have.
    pub answer_id: String,
    pub user_message: Message,
    /// Resolves to the final assistant message.
    pub done: JoinHandle<Result<Message>>,
}

/// What the caller asked for, validated.
pub(super) struct Request {
    pub content: String,
    pub conversation_id: String,
    pub metadata: Metadata,
    pub on_busy: OnBusy,
    pub stream: bool,
    /// Agents and workflows around this answer (0 from the API).
    pub depth: u32,
}

impl Engine {
    /// Builds the engine.
    pub fn new(store: Arc<dyn Store>, models: Arc<Models>, tools: ToolRunner) -> Self {
        Engine {
            store,
            models,
            tools,
            live: Arc::new(Live::default()),
        }
    }

    /// Takes the conversation's lock, stores the user's message and starts
    /// the answer task.
    ///
    /// Errors: `409 conflict` (`param: conversation_id`) when the
    /// conversation is answering and `on_busy` is `reject`.
    pub(super) async fn start(
        self: &Arc<Self>,
        tenant: &Tenant,
        agent: Agent,
        request: Request,
    ) -> Result<Started> {
        let busy = || Error::Conflict {
            message: format!(
                "The conversation '{}' is answering another message. Retry when it is done, or send \"on_busy\": \"enqueue\".",
                request.conversation_id
            ),
            param: Some("conversation_id".into()),
        };
        let gate = self.live.gate(&agent.id, &request.conversation_id);
        let gate = match request.on_busy {
            OnBusy::Reject => gate.try_lock_owned().map_err(|_| busy())?,
            OnBusy::Enqueue => gate.lock_owned().await,
        };
        let answer_id = new_id(IdKind::Message);
        let user_message = Message {
            metadata: request.metadata,
            ..Message::new(
                &agent,
                &request.conversation_id,
                Role::User,
                request.content,
            )
        };
        loop {
            let lease_until = clock::now_ms() + LEASE.as_millis() as i64;
            let begun = self
                .store
                .begin_answer(tenant, &answer_id, lease_until, &user_message)
                .await?;
            match (begun, request.on_busy) {
                (true, _) => break,
                (false, OnBusy::Reject) => return Err(busy()),
                (false, OnBusy::Enqueue) => tokio::time::sleep(QUEUE_POLL).await,
            }
        }
        let (registration, progress) = self.live.register(&answer_id);
        let answer = Answer {
            engine: self.clone(),
            tenant: tenant.clone(),
            conversation_id: request.conversation_id,
            id: answer_id.clone(),
            agent,
            depth: request.depth,
        };
        let done = tokio::spawn(answer.run(
            registration,
            progress,
            gate,
            request.stream,
            user_message.clone(),
        ));
        Ok(Started {
            answer_id,
            user_message,
            done,
        })
    }
}

/// One answer in progress.
struct Answer {
    engine: Arc<Engine>,
    tenant: Tenant,
    agent: Agent,
    conversation_id: String,
    id: String,
    /// Agents and workflows around this answer.
    depth: u32,
}

/// Sends stream events to the writer task, which numbers and stores them.
type Events = Option<mpsc::UnboundedSender<(&'static str, Value)>>;

impl Answer {
    async fn run(
        self,
        registration: Registration,
        progress: watch::Sender<i64>,
        _gate: OwnedMutexGuard<()>,
        stream: bool,
        user_message: Message,
    ) -> Result<Message> {
        let (events, writer) = if stream {
            let (sender, receiver) = mpsc::unbounded_channel();
            let writer = tokio::spawn(write_events(
                self.engine.store.clone(),
                self.id.clone(),
                receiver,
                progress,
            ));
            (Some(sender), Some(writer))
        } else {
            (None, None)
        };
        let heartbeat = tokio::spawn(heartbeat(
            self.engine.store.clone(),
            self.tenant.clone(),
            self.id.clone(),
            registration.cancel.clone(),
        ));
        emit(
            &events,
            "answer.started",
            json!({"id": self.id, "agent_id": self.agent.id, "conversation_id": self.conversation_id, "user_message": user_message}),
        );
        let ending = self.answer(&registration.cancel, &events).await;
        heartbeat.abort();
        // The events so far are stored first; the last one is stored with
        // the final message and the answer's status, in one transaction.
        drop(events);
        let written = match writer {
            Some(writer) => writer.await.ok(),
            None => None,
        };
        let status = match (&ending.message, &ending.error) {
            (_, Some(_)) => AnswerStatus::Failed,
            (Some(message), None) if message.stop_reason == Some(StopReason::Cancelled) => {
                AnswerStatus::Cancelled
            }
            _ => AnswerStatus::Completed,
        };
        let last_event = written.as_ref().map(|(seq, _)| {
            let (event, data) = match (&ending.error, &ending.message) {
                (Some(err), _) => (
                    "error",
                    json!({"error": {"code": err.code(), "message": err.public_message()}}),
                ),
                (None, message) => ("message.completed", json!(message)),
            };
            StoredEvent {
                seq: seq + 1,
                event: event.to_string(),
                data: data.to_string(),
            }
        });
        let finished = self
            .engine
            .store
            .finish_answer(
                &self.tenant,
                &self.id,
                status,
                ending.message.as_ref(),
                last_event.as_ref(),
            )
            .await;
        if let (Some((seq, progress)), Ok(())) = (written, &finished) {
            progress.send_replace(seq + 1);
        }
        drop(registration);
        finished?;
        match ending {
            Ending {
                error: Some(err), ..
            } => Err(err),
            Ending {
                message: Some(message),
                ..
            } => Ok(message),
            Ending { .. } => Err(Error::Internal(anyhow::anyhow!(
                "an answer ended with neither a message nor an error"
            ))),
        }
    }

    /// How the answer ends; failures before any message leave none.
    async fn answer(&self, cancel: &CancellationToken, events: &Events) -> Ending {
        match self.rounds(cancel, events).await {
            Ok(ending) => ending,
            Err(error) => Ending {
                message: None,
                error: Some(error),
            },
        }
    }

    /// The loop of model calls and tool rounds.
    async fn rounds(&self, cancel: &CancellationToken, events: &Events) -> Result<Ending> {
        let engine = &self.engine;
        let mut turns = self.history().await?;
        let specs = tools::specs(&self.agent.tools);
        let window = engine.models.catalog().context_window(&self.agent.model);
        let mut rounds = 0;
        loop {
            let tools_allowed = !specs.is_empty() && rounds < self.agent.max_steps;
            let fitted = context::fit(&self.agent.instructions, &specs, &turns, window)?;
            let prompt = Prompt {
                instructions: &self.agent.instructions,
                turns: fitted.turns,
                tools: &specs,
                tools_allowed,
            };
            let mut partial = String::new();
            let reply = {
                let mut sink = |delta: &str| {
                    partial.push_str(delta);
                    emit(events, "message.delta", json!({"delta": delta}));
                };
                let call = engine.models.complete(
                    &self.agent.model,
                    prompt,
                    events.as_ref().map(|_| &mut sink as _),
                );
                tokio::select! {
                    reply = call => Some(reply),
                    _ = cancel.cancelled() => None,
                }
            };
            let reply = match reply {
                None => {
                    return Ok(self
                        .finish(partial, None, StopReason::Cancelled, fitted.report)
                        .into());
                }
                Some(Err(err)) => {
                    return Ok(Ending {
                        message: Some(self.finish(partial, None, StopReason::Error, fitted.report)),
                        error: Some(err),
                    });
                }
                Some(Ok(reply)) => reply,
            };
            if reply.tool_calls.is_empty() {
                let stop = match reply.stop_reason {
                    _ if !tools_allowed && !specs.is_empty() => StopReason::MaxSteps,
                    StopReason::ToolUse => StopReason::EndTurn,
                    other => other,
                };
                return Ok(self
                    .finish(reply.content, Some(reply.usage), stop, fitted.report)
                    .into());
            }
            let calls = reply.tool_calls.clone();
            let asked = Message {
                tool_calls: Some(calls.clone()),
                usage: Some(reply.usage),
                stop_reason: Some(StopReason::ToolUse),
                model: Some(self.agent.model.clone()),
                context: fitted.report,
                ..Message::new(
                    &self.agent,
                    &self.conversation_id,
                    Role::Assistant,
                    reply.content.clone(),
                )
            };
            engine.store.insert_message(&self.tenant, &asked).await?;
            for call in &calls {
                emit(
                    events,
                    "tool_call.started",
                    json!({"message_id": asked.id, "tool_call": call}),
                );
            }
            turns.push(Turn::Assistant {
                content: reply.content,
                tool_calls: calls.clone(),
            });
            let outcomes = tokio::select! {
                outcomes = join_all(calls.iter().map(|c| engine.tools.run(&self.tenant, &self.agent.tools, c, self.depth))) => outcomes,
                _ = cancel.cancelled() => calls.iter().map(|_| ToolOutcome::error("The answer was cancelled before the tool finished.")).collect(),
            };
            for (call, outcome) in calls.iter().zip(outcomes) {
                let result = self.tool_result(call, outcome);
                engine.store.insert_message(&self.tenant, &result).await?;
                emit(events, "tool_call.completed", json!({"message": result}));
                turns.push(Turn::ToolResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    content: result.content,
                    is_error: result.is_error == Some(true),
                });
            }
            if cancel.is_cancelled() {
                return Ok(self
                    .finish(String::new(), None, StopReason::Cancelled, None)
                    .into());
            }
            rounds += 1;
        }
    }

    /// The conversation as model turns. Tool calls left without a result
    /// (their answer was interrupted) are first closed with an error result,
    /// so the history is valid for every provider; failed answers are left
    /// out.
    async fn history(&self) -> Result<Vec<Turn>> {
        let store = &self.engine.store;
        let messages = store
            .conversation(&self.tenant, &self.agent.id, &self.conversation_id)
            .await?;
        let answered: std::collections::HashSet<&str> = messages
            .iter()
            .filter_map(|m| m.tool_call_id.as_deref())
            .collect();
        let mut turns = Vec::with_capacity(messages.len());
        for message in &messages {
            match message.role {
                Role::User => turns.push(Turn::User {
                    content: message.content.clone(),
                }),
                Role::Assistant if message.stop_reason == Some(StopReason::Error) => {}
                Role::Assistant => {
                    let calls = message.tool_calls.clone().unwrap_or_default();
                    turns.push(Turn::Assistant {
                        content: message.content.clone(),
                        tool_calls: calls.clone(),
                    });
                    for call in calls.iter().filter(|c| !answered.contains(c.id.as_str())) {
                        let closing = self.tool_result(
                            call,
                            ToolOutcome::error("The tool call was interrupted."),
                        );
                        store.insert_message(&self.tenant, &closing).await?;
                        turns.push(Turn::ToolResult {
                            call_id: call.id.clone(),
                            name: call.name.clone(),
                            content: closing.content,
                            is_error: true,
                        });
                    }
                }
                Role::Tool => turns.push(Turn::ToolResult {
                    call_id: message.tool_call_id.clone().unwrap_or_default(),
                    name: message.tool_name.clone().unwrap_or_default(),
                    content: message.content.clone(),
                    is_error: message.is_error == Some(true),
                }),
            }
        }
        // Stored closing results come last in the table; each must follow
        // the call it answers.
        Ok(reorder_results(turns))
    }

    fn tool_result(&self, call: &ToolCall, outcome: ToolOutcome) -> Message {
        Message {
            tool_call_id: Some(call.id.clone()),
            tool_name: Some(call.name.clone()),
            is_error: Some(outcome.is_error),
            ..Message::new(
                &self.agent,
                &self.conversation_id,
                Role::Tool,
                outcome.content,
            )
        }
    }

    /// The final assistant message of the answer (stored by `run`).
    fn finish(
        &self,
        content: String,
        usage: Option<Usage>,
        stop_reason: StopReason,
        context: Option<ContextReport>,
    ) -> Message {
        Message {
            id: self.id.clone(),
            usage: Some(usage.unwrap_or_default()),
            stop_reason: Some(stop_reason),
            model: Some(self.agent.model.clone()),
            context,
            ..Message::new(&self.agent, &self.conversation_id, Role::Assistant, content)
        }
    }
}

/// How an answer ended: its final message, and the error that ended it.
struct Ending {
    message: Option<Message>,
    error: Option<Error>,
}

impl From<Message> for Ending {
    fn from(message: Message) -> Self {
        Ending {
            message: Some(message),
            error: None,
        }
    }
}

/// Moves each tool result right after the assistant turn that called it,
/// keeping everything else in order.
fn reorder_results(turns: Vec<Turn>) -> Vec<Turn> {
    let (results, others): (Vec<Turn>, Vec<Turn>) = turns
        .into_iter()
        .partition(|t| matches!(t, Turn::ToolResult { .. }));
    let mut results: Vec<Option<Turn>> = results.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(others.len() + results.len());
    for turn in others {
        let calls: Vec<String> = match &turn {
            Turn::Assistant { tool_calls, .. } => tool_calls.iter().map(|c| c.id.clone()).collect(),
            _ => Vec::new(),
        };
        ordered.push(turn);
        for id in calls {
            if let Some(slot) = results
                .iter_mut()
                .find(|r| matches!(r, Some(Turn::ToolResult { call_id, .. }) if *call_id == id))
            {
                ordered.extend(slot.take());
            }
        }
    }
    ordered.extend(results.into_iter().flatten());
    ordered
}

fn emit(events: &Events, event: &'static str, data: Value) {
    if let Some(sender) = events {
        let _ = sender.send((event, data));
    }
}

/// Numbers and stores stream events in order, signalling progress;
/// returns the last number used and the progress signal.
async fn write_events(
    store: Arc<dyn Store>,
    answer_id: String,
    mut receiver: mpsc::UnboundedReceiver<(&'static str, Value)>,
    progress: watch::Sender<i64>,
) -> (i64, watch::Sender<i64>) {
    let mut seq = 0;
    while let Some((event, data)) = receiver.recv().await {
        seq += 1;
        let stored = StoredEvent {
            seq,
            event: event.to_string(),
            data: data.to_string(),
        };
        if let Err(err) = store.append_event(&answer_id, &stored).await {
            tracing::error!(answer = %answer_id, error = %err, "could not store a stream event");
        }
        progress.send_replace(seq);
    }
    (seq, progress)
}

/// Renews the answer's lease until aborted; a cancel asked through another
/// process is seen here.
async fn heartbeat(store: Arc<dyn Store>, tenant: Tenant, id: String, cancel: CancellationToken) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let lease_until = clock::now_ms() + LEASE.as_millis() as i64;
        match store.renew_answer(&tenant, &id, lease_until).await {
            Ok(true) => cancel.cancel(),
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(answer = %id, error = %err, "could not renew an answer's lease")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_results_follow_their_calls() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "t".into(),
            arguments: json!({}),
        };
        let result = |id: &str| Turn::ToolResult {
            call_id: id.into(),
            name: "t".into(),
            content: String::new(),
            is_error: true,
        };
        let turns = vec![
            Turn::User {
                content: "a".into(),
            },
            Turn::Assistant {
                content: String::new(),
                tool_calls: vec![call("1")],
            },
            Turn::User {
                content: "b".into(),
            },
            result("1"),
        ];
        let ordered = reorder_results(turns);
        assert_eq!(ordered[2], result("1"));
        assert_eq!(
            ordered[3],
            Turn::User {
                content: "b".into()
            }
        );
    }
}
