//! Workflows: every step type, bad definitions, runs, retries, timeouts,
//! cancel, versions, sub-workflows, workflow tools, many runs at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::{get, post};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, send, spawn_app_with};

async fn app() -> Option<TestApp> {
    spawn_app_with(|c| c.outbound_allow = "127.0.0.1".into()).await
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, workflow) = send(app.request(Method::POST, "/v1/workflows").json(&body)).await;
    assert_eq!(status, 201, "{workflow}");
    workflow["data"].clone()
}

/// Runs a workflow, waiting up to 20 s; returns the run.
async fn run(app: &TestApp, workflow: &str, input: Value) -> Value {
    let (status, run) = send(
        app.request(Method::POST, &format!("/v1/workflows/{workflow}/run"))
            .json(&json!({"input": input, "wait": 20})),
    )
    .await;
    assert_eq!(status, 200, "finished within the wait: {run}");
    run["data"].clone()
}

fn step<'a>(run: &'a Value, path: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("no step {path} in {run}"))
}

/// A local service: `/echo` returns its JSON body, `/flaky` fails twice
/// (per `key` query) then answers, `/slow` answers after 5 s.
async fn service() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router =
        axum::Router::new()
            .route(
                "/echo",
                post(|axum::Json(body): axum::Json<Value>| async move {
                    axum::Json(json!({"got": body}))
                }),
            )
            .route(
                "/flaky",
                get(move || {
                    let counter = counter.clone();
                    async move {
                        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try later")
                        } else {
                            (axum::http::StatusCode::OK, "finally")
                        }
                    }
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), calls)
}

