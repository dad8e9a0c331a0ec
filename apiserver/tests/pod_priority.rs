//! Priority admission: a new pod's `priorityClassName` (or the global default class) becomes
//! `spec.priority` and `spec.preemptionPolicy`; unknown classes and contradicting values are
//! refused with 403, and the built-in system classes exist.

mod common;

use common::Server;
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn pod(name: &str, spec_extra: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
    if let (Some(spec), Value::Object(extra)) = (p["spec"].as_object_mut(), spec_extra) {
        spec.extend(extra);
    }
    p
}

fn class(name: &str, value: i64, extra: Value) -> Value {
    let mut c = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": name}, "value": value});
    if let (Some(obj), Value::Object(extra)) = (c.as_object_mut(), extra) {
        obj.extend(extra);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_classes_resolve_into_pod_priority() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let c = server.client().await.unwrap();
    let pods = "/api/v1/namespaces/default/pods";
    let classes = "/apis/scheduling.k8s.io/v1/priorityclasses";

    let sys = c
        .send_expecting(
            Method::GET,
            &format!("{classes}/system-cluster-critical"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(sys["value"], 2_000_000_000);

    for c_body in [
        class("high", 1000, json!({})),
        class("polite", 500, json!({"preemptionPolicy": "Never"})),
    ] {
        c.send_expecting(Method::POST, classes, Some(&c_body), StatusCode::CREATED)
            .await;
    }

    // (pod, spec additions, expected priority, expected preemption policy)
    let cases = [
        ("plain", json!({}), 0, "PreemptLowerPriority"),
        (
            "high",
            json!({"priorityClassName": "high"}),
            1000,
            "PreemptLowerPriority",
        ),
        (
            "polite",
            json!({"priorityClassName": "polite"}),
            500,
            "Never",
        ),
        (
            "critical",
            json!({"priorityClassName": "system-node-critical"}),
            2_000_001_000,
            "PreemptLowerPriority",
        ),
        (
            "matching-value",
            json!({"priorityClassName": "high", "priority": 1000}),
            1000,
            "PreemptLowerPriority",
        ),
    ];
    for (name, extra, priority, policy) in cases {
        let p = c
            .send_expecting(
                Method::POST,
                pods,
                Some(&pod(name, extra)),
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(p["spec"]["priority"], priority, "{name}");
        assert_eq!(p["spec"]["preemptionPolicy"], policy, "{name}");
    }

    let refused = [
        (
            "unknown",
            json!({"priorityClassName": "nope"}),
            "pods \"unknown\" is forbidden: no PriorityClass with name nope was found",
        ),
        (
            "contradicts",
            json!({"priorityClassName": "high", "priority": 7}),
            "the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name",
        ),
    ];
    for (name, extra, message) in refused {
        let s = c
            .send_expecting(
                Method::POST,
                pods,
                Some(&pod(name, extra)),
                StatusCode::FORBIDDEN,
            )
            .await;
        assert_eq!(s["reason"], "Forbidden", "{name}");
        assert!(
            s["message"].as_str().unwrap().contains(message),
            "{name}: {s}"
        );
    }

    // A global default applies to pods without a class.
    c.send_expecting(
        Method::POST,
        classes,
        Some(&class("everyone", 10, json!({"globalDefault": true}))),
        StatusCode::CREATED,
    )
    .await;
    // Admission reads the classes from the watch cache, which follows the store within
    // moments: dry-run creates show when the new default is seen.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let p = c
            .send_expecting(
                Method::POST,
                &format!("{pods}?dryRun=All"),
                Some(&pod("probe", json!({}))),
                StatusCode::CREATED,
            )
            .await;
        if p["spec"]["priority"] == 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the global default class never applied: {p}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let p = c
        .send_expecting(
            Method::POST,
            pods,
            Some(&pod("defaulted", json!({}))),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(p["spec"]["priority"], 10);
    assert_eq!(p["spec"]["priorityClassName"], "everyone");
    assert_eq!(p["spec"]["preemptionPolicy"], "PreemptLowerPriority");
}
