//! `pods/binding` and `pods/eviction` against the real server.

mod common;

use common::Server;
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_assigns_once_and_eviction_honours_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let c = server.client().await.unwrap();
    let base = "/api/v1/namespaces/default/pods";
    for name in ["a", "b"] {
        let (status, _) = c.send(Method::POST, base, Some(&pod(name))).await.unwrap();
        assert_eq!(status, StatusCode::CREATED);
    }
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"}, "target": {"kind": "Node", "name": "node-1"}});
    let (status, body) = c
        .send(Method::POST, &format!("{base}/a/binding"), Some(&binding))
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, body) = c
        .send(Method::GET, &format!("{base}/a"), None)
        .await
        .unwrap();
    let a: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(a["spec"]["nodeName"], "node-1");
    let scheduled = a["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["status"] == "True");
    assert!(scheduled, "{a}");
    let again = json!({"kind": "Binding", "metadata": {"name": "a"}, "target": {"kind": "Node", "name": "node-2"}});
    let (status, body) = c
        .send(Method::POST, &format!("{base}/a/binding"), Some(&again))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        String::from_utf8_lossy(&body).contains("already assigned to node \\\"node-1\\\""),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // A Binding naming another uid (the pod it was meant for was deleted and created again)
    // binds nothing.
    let stale = json!({"kind": "Binding", "metadata": {"name": "b", "uid": "not-the-pods-uid"}, "target": {"kind": "Node", "name": "node-1"}});
    let (status, body) = c
        .send(Method::POST, &format!("{base}/b/binding"), Some(&stale))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        String::from_utf8_lossy(&body).contains("UID in precondition: not-the-pods-uid"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, body) = c
        .send(Method::GET, &format!("{base}/b"), None)
        .await
        .unwrap();
    let b: Value = serde_json::from_slice(&body).unwrap();
    assert!(b["spec"].get("nodeName").is_none(), "{b}");
    let no_target = json!({"kind": "Binding", "metadata": {"name": "b"}, "target": {}});
    let (status, _) = c
        .send(Method::POST, &format!("{base}/b/binding"), Some(&no_target))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A budget that allows no disruption blocks the eviction with 429.
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "keep"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}});
    let (status, body) = c
        .send(
            Method::POST,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            Some(&pdb),
        )
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let eviction =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "b"}});
    let (status, body) = c
        .send(Method::POST, &format!("{base}/b/eviction"), Some(&eviction))
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _) = c
        .send(Method::GET, &format!("{base}/b"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .send(
            Method::DELETE,
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/keep",
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, body) = c
        .send(Method::POST, &format!("{base}/b/eviction"), Some(&eviction))
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _) = c
        .send(Method::GET, &format!("{base}/b"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
}
