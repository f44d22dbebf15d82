//! Webhooks and events: endpoints, the URL guard, Standard Webhooks
//! signatures checked by an independent implementation, filters, retries,
//! 410, rotation, redelivery, the event log.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, assert_error, send, spawn_app_with};

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A local webhook receiver: answers `statuses[n]` to its n-th request
/// (then the last one), and records what it got.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

pub async fn receiver(statuses: Vec<u16>, extra: Option<(&'static str, String)>) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let (log, extra) = (got.clone(), extra.clone());
    let router = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (log, count, statuses, extra) =
                (log.clone(), count.clone(), statuses.clone(), extra.clone());
            async move {
                log.lock().unwrap().push(Received {
                    headers,
                    body: body.to_vec(),
                });
                let n = count.fetch_add(1, Ordering::SeqCst);
                let status =
                    StatusCode::from_u16(*statuses.get(n).unwrap_or(statuses.last().unwrap()))
                        .unwrap();
                let mut response =
                    axum::response::IntoResponse::into_response((status, "receiver says hi"));
                if let Some((name, value)) = extra {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/hook"),
        got,
    }
}

impl Receiver {
    /// Waits until `n` requests arrived (at most 10 s); returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the receiver got {} requests, expected {n}",
            self.got.lock().unwrap().len()
        );
    }
}

