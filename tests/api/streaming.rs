//! Streaming answers: events, resumption by `Last-Event-ID`, answers that
//! outlive their client, one answer per conversation, cancel.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, deltas, read_events, send, spawn_app_with};
use crate::standins::{self, Script, Scripted, StandIn};

/// An app whose `openai/…` models are a stand-in streaming one chunk per
/// `chunk_delay`.
pub async fn app_with_openai(script: Script, chunk_delay: Duration) -> Option<(TestApp, StandIn)> {
    let stand_in = standins::openai(script, chunk_delay).await;
    let base = stand_in.base.clone();
    let app = spawn_app_with(move |c| {
        c.openai_base_url = format!("{base}/v1");
        c.openai_api_key = Some("sk-test-openai-key".into());
        c.model_timeout_seconds = 10;
        c.model_max_retries = 1;
    })
    .await?;
    Some((app, stand_in))
}

/// A script answering with `words` numbered words.
fn long_answer(words: usize) -> Script {
    let text: Vec<String> = (1..=words).map(|i| format!("w{i}")).collect();
    let text = text.join(" ");
    Arc::new(move |_: &Value| Scripted::Text(text.clone()))
}

async fn agent(app: &TestApp) -> String {
    app.create_agent(json!({"name": "Streamer", "model": "openai/gpt-4o-mini"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn stream_request(
    app: &TestApp,
    agent: &str,
    content: &str,
    conversation: &str,
) -> reqwest::RequestBuilder {
    app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
        .json(&json!({"content": content, "conversation_id": conversation, "stream": true}))
}

#[tokio::test]
async fn a_stream_sends_numbered_deltas_then_the_stored_message() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(12), Duration::ZERO).await);
    let agent = agent(&app).await;
    let response = stream_request(&app, &agent, "hi", "s1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let events = read_events(response, None).await;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "ids count up from 1"
    );
    assert_eq!(events[0].event, "answer.started");
    assert_eq!(events[0].data["user_message"]["content"], "hi");
    let last = events.last().unwrap();
    assert_eq!(last.event, "message.completed");
    assert_eq!(
        last.data["id"], events[0].data["id"],
        "answer.started names the final message"
    );
    let full: Vec<String> = (1..=12).map(|i| format!("w{i}")).collect();
    assert_eq!(deltas(&events), full.join(" "));
    assert_eq!(last.data["content"], full.join(" "));
    assert_eq!(
        last.data["usage"],
        json!({"input_tokens": 42, "output_tokens": 7})
    );

    let (_, history) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages?conversation_id=s1"),
    ))
    .await;
    assert_eq!(
        history["data"][0], last.data,
        "the streamed message is the stored one"
    );
}

#[tokio::test]
async fn a_cut_stream_resumed_with_last_event_id_yields_every_delta_once() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(40), Duration::from_millis(15)).await);
    let agent = agent(&app).await;
    let response = stream_request(&app, &agent, "tell me", "cut")
        .send()
        .await
        .unwrap();
    let first = read_events(response, Some(6)).await;
    let answer = first[0].data["id"].as_str().unwrap().to_string();
    let last_seen = first.last().unwrap().id;

    let resumed = app
        .request(
            Method::GET,
            &format!("/v1/agents/{agent}/messages/{answer}/stream"),
        )
        .header("Last-Event-ID", last_seen.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let rest = read_events(resumed, None).await;
    assert_eq!(
        rest[0].id,
        last_seen + 1,
        "no event lost or repeated at the seam"
    );
    let all: Vec<_> = first.iter().chain(rest.iter()).cloned().collect();
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=all.len() as i64).collect::<Vec<_>>());
    let full: Vec<String> = (1..=40).map(|i| format!("w{i}")).collect();
    assert_eq!(deltas(&all), full.join(" "));
    assert_eq!(rest.last().unwrap().event, "message.completed");

    // After the end, the whole stream can still be replayed, also by query.
    let replay = app
        .request(
            Method::GET,
            &format!("/v1/agents/{agent}/messages/{answer}/stream?last_event_id=0"),
        )
        .send()
        .await
        .unwrap();
    let replayed = read_events(replay, None).await;
    assert_eq!(replayed.len(), all.len());
}

