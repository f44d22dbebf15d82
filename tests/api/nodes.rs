//! Several `faos serve` processes on one database: workflow runs and
//! webhook deliveries are shared between them, each run completes exactly
//! once, every delivery is attempted (duplicates are counted and printed),
//! and the work of a node killed mid-way is finished by the others.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{Served, faos, key_from, serve};
use crate::helpers::TestDatabase;

/// What the local receiver saw: http step calls by run input `n`, webhook
/// deliveries by endpoint and `webhook-id`.
#[derive(Default)]
struct Seen {
    steps: Mutex<HashMap<i64, u32>>,
    hooks: Mutex<HashMap<String, u32>>,
}

async fn receiver() -> (String, Arc<Seen>) {
    use axum::routing::post;
    let seen = Arc::new(Seen::default());
    let (steps, hooks) = (seen.clone(), seen.clone());
    let router = axum::Router::new()
        .route(
            "/step",
            post(move |axum::Json(body): axum::Json<Value>| {
                let seen = steps.clone();
                async move {
                    let n = body["n"].as_i64().expect("the step sends n");
                    *seen.steps.lock().unwrap().entry(n).or_default() += 1;
                    "ok"
                }
            }),
        )
        .route(
            "/hook/{endpoint}",
            post(
                move |axum::extract::Path(endpoint): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap| {
                    let seen = hooks.clone();
                    async move {
                        // `webhook-id` is the event's id, the same at every
                        // endpoint: a delivery is (endpoint, event).
                        let id = headers["webhook-id"].to_str().unwrap();
                        *seen
                            .hooks
                            .lock()
                            .unwrap()
                            .entry(format!("{endpoint}/{id}"))
                            .or_default() += 1;
                        "ok"
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, seen)
}

/// Lines of a node's log that contain `what`.
fn count_log(node: &Served, what: &str) -> usize {
    node.log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(what))
        .count()
}

const RUNS: i64 = 500;
const ENDPOINTS: usize = 4;

/// Starts `nodes` servers on `database`, runs [`RUNS`] workflow runs (each
/// one http step) with [`ENDPOINTS`] endpoints subscribed to their
/// completion (so `RUNS × ENDPOINTS` deliveries), SIGKILLs the last node
/// once a third of the runs have called out, and checks the rest finish
/// everything.
async fn nodes_share_and_take_over_work(nodes: usize) {
    assert!(nodes >= 2);
    let db = skip_unless!(TestDatabase::new().await);
    let database = db.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    let (receiver, seen) = receiver().await;
    let schedule = vec!["0.5"; 20].join(",");
    let env = [
        ("FAOS_OUTBOUND_ALLOW", "127.0.0.1"),
        ("FAOS_LOG", "faos=debug"),
        ("FAOS_RUN_LEASE_SECONDS", "2"),
        ("FAOS_WEBHOOK_LEASE_SECONDS", "3"),
        ("FAOS_WEBHOOK_RETRY_SCHEDULE", schedule.as_str()),
    ];
    let mut servers = vec![serve(&db, dir.path(), &env).await];
    let key = key_from(&servers[0].stdout, "live").expect("the first node prints keys");
    let status = faos(dir.path())
        .args([
            "orgs",
            "set-plan",
            "--database",
            database,
            "--org",
            "default",
        ])
        .args(["--plan", "enterprise", "--per-minute", "1000000000"])
        .args(["--per-day", "1000000000"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    for _ in 1..nodes {
        servers.push(serve(&db, dir.path(), &env).await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };

    for endpoint in 0..ENDPOINTS {
        let response = post(
            &bases[0],
            "/v1/webhooks",
            json!({"url": format!("{receiver}/hook/{endpoint}"), "events": ["workflow.run.succeeded"]}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 201);
    }
    let response = post(
        &bases[0],
        "/v1/workflows",
        json!({"name": "Call out", "steps": [{"id": "call", "type": "http", "method": "POST",
            "url": format!("{receiver}/step"), "body": {"n": "{{ input.n }}"}}]}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let workflow: Value = response.json().await.unwrap();
    let workflow = workflow["data"]["id"].as_str().unwrap().to_string();

    // Start the runs through every node, 50 at a time; kill the last node
    // once a third of the runs have made their call.
    let started = Instant::now();
    let victim = nodes - 1;
    let mut killed = false;
    for chunk in (0..RUNS).collect::<Vec<_>>().chunks(50) {
        let alive = if killed { nodes - 1 } else { nodes };
        let requests = chunk.iter().map(|n| {
            post(
                &bases[*n as usize % alive],
                &format!("/v1/workflows/{workflow}/run"),
                json!({"input": {"n": n}}),
            )
        });
        for response in futures::future::join_all(requests).await {
            let response = response.unwrap();
            assert_eq!(response.status(), 202, "{:?}", response.text().await);
        }
        if !killed && seen.steps.lock().unwrap().len() as i64 >= RUNS / 3 {
            // SIGKILL, and reaped.
            servers[victim].child.kill().await.unwrap();
            killed = true;
        }
    }
    if !killed {
        servers[victim].child.kill().await.unwrap();
    }
    let victim_runs = count_log(&servers[victim], "run finished");

    // Wait for every run's call and every delivery.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let steps = seen.steps.lock().unwrap().len() as i64;
        let hooks = seen.hooks.lock().unwrap().len();
        if steps == RUNS && hooks == RUNS as usize * ENDPOINTS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {steps} of {RUNS} runs called out, {hooks} deliveries arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();

    // Every run succeeded, and exactly one completion event each.
    let survivor = &bases[0];
    let mut cursor: Option<String> = None;
    let mut statuses: HashMap<String, String> = HashMap::new();
    let mut completions: HashMap<String, u32> = HashMap::new();
    for (path, kind) in [
        (format!("/v1/workflows/{workflow}/runs"), "runs"),
        (
            "/v1/events?type=workflow.run.succeeded".to_string(),
            "events",
        ),
    ] {
        loop {
            let mut url = format!("{survivor}{path}");
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("limit=100");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page: Value = client
                .get(url)
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for item in page["data"].as_array().unwrap() {
                if kind == "runs" {
                    statuses.insert(
                        item["id"].as_str().unwrap().into(),
                        item["status"].as_str().unwrap().into(),
                    );
                } else {
                    *completions
                        .entry(item["data"]["id"].as_str().unwrap().into())
                        .or_default() += 1;
                }
            }
            cursor = page["meta"]["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
    }
    assert_eq!(statuses.len() as i64, RUNS);
    let not_succeeded: Vec<_> = statuses.iter().filter(|(_, s)| *s != "succeeded").collect();
    assert!(not_succeeded.is_empty(), "{not_succeeded:?}");
    assert_eq!(
        completions.len() as i64,
        RUNS,
        "one completion event per run"
    );
    assert!(
        completions.values().all(|n| *n == 1),
        "a run completed twice"
    );
    let run_ids: HashSet<&String> = statuses.keys().collect();
    assert!(completions.keys().all(|id| run_ids.contains(id)));

    // At-least-once side effects: report the duplicates.
    let step_repeats: u32 = seen.steps.lock().unwrap().values().map(|n| n - 1).sum();
    let hook_repeats: u32 = seen.hooks.lock().unwrap().values().map(|n| n - 1).sum();
    let mut spread = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let runs = count_log(server, "run finished");
        let deliveries = count_log(server, "delivery attempted");
        spread.push(format!(
            "node {index}{}: {runs} runs, {deliveries} delivery attempts",
            if index == victim { " (killed)" } else { "" }
        ));
        if index != victim {
            assert!(runs > 0 && deliveries > 0, "node {index} did no work");
        }
    }
    println!(
        "{nodes} nodes, {RUNS} runs and {} deliveries in {elapsed:.1?}; {}; repeated http step calls: {step_repeats}; repeated deliveries: {hook_repeats}; the killed node finished {victim_runs} runs before it died",
        RUNS as usize * ENDPOINTS,
        spread.join(", ")
    );
    for server in servers.iter_mut() {
        let _ = server.child.kill().await;
    }
}

#[tokio::test]
async fn two_nodes_share_work_and_survive_a_kill() {
    nodes_share_and_take_over_work(2).await;
}

#[tokio::test]
async fn three_nodes_share_work_and_survive_a_kill() {
    nodes_share_and_take_over_work(3).await;
}
