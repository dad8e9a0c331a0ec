//! InterPodAffinity: required pod affinity and anti-affinity rule nodes out by the pods already
//! in the node's topology domain (and existing pods' anti-affinity keeps the incoming pod out
//! of theirs); preferred terms, and the terms of existing pods, move scores up or down.
//!
//! Everything that depends on other pods is counted once per cycle, in PreFilter and
//! PreScore, as counts per topology domain (`key=value` of a node label); the per-node filter
//! and score only look those counts up. A pod with no terms, in a cluster where no placed pod
//! has required anti-affinity, skips the filter entirely; nodes only hold their pods with
//! terms in `NodeInfo::pods_with_affinity`, so the skip test and the scoring of pods without
//! terms visit only those.

use crate::framework::{
    CycleState, FilterPlugin, Plugin, PodCounts, PreFilterPlugin, PreScorePlugin, ScorePlugin,
    Snapshot, MAX_NODE_SCORE,
};
use crate::node_info::NodeInfo;
use crate::pod_info::{AffinityTerm, PodInfo, WeightedAffinityTerm};
use crate::status::{Code, Status};
use berth_api_types::labels::LabelSelector;
use std::collections::{BTreeMap, HashMap};

/// The plugin's name.
pub const NAME: &str = "InterPodAffinity";
/// The reason when required affinity is not met.
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// The reason when the pod's required anti-affinity is not met.
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// The reason when an existing pod's anti-affinity keeps the pod out.
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// The weight an existing pod's required affinity term gets when scoring the incoming pod.
pub const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

const FILTER_KEY: &str = "InterPodAffinity/filter";
const SCORE_KEY: &str = "InterPodAffinity/score";

/// Counts of matching pods per topology domain.
type DomainCounts = HashMap<(String, String), i64>;

/// Filters by required pod (anti-)affinity; scores by preferred terms.
pub struct InterPodAffinity;

#[derive(Clone, Default)]
struct FilterState {
    /// The incoming pod's required terms with namespace selectors resolved to namespaces.
    affinity: Vec<AffinityTerm>,
    anti_affinity: Vec<AffinityTerm>,
    /// Domains with pods matching all of the incoming pod's affinity terms.
    affinity_counts: DomainCounts,
    /// Domains with pods matching one of its anti-affinity terms.
    anti_affinity_counts: DomainCounts,
    /// Domains where an existing pod's required anti-affinity matches the incoming pod.
    existing_anti_affinity_counts: DomainCounts,
    /// Labels of the incoming pod's namespace.
    namespace_labels: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct ScoreState {
    /// Score per topology key, then per value.
    by_domain: HashMap<String, HashMap<String, i64>>,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

/// Replaces a term's namespace selector by the namespaces it selects now.
fn resolve_namespaces(term: &AffinityTerm, snapshot: &Snapshot) -> AffinityTerm {
    let mut t = term.clone();
    if !t.namespace_selector.matches_nothing() {
        for (ns, labels) in snapshot.namespaces {
            if t.namespace_selector.matches(labels) {
                t.namespaces.insert(ns.clone());
            }
        }
        t.namespace_selector = LabelSelector::nothing();
    }
    t
}

fn bump(counts: &mut DomainCounts, node: &NodeInfo, key: &str, by: i64) {
    if let Some(value) = node.labels().get(key) {
        let slot = counts.entry((key.to_owned(), value.clone())).or_default();
        *slot += by;
        if *slot == 0 {
            counts.remove(&(key.to_owned(), value.clone()));
        }
    }
}

fn matches_all(terms: &[AffinityTerm], pod: &PodInfo) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, &NO_LABELS))
}

impl PodCounts for FilterState {
    fn update(&mut self, incoming: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64) {
        for t in &other.affinity.required_anti_affinity {
            if t.matches(incoming, &self.namespace_labels) {
                bump(
                    &mut self.existing_anti_affinity_counts,
                    node,
                    &t.topology_key,
                    by,
                );
            }
        }
        if matches_all(&self.affinity, other) {
            for t in &self.affinity {
                bump(&mut self.affinity_counts, node, &t.topology_key, by);
            }
        }
        for t in &self.anti_affinity {
            if t.matches(other, &NO_LABELS) {
                bump(&mut self.anti_affinity_counts, node, &t.topology_key, by);
            }
        }
    }
}

