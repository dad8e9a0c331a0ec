//! Pod start latency through the whole stack, beside the raw CRI time for the same pods in
//! the same run, and the kubelet's memory.
//!
//! One `berth-apiserver`, a private containerd (`testenv`) and the `berth-kubelet` binary.
//! Measured: kubelet RSS once the node is Ready (idle); create → `Running` (seen through a
//! watch) for single pods one after another and for a burst of pods created together;
//! kubelet RSS with the burst running; then, on the same containerd, the raw CRI time
//! (RunPodSandbox → StartContainer returned) for the same pod shape, one at a time and as a
//! burst.
//!
//! `cargo build --release -p berth-apiserver && cargo bench -p berth-kubelet --bench pods`
//! (as root; containerd, runc, CNI plugins, busybox-static). `BERTH_BENCH_SINGLE` and
//! `BERTH_BENCH_BURST` change the pod counts (10 and 50); `BERTH_BENCH_KUBELET_LOG=FILE` keeps
//! the kubelet's log (level from `BERTH_BENCH_KUBELET_RUST_LOG`, default `warn`).

use berth_api_types::k8s::api::core::v1::{Node, Pod};
use berth_conformance::Cluster;
use berth_kubelet::cri::Cri;
use berth_kubelet::testenv::{self, TestNode};
use futures::{StreamExt, TryStreamExt};
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, LinuxPodSandboxConfig, PodSandboxConfig,
    PodSandboxMetadata, RemovePodSandboxRequest, StopPodSandboxRequest,
};
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IMAGE: &str = "docker.io/library/busybox:test";

type Seen = Arc<Mutex<HashMap<String, Instant>>>;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} n={:<3} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        times.len(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
    );
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "pods"}},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "3600"]}]}
    }))
    .expect("a pod")
}

/// Records when each pod was first seen Running.
fn watch_running(pods: Api<Pod>) -> Seen {
    let seen: Seen = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        let params = WatchParams::default().labels("bench=pods");
        let mut stream = pods.watch(&params, "0").await.expect("watch").boxed();
        while let Ok(Some(ev)) = stream.try_next().await {
            if let WatchEvent::Added(p) | WatchEvent::Modified(p) = ev {
                let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                if running {
                    let name = p.metadata.name.unwrap_or_default();
                    seen.lock()
                        .unwrap()
                        .entry(name)
                        .or_insert_with(Instant::now);
                }
            }
        }
    });
    out
}

async fn wait_running(seen: &Seen, names: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        {
            let s = seen.lock().unwrap();
            if names.iter().all(|n| s.contains_key(n)) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "pods never all ran");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn delete_all(pods: &Api<Pod>) {
    let _ = pods
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("bench=pods"),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !pods
        .list(&ListParams::default().labels("bench=pods"))
        .await
        .map(|l| l.items.is_empty())
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "pods never went away");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One raw CRI pod of the same shape; returns (time to StartContainer, sandbox id).
async fn raw_pod(
    mut cri: Cri,
    node_log: std::path::PathBuf,
    cgroup: String,
    name: String,
) -> (Duration, String) {
    let uid = format!("raw-{}-{name}", std::process::id());
    let config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.clone(),
            uid: uid.clone(),
            namespace: "bench".into(),
            attempt: 0,
        }),
        hostname: name.clone(),
        log_directory: node_log.join(&uid).display().to_string(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: format!("{cgroup}/raw/pod{uid}"),
            ..LinuxPodSandboxConfig::default()
        }),
        ..PodSandboxConfig::default()
    };
    let container = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "c".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: IMAGE.into(),
            ..ImageSpec::default()
        }),
        command: vec!["sleep".into(), "3600".into()],
        log_path: "c/0.log".into(),
        ..ContainerConfig::default()
    };
    let start = Instant::now();
    let (sandbox, _) = testenv::run_pod(&mut cri, config, container)
        .await
        .expect("the raw pod starts");
    (start.elapsed(), sandbox)
}

async fn remove_sandboxes(cri: &mut Cri, ids: Vec<String>) {
    for id in ids {
        let _ = cri
            .runtime
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await;
        let _ = cri
            .runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await;
    }
}

struct Kubelet(Child);

