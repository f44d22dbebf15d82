//! `spawn_app_with()` and friends: a real server per test, on the backend the
//! test binary names (`crate::BACKEND`): a temp SQLite file, or a fresh
//! schema in the PostgreSQL server named by `FAOS_TEST_POSTGRES_URL`.
//! PostgreSQL tests end early, printing why, when that server is not
//! configured or not reachable (use the `app!` / `skip_unless!` macros).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use faos::access::{Mode, Tenant};
use faos::app::{AppState, new_key};
use faos::config::Config;
use faos::store::Store;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use tempfile::TempDir;

/// Starts a server for this test (with `spawn_app_with(adjust)`), or
/// returns from the test when its backend is unavailable.
macro_rules! app {
    () => {
        app!(|_| {})
    };
    ($adjust:expr) => {
        skip_unless!(crate::helpers::spawn_app_with($adjust).await)
    };
}

/// The value of an `Option` from a helper that may skip the test (`None`:
/// the backend is unavailable, the reason was printed): returns from the
/// test then.
macro_rules! skip_unless {
    ($value:expr) => {
        match $value {
            Some(value) => value,
            None => return,
        }
    };
}

/// Ends a test that checks SQLite-only behaviour when this binary runs on
/// another backend.
macro_rules! sqlite_only {
    () => {
        if crate::BACKEND != crate::helpers::Backend::Sqlite {
            println!("skipped: this test checks SQLite-only behaviour");
            return;
        }
    };
}

/// The database a test binary runs its servers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temp dir per test.
    Sqlite,
    /// A fresh schema per test in the server named by
    /// `FAOS_TEST_POSTGRES_URL`.
    Postgres,
}

/// Names of the per-test PostgreSQL schemas: `faos_test_<ms>_<random>`.
const SCHEMA_PREFIX: &str = "faos_test_";

/// Schemas older than this are left over from an earlier run: dropped.
const STALE_SCHEMA_MS: i64 = 15 * 60 * 1000;

/// One test's database: a SQLite file, or a PostgreSQL schema (dropped
/// when this goes away; left-overs are dropped by a later run).
pub struct TestDatabase {
    /// The URL the server opens.
    pub url: String,
    sqlite_path: Option<std::path::PathBuf>,
    /// `(admin URL, schema)` on PostgreSQL.
    postgres: Option<(String, String)>,
    _dir: TempDir,
}

