//! The node server against a real containerd (the test harness's private one): a busybox pod
//! started directly through CRI, then logs, exec (SPDY, stdin half-close, exit code) and
//! port-forward through the server, reached the way the API server reaches it.
//! Needs root, containerd, runc and the CNI plugins (scripts/install-deps).

use berth_apiserver::streaming::channel;
use berth_apiserver::streaming::kubelet::{KubeletClient, KUBELET_CLIENT_USER};
use berth_apiserver::streaming::spdy::{Session, StreamReader};
use berth_component_base::pki::ClusterCa;
use berth_kubelet::server::{self, NodeServer, APISERVER_CLIENT_USER};
use berth_kubelet::testenv::TestNode;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, Ipv4Addr};

mod common;
use common::{start_container, start_pod, StartedPod, NS, POD};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Harness {
    node: TestNode,
    pod: StartedPod,
    port: u16,
    client: KubeletClient,
    stranger: KubeletClient,
}

async fn harness() -> Harness {
    let node = TestNode::start().await.expect("test node starts");
    let pod = start_pod(&node).await;
    let ca = ClusterCa::generate("test-ca").unwrap();
    let serving = ca
        .issue_server("node-1", &["localhost".to_owned()], &[LOCAL])
        .unwrap();
    // Started the way the kubelet starts it: from PEM files.
    let dir = tempfile::tempdir().unwrap();
    let files = server::TlsFiles {
        cert: dir.path().join("kubelet.crt"),
        key: dir.path().join("kubelet.key"),
        client_ca: dir.path().join("ca.crt"),
    };
    std::fs::write(&files.cert, &serving.cert_pem).unwrap();
    std::fs::write(&files.key, &serving.key_pem).unwrap();
    std::fs::write(&files.client_ca, ca.cert_pem()).unwrap();
    let state = NodeServer {
        cri: node.cri().await.unwrap(),
        node_name: "node-1".into(),
    };
    let (bound, _task) = server::start(LOCAL, 0, &files, state).await.unwrap();
    let port = bound.port();
    let ok = ca
        .issue_client(KUBELET_CLIENT_USER, &["system:masters"])
        .unwrap();
    let other = ca.issue_client("alice", &["system:masters"]).unwrap();
    Harness {
        node,
        pod,
        port,
        client: KubeletClient::new(ca.cert_pem(), &ok).unwrap(),
        stranger: KubeletClient::new(ca.cert_pem(), &other).unwrap(),
    }
}

async fn get(client: &KubeletClient, port: u16, path: &str) -> (StatusCode, String) {
    let req = Request::get(path).body(Empty::<Bytes>::new()).unwrap();
    let resp = client
        .send(LOCAL, port, req)
        .await
        .expect("the node answers");
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn read_all(mut r: StreamReader) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(b) = r.read().await {
        all.extend_from_slice(&b);
    }
    all
}

