//! The `faos` binary itself: first start, keys, openapi, exit codes and
//! graceful shutdown. Tests whose behaviour depends on the database (first
//! start, keys, migrations, crash recovery) run on each backend; the rest
//! are SQLite-only.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{Backend, TestDatabase};

pub const BIN: &str = env!("CARGO_BIN_EXE_faos");

/// A `faos serve` process and what it printed before it was ready.
pub struct Served {
    pub child: Child,
    pub base: String,
    pub stdout: Vec<String>,
    /// Every line the process wrote to stderr (its log), as it comes.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn faos(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("FAOS_DATABASE_URL")
        .env_remove("FAOS_ADDR")
        .env("FAOS_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Starts `faos serve` on `db` and a free port, in `dir`; waits for its
/// "listening" log line.
pub async fn serve(db: &TestDatabase, dir: &std::path::Path, extra_env: &[(&str, &str)]) -> Served {
    serve_with_args(db, dir, &[], extra_env).await
}

/// [`serve`] with more command-line arguments.
pub async fn serve_with_args(
    db: &TestDatabase,
    dir: &std::path::Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> Served {
    let mut command = faos(dir);
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--database", &db.url])
        .args(args)
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("faos starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("faos exited before listening");
    })
    .await
    .expect("faos listens within 30 s");
    let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let lines = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            lines.lock().unwrap().push(line);
        }
    });
    let mut stdout_lines = Vec::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(200), stdout.next_line()).await
    {
        stdout_lines.push(line);
    }
    Served {
        child,
        base,
        stdout: stdout_lines,
        log,
    }
}

pub fn key_from(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        l.trim()
            .strip_prefix(&format!("{label}: "))
            .map(str::to_string)
    })
}

async fn get(base: &str, path: &str, key: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

pub async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().unwrap().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("faos stops after SIGTERM")
        .unwrap()
}

#[tokio::test]
async fn first_start_prints_two_keys_once_and_they_work() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(&db, dir.path(), &[]).await;
    let live = key_from(&first.stdout, "live").expect("a live key is printed");
    let test = key_from(&first.stdout, "test").expect("a test key is printed");
    assert!(live.starts_with("sk_live_") && test.starts_with("sk_test_"));
    assert_eq!(get(&first.base, "/v1/agents", &live).await.0, 200);
    assert_eq!(get(&first.base, "/v1/agents", &test).await.0, 200);
    assert!(terminate(&mut first.child).await.success());

    let mut second = serve(&db, dir.path(), &[]).await;
    assert!(
        second.stdout.is_empty(),
        "no keys on a second start: {:?}",
        second.stdout
    );
    assert_eq!(get(&second.base, "/v1/agents", &live).await.0, 200);
    assert!(terminate(&mut second.child).await.success());
}