impl Drop for Kubelet {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let single = env_count("BERTH_BENCH_SINGLE", 10);
    let burst = env_count("BERTH_BENCH_BURST", 50);
    let cluster = Cluster::start().expect("the API server starts");
    let node = TestNode::start().await.expect("the test containerd starts");
    let root = tempfile::tempdir().expect("a temp dir");
    let node_name = format!("bench-{}", std::process::id());
    let kubelet = Kubelet(
        Command::new(env!("CARGO_BIN_EXE_berth-kubelet"))
            .arg("--kubeconfig")
            .arg(cluster.data_dir().join("kubelet.kubeconfig"))
            .args(["--node-name", &node_name, "--node-ip", "127.0.0.1"])
            .args(["--container-runtime-endpoint", &node.endpoint()])
            .arg("--root-dir")
            .arg(root.path())
            .arg("--pod-logs-dir")
            .arg(node.log_dir())
            .args(["--cgroup-root", &format!("/{}", node.config().cgroup_root)])
            .env(
                "RUST_LOG",
                std::env::var("BERTH_BENCH_KUBELET_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(match std::env::var_os("BERTH_BENCH_KUBELET_LOG") {
                Some(path) => std::fs::File::create(path)
                    .expect("the kubelet log file")
                    .into(),
                None => Stdio::null(),
            })
            .spawn()
            .expect("berth-kubelet starts"),
    );
    let pid = kubelet.0.id();
    let client = cluster.client().await.expect("a client");
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = nodes
            .get_opt(&node_name)
            .await
            .ok()
            .flatten()
            .and_then(|n| n.status?.conditions)
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "the node never became Ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the start-up allocations settle before reading the idle footprint.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rss_kib(pid);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let seen = watch_running(pods.clone());
    let mut singles = Vec::new();
    for i in 0..single {
        let name = format!("single-{i}");
        let start = Instant::now();
        pods.create(&PostParams::default(), &pod(&name, &node_name))
            .await
            .expect("create");
        wait_running(&seen, std::slice::from_ref(&name)).await;
        singles.push(seen.lock().unwrap()[&name] - start);
    }
    delete_all(&pods).await;

    let names: Vec<String> = (0..burst).map(|i| format!("burst-{i}")).collect();
    let start = Instant::now();
    let creates = names.iter().map(|n| {
        let pods = pods.clone();
        let p = pod(n, &node_name);
        async move {
            pods.create(&PostParams::default(), &p)
                .await
                .expect("create")
        }
    });
    futures::future::join_all(creates).await;
    wait_running(&seen, &names).await;
    let whole = start.elapsed();
    let bursts: Vec<Duration> = {
        let s = seen.lock().unwrap();
        names.iter().map(|n| s[n] - start).collect()
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = rss_kib(pid);
    delete_all(&pods).await;

    // The same pod shape straight through CRI, on the same containerd.
    let cri = node.cri().await.expect("CRI");
    let cgroup = format!("/{}", node.config().cgroup_root);
    let mut raw_single = Vec::new();
    let mut ids = Vec::new();
    for i in 0..single {
        let (d, id) = raw_pod(
            cri.clone(),
            node.log_dir(),
            cgroup.clone(),
            format!("rs{i}"),
        )
        .await;
        raw_single.push(d);
        ids.push(id);
    }
    let mut c = cri.clone();
    remove_sandboxes(&mut c, std::mem::take(&mut ids)).await;
    let raw = futures::future::join_all((0..burst).map(|i| {
        raw_pod(
            cri.clone(),
            node.log_dir(),
            cgroup.clone(),
            format!("rb{i}"),
        )
    }))
    .await;
    let (raw_burst, ids): (Vec<Duration>, Vec<String>) = raw.into_iter().unzip();
    remove_sandboxes(&mut c, ids).await;

    println!("berth-kubelet pod start ({single} single pods, burst of {burst})");
    report("kubelet: create -> Running, one at a time", singles);
    report("raw CRI: sandbox -> started, one at a time", raw_single);
    report("kubelet: create -> Running, burst", bursts);
    report("raw CRI: sandbox -> started, burst", raw_burst);
    println!(
        "burst of {burst}: all Running after {:.2} s",
        whole.as_secs_f64()
    );
    println!("kubelet RSS idle: {:.1} MiB", idle as f64 / 1024.0);
    println!(
        "kubelet RSS with {burst} pods: {:.1} MiB",
        loaded as f64 / 1024.0
    );
    drop(kubelet);
}