impl TestDatabase {
    /// A fresh, empty database on this binary's backend; `None` (after
    /// printing the reason) when the backend is unavailable.
    pub async fn new() -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("temp dir");
        match crate::BACKEND {
            Backend::Sqlite => {
                let path = dir.path().join("faos.db");
                Some(TestDatabase {
                    url: format!("sqlite://{}", path.display()),
                    sqlite_path: Some(path),
                    postgres: None,
                    _dir: dir,
                })
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("FAOS_TEST_POSTGRES_URL") else {
                    println!("skipped: FAOS_TEST_POSTGRES_URL is not set");
                    return None;
                };
                let connect = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    sqlx::PgConnection::connect(&admin),
                )
                .await;
                let mut conn = match connect {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(err)) => {
                        println!(
                            "skipped: PostgreSQL at FAOS_TEST_POSTGRES_URL is unreachable: {err}"
                        );
                        return None;
                    }
                    Err(_) => {
                        println!(
                            "skipped: PostgreSQL at FAOS_TEST_POSTGRES_URL did not answer in 5 s"
                        );
                        return None;
                    }
                };
                drop_stale_schemas(&mut conn).await;
                let schema = format!(
                    "{SCHEMA_PREFIX}{}_{}",
                    now_ms(),
                    faos::ids::random_alphanumeric(10).to_lowercase()
                );
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
                    .execute(&mut conn)
                    .await
                    .expect("create the test schema");
                let separator = if admin.contains('?') { '&' } else { '?' };
                Some(TestDatabase {
                    url: format!(
                        "{admin}{separator}options[search_path]={schema}&application_name={schema}"
                    ),
                    sqlite_path: None,
                    postgres: Some((admin, schema)),
                    _dir: dir,
                })
            }
        }
    }

    /// Whether `needle` appears anywhere in the stored data: the SQLite
    /// file and its WAL, or every text and bytea column of every table of
    /// the PostgreSQL schema.
    pub async fn stores_text(&self, needle: &str) -> bool {
        if let Some(path) = &self.sqlite_path {
            let bytes = std::fs::read(path).unwrap();
            let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
            return [bytes, wal]
                .iter()
                .any(|b| String::from_utf8_lossy(b).contains(needle));
        }
        let (admin, schema) = self.postgres.as_ref().unwrap();
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        let columns = sqlx::query(
            "SELECT table_name::TEXT AS t, column_name::TEXT AS c, data_type::TEXT AS ty
             FROM information_schema.columns
             WHERE table_schema = $1 AND data_type IN ('text', 'bytea', 'character varying')",
        )
        .bind(schema)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(!columns.is_empty(), "the schema has tables");
        for column in &columns {
            let (table, name, kind): (String, String, String) =
                (column.get("t"), column.get("c"), column.get("ty"));
            let sql = format!("SELECT \"{name}\" AS v FROM \"{schema}\".\"{table}\"");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            for row in rows {
                let text = if kind == "bytea" {
                    row.get::<Option<Vec<u8>>, _>("v")
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                } else {
                    row.get::<Option<String>, _>("v")
                };
                if text.is_some_and(|t| t.contains(needle)) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the database exists and is migrated.
    pub async fn is_migrated(&self) -> bool {
        if let Some(path) = &self.sqlite_path {
            return path.exists();
        }
        let (admin, schema) = self.postgres.as_ref().unwrap();
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        sqlx::query("SELECT to_regclass($1)::TEXT AS t")
            .bind(format!("\"{schema}\".agents"))
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<Option<String>, _>("t")
            .is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, schema)) = self.postgres.take() else {
            return;
        };
        // Best effort, on a thread of its own (this one may be inside the
        // test's runtime); what fails here a later run drops.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    // The test's servers are done: end their sessions (the
                    // URL names each after the schema), so they neither
                    // hold connection slots nor block the drop.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut conn)
                    .await;
                    let _ = sqlx::query("SET lock_timeout = '3s'")
                        .execute(&mut conn)
                        .await;
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            })
        })
        .join();
    }
}

/// Drops the test schemas earlier runs left behind (once per process).
async fn drop_stale_schemas(conn: &mut sqlx::PgConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let Ok(rows) = sqlx::query(
        "SELECT nspname::TEXT AS name FROM pg_namespace WHERE nspname LIKE 'faos\\_test\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get("name");
        let made: Option<i64> = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|ms| ms.parse().ok());
        if made.is_some_and(|ms| now_ms() - ms > STALE_SCHEMA_MS) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub live_key: String,
    pub test_key: String,
    pub store: Arc<dyn Store>,
    /// The `default` organization the keys belong to.
    pub org_id: String,
    pub http: reqwest::Client,
    /// Where its data is (kept for the test's length).
    pub database: TestDatabase,
}

/// Starts a server on a fresh database after `adjust` changes its
/// settings; `None` when the backend is unavailable.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let database = TestDatabase::new().await?;
    let mut config = Config {
        database_url: database.url.clone(),
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
    Some(TestApp {
        base: format!("http://{addr}"),
        live_key,
        test_key,
        store,
        org_id: org.id,
        http: reqwest::Client::new(),
        database,
    })
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

/// `metadata` values a create body must refuse (CONTRACT §2), each with the
/// `param` its `400 invalid_request` names.
pub fn bad_metadata() -> Vec<(Value, String)> {
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let long_key = "k".repeat(41);
    vec![
        (Value::Object(many), "metadata".into()),
        (
            json!({long_key.clone(): "v"}),
            format!("metadata.{long_key}"),
        ),
        (json!({"a": "v".repeat(501)}), "metadata.a".into()),
        (json!({"a": 1}), "metadata.a".into()),
        (json!({"": "v"}), "metadata".into()),
        (json!("x"), "metadata".into()),
    ]
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