#[tokio::test]
async fn resuming_checks_its_inputs() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(2), Duration::ZERO).await);
    let agent = agent(&app).await;
    let events = read_events(
        stream_request(&app, &agent, "x", "c").send().await.unwrap(),
        None,
    )
    .await;
    let answer = events[0].data["id"].as_str().unwrap();
    let path = format!("/v1/agents/{agent}/messages/{answer}/stream");
    let (status, body) = send(
        app.request(Method::GET, &path)
            .header("Last-Event-ID", "abc"),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("Last-Event-ID"));
    let (status, body) = send(app.request(Method::GET, &format!("{path}?last_event_id=-1"))).await;
    assert_error(status, &body, 400, "invalid_request", Some("last_event_id"));
    let (status, body) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages/msg_nope/stream"),
    ))
    .await;
    assert_error(status, &body, 404, "not_found", Some("message_id"));
    let (status, body) = send(app.request_as(&app.test_key, Method::GET, &path)).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_cancel_the_answer() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(30), Duration::from_millis(10)).await);
    let agent = agent(&app).await;
    let first = read_events(
        stream_request(&app, &agent, "go", "gone")
            .send()
            .await
            .unwrap(),
        Some(3),
    )
    .await;
    assert_eq!(first.len(), 3);
    let path = format!("/v1/agents/{agent}/messages?conversation_id=gone");
    let full: Vec<String> = (1..=30).map(|i| format!("w{i}")).collect();
    for _ in 0..200 {
        let (_, history) = send(app.request(Method::GET, &path)).await;
        if history["data"].as_array().unwrap().len() == 2 {
            assert_eq!(history["data"][0]["content"], full.join(" "));
            assert_eq!(history["data"][0]["stop_reason"], "end_turn");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the answer was not completed after the client left");
}

#[tokio::test]
async fn a_busy_conversation_rejects_or_queues() {
    let slow: Script = Arc::new(|body: &Value| {
        let last = standins::last_user_text(body);
        Scripted::Slow(
            Duration::from_millis(300),
            Box::new(Scripted::Text(format!("answer to {last}"))),
        )
    });
    let (app, _) = skip_unless!(app_with_openai(slow, Duration::ZERO).await);
    let agent = agent(&app).await;
    let path = format!("/v1/agents/{agent}/messages");
    let post = |content: &str, conversation: &str, on_busy: Option<&str>| {
        let mut body = json!({"content": content, "conversation_id": conversation});
        if let Some(on_busy) = on_busy {
            body["on_busy"] = json!(on_busy);
        }
        send(app.request(Method::POST, &path).json(&body))
    };

    let ((s1, b1), (s2, b2)) = tokio::join!(post("one", "busy", None), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        post("two", "busy", None).await
    });
    assert_eq!(s1, 201, "{b1}");
    assert_error(s2, &b2, 409, "conflict", Some("conversation_id"));
    let (_, history) = send(app.request(
        Method::GET,
        &format!("{path}?conversation_id=busy&order=asc"),
    ))
    .await;
    let contents: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        vec!["one", "answer to one"],
        "the rejected message was not stored"
    );

    let ((s1, _), (s2, b2), (s3, b3)) = tokio::join!(
        post("first", "queue", Some("enqueue")),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            post("second", "queue", Some("enqueue")).await
        },
        // Another conversation of the same agent answers in parallel.
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            post("elsewhere", "other", None).await
        }
    );
    assert_eq!((s1, s2, s3), (201, 201, 201), "{b2} {b3}");
    assert_eq!(b2["data"]["content"], "answer to second");
    let (_, history) = send(app.request(
        Method::GET,
        &format!("{path}?conversation_id=queue&order=asc"),
    ))
    .await;
    let contents: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        vec!["first", "answer to first", "second", "answer to second"]
    );

    // A queued message whose client gives up while it waits is still
    // stored and answered in its turn.
    let (first, gone) = tokio::join!(post("third", "queue", Some("enqueue")), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let body = json!({"content": "fourth", "conversation_id": "queue", "on_busy": "enqueue"});
        app.request(Method::POST, &path)
            .json(&body)
            .timeout(Duration::from_millis(100))
            .send()
            .await
    });
    assert_eq!(first.0, 201);
    assert!(gone.unwrap_err().is_timeout());
    let mut contents = Vec::new();
    for _ in 0..50 {
        let (_, history) = send(app.request(
            Method::GET,
            &format!("{path}?conversation_id=queue&order=asc"),
        ))
        .await;
        contents = history["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_string())
            .collect();
        if contents.len() == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        contents[4..],
        ["third", "answer to third", "fourth", "answer to fourth"]
    );
}

