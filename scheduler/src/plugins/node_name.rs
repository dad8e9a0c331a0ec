//! NodeName: a pod that names its node fits only there.

use crate::framework::{CycleState, FilterPlugin, Plugin};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::Status;

/// The plugin's name.
pub const NAME: &str = "NodeName";
/// The reason counted in `FailedScheduling` messages.
pub const REASON: &str = "node(s) didn't match the requested node name";

/// Filters out every node but the one `spec.nodeName` names.
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match pod.wants().node_name.as_deref() {
            Some(wanted) if !wanted.is_empty() && wanted != node.name => {
                Status::unresolvable(REASON)
            }
            _ => Status::success(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use crate::status::Code;
    use serde_json::json;

    #[test]
    fn only_the_named_node_fits() {
        let cases = [
            ("no name", json!({}), "a", Code::Success),
            ("same name", json!({"nodeName": "a"}), "a", Code::Success),
            (
                "other name",
                json!({"nodeName": "b"}),
                "a",
                Code::UnschedulableAndUnresolvable,
            ),
        ];
        for (name, spec, node_name, want) in cases {
            let s = NodeName.filter(
                &CycleState::default(),
                &pod("p", spec),
                &node(node_name, json!({})),
            );
            assert_eq!(s.code, want, "{name}");
        }
    }
}
