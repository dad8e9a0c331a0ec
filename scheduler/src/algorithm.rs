//! One scheduling decision: filter the nodes, score the feasible ones, pick the best, or
//! explain why none fits in the words Kubernetes users know.
//!
//! Large clusters are not searched exhaustively: like upstream, the search stops once enough
//! feasible nodes are found (all nodes below 100, else an adaptive share of at least 5% and at
//! least 100 nodes), and the next search starts where the last one stopped so load rotates.

use crate::framework::{CycleState, Profile, Snapshot};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Why a pod could not be placed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cluster has no nodes at all.
    #[error("no nodes available to schedule pods")]
    NoNodes,
    /// Every node was ruled out; the message counts the reasons.
    #[error("{0}")]
    Unfit(FitError),
    /// A plugin failed internally.
    #[error("running {plugin:?} plugin: {reason}", plugin = .0.plugin, reason = .0.reasons.join(", "))]
    Plugin(Status),
}

/// The per-node verdicts of a failed search.
#[derive(Clone, Debug)]
pub struct FitError {
    /// How many nodes the cluster has.
    pub num_nodes: usize,
    /// The filter verdict of each rejected node.
    pub statuses: BTreeMap<String, Status>,
    /// What the post-filter step said, if it ran and failed.
    pub post_filter_msg: String,
    /// The node a post-filter made room on, and the pods to remove from it for that.
    pub nominated: Option<(String, Vec<Arc<PodInfo>>)>,
}

impl FitError {
    /// Whether any rejection could be resolved by removing pods (preemption may help).
    pub fn resolvable(&self) -> bool {
        self.statuses
            .values()
            .any(|s| s.code == Code::Unschedulable)
    }
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
        for status in self.statuses.values() {
            for reason in &status.reasons {
                *histogram.entry(reason.as_str()).or_default() += 1;
            }
        }
        // Sorted as strings, counts included, as Kubernetes sorts them.
        let mut parts: Vec<String> = histogram
            .into_iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        parts.sort();
        write!(f, "0/{} nodes are available:", self.num_nodes)?;
        if !parts.is_empty() {
            write!(f, " {}.", parts.join(", "))?;
        }
        if !self.post_filter_msg.is_empty() {
            write!(f, " {}.", self.post_filter_msg)?;
        }
        Ok(())
    }
}

/// How many feasible nodes to look for among `all` before scoring.
pub fn feasible_nodes_to_find(all: usize) -> usize {
    const MIN_NODES: usize = 100;
    const MIN_PERCENT: usize = 5;
    if all < MIN_NODES {
        return all;
    }
    let percent = 50usize.saturating_sub(all / 125).max(MIN_PERCENT);
    (all * percent / 100).max(MIN_NODES)
}

/// The scheduling algorithm with its small bit of state: where the next search starts and
/// the seed that breaks ties between equally good nodes.
pub struct Algorithm {
    /// The plugins to run.
    pub profile: Profile,
    next_start: usize,
    seed: u64,
}