#[tokio::test]
async fn cancel_stops_an_answer_and_records_it() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(200), Duration::from_millis(20)).await);
    let agent = agent(&app).await;
    let response = stream_request(&app, &agent, "long", "stop")
        .send()
        .await
        .unwrap();
    let reader = tokio::spawn(read_events(response, None));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, cancelled) = send(app.request(
        Method::POST,
        &format!("/v1/agents/{agent}/conversations/stop/cancel"),
    ))
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["object"], "answer");
    assert_eq!(cancelled["data"]["status"], "cancelled");
    let events = reader.await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event, "message.completed");
    assert_eq!(last.data["stop_reason"], "cancelled");
    let partial = last.data["content"].as_str().unwrap();
    assert!(
        !partial.is_empty() && partial.len() < 200 * 4,
        "keeps what was written: {partial}"
    );
    assert_eq!(deltas(&events), partial);

    let (status, body) = send(app.request(
        Method::POST,
        &format!("/v1/agents/{agent}/conversations/stop/cancel"),
    ))
    .await;
    assert_error(status, &body, 409, "conflict", Some("conversation_id"));
    let (status, body) = send(app.request(
        Method::POST,
        "/v1/agents/agt_nope/conversations/stop/cancel",
    ))
    .await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    // The conversation goes on.
    let (status, _) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "again", "conversation_id": "stop"})),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_failing_stream_ends_with_an_error_event() {
    let failing: Script = Arc::new(|_: &Value| Scripted::Error(500, "boom".into(), None));
    let (app, stand_in) = skip_unless!(app_with_openai(failing, Duration::ZERO).await);
    let agent = agent(&app).await;
    let events = read_events(
        stream_request(&app, &agent, "x", "f").send().await.unwrap(),
        None,
    )
    .await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "error");
    assert_eq!(last.data["error"]["code"], "model_error");
    assert_eq!(
        stand_in.received().len(),
        2,
        "a 500 is retried once (FAOS_MODEL_MAX_RETRIES=1)"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_providers_wait() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let flaky: Script = Arc::new(move |_: &Value| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Scripted::Error(429, "slow down".into(), Some(100))
        } else {
            Scripted::Text("made it".into())
        }
    });
    let (app, _) = skip_unless!(app_with_openai(flaky, Duration::ZERO).await);
    let agent = agent(&app).await;
    let started = std::time::Instant::now();
    let (status, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "hi"})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["data"]["content"], "made it");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "waited as asked"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn finished_answers_are_pruned_after_the_retention() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(3), Duration::ZERO).await);
    let agent = agent(&app).await;
    let events = read_events(
        stream_request(&app, &agent, "x", "p").send().await.unwrap(),
        None,
    )
    .await;
    let answer = events[0].data["id"].as_str().unwrap();
    let path = format!("/v1/agents/{agent}/messages/{answer}/stream");
    assert_eq!(
        app.store.prune_answers(0).await.unwrap(),
        0,
        "younger answers stay"
    );
    let kept = app.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(kept.status(), 200);
    assert_eq!(app.store.prune_answers(i64::MAX).await.unwrap(), 1);
    let (status, body) = send(app.request(Method::GET, &path)).await;
    assert_error(status, &body, 404, "not_found", Some("message_id"));
    let (_, history) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages?conversation_id=p"),
    ))
    .await;
    assert_eq!(
        history["data"].as_array().unwrap().len(),
        2,
        "messages are kept"
    );
}

