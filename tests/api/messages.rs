//! `/v1/agents/{id}/messages` with the builtin model.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, send};

#[tokio::test]
async fn an_agent_replies_and_both_messages_are_stored() {
    let app = app!();
    let agent = app
        .create_agent(json!({"name": "Support", "template": "customer-service"}))
        .await;
    let id = agent["id"].as_str().unwrap();
    let path = format!("/v1/agents/{id}/messages");

    let (status, reply) =
        send(app.request(Method::POST, &path).json(
            &json!({"content": "How long does shipping take?", "metadata": {"channel": "web"}}),
        ))
        .await;
    assert_eq!(status, 201, "{reply}");
    let reply = &reply["data"];
    assert!(reply["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(reply["object"], "message");
    assert_eq!(reply["agent_id"], id);
    assert_eq!(reply["conversation_id"], "default");
    assert_eq!(reply["role"], "assistant");
    assert!(
        reply["content"]
            .as_str()
            .unwrap()
            .starts_with("Standard shipping takes 3 to 5 business days")
    );
    assert_eq!(reply["stop_reason"], "end_turn");
    assert!(reply["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(reply["usage"]["output_tokens"].as_u64().unwrap() > 0);

    let (status, history) = send(app.request(Method::GET, &format!("{path}?order=asc"))).await;
    assert_eq!(status, 200);
    let messages = history["data"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "How long does shipping take?");
    assert_eq!(messages[0]["metadata"], json!({"channel": "web"}));
    assert!(messages[0]["usage"].is_null() && messages[0]["stop_reason"].is_null());
    assert_eq!(messages[1], *reply);
}

#[tokio::test]
async fn the_model_sees_the_conversation_so_far_and_conversations_are_separate() {
    let app = app!();
    let id = app.agent_id("Memory").await;
    let path = format!("/v1/agents/{id}/messages");
    let say = |content: &str, conversation: &str| {
        app.request(Method::POST, &path)
            .json(&json!({"content": content, "conversation_id": conversation}))
    };
    send(say("My order number is 4711", "alice")).await;
    send(say("The sky is green", "bob")).await;
    let (_, reply) = send(say("Please repeat what I said", "alice")).await;
    assert_eq!(
        reply["data"]["content"],
        "Earlier you said: \"My order number is 4711\""
    );
    let (_, reply) = send(say("what did I say?", "bob")).await;
    assert_eq!(
        reply["data"]["content"],
        "Earlier you said: \"The sky is green\""
    );

    let (_, alice) = send(app.request(Method::GET, &format!("{path}?conversation_id=alice"))).await;
    assert_eq!(alice["data"].as_array().unwrap().len(), 4);
    assert!(
        alice["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["conversation_id"] == "alice")
    );
    assert_eq!(
        alice["data"][0]["role"], "assistant",
        "newest first by default"
    );
    let (_, default) = send(app.request(Method::GET, &path)).await;
    assert_eq!(default["data"], json!([]), "nothing went to 'default'");
}

#[tokio::test]
async fn history_is_paginated() {
    let app = app!();
    let id = app.agent_id("Pages").await;
    let path = format!("/v1/agents/{id}/messages");
    for i in 0..5 {
        let (status, _) = send(
            app.request(Method::POST, &path)
                .json(&json!({"content": format!("m{i}")})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) =
            send(app.request(Method::GET, &format!("{path}?limit=3&order=asc{cursor}"))).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_string()),
        );
        match page["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(seen[0], "m0");
    assert_eq!(seen[2], "m1");
}

#[tokio::test]
async fn bad_messages_are_named_and_store_nothing() {
    let app = app!();
    let id = app.agent_id("Strict").await;
    let path = format!("/v1/agents/{id}/messages");
    let cases = vec![
        (json!({}), "content"),
        (json!({"content": ""}), "content"),
        (json!({"content": 7}), "content"),
        (json!({"content": "x".repeat(200_001)}), "content"),
        (
            json!({"content": "hi", "conversation_id": ""}),
            "conversation_id",
        ),
        (
            json!({"content": "hi", "conversation_id": "c".repeat(129)}),
            "conversation_id",
        ),
        (
            json!({"content": "hi", "conversation_id": "a\nb"}),
            "conversation_id",
        ),
        (
            json!({"content": "hi", "conversation_id": 5}),
            "conversation_id",
        ),
        (json!({"content": "hi", "stream": "yes"}), "stream"),
        (json!({"content": "hi", "on_busy": "wait"}), "on_busy"),
        (json!({"content": "hi", "metadata": {"k": 1}}), "metadata.k"),
        (json!({"content": "hi", "role": "assistant"}), "role"),
    ];
    for (body, param) in cases {
        let (status, response) = send(app.request(Method::POST, &path).json(&body)).await;
        assert_error(status, &response, 400, "invalid_request", Some(param));
    }
    let (_, history) = send(app.request(Method::GET, &path)).await;
    assert_eq!(history["data"], json!([]));

    let (status, body) = send(app.request(
        Method::GET,
        &format!("{path}?conversation_id={}", "c".repeat(129)),
    ))
    .await;
    assert_error(
        status,
        &body,
        400,
        "invalid_request",
        Some("conversation_id"),
    );
    let (status, body) = send(
        app.request(Method::POST, "/v1/agents/agt_missing/messages")
            .json(&json!({"content": "hi"})),
    )
    .await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}

#[tokio::test]
async fn deleting_an_agent_deletes_its_conversations() {
    let app = app!();
    let id = app.agent_id("Gone").await;
    let path = format!("/v1/agents/{id}/messages");
    send(
        app.request(Method::POST, &path)
            .json(&json!({"content": "hi"})),
    )
    .await;
    send(app.request(Method::DELETE, &format!("/v1/agents/{id}"))).await;
    let (status, body) = send(app.request(Method::GET, &path)).await;
    assert_error(status, &body, 404, "not_found", Some("id"));
}