/// An independent Standard Webhooks verifier (not the server's code):
/// true if any `v1,` signature in the header matches `secret`.
pub fn verify(secret: &str, received: &Received) -> bool {
    let header = |name: &str| received.headers[name].to_str().unwrap().to_string();
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        header("webhook-id"),
        header("webhook-timestamp"),
        String::from_utf8_lossy(&received.body)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

async fn app() -> Option<TestApp> {
    spawn_app_with(|c| {
        c.outbound_allow = "127.0.0.1".into();
        c.webhook_retry_schedule = "0.1,0.1,0.1,0.1".into();
    })
    .await
}

async fn endpoint(app: &TestApp, url: &str, events: Value) -> Value {
    let (status, created) = send(
        app.request(Method::POST, "/v1/webhooks")
            .json(&json!({"url": url, "events": events})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["data"].clone()
}

fn body(received: &Received) -> Value {
    serde_json::from_slice(&received.body).unwrap()
}

#[tokio::test]
async fn events_are_delivered_signed_per_standard_webhooks() {
    let app = skip_unless!(app().await);
    let hook = receiver(vec![200], None).await;
    let created = endpoint(&app, &hook.url, json!(["agent.created"])).await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
    assert_eq!(created["object"], "webhook");
    let id = created["id"].as_str().unwrap();
    let (_, read) = send(app.request(Method::GET, &format!("/v1/webhooks/{id}"))).await;
    assert!(
        read["data"].get("secret").is_none(),
        "the secret is shown only once"
    );

    let agent = app.create_agent(json!({"name": "Hooked"})).await;
    let got = hook.wait_for(1).await;
    let event = body(&got[0]);
    assert_eq!(event["type"], "agent.created");
    assert_eq!(event["object"], "event");
    assert_eq!(
        event["data"], agent,
        "data is the object as the API returns it"
    );
    assert_eq!(got[0].headers["webhook-id"], event["id"].as_str().unwrap());
    let timestamp: i64 = got[0].headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((timestamp - chrono_now()).abs() < 30);
    assert!(
        verify(secret, &got[0]),
        "an independent verifier accepts the signature"
    );
    assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got[0]));

    // The event log has it too, and the delivery log shows the attempt.
    let (_, events) = send(app.request(Method::GET, "/v1/events?type=agent.created")).await;
    assert_eq!(events["data"][0]["id"], event["id"]);
    let (_, one) = send(app.request(
        Method::GET,
        &format!("/v1/events/{}", event["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(one["data"], event);
    let deliveries = wait_deliveries(&app, id, |d| d[0]["status"] == "succeeded").await;
    let delivery = &deliveries[0];
    assert_eq!(
        (
            delivery["attempts"].as_u64(),
            delivery["response_status"].as_u64()
        ),
        (Some(1), Some(200))
    );
    assert_eq!(delivery["response_body"], "receiver says hi");
    assert!(delivery["latency_ms"].is_u64());
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn wait_deliveries(
    app: &TestApp,
    endpoint: &str,
    done: impl Fn(&Vec<Value>) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..400 {
        let (_, page) = send(app.request(
            Method::GET,
            &format!("/v1/webhooks/{endpoint}/deliveries?limit=100"),
        ))
        .await;
        last = page["data"].as_array().unwrap().clone();
        if !last.is_empty() && done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("deliveries never reached the expected state: {last:?}");
}

#[tokio::test]
async fn filters_and_wildcards_choose_what_each_endpoint_gets() {
    let app = skip_unless!(app().await);
    let agents = receiver(vec![200], None).await;
    let runs = receiver(vec![200], None).await;
    let all = receiver(vec![200], None).await;
    endpoint(&app, &agents.url, json!(["agent.*"])).await;
    endpoint(&app, &runs.url, json!(["workflow.run.*"])).await;
    endpoint(&app, &all.url, json!(["*"])).await;

    let id = app.agent_id("A").await;
    send(
        app.request(Method::PATCH, &format!("/v1/agents/{id}"))
            .json(&json!({"name": "B"})),
    )
    .await;
    let (_, workflow) = send(
        app.request(Method::POST, "/v1/workflows")
            .json(&json!({"name": "W", "steps": [{"id": "t", "type": "transform", "value": 1}]})),
    )
    .await;
    let (status, _) = send(
        app.request(
            Method::POST,
            &format!(
                "/v1/workflows/{}/run",
                workflow["data"]["id"].as_str().unwrap()
            ),
        )
        .json(&json!({"wait": 10})),
    )
    .await;
    assert_eq!(status, 200);
    send(app.request(Method::DELETE, &format!("/v1/agents/{id}"))).await;

    let types = |r: &Receiver| -> Vec<String> {
        r.got
            .lock()
            .unwrap()
            .iter()
            .map(|g| body(g)["type"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    // Deliveries are concurrent: their order is not promised, so compare sets.
    all.wait_for(6).await;
    agents.wait_for(3).await;
    runs.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        types(&agents),
        ["agent.created", "agent.deleted", "agent.updated"]
    );
    assert_eq!(
        types(&runs),
        ["workflow.run.started", "workflow.run.succeeded"]
    );
    let counts = [&agents, &runs, &all].map(|r| r.got.lock().unwrap().len());
    assert_eq!(counts, [3, 2, 6], "each event once per endpoint");
    let every = types(&all);
    assert_eq!(
        every,
        [
            "agent.created",
            "agent.deleted",
            "agent.updated",
            "workflow.created",
            "workflow.run.started",
            "workflow.run.succeeded"
        ]
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_at_attempt_four() {
    let app = skip_unless!(app().await);
    let hook = receiver(vec![500, 500, 503, 200], None).await;
    let created = endpoint(&app, &hook.url, json!(["*"])).await;
    app.agent_id("Retry me").await;
    let got = hook.wait_for(4).await;
    let ids: Vec<&str> = got
        .iter()
        .map(|g| g.headers["webhook-id"].to_str().unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every attempt carries the same webhook-id"
    );
    let deliveries = wait_deliveries(&app, created["id"].as_str().unwrap(), |d| {
        d[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(deliveries[0]["attempts"], 4);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        hook.got.lock().unwrap().len(),
        4,
        "no attempt after the success"
    );
}

#[tokio::test]
async fn retries_stop_after_the_schedule_and_honour_retry_after() {
    let app = skip_unless!(app().await);
    let failing = receiver(vec![500], None).await;
    let created = endpoint(&app, &failing.url, json!(["agent.created"])).await;
    app.agent_id("Never").await;
    let deliveries = wait_deliveries(&app, created["id"].as_str().unwrap(), |d| {
        d[0]["status"] == "failed"
    })
    .await;
    assert_eq!(
        deliveries[0]["attempts"], 5,
        "the first attempt and four retries"
    );
    assert_eq!(deliveries[0]["response_status"], 500);
    assert!(deliveries[0]["next_attempt_at"].is_null());

    let limited = receiver(vec![429, 200], Some(("retry-after", "1".to_string()))).await;
    endpoint(&app, &limited.url, json!(["agent.created"])).await;
    app.agent_id("Later").await;
    let got = limited.wait_for(2).await;
    let first: i64 = got[0].headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let second: i64 = got[1].headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        second - first >= 1,
        "waited for Retry-After, not the 0.1 s schedule"
    );
}

#[tokio::test]
async fn a_410_disables_the_endpoint() {
    let app = skip_unless!(app().await);
    let gone = receiver(vec![410], None).await;
    let created = endpoint(&app, &gone.url, json!(["agent.created"])).await;
    let id = created["id"].as_str().unwrap();
    app.agent_id("One").await;
    gone.wait_for(1).await;
    let mut endpoint_now = Value::Null;
    for _ in 0..100 {
        endpoint_now = send(app.request(Method::GET, &format!("/v1/webhooks/{id}")))
            .await
            .1["data"]
            .clone();
        if endpoint_now["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(endpoint_now["enabled"], false);
    assert!(
        endpoint_now["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let (_, events) = send(app.request(Method::GET, "/v1/events?type=webhook.disabled")).await;
    assert_eq!(events["data"][0]["data"]["id"], id, "an event says so");
    app.agent_id("Two").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        gone.got.lock().unwrap().len(),
        1,
        "a disabled endpoint gets nothing more"
    );

    // Enabling it again clears the reason.
    let (_, enabled) = send(
        app.request(Method::PATCH, &format!("/v1/webhooks/{id}"))
            .json(&json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        (
            enabled["data"]["enabled"].as_bool(),
            &enabled["data"]["disabled_reason"]
        ),
        (Some(true), &Value::Null)
    );
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_and_test_and_retry_redeliver() {
    let app = skip_unless!(app().await);
    let hook = receiver(vec![200], None).await;
    let created = endpoint(&app, &hook.url, json!(["agent.created"])).await;
    let id = created["id"].as_str().unwrap();
    let old = created["secret"].as_str().unwrap().to_string();
    let (status, rotated) =
        send(app.request(Method::POST, &format!("/v1/webhooks/{id}/rotate_secret"))).await;
    assert_eq!(status, 200);
    let new = rotated["data"]["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    // A second rotation while the old secret still signs would drop it.
    let (status, refused) =
        send(app.request(Method::POST, &format!("/v1/webhooks/{id}/rotate_secret"))).await;
    assert_error(status, &refused, 409, "conflict", None);

    let (status, test) = send(app.request(Method::POST, &format!("/v1/webhooks/{id}/test"))).await;
    assert_eq!(status, 202);
    assert_eq!(test["data"]["type"], "webhook.test");
    let got = hook.wait_for(1).await;
    assert_eq!(body(&got[0])["type"], "webhook.test");
    let signatures = got[0].headers["webhook-signature"]
        .to_str()
        .unwrap()
        .split(' ')
        .count();
    assert_eq!(
        signatures, 2,
        "old and new secrets both sign during the grace period"
    );
    assert!(verify(&old, &got[0]) && verify(&new, &got[0]));

    let deliveries = wait_deliveries(&app, id, |d| d[0]["status"] == "succeeded").await;
    let delivery = deliveries[0]["id"].as_str().unwrap();
    let (status, retried) = send(app.request(
        Method::POST,
        &format!("/v1/webhooks/{id}/deliveries/{delivery}/retry"),
    ))
    .await;
    assert_eq!(status, 202, "{retried}");
    let again = hook.wait_for(2).await;
    assert_eq!(
        again[1].headers["webhook-id"], again[0].headers["webhook-id"],
        "a redelivery is the same message"
    );
    let (status, body) = send(app.request(
        Method::POST,
        &format!("/v1/webhooks/{id}/deliveries/dlv_nope/retry"),
    ))
    .await;
    assert_error(status, &body, 404, "not_found", Some("delivery_id"));
}

#[tokio::test]
async fn the_url_guard_refuses_private_targets() {
    let app = app!(|c| c.webhook_retry_schedule = "0.1".into());
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
        "not a url",
    ] {
        let (status, body) = send(
            app.request(Method::POST, "/v1/webhooks")
                .json(&json!({"url": url})),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request", Some("url"));
    }
    for (events, param) in [
        (json!([]), "events"),
        (json!(["agent.exploded"]), "events[0]"),
        (json!(["*", "nope.*"]), "events[1]"),
    ] {
        let (status, body) = send(
            app.request(Method::POST, "/v1/webhooks")
                .json(&json!({"url": "https://example.com/h", "events": events})),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request", Some(param));
    }
    let (status, body) = send(app.request(Method::GET, "/v1/events?type=nope")).await;
    assert_error(status, &body, 400, "invalid_request", Some("type"));
    let long_url = format!("https://example.com/{}", "a".repeat(2048));
    let long_description = "d".repeat(1001);
    for (body, param) in [
        (json!({"url": long_url}), "url"),
        (
            json!({"url": "https://example.com/h", "description": long_description}),
            "description",
        ),
    ] {
        let (status, body) = send(app.request(Method::POST, "/v1/webhooks").json(&body)).await;
        assert_error(status, &body, 400, "invalid_request", Some(param));
    }
    let (status, created) = send(app.request(Method::POST, "/v1/webhooks").json(
        &json!({"url": "https://example.com/h", "events": ["agent.created", "agent.*", "agent.created"]}),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["data"]["events"],
        json!(["agent.created", "agent.*"])
    );
    let id = created["data"]["id"].as_str().unwrap();
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/webhooks/{id}"))
            .json(&json!({"description": long_description})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("description"));

    // A host name that resolves to loopback passes the save-time check and
    // fails when delivered to, with the reason recorded.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let Some(name) = hosts.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let ip: std::net::IpAddr = parts.next()?.parse().ok()?;
        let name = parts.find(|n| !n.contains("localhost") && !n.starts_with('#'))?;
        ip.is_loopback().then(|| name.to_string())
    }) else {
        println!("skipping the DNS part: /etc/hosts names no loopback host besides localhost");
        return;
    };
    let hook = receiver(vec![200], None).await;
    let port = hook
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let created = endpoint(
        &app,
        &format!("http://{name}:{port}/hook"),
        json!(["agent.created"]),
    )
    .await;
    app.agent_id("Sneaky").await;
    let deliveries = wait_deliveries(&app, created["id"].as_str().unwrap(), |d| {
        d[0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert!(
        deliveries[0]["error"].as_str().unwrap().contains("refuses"),
        "{:?}",
        deliveries[0]
    );
    assert!(hook.got.lock().unwrap().is_empty());
}

#[tokio::test]
async fn redirects_are_failures_even_to_allowed_hosts() {
    let app = skip_unless!(app().await);
    let target = receiver(vec![200], None).await;
    let redirecting = receiver(vec![302], Some(("location", target.url.clone()))).await;
    let created = endpoint(&app, &redirecting.url, json!(["agent.created"])).await;
    app.agent_id("Moved").await;
    let deliveries = wait_deliveries(&app, created["id"].as_str().unwrap(), |d| {
        d[0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(deliveries[0]["response_status"], 302);
    assert!(
        deliveries[0]["error"]
            .as_str()
            .unwrap()
            .contains("redirects")
    );
    assert!(
        target.got.lock().unwrap().is_empty(),
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn secrets_are_sealed_with_a_master_key() {
    let app = app!(|c| {
        c.outbound_allow = "127.0.0.1".into();
        c.secret_key = Some("operator master key".into());
    });
    let hook = receiver(vec![200], None).await;
    let created = endpoint(&app, &hook.url, json!(["agent.created"])).await;
    let secret = created["secret"].as_str().unwrap();
    app.agent_id("Sealed").await;
    let got = hook.wait_for(1).await;
    assert!(verify(secret, &got[0]));
    assert!(
        !app.database.stores_text(&secret[6..]).await,
        "the secret is not stored in plain text"
    );
}

#[tokio::test]
async fn endpoints_are_scoped_and_editable() {
    let app = skip_unless!(app().await);
    let created = endpoint(&app, "https://example.com/hook", json!(["*"])).await;
    let id = created["id"].as_str().unwrap();
    let (status, body) =
        send(app.request_as(&app.test_key, Method::GET, &format!("/v1/webhooks/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, updated) = send(
        app.request(Method::PATCH, &format!("/v1/webhooks/{id}"))
            .json(&json!({"events": ["workflow.run.*"], "description": "runs", "metadata": {"team": "ops"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["data"]["events"], json!(["workflow.run.*"]));
    assert_eq!(updated["data"]["description"], "runs");
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/webhooks/{id}"))
            .json(&json!({"url": "http://10.1.1.1/"})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("url"));
    let (_, list) = send(app.request(Method::GET, "/v1/webhooks")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("secret").is_none());
    let (status, deleted) = send(app.request(Method::DELETE, &format!("/v1/webhooks/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted["data"],
        json!({"id": id, "object": "webhook", "deleted": true})
    );
    let (status, _) = send(app.request(Method::GET, &format!("/v1/webhooks/{id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_change_writes_its_event() {
    let app = skip_unless!(app().await);
    let agent = app.agent_id("Evented").await;
    let (_, reply) = send(
        app.request(Method::POST, &format!("/v1/agents/{agent}/messages"))
            .json(&json!({"content": "hi"})),
    )
    .await;
    let (_, workflow) = send(
        app.request(Method::POST, "/v1/workflows")
            .json(&json!({"name": "W", "steps": [{"id": "t", "type": "transform", "value": 1}]})),
    )
    .await;
    let workflow_id = workflow["data"]["id"].as_str().unwrap();
    send(
        app.request(Method::PATCH, &format!("/v1/workflows/{workflow_id}"))
            .json(&json!({"name": "W2"})),
    )
    .await;
    let (_, run) = send(
        app.request(Method::POST, &format!("/v1/workflows/{workflow_id}/run"))
            .json(&json!({"wait": 10})),
    )
    .await;
    let (_, long) = send(
        app.request(Method::POST, "/v1/workflows")
            .json(&json!({"name": "L", "steps": [{"id": "w", "type": "wait", "seconds": 30}]})),
    )
    .await;
    let (_, started) = send(
        app.request(
            Method::POST,
            &format!("/v1/workflows/{}/run", long["data"]["id"].as_str().unwrap()),
        )
        .json(&json!({"wait": 0.3})),
    )
    .await;
    send(app.request(
        Method::POST,
        &format!(
            "/v1/runs/{}/cancel",
            started["data"]["id"].as_str().unwrap()
        ),
    ))
    .await;
    send(app.request(Method::DELETE, &format!("/v1/workflows/{workflow_id}"))).await;

    let (_, page) = send(app.request(Method::GET, "/v1/events?limit=100&order=asc")).await;
    let events = page["data"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for expected in [
        "agent.created",
        "message.created",
        "workflow.created",
        "workflow.updated",
        "workflow.run.started",
        "workflow.run.succeeded",
        "workflow.run.cancelled",
        "workflow.deleted",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    let messages: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "message.created")
        .collect();
    assert_eq!(messages.len(), 2, "the user's message and the reply");
    assert_eq!(messages[1]["data"], reply["data"]);
    let succeeded = events
        .iter()
        .find(|e| e["type"] == "workflow.run.succeeded")
        .unwrap();
    assert_eq!(succeeded["data"]["id"], run["data"]["id"]);
    assert_eq!(succeeded["data"]["steps"][0]["status"], "succeeded");
    let (_, test_mode) = send(app.request_as(&app.test_key, Method::GET, "/v1/events")).await;
    assert_eq!(test_mode["data"], json!([]), "events belong to their mode");
    let (status, body) = send(app.request(Method::GET, "/v1/events/evt_nope")).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}
