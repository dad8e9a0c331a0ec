//! `pods/binding` and `pods/eviction` against the real server.

mod common;

use common::Server;
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
}

/// The `message` of a `Status` answer.
fn message(status: &Value) -> &str {
    status["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_assigns_once_and_eviction_honours_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let c = server.client().await.unwrap();
    let base = "/api/v1/namespaces/default/pods";
    for name in ["a", "b"] {
        c.send_expecting(Method::POST, base, Some(&pod(name)), StatusCode::CREATED)
            .await;
    }
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"}, "target": {"kind": "Node", "name": "node-1"}});
    c.send_expecting(
        Method::POST,
        &format!("{base}/a/binding"),
        Some(&binding),
        StatusCode::CREATED,
    )
    .await;
    let a = c
        .send_expecting(Method::GET, &format!("{base}/a"), None, StatusCode::OK)
        .await;
    assert_eq!(a["spec"]["nodeName"], "node-1");
    let scheduled = a["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["status"] == "True");
    assert!(scheduled, "{a}");
    let again = json!({"kind": "Binding", "metadata": {"name": "a"}, "target": {"kind": "Node", "name": "node-2"}});
    let refused = c
        .send_expecting(
            Method::POST,
            &format!("{base}/a/binding"),
            Some(&again),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(
        message(&refused).contains("already assigned to node \"node-1\""),
        "{refused}"
    );
    // A Binding naming another uid (the pod it was meant for was deleted and created again)
    // binds nothing.
    let stale = json!({"kind": "Binding", "metadata": {"name": "b", "uid": "not-the-pods-uid"}, "target": {"kind": "Node", "name": "node-1"}});
    let refused = c
        .send_expecting(
            Method::POST,
            &format!("{base}/b/binding"),
            Some(&stale),
            StatusCode::CONFLICT,
        )
        .await;
    assert!(
        message(&refused).contains("UID in precondition: not-the-pods-uid"),
        "{refused}"
    );
    let b = c
        .send_expecting(Method::GET, &format!("{base}/b"), None, StatusCode::OK)
        .await;
    assert!(b["spec"].get("nodeName").is_none(), "{b}");
    let no_target = json!({"kind": "Binding", "metadata": {"name": "b"}, "target": {}});
    c.send_expecting(
        Method::POST,
        &format!("{base}/b/binding"),
        Some(&no_target),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // A budget that allows no disruption blocks the eviction with 429.
    let budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "keep"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}});
    c.send_expecting(Method::POST, budgets, Some(&pdb), StatusCode::CREATED)
        .await;
    let eviction =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "b"}});
    c.send_expecting(
        Method::POST,
        &format!("{base}/b/eviction"),
        Some(&eviction),
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    c.send_expecting(Method::GET, &format!("{base}/b"), None, StatusCode::OK)
        .await;
    c.send_expecting(
        Method::DELETE,
        &format!("{budgets}/keep"),
        None,
        StatusCode::OK,
    )
    .await;
    c.send_expecting(
        Method::POST,
        &format!("{base}/b/eviction"),
        Some(&eviction),
        StatusCode::CREATED,
    )
    .await;
    c.send_expecting(
        Method::GET,
        &format!("{base}/b"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}
