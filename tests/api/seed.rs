//! The seed document's own curl examples, run verbatim with `curl` against
//! a local server (base URL `https://api.faosx.ai/v1` swapped for the
//! server's `/v1`, `sk_live_xxx` for a real key).

use tokio::process::Command;

use serde_json::Value;

async fn curl(args: &[&str]) -> Option<Value> {
    let output = match Command::new("curl").arg("-sS").args(args).output().await {
        Ok(output) => output,
        Err(err) => {
            println!("skipping the curl examples: curl is not available ({err})");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("curl got JSON"))
}

#[tokio::test]
async fn the_seeds_curl_examples_answer_as_documented() {
    let app = app!();
    let base = format!("{}/v1", app.base);
    let bearer = format!("Authorization: Bearer {}", app.live_key);

    // Request Format: create an agent from a template.
    let created = curl(&[
        "-X",
        "POST",
        &format!("{base}/agents"),
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"name": "My Agent", "template": "customer-service"}"#,
    ])
    .await;
    let Some(created) = created else { return };
    assert_eq!(created["data"]["name"], "My Agent");
    assert_eq!(created["data"]["template"], "customer-service");
    assert!(
        created["meta"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    assert!(
        created["meta"]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // Authentication: API key in the header.
    let listed = curl(&["-H", &bearer, &format!("{base}/agents")])
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], created["data"]["id"]);
    assert_eq!(listed["meta"]["has_more"], false);

    // Authentication: API key as a query parameter (not recommended).
    let by_query = curl(&[&format!("{base}/agents?api_key={}", app.live_key)])
        .await
        .unwrap();
    assert_eq!(by_query["data"], listed["data"]);

    // Pagination: GET /v1/agents?limit=20&cursor=…
    let page = curl(&["-H", &bearer, &format!("{base}/agents?limit=20")])
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert!(page["meta"]["next_cursor"].is_null());

    // Error Responses: the documented example, word for word.
    let error = curl(&[
        "-X",
        "POST",
        &format!("{base}/agents"),
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "-d",
        "{}",
    ])
    .await
    .unwrap();
    assert_eq!(error["error"]["code"], "invalid_request");
    assert_eq!(error["error"]["message"], "The 'name' field is required");
    assert_eq!(error["error"]["param"], "name");

    // Messages: send one and read the history.
    let agent = created["data"]["id"].as_str().unwrap();
    let reply = curl(&[
        "-X",
        "POST",
        &format!("{base}/agents/{agent}/messages"),
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"content": "I want a refund"}"#,
    ])
    .await
    .unwrap();
    assert!(
        reply["data"]["content"]
            .as_str()
            .unwrap()
            .contains("30 days")
    );
    let history = curl(&["-H", &bearer, &format!("{base}/agents/{agent}/messages")])
        .await
        .unwrap();
    assert_eq!(history["data"].as_array().unwrap().len(), 2);
}
