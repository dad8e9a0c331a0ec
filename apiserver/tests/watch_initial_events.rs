//! `sendInitialEvents` on a watch: the current objects then the initial-events-end bookmark
//! when true; only later changes when false, with or without a resourceVersion; refused
//! without `resourceVersionMatch=NotOlderThan`.

mod common;

use common::{Client, Events, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn create(client: &Client, name: &str) {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    client
        .send_expecting(Method::POST, CMS, Some(&body), StatusCode::CREATED)
        .await;
}

/// The next event that is not a periodic bookmark, within ten seconds.
async fn next_event(events: &mut Events) -> Value {
    loop {
        let event = events.next_within(Duration::from_secs(10)).await;
        let end = event.pointer("/object/metadata/annotations/k8s.io~1initial-events-end");
        if event["type"] != "BOOKMARK" || end.is_some() {
            return event;
        }
    }
}

fn name(event: &Value) -> &str {
    event
        .pointer("/object/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[tokio::test]
async fn send_initial_events_true_false_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let client = server.client().await.unwrap();
    create(&client, "before").await;

    // true: the existing object, then the bookmark that ends the initial events.
    let mut events = client.watch(&format!(
            "{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        )).await
        .unwrap();
    let first = next_event(&mut events).await;
    assert_eq!(
        (first["type"].as_str(), name(&first)),
        (Some("ADDED"), "before")
    );
    let end = next_event(&mut events).await;
    assert_eq!(end["type"], "BOOKMARK", "{end}");
    assert_eq!(
        end.pointer("/object/metadata/annotations/k8s.io~1initial-events-end"),
        Some(&json!("true"))
    );

    // false without a resourceVersion: nothing that exists, only what comes next.
    let mut later = client.watch(&format!(
            "{CMS}?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        )).await
        .unwrap();
    create(&client, "after").await;
    let event = next_event(&mut later).await;
    assert_eq!(
        (event["type"].as_str(), name(&event)),
        (Some("ADDED"), "after"),
        "{event}"
    );
    // The first watch sees the new object too.
    let event = next_event(&mut events).await;
    assert_eq!(name(&event), "after");

    // Without resourceVersionMatch=NotOlderThan the request is invalid.
    let status = client
        .send_expecting(
            Method::GET,
            &format!("{CMS}?watch=true&sendInitialEvents=true"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(status["reason"], "Invalid", "{status}");
}
