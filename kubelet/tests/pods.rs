//! End-to-end tests of the kubelet: a real `berth-apiserver` (started per test through the
//! conformance harness), a private containerd with the pause and busybox images
//! (`berth_kubelet::testenv`), and the `berth-kubelet` binary between them. Pods are bound to
//! the test's node by `spec.nodeName`; what they do is read back through the API with kube-rs
//! and stock kubectl, and from the runtime's log files.
//!
//! Needs root, containerd, runc and the CNI plugins (scripts/install-deps), and the API
//! server binary: run `cargo build -p berth-apiserver` first.

use berth_api_types::k8s::api::coordination::v1::Lease;
use berth_api_types::k8s::api::core::v1::{ConfigMap, Event, Node, Pod};
use berth_conformance::Cluster;
use berth_kubelet::testenv::TestNode;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a pod may take to reach a state on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(90);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// An apiserver, a containerd and a kubelet; the kubelet is stopped first when dropped.
struct Env {
    kubelet: Option<Child>,
    node_name: String,
    root: tempfile::TempDir,
    node: TestNode,
    cluster: Cluster,
    client: kube::Client,
}

impl Env {
    async fn start() -> Env {
        let cluster = Cluster::start().expect("the API server starts");
        let node = TestNode::start().await.expect("the test containerd starts");
        let root = tempfile::Builder::new()
            .prefix("berth-kubelet-test-")
            .tempdir()
            .expect("a temp dir");
        let node_name = format!(
            "k2-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let client = cluster.client().await.expect("an admin client");
        // The node server's certificate, signed by the cluster CA the API server made.
        let pki = cluster.data_dir().join("pki");
        let ca = berth_component_base::pki::ClusterCa::load(
            &std::fs::read_to_string(pki.join("ca.crt")).unwrap(),
            &std::fs::read_to_string(pki.join("ca.key")).unwrap(),
        )
        .expect("the cluster CA");
        let serving = ca
            .issue_server(
                &node_name,
                &["localhost".to_string()],
                &["127.0.0.1".parse().unwrap()],
            )
            .expect("a serving certificate");
        std::fs::write(root.path().join("kubelet.crt"), &serving.cert_pem).unwrap();
        std::fs::write(root.path().join("kubelet.key"), &serving.key_pem).unwrap();
        std::fs::copy(pki.join("ca.crt"), root.path().join("ca.crt")).unwrap();
        let mut env = Env {
            kubelet: None,
            node_name,
            root,
            node,
            cluster,
            client,
        };
        env.start_kubelet();
        env
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("kubelet.log")
    }

    fn start_kubelet(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("the kubelet log");
        let child = Command::new(env!("CARGO_BIN_EXE_berth-kubelet"))
            .arg("--kubeconfig")
            .arg(self.cluster.data_dir().join("kubelet.kubeconfig"))
            .args(["--node-name", &self.node_name])
            .args(["--container-runtime-endpoint", &self.node.endpoint()])
            .args([
                "--node-ip",
                "127.0.0.1",
                "--address",
                "127.0.0.1",
                "--port",
                "0",
            ])
            .arg("--tls-cert-file")
            .arg(self.root.path().join("kubelet.crt"))
            .arg("--tls-private-key-file")
            .arg(self.root.path().join("kubelet.key"))
            .arg("--client-ca-file")
            .arg(self.root.path().join("ca.crt"))
            .args(["--cluster-dns", "10.96.0.10"])
            .arg("--root-dir")
            .arg(self.root.path().join("root"))
            .arg("--pod-logs-dir")
            .arg(self.node.log_dir())
            .args([
                "--cgroup-root",
                &format!("/{}", self.node.config().cgroup_root),
            ])
            .env("RUST_LOG", "info,berth_kubelet=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("berth-kubelet starts");
        self.kubelet = Some(child);
    }

    /// Stops the kubelet with SIGTERM, as a service manager would.
    fn stop_kubelet(&mut self) {
        if let Some(mut child) = self.kubelet.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn kubelet_log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    async fn create_pod(&self, mut pod: serde_json::Value) -> Pod {
        pod["apiVersion"] = "v1".into();
        pod["kind"] = "Pod".into();
        pod["spec"]["nodeName"] = self.node_name.clone().into();
        let pod: Pod = serde_json::from_value(pod).expect("a pod");
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("the pod is created")
    }

    /// The messages of the Events about pod `name`.
    async fn event_messages(&self, name: &str) -> Vec<String> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        events
            .list(&ListParams::default())
            .await
            .expect("list events")
            .items
            .into_iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter_map(|e| e.message)
            .collect()
    }

    /// Polls the pod until `ok` holds; fails with the pod and the kubelet log otherwise.
    async fn wait_pod(&self, name: &str, what: &str, ok: impl Fn(&Pod) -> bool) -> Pod {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        while Instant::now() < deadline {
            if let Ok(p) = self.pods().get(name).await {
                if ok(&p) {
                    return p;
                }
                last = Some(p);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "pod {name} never {what}; last seen: {}\nkubelet log tail:\n{}",
            serde_json::to_string_pretty(&last.map(|p| p.status)).unwrap_or_default(),
            tail(&self.kubelet_log())
        );
    }

    async fn wait_gone(&self, name: &str) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.pods().get_opt(name).await.expect("get").is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "pod {name} was never deleted\n{}",
            tail(&self.kubelet_log())
        );
    }

    fn pod_log_file(&self, pod: &Pod, container: &str, attempt: u32) -> PathBuf {
        self.node
            .log_dir()
            .join(format!(
                "default_{}_{}",
                pod.metadata.name.as_deref().unwrap(),
                pod.metadata.uid.as_deref().unwrap()
            ))
            .join(container)
            .join(format!("{attempt}.log"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop_kubelet();
        // Memory-backed emptyDirs of pods still running are mounts under the root directory;
        // the temp dir can only go once they are unmounted.
        let root = self.root.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        for line in mounts.lines() {
            if let Some(point) = line.split_whitespace().nth(1) {
                if point.starts_with(&root) {
                    let point = point.replace("\\040", " ");
                    let _ = Command::new("umount").args(["-l", &point]).status();
                }
            }
        }
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn container_status(
    p: &Pod,
    name: &str,
) -> Option<berth_api_types::k8s::api::core::v1::ContainerStatus> {
    p.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == name)
        .cloned()
}

fn waiting_reason(p: &Pod, name: &str) -> Option<String> {
    container_status(p, name)?.state?.waiting?.reason
}

fn busybox(name: &str, script: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "image": "docker.io/library/busybox:test",
        "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", script]})
}

/// Reads a CRI log file's messages (the text after `<time> <stream> <tag> `).
fn log_messages(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap_or("").to_string())
        .collect()
}

