//! `/v1/agents` and `/v1/templates`: every success path and each bad input.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, send};

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let app = app!();
    let agent = app
        .create_agent(json!({
            "name": "Support bot",
            "instructions": "Be brief.",
            "tools": [{"type": "builtin", "name": "current_time"}],
            "max_steps": 4,
            "metadata": {"team": "support"}
        }))
        .await;
    let id = agent["id"].as_str().unwrap();
    assert!(id.starts_with("agt_"));
    assert_eq!(agent["object"], "agent");
    assert_eq!(agent["name"], "Support bot");
    assert_eq!(agent["instructions"], "Be brief.");
    assert_eq!(agent["model"], "builtin/assistant");
    assert_eq!(agent["template"], Value::Null);
    assert_eq!(
        agent["tools"],
        json!([{"type": "builtin", "name": "current_time"}])
    );
    assert_eq!(agent["max_steps"], 4);
    assert_eq!(agent["metadata"], json!({"team": "support"}));
    assert!(agent["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, got) = send(app.request(Method::GET, &format!("/v1/agents/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"], agent);

    let (status, updated) = send(
        app.request(Method::PATCH, &format!("/v1/agents/{id}"))
            .json(&json!({"name": "Renamed", "metadata": {"team": null, "tier": "gold"}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    let updated = &updated["data"];
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["instructions"], "Be brief.", "fields not sent stay");
    assert_eq!(updated["max_steps"], 4);
    assert_eq!(updated["metadata"], json!({"tier": "gold"}), "merge patch");
    assert!(updated["updated_at"].as_str() >= agent["updated_at"].as_str());

    let (status, cleared) = send(
        app.request(Method::PATCH, &format!("/v1/agents/{id}"))
            .json(&json!({"metadata": null})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cleared["data"]["metadata"], json!({}));
    assert_eq!(cleared["data"]["name"], "Renamed");

    let (status, deleted) = send(app.request(Method::DELETE, &format!("/v1/agents/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        deleted["data"],
        json!({"id": id, "object": "agent", "deleted": true})
    );
    let (status, body) = send(app.request(Method::GET, &format!("/v1/agents/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, body) = send(app.request(Method::DELETE, &format!("/v1/agents/{id}"))).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
    let (status, body) = send(
        app.request(Method::PATCH, &format!("/v1/agents/{id}"))
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn a_template_fills_the_fields_left_out() {
    let app = app!();
    let (status, templates) = send(app.request(Method::GET, "/v1/templates")).await;
    assert_eq!(status, 200);
    let list = templates["data"].as_array().unwrap();
    assert!(list.len() >= 4, "customer-service plus three more");
    for template in list {
        assert_eq!(template["object"], "template");
        assert!(
            template["instructions"].as_str().unwrap().len() > 100,
            "real instructions"
        );
        assert_eq!(template["model"], "builtin/assistant");
    }
    let service = list.iter().find(|t| t["id"] == "customer-service").unwrap();

    let agent = app
        .create_agent(json!({"name": "My Agent", "template": "customer-service"}))
        .await;
    assert_eq!(agent["template"], "customer-service");
    assert_eq!(agent["instructions"], service["instructions"]);
    assert_eq!(agent["model"], service["model"]);

    let own = app
        .create_agent(json!({"name": "Mine", "template": "customer-service", "instructions": "Only mine.", "model": "builtin/echo"}))
        .await;
    assert_eq!(
        own["instructions"], "Only mine.",
        "the request wins over the template"
    );
    assert_eq!(own["model"], "builtin/echo");
}

#[tokio::test]
async fn the_default_model_comes_from_configuration() {
    let app = app!(|c| c.default_model = "builtin/echo".into());
    let agent = app.create_agent(json!({"name": "A"})).await;
    assert_eq!(agent["model"], "builtin/echo");
    let (_, templates) = send(app.request(Method::GET, "/v1/templates")).await;
    assert_eq!(templates["data"][0]["model"], "builtin/echo");
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let app = app!();
    let long_name = "n".repeat(257);
    let long_key = "k".repeat(41);
    let long_param = format!("metadata.{long_key}");
    let many_keys: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let http_tool = |extra: Value| {
        let mut tool = json!({"type": "http", "name": "lookup", "method": "GET", "url": "https://api.example.com/orders/{id}"});
        tool.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"name": "A", "tools": [tool]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": long_name}), "name"),
        (json!({"name": "a\u{0}b"}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "A", "template": "nope"}), "template"),
        (json!({"name": "A", "template": 3}), "template"),
        (json!({"name": "A", "instructions": ["x"]}), "instructions"),
        (
            json!({"name": "A", "instructions": "x".repeat(100_001)}),
            "instructions",
        ),
        (json!({"name": "A", "model": "gpt-4o"}), "model"),
        (json!({"name": "A", "model": "nope/x"}), "model"),
        (json!({"name": "A", "model": "builtin/nope"}), "model"),
        (json!({"name": "A", "model": "openai/"}), "model"),
        (json!({"name": "A", "max_steps": 0}), "max_steps"),
        (json!({"name": "A", "max_steps": 101}), "max_steps"),
        (json!({"name": "A", "max_steps": "3"}), "max_steps"),
        (json!({"name": "A", "metadata": "x"}), "metadata"),
        (json!({"name": "A", "metadata": {"a": 1}}), "metadata.a"),
        (
            json!({"name": "A", "metadata": {long_key.clone(): "v"}}),
            &long_param,
        ),
        (
            json!({"name": "A", "metadata": {"a": "v".repeat(501)}}),
            "metadata.a",
        ),
        (json!({"name": "A", "metadata": many_keys}), "metadata"),
        (json!({"name": "A", "unknown": 1}), "unknown"),
        (json!({"name": "A", "tools": {}}), "tools"),
        (json!({"name": "A", "tools": [3]}), "tools[0]"),
        (
            json!({"name": "A", "tools": [{"name": "x"}]}),
            "tools[0].type",
        ),
        (
            json!({"name": "A", "tools": [{"type": "magic"}]}),
            "tools[0].type",
        ),
        (
            json!({"name": "A", "tools": [{"type": "builtin", "name": "rm_rf"}]}),
            "tools[0].name",
        ),
        (
            json!({"name": "A", "tools": [{"type": "builtin", "name": "current_time", "x": 1}]}),
            "tools[0].x",
        ),
        (http_tool(json!({"method": "TRACE"})), "tools[0].method"),
        (
            http_tool(json!({"url": "ftp://example.com"})),
            "tools[0].url",
        ),
        (
            http_tool(json!({"url": "http://127.0.0.1/admin"})),
            "tools[0].url",
        ),
        (
            http_tool(json!({"url": "http://10.0.0.1/"})),
            "tools[0].url",
        ),
        (
            http_tool(json!({"url": "http://169.254.169.254/latest/meta-data"})),
            "tools[0].url",
        ),
        (http_tool(json!({"url": "http://[::1]/"})), "tools[0].url"),
        (
            http_tool(json!({"url": "http://localhost:9000/"})),
            "tools[0].url",
        ),
        (
            http_tool(json!({"url": "https://{host}/x"})),
            "tools[0].url",
        ),
        (http_tool(json!({"name": "has space"})), "tools[0].name"),
        (
            http_tool(json!({"parameters": "object"})),
            "tools[0].parameters",
        ),
        (
            http_tool(json!({"parameters": {"type": "nonsense"}})),
            "tools[0].parameters",
        ),
        (
            json!({"name": "A", "tools": [{"type": "workflow", "workflow_id": "agt_1"}]}),
            "tools[0].workflow_id",
        ),
        (
            json!({"name": "A", "tools": [{"type": "workflow", "workflow_id": "wf_nope"}]}),
            "tools[0].workflow_id",
        ),
        (
            json!({"name": "A", "tools": [{"type": "builtin", "name": "current_time"}, {"type": "builtin", "name": "current_time"}]}),
            "tools[1].name",
        ),
    ];
    for (body, param) in cases {
        let (status, response) = send(app.request(Method::POST, "/v1/agents").json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (_, list) = send(app.request(Method::GET, "/v1/agents")).await;
    assert_eq!(
        list["data"],
        json!([]),
        "nothing was stored by bad requests"
    );
}

#[tokio::test]
async fn valid_tools_of_every_type_are_kept() {
    let app = app!(|c| c.outbound_allow = "127.0.0.1".into());
    let (status, workflow) =
        send(app.request(Method::POST, "/v1/workflows").json(
            &json!({"name": "Triage", "steps": [{"id": "t", "type": "transform", "value": 1}]}),
        ))
        .await;
    assert_eq!(status, 201, "{workflow}");
    let workflow_id = workflow["data"]["id"].as_str().unwrap();
    let tools = json!([
        {"type": "builtin", "name": "current_time"},
        {"type": "http", "name": "order", "description": "Look up an order", "method": "post",
         "url": "http://127.0.0.1:9/orders/{order_id}",
         "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}},
        {"type": "workflow", "workflow_id": workflow_id, "name": "triage"}
    ]);
    let agent = app
        .create_agent(json!({"name": "Tools", "tools": tools}))
        .await;
    assert_eq!(
        agent["tools"][1]["method"], "POST",
        "methods are normalised to upper case"
    );
    assert_eq!(
        agent["tools"][1]["url"], "http://127.0.0.1:9/orders/{order_id}",
        "allowed by FAOS_OUTBOUND_ALLOW"
    );
    assert_eq!(
        agent["tools"][2],
        json!({"type": "workflow", "workflow_id": workflow_id, "name": "triage"})
    );
}

#[tokio::test]
async fn bad_updates_are_named_and_change_nothing() {
    let app = app!();
    let agent = app
        .create_agent(json!({"name": "Keep", "metadata": {"a": "1"}}))
        .await;
    let path = format!("/v1/agents/{}", agent["id"].as_str().unwrap());
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": ""}), "name"),
        (json!({"model": "x"}), "model"),
        (json!({"max_steps": -1}), "max_steps"),
        (json!({"name": null}), "name"),
        (json!({"instructions": null}), "instructions"),
        (json!({"model": null}), "model"),
        (json!({"tools": null}), "tools"),
        (json!({"max_steps": null}), "max_steps"),
        (json!({"template": "blank"}), "template"),
        (json!({"tools": [{"type": "http"}]}), "tools[0].name"),
        (json!({"metadata": {"b": 2}}), "metadata.b"),
        (
            json!({"name": "ok", "metadata": {"k".repeat(41): "v"}}),
            "metadata.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
        ),
    ];
    for (body, param) in cases {
        let (status, response) = send(app.request(Method::PATCH, &path).json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (_, after) = send(app.request(Method::GET, &path)).await;
    assert_eq!(
        after["data"], agent,
        "failed updates left the agent as it was"
    );
}

#[tokio::test]
async fn concurrent_updates_of_different_fields_both_land() {
    let app = app!();
    let agent = app.create_agent(json!({"name": "Race"})).await;
    let path = format!("/v1/agents/{}", agent["id"].as_str().unwrap());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let request = app
            .request(Method::PATCH, &path)
            .json(&json!({"metadata": {format!("k{i}"): "v"}}));
        tasks.push(tokio::spawn(send(request)));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().0, 200);
    }
    let (_, after) = send(app.request(Method::GET, &path)).await;
    assert_eq!(after["data"]["metadata"].as_object().unwrap().len(), 20);
}

#[tokio::test]
async fn names_count_characters_not_bytes() {
    let app = app!();
    let name = "é".repeat(256);
    let agent = app.create_agent(json!({"name": name})).await;
    assert_eq!(agent["name"].as_str().unwrap().chars().count(), 256);
}

#[tokio::test]
async fn templates_are_a_paginated_list() {
    let app = app!();
    let (_, all) = send(app.request(Method::GET, "/v1/templates")).await;
    let all: Vec<Value> = all["data"].as_array().unwrap().clone();
    assert_eq!(
        all[0]["id"], "customer-service",
        "the default order is the documented one"
    );
    let mut walked = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let (status, page) =
            send(app.request(Method::GET, &format!("/v1/templates?{query}"))).await;
        assert_eq!(status, 200);
        walked.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["meta"]["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, all);
    for (query, param) in [
        ("limit=0", "limit"),
        ("cursor=zzz", "cursor"),
        ("order=sideways", "order"),
    ] {
        let (status, body) =
            send(app.request(Method::GET, &format!("/v1/templates?{query}"))).await;
        assert_error(status, &body, 400, "invalid_request", Some(param));
    }
}
