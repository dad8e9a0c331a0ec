//! Measures a Deployment's life on fake nodes: the time from creating a Deployment of N
//! replicas until every pod exists, is bound, reports Ready, and until the Deployment reports
//! all N available; then the time a rolling update (maxSurge 25 %, maxUnavailable 25 %) of it
//! takes; then (unless the third argument is 0) it scales the Deployment to a larger count and
//! reports the controller manager's resident memory with that many pods.
//!
//! ```sh
//! scripts/bench-rollout 1000 50 10000
//! ```
//!
//! which builds the release binaries and runs this example (in release too) with:
//!
//! ```sh
//! BERTH_APISERVER_BIN=target/release/berth-apiserver \
//! BERTH_CONTROLLER_MANAGER_BIN=target/release/berth-controller-manager \
//! BERTH_SCHEDULER_BIN=target/release/berth-scheduler \
//!   target/release/examples/bench-rollout 1000 50 10000
//! ```
//!
//! Arguments: replicas (default 1000), fake nodes (default 50, room for 250 pods each) and the
//! replicas of the memory phase (default 10000; 0 skips it). The fake nodes run in this process
//! and write every pod's status through the API; everything else runs in its own process as in
//! a cluster. After the memory phase the controller manager idles for IDLE seconds (fourth
//! argument, default 60; 0 skips) and its memory is read again, which shows what the
//! allocator keeps from the scale-up; then a second, fresh controller manager is started
//! against the same cluster and its memory is read once it has listed everything (after
//! IDLE seconds as well), which shows what the state itself costs. Each phase also reports the CPU seconds each process spent in it, and the load
//! average is printed before and after, because other work on the machine skews the figures.

use anyhow::{ensure, Context, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::Cluster;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The status field of `/proc/<pid>/status` named `key`, in KiB.
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The processes whose CPU time each phase reports.
struct Processes(Vec<(&'static str, u32)>);

impl Processes {
    fn sample(&self) -> Vec<f64> {
        self.0
            .iter()
            .map(|(_, pid)| berth_conformance::process_cpu_seconds(*pid))
            .collect()
    }

    fn report(&self, phase: &str, before: &[f64]) {
        let after = self.sample();
        let parts: Vec<String> = self
            .0
            .iter()
            .zip(after.iter().zip(before))
            .map(|((name, _), (a, b))| format!("{name}={:.2}", a - b))
            .collect();
        println!("cpu_s[{phase}]: {}", parts.join(" "));
    }
}

/// Polls `done` every `every` until it holds; returns how long that took.
async fn wait_for<F, Fut>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut done: F,
) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        if done().await? {
            return Ok(start.elapsed());
        }
        ensure!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(every).await;
    }
}

/// What the watch of the benchmark's pods saw: the names that exist, are bound and are Ready,
/// and when each count first reached the target.
#[derive(Default)]
struct Progress {
    target: usize,
    start: Option<Instant>,
    created: HashSet<String>,
    bound: HashSet<String>,
    ready: HashSet<String>,
    all_created: Option<Duration>,
    all_bound: Option<Duration>,
    all_ready: Option<Duration>,
}

impl Progress {
    fn see(&mut self, pod: &Pod) {
        let Some(name) = pod.metadata.name.clone() else {
            return;
        };
        let Some(start) = self.start else {
            return;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        self.created.insert(name.clone());
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_ref())
            .is_some()
        {
            self.bound.insert(name.clone());
        }
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            self.ready.insert(name);
        }
        let t = self.target;
        if self.all_created.is_none() && self.created.len() >= t {
            self.all_created = Some(start.elapsed());
        }
        if self.all_bound.is_none() && self.bound.len() >= t {
            self.all_bound = Some(start.elapsed());
        }
        if self.all_ready.is_none() && self.ready.len() >= t {
            self.all_ready = Some(start.elapsed());
        }
    }
}

