//! Serving an answer's events: from the stored event log, after a given
//! event number, then following the answer live until it ends. The same
//! path serves the first stream and every reconnection (`Last-Event-ID`),
//! so a client that resumes gets each event exactly once. While the answer
//! runs in this process, a progress signal wakes the stream; otherwise (it
//! runs elsewhere, or has ended) the log is polled.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};

use super::engine::Engine;
use crate::access::Tenant;
use crate::error::Error;
use crate::store::{AnswerStatus, StoredEvent};

/// Events read from the log at once.
const BATCH: u32 = 256;
/// How often the log is polled when no progress signal is available.
const POLL: Duration = Duration::from_millis(200);

/// The events of one answer, in order.
pub type EventStream = BoxStream<'static, StoredEvent>;

/// Whether an event ends the stream.
pub fn is_terminal(event: &StoredEvent) -> bool {
    event.event == "message.completed" || event.event == "error"
}

struct Tail {
    engine: Arc<Engine>,
    tenant: Tenant,
    agent_id: String,
    answer_id: String,
    after: i64,
    done: bool,
}

/// The events of the agent's answer `answer_id` after event number
/// `after`, ending with its terminal event (or when it has ended and nothing
/// more is stored).
pub fn tail(
    engine: Arc<Engine>,
    tenant: Tenant,
    agent_id: String,
    answer_id: String,
    after: i64,
) -> EventStream {
    let state = Tail {
        engine,
        tenant,
        agent_id,
        answer_id,
        after,
        done: false,
    };
    stream::unfold(state, |mut tail| async move {
        if tail.done {
            return None;
        }
        loop {
            let store = &tail.engine.store;
            let progress = tail.engine.live.progress(&tail.answer_id);
            let events = match store.events_after(&tail.tenant, &tail.answer_id, tail.after, BATCH).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::warn!(answer = %tail.answer_id, error = %err, "could not read stream events");
                    tail.done = true;
                    let event = closing_error(tail.after + 1, &err);
                    return Some((stream::iter(vec![event]), tail));
                }
            };
            if let Some(last) = events.last() {
                tail.after = last.seq;
                tail.done = events.iter().any(is_terminal);
                return Some((stream::iter(events), tail));
            }
            let running = match progress {
                Some(mut progress) => {
                    // Wakes on the next stored event, or when the answer ends.
                    let seen = tail.after;
                    let _ = tokio::time::timeout(Duration::from_secs(5), progress.wait_for(|seq| *seq > seen)).await;
                    true
                }
                None => {
                    let answer = store
                        .get_answer(&tail.tenant, &tail.agent_id, &tail.answer_id)
                        .await
                        .ok()
                        .flatten();
                    let running = answer.is_some_and(|a| a.status == AnswerStatus::Running);
                    if running {
                        tokio::time::sleep(POLL).await;
                    }
                    running
                }
            };
            if !running {
                // One last read: the final events may have landed meanwhile.
                let mut events = store
                    .events_after(&tail.tenant, &tail.answer_id, tail.after, BATCH)
                    .await
                    .unwrap_or_default();
                tail.done = true;
                if !events.iter().any(is_terminal) {
                    // Ended with no final event: its agent (and with it the
                    // answer) was deleted. Say so rather than just hang up.
                    let seq = events.last().map_or(tail.after, |e| e.seq) + 1;
                    let gone = Error::NotFound {
                        message: "The answer ended without finishing: its agent was deleted.".into(),
                        param: None,
                    };
                    events.push(closing_error(seq, &gone));
                }
                return Some((stream::iter(events), tail));
            }
        }
    })
    .flatten()
    .boxed()
}

/// A last `error` event (number `seq`, not stored) for a stream that cannot
/// go on, in the shape of a stored one.
fn closing_error(seq: i64, err: &Error) -> StoredEvent {
    StoredEvent {
        seq,
        event: "error".into(),
        data: serde_json::json!({"error": {"code": err.code(), "message": err.public_message()}})
            .to_string(),
    }
}
