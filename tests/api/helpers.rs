//! `spawn_app()` and friends: a real server per test.

use std::sync::Arc;

use faos::access::{Mode, Tenant};
use faos::app::{AppState, new_key};
use faos::config::Config;
use faos::store::Store;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub live_key: String,
    pub test_key: String,
    pub store: Arc<dyn Store>,
    /// The `default` organization the keys belong to.
    pub org_id: String,
    pub http: reqwest::Client,
    pub database_path: std::path::PathBuf,
    _dir: TempDir,
}

/// Starts a server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `adjust` changes its settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_path = dir.path().join("faos.db");
    let mut config = Config {
        database_url: format!("sqlite://{}", database_path.display()),
        ..Config::default()
    };
    adjust(&mut config);
    let state = AppState::new(&config).await.expect("app state");
    let (live_key, test_key) = faos::app::bootstrap(state.store.as_ref())
        .await
        .expect("bootstrap")
        .expect("a fresh database bootstraps");
    let store = state.store.clone();
    let org = store
        .ensure_organization("default", "starter")
        .await
        .unwrap();
    unthrottle(store.as_ref(), &org.id).await;
    state.start_background();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, faos::api::router(state))
            .await
            .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        live_key,
        test_key,
        store,
        org_id: org.id,
        http: reqwest::Client::new(),
        database_path,
        _dir: dir,
    }
}

/// Puts an organization on limits no test reaches (rate-limit tests set
/// their own).
pub async fn unthrottle(store: &dyn Store, org_id: &str) {
    store
        .set_plan(
            org_id,
            "enterprise",
            Some(1_000_000_000),
            Some(1_000_000_000),
        )
        .await
        .unwrap();
}

impl TestApp {
    /// A request with the live key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(&self.live_key, method, path)
    }

    /// A request with the given key.
    pub fn request_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// A new organization with one key of `mode`; returns the key.
    pub async fn key_for_new_org(&self, name: &str, mode: Mode) -> String {
        let org = self
            .store
            .ensure_organization(name, "starter")
            .await
            .unwrap();
        unthrottle(self.store.as_ref(), &org.id).await;
        let key = new_key(
            &Tenant {
                org_id: org.id,
                mode,
            },
            None,
        );
        self.store.insert_api_key(&key.record).await.unwrap();
        key.secret
    }

    /// Creates an agent with the live key; returns its JSON.
    pub async fn create_agent(&self, body: Value) -> Value {
        let (status, json) = send(self.request(Method::POST, "/v1/agents").json(&body)).await;
        assert_eq!(status, 201, "create agent: {json}");
        json["data"].clone()
    }

    /// Creates a plain agent named `name` with the live key; returns its id.
    pub async fn agent_id(&self, name: &str) -> String {
        self.create_agent(json!({"name": name})).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Sends a request; returns the status and the JSON body (`Null` if none).
pub async fn send(request: RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request failed");
    split(response).await
}

/// Status and JSON body of a response.
pub async fn split(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, json)
}

/// Asserts an error response's status, `code` and `param`, and the
/// envelope's shape.
#[track_caller]
pub fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, param: Option<&str>) {
    assert_eq!(status, want_status, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    match param {
        Some(param) => assert_eq!(body["error"]["param"], param, "body: {body}"),
        None => assert!(
            body["error"].get("param").is_none(),
            "unexpected param: {body}"
        ),
    }
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        body["meta"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
}

/// One Server-Sent Event as a client sees it.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: i64,
    pub event: String,
    pub data: Value,
}

/// Reads events until the stream ends, a terminal event
/// (`message.completed`, `error`), or `max` events (then drops the
/// connection).
pub async fn read_events(response: Response, max: Option<usize>) -> Vec<SseEvent> {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"),
        "not a stream: {:?}",
        response.headers()
    );
    let mut stream = response.bytes_stream().eventsource();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.expect("a well-formed event");
        let parsed = SseEvent {
            id: event.id.parse().expect("every event has a numeric id"),
            event: event.event.clone(),
            data: serde_json::from_str(&event.data).expect("event data is JSON"),
        };
        let terminal = parsed.event == "message.completed" || parsed.event == "error";
        events.push(parsed);
        if terminal || max.is_some_and(|m| events.len() >= m) {
            break;
        }
    }
    events
}

/// The text of the `message.delta` events, concatenated.
pub fn deltas(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event == "message.delta")
        .map(|e| e.data["delta"].as_str().unwrap())
        .collect()
}