/// Watches the benchmark's pods from `version` on, feeding `progress`.
async fn track(pods: Api<Pod>, version: String, progress: Arc<Mutex<Progress>>) {
    let wp = WatchParams::default().labels("app=bench").timeout(290);
    let mut version = version;
    loop {
        let Ok(stream) = pods.watch(&wp, &version).await else {
            return;
        };
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Added(p) | WatchEvent::Modified(p)) => {
                    if let Some(v) = p.metadata.resource_version.clone() {
                        version = v;
                    }
                    progress
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .see(&p);
                }
                Ok(WatchEvent::Deleted(p)) => {
                    if let Some(v) = p.metadata.resource_version.clone() {
                        version = v;
                    }
                }
                Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                Ok(WatchEvent::Error(_)) | Err(_) => return,
            }
        }
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.2}", d.as_secs_f64()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let replicas: i32 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let node_count: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let large: i32 = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let idle: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    if std::env::var_os("RUST_LOG").is_none() {
        // Per-request debug logging of the server would be measured too.
        std::env::set_var("RUST_LOG", "warn");
    }
    println!("loadavg_start={}", berth_conformance::load_average());
    let cluster = Cluster::start()?;
    let cm = cluster
        .start_controller_manager(&["--leader-elect=false", "--concurrent-replicaset-syncs=5"])?;
    let scheduler = cluster.start_scheduler(&[])?;
    let procs = Processes(vec![
        ("apiserver", cluster.server_pid()),
        ("controller_manager", cm.id()),
        ("scheduler", scheduler.id()),
        ("bench_and_fake_nodes", std::process::id()),
    ]);
    let client = cluster.client().await?;
    let specs: Vec<NodeSpec> = (0..node_count)
        .map(|i| {
            let mut spec = NodeSpec::new(&format!("bench-{i}")).cpu("64");
            spec.memory = "512Gi".into();
            spec.pods = 250;
            spec
        })
        .collect();
    let _nodes = FakeNodes::start(client.clone(), &specs).await?;
    // Let the scheduler and controllers see the nodes and settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "controller_manager_rss_kib_before={} (anon {})",
        status_kib(cm.id(), "VmRSS:"),
        status_kib(cm.id(), "RssAnon:")
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bench"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "bench"}},
            "template": {"metadata": {"labels": {"app": "bench"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}},
        },
    }))?;
    let limit = Duration::from_secs(600);
    let n = usize::try_from(replicas)?;
    let version = pods
        .list(&ListParams::default().labels("app=bench").limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let progress = Arc::new(Mutex::new(Progress {
        target: n,
        ..Progress::default()
    }));
    let tracker = tokio::spawn(track(pods.clone(), version, progress.clone()));
    let cpu = procs.sample();
    let start = Instant::now();
    progress
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .start = Some(start);
    deployments.create(&PostParams::default(), &d).await?;
    wait_for(
        "all replicas available",
        limit,
        Duration::from_millis(50),
        || async {
            let s = deployments.get("bench").await?.status.unwrap_or_default();
            Ok(s.available_replicas == Some(replicas) && s.updated_replicas == Some(replicas))
        },
    )
    .await?;
    let available = start.elapsed();
    tracker.abort();
    let (created, bound, ready) = {
        let p = progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (p.all_created, p.all_bound, p.all_ready)
    };
    println!("replicas={replicas} nodes={node_count}");
    println!("create_to_all_created_s={}", secs(created));
    println!("create_to_all_bound_s={}", secs(bound));
    println!("create_to_all_ready_s={}", secs(ready));
    println!("create_to_all_available_s={:.2}", available.as_secs_f64());
    procs.report("create", &cpu);

    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}});
    let cpu = procs.sample();
    let update_start = Instant::now();
    deployments
        .patch("bench", &PatchParams::default(), &Patch::Strategic(&patch))
        .await?;
    let generation = deployments
        .get("bench")
        .await?
        .metadata
        .generation
        .context("no generation")?;
    wait_for(
        "the rolling update",
        limit,
        Duration::from_millis(50),
        || async {
            let d = deployments.get("bench").await?;
            let s = d.status.unwrap_or_default();
            Ok(s.observed_generation >= Some(generation)
                && s.updated_replicas == Some(replicas)
                && s.replicas == Some(replicas)
                && s.available_replicas == Some(replicas))
        },
    )
    .await?;
    println!(
        "rolling_update_s={:.2}",
        update_start.elapsed().as_secs_f64()
    );
    procs.report("rolling update", &cpu);
    println!(
        "controller_manager_rss_kib={} (peak {})",
        status_kib(cm.id(), "VmRSS:"),
        status_kib(cm.id(), "VmHWM:")
    );
    println!("scheduler_rss_kib={}", status_kib(scheduler.id(), "VmRSS:"));

    if large > 0 {
        let cpu = procs.sample();
        let scale_start = Instant::now();
        deployments
            .patch(
                "bench",
                &PatchParams::default(),
                &Patch::Merge(&serde_json::json!({"spec": {"replicas": large}})),
            )
            .await?;
        wait_for(
            "the scale-up",
            limit,
            Duration::from_millis(500),
            || async {
                let s = deployments.get("bench").await?.status.unwrap_or_default();
                Ok(s.available_replicas == Some(large) && s.replicas == Some(large))
            },
        )
        .await?;
        println!(
            "scale_to_{large}_available_s={:.2}",
            scale_start.elapsed().as_secs_f64()
        );
        procs.report("scale-up", &cpu);
        // Let the controllers settle before reading their memory.
        tokio::time::sleep(Duration::from_secs(3)).await;
        println!(
            "controller_manager_rss_kib_with_{large}_pods={} (peak {})",
            status_kib(cm.id(), "VmRSS:"),
            status_kib(cm.id(), "VmHWM:")
        );
        println!(
            "scheduler_rss_kib_with_{large}_pods={}",
            status_kib(scheduler.id(), "VmRSS:")
        );
        if idle > 0 {
            tokio::time::sleep(Duration::from_secs(idle)).await;
            println!(
                "controller_manager_rss_kib_with_{large}_pods_after_{idle}s_idle={} (anon {})",
                status_kib(cm.id(), "VmRSS:"),
                status_kib(cm.id(), "RssAnon:")
            );
            // Converged: the second copy finds nothing to do, so its memory is the state's.
            let fresh = cluster.start_controller_manager(&["--leader-elect=false"])?;
            tokio::time::sleep(Duration::from_secs(idle)).await;
            println!(
                "fresh_controller_manager_rss_kib_with_{large}_pods={} (peak {}, anon {})",
                status_kib(fresh.id(), "VmRSS:"),
                status_kib(fresh.id(), "VmHWM:"),
                status_kib(fresh.id(), "RssAnon:")
            );
        }
    }
    println!("loadavg_end={}", berth_conformance::load_average());
    Ok(())
}
