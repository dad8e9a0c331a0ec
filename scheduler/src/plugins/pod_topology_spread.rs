//! PodTopologySpread: `DoNotSchedule` constraints rule out nodes whose domain would exceed
//! `maxSkew` against the least loaded domain; `ScheduleAnyway` constraints score nodes by how
//! many matching pods their domains already hold (fewer is better).
//!
//! A pod without constraints of its own that belongs to a Service, ReplicaSet, StatefulSet or
//! ReplicationController gets the default constraints: spread across
//! `kubernetes.io/hostname` (maxSkew 3) and `topology.kubernetes.io/zone` (maxSkew 5), both
//! `ScheduleAnyway`, selecting the pods those objects select. Matching pods are counted per
//! domain once per cycle (PreFilter, PreScore); nodes then only look their domain up.

use super::node_affinity::required_matches;
use super::taint_toleration::tolerates;
use crate::framework::{
    CycleState, FilterPlugin, OwnerSelectors, Plugin, PodCounts, PreFilterPlugin, PreScorePlugin,
    ScorePlugin, Snapshot, MAX_NODE_SCORE,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};
use berth_api_types::k8s::api::core::v1::TopologySpreadConstraint;
use berth_api_types::labels::{LabelSelector, Operator, Requirement};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The plugin's name.
pub const NAME: &str = "PodTopologySpread";
/// The reason when a node would make a domain too crowded.
pub const REASON_CONSTRAINTS: &str = "node(s) didn't match pod topology spread constraints";
/// The reason when a node lacks a constraint's topology label.
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// The node label naming a node's own domain.
pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
/// The node label naming a node's zone.
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";

const FILTER_KEY: &str = "PodTopologySpread/filter";
const SCORE_KEY: &str = "PodTopologySpread/score";
/// What `score` returns for nodes left out of scoring; `normalize` turns it into 0.
const IGNORED: i64 = -1;

/// Filters by `DoNotSchedule` constraints; scores by `ScheduleAnyway` ones.
pub struct PodTopologySpread;

/// One constraint in matching form.
#[derive(Clone, Debug)]
pub struct Constraint {
    /// The largest allowed difference to the least loaded domain.
    pub max_skew: i64,
    /// The node label whose values are the domains.
    pub topology_key: String,
    /// Which pods count (in the incoming pod's namespace).
    pub selector: LabelSelector,
    /// Below this many domains the global minimum counts as 0.
    pub min_domains: i64,
    /// Only nodes matching the pod's node selector and required affinity count.
    pub honor_node_affinity: bool,
    /// Only nodes whose hard taints the pod tolerates count.
    pub honor_taints: bool,
}

impl Constraint {
    fn new(labels: &BTreeMap<String, String>, c: &TopologySpreadConstraint) -> Constraint {
        let mut selector = LabelSelector::from_api_opt(c.label_selector.as_ref())
            .unwrap_or_else(|_| LabelSelector::nothing());
        for key in c.match_label_keys.iter().flatten() {
            if let Some(value) = labels.get(key) {
                if let Ok(r) = Requirement::new(key.clone(), Operator::In, vec![value.clone()]) {
                    selector.add(r);
                }
            }
        }
        Constraint {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: c.min_domains.map_or(1, i64::from),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }

    /// Whether `node` takes part in this constraint's counting for `pod`.
    fn includes(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        if self.honor_node_affinity && !required_matches(pod, node) {
            return false;
        }
        if self.honor_taints {
            let tols = &pod.wants().tolerations;
            let untolerated = node.taints().iter().any(|t| {
                matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")
                    && !tols.iter().any(|tol| tolerates(tol, t))
            });
            if untolerated {
                return false;
            }
        }
        true
    }

    /// How many pods on `node` this constraint counts.
    fn count_on(&self, namespace: &str, node: &NodeInfo) -> i64 {
        node.pods
            .iter()
            .filter(|p| p.namespace() == namespace && !p.terminating())
            .filter(|p| self.selector.matches(p.labels()))
            .count() as i64
    }
}

/// The constraints of `pod` with the given `whenUnsatisfiable`.
fn own_constraints(pod: &PodInfo, when: &str) -> Vec<Constraint> {
    pod.wants()
        .topology_spread_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| Constraint::new(pod.labels(), c))
        .collect()
}