async fn wait_file_has(path: &Path, needle: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if log_messages(path).iter().any(|l| l == needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} never held {needle:?}: {:?}",
        path.display(),
        log_messages(path)
    );
}

#[tokio::test]
async fn the_node_registers_ready_and_keeps_its_lease() {
    let env = Env::start().await;
    let nodes: Api<Node> = Api::all(env.client.clone());
    let deadline = Instant::now() + WAIT;
    let node = loop {
        if let Some(n) = nodes.get_opt(&env.node_name).await.expect("get node") {
            let ready = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.status == "True");
            if ready {
                break n;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the node never became Ready\n{}",
            tail(&env.kubelet_log())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert!(labels.contains_key("kubernetes.io/arch"));
    assert!(labels.contains_key("kubernetes.io/hostname"));
    let status = node.status.unwrap();
    let info = status.node_info.unwrap();
    assert!(
        info.container_runtime_version.starts_with("containerd://"),
        "{info:?}"
    );
    assert!(info.kubelet_version.starts_with("v1.33"));
    let cap = status.capacity.unwrap();
    assert_eq!(cap["pods"].0, "110");
    assert!(cap.contains_key("ephemeral-storage") && cap.contains_key("memory"));
    let addresses = status.addresses.unwrap();
    assert!(addresses
        .iter()
        .any(|a| a.type_ == "InternalIP" && a.address == "127.0.0.1"));
    // The imported images are listed with their sizes.
    let images = status.images.clone().unwrap_or_default();
    let busybox = images
        .iter()
        .find(|i| {
            i.names
                .iter()
                .flatten()
                .any(|n| n == "docker.io/library/busybox:test")
        })
        .unwrap_or_else(|| panic!("busybox is not in status.images: {images:?}"));
    assert!(busybox.size_bytes.unwrap_or(0) > 0, "{busybox:?}");
    // The machine decides whether there is pressure; the reason must match the status.
    for (t, when_false, when_true) in [
        (
            "MemoryPressure",
            "KubeletHasSufficientMemory",
            "KubeletHasInsufficientMemory",
        ),
        (
            "DiskPressure",
            "KubeletHasNoDiskPressure",
            "KubeletHasDiskPressure",
        ),
        (
            "PIDPressure",
            "KubeletHasSufficientPID",
            "KubeletHasInsufficientPID",
        ),
    ] {
        let c = status
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == t)
            .unwrap_or_else(|| panic!("no {t} condition"));
        let expected = if c.status == "True" {
            when_true
        } else {
            when_false
        };
        assert_eq!(c.reason.as_deref(), Some(expected), "{t}");
    }
    // The node server's port, picked at start.
    assert!(
        status
            .daemon_endpoints
            .unwrap()
            .kubelet_endpoint
            .unwrap()
            .port
            > 0
    );

    let leases: Api<Lease> = Api::namespaced(env.client.clone(), "kube-node-lease");
    let deadline = Instant::now() + WAIT;
    let lease = loop {
        if let Some(l) = leases.get_opt(&env.node_name).await.expect("get lease") {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no Lease\n{}",
            tail(&env.kubelet_log())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let spec = lease.spec.unwrap();
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some(env.node_name.as_str())
    );
    assert_eq!(
        lease.metadata.owner_references.unwrap()[0].uid,
        node.metadata.uid.unwrap()
    );

    // kubectl sees the node Ready.
    let out = env
        .cluster
        .kubectl(33)
        .expect("kubectl 1.33")
        .run(&[
            "get",
            "node",
            &env.node_name,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
        .expect("kubectl runs");
    assert_eq!(out.stdout.trim(), "True", "{out}");

    // The kubelet's kubeconfig, written by the apiserver, names a node identity.
    let kubelet_config = env.cluster.data_dir().join("kubelet.kubeconfig");
    let out = env
        .cluster
        .kubectl(33)
        .expect("kubectl 1.33")
        .run(&[
            "--kubeconfig",
            &kubelet_config.to_string_lossy(),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username} {.status.userInfo.groups}",
        ])
        .expect("kubectl runs");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_ascii_lowercase();
    assert!(
        out.stdout.starts_with(&format!("system:node:{hostname} ")),
        "{out}"
    );
    assert!(out.stdout.contains("system:nodes"), "{out}");
}

#[tokio::test]
async fn a_pod_runs_with_its_environment_volumes_and_logs_and_survives_a_kubelet_restart() {
    let mut env = Env::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "settings"}, "data": {"color": "blue", "file.txt": "one"}}))
    .unwrap();
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("configmap");

    let mut web = busybox(
        "web",
        "echo color=$COLOR node=$NODE; cat /config/file.txt; echo; echo err >&2; \
         cat /etc/resolv.conf; echo host=$(hostname); \
         while true; do if [ \"$(cat /config/file.txt)\" = two ]; then echo updated; sleep 3600; fi; sleep 0.2; done",
    );
    web["env"] = serde_json::json!([
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    ]);
    web["volumeMounts"] = serde_json::json!([{"name": "config", "mountPath": "/config"}]);
    let pod = env
        .create_pod(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [web], "terminationGracePeriodSeconds": 2,
                "volumes": [{"name": "config", "configMap": {"name": "settings"}}]}
        }))
        .await;
    let running = env
        .wait_pod("web", "ran", |p| {
            phase(p) == "Running" && container_status(p, "web").is_some_and(|c| c.ready)
        })
        .await;
    let status = running.status.clone().unwrap();
    let ip = status.pod_ip.clone().expect("a pod IP");
    let cidr = env.node.config().pod_cidr.to_string();
    let prefix = cidr.rsplit_once('.').unwrap().0;
    assert!(ip.starts_with(prefix), "{ip} not in {cidr}");
    assert_eq!(status.host_ip.as_deref(), Some("127.0.0.1"));
    assert!(status.start_time.is_some());
    let conditions: Vec<(String, String)> = status
        .conditions
        .unwrap()
        .into_iter()
        .map(|c| (c.type_, c.status))
        .collect();
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    ] {
        assert!(
            conditions.contains(&(t.to_string(), "True".to_string())),
            "{t}: {conditions:?}"
        );
    }
    let web_status = container_status(&running, "web").unwrap();
    let container_id = web_status.container_id.clone().unwrap();
    assert!(container_id.starts_with("containerd://"));
    assert!(!web_status.image_id.is_empty());
    assert_eq!(web_status.restart_count, 0);

    // kubectl reads the same status.
    let kubectl = env.cluster.kubectl(33).expect("kubectl 1.33");
    let out = kubectl
        .run(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.phase} {.status.podIP}",
        ])
        .expect("kubectl runs");
    assert_eq!(out.stdout.trim(), format!("Running {ip}"), "{out}");

    // The log file has both streams, and the environment came from the ConfigMap and the
    // pod's fields; the ConfigMap volume held its data.
    let log = env.pod_log_file(&pod, "web", 0);
    wait_file_has(&log, &format!("color=blue node={}", env.node_name)).await;
    wait_file_has(&log, "one").await;
    wait_file_has(&log, "err").await;
    // ClusterFirst DNS and the pod's hostname.
    wait_file_has(&log, "host=web").await;
    let lines = log_messages(&log);
    assert!(
        lines.iter().any(|l| l == "nameserver 10.96.0.10"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("search default.svc.cluster.local svc.cluster.local cluster.local")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l == "options ndots:5"), "{lines:?}");
    let raw = std::fs::read_to_string(&log).unwrap();
    assert!(raw.lines().any(|l| l.contains(" stderr F err")), "{raw}");

    // kubectl logs reaches the same file through the API server and the node server.
    let out = kubectl.run(&["logs", "web"]).expect("kubectl logs");
    assert!(
        out.stdout
            .contains(&format!("color=blue node={}", env.node_name)),
        "{out}"
    );

    // The ConfigMap volume follows an update in place.
    let mut cm = cms.get("settings").await.unwrap();
    cm.data
        .as_mut()
        .unwrap()
        .insert("file.txt".into(), "two".into());
    cms.replace("settings", &PostParams::default(), &cm)
        .await
        .unwrap();
    wait_file_has(&log, "updated").await;

    // A restarted kubelet adopts the running container and restarts nothing.
    let before_restart = env.pods().get("web").await.unwrap();
    env.stop_kubelet();
    env.start_kubelet();
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    // The new kubelet has looked at the pod once it posts a fresh heartbeat through the
    // node status; its pod worker started beside it. Then the pod must still show the same
    // container, never restarted.
    let nodes: Api<Node> = Api::all(env.client.clone());
    let restarted_at = berth_api_types::k8s::jiff::Timestamp::now();
    let deadline = Instant::now() + WAIT;
    loop {
        let n = nodes.get(&env.node_name).await.unwrap();
        let beat = n
            .status
            .and_then(|s| s.conditions)
            .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.last_heartbeat_time);
        if beat.is_some_and(|t| {
            t.0 >= restarted_at
                .checked_sub(berth_api_types::k8s::jiff::SignedDuration::from_secs(1))
                .unwrap()
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted kubelet never reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One relist period plus a pass of the worker.
    let mut after = env.pods().get("web").await.unwrap();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = env.pods().get("web").await.unwrap();
    }
    // Not even the status changed: the new kubelet found it already true.
    assert_eq!(
        after.metadata.resource_version, before_restart.metadata.resource_version,
        "{:?}\n{:?}",
        before_restart.status, after.status
    );
    let s = container_status(&after, "web").unwrap();
    assert_eq!(s.container_id.as_deref(), Some(container_id.as_str()));
    assert_eq!(s.restart_count, 0);
    let started = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Started"))
        .count();
    assert_eq!(
        started, 1,
        "the container was started again after the restart"
    );

    // Graceful deletion: the kubelet stops the container and finishes the delete.
    env.pods()
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    env.wait_gone("web").await;
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    for r in ["Pulled", "Created", "Started", "Killing"] {
        assert!(
            reasons.iter().any(|x| x == r),
            "no {r} event in {reasons:?}"
        );
    }
    // The pod's directory, log directory and cgroups went before the pod did.
    let uid = pod.metadata.uid.clone().unwrap();
    let pod_dir = env.root.path().join("root/pods").join(&uid);
    assert!(
        !pod_dir.exists(),
        "{} left behind: {:?}\n{}",
        pod_dir.display(),
        Command::new("find")
            .arg(&pod_dir)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
        tail(&env.kubelet_log())
            + &env
                .cluster
                .server_log()
                .lines()
                .filter(|l| l.contains("pods/web") && !l.contains("GET"))
                .collect::<Vec<_>>()
                .join("\n")
    );
    assert!(!log.parent().unwrap().parent().unwrap().exists());
    let cgroup = Path::new("/sys/fs/cgroup/memory")
        .join(&env.node.config().cgroup_root)
        .join("kubepods/besteffort")
        .join(format!("pod{uid}"));
    assert!(!cgroup.exists(), "{} left behind", cgroup.display());
}