impl Algorithm {
    /// An algorithm over `profile`; `seed` makes tie-breaking reproducible.
    pub fn new(profile: Profile, seed: u64) -> Algorithm {
        Algorithm {
            profile,
            next_start: 0,
            seed: seed | 1,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: cheap and good enough to spread ties.
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        x
    }

    /// Picks a node for `pod` among `nodes`, or says why none fits.
    pub fn schedule(&mut self, pod: &PodInfo, nodes: &[NodeInfo]) -> Result<String, ScheduleError> {
        self.schedule_in(pod, &Snapshot::of_nodes(nodes))
    }

    /// Picks a node for `pod` in `snapshot`, or says why none fits (running the post-filters,
    /// such as preemption, when no node does).
    pub fn schedule_in(
        &mut self,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<String, ScheduleError> {
        let nodes = snapshot.nodes;
        if nodes.is_empty() {
            return Err(ScheduleError::NoNodes);
        }
        let mut state = CycleState::default();
        let pre = self.profile.run_pre_filters(&mut state, pod, snapshot);
        let mut feasible: Vec<&NodeInfo> = Vec::new();
        let mut statuses = BTreeMap::new();
        match pre.code {
            Code::Success | Code::Skip => {
                let want = feasible_nodes_to_find(nodes.len());
                feasible.reserve(want.min(nodes.len()));
                let mut processed = 0;
                let start = self.next_start % nodes.len();
                for i in 0..nodes.len() {
                    let node = &nodes[(start + i) % nodes.len()];
                    processed += 1;
                    let status = self.profile.run_filters_with_nominated(
                        &state,
                        pod,
                        node,
                        snapshot.nominated_on(&node.name),
                    );
                    match status.code {
                        Code::Success | Code::Skip => {
                            feasible.push(node);
                            if feasible.len() >= want {
                                break;
                            }
                        }
                        Code::Error => return Err(ScheduleError::Plugin(status)),
                        _ => {
                            statuses.insert(node.name.clone(), status);
                        }
                    }
                }
                self.next_start = (start + processed) % nodes.len();
            }
            Code::Error => return Err(ScheduleError::Plugin(pre)),
            _ => {
                // A pre-filter rejection rules out every node for the same reasons.
                for node in nodes {
                    statuses.insert(node.name.clone(), pre.clone());
                }
            }
        }
        if feasible.is_empty() {
            let mut err = FitError {
                num_nodes: nodes.len(),
                statuses,
                post_filter_msg: String::new(),
                nominated: None,
            };
            if let Some(r) = self
                .profile
                .run_post_filters(&state, snapshot, pod, &err.statuses)
            {
                if let Some(node) = r.nominated_node.filter(|_| r.status.is_success()) {
                    err.nominated = Some((node, r.victims));
                } else {
                    err.post_filter_msg = r.status.reasons.join(", ");
                }
            }
            return Err(ScheduleError::Unfit(err));
        }
        if feasible.len() == 1 || !self.profile.has_scores() {
            return Ok(feasible[0].name.clone());
        }
        let scores = self
            .profile
            .run_scores(&mut state, pod, &feasible, snapshot)
            .map_err(ScheduleError::Plugin)?;
        // Reservoir sampling over the best-scoring nodes keeps ties fair.
        let mut best = 0;
        let mut ties = 0u64;
        let mut best_score = i64::MIN;
        for (i, s) in scores.iter().enumerate() {
            if *s > best_score {
                best_score = *s;
                best = i;
                ties = 1;
            } else if *s == best_score {
                ties += 1;
                if self.next_random().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        Ok(feasible[best].name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::default_profile;
    use crate::plugins::testing::{node, pod, pod_requesting};
    use serde_json::json;
    use std::sync::Arc;

    fn algo() -> Algorithm {
        Algorithm::new(default_profile("default-scheduler").unwrap(), 7)
    }

    #[test]
    fn message_counts_reasons_like_kubernetes() {
        let nodes = vec![
            node(
                "master",
                json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
            ),
            node(
                "small-1",
                json!({"status": {"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}}}),
            ),
            node(
                "small-2",
                json!({"status": {"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}}}),
            ),
        ];
        let p = pod_requesting("big", json!({"cpu": "2"}));
        let err = algo().schedule(&p, &nodes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/3 nodes are available: 1 node(s) had untolerated taint \
             {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 \
             nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption \
             victims found for incoming pod.."
        );
        let p = pod_requesting("bigger", json!({"cpu": "2", "memory": "2Gi"}));
        let err = algo().schedule(&p, &nodes).unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/3 nodes are available: 1 node(s) had untolerated taint \
             {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu, 2 Insufficient memory. \
             preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 \
             No preemption victims found for incoming pod.."
        );
        let sel = pod("sel", json!({"nodeSelector": {"disk": "ssd"}}));
        let err = algo().schedule(&sel, &nodes[1..]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
        );
        let ScheduleError::Unfit(fit) = err else {
            panic!("not a fit error")
        };
        assert!(!fit.resolvable());
        assert_eq!(
            algo().schedule(&sel, &[]).unwrap_err().to_string(),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn reasons_sort_as_strings() {
        let mut statuses = BTreeMap::new();
        for i in 0..10 {
            statuses.insert(format!("a{i}"), Status::unschedulable("Insufficient cpu"));
        }
        statuses.insert(
            "b".into(),
            Status::unresolvable("node(s) were unschedulable"),
        );
        statuses.insert(
            "c".into(),
            Status::unresolvable("node(s) were unschedulable"),
        );
        let e = FitError {
            num_nodes: 12,
            statuses,
            post_filter_msg: String::new(),
            nominated: None,
        };
        assert_eq!(
            e.to_string(),
            "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."
        );
    }

    #[test]
    fn picks_the_best_scoring_node() {
        let mut busy = node("busy", json!({}));
        busy.add_pod(Arc::new(pod_requesting(
            "old",
            json!({"cpu": "3", "memory": "6Gi"}),
        )));
        let nodes = vec![busy, node("idle", json!({}))];
        let p = pod_requesting("p", json!({"cpu": "500m", "memory": "1Gi"}));
        let mut a = algo();
        for _ in 0..4 {
            assert_eq!(a.schedule(&p, &nodes).unwrap(), "idle");
        }
        let pref = pod(
            "p",
            json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "preference": {"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["b"]}]}}]}}}),
        );
        let nodes = vec![
            node(
                "a",
                json!({"metadata": {"labels": {"kubernetes.io/hostname": "a"}}}),
            ),
            node(
                "b",
                json!({"metadata": {"labels": {"kubernetes.io/hostname": "b"}}}),
            ),
        ];
        assert_eq!(a.schedule(&pref, &nodes).unwrap(), "b");
    }

    #[test]
    fn ties_are_spread() {
        let nodes: Vec<NodeInfo> = (0..4).map(|i| node(&format!("n{i}"), json!({}))).collect();
        let p = pod("p", json!({}));
        let mut a = algo();
        let picked: std::collections::BTreeSet<String> =
            (0..40).map(|_| a.schedule(&p, &nodes).unwrap()).collect();
        assert!(picked.len() > 1, "always {picked:?}");
    }

    #[test]
    fn feasible_share() {
        let cases = [
            (0, 0),
            (50, 50),
            (100, 100),
            (1000, 420),
            (5000, 500),
            (6000, 300),
            (10000, 500),
        ];
        for (all, want) in cases {
            assert_eq!(feasible_nodes_to_find(all), want, "{all}");
        }
    }

    fn cache_with_node(cpu: &str) -> crate::cache::Cache {
        let mut cache = crate::cache::Cache::new();
        cache.upsert_node(
            serde_json::from_value(json!({"metadata": {"name": "a", "labels":
                {"kubernetes.io/hostname": "a"}},
                "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}}))
            .unwrap(),
        );
        cache
    }

    fn prioritised(name: &str, priority: i32, spec: serde_json::Value) -> Arc<PodInfo> {
        let mut spec = spec;
        spec["priority"] = json!(priority);
        Arc::new(pod(name, spec))
    }

    fn wants_cpu(cpu: &str) -> serde_json::Value {
        json!({"containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": cpu}}}]})
    }

    #[test]
    fn nominated_pods_of_equal_or_higher_priority_keep_their_room() {
        let mut cache = cache_with_node("2");
        let preemptor = prioritised("preemptor", 100, wants_cpu("2"));
        cache.nominate(preemptor.clone(), Some("a"));
        let mut algo = algo();
        let lower = prioritised("lower", 0, wants_cpu("1"));
        let err = algo.schedule_in(&lower, &cache.snapshot()).unwrap_err();
        assert!(err.to_string().contains("1 Insufficient cpu"), "{err}");
        let equal = prioritised("equal", 100, wants_cpu("1"));
        assert!(algo.schedule_in(&equal, &cache.snapshot()).is_err());
        // A more important pod does not wait for it, and the nominated pod itself fits.
        let higher = prioritised("higher", 200, wants_cpu("1"));
        assert_eq!(algo.schedule_in(&higher, &cache.snapshot()).unwrap(), "a");
        assert_eq!(
            algo.schedule_in(&preemptor, &cache.snapshot()).unwrap(),
            "a"
        );
        // Once the nominated pod is placed (or its nomination ends) the room is free again.
        cache.assume(preemptor.clone(), "a");
        assert!(!cache.is_nominated(&preemptor.key));
        assert!(cache.snapshot().nominated_on("a").is_empty());
        cache.forget(&preemptor.key, &preemptor.uid);
        assert_eq!(algo.schedule_in(&lower, &cache.snapshot()).unwrap(), "a");
        cache.nominate(preemptor.clone(), Some("a"));
        cache.nominate(preemptor.clone(), None);
        assert_eq!(algo.schedule_in(&lower, &cache.snapshot()).unwrap(), "a");
    }

    #[test]
    fn nominated_pods_do_not_satisfy_affinity_before_they_are_placed() {
        let mut cache = cache_with_node("4");
        let web = json!({"containers": [{"name": "c", "image": "i"}]});
        let nominated = Arc::new(
            PodInfo::from_json(json!({
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                "spec": {"priority": 100, "containers": web["containers"]}}))
            .unwrap(),
        );
        cache.nominate(nominated.clone(), Some("a"));
        let follower = prioritised(
            "follower",
            0,
            json!({"containers": [{"name": "c", "image": "i"}],
                "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}},
                     "topologyKey": "kubernetes.io/hostname"}]}}}),
        );
        let mut algo = algo();
        // With the nominated pod counted the term would hold; without it it does not, and the
        // pod must pass both.
        let err = algo.schedule_in(&follower, &cache.snapshot()).unwrap_err();
        assert!(
            err.to_string().contains("didn't match pod affinity rules"),
            "{err}"
        );
        cache.set_bound_pod(nominated, "a");
        assert_eq!(algo.schedule_in(&follower, &cache.snapshot()).unwrap(), "a");
    }

    #[test]
    fn anti_affinity_with_match_label_keys_ignores_other_versions() {
        let mut cache = cache_with_node("4");
        let versioned = |name: &str, hash: &str| {
            Arc::new(
                PodInfo::from_json(json!({
                    "metadata": {"name": name, "namespace": "default",
                        "labels": {"app": "web", "pod-template-hash": hash}},
                    "spec": {"containers": [{"name": "c", "image": "i"}],
                        "affinity": {"podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [{
                                // As stored: the API server merged the key's value in.
                                "labelSelector": {"matchLabels": {"app": "web"},
                                    "matchExpressions": [{"key": "pod-template-hash",
                                        "operator": "In", "values": [hash]}]},
                                "matchLabelKeys": ["pod-template-hash"],
                                "topologyKey": "kubernetes.io/hostname"}]}}}}))
                .unwrap(),
            )
        };
        cache.set_bound_pod(versioned("old", "v1"), "a");
        let mut algo = algo();
        // The old version's pod does not keep the new version off the node.
        let new = versioned("new-1", "v2");
        assert_eq!(algo.schedule_in(&new, &cache.snapshot()).unwrap(), "a");
        cache.assume(new, "a");
        // A second pod of the new version is kept off by the first.
        let err = algo
            .schedule_in(&versioned("new-2", "v2"), &cache.snapshot())
            .unwrap_err();
        assert!(err.to_string().contains("anti-affinity"), "{err}");
    }
}
