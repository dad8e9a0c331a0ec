//! NodeAffinity: `nodeSelector` and required node affinity rule nodes out; preferred node
//! affinity adds the weights of the terms a node matches to its score.

use super::taint_toleration::default_normalize;
use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::Status;
use berth_api_types::k8s::api::core::v1::{
    NodeAffinity as Affinity, NodeSelectorRequirement, NodeSelectorTerm,
};

/// The plugin's name.
pub const NAME: &str = "NodeAffinity";
/// The reason counted in `FailedScheduling` messages.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

/// Filters by node labels and fields; scores by preferred terms.
pub struct NodeAffinity;

fn affinity(pod: &PodInfo) -> Option<&Affinity> {
    pod.wants().node_affinity.as_ref()
}

fn requirement_matches(req: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.as_deref().unwrap_or(&[]);
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|w| w == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|w| w == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) if op == "Gt" => v > b,
                (Ok(v), Ok(b)) => v < b,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `node` matches one selector term: every expression on labels and every
/// expression on fields (only `metadata.name` exists). An empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node.labels();
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(node.name.as_str());
            r.key == "metadata.name" && requirement_matches(r, value)
        })
}

/// Whether `node` satisfies the pod's `nodeSelector` and required node affinity.
pub fn required_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    let labels = node.labels();
    let selector = &pod.wants().node_selector;
    if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    match affinity(pod).and_then(|a| {
        a.required_during_scheduling_ignored_during_execution
            .as_ref()
    }) {
        None => true,
        Some(required) => required
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node)),
    }
}

impl Plugin for NodeAffinity {
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

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if required_matches(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(REASON)
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        affinity(pod)
            .and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .into_iter()
            .flatten()
            .filter(|t| t.weight != 0 && term_matches(&t.preference, node))
            .map(|t| i64::from(t.weight))
            .sum()
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use serde_json::{json, Value};

    fn required(terms: Value) -> Value {
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": terms}}}})
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> Value {
        json!({"matchExpressions": [{"key": key, "operator": op, "values": values}]})
    }

    #[test]
    fn selector_and_required_terms() {
        let n = node(
            "node-1",
            json!({"metadata": {"labels": {"zone": "a", "disk": "ssd", "cores": "8"}}}),
        );
        let cases: Vec<(&str, Value, bool)> = vec![
            ("no constraints", json!({}), true),
            (
                "selector matches",
                json!({"nodeSelector": {"zone": "a"}}),
                true,
            ),
            (
                "selector value differs",
                json!({"nodeSelector": {"zone": "b"}}),
                false,
            ),
            (
                "selector key missing",
                json!({"nodeSelector": {"gpu": "yes"}}),
                false,
            ),
            (
                "In",
                required(json!([expr("zone", "In", &["a", "b"])])),
                true,
            ),
            (
                "In misses",
                required(json!([expr("zone", "In", &["b"])])),
                false,
            ),
            (
                "In on a missing key",
                required(json!([expr("gpu", "In", &["x"])])),
                false,
            ),
            (
                "NotIn",
                required(json!([expr("zone", "NotIn", &["b"])])),
                true,
            ),
            (
                "NotIn hits",
                required(json!([expr("zone", "NotIn", &["a"])])),
                false,
            ),
            (
                "NotIn on a missing key",
                required(json!([expr("gpu", "NotIn", &["x"])])),
                true,
            ),
            (
                "Exists",
                required(json!([expr("disk", "Exists", &[])])),
                true,
            ),
            (
                "Exists misses",
                required(json!([expr("gpu", "Exists", &[])])),
                false,
            ),
            (
                "DoesNotExist",
                required(json!([expr("gpu", "DoesNotExist", &[])])),
                true,
            ),
            (
                "DoesNotExist hits",
                required(json!([expr("disk", "DoesNotExist", &[])])),
                false,
            ),
            ("Gt", required(json!([expr("cores", "Gt", &["4"])])), true),
            (
                "Gt equal",
                required(json!([expr("cores", "Gt", &["8"])])),
                false,
            ),
            ("Lt", required(json!([expr("cores", "Lt", &["16"])])), true),
            (
                "Lt not a number",
                required(json!([expr("zone", "Lt", &["16"])])),
                false,
            ),
            (
                "Gt on a missing key",
                required(json!([expr("gpu", "Gt", &["1"])])),
                false,
            ),
            (
                "terms are ORed",
                required(json!([
                    expr("zone", "In", &["b"]),
                    expr("disk", "Exists", &[])
                ])),
                true,
            ),
            (
                "expressions in a term are ANDed",
                required(json!([{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                    {"key": "disk", "operator": "In", "values": ["hdd"]}]}])),
                false,
            ),
            (
                "an empty term matches nothing",
                required(json!([{}])),
                false,
            ),
            (
                "matchFields on the node name",
                required(
                    json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]),
                ),
                true,
            ),
            (
                "matchFields NotIn",
                required(
                    json!([{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-1"]}]}]),
                ),
                false,
            ),
            (
                "selector and affinity must both hold",
                {
                    let mut v = required(json!([expr("zone", "In", &["a"])]));
                    v["nodeSelector"] = json!({"disk": "hdd"});
                    v
                },
                false,
            ),
        ];
        for (name, spec, want) in cases {
            let s = NodeAffinity.filter(&CycleState::default(), &pod("p", spec), &n);
            assert_eq!(s.is_success(), want, "{name}");
            if !want {
                assert_eq!(s.reasons, vec![REASON.to_owned()], "{name}");
            }
        }
    }

    #[test]
    fn preferred_terms_add_weights_then_normalise() {
        let nodes = [
            node(
                "a",
                json!({"metadata": {"labels": {"zone": "a", "disk": "ssd"}}}),
            ),
            node("b", json!({"metadata": {"labels": {"zone": "a"}}})),
            node("c", json!({})),
        ];
        let p = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 30, "preference": expr("zone", "In", &["a"])},
                {"weight": 10, "preference": expr("disk", "In", &["ssd"])}]}}}),
        );
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| NodeAffinity.score(&CycleState::default(), &p, n))
            .collect();
        assert_eq!(scores, vec![40, 30, 0]);
        NodeAffinity.normalize(&mut scores);
        assert_eq!(scores, vec![100, 75, 0]);
        let plain = pod("q", json!({}));
        let mut scores: Vec<i64> = nodes
            .iter()
            .map(|n| NodeAffinity.score(&CycleState::default(), &plain, n))
            .collect();
        NodeAffinity.normalize(&mut scores);
        assert_eq!(scores, vec![0, 0, 0]);
    }
}
