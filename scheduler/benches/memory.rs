//! Where the scheduler's memory goes: resident memory (VmRSS, with mimalloc as the scheduler
//! binary uses) added per cached node, per pending pod as the queue holds it and per placed pod
//! as the cache holds it, for the node and pod shapes of the other scheduler benchmarks,
//! decoded from JSON the way the running scheduler decodes watch events. The inputs stay
//! allocated until the end, so freed memory is not reused by the next stage and each figure
//! counts only what that stage keeps.
//!
//! Run: `cargo bench -p berth-scheduler --bench memory` (optionally `-- NODES PODS`).

use berth_api_types::k8s::api::core::v1::{Node, Pod};
use berth_scheduler::cache::Cache;
use berth_scheduler::pod_info::PodInfo;
use berth_scheduler::wire::{WireNode, WirePod};
use serde_json::json;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn node_json(i: usize) -> Vec<u8> {
    let name = format!("node-{i}");
    let resources = json!({"cpu": "32", "memory": "128Gi", "pods": "110",
        "ephemeral-storage": "100Gi"});
    serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
        "spec": if i.is_multiple_of(10) {
            json!({"taints": [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]})
        } else { json!({}) },
        "status": {"capacity": resources, "allocatable": resources, "conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "kubelet is posting ready status"}]}
    }))
    .expect("node json")
}

fn pod_json(i: usize, node: Option<&str>) -> Vec<u8> {
    let mut spec = json!({
        "containers": [{"name": "c", "image": "registry.invalid/app",
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}}],
        "schedulerName": "default-scheduler", "priority": 0,
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In",
                 "values": [format!("zone-{}", i % 3)]}]}}]}}
    });
    if let Some(node) = node {
        spec["nodeName"] = json!(node);
    }
    serde_json::to_vec(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i}"), "namespace": "bench",
            "uid": format!("10000000-0000-0000-0000-{i:012}"), "resourceVersion": "2",
            "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": spec,
        "status": {"phase": "Pending"}
    }))
    .expect("pod json")
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(5000);
    let pods = args.get(1).copied().unwrap_or(10_000);
    let node_docs: Vec<Vec<u8>> = (0..nodes).map(node_json).collect();
    let pending_docs: Vec<Vec<u8>> = (0..pods).map(|i| pod_json(i, None)).collect();
    let bound_docs: Vec<Vec<u8>> = (0..pods)
        .map(|i| pod_json(i, Some(&format!("node-{}", i % nodes))))
        .collect();
    let mib = |from: f64, n: usize| (rss_mib() - from) * 1048576.0 / n as f64;

    let start = rss_mib();
    let mut cache = Cache::new();
    for doc in &node_docs {
        let wire: WireNode = serde_json::from_slice(doc).expect("node");
        cache.upsert_node(Node::from(wire));
    }
    let per_node = mib(start, nodes);

    // Pending pods as the queue holds them.
    let before = rss_mib();
    let pending: Vec<Arc<Pod>> = pending_docs
        .iter()
        .map(|doc| {
            let wire: WirePod = serde_json::from_slice(doc).expect("pod");
            Arc::new(Pod::from(wire))
        })
        .collect();
    let per_pending = mib(before, pods);

    // Placed pods as the cache keeps them once the watch shows them bound.
    let before = rss_mib();
    for doc in &bound_docs {
        let wire: WirePod = serde_json::from_slice(doc).expect("pod");
        let pod = Pod::from(wire);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .expect("bound");
        cache.set_bound_pod(Arc::new(PodInfo::placed(pod)), &node);
    }
    let per_placed = mib(before, pods);
    println!(
        "nodes={nodes} pods={pods} rss_bytes_per_node={per_node:.0} \
rss_bytes_per_pending_pod={per_pending:.0} rss_bytes_per_placed_pod={per_placed:.0} \
rss_mib={:.1}",
        rss_mib()
    );
    assert_eq!(cache.pod_count(), pods);
    assert_eq!(pending.len(), pods);
}
