//! TaintToleration: a node's `NoSchedule` and `NoExecute` taints keep out pods that do not
//! tolerate them; `PreferNoSchedule` taints only lower the node's score.

use crate::framework::{CycleState, FilterPlugin, Plugin, ScorePlugin, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::Status;
use berth_api_types::k8s::api::core::v1::{Taint, Toleration};

/// The plugin's name.
pub const NAME: &str = "TaintToleration";

/// Filters out nodes with untolerated hard taints and prefers nodes with fewer soft ones.
pub struct TaintToleration;

/// Whether `toleration` tolerates `taint`: the effect and key match when given, and the value
/// matches unless the operator is `Exists`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "" | "Equal" => {
            toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        "Exists" => true,
        _ => false,
    }
}

fn tolerations(pod: &PodInfo) -> &[Toleration] {
    &pod.wants().tolerations
}

impl Plugin for TaintToleration {
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

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let tols = tolerations(pod);
        let untolerated = node.taints().iter().find(|taint| {
            matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
                && !tols.iter().any(|t| tolerates(t, taint))
        });
        match untolerated {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            )),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let soft: Vec<&Toleration> = tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .collect();
        node.taints()
            .iter()
            .filter(|taint| {
                taint.effect == "PreferNoSchedule" && !soft.iter().any(|t| tolerates(t, taint))
            })
            .count() as i64
    }

    fn normalize(&self, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

/// Scales scores so the highest becomes [`MAX_NODE_SCORE`]; `reverse` turns "more is worse"
/// counts into scores. All-zero scores stay zero, or become the maximum when reversed.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{node, pod};
    use crate::status::Code;
    use serde_json::{json, Value};

    fn tol(v: Value) -> Toleration {
        serde_json::from_value(v).unwrap()
    }

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    #[test]
    fn toleration_matching() {
        let t = taint("k", "v", "NoSchedule");
        let cases = [
            (
                json!({"key": "k", "value": "v", "effect": "NoSchedule"}),
                true,
            ),
            (json!({"key": "k", "operator": "Equal", "value": "v"}), true),
            (json!({"key": "k", "value": "w"}), false),
            (json!({"key": "k", "operator": "Exists"}), true),
            (json!({"operator": "Exists"}), true),
            (
                json!({"key": "k", "operator": "Exists", "effect": "NoExecute"}),
                false,
            ),
            (json!({"key": "other", "operator": "Exists"}), false),
            (json!({"key": "k", "operator": "Bogus"}), false),
            (json!({"key": "k"}), false),
        ];
        for (t_json, want) in cases {
            assert_eq!(tolerates(&tol(t_json.clone()), &t), want, "{t_json}");
        }
    }

    #[test]
    fn hard_taints_filter_with_first_untolerated_named() {
        let n = node(
            "n",
            json!({"spec": {"taints": [
                {"key": "soft", "effect": "PreferNoSchedule"},
                {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                {"key": "evict", "effect": "NoExecute"}]}}),
        );
        let cases = [
            (
                "no tolerations",
                json!({}),
                Some("node(s) had untolerated taint {dedicated: gpu}"),
            ),
            (
                "one tolerated",
                json!({"tolerations": [{"key": "dedicated", "value": "gpu"}]}),
                Some("node(s) had untolerated taint {evict: }"),
            ),
            (
                "all tolerated",
                json!({"tolerations": [{"operator": "Exists"}]}),
                None,
            ),
        ];
        for (name, spec, want) in cases {
            let s = TaintToleration.filter(&CycleState::default(), &pod("p", spec), &n);
            match want {
                None => assert!(s.is_success(), "{name}"),
                Some(r) => {
                    assert_eq!(s.code, Code::UnschedulableAndUnresolvable, "{name}");
                    assert_eq!(s.reasons, vec![r.to_owned()], "{name}");
                }
            }
        }
    }

    #[test]
    fn soft_taints_lower_the_score() {
        let nodes = [
            node("a", json!({})),
            node(
                "b",
                json!({"spec": {"taints": [{"key": "x", "effect": "PreferNoSchedule"}]}}),
            ),
            node(
                "c",
                json!({"spec": {"taints": [{"key": "x", "effect": "PreferNoSchedule"},
                {"key": "y", "effect": "PreferNoSchedule"}]}}),
            ),
        ];
        let cases = [
            ("plain pod", json!({}), vec![100, 50, 0]),
            (
                "tolerates x",
                json!({"tolerations": [{"key": "x", "operator": "Exists", "effect": "PreferNoSchedule"}]}),
                vec![100, 100, 0],
            ),
            (
                "a NoSchedule toleration does not count",
                json!({"tolerations": [{"key": "x", "operator": "Exists", "effect": "NoSchedule"}]}),
                vec![100, 50, 0],
            ),
            (
                "tolerates all",
                json!({"tolerations": [{"operator": "Exists"}]}),
                vec![100, 100, 100],
            ),
        ];
        for (name, spec, want) in cases {
            let p = pod("p", spec);
            let mut scores: Vec<i64> = nodes
                .iter()
                .map(|n| TaintToleration.score(&CycleState::default(), &p, n))
                .collect();
            TaintToleration.normalize(&mut scores);
            assert_eq!(scores, want, "{name}");
        }
    }
}
