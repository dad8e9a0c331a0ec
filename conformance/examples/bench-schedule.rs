//! Measures the scheduler end to end through the API server: N pending pods are created on a
//! cluster of M nodes before `berth-scheduler` starts, then the time from starting the
//! scheduler until every pod is bound is taken from a watch of the pods, and the scheduler's
//! resident memory is read once it holds every node and every bound pod, and again a minute
//! after the last binding (what the allocator gives back).
//!
//! ```sh
//! cargo build --release -p berth-apiserver -p berth-scheduler
//! BERTH_APISERVER_BIN=target/release/berth-apiserver \
//! BERTH_SCHEDULER_BIN=target/release/berth-scheduler \
//!   cargo run --release -p berth-conformance --example bench-schedule -- 5000 10000
//! ```
//!
//! Arguments: nodes (default 5 000) and pods (default 10 000); `BERTH_BENCH_QUICK=1` makes the
//! defaults 500 and 1 000. Nodes have 32 CPUs, 128Gi and room for 110 pods, every tenth is
//! tainted `NoSchedule` and they are spread over three zones; pods ask for 100m CPU and 256Mi
//! and prefer one zone. The Node objects are plain API objects (no fake kubelet looks after
//! them), so nothing but the scheduler writes to the pods while it is measured. Nodes and pods
//! are created by 32 concurrent requests on one connection.

use anyhow::{bail, ensure, Context, Result};
use berth_conformance::{bench_shapes, Cluster};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Concurrent requests while filling the cluster.
const CONCURRENCY: usize = 32;
/// The longest the scheduler may take to bind every pod before the run fails.
const LIMIT: Duration = Duration::from_secs(600);

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn node_object(i: usize) -> Result<Node> {
    Ok(serde_json::from_value(bench_shapes::node(i))?)
}

fn pod_object(i: usize) -> Result<Pod> {
    Ok(serde_json::from_value(bench_shapes::pod(i))?)
}

/// Runs `make(i)` for `0..n` with [`CONCURRENCY`] requests in flight; returns the rate.
async fn fill<F, Fut>(what: &str, n: usize, make: F) -> Result<f64>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let start = Instant::now();
    futures::stream::iter((0..n).map(make))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .with_context(|| format!("creating {what}"))?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Watches the pods of `api` from `version` until `n` distinct pods have a node; returns the
