//! The built-in plugins, one per file, and the table that names them.

pub mod balanced_allocation;
pub mod default_binder;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;

use crate::framework::{Factory, Plugin, Profile, ProfileError};

/// Every built-in plugin by the name configurations use.
pub const REGISTRY: &[(&str, Factory)] = &[
    (node_unschedulable::NAME, || {
        Box::new(node_unschedulable::NodeUnschedulable) as Box<dyn Plugin>
    }),
    (node_name::NAME, || Box::new(node_name::NodeName)),
    (taint_toleration::NAME, || {
        Box::new(taint_toleration::TaintToleration)
    }),
    (node_affinity::NAME, || {
        Box::new(node_affinity::NodeAffinity)
    }),
    (node_ports::NAME, || Box::new(node_ports::NodePorts)),
    (node_resources_fit::NAME, || {
        Box::new(node_resources_fit::NodeResourcesFit)
    }),
    (pod_topology_spread::NAME, || {
        Box::new(pod_topology_spread::PodTopologySpread)
    }),
    (inter_pod_affinity::NAME, || {
        Box::new(inter_pod_affinity::InterPodAffinity)
    }),
    (balanced_allocation::NAME, || {
        Box::new(balanced_allocation::BalancedAllocation)
    }),
    (image_locality::NAME, || {
        Box::new(image_locality::ImageLocality)
    }),
    (default_preemption::NAME, || {
        Box::new(default_preemption::DefaultPreemption)
    }),
    (default_binder::NAME, || {
        Box::new(default_binder::DefaultBinder)
    }),
];

/// The default plugin order and score weights: filters run cheapest and most decisive
/// first; taints weigh 3, node and pod affinity and topology spread 2, resource and image scores 1.
pub const DEFAULT_PLUGINS: &[(&str, i64)] = &[
    (node_unschedulable::NAME, 0),
    (node_name::NAME, 0),
    (taint_toleration::NAME, 3),
    (node_affinity::NAME, 2),
    (node_ports::NAME, 0),
    (node_resources_fit::NAME, 1),
    (pod_topology_spread::NAME, 2),
    (inter_pod_affinity::NAME, 2),
    (balanced_allocation::NAME, 1),
    (image_locality::NAME, 1),
    (default_preemption::NAME, 0),
    (default_binder::NAME, 0),
];

/// The default profile under `scheduler_name`.
pub fn default_profile(scheduler_name: &str) -> Result<Profile, ProfileError> {
    Profile::new(scheduler_name, REGISTRY, DEFAULT_PLUGINS)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::framework::{CycleState, PreScorePlugin, ScorePlugin, Snapshot};
    use crate::node_info::NodeInfo;
    use crate::pod_info::PodInfo;
    use crate::status::Code;
    use berth_api_types::k8s::api::core::v1::Node;
    use serde_json::{json, Value};
    use std::sync::Arc;

    /// A node named `name` with `extra` merged into its JSON (labels, taints, allocatable).
    pub fn node(name: &str, extra: Value) -> NodeInfo {
        let mut v = json!({"metadata": {"name": name}, "status": {"allocatable":
            {"cpu": "4", "memory": "8Gi", "pods": "110"}}});
        merge(&mut v, extra);
        let n: Node = serde_json::from_value(v).unwrap();
        NodeInfo::new(&n)
    }

    /// A pod named `name` in `default` with `spec` merged over one container.
    pub fn pod(name: &str, spec: Value) -> PodInfo {
        PodInfo::from_json(pod_json(name, spec)).unwrap()
    }

    /// The JSON [`pod`] builds on, for tests that add metadata or status.
    pub fn pod_json(name: &str, spec: Value) -> Value {
        let mut v = json!({"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        merge(&mut v, json!({ "spec": spec }));
        v
    }

    /// A pod like [`pod`] carrying `labels`, shared as the plugins that select pods hold it.
    pub fn labelled(name: &str, labels: Value, spec: Value) -> Arc<PodInfo> {
        let mut v = pod_json(name, spec);
        v["metadata"]["labels"] = labels;
        Arc::new(PodInfo::from_json(v).unwrap())
    }

    /// The scores `plugin` gives `pod` on each of `nodes` after its pre-score over `snap`,
    /// normalized as a profile does; `None` when the pre-score skips the pod.
    pub fn scores<P: PreScorePlugin + ScorePlugin>(
        plugin: &P,
        pod: &PodInfo,
        nodes: &[NodeInfo],
        snap: &Snapshot,
    ) -> Option<Vec<i64>> {
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let mut state = CycleState::default();
        if plugin.pre_score(&mut state, pod, &refs, snap).code == Code::Skip {
            return None;
        }
        let mut scores: Vec<i64> = nodes.iter().map(|n| plugin.score(&state, pod, n)).collect();
        plugin.normalize(&mut scores);
        Some(scores)
    }

    /// A pod with one container requesting `requests`.
    pub fn pod_requesting(name: &str, requests: Value) -> PodInfo {
        pod(
            name,
            json!({"containers": [{"name": "c", "image": "i",
                "resources": {"requests": requests}}]}),
        )
    }

    fn merge(into: &mut Value, from: Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (slot, v) => *slot = v,
        }
    }
}