fn has_own_constraints(pod: &PodInfo) -> bool {
    !pod.wants().topology_spread_constraints.is_empty()
}

/// The selector default spreading uses for `pod`: the merged selectors of the Services that
/// select it and of the controller that owns it. Empty when none applies.
pub fn default_selector(pod: &PodInfo, owners: &OwnerSelectors) -> LabelSelector {
    let ns = pod.namespace();
    let labels = pod.labels();
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    for selector in owners.services.get(ns).into_iter().flat_map(|m| m.values()) {
        if selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            set.extend(selector.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let mut selector = LabelSelector::from_map(&set);
    let Some(owner) = pod.wants().controller.as_ref() else {
        return selector;
    };
    let kind = match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("v1", "ReplicationController") => "ReplicationController",
        ("apps/v1", "ReplicaSet") => "ReplicaSet",
        ("apps/v1", "StatefulSet") => "StatefulSet",
        _ => return selector,
    };
    let key = (kind.to_owned(), ns.to_owned(), owner.name.clone());
    if let Some(controller) = owners.controllers.get(&key) {
        for r in controller.requirements() {
            selector.add(r.clone());
        }
    }
    selector
}

/// The default constraints for a pod without its own, or none when nothing groups it.
pub fn default_constraints(pod: &PodInfo, owners: &OwnerSelectors) -> Vec<Constraint> {
    let selector = default_selector(pod, owners);
    if selector.is_empty() || selector.matches_nothing() {
        return Vec::new();
    }
    [(HOSTNAME_KEY, 3), (ZONE_KEY, 5)]
        .into_iter()
        .map(|(key, skew)| Constraint {
            max_skew: skew,
            topology_key: key.to_owned(),
            selector: selector.clone(),
            min_domains: 1,
            honor_node_affinity: true,
            honor_taints: false,
        })
        .collect()
}

fn has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    let labels = node.labels();
    constraints
        .iter()
        .all(|c| labels.contains_key(&c.topology_key))
}

#[derive(Clone)]
struct FilterState {
    constraints: Vec<Constraint>,
    /// Matching pods per domain value, per constraint.
    counts: Vec<HashMap<String, i64>>,
    /// The least count per constraint (the global minimum).
    mins: Vec<i64>,
}

impl FilterState {
    fn recompute_min(&mut self, i: usize) {
        self.mins[i] = self.counts[i].values().copied().min().unwrap_or(i64::MAX);
    }

    fn min_match(&self, i: usize) -> i64 {
        if (self.counts[i].len() as i64) < self.constraints[i].min_domains {
            0
        } else {
            self.mins[i]
        }
    }
}

impl PodCounts for FilterState {
    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
        if other.namespace() != pod.namespace() || !has_all_keys(node, &self.constraints) {
            return;
        }
        for i in 0..self.constraints.len() {
            let c = &self.constraints[i];
            if !c.includes(pod, node) || !c.selector.matches(other.labels()) {
                continue;
            }
            let value = node.labels()[&c.topology_key].clone();
            *self.counts[i].entry(value).or_default() += by;
            self.recompute_min(i);
        }
    }
}

