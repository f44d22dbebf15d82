//! Cursor pagination: keyset pages, exactly-once walks under concurrent
//! inserts, bad parameters.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, send};

async fn create_many(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(25) {
        let created = join_all(
            chunk
                .iter()
                .map(|i| app.create_agent(json!({"name": format!("{prefix}{i}")}))),
        )
        .await;
        ids.extend(
            created
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string()),
        );
    }
    ids
}

/// Walks every page of `/v1/agents` with `query`; returns the ids in order.
async fn walk(app: &TestApp, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/agents?{query}&cursor={c}"),
            None => format!("/v1/agents?{query}"),
        };
        let (status, page) = send(app.request(Method::GET, &path)).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string()),
        );
        match page["meta"]["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["meta"]["has_more"], true);
                cursor = Some(next.to_string());
            }
            None => {
                assert_eq!(page["meta"]["has_more"], false);
                return ids;
            }
        }
    }
}

#[tokio::test]
async fn walking_all_pages_under_concurrent_inserts_yields_each_row_once() {
    let app = app!();
    let originals = create_many(&app, "a", 250).await;

    let writer = {
        let base = app.base.clone();
        let key = app.live_key.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..60 {
                let response = http
                    .post(format!("{base}/v1/agents"))
                    .bearer_auth(&key)
                    .json(&json!({"name": format!("late{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            }
        })
    };
    let (desc, asc) = tokio::join!(walk(&app, "limit=7"), walk(&app, "limit=9&order=asc"));
    writer.await.unwrap();

    for (walked, name) in [(&desc, "desc"), (&asc, "asc")] {
        let unique: HashSet<&String> = walked.iter().collect();
        assert_eq!(unique.len(), walked.len(), "{name}: no row twice");
        for id in &originals {
            assert!(unique.contains(id), "{name}: {id} missing");
        }
    }
    // Both walks follow insertion order, one forwards and one backwards.
    let desc_originals: Vec<&String> = desc.iter().filter(|id| originals.contains(id)).collect();
    let mut asc_originals: Vec<&String> = asc.iter().filter(|id| originals.contains(id)).collect();
    asc_originals.reverse();
    assert_eq!(desc_originals, asc_originals, "desc is asc reversed");
}

#[tokio::test]
async fn limits_default_to_20_and_bound_at_1_and_100() {
    let app = app!();
    create_many(&app, "l", 105).await;
    let (_, page) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 20);
    let (_, page) = send(app.request(Method::GET, "/v1/agents?limit=100")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 100);
    assert_eq!(page["meta"]["has_more"], true);
    let newest_first = walk(&app, "limit=100").await;
    assert_eq!(newest_first.len(), 105);
    let (_, page) = send(app.request(Method::GET, "/v1/agents?limit=1&order=asc")).await;
    assert_eq!(
        page["data"][0]["id"],
        newest_first[104].as_str(),
        "asc starts with the oldest"
    );
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let app = app!();
    let agent = app.agent_id("p").await;
    app.agent_id("q").await;
    let (_, first) = send(app.request(Method::GET, "/v1/agents?limit=1")).await;
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_string();
    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    let cases: Vec<(String, &str)> = vec![
        ("limit=0".into(), "limit"),
        ("limit=101".into(), "limit"),
        ("limit=-5".into(), "limit"),
        ("limit=ten".into(), "limit"),
        ("order=sideways".into(), "order"),
        ("cursor=garbage".into(), "cursor"),
        (format!("cursor={tampered}"), "cursor"),
        (format!("cursor={cursor}&order=asc"), "cursor"),
    ];
    for (query, param) in cases {
        let (status, body) = send(app.request(Method::GET, &format!("/v1/agents?{query}"))).await;
        assert_error(status, &body, 400, "invalid_request", Some(param));
    }
    // A cursor belongs to its own list: not another mode's, nor another resource's.
    let (status, body) = send(app.request_as(
        &app.test_key,
        Method::GET,
        &format!("/v1/agents?cursor={cursor}"),
    ))
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("cursor"));
    let (status, body) = send(app.request(
        Method::GET,
        &format!("/v1/agents/{agent}/messages?cursor={cursor}"),
    ))
    .await;
    assert_error(status, &body, 400, "invalid_request", Some("cursor"));

    let (status, page) =
        send(app.request(Method::GET, &format!("/v1/agents?limit=1&cursor={cursor}"))).await;
    assert_eq!(status, 200);
    assert_eq!(page["data"][0]["id"], Value::String(agent));
}