#[tokio::test]
async fn keys_create_prints_only_a_working_key() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let output = faos(dir.path())
        .args([
            "keys",
            "create",
            "--database",
            &db.url,
            "--mode",
            "test",
            "--name",
            "ci",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "only the key: {stdout}");
    let default_test = stdout.trim().to_string();
    assert!(default_test.starts_with("sk_test_"));

    let output = faos(dir.path())
        .args([
            "keys",
            "create",
            "--database",
            &db.url,
            "--org",
            "acme",
            "--plan",
            "growth",
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let acme_live = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(acme_live.starts_with("sk_live_"));

    let mut server = serve(&db, dir.path(), &[]).await;
    assert!(
        server.stdout.is_empty(),
        "the database already had an organization"
    );
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/v1/agents", server.base))
        .bearer_auth(&default_test)
        .json(&json!({"name": "Default's"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap();
    assert_eq!(
        get(&server.base, &format!("/v1/agents/{id}"), &default_test)
            .await
            .0,
        200
    );
    assert_eq!(
        get(&server.base, &format!("/v1/agents/{id}"), &acme_live)
            .await
            .0,
        404
    );
    terminate(&mut server.child).await;
}

#[tokio::test]
async fn openapi_prints_the_served_document() {
    sqlite_only!();
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let output = faos(dir.path()).arg("openapi").output().await.unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["openapi"], "3.1.0");
    let mut server = serve(&db, dir.path(), &[]).await;
    let served: Value = reqwest::get(format!("{}/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, served);
    terminate(&mut server.child).await;
}

#[tokio::test]
async fn migrate_and_set_plan_succeed() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let status = faos(dir.path())
        .args(["migrate", "--database", &db.url])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    assert!(db.is_migrated().await);
    let status = faos(dir.path())
        .args([
            "orgs",
            "set-plan",
            "--database",
            &db.url,
            "--org",
            "big",
            "--plan",
            "enterprise",
            "--per-minute",
            "1000",
            "--per-day",
            "1000000",
        ])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

/// A plan set before the first start (which creates the organization)
/// does not cost the first start its keys; they belong to that
/// organization and carry its plan.
#[tokio::test]
async fn a_plan_set_before_the_first_start_keeps_the_keys_coming() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let status = faos(dir.path())
        .args(["orgs", "set-plan", "--database", &db.url])
        .args(["--org", "default", "--plan", "growth"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let mut served = serve(&db, dir.path(), &[]).await;
    let live = key_from(&served.stdout, "live").expect("the first start prints keys");
    let response = reqwest::Client::new()
        .get(format!("{}/v1/agents", served.base))
        .bearer_auth(&live)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ratelimit-limit"], "300", "growth");
    served.child.kill().await.unwrap();
    let again = serve(&db, dir.path(), &[]).await;
    assert!(key_from(&again.stdout, "live").is_none(), "keys print once");
}

#[tokio::test]
async fn migrations_run_once_from_two_nodes_and_no_migrate_requires_them() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    // Unmigrated: `serve --no-migrate` refuses to start, naming the fix.
    let (code, stderr) = fails(
        dir.path(),
        &[
            "serve",
            "--no-migrate",
            "--addr",
            "127.0.0.1:0",
            "--database",
            &db.url,
        ],
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("faos migrate"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // Two nodes migrating at once: both succeed, the schema is whole.
    let migrate = || {
        faos(dir.path())
            .args(["migrate", "--database", &db.url])
            .output()
    };
    let (first, second) = tokio::join!(migrate(), migrate());
    for output in [first.unwrap(), second.unwrap()] {
        assert!(output.status.success(), "{output:?}");
    }
    assert!(db.is_migrated().await);
    let mut server = serve_with_args(&db, dir.path(), &["--no-migrate"], &[]).await;
    let live = key_from(&server.stdout, "live").expect("keys on the first start");
    assert_eq!(get(&server.base, "/v1/agents", &live).await.0, 200);
    assert!(terminate(&mut server.child).await.success());
}

/// Runs `faos ARGS`; returns the exit code and stderr.
async fn fails(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let output = faos(dir).args(args).output().await.unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn bad_usage_exits_2_with_one_line() {
    sqlite_only!();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--no-such-flag"],
        vec!["frobnicate"],
        vec!["keys", "create", "--mode", "staging"],
        vec!["orgs", "set-plan", "--org", "x", "--plan", "enterprise"],
        vec![
            "orgs",
            "set-plan",
            "--org",
            "x",
            "--plan",
            "starter",
            "--per-minute",
            "5",
        ],
    ] {
        let (code, stderr) = fails(dir.path(), &args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[tokio::test]
async fn unusable_addresses_and_databases_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stderr) = fails(dir.path(), &["serve", "--addr", &addr]).await;
    assert_eq!(code, 1, "{stderr}");
    let last = stderr.trim().lines().last().unwrap();
    assert!(
        last.contains("cannot listen on") && last.contains("in use"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let unusable = match crate::BACKEND {
        Backend::Sqlite => "sqlite:///nonexistent-dir/sub/faos.db",
        Backend::Postgres => "postgres://postgres@127.0.0.1:1/faos",
    };
    // A server that cannot be reached fails (1); a URL FAOS cannot use is
    // a usage mistake (2).
    for (database, expected) in [
        (unusable, 1),
        ("mysql://localhost/x", 2),
        ("sqlite::memory:", 2),
        ("sqlite://file:mem1?mode=memory", 2),
        ("sqlite://file::memory:", 2),
    ] {
        let (code, stderr) = fails(
            dir.path(),
            &["serve", "--addr", "127.0.0.1:0", "--database", database],
        )
        .await;
        assert_eq!(code, expected, "{database}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{database}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    let (code, stderr) = fails(
        dir.path(),
        &["migrate", "--database", "mysql://localhost/x"],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "failed starts leave no database behind and spend no keys"
    );
}

#[tokio::test]
async fn a_start_that_cannot_listen_prints_no_keys() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = faos(dir.path())
        .args(["serve", "--addr", &addr, "--database", &db.url])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "no keys printed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let mut server = serve(&db, dir.path(), &[]).await;
    assert!(
        key_from(&server.stdout, "live").is_some(),
        "the keys come with the first start that runs"
    );
    terminate(&mut server.child).await;
}

#[tokio::test]
async fn bad_settings_are_usage_errors_or_clear_failures() {
    sqlite_only!();
    let dir = tempfile::tempdir().unwrap();
    for (args, code) in [
        (vec!["serve", "--addr", "not-an-address"], 2),
        (vec!["serve", "--addr", "127.0.0.1:99999"], 2),
        (
            vec!["serve", "--addr", "127.0.0.1:0", "--database", "sqlite://"],
            2,
        ),
        (
            vec![
                "--config",
                "/nonexistent/faos.toml",
                "serve",
                "--addr",
                "127.0.0.1:0",
            ],
            1,
        ),
        (
            vec!["serve", "--addr", "127.0.0.1:0", "--default-model", "nope"],
            1,
        ),
        (vec![], 2),
        (vec!["keys", "create", "--org", ""], 2),
        (
            vec![
                "orgs",
                "set-plan",
                "--org",
                "x",
                "--plan",
                "enterprise",
                "--per-minute",
                "-5",
                "--per-day",
                "0",
            ],
            2,
        ),
    ] {
        let (got, stderr) = fails(dir.path(), &args).await;
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let (_, stderr) = fails(
        dir.path(),
        &["orgs", "set-plan", "--org", "x", "--plan", "enterprise"],
    )
    .await;
    assert!(
        stderr.contains("--per-minute") && stderr.contains("--per-day"),
        "names what is missing: {stderr}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no database was created"
    );
}

#[tokio::test]
async fn a_closed_stdout_is_an_error_not_a_panic() {
    sqlite_only!();
    let dir = tempfile::tempdir().unwrap();
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        println!("skipping: no /dev/full here");
        return;
    };
    let output = faos(dir.path())
        .arg("openapi")
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("faos: cannot write to stdout"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[tokio::test]
async fn configuration_layers_env_over_file_and_flags_over_env() {
    sqlite_only!();
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("faos.toml"),
        "default_model = \"builtin/echo\"\naddr = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    // The file's addr (port 1) is overridden by the flag; its model is used.
    let mut server = serve(&db, dir.path(), &[]).await;
    let live = key_from(&server.stdout, "live").unwrap();
    let templates = get(&server.base, "/v1/templates", &live).await.1;
    assert_eq!(templates["data"][0]["model"], "builtin/echo");
    terminate(&mut server.child).await;

    let mut server = serve(
        &db,
        dir.path(),
        &[("FAOS_DEFAULT_MODEL", "builtin/assistant")],
    )
    .await;
    let templates = get(&server.base, "/v1/templates", &live).await.1;
    assert_eq!(
        templates["data"][0]["model"], "builtin/assistant",
        "env beats the file"
    );
    terminate(&mut server.child).await;

    let (code, stderr) = fails(
        dir.path(),
        &["serve", "--addr", "127.0.0.1:0", "--default-model", "nope"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid default model"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let db = skip_unless!(TestDatabase::new().await);
    // A slow model stand-in: answers after 1.5 s.
    let slow = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let model_base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(&db, dir.path(), &[("FAOS_OPENAI_BASE_URL", &model_base)]).await;
    let live = key_from(&server.stdout, "live").unwrap();
    let client = reqwest::Client::new();
    let agent: Value = client
        .post(format!("{}/v1/agents", server.base))
        .bearer_auth(&live)
        .json(&json!({"name": "Slow", "model": "openai/slow"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "{}/v1/agents/{}/messages",
        server.base,
        agent["data"]["id"].as_str().unwrap()
    );
    let in_flight = tokio::spawn(
        client
            .post(url)
            .bearer_auth(&live)
            .json(&json!({"content": "hi"}))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = terminate(&mut server.child).await;
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["content"], "done");
    assert!(status.success(), "clean exit after SIGTERM");
}

#[tokio::test]
async fn a_run_killed_mid_way_resumes_after_a_restart() {
    let db = skip_unless!(TestDatabase::new().await);
    let dir = tempfile::tempdir().unwrap();
    let env = [("FAOS_RUN_LEASE_SECONDS", "1")];
    let mut first = serve(&db, dir.path(), &env).await;
    let live = key_from(&first.stdout, "live").unwrap();
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&live)
            .json(&body)
            .send()
    };
    let workflow: Value = post(
        &first.base,
        "/v1/workflows",
        json!({"name": "Durable", "steps": [
            {"id": "first", "type": "transform", "value": 1},
            {"id": "pause", "type": "wait", "seconds": 2},
            {"id": "last", "type": "transform", "value": "{{ steps.first.output }}-done"}
        ]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let path = format!(
        "/v1/workflows/{}/run",
        workflow["data"]["id"].as_str().unwrap()
    );
    let started: Value = post(&first.base, &path, json!({"wait": 0.7}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = started["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(started["data"]["status"], "running", "{started}");

    // SIGKILL, and reaped.
    first.child.kill().await.unwrap();

    let mut second = serve(&db, dir.path(), &env).await;
    let mut run = Value::Null;
    for _ in 0..200 {
        run = get(&second.base, &format!("/v1/runs/{run_id}"), &live)
            .await
            .1["data"]
            .clone();
        if run["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"], "1-done");
    let attempts = |path: &str| {
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == path)
            .map(|s| s["attempts"].as_u64().unwrap())
    };
    assert_eq!(
        attempts("first"),
        Some(1),
        "a step recorded as done does not run again"
    );
    assert_eq!(attempts("pause"), Some(2), "the step in flight runs again");
    assert_eq!(attempts("last"), Some(1));
    terminate(&mut second.child).await;
}

#[tokio::test]
async fn pending_deliveries_survive_a_crash_and_are_all_delivered() {
    let db = skip_unless!(TestDatabase::new().await);
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    // The receiver is down (503) until `up`; then it records event ids.
    let up = Arc::new(AtomicBool::new(false));
    let delivered: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (flag, seen) = (up.clone(), delivered.clone());
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let (flag, seen) = (flag.clone(), seen.clone());
            async move {
                if !flag.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let id = headers["webhook-id"].to_str().unwrap().to_string();
                seen.lock().unwrap().insert(id);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let schedule = vec!["0.3"; 40].join(",");
    let env = [
        ("FAOS_OUTBOUND_ALLOW", "127.0.0.1"),
        ("FAOS_WEBHOOK_RETRY_SCHEDULE", schedule.as_str()),
        ("FAOS_WEBHOOK_LEASE_SECONDS", "1"),
    ];
    let mut first = serve(&db, dir.path(), &env).await;
    let live = key_from(&first.stdout, "live").unwrap();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{}/v1/webhooks", first.base))
        .bearer_auth(&live)
        .json(&json!({"url": hook, "events": ["agent.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for i in 0..50 {
        let response = client
            .post(format!("{}/v1/agents", first.base))
            .bearer_auth(&live)
            .json(&json!({"name": format!("agent {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // SIGKILL, and reaped.
    first.child.kill().await.unwrap();
    assert!(delivered.lock().unwrap().is_empty());

    up.store(true, Ordering::SeqCst);
    let mut second = serve(&db, dir.path(), &env).await;
    for _ in 0..200 {
        if delivered.lock().unwrap().len() >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered.lock().unwrap().len(),
        50,
        "every pending delivery arrived after the restart"
    );
    terminate(&mut second.child).await;
}
