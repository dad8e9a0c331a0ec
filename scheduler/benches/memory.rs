//! Where the scheduler's memory goes: resident memory (VmRSS, with mimalloc as the scheduler
//! binary uses) added per cached node, per pending pod as the queue holds it and per placed pod
//! as the cache holds it, for the node and pod shapes of the other scheduler benchmarks,
//! decoded from JSON the way the running scheduler decodes watch events (label sets shared).
//! Pods carry no labels (the benchmark shape), or with `labelled` the labels and owner of
//! ReplicaSet replicas. Nothing is freed before the last reading: the allocator returns freed
//! memory after a delay, which would make a later reading too low.
//!
//! Run: `cargo bench -p berth-scheduler --bench memory` (optionally `-- NODES PODS [labelled]`).

use berth_api_types::k8s::api::core::v1::Node;
use berth_conformance::bench_shapes;
use berth_scheduler::cache::Cache;
use berth_scheduler::pod_info::{LabelSets, PodInfo};
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
    serde_json::to_vec(&bench_shapes::node_with_status(i)).expect("node json")
}

fn pod_json(i: usize, node: Option<&str>, labelled: bool) -> Vec<u8> {
    let mut pod = bench_shapes::pod(i);
    pod["metadata"]["uid"] = json!(format!("10000000-0000-0000-0000-{i:012}"));
    pod["metadata"]["resourceVersion"] = json!("2");
    pod["spec"]["schedulerName"] = json!("default-scheduler");
    pod["status"] = json!({"phase": "Pending"});
    if let Some(node) = node {
        pod["spec"]["nodeName"] = json!(node);
    }
    if labelled {
        // As the replicas of one ReplicaSet carry them.
        pod["metadata"]["labels"] = json!({"app": "bench", "pod-template-hash": "5d8f7c9b4"});
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
            "kind": "ReplicaSet", "name": "bench-5d8f7c9b4",
            "uid": "20000000-0000-0000-0000-000000000000", "controller": true,
            "blockOwnerDeletion": true}]);
    }
    serde_json::to_vec(&pod).expect("pod json")
}

fn decode(doc: &[u8]) -> PodInfo {
    PodInfo::from_wire(serde_json::from_slice::<WirePod>(doc).expect("pod"))
}

/// What a measurement keeps alive until the end, so that later ones do not reuse its memory.
type Kept = (Cache, Vec<Arc<PodInfo>>, LabelSets);

/// Resident bytes per pod for the pending and the placed forms of `pods` pods.
fn pods_cost(nodes: usize, pods: usize, labelled: bool) -> (f64, f64, Kept) {
    let pending_docs: Vec<Vec<u8>> = (0..pods).map(|i| pod_json(i, None, labelled)).collect();
    let bound_docs: Vec<Vec<u8>> = (0..pods)
        .map(|i| pod_json(i, Some(&format!("node-{}", i % nodes)), labelled))
        .collect();
    let mut cache = Cache::new();
    for i in 0..nodes {
        let wire: WireNode = serde_json::from_slice(&node_json(i)).expect("node");
        cache.upsert_node(Node::from(wire));
    }
    let mut sets = LabelSets::default();
    // Pending pods as the queue holds them.
    let before = rss_mib();
    let pending: Vec<Arc<PodInfo>> = pending_docs
        .iter()
        .map(|doc| {
            let mut info = decode(doc);
            info.share_labels(&mut sets);
            Arc::new(info)
        })
        .collect();
    let per_pending = per_item(before, pods);
    // Placed pods as the cache keeps them once the watch shows them bound.
    let before = rss_mib();
    for (i, doc) in bound_docs.iter().enumerate() {
        let mut info = decode(doc).into_placed();
        info.share_labels(&mut sets);
        cache.set_bound_pod(Arc::new(info), &format!("node-{}", i % nodes));
    }
    let per_placed = per_item(before, pods);
    assert_eq!(cache.pod_count(), pods);
    assert_eq!(pending.len(), pods);
    (per_pending, per_placed, (cache, pending, sets))
}

fn per_item(from_mib: f64, n: usize) -> f64 {
    (rss_mib() - from_mib) * 1048576.0 / n as f64
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(5000);
    let pods = args.get(1).copied().unwrap_or(10_000);
    let labelled = std::env::args().any(|a| a == "labelled");
    let node_docs: Vec<Vec<u8>> = (0..nodes).map(node_json).collect();
    let start = rss_mib();
    let mut cache = Cache::new();
    for doc in &node_docs {
        let wire: WireNode = serde_json::from_slice(doc).expect("node");
        cache.upsert_node(Node::from(wire));
    }
    let per_node = per_item(start, nodes);
    let (pending, placed, kept) = pods_cost(nodes, pods, labelled);
    println!(
        "nodes={nodes} pods={pods} replica_labels={labelled} rss_bytes_per_node={per_node:.0} \
rss_bytes_per_pending_pod={pending:.0} rss_bytes_per_placed_pod={placed:.0} rss_mib={:.1}",
        rss_mib()
    );
    assert_eq!(cache.nodes().len(), nodes);
    drop((kept, node_docs));
}