#[tokio::test]
async fn every_step_type_runs_and_is_recorded() {
    let app = skip_unless!(app().await);
    let (base, _) = service().await;
    let agent = app
        .create_agent(json!({"name": "Triage", "template": "support-triage"}))
        .await;
    let child = create(
        &app,
        json!({"name": "Child", "input_schema": {"type": "object", "required": ["x"]},
               "steps": [{"id": "double", "type": "transform", "value": "{{ input.x * 2 }}"}]}),
    )
    .await;
    let workflow = create(
        &app,
        json!({
            "name": "Everything",
            "input_schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
            "steps": [
                {"id": "classify", "type": "agent", "agent_id": agent["id"], "message": "Classify: {{ input.text }}"},
                {"id": "route", "type": "branch", "if": "{{ 'billing' in steps.classify.output }}",
                 "then": [{"id": "refund", "type": "http", "method": "POST", "url": format!("{base}/echo"), "body": {"text": "{{ input.text }}"}}],
                 "else": [{"id": "ack", "type": "transform", "value": {"status": "ok"}}]},
                {"id": "each", "type": "map", "items": "{{ input.lines }}", "concurrency": 2,
                 "steps": [{"id": "up", "type": "transform", "value": "{{ item | upper }}"}]},
                {"id": "both", "type": "parallel", "branches": [
                    [{"id": "a", "type": "transform", "value": 1}],
                    [{"id": "b", "type": "transform", "value": "{{ input.text | length }}"}]]},
                {"id": "pause", "type": "wait", "seconds": 0.1},
                {"id": "sub", "type": "workflow", "workflow_id": child["id"], "input": {"x": "{{ steps.both.output[0] + 20 }}"}},
                {"id": "skipped", "type": "transform", "when": "{{ input.text == 'never' }}", "value": 1}
            ],
            "output": {"category": "{{ steps.classify.output }}", "route": "{{ steps.route.output }}",
                       "each": "{{ steps.each.output }}", "both": "{{ steps.both.output }}", "sub": "{{ steps.sub.output }}",
                       "text": "classified as {{ steps.classify.output | split(',') | first }}"}
        }),
    )
    .await;
    assert_eq!(workflow["object"], "workflow");
    assert_eq!(workflow["version"], 1);
    let id = workflow["id"].as_str().unwrap();

    let done = run(
        &app,
        id,
        json!({"text": "I was charged twice on my invoice", "lines": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["object"], "run");
    assert_eq!(done["workflow_version"], 1);
    let output = &done["output"];
    assert!(output["category"].as_str().unwrap().starts_with("billing"));
    assert_eq!(
        output["route"]["status"], 200,
        "branch output is the path's last output"
    );
    assert_eq!(
        output["route"]["body"],
        json!({"got": {"text": "I was charged twice on my invoice"}})
    );
    assert_eq!(
        output["each"],
        json!(["A", "B", "C"]),
        "map keeps item order"
    );
    assert_eq!(output["both"], json!([1, 33]));
    assert_eq!(
        output["sub"],
        json!(42),
        "a single expression keeps its JSON type"
    );
    assert_eq!(output["text"], "classified as billing");
    assert_eq!(step(&done, "skipped")["status"], "skipped");
    assert_eq!(
        step(&done, "route/then/refund")["input"]["url"],
        format!("{base}/echo")
    );
    assert_eq!(step(&done, "each/2/up")["output"], "C");
    assert!(
        done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["started_at"].is_string())
    );
    let pause = step(&done, "pause");
    assert_eq!(
        (pause["status"].as_str(), pause["attempts"].as_u64()),
        (Some("succeeded"), Some(1))
    );

    // The other side of the branch, and the same run read back.
    let other = run(
        &app,
        id,
        json!({"text": "The app crashes on start", "lines": []}),
    )
    .await;
    assert_eq!(other["output"]["route"], json!({"status": "ok"}));
    let (_, read) = send(app.request(
        Method::GET,
        &format!("/v1/runs/{}", done["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(read["data"]["output"], done["output"]);
    let (_, runs) =
        send(app.request(Method::GET, &format!("/v1/workflows/{id}/runs?limit=1"))).await;
    assert_eq!(runs["data"][0]["id"], other["id"]);
    assert_eq!(runs["meta"]["has_more"], true);
    // The sub-run is a run of the child, linked to its parent.
    let (_, child_runs) = send(app.request(
        Method::GET,
        &format!("/v1/workflows/{}/runs", child["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(child_runs["data"].as_array().unwrap().len(), 2);
    assert!(
        child_runs["data"][0]["parent_run_id"]
            .as_str()
            .unwrap()
            .starts_with("run_")
    );
}

#[tokio::test]
async fn bad_definitions_are_named() {
    let app = skip_unless!(app().await);
    let agent = app.agent_id("A").await;
    let t = |id: &str| json!({"id": id, "type": "transform", "value": 1});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"steps": [t("a")]}), "name"),
        (json!({"name": "W"}), "steps"),
        (json!({"name": "W", "steps": {}}), "steps"),
        (json!({"name": "W", "steps": []}), "steps"),
        (json!({"name": "W", "steps": [3]}), "steps[0]"),
        (
            json!({"name": "W", "steps": [{"type": "transform", "value": 1}]}),
            "steps[0].id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "1a", "type": "transform", "value": 1}]}),
            "steps[0].id",
        ),
        (
            json!({"name": "W", "steps": [t("a"), {"id": "b", "type": "branch", "if": "{{ true }}", "then": [t("a")]}]}),
            "steps[1].then[0].id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "magic"}]}),
            "steps[0].type",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform"}]}),
            "steps[0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "colour": "red"}]}),
            "steps[0].colour",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "agent", "message": "hi"}]}),
            "steps[0].agent_id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "agent", "agent_id": "agt_nope", "message": "hi"}]}),
            "steps[0].agent_id",
        ),
        (
            json!({"name": "W", "steps": [t("a"), t("b"), {"id": "c", "type": "agent", "agent_id": "wf_x", "message": "hi"}]}),
            "steps[2].agent_id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "agent", "agent_id": agent, "message": "{{ oops ( }}"}]}),
            "steps[0].message",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": "{{ steps.zzz.output }}"}]}),
            "steps[0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": "{{ steps.b.output }}"}, t("b")]}),
            "steps[0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "m", "type": "map", "items": [1], "steps": [{"id": "x", "type": "transform", "value": "{{ steps.m.output }}"}]}]}),
            "steps[0].steps[0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": {"x": "{{ item }}"}}]}),
            "steps[0].value.x",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "http", "url": "http://10.0.0.1/x"}]}),
            "steps[0].url",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "http", "method": "BREW", "url": "https://example.com"}]}),
            "steps[0].method",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "retry": {"max_attempts": 0}}]}),
            "steps[0].retry.max_attempts",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "retry": {"max_attempts": 11}}]}),
            "steps[0].retry.max_attempts",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "retry": {"backoff_seconds": -1}}]}),
            "steps[0].retry.backoff_seconds",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "timeout_seconds": 0}]}),
            "steps[0].timeout_seconds",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1, "on_error": "ignore"}]}),
            "steps[0].on_error",
        ),
        (
            json!({"name": "W", "steps": [{"id": "m", "type": "map", "items": [1], "concurrency": 0, "steps": [t("x")]}]}),
            "steps[0].concurrency",
        ),
        (
            json!({"name": "W", "steps": [{"id": "w", "type": "wait", "seconds": -1}]}),
            "steps[0].seconds",
        ),
        (
            json!({"name": "W", "steps": [{"id": "s", "type": "workflow", "workflow_id": "wf_nope"}]}),
            "steps[0].workflow_id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "p", "type": "parallel", "branches": [[t("x")], 5]}]}),
            "steps[0].branches[1]",
        ),
        (
            json!({"name": "W", "input_schema": {"type": "nonsense"}, "steps": [t("a")]}),
            "input_schema",
        ),
        (
            json!({"name": "W", "steps": [t("a")], "output": "{{ steps.nope.output }}"}),
            "output",
        ),
        // References to steps that may not have run, or run alongside.
        (
            json!({"name": "W", "steps": [{"id": "b", "type": "branch", "if": "{{ true }}", "then": [t("x")], "else": [{"id": "y", "type": "transform", "value": "{{ steps.x.output }}"}]}]}),
            "steps[0].else[0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "b", "type": "branch", "if": "{{ true }}", "then": [t("x")]}, {"id": "after", "type": "transform", "value": "{{ steps.x.output }}"}]}),
            "steps[1].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "p", "type": "parallel", "branches": [[t("x")], [{"id": "y", "type": "transform", "value": "{{ steps.x.output }}"}]]}]}),
            "steps[0].branches[1][0].value",
        ),
        (
            json!({"name": "W", "steps": [{"id": "m", "type": "map", "items": [1], "steps": [t("x")]}], "output": "{{ steps.x.output }}"}),
            "output",
        ),
        // Types the runtime could not use.
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "agent", "agent_id": agent, "message": {"text": "hi"}}]}),
            "steps[0].message",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "agent", "agent_id": agent, "message": "hi", "conversation_id": ""}]}),
            "steps[0].conversation_id",
        ),
        (
            json!({"name": "W", "steps": [{"id": "a", "type": "http", "url": "https://example.com", "headers": {"bad header": "x"}}]}),
            "steps[0].headers.bad header",
        ),
        (
            json!({"name": "W", "steps": [{"id": "m", "type": "map", "items": 5, "steps": [t("x")]}]}),
            "steps[0].items",
        ),
        (
            json!({"name": "W", "steps": [{"id": "w", "type": "wait", "seconds": true}]}),
            "steps[0].seconds",
        ),
        (
            json!({"name": "W", "steps": [{"id": "s", "type": "workflow", "workflow_id": "wf_x", "input": [1]}]}),
            "steps[0].input",
        ),
        (
            json!({"name": "W", "steps": [{"id": "p", "type": "parallel", "branches": [[t("x")], []]}]}),
            "steps[0].branches[1]",
        ),
        (
            json!({"name": "W", "steps": [{"id": "p", "type": "parallel", "branches": []}]}),
            "steps[0].branches",
        ),
    ];
    for (body, param) in cases {
        let (status, response) = send(app.request(Method::POST, "/v1/workflows").json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (_, list) = send(app.request(Method::GET, "/v1/workflows")).await;
    assert_eq!(list["data"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn cycles_between_workflows_are_refused() {
    let app = skip_unless!(app().await);
    let b = create(
        &app,
        json!({"name": "B", "steps": [{"id": "x", "type": "transform", "value": 1}]}),
    )
    .await;
    let b_id = b["id"].as_str().unwrap();
    let a = create(
        &app,
        json!({"name": "A", "steps": [{"id": "call", "type": "workflow", "workflow_id": b_id}]}),
    )
    .await;
    let a_id = a["id"].as_str().unwrap();
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/workflows/{b_id}"))
            .json(&json!({"steps": [{"id": "back", "type": "workflow", "workflow_id": a_id}]})),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "invalid_request",
        Some("steps[0].workflow_id"),
    );
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/workflows/{a_id}"))
            .json(&json!({"steps": [{"id": "me", "type": "workflow", "workflow_id": a_id}]})),
    )
    .await;
    assert_error(
        status,
        &body,
        400,
        "invalid_request",
        Some("steps[0].workflow_id"),
    );
    let (_, still) = send(app.request(Method::GET, &format!("/v1/workflows/{b_id}"))).await;
    assert_eq!(
        still["data"]["version"], 1,
        "the refused change stored nothing"
    );
}

/// Two changes that each pass the check alone but close a cycle together:
/// one is saved and the other refused, every time.
#[tokio::test]
async fn concurrent_changes_cannot_close_a_cycle() {
    let app = skip_unless!(app().await);
    let leaf = json!([{"id": "x", "type": "transform", "value": 1}]);
    for round in 0..10 {
        let mut ids = Vec::new();
        for name in ["A", "B"] {
            let made = create(
                &app,
                json!({"name": format!("{name}{round}"), "steps": leaf}),
            )
            .await;
            ids.push(made["id"].as_str().unwrap().to_string());
        }
        let call = |from: &str, to: &str| {
            app.request(Method::PATCH, &format!("/v1/workflows/{from}"))
                .json(&json!({"steps": [{"id": "call", "type": "workflow", "workflow_id": to}]}))
                .send()
        };
        let (one, two) = tokio::join!(call(&ids[0], &ids[1]), call(&ids[1], &ids[0]));
        let mut statuses = [one.unwrap().status(), two.unwrap().status()];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}");
    }
}

#[tokio::test]
async fn inputs_are_checked_and_missing_keys_fail_the_step_clearly() {
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "Strict", "input_schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
               "steps": [{"id": "a", "type": "transform", "value": "{{ input.missing_key }}"}]}),
    )
    .await;
    let id = workflow["id"].as_str().unwrap();
    let path = format!("/v1/workflows/{id}/run");
    for (body, param) in [
        (json!({"input": {}}), "input"),
        (json!({"input": {"text": 5}}), "input.text"),
        (json!({"input": {"text": "x"}, "wait": 61}), "wait"),
        (json!({"input": {"text": "x"}, "extra": 1}), "extra"),
    ] {
        let (status, response) = send(app.request(Method::POST, &path).json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let failed = run(&app, id, json!({"text": "x"})).await;
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("step 'a' failed") && error.contains("undefined"),
        "{error}"
    );
    assert_eq!(step(&failed, "a")["status"], "failed");

    let (status, queued) = send(
        app.request(Method::POST, &path)
            .json(&json!({"input": {"text": "x"}})),
    )
    .await;
    assert_eq!(status, 202, "without wait: accepted");
    assert!(["queued", "running", "failed"].contains(&queued["data"]["status"].as_str().unwrap()));
}

