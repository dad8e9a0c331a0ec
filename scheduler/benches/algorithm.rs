//! Scheduling throughput of the in-process algorithm: 10 000 pods placed one per cycle on
//! 5 000 nodes, each placement assumed in the cache before the next cycle, as the running
//! scheduler does. Prints pods/s (by the clock and per CPU second of the thread) and the
//! process's peak resident memory.
//!
//! Run: `cargo bench -p berth-scheduler --bench algorithm` (optionally `-- NODES PODS`).

use berth_api_types::k8s::api::core::v1::Node;
use berth_conformance::bench_shapes;
use berth_scheduler::algorithm::Algorithm;
use berth_scheduler::cache::Cache;
use berth_scheduler::plugins::default_profile;
use berth_scheduler::pod_info::PodInfo;
use std::sync::Arc;
use std::time::Instant;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of this (single-threaded) benchmark's thread so far, in seconds: on a busy
/// machine the wall-clock rate understates what the algorithm does per CPU second.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e9
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(5000);
    let pods = args.get(1).copied().unwrap_or(10_000);
    let mut cache = Cache::new();
    for i in 0..nodes {
        let node: Node = serde_json::from_value(bench_shapes::node_with_status(i)).expect("node");
        cache.upsert_node(node);
    }
    let nodes_rss_mib = status_kib("VmRSS:") as f64 / 1024.0;
    let pod_infos: Vec<Arc<PodInfo>> = (0..pods)
        .map(|i| {
            let pod = PodInfo::from_json(bench_shapes::pod(i)).expect("pod");
            Arc::new(pod)
        })
        .collect();
    let mut algo = Algorithm::new(default_profile("default-scheduler").expect("profile"), 42);
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut placed = 0;
    for pod in &pod_infos {
        if let Ok(node) = algo.schedule_in(pod, &cache.snapshot()) {
            // As the running scheduler does: the node keeps the pod without its wants.
            cache.assume(Arc::new(pod.placed()), &node);
            placed += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    println!(
        "nodes={nodes} pods={pods} placed={placed} seconds={secs:.3} pods_per_second={:.0} cpu_seconds={cpu:.3} pods_per_cpu_second={:.0} rss_with_nodes_mib={nodes_rss_mib:.1} peak_rss_mib={:.1}",
        pods as f64 / secs,
        pods as f64 / cpu.max(1e-9),
        peak_rss_kib() as f64 / 1024.0
    );
    assert_eq!(placed, pods, "every pod should fit in this cluster");
}
