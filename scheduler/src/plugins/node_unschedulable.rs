//! NodeUnschedulable: cordoned nodes take no new pods unless the pod tolerates the
//! `node.kubernetes.io/unschedulable` taint.

use crate::framework::{CycleState, FilterPlugin, Plugin};
use crate::node_info::NodeInfo;
use crate::plugins::taint_toleration::tolerates;
use crate::pod_info::PodInfo;
use crate::status::Status;
use berth_api_types::k8s::api::core::v1::Taint;

/// The plugin's name.
pub const NAME: &str = "NodeUnschedulable";
/// The reason counted in `FailedScheduling` messages.
pub const REASON: &str = "node(s) were unschedulable";

/// Filters out cordoned nodes.
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable() {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        };
        if pod.wants().tolerations.iter().any(|t| tolerates(t, &taint)) {
            return Status::success();
        }
        Status::unresolvable(REASON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use crate::status::Code;
    use serde_json::json;

    #[test]
    fn cordoned_nodes_take_only_tolerating_pods() {
        let cordoned = node("n", json!({"spec": {"unschedulable": true}}));
        let open = node("n", json!({}));
        let tolerant = pod(
            "p",
            json!({"tolerations": [{"key": "node.kubernetes.io/unschedulable",
                "operator": "Exists", "effect": "NoSchedule"}]}),
        );
        let plain = pod("p", json!({}));
        let cases = [
            ("open node", &plain, &open, Code::Success),
            (
                "cordoned node",
                &plain,
                &cordoned,
                Code::UnschedulableAndUnresolvable,
            ),
            ("tolerating pod", &tolerant, &cordoned, Code::Success),
        ];
        for (name, p, n, want) in cases {
            let s = NodeUnschedulable.filter(&CycleState::default(), p, n);
            assert_eq!(s.code, want, "{name}");
            if want != Code::Success {
                assert_eq!(s.reasons, vec![REASON.to_owned()], "{name}");
            }
        }
    }
}
