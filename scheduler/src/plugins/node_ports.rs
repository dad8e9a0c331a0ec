//! NodePorts: two pods cannot claim the same host port, protocol and address on one node.

use crate::framework::{CycleState, FilterPlugin, Plugin};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::Status;

/// The plugin's name.
pub const NAME: &str = "NodePorts";
/// The reason counted in `FailedScheduling` messages.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// Filters out nodes where a requested host port is taken.
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let clash = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if clash {
            Status::unschedulable(REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn with_port(port: Value) -> Value {
        json!({"containers": [{"name": "c", "image": "i", "ports": [port]}]})
    }

    #[test]
    fn host_port_conflicts() {
        let mut n = node("n", json!({}));
        n.add_pod(Arc::new(pod(
            "old",
            with_port(json!({"containerPort": 80, "hostPort": 8080})),
        )));
        n.add_pod(Arc::new(pod(
            "old2",
            with_port(json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.1"})),
        )));
        let cases = [
            (
                "same port",
                json!({"containerPort": 80, "hostPort": 8080}),
                false,
            ),
            (
                "other port",
                json!({"containerPort": 80, "hostPort": 8081}),
                true,
            ),
            (
                "other protocol",
                json!({"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}),
                true,
            ),
            (
                "specific ip against wildcard",
                json!({"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.2"}),
                false,
            ),
            (
                "other specific ip",
                json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.2"}),
                true,
            ),
            (
                "wildcard against specific ip",
                json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP"}),
                false,
            ),
            ("no host port", json!({"containerPort": 8080}), true),
        ];
        for (name, port, fits) in cases {
            let s = NodePorts.filter(&CycleState::default(), &pod("p", with_port(port)), &n);
            assert_eq!(s.is_success(), fits, "{name}");
        }
        assert!(n.remove_pod("default/old").is_some());
        let s = NodePorts.filter(
            &CycleState::default(),
            &pod(
                "p",
                with_port(json!({"containerPort": 80, "hostPort": 8080})),
            ),
            &n,
        );
        assert!(s.is_success(), "freed after removal");
    }
}