#[tokio::test]
async fn retries_timeouts_and_on_error() {
    let app = skip_unless!(app().await);
    let (base, calls) = service().await;
    let workflow = create(
        &app,
        json!({"name": "Flaky", "steps": [
            {"id": "flaky", "type": "http", "url": format!("{base}/flaky"), "retry": {"max_attempts": 3, "backoff_seconds": 0.05}},
            {"id": "slow", "type": "http", "url": format!("{base}/slow"), "timeout_seconds": 0.3, "on_error": "continue"},
            {"id": "after", "type": "transform", "value": "{{ steps.flaky.output.body }}"}
        ]}),
    )
    .await;
    let done = run(&app, workflow["id"].as_str().unwrap(), json!({})).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let flaky = step(&done, "flaky");
    assert_eq!(flaky["attempts"], 3, "two failures, then success");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let slow = step(&done, "slow");
    assert_eq!(slow["status"], "failed");
    assert!(
        slow["error"].as_str().unwrap().contains("timed out"),
        "{slow}"
    );
    assert!(slow["output"].is_null());
    assert_eq!(done["output"], "finally");

    let strict = create(
        &app,
        json!({"name": "Strict", "steps": [
            {"id": "slow", "type": "http", "url": format!("{base}/slow"), "timeout_seconds": 0.2, "retry": {"max_attempts": 2, "backoff_seconds": 0}},
            {"id": "never", "type": "transform", "value": 1}
        ]}),
    )
    .await;
    let failed = run(&app, strict["id"].as_str().unwrap(), json!({})).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(step(&failed, "slow")["attempts"], 2);
    assert!(
        failed["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["path"] != "never"),
        "no step after a failure"
    );
}

#[tokio::test]
async fn cancel_stops_a_running_run() {
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "Long", "steps": [
            {"id": "first", "type": "transform", "value": 1},
            {"id": "pause", "type": "wait", "seconds": 30},
            {"id": "never", "type": "transform", "value": 2}
        ]}),
    )
    .await;
    let (status, started) = send(
        app.request(
            Method::POST,
            &format!("/v1/workflows/{}/run", workflow["id"].as_str().unwrap()),
        )
        .json(&json!({"wait": 0.5})),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(started["data"]["status"], "running");
    let id = started["data"]["id"].as_str().unwrap();
    let began = std::time::Instant::now();
    let (status, cancelled) =
        send(app.request(Method::POST, &format!("/v1/runs/{id}/cancel"))).await;
    assert_eq!(status, 200, "{cancelled}");
    assert!(began.elapsed() < Duration::from_secs(3), "promptly");
    let run = &cancelled["data"];
    assert_eq!(run["status"], "cancelled");
    assert_eq!(step(run, "first")["status"], "succeeded");
    assert_eq!(step(run, "pause")["status"], "cancelled");
    assert!(
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["path"] != "never")
    );

    let (status, body) = send(app.request(Method::POST, &format!("/v1/runs/{id}/cancel"))).await;
    assert_eq!(
        status, 200,
        "cancelling a cancelled run is harmless: {body}"
    );
    let (status, body) = send(app.request(Method::POST, "/v1/runs/run_nope/cancel")).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn runs_keep_the_version_they_started_with() {
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "V", "steps": [{"id": "pause", "type": "wait", "seconds": 0.5}, {"id": "v", "type": "transform", "value": "v1"}]}),
    )
    .await;
    let id = workflow["id"].as_str().unwrap();
    let (status, first) = send(
        app.request(Method::POST, &format!("/v1/workflows/{id}/run"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 202);
    let (status, updated) = send(
        app.request(Method::PATCH, &format!("/v1/workflows/{id}"))
            .json(&json!({"steps": [{"id": "v", "type": "transform", "value": "v2"}]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["data"]["version"], 2);
    let (status, renamed) = send(
        app.request(Method::PATCH, &format!("/v1/workflows/{id}"))
            .json(&json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(
        (status, renamed["data"]["version"].as_u64()),
        (200, Some(2)),
        "a new name is not a new version"
    );

    let first_id = first["data"]["id"].as_str().unwrap();
    let (_, waited) = send(app.request(Method::GET, &format!("/v1/runs/{first_id}"))).await;
    let mut first_run = waited["data"].clone();
    for _ in 0..100 {
        if first_run["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        first_run = send(app.request(Method::GET, &format!("/v1/runs/{first_id}")))
            .await
            .1["data"]
            .clone();
    }
    assert_eq!(first_run["output"], "v1");
    assert_eq!(first_run["workflow_version"], 1);
    let second = run(&app, id, json!({})).await;
    assert_eq!(
        (
            second["output"].as_str(),
            second["workflow_version"].as_u64()
        ),
        (Some("v2"), Some(2))
    );

    // Deleting the workflow keeps its runs readable.
    let (status, deleted) = send(app.request(Method::DELETE, &format!("/v1/workflows/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted["data"],
        json!({"id": id, "object": "workflow", "deleted": true})
    );
    let (status, _) = send(app.request(Method::GET, &format!("/v1/runs/{first_id}"))).await;
    assert_eq!(status, 200);
    let (status, body) = send(app.request(Method::GET, &format!("/v1/workflows/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, body) =
        send(app.request_as(&app.test_key, Method::GET, &format!("/v1/runs/{first_id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn a_hundred_concurrent_runs_all_finish() {
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "Many", "steps": [
            {"id": "a", "type": "transform", "value": "{{ input.n }}"},
            {"id": "b", "type": "transform", "value": "{{ steps.a.output * 2 }}"},
            {"id": "c", "type": "transform", "value": "{{ steps.b.output + 1 }}"}
        ]}),
    )
    .await;
    let id = workflow["id"].as_str().unwrap().to_string();
    let starts = (0..100).map(|n| {
        let request = app
            .request(Method::POST, &format!("/v1/workflows/{id}/run"))
            .json(&json!({"input": {"n": n}}));
        async move {
            let (status, run) = send(request).await;
            assert_eq!(status, 202, "{run}");
            (n, run["data"]["id"].as_str().unwrap().to_string())
        }
    });
    let started = futures::future::join_all(starts).await;
    for (n, run_id) in started {
        let mut run = Value::Null;
        for _ in 0..400 {
            run = send(app.request(Method::GET, &format!("/v1/runs/{run_id}")))
                .await
                .1["data"]
                .clone();
            if run["status"] == "succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["output"], json!(n * 2 + 1));
    }
}

#[tokio::test]
async fn agents_call_workflows_as_tools() {
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "Lookup", "input_schema": {"type": "object", "required": ["order"]},
               "steps": [{"id": "find", "type": "transform", "value": {"order": "{{ input.order }}", "status": "shipped"}}]}),
    )
    .await;
    let agent = app
        .create_agent(json!({"name": "Helper", "tools": [{"type": "workflow", "workflow_id": workflow["id"], "name": "lookup"}]}))
        .await;
    let (status, reply) = send(
        app.request(
            Method::POST,
            &format!("/v1/agents/{}/messages", agent["id"].as_str().unwrap()),
        )
        .json(&json!({"content": r#"Please use the lookup tool with {"order": "A-1"}"#})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let content = reply["data"]["content"].as_str().unwrap();
    assert!(
        content.contains("The lookup tool returned")
            && content.contains("shipped")
            && content.contains("A-1"),
        "{content}"
    );
    let (_, runs) = send(app.request(
        Method::GET,
        &format!("/v1/workflows/{}/runs", workflow["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(runs["data"][0]["status"], "succeeded");
}

/// An agent whose tool runs a workflow that asks the same agent again:
/// the loop stops at the depth limit, and every level still answers.
#[tokio::test]
async fn agents_and_workflows_calling_each_other_stop_at_the_depth_limit() {
    let app = skip_unless!(app().await);
    let agent = app.agent_id("Echo chamber").await;
    let ask = r#"Please use the again tool with {}"#;
    let workflow = create(
        &app,
        json!({"name": "Again", "steps": [{"id": "ask", "type": "agent", "agent_id": agent, "message": ask}]}),
    )
    .await;
    let workflow = workflow["id"].as_str().unwrap().to_string();
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/agents/{agent}"))
            .json(
                &json!({"tools": [{"type": "workflow", "workflow_id": workflow, "name": "again"}]}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": ask})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let (_, runs) = send(app.request(
        Method::GET,
        &format!("/v1/workflows/{workflow}/runs?limit=100"),
    ))
    .await;
    let runs = runs["data"].as_array().unwrap();
    // Depths 1, 3, 5 and 7 run; the tool call at depth 9 is refused.
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    let (_, deepest) = send(app.request(
        Method::GET,
        &format!("/v1/runs/{}", runs[0]["id"].as_str().unwrap()),
    ))
    .await;
    let answer = deepest["data"]["steps"][0]["output"].as_str().unwrap();
    assert!(answer.contains("more than 8 deep"), "{answer}");
}

#[tokio::test]
async fn sub_runs_left_running_by_a_dead_process_are_abandoned_on_resume() {
    use faos::access::{Mode, Tenant};
    let app = skip_unless!(app().await);
    let workflow = create(
        &app,
        json!({"name": "W", "steps": [{"id": "a", "type": "transform", "value": 1}]}),
    )
    .await;
    let done = run(&app, workflow["id"].as_str().unwrap(), json!({})).await;
    let org = app
        .store
        .ensure_organization("default", "starter")
        .await
        .unwrap();
    let tenant = Tenant {
        org_id: org.id,
        mode: Mode::Live,
    };
    let orphan = faos::workflows::Run {
        id: "run_orphan".into(),
        workflow_id: workflow["id"].as_str().unwrap().into(),
        workflow_version: 1,
        parent_run_id: Some(done["id"].as_str().unwrap().into()),
        status: faos::workflows::RunStatus::Running,
        input: json!({}),
        output: None,
        error: None,
        steps: Vec::new(),
        created_at: 0,
        started_at: Some(0),
        finished_at: None,
    };
    app.store
        .insert_run(&tenant, &orphan, Some(("dead_worker", 0)))
        .await
        .unwrap();
    assert_eq!(
        app.store
            .abandon_children(&tenant, done["id"].as_str().unwrap())
            .await
            .unwrap(),
        1
    );
    let (_, read) = send(app.request(Method::GET, "/v1/runs/run_orphan")).await;
    assert_eq!(read["data"]["status"], "failed");
    assert!(
        read["data"]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
}

#[tokio::test]
async fn deep_nesting_is_refused_when_saved() {
    let app = skip_unless!(app().await);
    let mut step = json!({"id": "leaf", "type": "transform", "value": 1});
    for level in 0..9 {
        step = json!({"id": format!("b{level}"), "type": "branch", "if": "{{ true }}", "then": [step]});
    }
    let (status, body) = send(
        app.request(Method::POST, "/v1/workflows")
            .json(&json!({"name": "Deep", "steps": [step]})),
    )
    .await;
    let param = format!("steps[0]{}.type", ".then[0]".repeat(8));
    assert_error(status, &body, 400, "invalid_request", Some(&param));
}

#[tokio::test]
async fn cancelling_ends_nested_steps_and_sub_runs() {
    let app = skip_unless!(app().await);
    let child = create(
        &app,
        json!({"name": "Child", "steps": [{"id": "w", "type": "wait", "seconds": 30}]}),
    )
    .await;
    let parent = create(
        &app,
        json!({"name": "Parent", "steps": [
            {"id": "both", "type": "parallel", "branches": [
                [{"id": "sub", "type": "workflow", "workflow_id": child["id"]}],
                [{"id": "m", "type": "map", "items": [1, 2, 3, 4], "concurrency": 2,
                  "steps": [{"id": "w2", "type": "wait", "seconds": 30}]}]
            ]}
        ]}),
    )
    .await;
    let (_, started) = send(
        app.request(
            Method::POST,
            &format!("/v1/workflows/{}/run", parent["id"].as_str().unwrap()),
        )
        .json(&json!({"wait": 0.5})),
    )
    .await;
    let id = started["data"]["id"].as_str().unwrap();
    let (status, cancelled) =
        send(app.request(Method::POST, &format!("/v1/runs/{id}/cancel"))).await;
    assert_eq!(status, 200);
    let run = &cancelled["data"];
    assert_eq!(run["status"], "cancelled");
    let running: Vec<&Value> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "running")
        .collect();
    assert!(running.is_empty(), "no step stays running: {running:?}");
    let (_, children) = send(app.request(
        Method::GET,
        &format!("/v1/workflows/{}/runs", child["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(
        children["data"][0]["status"], "cancelled",
        "the sub-run was stopped too"
    );
}