/// Upgrades `path` to SPDY offering `protocol`; returns the session and the chosen version.
async fn spdy(h: &Harness, path: &str, protocol: &str) -> (Session, String) {
    let req = Request::post(path)
        .header("Connection", "Upgrade")
        .header("Upgrade", "SPDY/3.1")
        .header("X-Stream-Protocol-Version", protocol)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = h.client.send(LOCAL, h.port, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let chosen = resp
        .headers()
        .get("x-stream-protocol-version")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let upgraded = hyper::upgrade::on(resp).await.unwrap();
    (Session::start(TokioIo::new(upgraded), false).0, chosen)
}

fn st(kind: &str) -> Vec<(String, String)> {
    vec![("streamtype".into(), kind.into())]
}

#[tokio::test]
async fn the_node_server_serves_logs_exec_and_port_forward_from_the_runtime() {
    let h = harness().await;

    assert_eq!(
        get(&h.client, h.port, "/healthz").await,
        (StatusCode::OK, "ok".into())
    );
    // Only the API server's identity is served.
    let (code, body) = get(&h.stranger, h.port, "/healthz").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("\"reason\":\"Forbidden\""), "{body}");

    // Logs: wait until a few ticks are written, then read them in the ways kubectl asks.
    let logs = format!("/containerLogs/{NS}/{POD}/web");
    let mut text = String::new();
    for _ in 0..100 {
        text = get(&h.client, h.port, &logs).await.1;
        if text.contains("tick 3\n") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // stdout and stderr interleave as the runtime reads them: only the order within one
    // stream is fixed.
    let lines: Vec<&str> = text.lines().filter(|l| *l != "oops").collect();
    assert_eq!(lines.first(), Some(&"hello"), "{text:?}");
    for line in ["oops", "tick 0", "tick 1"] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in {text:?}"
        );
    }
    let (_, tail) = get(&h.client, h.port, &format!("{logs}?tailLines=1")).await;
    assert_eq!(tail.lines().count(), 1, "{tail:?}");
    assert!(tail.starts_with("tick "), "{tail:?}");
    let (_, stamped) = get(
        &h.client,
        h.port,
        &format!("{logs}?timestamps=true&limitBytes=40"),
    )
    .await;
    assert_eq!(stamped.len(), 40, "{stamped:?}");
    let ts = stamped.split(' ').next().unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{stamped:?}");
    // Follow keeps streaming new lines; the budget ends it.
    let (_, followed) = get(
        &h.client,
        h.port,
        &format!("{logs}?follow=true&sinceSeconds=1&limitBytes=200"),
    )
    .await;
    assert_eq!(followed.len(), 200, "{followed:?}");
    let (code, body) = get(&h.client, h.port, &format!("{logs}?previous=true")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("previous terminated container \\\"web\\\""),
        "{body}"
    );
    let (code, _) = get(
        &h.client,
        h.port,
        &format!("/containerLogs/{NS}/nosuch/web"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    // Exec over SPDY v4: stdin reaches the process, its half-close ends it, the exit code
    // comes back as a Status.
    let cmd = "command=sh&command=-c&command=cat%3B+echo+done+%3E%262%3B+exit+3";
    let (session, chosen) = spdy(
        &h,
        &format!("/exec/{NS}/{POD}/web?{cmd}&stdin=true&stdout=true&stderr=true"),
        "v4.channel.k8s.io",
    )
    .await;
    assert_eq!(chosen, "v4.channel.k8s.io");
    let (_, error) = session.open(st("error")).await.unwrap();
    let (stdin, _) = session.open(st("stdin")).await.unwrap();
    let (_, stdout) = session.open(st("stdout")).await.unwrap();
    let (_, stderr) = session.open(st("stderr")).await.unwrap();
    stdin.write(b"through stdin\n").unwrap();
    stdin.finish().unwrap();
    let (out, err, status) = tokio::join!(read_all(stdout), read_all(stderr), read_all(error));
    assert_eq!(out, b"through stdin\n");
    assert_eq!(err, b"done\n");
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["reason"], "NonZeroExitCode", "{status}");
    assert_eq!(status["details"]["causes"][0]["message"], "3");
    assert_eq!(channel::exit_status(3)["details"], status["details"]);

    // A terminal: the size sent on the resize stream is what the process sees.
    let cmd = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("command", "sh"),
            ("command", "-c"),
            (
                "command",
                "read x; for i in $(seq 300); do s=$(stty size </dev/tty 2>/dev/null); \
                 case \"$s\" in [1-9]*\" \"[1-9]*) echo size $s; break;; esac; sleep 0.1; done",
            ),
        ])
        .finish();
    let (session, _) = spdy(
        &h,
        &format!("/exec/{NS}/{POD}/web?{cmd}&stdin=true&stdout=true&tty=true"),
        "v4.channel.k8s.io",
    )
    .await;
    let (_, error) = session.open(st("error")).await.unwrap();
    let (stdin, _) = session.open(st("stdin")).await.unwrap();
    let (_, stdout) = session.open(st("stdout")).await.unwrap();
    let (resize, _) = session.open(st("resize")).await.unwrap();
    resize.write(b"{\"Width\":123,\"Height\":45}\n").unwrap();
    stdin.write(b"go\n").unwrap();
    let (out, status) = tokio::join!(read_all(stdout), read_all(error));
    let out = String::from_utf8_lossy(&out).into_owned();
    assert!(out.contains("size 45 123"), "{out:?}");
    // A zero exit may come as an empty error stream or as a Success status.
    assert!(status.is_empty() || String::from_utf8_lossy(&status).contains("Success"));

    // Exec into a container that does not exist: a Status, before any upgrade.
    let req = Request::post(format!("/exec/{NS}/{POD}/nosuch?command=true&stdout=true"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "SPDY/3.1")
        .header("X-Stream-Protocol-Version", "v4.channel.k8s.io")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = h.client.send(LOCAL, h.port, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Port-forward: an HTTP request to the pod's port 8080 through a data stream.
    let (session, chosen) = spdy(
        &h,
        &format!("/portForward/{NS}/{POD}"),
        "portforward.k8s.io",
    )
    .await;
    assert_eq!(chosen, "portforward.k8s.io");
    let headers = |kind: &str| {
        vec![
            ("streamtype".to_owned(), kind.to_owned()),
            ("port".to_owned(), "8080".to_owned()),
            ("requestid".to_owned(), "0".to_owned()),
        ]
    };
    let (_, pf_error) = session.open(headers("error")).await.unwrap();
    let (data_w, data_r) = session.open(headers("data")).await.unwrap();
    data_w
        .write(b"GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n")
        .unwrap();
    let reply = String::from_utf8(read_all(data_r).await).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("berth busybox"), "{reply}");
    data_w.finish().unwrap();
    session.close();
    drop(pf_error);

    // A restart: the stopped attempt's log is `previous`, the new attempt's is current.
    let mut cri_client = h.node.cri().await.unwrap();
    cri_client
        .runtime
        .stop_container(k8s_cri::v1::StopContainerRequest {
            container_id: h.pod.container_id.clone(),
            timeout: 0,
        })
        .await
        .unwrap();
    start_container(
        &h.node,
        &h.pod.sandbox_id,
        &h.pod.sandbox_config,
        1,
        "echo second life",
    )
    .await;
    let mut current = String::new();
    for _ in 0..100 {
        current = get(&h.client, h.port, &logs).await.1;
        if !current.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(current, "second life\n");
    let (code, previous) = get(&h.client, h.port, &format!("{logs}?previous=true")).await;
    assert_eq!(code, StatusCode::OK, "{previous}");
    assert!(previous.lines().any(|l| l == "hello"), "{previous:?}");
    assert!(previous.lines().any(|l| l == "tick 3"), "{previous:?}");
    // Following a finished container returns what it wrote and ends.
    let (_, followed) = get(&h.client, h.port, &format!("{logs}?follow=true")).await;
    assert_eq!(followed, "second life\n");

    let problems = h.node.shutdown().await;
    assert!(problems.is_empty(), "cleanup: {problems:?}");
    assert_eq!(APISERVER_CLIENT_USER, KUBELET_CLIENT_USER);
}
