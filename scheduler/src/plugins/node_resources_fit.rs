//! NodeResourcesFit: a pod fits only where its requests fit into what is left of the node's
//! allocatable resources and a pod slot is free; among fitting nodes, the least allocated
//! (CPU and memory, equally weighted) score highest.

use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};

/// The plugin's name.
pub const NAME: &str = "NodeResourcesFit";

/// Checks requests against free allocatable resources; scores least-allocated.
pub struct NodeResourcesFit;

/// The reasons `pod` does not fit on `node`, one per short resource (pods first).
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    let alloc = &node.allocatable;
    let used = &node.requested;
    let req = &pod.request;
    if node.pods.len() as i64 + 1 > alloc.allowed_pods {
        reasons.push("Too many pods".to_owned());
    }
    if req.is_zero() {
        return reasons;
    }
    if req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu {
        reasons.push("Insufficient cpu".to_owned());
    }
    if req.memory > 0 && req.memory > alloc.memory - used.memory {
        reasons.push("Insufficient memory".to_owned());
    }
    if req.ephemeral_storage > 0
        && req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage
    {
        reasons.push("Insufficient ephemeral-storage".to_owned());
    }
    for (name, want) in &req.scalar {
        if *want == 0 {
            continue;
        }
        let free = alloc.scalar.get(name).copied().unwrap_or(0)
            - used.scalar.get(name).copied().unwrap_or(0);
        if *want > free {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::new(Code::Unschedulable, reasons)
        }
    }
}

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let cpu = least_requested(
            node.non_zero_requested.milli_cpu + pod.non_zero_request.milli_cpu,
            node.allocatable.milli_cpu,
        );
        let mem = least_requested(
            node.non_zero_requested.memory + pod.non_zero_request.memory,
            node.allocatable.memory,
        );
        (cpu + mem) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod_requesting};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn filter_names_every_short_resource() {
        let mut busy = node(
            "n",
            json!({"status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "2",
                "ephemeral-storage": "10Gi", "example.com/gpu": "1"}}}),
        );
        busy.add_pod(Arc::new(pod_requesting(
            "old",
            json!({"cpu": "1500m", "memory": "1Gi"}),
        )));
        let cases: Vec<(&str, serde_json::Value, Vec<&str>)> = vec![
            ("fits", json!({"cpu": "500m", "memory": "3Gi"}), vec![]),
            (
                "cpu short",
                json!({"cpu": "501m"}),
                vec!["Insufficient cpu"],
            ),
            (
                "memory short",
                json!({"memory": "3073Mi"}),
                vec!["Insufficient memory"],
            ),
            (
                "both short",
                json!({"cpu": "1", "memory": "4Gi"}),
                vec!["Insufficient cpu", "Insufficient memory"],
            ),
            (
                "storage short",
                json!({"ephemeral-storage": "11Gi"}),
                vec!["Insufficient ephemeral-storage"],
            ),
            ("extended fits", json!({"example.com/gpu": "1"}), vec![]),
            (
                "extended short",
                json!({"example.com/gpu": "2"}),
                vec!["Insufficient example.com/gpu"],
            ),
            (
                "unknown extended",
                json!({"example.com/fpga": "1"}),
                vec!["Insufficient example.com/fpga"],
            ),
            ("no requests", json!({}), vec![]),
        ];
        for (name, req, want) in cases {
            let s =
                NodeResourcesFit.filter(&CycleState::default(), &pod_requesting("p", req), &busy);
            assert_eq!(s.reasons, want, "{name}");
            let code = if want.is_empty() {
                Code::Success
            } else {
                Code::Unschedulable
            };
            assert_eq!(s.code, code, "{name}");
        }
        busy.add_pod(Arc::new(pod_requesting("old2", json!({}))));
        let s = NodeResourcesFit.filter(
            &CycleState::default(),
            &pod_requesting("p", json!({"cpu": "1"})),
            &busy,
        );
        assert_eq!(s.reasons, vec!["Too many pods", "Insufficient cpu"]);
        let s = NodeResourcesFit.filter(
            &CycleState::default(),
            &pod_requesting("p", json!({})),
            &busy,
        );
        assert_eq!(s.reasons, vec!["Too many pods"]);
    }

    #[test]
    fn least_allocated_score() {
        // 4 CPU, 8Gi; the pod asks 1 CPU and 2Gi: (75 + 75) / 2.
        let empty = node("a", json!({}));
        let p = pod_requesting("p", json!({"cpu": "1", "memory": "2Gi"}));
        assert_eq!(
            NodeResourcesFit.score(&CycleState::default(), &p, &empty),
            75
        );
        // Half used already: cpu (4-3)/4 = 25, memory (8-6)/8 = 25.
        let mut half = node("b", json!({}));
        half.add_pod(Arc::new(pod_requesting(
            "old",
            json!({"cpu": "2", "memory": "4Gi"}),
        )));
        assert_eq!(
            NodeResourcesFit.score(&CycleState::default(), &p, &half),
            25
        );
        // A request-less pod counts as 100m and 200Mi.
        let bare = pod_requesting("q", json!({}));
        let cpu = (4000 - 100) * 100 / 4000;
        let mem = (8i64 * 1024 - 200) * 100 / (8 * 1024);
        assert_eq!(
            NodeResourcesFit.score(&CycleState::default(), &bare, &empty),
            (cpu + mem) / 2
        );
        // Over capacity scores zero for that resource.
        let big = pod_requesting("r", json!({"cpu": "8", "memory": "2Gi"}));
        assert_eq!(
            NodeResourcesFit.score(&CycleState::default(), &big, &empty),
            75 / 2
        );
    }
}
