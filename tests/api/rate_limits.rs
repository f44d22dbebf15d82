//! Plans and rate limits (CONTRACT §5): exact boundaries, headers, the day
//! window, plan changes from the CLI, two server processes on one database
//! (and on one Redis) never accepting more than the limit, and requests one
//! process leased going back to the others when it idles or stops.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use crate::cli::{BIN, Served, faos, key_from, serve};
use crate::helpers::{TestApp, TestDatabase, assert_error};

async fn get_agents(app: &TestApp, key: &str) -> reqwest::Response {
    app.request_as(key, Method::GET, "/v1/agents")
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> i64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

/// Epoch-aligned windows: where the current one of `seconds` ends.
fn window_end(seconds: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now - now % seconds + seconds
}

#[tokio::test]
async fn the_61st_request_in_a_minute_is_refused_with_retry_after() {
    // A one-hour "minute" keeps all 61 requests in one window.
    let app = app!(|c| c.rate_limit_minute_seconds = 3600.0);
    app.store
        .set_plan(&app.org_id, "starter", None, None)
        .await
        .unwrap();
    for n in 1..=60 {
        let response = get_agents(&app, &app.live_key).await;
        assert_eq!(response.status(), 200, "request {n}");
        assert_eq!(header(&response, "x-ratelimit-limit"), 60);
        assert_eq!(header(&response, "x-ratelimit-remaining"), 60 - n);
        assert_eq!(header(&response, "x-ratelimit-reset"), window_end(3600));
    }
    let refused = get_agents(&app, &app.live_key).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    let retry_after = header(&refused, "retry-after");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_error(429, &body, 429, "rate_limit_exceeded", None);

    // Writes are refused too, and refusals are not counted (still 0 left,
    // not negative); the test mode is counted apart from live.
    let (status, _) = crate::helpers::send(
        app.request(Method::POST, "/v1/agents")
            .json(&serde_json::json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 429);
    let sandbox = get_agents(&app, &app.test_key).await;
    assert_eq!(sandbox.status(), 200);
    assert_eq!(header(&sandbox, "x-ratelimit-remaining"), 59);
    // Nothing was created by the refused POST.
    app.store
        .set_plan(&app.org_id, "growth", None, None)
        .await
        .unwrap();
    let (status, agents) = crate::helpers::send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(status, 200);
    assert_eq!(agents["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_day_window_is_reported_when_nearer_to_running_out() {
    let app = app!();
    app.store
        .set_plan(&app.org_id, "enterprise", Some(100), Some(5))
        .await
        .unwrap();
    for n in 1..=5 {
        let response = get_agents(&app, &app.live_key).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), 5);
        assert_eq!(header(&response, "x-ratelimit-remaining"), 5 - n);
        assert_eq!(header(&response, "x-ratelimit-reset"), window_end(86_400));
    }
    let refused = get_agents(&app, &app.live_key).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "x-ratelimit-limit"), 5);
    assert!(header(&refused, "retry-after") > 0);
}

#[tokio::test]
async fn a_new_window_starts_from_zero() {
    let app = app!(|c| c.rate_limit_minute_seconds = 2.0);
    app.store
        .set_plan(&app.org_id, "enterprise", Some(3), Some(1_000))
        .await
        .unwrap();
    // Start right after a window boundary, so three requests fit in it.
    let wait = window_end(2) * 1000
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
    tokio::time::sleep(std::time::Duration::from_millis(wait as u64 + 20)).await;
    for _ in 0..3 {
        assert_eq!(get_agents(&app, &app.live_key).await.status(), 200);
    }
    let refused = get_agents(&app, &app.live_key).await;
    assert_eq!(refused.status(), 429);
    let retry_after = header(&refused, "retry-after");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    tokio::time::sleep(std::time::Duration::from_secs(retry_after as u64)).await;
    let again = get_agents(&app, &app.live_key).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "x-ratelimit-remaining"), 2);
}

#[tokio::test]
async fn failed_authentication_is_not_counted_and_has_no_limit_headers() {
    let app = app!();
    app.store
        .set_plan(&app.org_id, "enterprise", Some(2), Some(2))
        .await
        .unwrap();
    for _ in 0..5 {
        let response = get_agents(&app, "sk_live_wrong").await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().get("x-ratelimit-limit").is_none());
    }
    let health = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
    assert!(health.headers().get("x-ratelimit-limit").is_none());
    let response = get_agents(&app, &app.live_key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 1);
}

