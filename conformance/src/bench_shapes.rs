//! The node and pod shapes of the scheduler benchmarks (`bench-schedule` through the API
//! server, and the scheduler's in-process `algorithm` and `memory` benchmarks), built in one
//! place so every benchmark measures the same cluster.
//!
//! Nodes have 32 CPUs, 128Gi of memory, 100Gi of ephemeral storage and room for 110 pods;
//! every tenth is tainted `dedicated=infra:NoSchedule`; they are spread over three zones. Pods
//! ask for 100m CPU and 256Mi and prefer (weight 10) the zone `i % 3`.

use serde_json::{json, Value};

/// Node `i` without its status (as it is created; [`node_status`] is written separately).
pub fn node(i: usize) -> Value {
    let name = format!("node-{i}");
    let taints = if i.is_multiple_of(10) {
        json!([{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
    } else {
        Value::Null
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
        "spec": {"taints": taints},
    })
}

/// Every node's status, as `{"status": ...}` (a merge patch of the status subresource).
pub fn node_status() -> Value {
    let resources = json!({"cpu": "32", "memory": "128Gi", "pods": "110",
        "ephemeral-storage": "100Gi"});
    json!({"status": {"capacity": resources, "allocatable": resources, "conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady",
         "message": "kubelet is posting ready status"}]}})
}

/// Node `i` with its status, as a list or watch returns it.
pub fn node_with_status(i: usize) -> Value {
    let mut n = node(i);
    n["status"] = node_status()["status"].take();
    n
}

/// Pending pod `i` in namespace `bench`.
pub fn pod(i: usize) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i}"), "namespace": "bench"},
        "spec": {
            "containers": [{"name": "c", "image": "registry.invalid/app",
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}}],
            "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [
                    {"key": "topology.kubernetes.io/zone", "operator": "In",
                     "values": [format!("zone-{}", i % 3)]}]}}]}},
        },
    })
}
