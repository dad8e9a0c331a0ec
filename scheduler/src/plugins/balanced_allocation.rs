//! BalancedAllocation: prefers nodes whose CPU and memory would be used in similar
//! proportions after placing the pod, so neither runs out while the other idles.

use crate::framework::{CycleState, Plugin, ScorePlugin, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// The plugin's name.
pub const NAME: &str = "BalancedAllocation";

/// Scores `(1 - standard deviation of the used fractions) * 100`.
pub struct BalancedAllocation;

fn fraction(requested: i64, allocatable: i64) -> f64 {
    if allocatable <= 0 {
        return 1.0;
    }
    (requested as f64 / allocatable as f64).min(1.0)
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let cpu = fraction(
            node.requested.milli_cpu + pod.request.milli_cpu,
            node.allocatable.milli_cpu,
        );
        let mem = fraction(
            node.requested.memory + pod.request.memory,
            node.allocatable.memory,
        );
        // With two resources the standard deviation is half their difference.
        let std = (cpu - mem).abs() / 2.0;
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod_requesting};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn balanced_scores() {
        // Node: 4 CPU, 8Gi.
        let cases = [
            ("equal shares", json!({"cpu": "1", "memory": "2Gi"}), 100),
            ("cpu only, a quarter", json!({"cpu": "1"}), 87),
            ("memory only, all of it", json!({"memory": "8Gi"}), 50),
            ("beyond capacity is capped", json!({"cpu": "8"}), 50),
            ("nothing requested", json!({}), 100),
        ];
        let n = node("n", json!({}));
        for (name, req, want) in cases {
            assert_eq!(
                BalancedAllocation.score(&CycleState::default(), &pod_requesting("p", req), &n),
                want,
                "{name}"
            );
        }
        let mut used = node("m", json!({}));
        used.add_pod(Arc::new(pod_requesting("old", json!({"cpu": "2"}))));
        // cpu 3/4, memory 2/8: std 0.25.
        let p = pod_requesting("p", json!({"cpu": "1", "memory": "2Gi"}));
        assert_eq!(
            BalancedAllocation.score(&CycleState::default(), &p, &used),
            75
        );
    }
}