#[derive(Clone)]
struct ScoreState {
    constraints: Vec<Constraint>,
    /// Matching pods per domain value, per constraint (not kept for the hostname key).
    counts: Vec<HashMap<String, i64>>,
    /// ln(domains + 2) per constraint.
    weights: Vec<f64>,
    /// Feasible nodes left out of scoring (missing a topology label).
    ignored: HashSet<String>,
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        let constraints = own_constraints(pod, "DoNotSchedule");
        if constraints.is_empty() {
            return Status::new(Code::Skip, Vec::new());
        }
        let mut counts = vec![HashMap::new(); constraints.len()];
        for node in snapshot.nodes {
            if !has_all_keys(node, &constraints) {
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if !c.includes(pod, node) {
                    continue;
                }
                let value = node.labels()[&c.topology_key].clone();
                *counts[i].entry(value).or_default() += c.count_on(pod.namespace(), node);
            }
        }
        let mut s = FilterState {
            mins: vec![i64::MAX; constraints.len()],
            constraints,
            counts,
        };
        for i in 0..s.constraints.len() {
            s.recompute_min(i);
        }
        state.write(FILTER_KEY, s);
        Status::success()
    }

    fn counts<'s>(&self, state: &'s mut CycleState) -> Option<&'s mut dyn PodCounts> {
        state
            .read_mut::<FilterState>(FILTER_KEY)
            .map(|s| s as &mut dyn PodCounts)
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(FILTER_KEY) else {
            return Status::error("PodTopologySpread ran without its PreFilter state");
        };
        let labels = node.labels();
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.topology_key) else {
                return Status::unresolvable(REASON_MISSING_LABEL);
            };
            let self_match = i64::from(c.selector.matches(pod.labels()));
            let here = s.counts[i].get(value).copied().unwrap_or(0);
            let min = s.min_match(i);
            // Saturating: with no domain counted at all the minimum is "infinite".
            if (here + self_match).saturating_sub(min) > c.max_skew {
                return Status::unschedulable(REASON_CONSTRAINTS);
            }
        }
        Status::success()
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        let own = has_own_constraints(pod);
        let constraints = if own {
            own_constraints(pod, "ScheduleAnyway")
        } else {
            default_constraints(pod, snapshot.owners)
        };
        if constraints.is_empty() || feasible.is_empty() {
            return Status::new(Code::Skip, Vec::new());
        }
        // A pod's own constraints need every topology label on a node; defaults do not.
        let require_all = own;
        let mut s = ScoreState {
            counts: vec![HashMap::new(); constraints.len()],
            weights: vec![0.0; constraints.len()],
            ignored: HashSet::new(),
            constraints,
        };
        let mut sizes = vec![0usize; s.constraints.len()];
        for node in feasible {
            if require_all && !has_all_keys(node, &s.constraints) {
                s.ignored.insert(node.name.clone());
                continue;
            }
            for (i, c) in s.constraints.iter().enumerate() {
                if c.topology_key == HOSTNAME_KEY {
                    continue;
                }
                let value = node
                    .labels()
                    .get(&c.topology_key)
                    .cloned()
                    .unwrap_or_default();
                if let std::collections::hash_map::Entry::Vacant(e) = s.counts[i].entry(value) {
                    e.insert(0);
                    sizes[i] += 1;
                }
            }
        }
        for (i, c) in s.constraints.iter().enumerate() {
            let size = if c.topology_key == HOSTNAME_KEY {
                feasible.len() - s.ignored.len()
            } else {
                sizes[i]
            };
            s.weights[i] = ((size + 2) as f64).ln();
        }
        let needs_counts = s.constraints.iter().any(|c| c.topology_key != HOSTNAME_KEY);
        if needs_counts {
            for node in snapshot.nodes {
                if require_all && !has_all_keys(node, &s.constraints) {
                    continue;
                }
                for i in 0..s.constraints.len() {
                    let c = &s.constraints[i];
                    if c.topology_key == HOSTNAME_KEY || !c.includes(pod, node) {
                        continue;
                    }
                    let value = node
                        .labels()
                        .get(&c.topology_key)
                        .map(String::as_str)
                        .unwrap_or("");
                    if !s.counts[i].contains_key(value) {
                        continue;
                    }
                    let n = c.count_on(pod.namespace(), node);
                    if let Some(slot) = s.counts[i].get_mut(value) {
                        *slot += n;
                    }
                }
            }
        }
        state.write(SCORE_KEY, s);
        Status::success()
    }
}

impl ScorePlugin for PodTopologySpread {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<ScoreState>(SCORE_KEY) else {
            return 0;
        };
        if s.ignored.contains(&node.name) {
            return IGNORED;
        }
        let labels = node.labels();
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = labels.get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == HOSTNAME_KEY {
                c.count_on(pod.namespace(), node)
            } else {
                s.counts[i].get(value).copied().unwrap_or(0)
            };
            score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    fn normalize(&self, scores: &mut [i64]) {
        let counted = scores.iter().copied().filter(|s| *s != IGNORED);
        let min = counted.clone().min().unwrap_or(0);
        let max = counted.max().unwrap_or(0);
        for s in scores.iter_mut() {
            *s = if *s == IGNORED {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - *s) / max
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{self, labelled, node, pod_json};
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn zoned(name: &str, zone: &str) -> NodeInfo {
        node(
            name,
            json!({"metadata": {"labels": {ZONE_KEY: zone, HOSTNAME_KEY: name}}}),
        )
    }

    fn web(name: &str) -> Arc<PodInfo> {
        labelled(name, json!({"app": "web"}), json!({}))
    }

    fn spread(key: &str, skew: i32, when: &str, extra: Value) -> Value {
        let mut c = json!({"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": {"app": "web"}}});
        if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
            c.extend(e);
        }
        json!({ "topologySpreadConstraints": [c] })
    }