#[tokio::test]
async fn restart_policies_init_containers_and_pull_failures() {
    let env = Env::start().await;
    // Never: a failing container fails the pod, a succeeding one completes it.
    env.create_pod(serde_json::json!({"metadata": {"name": "never-fails"},
        "spec": {"restartPolicy": "Never", "containers": [busybox("c", "echo bye > /dev/termination-log; exit 3")]}}))
        .await;
    env.create_pod(serde_json::json!({"metadata": {"name": "never-ok"},
        "spec": {"restartPolicy": "Never", "containers": [busybox("c", "exit 0")]}}))
        .await;
    // OnFailure: a failure restarts, success ends the pod.
    let mut retry = busybox(
        "c",
        "if [ -e /data/once ]; then exit 0; fi; touch /data/once; exit 1",
    );
    retry["volumeMounts"] = serde_json::json!([{"name": "data", "mountPath": "/data"}]);
    env.create_pod(serde_json::json!({"metadata": {"name": "onfailure"},
        "spec": {"restartPolicy": "OnFailure", "containers": [retry],
            "volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}]}}))
        .await;
    // Always: a crashing container is restarted with back-off.
    env.create_pod(serde_json::json!({"metadata": {"name": "crasher"},
        "spec": {"containers": [busybox("c", "exit 2")]}}))
        .await;
    // Init containers run in order before the container.
    let mut app = busybox("app", "cat /work/order; sleep 3600");
    app["volumeMounts"] = serde_json::json!([{"name": "work", "mountPath": "/work"}]);
    let mut first = busybox("first", "echo first >> /work/order");
    first["volumeMounts"] = app["volumeMounts"].clone();
    let mut second = busybox("second", "echo second >> /work/order");
    second["volumeMounts"] = app["volumeMounts"].clone();
    let init_pod = env
        .create_pod(serde_json::json!({"metadata": {"name": "init"},
            "spec": {"initContainers": [first, second], "containers": [app],
                "terminationGracePeriodSeconds": 1,
                "volumes": [{"name": "work", "emptyDir": {}}]}}))
        .await;
    // A missing image on a loopback registry address: the pull fails without leaving the
    // machine.
    env.create_pod(serde_json::json!({"metadata": {"name": "missing-image"},
        "spec": {"containers": [{"name": "c", "image": "127.0.0.1:1/missing:v1"}]}}))
        .await;

    let failed = env
        .wait_pod("never-fails", "failed", |p| phase(p) == "Failed")
        .await;
    let term = container_status(&failed, "c")
        .unwrap()
        .state
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(term.exit_code, 3);
    assert_eq!(term.reason.as_deref(), Some("Error"));
    assert_eq!(term.message.as_deref(), Some("bye\n"));
    env.wait_pod("never-ok", "succeeded", |p| phase(p) == "Succeeded")
        .await;
    let done = env
        .wait_pod("onfailure", "succeeded", |p| phase(p) == "Succeeded")
        .await;
    assert_eq!(container_status(&done, "c").unwrap().restart_count, 1);
    let crashing = env
        .wait_pod("crasher", "crash-looped", |p| {
            waiting_reason(p, "c").as_deref() == Some("CrashLoopBackOff")
        })
        .await;
    let s = container_status(&crashing, "c").unwrap();
    assert!(s.restart_count >= 1, "{s:?}");
    assert_eq!(s.last_state.unwrap().terminated.unwrap().exit_code, 2);
    assert_eq!(phase(&crashing), "Running");

    let init = env.wait_pod("init", "ran", |p| phase(p) == "Running").await;
    let statuses = init.status.unwrap().init_container_statuses.unwrap();
    assert!(statuses.iter().all(|s| s
        .state
        .as_ref()
        .and_then(|st| st.terminated.as_ref())
        .is_some_and(|t| t.exit_code == 0)));
    wait_file_has(&env.pod_log_file(&init_pod, "app", 0), "second").await;
    assert_eq!(
        log_messages(&env.pod_log_file(&init_pod, "app", 0))[..2],
        ["first".to_string(), "second".to_string()]
    );

    // ErrImagePull is shown only until the next look turns it into ImagePullBackOff, and the
    // other pods above took a while; so the failed pull is checked where it stays: the
    // pod's Failed event carries the registry's error.
    env.wait_pod("missing-image", "failed to pull", |p| {
        matches!(
            waiting_reason(p, "c").as_deref(),
            Some("ErrImagePull" | "ImagePullBackOff")
        )
    })
    .await;
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    let failed_pull = events
        .list(&ListParams::default().fields("involvedObject.name=missing-image"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Failed"))
        .filter_map(|e| e.message)
        .collect::<Vec<_>>();
    assert!(
        failed_pull
            .iter()
            .any(|m| m.starts_with("Failed to pull image \"127.0.0.1:1/missing:v1\": ")),
        "{failed_pull:?}"
    );
    assert!(
        failed_pull.iter().any(|m| m == "Error: ErrImagePull"),
        "{failed_pull:?}"
    );
    let backoff = env
        .wait_pod("missing-image", "backed off", |p| {
            waiting_reason(p, "c").as_deref() == Some("ImagePullBackOff")
        })
        .await;
    assert_eq!(
        container_status(&backoff, "c")
            .unwrap()
            .state
            .unwrap()
            .waiting
            .unwrap()
            .message
            .as_deref(),
        Some("Back-off pulling image \"127.0.0.1:1/missing:v1\"")
    );
}

#[tokio::test]
async fn probes_and_lifecycle_hooks() {
    let env = Env::start().await;
    let out = env.root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();

    // Liveness (exec) fails once the file is gone: the container is killed and restarted.
    let mut live = busybox(
        "c",
        "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
    );
    live["livenessProbe"] = serde_json::json!({"exec": {"command": ["cat", "/tmp/healthy"]},
        "periodSeconds": 1, "failureThreshold": 1});
    env.create_pod(serde_json::json!({"metadata": {"name": "live"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [live]}}))
        .await;

    // Readiness over HTTP: not ready until the server answers; a TCP liveness probe on the
    // same named port keeps passing; a startup probe gates both.
    let mut web = busybox("web", "sleep 2; exec httpd -f -p 8080 -h /www");
    web["ports"] = serde_json::json!([{"name": "http", "containerPort": 8080}]);
    web["readinessProbe"] = serde_json::json!({"httpGet": {"path": "/index.html", "port": "http"},
        "periodSeconds": 1});
    web["livenessProbe"] = serde_json::json!({"tcpSocket": {"port": 8080},
        "initialDelaySeconds": 4, "periodSeconds": 1});
    web["startupProbe"] = serde_json::json!({"exec": {"command": ["true"]}, "periodSeconds": 1});
    // postStart writes a file the container waits for; preStop leaves a mark on the host.
    web["lifecycle"] = serde_json::json!({
        "postStart": {"exec": {"command": ["sh", "-c", "echo hooked > /tmp/hook"]}},
        "preStop": {"exec": {"command": ["sh", "-c", "echo stopping > /out/prestop"]}}
    });
    web["volumeMounts"] = serde_json::json!([{"name": "out", "mountPath": "/out"}]);
    web["command"] = serde_json::json!(["sh", "-c",
        "until [ -e /tmp/hook ]; do sleep 0.1; done; cat /tmp/hook; sleep 2; exec httpd -f -p 8080 -h /www"]);
    let web_pod = env
        .create_pod(serde_json::json!({"metadata": {"name": "web"},
            "spec": {"terminationGracePeriodSeconds": 5, "containers": [web],
                "volumes": [{"name": "out", "hostPath": {"path": out.to_string_lossy(), "type": "Directory"}}]}}))
        .await;

    let not_ready = env
        .wait_pod("web", "ran", |p| {
            container_status(p, "web")
                .is_some_and(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        })
        .await;
    // Running but not ready before httpd listens (it starts 2 s after the hook).
    assert!(!container_status(&not_ready, "web").unwrap().ready);
    let ready = env
        .wait_pod("web", "became ready", |p| {
            container_status(p, "web").is_some_and(|c| c.ready)
        })
        .await;
    let conditions = ready.status.clone().unwrap().conditions.unwrap();
    assert!(conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True"));
    assert_eq!(container_status(&ready, "web").unwrap().started, Some(true));
    wait_file_has(&env.pod_log_file(&web_pod, "web", 0), "hooked").await;

    let restarted = env
        .wait_pod("live", "was restarted by its liveness probe", |p| {
            container_status(p, "c").is_some_and(|c| c.restart_count >= 1)
        })
        .await;
    let last = container_status(&restarted, "c")
        .unwrap()
        .last_state
        .unwrap()
        .terminated
        .unwrap();
    // Stopped by SIGTERM (143) or, past the grace period, SIGKILL (137).
    assert!(matches!(last.exit_code, 137 | 143), "{last:?}");
    let messages = env.event_messages("live").await;
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Liveness probe failed:")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m == "Container c failed liveness probe, will be restarted"),
        "{messages:?}"
    );
    // The web pod stayed healthy all along.
    let web_now = env.pods().get("web").await.unwrap();
    assert_eq!(container_status(&web_now, "web").unwrap().restart_count, 0);

    env.pods()
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_gone("web").await;
    assert_eq!(
        std::fs::read_to_string(out.join("prestop")).unwrap(),
        "stopping\n"
    );
}

#[tokio::test]
async fn a_projected_service_account_token_is_accepted_by_the_apiserver() {
    let env = Env::start().await;
    let sas: Api<berth_api_types::k8s::api::core::v1::ServiceAccount> =
        Api::namespaced(env.client.clone(), "default");
    let sa = serde_json::from_value(serde_json::json!({"metadata": {"name": "robot"}})).unwrap();
    sas.create(&PostParams::default(), &sa).await.expect("sa");
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let ca = std::fs::read_to_string(env.cluster.data_dir().join("pki/ca.crt")).unwrap();
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": ca}}))
    .unwrap();
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("ca configmap");
    let mut c = busybox(
        "c",
        "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; sleep 3600",
    );
    c["volumeMounts"] = serde_json::json!([{"name": "api", "readOnly": true,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]);
    let pod = env
        .create_pod(serde_json::json!({"metadata": {"name": "robot"},
            "spec": {"serviceAccountName": "robot", "terminationGracePeriodSeconds": 1,
                "containers": [c],
                "volumes": [{"name": "api", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
                ]}}]}}))
        .await;
    env.wait_pod("robot", "ran", |p| phase(p) == "Running")
        .await;
    wait_file_has(&env.pod_log_file(&pod, "c", 0), "default").await;
    let volume = env
        .root
        .path()
        .join("root/pods")
        .join(pod.metadata.uid.as_deref().unwrap())
        .join("volumes/kubernetes.io~projected/api");
    assert_eq!(std::fs::read_to_string(volume.join("ca.crt")).unwrap(), ca);
    let token = std::fs::read_to_string(volume.join("token")).unwrap();
    // Present the token to the API server: it names the pod's service account.
    let out = env
        .cluster
        .kubectl(33)
        .expect("kubectl 1.33")
        .run(&[
            "--token",
            token.trim(),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .expect("kubectl runs");
    assert_eq!(
        out.stdout.trim(),
        "system:serviceaccount:default:robot",
        "{out}"
    );
}

#[tokio::test]
async fn grpc_probes_follow_the_pods_health_service() {
    use tonic_health::ServingStatus;
    let env = Env::start().await;
    // A host-network pod's IP is the node's (127.0.0.1 here), so the gRPC health service
    // this test serves on the loopback is the pod's as far as the prober can tell.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("berth", ServingStatus::Serving)
        .await;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut c = busybox("c", "sleep 3600");
    c["readinessProbe"] = serde_json::json!({"grpc": {"port": port, "service": "berth"},
        "periodSeconds": 1, "failureThreshold": 1});
    env.create_pod(serde_json::json!({"metadata": {"name": "grpc"},
        "spec": {"hostNetwork": true, "terminationGracePeriodSeconds": 1, "containers": [c]}}))
        .await;
    env.wait_pod("grpc", "became ready through gRPC", |p| {
        container_status(p, "c").is_some_and(|c| c.ready)
    })
    .await;
    reporter
        .set_service_status("berth", ServingStatus::NotServing)
        .await;
    env.wait_pod(
        "grpc",
        "became unready when the service stopped serving",
        |p| {
            container_status(p, "c").is_some_and(|c| !c.ready)
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "False"))
        },
    )
    .await;
    let messages = env.event_messages("grpc").await;
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Readiness probe failed:") && m.contains("NOT_SERVING")),
        "{messages:?}"
    );
    env.pods()
        .delete("grpc", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_gone("grpc").await;
    server.abort();
}
