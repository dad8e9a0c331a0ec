//! Measures a Deployment's life on fake nodes: the time from creating a Deployment of N
//! replicas until every pod is bound and until all N are available, then the time a rolling
//! update (maxSurge 25 %, maxUnavailable 25 %) of it takes, and the resident memory of the
//! controller manager and the scheduler afterwards.
//!
//! ```sh
//! cargo build --release -p berth-apiserver -p berth-controller-manager -p berth-scheduler
//! BERTH_APISERVER_BIN=target/release/berth-apiserver \
//! BERTH_CONTROLLER_MANAGER_BIN=target/release/berth-controller-manager \
//! BERTH_SCHEDULER_BIN=target/release/berth-scheduler \
//!   cargo run -p berth-conformance --example bench-rollout -- 1000 100
//! ```
//!
//! Arguments: replicas (default 1000) and fake nodes (default 100). The fake nodes run in this
//! process; everything else runs in its own process as in a cluster.

use anyhow::{ensure, Context, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::Cluster;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
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

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let replicas: i32 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let node_count: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    if std::env::var_os("RUST_LOG").is_none() {
        // Per-request debug logging of the server would be measured too.
        std::env::set_var("RUST_LOG", "warn");
    }
    let cluster = Cluster::start()?;
    let cm = cluster
        .start_controller_manager(&["--leader-elect=false", "--concurrent-replicaset-syncs=5"])?;
    let scheduler = cluster.start_scheduler(&[])?;
    let client = cluster.client().await?;
    let specs: Vec<NodeSpec> = (0..node_count)
        .map(|i| NodeSpec::new(&format!("bench-{i}")).cpu("64"))
        .collect();
    let _nodes = FakeNodes::start(client.clone(), &specs).await?;
    // Let the scheduler and controllers see the nodes and settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

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
    let start = Instant::now();
    deployments.create(&PostParams::default(), &d).await?;
    let n = usize::try_from(replicas)?;
    // Listing every pod is itself load on the server: look four times a second.
    wait_for(
        "all pods bound",
        limit,
        Duration::from_millis(250),
        || async {
            let list = pods
                .list(&ListParams::default().labels("app=bench"))
                .await?;
            let bound = list
                .items
                .iter()
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
                .count();
            Ok(bound >= n)
        },
    )
    .await?;
    let bound = start.elapsed();
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
    println!("replicas={replicas} nodes={node_count}");
    println!("create_to_all_bound_s={:.2}", bound.as_secs_f64());
    println!("create_to_all_available_s={:.2}", available.as_secs_f64());
    println!(
        "pods_bound_per_s={:.0}",
        f64::from(replicas) / bound.as_secs_f64()
    );

    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}});
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
    println!("controller_manager_rss_kib={}", rss_kib(cm.id()));
    println!("scheduler_rss_kib={}", rss_kib(scheduler.id()));
    Ok(())
}