    /// Three zones: a has 2 web pods, b has 1, c none (node c1); plus an unlabelled node.
    fn cluster() -> Vec<NodeInfo> {
        let mut a1 = zoned("a1", "a");
        a1.add_pod(web("w1"));
        a1.add_pod(web("w2"));
        let mut b1 = zoned("b1", "b");
        b1.add_pod(web("w3"));
        b1.add_pod(labelled("other", json!({"app": "db"}), json!({})));
        vec![a1, b1, zoned("c1", "c"), node("bare", json!({}))]
    }

    fn filter_all(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<String> {
        let mut state = CycleState::default();
        let pre = PodTopologySpread.pre_filter(&mut state, p, &Snapshot::of_nodes(nodes));
        nodes
            .iter()
            .map(|n| {
                if pre.code == Code::Skip {
                    return "ok".to_owned();
                }
                let s = PodTopologySpread.filter(&state, p, n);
                s.reasons.first().cloned().unwrap_or_else(|| "ok".into())
            })
            .collect()
    }

    #[test]
    fn do_not_schedule_constraints() {
        let nodes = cluster();
        let ok = "ok";
        let cases: Vec<(&str, Value, Value, [&str; 4])> = vec![
            ("no constraints", json!({"app": "web"}), json!({}), [ok; 4]),
            (
                "ScheduleAnyway does not filter",
                json!({"app": "web"}),
                spread(ZONE_KEY, 1, "ScheduleAnyway", json!({})),
                [ok; 4],
            ),
            (
                "maxSkew 1 across zones: only the empty zone",
                json!({"app": "web"}),
                spread(ZONE_KEY, 1, "DoNotSchedule", json!({})),
                [
                    REASON_CONSTRAINTS,
                    REASON_CONSTRAINTS,
                    ok,
                    REASON_MISSING_LABEL,
                ],
            ),
            (
                "maxSkew 2 also allows zone b",
                json!({"app": "web"}),
                spread(ZONE_KEY, 2, "DoNotSchedule", json!({})),
                [REASON_CONSTRAINTS, ok, ok, REASON_MISSING_LABEL],
            ),
            (
                "a pod the selector does not match counts itself as 0",
                json!({"app": "api"}),
                spread(ZONE_KEY, 2, "DoNotSchedule", json!({})),
                [ok, ok, ok, REASON_MISSING_LABEL],
            ),
            (
                "minDomains above the domain count makes the minimum 0",
                json!({"app": "web"}),
                spread(ZONE_KEY, 2, "DoNotSchedule", json!({"minDomains": 4})),
                [REASON_CONSTRAINTS, ok, ok, REASON_MISSING_LABEL],
            ),
            (
                "matchLabelKeys narrows the selector to the pod's own value",
                json!({"app": "web", "rev": "2"}),
                spread(
                    ZONE_KEY,
                    1,
                    "DoNotSchedule",
                    json!({"matchLabelKeys": ["rev"]}),
                ),
                [ok, ok, ok, REASON_MISSING_LABEL],
            ),
            (
                "nodes outside the pod's node selector are not domains",
                json!({"app": "web"}),
                {
                    let mut v = spread(ZONE_KEY, 1, "DoNotSchedule", json!({}));
                    v["nodeSelector"] = json!({ZONE_KEY: "a"});
                    v
                },
                // Only zone a is a domain, so its minimum is its own count; other zones hold
                // no counted pods (NodeAffinity rules those nodes out anyway).
                [ok, ok, ok, REASON_MISSING_LABEL],
            ),
            (
                "nodeAffinityPolicy Ignore counts every node",
                json!({"app": "web"}),
                {
                    let mut v = spread(
                        ZONE_KEY,
                        1,
                        "DoNotSchedule",
                        json!({"nodeAffinityPolicy": "Ignore"}),
                    );
                    v["nodeSelector"] = json!({ZONE_KEY: "a"});
                    v
                },
                [
                    REASON_CONSTRAINTS,
                    REASON_CONSTRAINTS,
                    ok,
                    REASON_MISSING_LABEL,
                ],
            ),
        ];
        for (name, labels, spec, want) in cases {
            let p = labelled("p", labels, spec);
            assert_eq!(filter_all(&p, &nodes), want, "{name}");
        }
    }

    #[test]
    fn taints_policy_honor_leaves_tainted_domains_out() {
        let mut nodes = cluster();
        nodes[2] = node(
            "c1",
            json!({"metadata": {"labels": {ZONE_KEY: "c", HOSTNAME_KEY: "c1"}},
                "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}),
        );
        let p = labelled(
            "p",
            json!({"app": "web"}),
            spread(
                ZONE_KEY,
                1,
                "DoNotSchedule",
                json!({"nodeTaintsPolicy": "Honor"}),
            ),
        );
        // Zone c no longer counts, so zone b (1) is the minimum.
        let got = filter_all(&p, &nodes);
        assert_eq!(got[..2], [REASON_CONSTRAINTS.to_owned(), "ok".to_owned()]);
    }

    #[test]
    fn what_if_removal_changes_the_minimum() {
        let nodes = cluster();
        let p = labelled(
            "p",
            json!({"app": "web"}),
            spread(ZONE_KEY, 1, "DoNotSchedule", json!({})),
        );
        let mut state = CycleState::default();
        PodTopologySpread.pre_filter(&mut state, &p, &Snapshot::of_nodes(&nodes));
        assert!(!PodTopologySpread.filter(&state, &p, &nodes[1]).is_success());
        let w3 = nodes[1].pods[0].clone();
        PodTopologySpread.remove_pod(&mut state, &p, &w3, &nodes[1]);
        assert!(PodTopologySpread.filter(&state, &p, &nodes[1]).is_success());
    }

    fn scores(p: &PodInfo, nodes: &[NodeInfo], owners: &OwnerSelectors) -> Option<Vec<i64>> {
        let snap = Snapshot {
            owners,
            ..Snapshot::of_nodes(nodes)
        };
        testing::scores(&PodTopologySpread, p, nodes, &snap)
    }

    #[test]
    fn schedule_anyway_scores_emptier_domains_higher() {
        let nodes = cluster();
        let none = OwnerSelectors::default();
        let p = labelled(
            "p",
            json!({"app": "web"}),
            spread(ZONE_KEY, 1, "ScheduleAnyway", json!({})),
        );
        // Domains a, b, c (3, weight ln 5): raw a = 2*1.609 = 3, b = 2, c = 0; the unlabelled
        // node is ignored. Normalised: 100 * (3 + 0 - raw) / 3.
        assert_eq!(scores(&p, &nodes, &none), Some(vec![0, 33, 100, 0]));
        let plain = labelled("q", json!({"app": "web"}), json!({}));
        assert_eq!(scores(&plain, &nodes, &none), None, "nothing groups it");
    }

    #[test]
    fn replica_set_pods_get_default_spreading() {
        let mut owners = OwnerSelectors::default();
        owners.controllers.insert(
            ("ReplicaSet".into(), "default".into(), "web-1".into()),
            LabelSelector::from_map(&[("app".to_owned(), "web".to_owned())].into()),
        );
        let owned = |name: &str| {
            let mut v = pod_json(name, json!({}));
            v["metadata"]["labels"] = json!({"app": "web"});
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true}]);
            PodInfo::from_json(v).unwrap()
        };
        let mut a1 = zoned("a1", "a");
        a1.add_pod(Arc::new(owned("r1")));
        let nodes = vec![a1, zoned("a2", "a"), node("bare", json!({}))];
        let p = owned("r2");
        let s = scores(&p, &nodes, &owners).expect("default constraints apply");
        assert!(s[1] > s[0], "the empty node wins: {s:?}");
        assert_eq!(default_selector(&p, &owners).to_string(), "app=web");

        let mut services = OwnerSelectors::default();
        services.services.insert(
            "default".into(),
            [(
                "svc".to_owned(),
                [("app".to_owned(), "web".to_owned())].into(),
            )]
            .into(),
        );
        let loose = labelled("l", json!({"app": "web", "x": "y"}), json!({}));
        assert_eq!(default_selector(&loose, &services).to_string(), "app=web");
        let unrelated = labelled("u", json!({"app": "db"}), json!({}));
        assert!(default_constraints(&unrelated, &services).is_empty());
    }
}