#[tokio::test]
async fn set_plan_from_the_cli_applies_to_the_next_request() {
    let app = app!(|c| c.rate_limit_minute_seconds = 3600.0);
    let database = app.database.url.clone();
    let set_plan = |args: &[&str]| {
        let mut command = std::process::Command::new(BIN);
        command
            .args([
                "orgs",
                "set-plan",
                "--database",
                &database,
                "--org",
                "default",
            ])
            .args(args)
            .env_remove("FAOS_DATABASE_URL");
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    set_plan(&[
        "--plan",
        "enterprise",
        "--per-minute",
        "2",
        "--per-day",
        "100",
    ]);
    assert_eq!(get_agents(&app, &app.live_key).await.status(), 200);
    assert_eq!(get_agents(&app, &app.live_key).await.status(), 200);
    assert_eq!(get_agents(&app, &app.live_key).await.status(), 429);
    set_plan(&["--plan", "starter"]);
    let response = get_agents(&app, &app.live_key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-ratelimit-limit"), 60);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 57);
    set_plan(&[
        "--plan",
        "enterprise",
        "--per-minute",
        "3",
        "--per-day",
        "100",
    ]);
    assert_eq!(get_agents(&app, &app.live_key).await.status(), 429);
}

/// Moves organization `default` of `db` to `per_minute` requests a minute
/// (and a million a day), with the CLI.
async fn set_per_minute(db: &TestDatabase, dir: &std::path::Path, per_minute: i64) {
    let per_minute = per_minute.to_string();
    let status = faos(dir)
        .args([
            "orgs",
            "set-plan",
            "--database",
            &db.url,
            "--org",
            "default",
        ])
        .args(["--plan", "enterprise", "--per-minute", &per_minute])
        .args(["--per-day", "1000000"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

/// The Redis to test against, if one answers (`FAOS_TEST_REDIS_URL`,
/// default the local one); prints why the test is skipped otherwise.
fn redis_url() -> Option<String> {
    let url = std::env::var("FAOS_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    let reachable = url
        .strip_prefix("redis://")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|addr| std::net::TcpStream::connect(addr).is_ok());
    if !reachable {
        eprintln!("skipped: no Redis at {url} (set FAOS_TEST_REDIS_URL)");
    }
    reachable.then_some(url)
}

/// Two `faos serve` processes on one new database, and the live key. Keep
/// `_db` and `_dir` bound while the servers run: dropping them removes the
/// database.
struct TwoServers {
    first: Served,
    second: Served,
    key: String,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// Starts two `faos serve` processes on one new database (and
/// `extra_env`), with one-hour minutes, and limits organization `default`
/// to `per_minute`; `None` when the backend is unavailable.
async fn two_servers(extra_env: &[(&str, &str)], per_minute: i64) -> Option<TwoServers> {
    let db = TestDatabase::new().await?;
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![("FAOS_RATE_LIMIT_MINUTE_SECONDS", "3600")];
    env.extend_from_slice(extra_env);
    let first = serve(&db, dir.path(), &env).await;
    let key = key_from(&first.stdout, "live").expect("a live key");
    let second = serve(&db, dir.path(), &env).await;
    set_per_minute(&db, dir.path(), per_minute).await;
    Some(TwoServers {
        first,
        second,
        key,
        _db: db,
        _dir: dir,
    })
}

/// Two processes on one database (and `extra_env`), the organization
/// limited to `limit` per (one-hour) minute: sends 3 × `limit` requests at
/// once, alternating between them. Returns how many were accepted in each
/// window; `None` when the backend is unavailable.
async fn two_processes_share_one_limit(extra_env: &[(&str, &str)], limit: i64) -> Option<Vec<i64>> {
    let TwoServers {
        mut first,
        mut second,
        key,
        _db,
        _dir,
    } = two_servers(extra_env, limit).await?;
    let client = reqwest::Client::new();
    let bases = [first.base.clone(), second.base.clone()];
    let requests = (0..3 * limit).map(|n| {
        let request = client
            .get(format!("{}/v1/agents", bases[n as usize % 2]))
            .bearer_auth(&key)
            .send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            let reset: i64 = response.headers()["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            (status, reset)
        }
    });
    let results = futures::future::join_all(requests).await;
    first.child.kill().await.unwrap();
    second.child.kill().await.unwrap();
    let mut accepted: HashMap<i64, i64> = HashMap::new();
    for (status, reset) in results {
        assert!(status == 200 || status == 429, "{status}");
        if status == 200 {
            *accepted.entry(reset).or_default() += 1;
        }
    }
    Some(accepted.into_values().collect())
}

#[tokio::test]
async fn two_processes_on_one_database_never_exceed_the_limit() {
    let windows = skip_unless!(two_processes_share_one_limit(&[], 40).await);
    assert!(windows.iter().all(|n| *n <= 40), "{windows:?}");
    if windows.len() == 1 {
        assert_eq!(windows[0], 40, "every allowed request is accepted");
    }
}

#[tokio::test]
async fn two_processes_on_one_redis_never_exceed_the_limit() {
    let Some(url) = redis_url() else { return };
    let windows =
        skip_unless!(two_processes_share_one_limit(&[("FAOS_REDIS_URL", &url)], 40).await);
    assert!(windows.iter().all(|n| *n <= 40), "{windows:?}");
    if windows.len() == 1 {
        assert_eq!(windows[0], 40, "every allowed request is accepted");
    }
}

/// How the first process lets go of the requests it leased.
#[derive(Clone, Copy, PartialEq)]
enum LetGo {
    /// It stays up but gets no more requests.
    Idle,
    /// It is stopped with SIGTERM.
    Stop,
}

/// Two processes, a limit of 40 a minute: the first answers one request
/// (leasing more than one), then lets go; the second must then be able to
/// accept the other 39, and no more.
async fn leased_requests_come_back(extra_env: &[(&str, &str)], let_go: LetGo) -> Option<()> {
    let TwoServers {
        mut first,
        mut second,
        key,
        _db,
        _dir,
    } = two_servers(extra_env, 40).await?;
    let client = reqwest::Client::new();
    let get = |base: &str| {
        client
            .get(format!("{base}/v1/agents"))
            .bearer_auth(&key)
            .send()
    };
    let one = get(&first.base).await.unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(header(&one, "x-ratelimit-remaining"), 39);
    match let_go {
        // The hand-back task runs every second, for leases idle a second.
        LetGo::Idle => tokio::time::sleep(std::time::Duration::from_millis(2500)).await,
        LetGo::Stop => assert!(crate::cli::terminate(&mut first.child).await.success()),
    }
    for n in 1..=39 {
        let response = get(&second.base).await.unwrap();
        assert_eq!(response.status(), 200, "request {n} on the second process");
        assert_eq!(header(&response, "x-ratelimit-remaining"), 39 - n);
    }
    let refused = get(&second.base).await.unwrap();
    assert_eq!(refused.status(), 429);
    first.child.kill().await.ok();
    second.child.kill().await.unwrap();
    Some(())
}

#[tokio::test]
async fn an_idle_processs_leased_requests_go_back_to_the_database() {
    skip_unless!(leased_requests_come_back(&[], LetGo::Idle).await);
}

#[tokio::test]
async fn a_stopping_processs_leased_requests_go_back_to_the_database() {
    skip_unless!(leased_requests_come_back(&[], LetGo::Stop).await);
}

#[tokio::test]
async fn an_idle_processs_leased_requests_go_back_to_redis() {
    let Some(url) = redis_url() else { return };
    skip_unless!(leased_requests_come_back(&[("FAOS_REDIS_URL", &url)], LetGo::Idle).await);
}

/// Requests that arrive together are counted together: each accepted one
/// sees its own place in the window, and no more than the limit pass.
#[tokio::test]
async fn concurrent_requests_are_each_counted_once() {
    let app = app!(|c| c.rate_limit_minute_seconds = 3600.0);
    app.store
        .set_plan(&app.org_id, "enterprise", Some(50), Some(1_000))
        .await
        .unwrap();
    let responses =
        futures::future::join_all((0..200).map(|_| get_agents(&app, &app.live_key))).await;
    let mut remaining: Vec<i64> = responses
        .iter()
        .filter(|r| r.status() == 200)
        .map(|r| header(r, "x-ratelimit-remaining"))
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..50).collect::<Vec<_>>());
    assert!(
        responses
            .iter()
            .filter(|r| r.status() != 200)
            .all(|r| r.status() == 429 && header(r, "x-ratelimit-remaining") == 0)
    );
}

/// A lease asked for with a time read just before another process moved the
/// counters into the next window is counted in that next window: a counter
/// never goes back a window (else both windows would restart their counts).
#[tokio::test]
async fn a_late_lease_never_moves_a_counter_back_a_window() {
    use faos::access::rate_limits::{GiveBack, Windows};
    let app = app!();
    let tenant = faos::access::Tenant {
        org_id: app.org_id.clone(),
        mode: faos::access::Mode::Live,
    };
    let windows = Windows::default();
    let now = faos::clock::now_ms();
    let lease = |at: i64| {
        app.store
            .lease_requests(&tenant, &windows, at, GiveBack::default(), 1)
    };
    let next = lease(now + 60_000).await.unwrap();
    let late = lease(now).await.unwrap();
    assert!(late.granted > 0);
    assert_eq!(late.minute.window_start, next.minute.window_start);
    assert_eq!(late.minute.used, next.minute.used + late.granted);
    let after = lease(now + 60_000).await.unwrap();
    assert_eq!(after.minute.used, late.minute.used + after.granted);
}
