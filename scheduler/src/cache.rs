//! The node cache: every node with the pods bound or assumed onto it, kept current by watch
//! events and owned by the one task that schedules, so a scheduling cycle reads it without
//! locks or copies.
//!
//! A pod is *assumed* onto its node the moment the scheduler picks the node, before the
//! binding reaches the API, so the next cycle already counts it and a burst cannot overcommit
//! a node. When the bound pod arrives from the watch the assumption becomes a fact; when the
//! binding fails the assumption is forgotten.

use crate::framework::{NamespaceLabels, NominatedPods, OwnerSelectors, PdbInfo, Snapshot};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use berth_api_types::k8s::api::core::v1::Node;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Adds `by` (1 or -1) to the node count of every image `info` reports.
fn count_images(image_nodes: &mut HashMap<String, usize>, info: &NodeInfo, by: isize) {
    for name in info.images.keys() {
        let n = image_nodes.entry(name.clone()).or_default();
        *n = n.saturating_add_signed(by);
        if *n == 0 {
            image_nodes.remove(name);
        }
    }
}

/// Where a pod is accounted and whether that is confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Placement {
    node: String,
    assumed: bool,
}

/// Nodes and placed pods.
#[derive(Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, Placement>,
    /// Pods bound to nodes the cache has not seen yet, by node name.
    waiting: HashMap<String, Vec<Arc<PodInfo>>>,
    /// Labels of every namespace.
    namespaces: NamespaceLabels,
    /// Disruption budgets by `namespace/name`, and the same as a list for snapshots.
    pdbs: BTreeMap<String, PdbInfo>,
    pdb_list: Vec<PdbInfo>,
    /// Services and controllers that group pods.
    owners: OwnerSelectors,
    /// How many nodes report each image name.
    image_nodes: HashMap<String, usize>,
    /// Placed pods (on known nodes) with any inter-pod term, and with required anti-affinity.
    affinity_pods: usize,
    anti_affinity_pods: usize,
    /// Pending pods nominated to a node, by node name, and the node of each by pod key.
    nominated: NominatedPods,
    nominated_node: HashMap<String, String>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Every known node, in a stable order.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// What a scheduling cycle sees.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            nodes: &self.nodes,
            namespaces: &self.namespaces,
            pdbs: &self.pdb_list,
            owners: &self.owners,
            image_nodes: &self.image_nodes,
            pods_with_affinity: self.affinity_pods,
            pods_with_required_anti_affinity: self.anti_affinity_pods,
            nominated: &self.nominated,
        }
    }

    /// Records that the pending `pod` waits for room on `node` (`None`: on no node any more).
    /// Filtering pods of equal or lower priority then counts it on that node.
    pub fn nominate(&mut self, pod: Arc<PodInfo>, node: Option<&str>) {
        self.unnominate(&pod.key);
        if let Some(node) = node.filter(|n| !n.is_empty()) {
            self.nominated_node.insert(pod.key.clone(), node.to_owned());
            self.nominated.entry(node.to_owned()).or_default().push(pod);
        }
    }

    /// Drops the nomination of the pod with `key`, if any.
    pub fn unnominate(&mut self, key: &str) {
        let Some(node) = self.nominated_node.remove(key) else {
            return;
        };
        if let Some(list) = self.nominated.get_mut(&node) {
            list.retain(|p| p.key != key);
            if list.is_empty() {
                self.nominated.remove(&node);
            }
        }
    }

    /// Whether the pod with `key` is nominated to a node.
    pub fn is_nominated(&self, key: &str) -> bool {
        self.nominated_node.contains_key(key)
    }

    /// Adds `by` (1 or -1) to the counts of placed pods with inter-pod terms.
    fn count_terms(&mut self, pod: &PodInfo, by: isize) {
        if !pod.affinity.is_empty() {
            self.affinity_pods = self.affinity_pods.saturating_add_signed(by);
        }
        if !pod.affinity.required_anti_affinity.is_empty() {
            self.anti_affinity_pods = self.anti_affinity_pods.saturating_add_signed(by);
        }
    }

    /// The selectors of Services and controllers, for changing.
    pub fn owners_mut(&mut self) -> &mut OwnerSelectors {
        &mut self.owners
    }

    /// Records a namespace's labels (`None` when it is gone).
    pub fn set_namespace(&mut self, name: &str, labels: Option<BTreeMap<String, String>>) {
        match labels {
            Some(l) => {
                self.namespaces.insert(name.to_owned(), l);
            }
            None => {
                self.namespaces.remove(name);
            }
        }
    }

    /// Keeps only the namespaces named in `names`.
    pub fn retain_namespaces(&mut self, names: &std::collections::HashSet<String>) {
        self.namespaces.retain(|n, _| names.contains(n));
    }

    /// Records a disruption budget under `key` (`None` when it is gone).
    pub fn set_pdb(&mut self, key: &str, pdb: Option<PdbInfo>) {
        match pdb {
            Some(p) => {
                self.pdbs.insert(key.to_owned(), p);
            }
            None => {
                self.pdbs.remove(key);
            }
        }
        self.pdb_list = self.pdbs.values().cloned().collect();
    }

    /// Drops every disruption budget (before a full list is applied).
    pub fn clear_pdbs(&mut self) {
        self.pdbs.clear();
        self.pdb_list.clear();
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// Adds or replaces a node, keeping its pods.
    pub fn upsert_node(&mut self, node: Node) {
        self.upsert_node_info(NodeInfo::new(&node));
    }

    /// Adds or replaces a node given as the fields the cache keeps (pods placed on `info` are
    /// not taken over: a known node keeps its own).
    pub fn upsert_node_info(&mut self, info: NodeInfo) {
        let name = info.name.clone();
        if let Some(i) = self.index.get(&name).copied() {
            let known = &mut self.nodes[i];
            count_images(&mut self.image_nodes, known, -1);
            known.take_node(info);
            count_images(&mut self.image_nodes, known, 1);
            return;
        }
        let mut info = info;
        count_images(&mut self.image_nodes, &info, 1);
        for pod in self.waiting.remove(&name).into_iter().flatten() {
            self.count_terms(&pod, 1);
            info.add_pod(pod);
        }
        self.index.insert(name, self.nodes.len());
        self.nodes.push(info);
    }

    /// Removes a node; its bound pods wait in case it comes back.
    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        let info = self.nodes.swap_remove(i);
        count_images(&mut self.image_nodes, &info, -1);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name.clone(), i);
        }
        let mut keep = Vec::new();
        for pod in info.pods {
            self.count_terms(&pod, -1);
            if self.pods.get(&pod.key).is_some_and(|pl| pl.assumed) {
                self.pods.remove(&pod.key);
            } else {
                keep.push(pod);
            }
        }
        if !keep.is_empty() {
            self.waiting.insert(name.to_owned(), keep);
        }
    }

    fn place(&mut self, pod: Arc<PodInfo>, node: &str) {
        match self.index.get(node).copied() {
            Some(i) => {
                self.count_terms(&pod, 1);
                self.nodes[i].add_pod(pod);
            }
            None => self.waiting.entry(node.to_owned()).or_default().push(pod),
        }
    }

    fn unplace(&mut self, key: &str, node: &str) {
        match self.index.get(node).copied() {
            Some(i) => {
                if let Some(pod) = self.nodes[i].remove_pod(key) {
                    self.count_terms(&pod, -1);
                }
            }
            None => {
                if let Some(list) = self.waiting.get_mut(node) {
                    list.retain(|p| p.key != key);
                }
            }
        }
    }

    /// Accounts `pod` on `node` before its binding is confirmed (ending any nomination).
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.key);
        self.unnominate(&pod.key);
        self.pods.insert(
            pod.key.clone(),
            Placement {
                node: node.to_owned(),
                assumed: true,
            },
        );
        self.place(pod, node);
    }

    /// Drops the assumption of pod `uid` whose binding failed; a confirmed pod, and a newer pod
    /// of the same name assumed meanwhile, are left alone.
    pub fn forget(&mut self, key: &str, uid: &str) {
        let Some(placement) = self.pods.get(key).filter(|p| p.assumed) else {
            return;
        };
        let same = self
            .index
            .get(&placement.node)
            .and_then(|&i| self.nodes[i].pods.iter().find(|p| p.key == key))
            .is_none_or(|p| p.uid == uid);
        if same {
            self.remove_pod(key);
        }
    }

    /// Whether the API showed `key` bound to a node (not merely assumed).
    pub fn is_bound(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| !p.assumed)
    }

    /// Whether `key` is assumed but not yet seen bound.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    /// Records a pod the API says is bound to `node` (confirming any assumption).
    pub fn set_bound_pod(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.key);
        self.unnominate(&pod.key);
        self.pods.insert(
            pod.key.clone(),
            Placement {
                node: node.to_owned(),
                assumed: false,
            },
        );
        self.place(pod, node);
    }

    /// Removes a pod from wherever it is accounted (its nomination stays: see
    /// [`Cache::unnominate`]).
    pub fn remove_pod(&mut self, key: &str) {
        if let Some(p) = self.pods.remove(key) {
            self.unplace(key, &p.node);
        }
    }

    /// How many pods are accounted (assumed or bound).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// The keys of every pod the cache holds: accounted on a node (assumed or bound) or
    /// nominated to one.
    pub fn pod_keys(&self) -> impl Iterator<Item = &str> {
        self.pods
            .keys()
            .chain(self.nominated_node.keys())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::pod_requesting;
    use serde_json::json;

    fn n(name: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name}, "status": {"allocatable":
            {"cpu": "4", "memory": "8Gi", "pods": "110"}}}))
        .unwrap()
    }

    fn p(name: &str, cpu: &str) -> Arc<PodInfo> {
        Arc::new(pod_requesting(name, json!({"cpu": cpu})))
    }

    #[test]
    fn assume_confirm_forget() {
        let mut c = Cache::new();
        c.upsert_node(n("a"));
        c.assume(p("x", "1"), "a");
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 1000);
        assert!(c.is_assumed("default/x"));
        c.set_bound_pod(p("x", "1"), "a");
        assert!(!c.is_assumed("default/x"));
        assert_eq!(
            c.node("a").unwrap().requested.milli_cpu,
            1000,
            "counted once"
        );
        c.forget("default/x", &p("x", "1").uid);
        assert_eq!(
            c.node("a").unwrap().requested.milli_cpu,
            1000,
            "bound pods are not forgotten"
        );
        let y = p("y", "500m");
        c.assume(y.clone(), "a");
        // The failed binding of an earlier pod of the same name leaves this one assumed.
        c.forget("default/y", "an-earlier-uid");
        assert!(c.is_assumed("default/y"));
        c.forget("default/y", &y.uid);
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 1000);
        c.remove_pod("default/x");
        assert_eq!(c.node("a").unwrap().requested.milli_cpu, 0);
        assert_eq!(c.pod_count(), 0);
    }

    #[test]
    fn pods_wait_for_their_node_and_survive_node_churn() {
        let mut c = Cache::new();
        c.set_bound_pod(p("x", "1"), "late");
        c.upsert_node(n("a"));
        c.upsert_node(n("late"));
        assert_eq!(c.node("late").unwrap().pods.len(), 1);
        c.assume(p("y", "1"), "late");
        c.remove_node("a");
        assert_eq!(
            c.node("late").unwrap().name,
            "late",
            "index fixed after swap"
        );
        c.remove_node("late");
        assert!(c.nodes().is_empty());
        assert!(
            !c.is_assumed("default/y"),
            "assumptions on a removed node are dropped"
        );
        c.upsert_node(n("late"));
        assert_eq!(
            c.node("late").unwrap().requested.milli_cpu,
            1000,
            "bound pod restored"
        );
        c.upsert_node(n("late"));
        assert_eq!(
            c.node("late").unwrap().pods.len(),
            1,
            "an update keeps pods"
        );
    }

    #[test]
    fn image_holders_are_counted_across_node_updates() {
        let with = |name: &str, images: serde_json::Value| -> Node {
            serde_json::from_value(json!({"metadata": {"name": name},
                "status": {"images": images}}))
            .unwrap()
        };
        let img = |n: &str| json!({"names": [n], "sizeBytes": 1});
        let mut c = Cache::new();
        c.upsert_node(with("a", json!([img("x:1"), img("y:1")])));
        c.upsert_node(with("b", json!([img("x:1")])));
        let count = |c: &Cache, i: &str| c.snapshot().image_nodes.get(i).copied();
        assert_eq!((count(&c, "x:1"), count(&c, "y:1")), (Some(2), Some(1)));
        c.upsert_node(with("a", json!([img("x:1")])));
        assert_eq!((count(&c, "x:1"), count(&c, "y:1")), (Some(2), None));
        c.remove_node("b");
        assert_eq!(count(&c, "x:1"), Some(1));
        assert_eq!(c.node("a").unwrap().images.get("x:1"), Some(&1));
    }

    #[test]
    fn pods_with_terms_are_counted_wherever_they_go() {
        let anti = |name: &str| {
            Arc::new(
                PodInfo::from_json(json!({
                    "metadata": {"name": name, "namespace": "default"},
                    "spec": {"containers": [{"name": "c", "image": "i"}],
                        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                            [{"labelSelector": {}, "topologyKey": "zone"}]}}}}))
                .unwrap(),
            )
        };
        let counts = |c: &Cache| {
            let s = c.snapshot();
            (s.pods_with_affinity, s.pods_with_required_anti_affinity)
        };
        let mut c = Cache::new();
        c.upsert_node(n("a"));
        c.assume(anti("x"), "a");
        c.set_bound_pod(p("plain", "1"), "a");
        assert_eq!(counts(&c), (1, 1));
        c.set_bound_pod(anti("x"), "a");
        assert_eq!(counts(&c), (1, 1), "confirming does not count twice");
        c.set_bound_pod(anti("y"), "later");
        assert_eq!(
            counts(&c),
            (1, 1),
            "pods waiting for their node do not count"
        );
        c.upsert_node(n("later"));
        assert_eq!(counts(&c), (2, 2));
        c.remove_node("a");
        assert_eq!(counts(&c), (1, 1));
        c.remove_pod("default/y");
        assert_eq!(counts(&c), (0, 0));
    }
}
