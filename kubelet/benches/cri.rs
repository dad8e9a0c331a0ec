//! Raw CRI pod start on a private containerd: the time from RunPodSandbox to StartContainer
//! returning for one pod at a time and for a burst of pods started together, teardown time,
//! and containerd's memory idle and with the burst running. These are the baseline the
//! kubelet's own pod start latency is compared with.
//!
//! `cargo bench -p berth-kubelet --bench cri` (as root; containerd, runc, CNI plugins and
//! busybox-static installed). `BERTH_BENCH_SINGLE` and `BERTH_BENCH_BURST` change the pod
//! counts (20 and 50).

use std::time::{Duration, Instant};

use berth_kubelet::cri::Cri;
use berth_kubelet::testenv::{self, TestNode};
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, RemovePodSandboxRequest, StopPodSandboxRequest,
};

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts one pod (pause sandbox + busybox `sleep`) and returns its sandbox id.
async fn start_pod(cri: &mut Cri, node: &TestNode, name: &str) -> String {
    let uid = format!("bench-{}-{name}", std::process::id());
    let container = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "sleep".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: "docker.io/library/busybox:test".into(),
            ..ImageSpec::default()
        }),
        command: vec!["/bin/sleep".into(), "3600".into()],
        log_path: "sleep/0.log".into(),
        ..ContainerConfig::default()
    };
    let sandbox = node.sandbox_config(name, "bench", &uid);
    testenv::run_pod(cri, sandbox, container)
        .await
        .expect("the pod starts")
        .0
}

async fn remove_pod(cri: &mut Cri, sandbox: &str) {
    cri.runtime
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: sandbox.to_string(),
        })
        .await
        .expect("StopPodSandbox");
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: sandbox.to_string(),
        })
        .await
        .expect("RemovePodSandbox");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The value at quantile `q` of sorted durations (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(label: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "{label:<44} n={:<3} p50 {:>7.1} ms  p99 {:>7.1} ms  min {:>7.1} ms  max {:>7.1} ms",
        d.len(),
        ms(quantile(&d, 0.5)),
        ms(quantile(&d, 0.99)),
        ms(d[0]),
        ms(d[d.len() - 1]),
    );
}

/// Resident memory of a process in KiB (VmRSS).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Total RSS of the shims of this containerd (children of init carrying its socket).
fn shim_rss_kib(socket: &str) -> (usize, u64) {
    let mut count = 0;
    let mut total = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline);
        if text.starts_with("/usr/bin/containerd-shim-runc-v2") && text.contains(socket) {
            count += 1;
            total += rss_kib(pid);
        }
    }
    (count, total)
}

#[tokio::main]
async fn main() {
    let singles = env_count("BERTH_BENCH_SINGLE", 20);
    let burst = env_count("BERTH_BENCH_BURST", 50);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "CRI pod start on a private containerd; load average at start: {}",
        load.trim()
    );

    let started = Instant::now();
    let node = TestNode::start().await.expect("test node starts");
    println!(
        "{:<44} {:.0} ms (containerd ready + pause and busybox imported)",
        "test node start",
        ms(started.elapsed())
    );
    let mut cri = node.cri().await.expect("CRI connects");
    let socket = node.config().socket.display().to_string();
    let pid = node.containerd_pid();

    // Warm-up: the first pod pays for first use of the images and the bridge.
    let warm = start_pod(&mut cri, &node, "warmup").await;
    remove_pod(&mut cri, &warm).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(pid);

    let mut one = Vec::new();
    let mut teardown = Vec::new();
    for i in 0..singles {
        let t = Instant::now();
        let sandbox = start_pod(&mut cri, &node, &format!("single-{i}")).await;
        one.push(t.elapsed());
        let t = Instant::now();
        remove_pod(&mut cri, &sandbox).await;
        teardown.push(t.elapsed());
    }
    summary("one pod: RunPodSandbox -> StartContainer", one);
    summary("one pod: StopPodSandbox + RemovePodSandbox", teardown);

    let t0 = Instant::now();
    let tasks: Vec<_> = (0..burst)
        .map(|i| {
            let mut cri = cri.clone();
            let node_ref = &node;
            let name = format!("burst-{i}");
            async move {
                let sandbox = start_pod(&mut cri, node_ref, &name).await;
                (sandbox, t0.elapsed())
            }
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    let burst_total = t0.elapsed();
    let latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    summary(
        &format!("{burst}-pod burst: burst start -> pod started"),
        latencies,
    );
    println!(
        "{:<44} {:.0} ms",
        format!("{burst}-pod burst: total"),
        ms(burst_total)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let busy_rss = rss_kib(pid);
    let (shims, shim_rss) = shim_rss_kib(&socket);

    let t = Instant::now();
    let tasks: Vec<_> = results
        .iter()
        .map(|(sandbox, _)| {
            let mut cri = cri.clone();
            let sandbox = sandbox.clone();
            async move {
                let t = Instant::now();
                remove_pod(&mut cri, &sandbox).await;
                t.elapsed()
            }
        })
        .collect();
    let per_pod = futures::future::join_all(tasks).await;
    let teardown_total = t.elapsed();
    summary(
        &format!("{burst}-pod teardown, concurrent: per pod"),
        per_pod,
    );
    println!(
        "{:<44} {:.0} ms",
        format!("{burst}-pod teardown: total"),
        ms(teardown_total)
    );

    println!(
        "{:<44} {:.1} MB",
        "containerd RSS idle (images imported)",
        idle_rss as f64 / 1024.0
    );
    println!(
        "{:<44} {:.1} MB",
        format!("containerd RSS with {burst} pods"),
        busy_rss as f64 / 1024.0
    );
    println!(
        "{:<44} {} shims, {:.1} MB total, {:.1} MB each",
        format!("shims with {burst} pods"),
        shims,
        shim_rss as f64 / 1024.0,
        shim_rss as f64 / 1024.0 / shims.max(1) as f64
    );
    drop(cri);
    let problems = node.shutdown().await;
    assert!(problems.is_empty(), "cleanup problems: {problems:?}");
}