impl FilterState {
    fn satisfies_affinity(&self, pod: &PodInfo, node: &NodeInfo) -> bool {
        let labels = node.labels();
        let mut pods_exist = true;
        for t in &self.affinity {
            let Some(value) = labels.get(&t.topology_key) else {
                // Every topology key must be on the node.
                return false;
            };
            let n = self
                .affinity_counts
                .get(&(t.topology_key.clone(), value.clone()));
            if n.is_none_or(|n| *n <= 0) {
                pods_exist = false;
            }
        }
        // The first pod of a group whose terms select itself may go anywhere with the
        // topology labels, as long as no pod in the cluster matches yet.
        pods_exist || (self.affinity_counts.is_empty() && matches_all(&self.affinity, pod))
    }

    fn satisfies_anti_affinity(&self, node: &NodeInfo) -> bool {
        if self.anti_affinity_counts.is_empty() {
            return true;
        }
        let labels = node.labels();
        !self.anti_affinity.iter().any(|t| {
            labels.get(&t.topology_key).is_some_and(|v| {
                self.anti_affinity_counts
                    .get(&(t.topology_key.clone(), v.clone()))
                    .is_some_and(|n| *n > 0)
            })
        })
    }

    fn satisfies_existing_anti_affinity(&self, node: &NodeInfo) -> bool {
        if self.existing_anti_affinity_counts.is_empty() {
            return true;
        }
        !node.labels().iter().any(|(k, v)| {
            self.existing_anti_affinity_counts
                .get(&(k.clone(), v.clone()))
                .is_some_and(|n| *n > 0)
        })
    }
}

impl Plugin for InterPodAffinity {
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

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        let terms = &pod.affinity;
        let has_own =
            !terms.required_affinity.is_empty() || !terms.required_anti_affinity.is_empty();
        if !has_own && snapshot.pods_with_required_anti_affinity == 0 {
            return Status::new(Code::Skip, Vec::new());
        }
        let mut s = FilterState {
            affinity: terms
                .required_affinity
                .iter()
                .map(|t| resolve_namespaces(t, snapshot))
                .collect(),
            anti_affinity: terms
                .required_anti_affinity
                .iter()
                .map(|t| resolve_namespaces(t, snapshot))
                .collect(),
            namespace_labels: snapshot
                .namespaces
                .get(pod.namespace())
                .cloned()
                .unwrap_or_default(),
            ..FilterState::default()
        };
        for node in snapshot.nodes {
            if has_own {
                for other in &node.pods {
                    s.update(pod, other, node, 1);
                }
            } else {
                for other in &node.pods_with_required_anti_affinity {
                    s.update(pod, other, node, 1);
                }
            }
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

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<FilterState>(FILTER_KEY) else {
            return Status::error("InterPodAffinity ran without its PreFilter state");
        };
        if !s.satisfies_affinity(pod, node) {
            return Status::unresolvable(REASON_AFFINITY);
        }
        if !s.satisfies_anti_affinity(node) {
            return Status::unschedulable(REASON_ANTI_AFFINITY);
        }
        if !s.satisfies_existing_anti_affinity(node) {
            return Status::unschedulable(REASON_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }
}

impl ScoreState {
    fn add(&mut self, term: &AffinityTerm, weight: i64, node: &NodeInfo) {
        if let Some(value) = node.labels().get(&term.topology_key) {
            *self
                .by_domain
                .entry(term.topology_key.clone())
                .or_default()
                .entry(value.clone())
                .or_default() += weight;
        }
    }

    fn add_weighted(
        &mut self,
        terms: &[WeightedAffinityTerm],
        target: &PodInfo,
        ns_labels: &BTreeMap<String, String>,
        node: &NodeInfo,
        sign: i64,
    ) {
        for t in terms {
            if t.term.matches(target, ns_labels) {
                self.add(&t.term, t.weight * sign, node);
            }
        }
    }
}

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        let own = &pod.affinity;
        let has_own = !own.preferred_affinity.is_empty() || !own.preferred_anti_affinity.is_empty();
        let affinity: Vec<WeightedAffinityTerm> = own
            .preferred_affinity
            .iter()
            .map(|w| WeightedAffinityTerm {
                term: resolve_namespaces(&w.term, snapshot),
                weight: w.weight,
            })
            .collect();
        let anti: Vec<WeightedAffinityTerm> = own
            .preferred_anti_affinity
            .iter()
            .map(|w| WeightedAffinityTerm {
                term: resolve_namespaces(&w.term, snapshot),
                weight: w.weight,
            })
            .collect();
        if !has_own && snapshot.pods_with_affinity == 0 {
            return Status::new(Code::Skip, Vec::new());
        }
        let ns_labels = snapshot
            .namespaces
            .get(pod.namespace())
            .unwrap_or(&NO_LABELS);
        let mut s = ScoreState::default();
        for node in snapshot.nodes {
            // Without terms of its own, only placed pods with terms can move the score.
            let others = if has_own {
                &node.pods
            } else {
                &node.pods_with_affinity
            };
            if others.is_empty() || node.labels().is_empty() {
                continue;
            }
            for other in others {
                s.add_weighted(&affinity, other, &NO_LABELS, node, 1);
                s.add_weighted(&anti, other, &NO_LABELS, node, -1);
                for t in &other.affinity.required_affinity {
                    if t.matches(pod, ns_labels) {
                        s.add(t, HARD_POD_AFFINITY_WEIGHT, node);
                    }
                }
                s.add_weighted(&other.affinity.preferred_affinity, pod, ns_labels, node, 1);
                s.add_weighted(
                    &other.affinity.preferred_anti_affinity,
                    pod,
                    ns_labels,
                    node,
                    -1,
                );
            }
        }
        if s.by_domain.is_empty() {
            return Status::new(Code::Skip, Vec::new());
        }
        state.write(SCORE_KEY, s);
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<ScoreState>(SCORE_KEY) else {
            return 0;
        };
        let labels = node.labels();
        s.by_domain
            .iter()
            .filter_map(|(key, values)| values.get(labels.get(key)?))
            .sum()
    }