#[tokio::test]
async fn cancelling_a_run_stops_the_answer_its_agent_step_started() {
    let slow: Script = Arc::new(|_: &Value| {
        Scripted::Slow(
            Duration::from_secs(5),
            Box::new(Scripted::Text("too late".into())),
        )
    });
    let (app, _) = skip_unless!(app_with_openai(slow, Duration::ZERO).await);
    let agent = agent(&app).await;
    let (status, workflow) = send(app.request(Method::POST, "/v1/workflows").json(&json!({
        "name": "Ask",
        "steps": [{"id": "ask", "type": "agent", "agent_id": agent, "message": "hi", "conversation_id": "wf"}]
    })))
    .await;
    assert_eq!(status, 201, "{workflow}");
    let workflow = workflow["data"]["id"].as_str().unwrap();
    let (status, run) = send(
        app.request(Method::POST, &format!("/v1/workflows/{workflow}/run"))
            .json(&json!({"input": {}})),
    )
    .await;
    assert_eq!(status, 202, "{run}");
    let run = run["data"]["id"].as_str().unwrap().to_string();
    // Wait for the agent step to have started its answer.
    let path = format!("/v1/agents/{agent}/messages?conversation_id=wf&order=asc");
    for _ in 0..100 {
        let (_, history) = send(app.request(Method::GET, &path)).await;
        if !history["data"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, cancelled) =
        send(app.request(Method::POST, &format!("/v1/runs/{run}/cancel"))).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["status"], "cancelled");
    // The answer ends cancelled, not with the model's late reply.
    let mut history = Value::Null;
    for _ in 0..100 {
        history = send(app.request(Method::GET, &path)).await.1;
        if history["data"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = &history["data"][1];
    assert_eq!(reply["role"], "assistant", "{history}");
    assert_eq!(reply["stop_reason"], "cancelled", "{history}");
}

#[tokio::test]
async fn deleting_the_agent_mid_answer_ends_the_stream_with_an_error_event() {
    let (app, _) = skip_unless!(app_with_openai(long_answer(300), Duration::from_millis(20)).await);
    let agent = agent(&app).await;
    let response = stream_request(&app, &agent, "long", "doomed")
        .send()
        .await
        .unwrap();
    let reader = tokio::spawn(read_events(response, None));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = send(app.request(Method::DELETE, &format!("/v1/agents/{agent}"))).await;
    assert_eq!(status, 200, "{body}");
    let events = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .expect("the stream ends")
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event, "error", "{events:?}");
    assert_eq!(last.data["error"]["code"], "not_found");
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
}

/// An answer whose process died keeps its conversation only until its
/// lease runs out; then the next message marks it failed and is answered.
#[tokio::test]
async fn a_dead_processs_answer_frees_its_conversation_when_its_lease_ends() {
    let app = app!();
    let agent_id = app.agent_id("Leased").await;
    let tenant = faos::access::Tenant {
        org_id: app.org_id.clone(),
        mode: faos::access::Mode::Live,
    };
    let agent = app
        .store
        .get_agent(&tenant, &agent_id)
        .await
        .unwrap()
        .unwrap();
    let now = faos::clock::now_ms();
    // Begun by processes that then died: one lease ended a second ago, one
    // still runs for a minute.
    for (conversation, lease_until) in [("expired", now - 1_000), ("held", now + 60_000)] {
        let user = faos::conversations::Message::new(
            &agent,
            conversation,
            faos::models::Role::User,
            "hello".into(),
        );
        let answer_id = format!("msg_dead_{conversation}");
        let begun = app
            .store
            .begin_answer(&tenant, &answer_id, lease_until, &user)
            .await
            .unwrap();
        assert!(begun);
    }
    let send = |conversation: &str| {
        app.request(Method::POST, &format!("/v1/agents/{agent_id}/messages"))
            .json(&json!({"content": "again", "conversation_id": conversation}))
    };
    let (status, body) = crate::helpers::send(send("held")).await;
    assert_error(status, &body, 409, "conflict", Some("conversation_id"));
    let (status, body) = crate::helpers::send(send("expired")).await;
    assert_eq!(status, 201, "{body}");
    let dead = app
        .store
        .get_answer(&tenant, &agent_id, "msg_dead_expired")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, faos::store::AnswerStatus::Failed);
}
