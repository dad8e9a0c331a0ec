//! Bad input against the real server: every malformed request gets a `Status` with the code
//! and reason Kubernetes gives, and leaves the stored objects as they were.

mod common;

use bytes::Bytes;
use common::{Client, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};

fn status_of(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// Asserts that an answer is a failure `Status` with `code` and `reason`, and returns it.
fn assert_status(answer: (StatusCode, Bytes), code: u16, reason: &str) -> Value {
    let (status, body) = answer;
    let s = status_of(&body);
    assert_eq!(status.as_u16(), code, "{s}");
    assert_eq!(s["kind"], "Status", "{s}");
    assert_eq!(s["code"], code, "{s}");
    assert_eq!(s["reason"], reason, "{s}");
    s
}

async fn create(c: &Client, path: &str, obj: Value) -> Value {
    let (status, body) = c.send(Method::POST, path, Some(&obj)).await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    status_of(&body)
}

async fn get(c: &Client, path: &str) -> (StatusCode, Value) {
    let (status, body) = c.send(Method::GET, path, None).await.unwrap();
    (status, status_of(&body))
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const PODS: &str = "/api/v1/namespaces/default/pods";

/// A fresh server on its own data directory, and a client of it.
async fn start() -> (tempfile::TempDir, Server, Client) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    let client = server.client().await.unwrap();
    (dir, server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_delete_options_delete_nothing() {
    let (_dir, _server, c) = start().await;
    create(&c, CONFIGMAPS, json!({"metadata": {"name": "keep"}})).await;
    create(&c, PODS, pod("keep")).await;
    // Fields of the wrong type: Kubernetes cannot decode such options and deletes nothing.
    for options in [
        json!({"gracePeriodSeconds": "x"}),
        json!({"preconditions": {"uid": 5}}),
        json!({"preconditions": "x"}),
        json!({"propagationPolicy": 5}),
        json!({"orphanDependents": "yes"}),
        json!({"dryRun": "All"}),
    ] {
        let body = Bytes::from(options.to_string());
        let answer = c
            .send_encoded(Method::DELETE, &format!("{CONFIGMAPS}/keep"), body.clone())
            .await
            .unwrap();
        assert_status(answer, 400, "BadRequest");
        let answer = c
            .send_encoded(Method::DELETE, CONFIGMAPS, body.clone())
            .await
            .unwrap();
        assert_status(answer, 400, "BadRequest");
        let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "keep"}, "deleteOptions": options});
        let answer = c
            .send(
                Method::POST,
                &format!("{PODS}/keep/eviction"),
                Some(&eviction),
            )
            .await
            .unwrap();
        assert_status(answer, 400, "BadRequest");
    }
    // Both the old and the new way of asking for orphaning: Kubernetes' validation refuses.
    let both = json!({"orphanDependents": true, "propagationPolicy": "Foreground"});
    let answer = c
        .send(Method::DELETE, &format!("{CONFIGMAPS}/keep"), Some(&both))
        .await
        .unwrap();
    let s = assert_status(answer, 422, "Invalid");
    assert_eq!(s["details"]["kind"], "DeleteOptions", "{s}");
    assert_eq!(s["details"]["group"], "meta.k8s.io", "{s}");
    assert_eq!(
        s["details"]["causes"][0]["field"], "propagationPolicy",
        "{s}"
    );
    let (status, cm) = get(&c, &format!("{CONFIGMAPS}/keep")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cm["metadata"].get("deletionTimestamp").is_none(), "{cm}");
    let (status, p) = get(&c, &format!("{PODS}/keep")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["metadata"].get("deletionTimestamp").is_none(), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eviction_naming_another_pod_evicts_nothing() {
    let (_dir, _server, c) = start().await;
    create(&c, PODS, pod("keep")).await;
    let eviction =
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "other"}});
    let answer = c
        .send(
            Method::POST,
            &format!("{PODS}/keep/eviction"),
            Some(&eviction),
        )
        .await
        .unwrap();
    let s = assert_status(answer, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "name in URL does not match name in Eviction object"
    );
    let (status, p) = get(&c, &format!("{PODS}/keep")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["metadata"].get("deletionTimestamp").is_none(), "{p}");
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scale_naming_another_object_scales_nothing() {
    let (_dir, _server, c) = start().await;
    create(&c, DEPLOYMENTS, deployment("web")).await;
    let scale_path = format!("{DEPLOYMENTS}/web/scale");
    let renamed = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "other", "namespace": "default"}, "spec": {"replicas": 5}});
    let answer = c
        .send(Method::PUT, &scale_path, Some(&renamed))
        .await
        .unwrap();
    let s = assert_status(answer, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "the name of the object (other) does not match the name on the URL (web)"
    );
    let unnamed = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 5}});
    let answer = c
        .send(Method::PUT, &scale_path, Some(&unnamed))
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
    let patch = Bytes::from_static(br#"{"metadata": {"name": "other"}, "spec": {"replicas": 5}}"#);
    let answer = c
        .send_patch(&scale_path, "application/merge-patch+json", patch)
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
    let (_, d) = get(&c, &format!("{DEPLOYMENTS}/web")).await;
    assert_eq!(d["spec"]["replicas"], 1, "{d}");
    // A well-formed Scale still scales.
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    let (status, _) = c
        .send(Method::PUT, &scale_path, Some(&scale))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let (_, d) = get(&c, &format!("{DEPLOYMENTS}/web")).await;
    assert_eq!(d["spec"]["replicas"], 3, "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_naming_another_uid_is_refused() {
    let (_dir, _server, c) = start().await;
    let cm = create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "cm"}, "data": {"k": "1"}}),
    )
    .await;
    let uid = cm["metadata"]["uid"].as_str().unwrap().to_owned();
    let path = format!("{CONFIGMAPS}/cm");
    // A body meant for an earlier object of the same name (its uid) must not overwrite this
    // one: a replacement's uid is a precondition (409), a patch may not change it (422).
    let stale = json!({"metadata": {"name": "cm", "uid": "0000-gone"}, "data": {"k": "2"}});
    let answer = c.send(Method::PUT, &path, Some(&stale)).await.unwrap();
    let s = assert_status(answer, 409, "Conflict");
    assert_eq!(
        s["message"],
        format!("Operation cannot be fulfilled on configmaps \"cm\": Precondition failed: UID in precondition: 0000-gone, UID in object meta: {uid}")
    );
    for (content_type, patch) in [
        (
            "application/merge-patch+json",
            r#"{"metadata": {"uid": "0000-gone"}, "data": {"k": "3"}}"#,
        ),
        (
            "application/strategic-merge-patch+json",
            r#"{"metadata": {"uid": "0000-gone"}, "data": {"k": "3"}}"#,
        ),
        (
            "application/json-patch+json",
            r#"[{"op": "replace", "path": "/metadata/uid", "value": "0000-gone"}, {"op": "replace", "path": "/data/k", "value": "3"}]"#,
        ),
    ] {
        let answer = c
            .send_patch(&path, content_type, Bytes::from(patch))
            .await
            .unwrap();
        let s = assert_status(answer, 422, "Invalid");
        assert_eq!(s["details"]["causes"][0]["field"], "metadata.uid", "{s}");
        assert_eq!(
            s["message"],
            "ConfigMap \"cm\" is invalid: metadata.uid: Invalid value: \"0000-gone\": field is immutable"
        );
    }
    let (_, now) = get(&c, &path).await;
    assert_eq!(now["data"]["k"], "1", "{now}");
    assert_eq!(now["metadata"]["uid"], uid.as_str());
    // The object's own uid, or none, is an ordinary update.
    let same = json!({"metadata": {"name": "cm", "uid": uid}, "data": {"k": "4"}});
    let (status, _) = c.send(Method::PUT, &path, Some(&same)).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let none = json!({"metadata": {"name": "cm"}, "data": {"k": "5"}});
    let (status, _) = c.send(Method::PUT, &path, Some(&none)).await.unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_or_patch_that_drops_the_name_changes_nothing() {
    let (_dir, _server, c) = start().await;
    create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "1"}}),
    )
    .await;
    let path = format!("{CONFIGMAPS}/cm");
    let unnamed = json!({"metadata": {"labels": {}}, "data": {}});
    let answer = c.send(Method::PUT, &path, Some(&unnamed)).await.unwrap();
    let s = assert_status(answer, 400, "BadRequest");
    assert_eq!(
        s["message"],
        "the name of the object () does not match the name on the URL (cm)"
    );
    for (content_type, patch) in [
        (
            "application/json-patch+json",
            r#"[{"op": "add", "path": "", "value": {}}]"#,
        ),
        (
            "application/json-patch+json",
            r#"[{"op": "remove", "path": "/metadata"}]"#,
        ),
        ("application/merge-patch+json", r#"{"metadata": null}"#),
        (
            "application/merge-patch+json",
            r#"{"metadata": {"name": null, "labels": null}}"#,
        ),
        (
            "application/strategic-merge-patch+json",
            r#"{"metadata": {"$patch": "replace"}}"#,
        ),
        (
            "application/merge-patch+json",
            r#"{"metadata": {"name": "other"}}"#,
        ),
    ] {
        let answer = c
            .send_patch(&path, content_type, Bytes::from(patch))
            .await
            .unwrap();
        let s = assert_status(answer, 400, "BadRequest");
        assert!(
            s["message"]
                .as_str()
                .unwrap()
                .ends_with("does not match the name on the URL (cm)"),
            "{patch}: {s}"
        );
    }
    let (_, now) = get(&c, &path).await;
    assert_eq!(now["data"]["k"], "1", "{now}");
    assert_eq!(now["metadata"]["labels"]["a"], "b", "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contradictory_list_options_are_invalid() {
    let (_dir, _server, c) = start().await;
    create(&c, CONFIGMAPS, json!({"metadata": {"name": "cm"}})).await;
    let cases = [
        ("resourceVersionMatch=Exact", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
        ("resourceVersionMatch=NotOlderThan", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
        ("resourceVersion=1&resourceVersionMatch=bogus", "resourceVersionMatch: Unsupported value: \"bogus\": supported values: \"Exact\", \"NotOlderThan\", \"\""),
        ("resourceVersion=0&resourceVersionMatch=Exact", "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""),
        ("sendInitialEvents=true", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
        ("watch=true&timeoutSeconds=1&resourceVersion=1&resourceVersionMatch=NotOlderThan", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
        ("watch=true&timeoutSeconds=1&sendInitialEvents=true&resourceVersionMatch=Exact", "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ];
    for (query, cause) in cases {
        let answer = c
            .send(Method::GET, &format!("{CONFIGMAPS}?{query}"), None)
            .await
            .unwrap();
        let s = assert_status(answer, 422, "Invalid");
        assert_eq!(s["details"]["kind"], "ListOptions", "{query}: {s}");
        assert_eq!(s["details"]["group"], "meta.k8s.io", "{query}: {s}");
        let message = s["message"].as_str().unwrap();
        assert!(
            message.starts_with("ListOptions.meta.k8s.io \"\" is invalid: ")
                && message.contains(cause),
            "{query}: {message}"
        );
    }
    // The combinations Kubernetes allows still list.
    for query in [
        "resourceVersion=0",
        "resourceVersion=1&resourceVersionMatch=NotOlderThan",
        "resourceVersionMatch=",
    ] {
        let (status, body) = c
            .send(Method::GET, &format!("{CONFIGMAPS}?{query}"), None)
            .await
            .unwrap();
        assert_eq!(
            status,
            StatusCode::OK,
            "{query}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_at_a_future_resource_version_time_out_and_exact_reads_are_exact() {
    let (_dir, _server, c) = start().await;
    let first = create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "cm"}, "data": {"k": "1"}}),
    )
    .await;
    let first_rv: i64 = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let patch = Bytes::from_static(br#"{"data": {"k": "2"}}"#);
    let (status, _) = c
        .send_patch(
            &format!("{CONFIGMAPS}/cm"),
            "application/merge-patch+json",
            patch,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    // A version the store has not reached: nothing older may be served as if it were it.
    let future = first_rv + 1_000_000;
    for query in [
        format!("resourceVersion={future}"),
        format!("resourceVersion={future}&resourceVersionMatch=NotOlderThan"),
        format!("resourceVersion={future}&resourceVersionMatch=Exact"),
        format!("resourceVersion={future}&limit=1"),
        format!("resourceVersion={future}&labelSelector=a%3Db"),
    ] {
        let answer = c
            .send(Method::GET, &format!("{CONFIGMAPS}?{query}"), None)
            .await
            .unwrap();
        let s = assert_status(answer, 504, "Timeout");
        assert!(
            s["message"].as_str().unwrap().starts_with(&format!(
                "Timeout: Too large resource version: {future}, current: "
            )),
            "{query}: {s}"
        );
        // The cause is what clients key on to fall back to a fresh list.
        assert_eq!(
            s["details"]["causes"][0]["reason"], "ResourceVersionTooLarge",
            "{query}: {s}"
        );
        assert_eq!(s["details"]["retryAfterSeconds"], 1, "{query}: {s}");
    }
    let answer = c
        .send(
            Method::GET,
            &format!("{CONFIGMAPS}/cm?resourceVersion={future}"),
            None,
        )
        .await
        .unwrap();
    assert_status(answer, 504, "Timeout");
    let answer = c
        .send(
            Method::GET,
            &format!("{CONFIGMAPS}/cm?resourceVersion=abc"),
            None,
        )
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
    // Exact reads the collection as it was at that version, paged or not.
    for query in [
        format!("resourceVersion={first_rv}&resourceVersionMatch=Exact"),
        format!("resourceVersion={first_rv}&resourceVersionMatch=Exact&limit=10"),
    ] {
        let (status, list) = get(&c, &format!("{CONFIGMAPS}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {list}");
        assert_eq!(
            list["metadata"]["resourceVersion"],
            first_rv.to_string(),
            "{query}: {list}"
        );
        assert_eq!(list["items"][0]["data"]["k"], "1", "{query}: {list}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_no_form_satisfies_is_a_406() {
    let (_dir, _server, c) = start().await;
    create(&c, CONFIGMAPS, json!({"metadata": {"name": "cm"}})).await;
    for accept in [
        "application/xml",
        "text/html, application/xml;q=0.9",
        "application/json;as=Table;g=meta.k8s.io;v=v9",
        "application/json;as=Table;g=example.com;v=v1",
        "application/json;as=Bogus;g=meta.k8s.io;v=v1",
    ] {
        for path in [CONFIGMAPS.to_owned(), format!("{CONFIGMAPS}/cm")] {
            let answer = c
                .send_with_accept(Method::GET, &path, accept)
                .await
                .unwrap();
            let s = assert_status(answer, 406, "NotAcceptable");
            assert_eq!(
                s["message"],
                "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                "{accept}"
            );
        }
    }
    // Refused before anything is written.
    let answer = c
        .send_full_accept(
            Method::POST,
            CONFIGMAPS,
            &json!({"metadata": {"name": "new"}}),
            "application/xml",
        )
        .await
        .unwrap();
    assert_status(answer, 406, "NotAcceptable");
    let (status, _) = get(&c, &format!("{CONFIGMAPS}/new")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A form the server has among others, or any form, is served.
    for (accept, kind) in [
        ("application/json;as=Table;g=meta.k8s.io;v=v9, application/json", "ConfigMapList"),
        ("*/*", "ConfigMapList"),
        ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "Table"),
        ("application/vnd.kubernetes.protobuf, application/json", "ConfigMapList"),
    ] {
        let (status, body) = c.send_with_accept(Method::GET, CONFIGMAPS, accept).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(status_of(&body)["kind"], kind, "{accept}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_the_wrong_type_are_a_decode_error() {
    let (_dir, _server, c) = start().await;
    // Kinds with and without defaulting alike, on create, update and patch.
    let cases = [
        (
            CONFIGMAPS,
            json!({"metadata": {"name": "cm"}, "data": {"k": 1}}),
            "ConfigMap",
        ),
        (
            CONFIGMAPS,
            json!({"metadata": {"name": "cm", "labels": []}}),
            "ConfigMap",
        ),
        (
            PODS,
            json!({"metadata": {"name": "p"}, "spec": {"containers": 5}}),
            "Pod",
        ),
    ];
    for (path, obj, kind) in &cases {
        let answer = c.send(Method::POST, path, Some(obj)).await.unwrap();
        let s = assert_status(answer, 400, "BadRequest");
        let prefix = format!("{kind} in version \"v1\" cannot be handled as a {kind}: ");
        assert!(s["message"].as_str().unwrap().starts_with(&prefix), "{s}");
    }
    create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "cm"}, "data": {"k": "1"}}),
    )
    .await;
    let bad = json!({"metadata": {"name": "cm"}, "data": {"k": 2}});
    let answer = c
        .send(Method::PUT, &format!("{CONFIGMAPS}/cm"), Some(&bad))
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
    let answer = c
        .send_patch(
            &format!("{CONFIGMAPS}/cm"),
            "application/merge-patch+json",
            Bytes::from_static(br#"{"data": {"k": 3}}"#),
        )
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
    let (_, cm) = get(&c, &format!("{CONFIGMAPS}/cm")).await;
    assert_eq!(cm["data"]["k"], "1", "{cm}");
    let (status, _) = get(&c, &format!("{PODS}/p")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_cannot_be_path_segments_are_a_400() {
    let (_dir, _server, c) = start().await;
    let cases = [
        ("..", "Name parameter invalid: \"..\": may not be '..'"),
        (".", "Name parameter invalid: \".\": may not be '.'"),
        (
            "a%2Fb",
            "Name parameter invalid: \"a/b\": may not contain '/'",
        ),
        (
            "a%25b",
            "Name parameter invalid: \"a%b\": may not contain '%'",
        ),
    ];
    for (segment, message) in cases {
        let path = format!("{CONFIGMAPS}/{segment}");
        for method in [Method::GET, Method::DELETE] {
            let answer = c.send(method, &path, None).await.unwrap();
            let s = assert_status(answer, 400, "BadRequest");
            assert_eq!(s["message"], message);
        }
        let body = json!({"metadata": {"name": segment}});
        let answer = c.send(Method::PUT, &path, Some(&body)).await.unwrap();
        assert_status(answer, 400, "BadRequest");
    }
    // A valid name that merely does not exist is still a 404.
    let answer = c
        .send(Method::GET, &format!("{CONFIGMAPS}/a.b"), None)
        .await
        .unwrap();
    assert_status(answer, 404, "NotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_to_anything_but_a_node_binds_nothing() {
    let (_dir, _server, c) = start().await;
    create(&c, PODS, pod("p")).await;
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
        "target": {"kind": "Pod", "name": "n1"}});
    let answer = c
        .send(Method::POST, &format!("{PODS}/p/binding"), Some(&binding))
        .await
        .unwrap();
    let s = assert_status(answer, 422, "Invalid");
    assert_eq!(s["details"]["causes"][0]["field"], "target.kind", "{s}");
    assert_eq!(
        s["message"],
        "Binding \"p\" is invalid: target.kind: Unsupported value: \"Pod\": supported values: \"Node\", \"<empty>\""
    );
    let (_, p) = get(&c, &format!("{PODS}/p")).await;
    assert!(p["spec"].get("nodeName").is_none(), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_gets_an_answer_without_a_body() {
    let (_dir, _server, c) = start().await;
    create(&c, CONFIGMAPS, json!({"metadata": {"name": "cm"}})).await;
    // Over HTTP/2 a HEAD answer whose headers do not end the stream is a protocol error for
    // the client; every answer must end with its headers.
    for path in [
        format!("{CONFIGMAPS}/cm"),
        "/readyz".to_owned(),
        "/version".to_owned(),
    ] {
        let (status, body) = c
            .send(Method::HEAD, &path, None)
            .await
            .unwrap_or_else(|e| panic!("HEAD {path}: {e:#}"));
        assert!(body.is_empty(), "HEAD {path}: {status} {body:?}");
    }
    let (status, _) = c.send(Method::GET, "/readyz", None).await.unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_headers_are_answered_over_http2() {
    let (_dir, _server, c) = start().await;
    // Kubernetes takes request headers up to 1 MiB (a large bearer token, many cookies);
    // a 100 KB one must be answered, not cut off with the connection.
    let big = "x".repeat(100_000);
    let (status, _, body) = c
        .get_with_headers("/version", &[("x-large", big.as_str())])
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (status, _) = c.send(Method::GET, "/readyz", None).await.unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_namespace_cannot_be_given_another_phase() {
    let (_dir, _server, c) = start().await;
    let path = "/api/v1/namespaces/default/status";
    // Terminating without a deletionTimestamp would refuse every create in the namespace
    // from then on; Kubernetes' namespace status validation refuses it.
    for phase in ["Terminating", "Bogus"] {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"},
            "status": {"phase": phase}});
        let answer = c.send(Method::PUT, path, Some(&body)).await.unwrap();
        let s = assert_status(answer, 422, "Invalid");
        assert_eq!(
            s["message"],
            format!("Namespace \"default\" is invalid: status.Phase: Invalid value: \"{phase}\": may only be 'Active' if `deletionTimestamp` is empty")
        );
        let patch = format!(r#"{{"status": {{"phase": "{phase}"}}}}"#);
        let answer = c
            .send_patch(path, "application/merge-patch+json", Bytes::from(patch))
            .await
            .unwrap();
        assert_status(answer, 422, "Invalid");
    }
    let (_, ns) = get(&c, "/api/v1/namespaces/default").await;
    assert_eq!(ns["status"]["phase"], "Active", "{ns}");
    create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "still-writable"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategic_merge_failures_answer_as_kubernetes_does() {
    let (_dir, _server, c) = start().await;
    create(
        &c,
        CONFIGMAPS,
        json!({"metadata": {"name": "cm", "labels": {"a": "b"}}, "data": {"k": "1"}}),
    )
    .await;
    let path = format!("{CONFIGMAPS}/cm");
    // Kubernetes passes these merge errors through unconverted: a 500 Status with no reason
    // and the bare message, which kubectl prints as "Error from server: <message>".
    for (patch, message) in [
        (
            r#"{"data": {"$patch": "bogus"}}"#,
            "unknown patch type: bogus in map: map[$patch:bogus]",
        ),
        (
            r#"{"metadata": {"$setElementOrder/finalizers": 5}}"#,
            "expected a []interface {}, but received a int64",
        ),
    ] {
        let (status, body) = c
            .send_patch(
                &path,
                "application/strategic-merge-patch+json",
                Bytes::from(patch),
            )
            .await
            .unwrap();
        let s = status_of(&body);
        assert_eq!(status.as_u16(), 500, "{s}");
        assert_eq!(s["kind"], "Status", "{s}");
        assert_eq!(s["status"], "Failure", "{s}");
        assert!(s.get("reason").is_none(), "{s}");
        assert_eq!(s["message"], message, "{s}");
    }
    let (_, cm) = get(&c, &path).await;
    assert_eq!(cm["data"]["k"], "1", "{cm}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_with_an_enormous_timeout_stays_open() {
    let (_dir, _server, c) = start().await;
    // The deadline of now + i64::MAX seconds cannot be represented: the watch must still be
    // served (as one without an end), not lose its task to an overflow.
    for path in [
        format!("{CONFIGMAPS}?watch=true&timeoutSeconds=9223372036854775807"),
        format!("{CONFIGMAPS}?watch=true&timeoutSeconds=9223372036854775807&resourceVersion=1"),
    ] {
        let mut events = c.watch(&path).await.unwrap();
        create(&c, CONFIGMAPS, json!({"metadata": {"generateName": "w-"}})).await;
        let event = events
            .next()
            .await
            .expect("the watch ended instead of sending the event");
        assert_eq!(event["type"], "ADDED", "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_period_past_any_representable_time_deletes_nothing() {
    let (_dir, _server, c) = start().await;
    let mut p = pod("p");
    p["spec"]["nodeName"] = json!("n1");
    create(&c, PODS, p).await;
    let path = format!("{PODS}/p");
    for grace in ["9223372036854775807", "253402207200"] {
        let answer = c
            .send(
                Method::DELETE,
                &format!("{path}?gracePeriodSeconds={grace}"),
                None,
            )
            .await
            .unwrap();
        let s = assert_status(answer, 422, "Invalid");
        assert_eq!(
            s["details"]["causes"][0]["field"], "gracePeriodSeconds",
            "{s}"
        );
    }
    let (status, now) = get(&c, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(now["metadata"].get("deletionTimestamp").is_none(), "{now}");
    // A long but representable grace period is recorded, and the pod can still be updated.
    let (status, body) = c
        .send(
            Method::DELETE,
            &format!("{path}?gracePeriodSeconds=99999999999"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let patch = Bytes::from_static(br#"{"metadata": {"labels": {"still": "writable"}}}"#);
    let (status, body) = c
        .send_patch(&path, "application/merge-patch+json", patch)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_include_object_policy_is_a_400_for_tables() {
    let (_dir, _server, c) = start().await;
    create(&c, CONFIGMAPS, json!({"metadata": {"name": "cm"}})).await;
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io";
    for path in [
        format!("{CONFIGMAPS}?includeObject=bogus"),
        format!("{CONFIGMAPS}/cm?includeObject=bogus"),
    ] {
        let answer = c.send_with_accept(Method::GET, &path, table).await.unwrap();
        let s = assert_status(answer, 400, "BadRequest");
        assert_eq!(
            s["message"],
            "Unable to convert to Table as requested: includeObject: Unsupported value: \"bogus\": supported values: \"Metadata\", \"None\", \"Object\""
        );
    }
    // Without a Table the parameter means nothing, as in Kubernetes.
    let (status, _) = c
        .send(
            Method::GET,
            &format!("{CONFIGMAPS}?includeObject=bogus"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .send_with_accept(
            Method::GET,
            &format!("{CONFIGMAPS}?includeObject=Object"),
            table,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_from_a_future_resource_version_waits_for_it() {
    let (_dir, _server, c) = start().await;
    let cm = create(&c, CONFIGMAPS, json!({"metadata": {"name": "cm"}})).await;
    let rv: i64 = cm["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A watch may start at a version the store has not reached yet: it is open at once and
    // delivers the changes after that version as they come, as Kubernetes' watch cache does
    // (only a list or GET must not answer with older data).
    let mut events = c
        .watch(&format!(
            "{CONFIGMAPS}?watch=true&resourceVersion={}",
            rv + 2
        ))
        .await
        .unwrap();
    for name in ["one", "two", "three"] {
        create(&c, CONFIGMAPS, json!({"metadata": {"name": name}})).await;
    }
    let event = events.next_within(std::time::Duration::from_secs(30)).await;
    assert_eq!(event["type"], "ADDED", "{event}");
    assert_eq!(event["object"]["metadata"]["name"], "three", "{event}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_log_options_are_invalid_before_anything_else_is_looked_at() {
    let (_dir, _server, c) = start().await;
    create(&c, PODS, pod("p")).await;
    // The pod has no node yet; the options are still judged first, naming the pod.
    let answer = c
        .send(Method::GET, &format!("{PODS}/p/log?tailLines=-5"), None)
        .await
        .unwrap();
    let s = assert_status(answer, 422, "Invalid");
    assert_eq!(
        s["message"],
        "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -5: must be greater than or equal to 0"
    );
    assert_eq!(s["details"]["kind"], "PodLogOptions", "{s}");
    assert_eq!(s["details"]["name"], "p", "{s}");
    assert_eq!(s["details"]["causes"][0]["field"], "tailLines", "{s}");
    let answer = c
        .send(
            Method::GET,
            &format!("{PODS}/p/log?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z"),
            None,
        )
        .await
        .unwrap();
    assert_status(answer, 422, "Invalid");
    let answer = c
        .send(Method::GET, &format!("{PODS}/p/log?tailLines=abc"), None)
        .await
        .unwrap();
    assert_status(answer, 400, "BadRequest");
}

/// Sends one request over a fresh HTTP/1.1 connection and returns the status and headers.
async fn http1_request(
    server: &Server,
    method: Method,
    path: &str,
    body: &'static [u8],
) -> (StatusCode, http::HeaderMap) {
    use http_body_util::{BodyExt, Full};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let pki = server.data_dir.join("pki");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.join("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.join("admin.crt"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki.join("admin.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap().to_owned(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let _ = resp.into_body().collect().await;
    (status, headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_error_answer_to_a_request_with_a_body_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await.unwrap();
    // Refused before its body is read, the request leaves bytes on the connection that the
    // server may or may not drain: without `Connection: close` the client's next request on
    // it can be lost. (HTTP/2 streams need no such care.)
    let (status, headers) = http1_request(
        &server,
        Method::POST,
        "/apis/nope/v1/foos",
        b"{\"metadata\": {}}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    // Bodiless requests and successes keep the connection.
    let (status, headers) = http1_request(&server, Method::GET, "/apis/nope/v1/foos", b"").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get("connection").is_none(), "{headers:?}");
    let (status, headers) = http1_request(
        &server,
        Method::POST,
        CONFIGMAPS,
        b"{\"metadata\": {\"name\": \"cm\"}}",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(headers.get("connection").is_none(), "{headers:?}");
    // So do refusals that come after the body was read (a conflict, a missing object).
    let (status, headers) = http1_request(
        &server,
        Method::POST,
        CONFIGMAPS,
        b"{\"metadata\": {\"name\": \"cm\"}}",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(headers.get("connection").is_none(), "{headers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_update_cannot_drop_its_finalizers() {
    let (_dir, _server, c) = start().await;
    create(
        &c,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "team"}}),
    )
    .await;
    // spec.finalizers guards the deletion of the namespace's content: only the finalize
    // subresource changes it; the main resource keeps what was stored, as in Kubernetes.
    let (status, body) = c
        .send_patch(
            "/api/v1/namespaces/team",
            "application/merge-patch+json",
            Bytes::from_static(
                br#"{"spec": {"finalizers": []}, "metadata": {"labels": {"a": "b"}}}"#,
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let put = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team", "labels": {"a": "c"}}, "spec": {}});
    let (status, body) = c
        .send(Method::PUT, "/api/v1/namespaces/team", Some(&put))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (_, ns) = get(&c, "/api/v1/namespaces/team").await;
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]), "{ns}");
    assert_eq!(ns["metadata"]["labels"]["a"], "c", "{ns}");
}