    fn normalize(&self, scores: &mut [i64]) {
        let (Some(min), Some(max)) = (scores.iter().min().copied(), scores.iter().max().copied())
        else {
            return;
        };
        let spread = max - min;
        for s in scores.iter_mut() {
            *s = if spread > 0 {
                MAX_NODE_SCORE * (*s - min) / spread
            } else {
                0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::NamespaceLabels;
    use crate::plugins::testing::{self, labelled, node};
    use serde_json::{json, Value};

    fn zone_node(name: &str, zone: &str) -> NodeInfo {
        node(
            name,
            json!({"metadata": {"labels": {"zone": zone, "kubernetes.io/hostname": name}}}),
        )
    }

    fn term(app: &str, key: &str) -> Value {
        json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
    }

    fn required(kind: &str, terms: Value) -> Value {
        json!({"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": terms}}})
    }

    fn run_filter(
        p: &PodInfo,
        nodes: &[NodeInfo],
        namespaces: &NamespaceLabels,
    ) -> Vec<(String, String)> {
        let snap = Snapshot {
            namespaces,
            ..Snapshot::of_nodes(nodes)
        };
        let mut state = CycleState::default();
        let pre = InterPodAffinity.pre_filter(&mut state, p, &snap);
        nodes
            .iter()
            .map(|n| {
                let verdict = if pre.code == Code::Skip {
                    "ok".to_owned()
                } else {
                    let s = InterPodAffinity.filter(&state, p, n);
                    s.reasons.first().cloned().unwrap_or_else(|| "ok".into())
                };
                (n.name.clone(), verdict)
            })
            .collect()
    }

    #[test]
    fn required_affinity_and_anti_affinity() {
        let mut no_ns = NamespaceLabels::new();
        no_ns.insert("default".into(), BTreeMap::new());
        no_ns.insert("other".into(), BTreeMap::new());
        let web = json!({"app": "web"});
        let mut a1 = zone_node("a1", "a");
        a1.add_pod(labelled("w1", web.clone(), json!({})));
        let a2 = zone_node("a2", "a");
        let b1 = zone_node("b1", "b");
        let bare = node("bare", json!({}));
        let nodes = vec![a1, a2, b1, bare];
        let ok = "ok";
        // (case, pod labels, spec, verdicts for a1 a2 b1 bare)
        let cases: Vec<(&str, Value, Value, [&str; 4])> = vec![
            (
                "affinity to web by zone",
                json!({}),
                required("podAffinity", json!([term("web", "zone")])),
                [ok, ok, REASON_AFFINITY, REASON_AFFINITY],
            ),
            (
                "affinity to web by host",
                json!({}),
                required(
                    "podAffinity",
                    json!([term("web", "kubernetes.io/hostname")]),
                ),
                [ok, REASON_AFFINITY, REASON_AFFINITY, REASON_AFFINITY],
            ),
            (
                "affinity to a group nobody runs yet, not matching itself",
                json!({}),
                required("podAffinity", json!([term("db", "zone")])),
                [REASON_AFFINITY; 4],
            ),
            (
                "first pod of a group may go anywhere with the topology key",
                json!({"app": "db"}),
                required("podAffinity", json!([term("db", "zone")])),
                [ok, ok, ok, REASON_AFFINITY],
            ),
            (
                "anti-affinity to web by zone",
                json!({}),
                required("podAntiAffinity", json!([term("web", "zone")])),
                [REASON_ANTI_AFFINITY, REASON_ANTI_AFFINITY, ok, ok],
            ),
            (
                "anti-affinity to web by host",
                json!({}),
                required(
                    "podAntiAffinity",
                    json!([term("web", "kubernetes.io/hostname")]),
                ),
                [REASON_ANTI_AFFINITY, ok, ok, ok],
            ),
            (
                "affinity in another namespace finds nothing",
                json!({}),
                required(
                    "podAffinity",
                    json!([{"labelSelector": {"matchLabels": {"app": "web"}},
                        "namespaces": ["other"], "topologyKey": "zone"}]),
                ),
                [REASON_AFFINITY; 4],
            ),
            (
                "an empty namespace selector means every namespace",
                json!({}),
                required(
                    "podAffinity",
                    json!([{"labelSelector": {"matchLabels": {"app": "web"}},
                        "namespaces": ["other"], "namespaceSelector": {}, "topologyKey": "zone"}]),
                ),
                [ok, ok, REASON_AFFINITY, REASON_AFFINITY],
            ),
            ("no terms at all", json!({}), json!({}), [ok, ok, ok, ok]),
        ];
        for (name, labels, spec, want) in cases {
            let p = labelled("p", labels, spec);
            let got = run_filter(&p, &nodes, &no_ns);
            let got: Vec<&str> = got.iter().map(|(_, r)| r.as_str()).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn existing_pods_anti_affinity_keeps_matching_pods_out() {
        let mut namespaces = NamespaceLabels::new();
        namespaces.insert("default".into(), [("team".into(), "x".into())].into());
        let mut a1 = zone_node("a1", "a");
        a1.add_pod(labelled(
            "loner",
            json!({}),
            required("podAntiAffinity", json!([term("web", "zone")])),
        ));
        a1.add_pod(labelled(
            "picky",
            json!({}),
            required(
                "podAntiAffinity",
                json!([{"labelSelector": {"matchLabels": {"app": "cache"}},
                    "namespaceSelector": {"matchLabels": {"team": "x"}}, "topologyKey": "kubernetes.io/hostname"}]),
            ),
        ));
        let nodes = vec![a1, zone_node("a2", "a"), zone_node("b1", "b")];
        let cases = [
            (
                "web",
                [
                    REASON_EXISTING_ANTI_AFFINITY,
                    REASON_EXISTING_ANTI_AFFINITY,
                    "ok",
                ],
            ),
            ("cache", [REASON_EXISTING_ANTI_AFFINITY, "ok", "ok"]),
            ("other", ["ok", "ok", "ok"]),
        ];
        for (app, want) in cases {
            let p = labelled("p", json!({ "app": app }), json!({}));
            let got = run_filter(&p, &nodes, &namespaces);
            let got: Vec<&str> = got.iter().map(|(_, r)| r.as_str()).collect();
            assert_eq!(got, want, "{app}");
        }
        // Without the namespace's labels the namespace selector matches nothing.
        let p = labelled("p", json!({"app": "cache"}), json!({}));
        let got = run_filter(&p, &nodes, &NamespaceLabels::new());
        assert!(got.iter().all(|(_, r)| r == "ok"), "{got:?}");
    }

    #[test]
    fn removing_a_pod_in_what_if_state_lifts_anti_affinity() {
        let web = labelled("w1", json!({"app": "web"}), json!({}));
        let mut a1 = zone_node("a1", "a");
        a1.add_pod(web.clone());
        let nodes = vec![a1];
        let p = labelled(
            "p",
            json!({}),
            required("podAntiAffinity", json!([term("web", "zone")])),
        );
        let snap = Snapshot::of_nodes(&nodes);
        let mut state = CycleState::default();
        assert!(InterPodAffinity
            .pre_filter(&mut state, &p, &snap)
            .is_success());
        assert!(!InterPodAffinity.filter(&state, &p, &nodes[0]).is_success());
        InterPodAffinity.remove_pod(&mut state, &p, &web, &nodes[0]);
        assert!(InterPodAffinity.filter(&state, &p, &nodes[0]).is_success());
        InterPodAffinity.add_pod(&mut state, &p, &web, &nodes[0]);
        assert!(!InterPodAffinity.filter(&state, &p, &nodes[0]).is_success());
    }

    fn scores(p: &PodInfo, nodes: &[NodeInfo]) -> Option<Vec<i64>> {
        testing::scores(&InterPodAffinity, p, nodes, &Snapshot::of_nodes(nodes))
    }

    #[test]
    fn preferred_terms_score_by_domain() {
        let mut a1 = zone_node("a1", "a");
        a1.add_pod(labelled("w", json!({"app": "web"}), json!({})));
        let mut b1 = zone_node("b1", "b");
        b1.add_pod(labelled("d", json!({"app": "db"}), json!({})));
        let nodes = vec![a1, zone_node("a2", "a"), b1, zone_node("c1", "c")];
        let pref = |kind: &str, terms: Value| json!({"affinity": {kind: {"preferredDuringSchedulingIgnoredDuringExecution": terms}}});
        let cases: Vec<(&str, Value, Option<Vec<i64>>)> = vec![
            ("no terms anywhere", json!({}), None),
            (
                "near web",
                pref(
                    "podAffinity",
                    json!([{"weight": 10, "podAffinityTerm": term("web", "zone")}]),
                ),
                Some(vec![100, 100, 0, 0]),
            ),
            (
                "near web, away from db, weights add",
                {
                    let mut v = pref(
                        "podAffinity",
                        json!([{"weight": 10, "podAffinityTerm": term("web", "zone")}]),
                    );
                    v["affinity"]["podAntiAffinity"] = json!({"preferredDuringSchedulingIgnoredDuringExecution":
                        [{"weight": 30, "podAffinityTerm": term("db", "zone")}]});
                    v
                },
                // web zone 10, db zone -30, else 0: normalised over [-30, 10].
                Some(vec![100, 100, 0, 75]),
            ),
            (
                "away from web",
                pref(
                    "podAntiAffinity",
                    json!([{"weight": 50, "podAffinityTerm": term("web", "kubernetes.io/hostname")}]),
                ),
                Some(vec![0, 100, 100, 100]),
            ),
        ];
        for (name, spec, want) in cases {
            let p = labelled("p", json!({}), spec);
            assert_eq!(scores(&p, &nodes), want, "{name}");
        }
    }

    #[test]
    fn existing_pods_terms_move_the_incoming_pods_score() {
        let mut a1 = zone_node("a1", "a");
        a1.add_pod(labelled(
            "friendly",
            json!({}),
            json!({"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
                [{"weight": 5, "podAffinityTerm": term("web", "zone")}]}}}),
        ));
        let mut b1 = zone_node("b1", "b");
        b1.add_pod(labelled(
            "needy",
            json!({}),
            required("podAffinity", json!([term("web", "zone")])),
        ));
        let nodes = vec![a1, b1, zone_node("c1", "c")];
        let p = labelled("p", json!({"app": "web"}), json!({}));
        // zone a: +5 (preferred), zone b: +1 (required, hard weight 1), zone c: 0.
        assert_eq!(scores(&p, &nodes), Some(vec![100, 20, 0]));
        let other = labelled("q", json!({"app": "api"}), json!({}));
        assert_eq!(scores(&other, &nodes), None);
    }
}