/// times (since `start`) of the first and the last binding seen.
async fn watch_bound(
    api: &Api<Pod>,
    mut version: String,
    n: usize,
    start: Instant,
) -> Result<(Duration, Duration)> {
    let mut bound = HashSet::with_capacity(n);
    let mut first = None;
    loop {
        ensure!(
            start.elapsed() < LIMIT,
            "only {} of {n} pods bound within {LIMIT:?}",
            bound.len()
        );
        // Bookmarks are asked for by default.
        let params =
            WatchParams::default().timeout(u32::try_from(LIMIT.as_secs()).unwrap_or(u32::MAX));
        let mut stream = api.watch(&params, &version).await?.boxed();
        while let Some(event) = stream.try_next().await? {
            let pod = match event {
                WatchEvent::Added(p) | WatchEvent::Modified(p) => p,
                WatchEvent::Deleted(p) => bail!("pod {:?} was deleted", p.metadata.name),
                WatchEvent::Bookmark(b) => {
                    version = b.metadata.resource_version;
                    continue;
                }
                WatchEvent::Error(e) if e.code == 410 => {
                    // The server no longer has the events since `version`: count from a
                    // fresh list and watch on from there.
                    let list = api.list(&ListParams::default()).await?;
                    for p in list.items {
                        if p.spec
                            .as_ref()
                            .and_then(|s| s.node_name.as_deref())
                            .is_some_and(|n| !n.is_empty())
                        {
                            bound.insert(p.metadata.name.unwrap_or_default());
                        }
                    }
                    first.get_or_insert_with(|| start.elapsed());
                    if bound.len() == n {
                        return Ok((first.unwrap_or_default(), start.elapsed()));
                    }
                    version = list.metadata.resource_version.unwrap_or_default();
                    break;
                }
                WatchEvent::Error(e) => bail!("the watch failed: {}", e.message),
            };
            if let Some(v) = &pod.metadata.resource_version {
                version.clone_from(v);
            }
            let on_node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_some_and(|n| !n.is_empty());
            if on_node && bound.insert(pod.metadata.name.unwrap_or_default()) {
                first.get_or_insert_with(|| start.elapsed());
                if bound.len() == n {
                    return Ok((first.unwrap_or_default(), start.elapsed()));
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let quick = std::env::var_os("BERTH_BENCH_QUICK").is_some_and(|v| v != "0");
    let mut args = std::env::args().skip(1);
    let node_count: usize = args
        .next()
        .map_or(Ok(if quick { 500 } else { 5000 }), |a| a.parse())?;
    let pod_count: usize = args
        .next()
        .map_or(Ok(if quick { 1000 } else { 10_000 }), |a| a.parse())?;
    if std::env::var_os("RUST_LOG").is_none() {
        // Per-request logging of the server and per-pod logging of the scheduler would be
        // measured too.
        std::env::set_var("RUST_LOG", "warn");
    }
    println!("load average before: {}", berth_conformance::load_average());
    let cluster = Cluster::start()?;
    let client = cluster.client().await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "bench"}}))?,
        )
        .await?;

    let nodes: Api<Node> = Api::all(client.clone());
    let status = bench_shapes::node_status();
    let nodes_per_s = fill("nodes", node_count, |i| {
        let nodes = nodes.clone();
        let status = status.clone();
        async move {
            let node = node_object(i)?;
            let name = node.metadata.name.clone().unwrap_or_default();
            nodes.create(&PostParams::default(), &node).await?;
            nodes
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await?;
            Ok(())
        }
    })
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench");
    let pods_per_s = fill("pods", pod_count, |i| {
        let pods = pods.clone();
        async move {
            pods.create(&PostParams::default(), &pod_object(i)?).await?;
            Ok(())
        }
    })
    .await?;
    // Watch from here on: every binding comes after this version.
    let version = pods
        .list_metadata(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .context("a list without a resourceVersion")?;

    let start = Instant::now();
    let scheduler = cluster.start_scheduler(&[])?;
    let (first, last) = watch_bound(&pods, version, pod_count, start).await?;
    let scheduler_cpu = berth_conformance::process_cpu_seconds(scheduler.id());
    let load_during = berth_conformance::load_average();
    // Let the scheduler apply the watch events of the last bindings before its memory is read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = status_kib(scheduler.id(), "VmRSS:");
    let hwm = status_kib(scheduler.id(), "VmHWM:");
    let listed = pods
        .list_metadata(&ListParams::default())
        .await?
        .items
        .len();
    ensure!(
        listed == pod_count,
        "{listed} pods listed, {pod_count} created"
    );
    // The scheduler posts a `Scheduled` event per binding from a bounded background queue,
    // dropping events when that queue is full: count them until the count stops growing.
    let events: Api<Event> = Api::namespaced(client.clone(), "bench");
    let events_start = Instant::now();
    let mut scheduled_events = 0;
    loop {
        let n = events
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Scheduled"))
            .count();
        if n == scheduled_events || n >= pod_count || events_start.elapsed() > LIMIT {
            scheduled_events = n;
            break;
        }
        scheduled_events = n;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let events_settled = start.elapsed();
    // What the allocator keeps a minute after the burst, against the reading right after it.
    let later = (start + last + Duration::from_secs(60)).saturating_duration_since(Instant::now());
    tokio::time::sleep(later).await;
    let rss_later = status_kib(scheduler.id(), "VmRSS:");

    println!("nodes={node_count} pods={pod_count}");
    println!("node_registrations_per_s={nodes_per_s:.0}");
    println!("pod_creates_per_s={pods_per_s:.0}");
    println!(
        "scheduler_start_to_first_bound_s={:.2}",
        first.as_secs_f64()
    );
    println!("scheduler_start_to_all_bound_s={:.2}", last.as_secs_f64());
    println!(
        "pods_per_s_end_to_end={:.0}",
        pod_count as f64 / last.as_secs_f64()
    );
    println!(
        "pods_per_s_first_to_last_bound={:.0}",
        pod_count as f64 / (last - first).as_secs_f64().max(1e-3)
    );
    println!("scheduled_events={scheduled_events}");
    println!(
        "scheduler_start_to_events_settled_s={:.2}",
        events_settled.as_secs_f64()
    );
    println!("scheduler_cpu_s={scheduler_cpu:.2}");
    println!("scheduler_vmrss_mib={:.1}", rss as f64 / 1024.0);
    println!("scheduler_vmhwm_mib={:.1}", hwm as f64 / 1024.0);
    println!(
        "scheduler_vmrss_60s_after_last_binding_mib={:.1}",
        rss_later as f64 / 1024.0
    );
    println!("load average at the last binding: {load_during}");
    println!("load average after: {}", berth_conformance::load_average());
    Ok(())
}
