//! Stock kubectl 1.27 (SPDY) and 1.33 (WebSocket) through the API server to the node server
//! and a real containerd: logs, exec (exit codes, stdin), attach, cp both ways and
//! port-forward. The pod is started directly through CRI and its Node and Pod objects are
//! written as a kubelet would write them, so only the streaming path is under test.
//! Needs root, containerd, runc, the CNI plugins, kubectl 1.27 and 1.33, and a built
//! `berth-apiserver` (`cargo build -p berth-apiserver`).

mod common;

use berth_component_base::pki::{self, ClusterCa};
use berth_conformance::{Cluster, Kubectl};
use berth_kubelet::server::{self, NodeServer};
use berth_kubelet::testenv::TestNode;
use common::{start_container, start_pod, NS, POD};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const NODE: &str = "stream-node";
const WAIT: Duration = Duration::from_secs(30);

/// Writes the Node (address and kubelet port) and the running Pod into the API.
async fn register(client: kube::Client, port: u16) {
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NODE}})).unwrap(),
        )
        .await
        .expect("create the node");
    nodes
        .patch_status(
            NODE,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            }})),
        )
        .await
        .expect("node status");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap(),
        )
        .await
        .expect("create the namespace");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, NS);
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": POD},
            "spec": {"nodeName": NODE, "containers": [{"name": "web", "image": "busybox:test"}]},
        }))
        .unwrap(),
    )
    .await
    .expect("create the pod");
    pods.patch_status(
        POD,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "phase": "Running",
            "podIP": "10.244.0.2",
            "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0,
                "image": "busybox:test", "imageID": "", "started": true,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}],
        }})),
    )
    .await
    .expect("pod status");
}

