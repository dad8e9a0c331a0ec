//! A watch with a label selector: an object that starts matching arrives as ADDED, one that
//! stops matching as DELETED carrying its last matching state stamped with the version of the
//! change that took it out.

mod common;

use common::{Client, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Sets (or with `Value::Null` removes) the `app` label by an update; the stored object.
async fn label(client: &Client, name: &str, app: Value) -> Value {
    let path = format!("{CMS}/{name}");
    let mut cm = client
        .send_expecting(Method::GET, &path, None, StatusCode::OK)
        .await;
    match app {
        Value::Null => cm["metadata"]["labels"] = json!({}),
        app => cm["metadata"]["labels"]["app"] = app,
    }
    client
        .send_expecting(Method::PUT, &path, Some(&cm), StatusCode::OK)
        .await
}

#[tokio::test]
async fn objects_entering_and_leaving_a_selection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let client = server.client().await.unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm1", "labels": {"app": "other"}}, "data": {"k": "v"}});
    client
        .send_expecting(Method::POST, CMS, Some(&cm), StatusCode::CREATED)
        .await;
    let mut events = client
        .watch(&format!("{CMS}?watch=true&labelSelector=app%3Dweb"))
        .await
        .unwrap();

    let joined = label(&client, "cm1", json!("web")).await;
    let added = events.next_within(Duration::from_secs(10)).await;
    assert_eq!(added["type"], "ADDED", "{added}");
    assert_eq!(added["object"], joined, "{added}");

    let left = label(&client, "cm1", Value::Null).await;
    let deleted = events.next_within(Duration::from_secs(10)).await;
    assert_eq!(deleted["type"], "DELETED", "{deleted}");
    let object = &deleted["object"];
    assert_eq!(object["metadata"]["labels"]["app"], "web", "{deleted}");
    assert_eq!(
        object["metadata"]["resourceVersion"], left["metadata"]["resourceVersion"],
        "{deleted}"
    );
    assert_eq!(object["data"], json!({"k": "v"}), "{deleted}");
}
