//! The store's history is compacted every `--etcd-compaction-interval`: afterwards a watch
//! from a version older than the kept history gets an in-stream ERROR event with a 410
//! Expired Status, an expired continue token gets 410 with a token that goes on at the newest
//! revision, an exact list at a compacted version gets 410, while recent versions keep
//! working.

mod common;

use common::{Client, Events, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Creates a ConfigMap; returns its resourceVersion.
async fn create(client: &Client, name: &str) -> String {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    let created = client
        .send_expecting(Method::POST, CMS, Some(&body), StatusCode::CREATED)
        .await;
    created["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_owned()
}

/// The next event that is not a bookmark, within ten seconds.
async fn next_event(events: &mut Events) -> Value {
    loop {
        let event = events.next_within(Duration::from_secs(10)).await;
        if event["type"] != "BOOKMARK" {
            return event;
        }
    }
}

/// Polls a watch from `rv` until the server reports it expired, within 30 s; returns the
/// ERROR event. Every attempt must be answered 200: an expired version is reported in the
/// stream.
async fn wait_expired(client: &Client, rv: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut events = client
            .watch(&format!("{CMS}?watch=true&resourceVersion={rv}"))
            .await
            .unwrap_or_else(|err| panic!("watch from {rv}: {err:#}"));
        let event = next_event(&mut events).await;
        if event["type"] == "ERROR" {
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "a watch from {rv} still works 30 s after a restart with 1 s compaction: {event}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn history_older_than_the_interval_expires_sqlite() {
    history_older_than_the_interval_expires(Vec::new()).await;
}

#[tokio::test]
async fn history_older_than_the_interval_expires_etcd() {
    let etcd = berth_store::etcd_server::EtcdServer::start()
        .await
        .expect("start etcd");
    history_older_than_the_interval_expires(vec!["--etcd-servers".into(), etcd.endpoint()]).await;
}

/// Writes, restarts the server on the same store with 1 s compaction, waits for the first
/// write's version to expire and checks how expired versions are answered.
async fn history_older_than_the_interval_expires(store_flags: Vec<String>) {
    let mut flags = store_flags;
    flags.extend(["--etcd-compaction-interval".into(), "1s".into()]);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &flags).await.unwrap();
    let client = server.client().await.unwrap();
    let first = create(&client, "first").await;
    create(&client, "second").await;
    create(&client, "third").await;
    let page = client
        .send_expecting(Method::GET, &format!("{CMS}?limit=1"), None, StatusCode::OK)
        .await;
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("a continue token")
        .to_owned();
    // A restart starts the watch cache afresh, so versions from before it are served from the
    // store's history until compaction removes it.
    server.terminate(Duration::from_secs(15)).await.unwrap();
    drop(server);
    let server = Server::start(dir.path(), &flags).await.unwrap();
    let client = server.client().await.unwrap();

    let error = wait_expired(&client, &first).await;
    assert_eq!(error["object"]["kind"], "Status", "{error}");
    assert_eq!(error["object"]["code"], 410, "{error}");
    assert_eq!(error["object"]["reason"], "Expired", "{error}");

    // The continue token's revision is gone too: 410 with a token that goes on at the newest
    // revision from the same key.
    let expired = client
        .send_expecting(
            Method::GET,
            &format!("{CMS}?limit=1&continue={token}"),
            None,
            StatusCode::GONE,
        )
        .await;
    assert_eq!(expired["reason"], "Expired", "{expired}");
    assert!(
        expired["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The provided continue parameter is too old")),
        "{expired}"
    );
    let fresh = expired["metadata"]["continue"]
        .as_str()
        .unwrap_or_else(|| panic!("no fresh continue token: {expired}"));
    let rest = client
        .send_expecting(
            Method::GET,
            &format!("{CMS}?continue={fresh}"),
            None,
            StatusCode::OK,
        )
        .await;
    let names: Vec<&str> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["second", "third"], "{rest}");

    // An exact list at the compacted version, through the plain and the selector paths.
    for query in [
        format!("resourceVersion={first}&resourceVersionMatch=Exact&limit=1"),
        format!("resourceVersion={first}&limit=1"),
        format!("resourceVersion={first}&resourceVersionMatch=Exact&limit=1&labelSelector=a!=b"),
    ] {
        let expired = client
            .send_expecting(
                Method::GET,
                &format!("{CMS}?{query}"),
                None,
                StatusCode::GONE,
            )
            .await;
        assert_eq!(expired["reason"], "Expired", "{query}: {expired}");
        assert_eq!(
            expired["message"], "The resourceVersion for the provided list is too old.",
            "{query}: {expired}"
        );
    }

    // A version written now keeps working.
    let fresh = create(&client, "fresh").await;
    let mut events = client
        .watch(&format!("{CMS}?watch=true&resourceVersion={fresh}"))
        .await
        .unwrap();
    create(&client, "later").await;
    let event = next_event(&mut events).await;
    assert_eq!(event["type"], "ADDED", "{event}");
    assert_eq!(event["object"]["metadata"]["name"], "later", "{event}");
}