fn kubectl_checks(k: &Kubectl, dir: &std::path::Path) {
    let v = k.version();
    let ns = ["-n", NS];
    let with = |args: &[&str]| -> Vec<String> {
        ns.iter()
            .chain(args.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: &[&str]| {
        let a = with(args);
        k.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap()
    };

    // Logs, whole and tailed. The runtime copies stdout and stderr separately, so "oops" may
    // land after the first ticks; once "tick 2" is in the log the last line is a tick.
    let mut out = run(&["logs", POD]).ok().unwrap();
    for _ in 0..100 {
        if out.stdout.lines().any(|l| l == "tick 2") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        out = run(&["logs", POD]).ok().unwrap();
    }
    assert!(out.stdout.lines().any(|l| l == "hello"), "{v}: {out}");
    assert!(out.stdout.lines().any(|l| l == "oops"), "{v}: {out}");
    assert!(out.stdout.lines().any(|l| l == "tick 2"), "{v}: {out}");
    let out = run(&["logs", POD, "--tail=1"]).ok().unwrap();
    assert_eq!(out.stdout.lines().count(), 1, "{v}: {out}");
    assert!(out.stdout.starts_with("tick "), "{v}: {out}");
    let out = run(&["logs", POD, "-c", "nosuch"]).failed().unwrap();
    out.stderr_has("container nosuch is not valid for pod web-1")
        .unwrap();

    // Followed logs keep arriving.
    let a = with(&["logs", "-f", POD, "--since=1s"]);
    let mut follow = k
        .stream(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    let first = follow
        .wait_for("a tick", WAIT, |l| l.starts_with("tick "))
        .unwrap();
    follow
        .wait_for("a later tick", WAIT, |l| {
            l.starts_with("tick ") && l != first
        })
        .unwrap();
    drop(follow);

    // Exec: output, exit codes, stdin to EOF.
    let out = run(&["exec", POD, "--", "echo", "hi", v.as_str()])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, format!("hi {v}\n"), "{out}");
    let out = run(&["exec", POD, "--", "sh", "-c", "echo err >&2; exit 3"])
        .failed()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{v}: {out}");
    out.stderr_has("command terminated with exit code 3")
        .unwrap();
    out.stderr_has("err").unwrap();
    let a = with(&["exec", "-i", POD, "--", "sh", "-c", "cat; echo end"]);
    let out = k
        .run_with_stdin(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            Some("from stdin\n"),
        )
        .unwrap()
        .ok()
        .unwrap();
    assert_eq!(out.stdout, "from stdin\nend\n", "{v}: {out}");
    let out = run(&["exec", POD, "-c", "nosuch", "--", "true"])
        .failed()
        .unwrap();
    out.stderr_has("container nosuch is not valid for pod web-1")
        .unwrap();

    // cp both ways.
    let local = dir.join(format!("to-pod-{v}.txt"));
    std::fs::write(&local, format!("copied by {v}\n")).unwrap();
    let remote = format!("{NS}/{POD}:/tmp/cp-{v}.txt");
    k.run(&["cp", local.to_str().unwrap(), &remote])
        .unwrap()
        .ok()
        .unwrap();
    let out = run(&["exec", POD, "--", "cat", &format!("/tmp/cp-{v}.txt")])
        .ok()
        .unwrap();
    assert_eq!(out.stdout, format!("copied by {v}\n"));
    let back = dir.join(format!("from-pod-{v}.html"));
    k.run(&[
        "cp",
        &format!("{NS}/{POD}:/www/index.html"),
        back.to_str().unwrap(),
    ])
    .unwrap()
    .ok()
    .unwrap();
    assert!(std::fs::read_to_string(&back)
        .unwrap()
        .contains("berth busybox"));

    // Attach: the main process's output.
    let a = with(&["attach", POD, "-c", "web"]);
    let mut attach = k
        .stream(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    attach
        .wait_for("a tick", WAIT, |l| l.starts_with("tick "))
        .unwrap();
    drop(attach);

    // Port-forward to httpd in the pod.
    let a = with(&["port-forward", &format!("pod/{POD}"), ":8080"]);
    let mut pf = k
        .stream(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    let line = pf
        .wait_for("the local port", WAIT, |l| {
            l.starts_with("Forwarding from 127.0.0.1:")
        })
        .unwrap();
    let port: u16 = line
        .trim_start_matches("Forwarding from 127.0.0.1:")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for _ in 0..2 {
        let mut conn = std::net::TcpStream::connect((LOCAL, port)).unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        conn.write_all(b"GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert!(reply.contains(" 200 OK"), "{v}: {reply}");
        assert!(reply.contains("berth busybox"), "{v}: {reply}");
    }
    drop(pf);
}

/// `exec -it` under a pseudo-terminal whose size is set first: kubectl sends that size and the
/// process reads it from its terminal (once it has arrived: the process may start first).
fn terminal_check(cluster: &Cluster, minor: u32) {
    let kubectl = berth_conformance::kubectl_dir().join(format!("kubectl.1.{minor}"));
    let cache = cluster.data_dir().join(format!("tty-cache-1.{minor}"));
    let line = format!(
        "stty cols 111 rows 33; {} --kubeconfig {} --cache-dir {} -n {NS} exec -it {POD} -- sh -c 'for i in $(seq 300); do s=$(stty size </dev/tty 2>/dev/null); case \"$s\" in [1-9]*\" \"[1-9]*) echo size $s; break;; esac; sleep 0.1; done'",
        kubectl.display(),
        cluster.kubeconfig().display(),
        cache.display()
    );
    // stdin stays open (a user at a terminal sends no end of input) until the output ends.
    let mut child = std::process::Command::new("timeout")
        .args(["60", "script", "-qec", &line, "/dev/null"])
        .env_remove("KUBECONFIG")
        .env("HOME", cluster.data_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    let stdin = child.stdin.take();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        text.contains("size 33 111"),
        "1.{minor}: {text:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pod whose container is still being created: logs and exec are refused before the node
/// is contacted.
async fn pending_pod_checks(client: kube::Client, k: &Kubectl) {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client, NS);
    if pods.get_opt("pending-1").await.unwrap().is_none() {
        pods.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "pending-1"},
                "spec": {"nodeName": NODE, "containers": [{"name": "web", "image": "busybox:test"}]},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
        pods.patch_status(
            "pending-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "phase": "Pending",
                "containerStatuses": [{"name": "web", "ready": false, "restartCount": 0,
                    "image": "busybox:test", "imageID": "",
                    "state": {"waiting": {"reason": "ContainerCreating"}}}],
            }})),
        )
        .await
        .unwrap();
    }
    let k = k.clone();
    tokio::task::block_in_place(|| {
        let out = k
            .run(&["-n", NS, "logs", "pending-1"])
            .unwrap()
            .failed()
            .unwrap();
        out.stderr_has(
            "Error from server (BadRequest): container \"web\" in pod \"pending-1\" is waiting to start: ContainerCreating",
        )
        .unwrap();
        let out = k
            .run(&["-n", NS, "exec", "pending-1", "--", "true"])
            .unwrap()
            .failed()
            .unwrap();
        out.stderr_has("container not found (\"web\")").unwrap();
        let out = k
            .run(&["-n", NS, "exec", "nosuch", "--", "true"])
            .unwrap()
            .failed()
            .unwrap();
        out.stderr_has("Error from server (NotFound): pods \"nosuch\" not found")
            .unwrap();
    });
}

/// The WebSocket channel protocol of port-forward (`?ports=`, `v4.channel.k8s.io`), which
/// kubectl does not use but other clients do, straight to the API server as the admin.
async fn channel_port_forward_check(cluster: &Cluster) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{protocol::Role, Message};
    let pki_dir = cluster.data_dir().join("pki");
    let admin = pki::CertKey {
        cert_pem: pki::read(&pki_dir.join("admin.crt")).unwrap(),
        key_pem: pki::read(&pki_dir.join("admin.key")).unwrap(),
    };
    let client = berth_apiserver::streaming::kubelet::KubeletClient::new(
        &pki::read(&pki_dir.join("ca.crt")).unwrap(),
        &admin,
    )
    .unwrap();
    let port: u16 = cluster
        .server_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let req = http::Request::get(format!(
        "/api/v1/namespaces/{NS}/pods/{POD}/portforward?ports=8080"
    ))
    .header("Connection", "Upgrade")
    .header("Upgrade", "websocket")
    .header("Sec-WebSocket-Version", "13")
    .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    .header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
    .body(http_body_util::Empty::<bytes::Bytes>::new())
    .unwrap();
    let resp = client.send(LOCAL, port, req).await.unwrap();
    assert_eq!(resp.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "v4.channel.k8s.io"
    );
    let upgraded = hyper::upgrade::on(resp).await.unwrap();
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        hyper_util::rt::TokioIo::new(upgraded),
        Role::Client,
        None,
    )
    .await;
    ws.send(Message::Binary(
        b"\x00GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n"
            .to_vec()
            .into(),
    ))
    .await
    .unwrap();
    let mut data = Vec::new();
    let mut error = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Binary(b) if b.first() == Some(&0) => data.extend_from_slice(&b[1..]),
            Message::Binary(b) if b.first() == Some(&1) => error.extend_from_slice(&b[1..]),
            Message::Close(_) => break,
            _ => {}
        }
    }
    // Both channels open with the port, little-endian; then the pod's answer.
    assert_eq!(&error[..2], &8080u16.to_le_bytes());
    assert_eq!(&data[..2], &8080u16.to_le_bytes());
    let reply = String::from_utf8_lossy(&data[2..]);
    assert!(
        reply.contains(" 200 OK") && reply.contains("berth busybox"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_kubectl_streams_through_the_api_server_to_the_node() {
    let cluster = Cluster::start().expect("the API server starts");
    let pki_dir = cluster.data_dir().join("pki");
    let ca = ClusterCa::load(
        &pki::read(&pki_dir.join("ca.crt")).unwrap(),
        &pki::read(&pki_dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let node = TestNode::start().await.expect("test node starts");
    let pod = start_pod(&node).await;
    let serving = ca.issue_server(NODE, &[], &[LOCAL]).unwrap();
    let tls = server::tls_config(ca.cert_pem(), &serving.cert_pem, &serving.key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    server::spawn(
        listener,
        tls,
        Arc::new(NodeServer {
            cri: node.cri().await.unwrap(),
            node_name: NODE.into(),
        }),
    );
    register(cluster.client().await.unwrap(), port).await;

    let dir = tempfile::tempdir().unwrap();
    for minor in [27, 33] {
        let k = cluster.kubectl(minor).expect("kubectl installed");
        tokio::task::block_in_place(|| kubectl_checks(&k, dir.path()));
        tokio::task::block_in_place(|| terminal_check(&cluster, minor));
        pending_pod_checks(cluster.client().await.unwrap(), &k).await;
    }
    channel_port_forward_check(&cluster).await;

    // After a restart, `logs -p` shows the stopped attempt and `logs` the new one.
    node.cri()
        .await
        .unwrap()
        .runtime
        .stop_container(k8s_cri::v1::StopContainerRequest {
            container_id: pod.container_id.clone(),
            timeout: 0,
        })
        .await
        .unwrap();
    start_container(
        &node,
        &pod.sandbox_id,
        &pod.sandbox_config,
        1,
        "echo second life",
    )
    .await;
    for minor in [27, 33] {
        let k = cluster.kubectl(minor).unwrap();
        tokio::task::block_in_place(|| {
            let out = k.run(&["-n", NS, "logs", "-p", POD]).unwrap().ok().unwrap();
            assert!(out.stdout.lines().any(|l| l == "hello"), "{out}");
            let mut current = String::new();
            for _ in 0..100 {
                current = k
                    .run(&["-n", NS, "logs", POD])
                    .unwrap()
                    .ok()
                    .unwrap()
                    .stdout;
                if !current.is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(current, "second life\n");
        });
    }

    // 1.27 used SPDY (POST upgrades) for exec and port-forward; 1.33 used WebSocket (GET),
    // the channel protocol for exec and the SPDY tunnel for port-forward.
    let log = cluster.server_log();
    for sub in ["exec", "portforward"] {
        for method in ["POST", "GET"] {
            assert!(
                log.lines().any(|l| l.contains(&format!("pods/{POD}/{sub}"))
                    && l.contains(&format!("method={method}"))
                    && l.contains("code=101")),
                "no {method} upgrade of {sub} in the server log:\n{log}"
            );
        }
    }
    let problems = node.shutdown().await;
    assert!(problems.is_empty(), "cleanup: {problems:?}");
}
