//! What the scheduler keeps of a pod: its scheduling facts, worked out once when the pod is
//! decoded instead of once per node and cycle. No `Pod` object is kept, and a placed pod keeps
//! only what plugins read about pods already on a node (identity, labels, requests, host
//! ports, inter-pod terms, priority, start time, deletion mark); what only the pod being
//! placed needs ([`Wants`]: node selector and affinity, tolerations, spread constraints,
//! images, controller, nominated node) is dropped once it is placed.

use crate::resources::{pod_request, Resource};
use crate::wire::WirePod;
use berth_api_types::k8s::api::core::v1::{
    Affinity, NodeAffinity, PodAffinityTerm, Toleration, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use berth_api_types::k8s::jiff::Timestamp;
use berth_api_types::labels::LabelSelector;
use berth_component_base::intern::InternSet;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// A pod's labels, shared between pods that carry the same set (see [`LabelSets`]).
pub type Labels = Arc<BTreeMap<String, String>>;

/// A pod (anti-)affinity term in matching form: which pods it selects, in which namespaces,
/// and the node label that defines a topology domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffinityTerm {
    /// Which pods' labels match (a missing selector matches nothing).
    pub selector: LabelSelector,
    /// Namespaces named explicitly (the owner's own when neither these nor a namespace
    /// selector are given).
    pub namespaces: BTreeSet<String>,
    /// Which namespaces' labels match (a missing selector matches nothing, `{}` matches all).
    pub namespace_selector: LabelSelector,
    /// The node label whose value names the domain.
    pub topology_key: String,
}

impl AffinityTerm {
    /// The term of a pod in `owner_namespace`, as stored: the API server merged the owner's
    /// `matchLabelKeys`/`mismatchLabelKeys` values into the selector when the pod was created,
    /// so a later change of the owner's labels does not change what the term selects. A term
    /// without a label selector selects nothing.
    fn new(owner_namespace: &str, term: &PodAffinityTerm) -> AffinityTerm {
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(owner_namespace.to_owned());
        }
        // Selectors the API server accepted always convert; one that does not selects nothing.
        let selector = LabelSelector::from_api_opt(term.label_selector.as_ref())
            .unwrap_or_else(|_| LabelSelector::nothing());
        AffinityTerm {
            selector,
            namespaces,
            namespace_selector: LabelSelector::from_api_opt(term.namespace_selector.as_ref())
                .unwrap_or_else(|_| LabelSelector::nothing()),
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether `pod` (whose namespace has `namespace_labels`) is selected by this term.
    pub fn matches(&self, pod: &PodInfo, namespace_labels: &BTreeMap<String, String>) -> bool {
        (self.namespaces.contains(pod.namespace())
            || self.namespace_selector.matches(namespace_labels))
            && self.selector.matches(pod.labels())
    }
}

/// An affinity term with its weight (preferred terms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1 to 100).
    pub weight: i64,
}

/// A pod's inter-pod affinity and anti-affinity, parsed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerms {
    /// Required affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred affinity terms.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
}

impl PodAffinityTerms {
    fn of(ns: &str, affinity: Option<&Affinity>) -> PodAffinityTerms {
        let Some(affinity) = affinity else {
            return PodAffinityTerms::default();
        };
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(ns, t))
                .collect()
        };
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| {
            terms
                .into_iter()
                .flatten()
                .map(|t| WeightedAffinityTerm {
                    term: AffinityTerm::new(ns, &t.pod_affinity_term),
                    weight: i64::from(t.weight),
                })
                .collect()
        };
        let a = affinity.pod_affinity.as_ref();
        let anti = affinity.pod_anti_affinity.as_ref();
        PodAffinityTerms {
            required_affinity: required(a.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity: required(anti.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity: preferred(a.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity: preferred(anti.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
        }
    }

    /// Whether the pod has no inter-pod terms at all.
    pub fn is_empty(&self) -> bool {
        self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty()
    }
}

/// The one empty set of terms most pods share.
fn no_terms() -> Arc<PodAffinityTerms> {
    static NONE: OnceLock<Arc<PodAffinityTerms>> = OnceLock::new();
    NONE.get_or_init(Arc::default).clone()
}

/// A host port a pod claims on its node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host address (`0.0.0.0` when the pod did not name one).
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The port number.
    pub port: i32,
}

impl HostPort {
    /// Whether two claims would collide: same protocol and port, and the same address or
    /// either one the wildcard address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == WILDCARD || other.ip == WILDCARD)
    }
}

const WILDCARD: &str = "0.0.0.0";

/// The controller a pod names as its owner (default spreading looks up its selector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerRef {
    /// `apps/v1`, `v1`, ...
    pub api_version: String,
    /// `ReplicaSet`, `StatefulSet`, `ReplicationController`, ...
    pub kind: String,
    /// The controller's name (in the pod's namespace).
    pub name: String,
}

/// What only a pod still to be placed needs: what the filters and scores read of its spec
/// and status beyond the facts every pod keeps. Placed pods drop it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wants {
    /// `spec.nodeName` (only a pod that names its node before binding has one here).
    pub node_name: Option<String>,
    /// `spec.nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    /// `spec.affinity.nodeAffinity`.
    pub node_affinity: Option<NodeAffinity>,
    /// `spec.tolerations`.
    pub tolerations: Vec<Toleration>,
    /// `spec.topologySpreadConstraints`.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// The image of every init container, then of every app container (empty when unset).
    pub images: Vec<String>,
    /// `spec.preemptionPolicy` is `Never`.
    pub never_preempts: bool,
    /// The owner reference marked as controller.
    pub controller: Option<ControllerRef>,
    /// `status.nominatedNodeName` (never empty).
    pub nominated_node_name: Option<String>,
}

impl Wants {
    /// Whether two versions ask the same of the scheduler (the nominated node, a status
    /// field, left aside).
    fn same_spec(&self, other: &Wants) -> bool {
        let Wants {
            node_name,
            node_selector,
            node_affinity,
            tolerations,
            topology_spread_constraints,
            images,
            never_preempts,
            controller,
            nominated_node_name: _,
        } = self;
        *node_name == other.node_name
            && *node_selector == other.node_selector
            && *node_affinity == other.node_affinity
            && *tolerations == other.tolerations
            && *topology_spread_constraints == other.topology_spread_constraints
            && *images == other.images
            && *never_preempts == other.never_preempts
            && *controller == other.controller
    }
}

static NO_WANTS: Wants = Wants {
    node_name: None,
    node_selector: BTreeMap::new(),
    node_affinity: None,
    tolerations: Vec::new(),
    topology_spread_constraints: Vec::new(),
    images: Vec::new(),
    never_preempts: false,
    controller: None,
    nominated_node_name: None,
};

/// A pod's scheduling facts.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// `namespace/name`.
    pub key: String,
    /// Where the namespace ends in `key`.
    namespace_len: usize,
    /// The pod's uid (empty when the object had none).
    pub uid: String,
    labels: Labels,
    /// What the pod requests, as fit checks count it.
    pub request: Resource,
    /// What the pod requests with defaults for request-less containers, as scoring counts it.
    pub non_zero_request: Resource,
    /// Host ports the pod's containers claim.
    pub host_ports: Vec<HostPort>,
    /// The pod's inter-pod affinity terms.
    pub affinity: Arc<PodAffinityTerms>,
    /// `spec.priority` (0 when unset).
    pub priority: i32,
    terminating: bool,
    /// `status.startTime`.
    pub start_time: Option<Timestamp>,
    /// What the pod asks of its node; `None` once the pod is placed.
    wants: Option<Box<Wants>>,
}

impl PodInfo {
    /// Works out the scheduling facts of a decoded pod.
    pub fn from_wire(pod: WirePod) -> PodInfo {
        let meta = pod.metadata;
        let spec = pod.spec.unwrap_or_default();
        let status = pod.status.unwrap_or_default();
        let ns = meta.namespace.unwrap_or_else(|| "default".to_owned());
        let name = meta.name.unwrap_or_default();
        let labels = meta.labels.unwrap_or_default();
        let mut host_ports = Vec::new();
        for c in &spec.containers {
            for p in c.ports.iter().flatten() {
                if let Some(port) = p.host_port.filter(|p| *p > 0) {
                    host_ports.push(HostPort {
                        ip: p
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| WILDCARD.to_owned()),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                        port,
                    });
                }
            }
        }
        let affinity = PodAffinityTerms::of(&ns, spec.affinity.as_ref());
        let affinity = if affinity.is_empty() {
            no_terms()
        } else {
            Arc::new(affinity)
        };
        let images = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .map(|c| c.image.clone().unwrap_or_default())
            .collect();
        let controller = meta
            .owner_references
            .into_iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| ControllerRef {
                api_version: o.api_version,
                kind: o.kind,
                name: o.name,
            });
        let request = pod_request(&spec, false);
        let non_zero_request = pod_request(&spec, true);
        let wants = Wants {
            node_name: spec.node_name,
            node_selector: spec.node_selector.unwrap_or_default(),
            node_affinity: spec.affinity.and_then(|a| a.node_affinity),
            tolerations: spec.tolerations.unwrap_or_default(),
            topology_spread_constraints: spec.topology_spread_constraints.unwrap_or_default(),
            images,
            never_preempts: spec.preemption_policy.as_deref() == Some("Never"),
            controller,
            nominated_node_name: status.nominated_node_name.filter(|n| !n.is_empty()),
        };
        PodInfo {
            key: format!("{ns}/{name}"),
            namespace_len: ns.len(),
            uid: meta.uid.unwrap_or_default(),
            labels: Arc::new(labels),
            request,
            non_zero_request,
            host_ports,
            affinity,
            priority: spec.priority.unwrap_or(0),
            terminating: meta.deletion_timestamp.is_some(),
            start_time: status.start_time.map(|t| t.0),
            wants: Some(Box::new(wants)),
        }
    }

    /// The facts of a pod given as JSON (a whole Pod object or any part of one).
    pub fn from_json(pod: serde_json::Value) -> Result<PodInfo, serde_json::Error> {
        Ok(PodInfo::from_wire(serde_json::from_value(pod)?))
    }

    /// The same pod as a node keeps it once placed: without [`Wants`].
    pub fn placed(&self) -> PodInfo {
        PodInfo {
            key: self.key.clone(),
            namespace_len: self.namespace_len,
            uid: self.uid.clone(),
            labels: self.labels.clone(),
            request: self.request.clone(),
            non_zero_request: self.non_zero_request.clone(),
            host_ports: self.host_ports.clone(),
            affinity: self.affinity.clone(),
            priority: self.priority,
            terminating: self.terminating,
            start_time: self.start_time,
            wants: None,
        }
    }

    /// Drops [`Wants`] (the pod is placed).
    pub fn into_placed(mut self) -> PodInfo {
        self.wants = None;
        self
    }

    /// What the pod asks of its node (nothing once placed).
    pub fn wants(&self) -> &Wants {
        self.wants.as_deref().unwrap_or(&NO_WANTS)
    }

    /// Whether two versions of a pod ask the same of the scheduler: same labels, requests,
    /// ports, terms, priority and [`Wants`] (only status and bookkeeping differ).
    pub fn same_for_scheduling(&self, other: &PodInfo) -> bool {
        self.labels == other.labels
            && self.request == other.request
            && self.non_zero_request == other.non_zero_request
            && self.host_ports == other.host_ports
            && self.affinity == other.affinity
            && self.priority == other.priority
            && self.terminating == other.terminating
            && self.wants().same_spec(other.wants())
    }

    /// `status.nominatedNodeName`, if set.
    pub fn nominated_node_name(&self) -> Option<&str> {
        self.wants().nominated_node_name.as_deref()
    }

    /// The pod's container images, init containers first.
    pub fn images(&self) -> &[String] {
        &self.wants().images
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        &self.key[..self.namespace_len]
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        &self.key[self.namespace_len + 1..]
    }

    /// The pod's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// Whether the pod is being deleted.
    pub fn terminating(&self) -> bool {
        self.terminating
    }
}

/// Label sets shared between pods: the replicas of one controller carry identical labels, so
/// each distinct set is held once instead of once per pod (sets no pod uses any more are
/// swept as the table grows).
pub type LabelSets = InternSet<BTreeMap<String, String>>;

impl PodInfo {
    /// Points the pod at the shared copy of its labels (recording them if they are new).
    pub fn share_labels(&mut self, sets: &mut LabelSets) {
        sets.share(&mut self.labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

    fn full_pod() -> serde_json::Value {
        json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"},
                "annotations": {"big": "x"}, "managedFields": [{"manager": "m"}],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "rs", "uid": "r", "controller": true}]},
            "spec": {"priority": 7, "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "preemptionPolicy": "Never",
                "initContainers": [{"name": "i", "image": "init"}],
                "containers": [{"name": "c", "image": "i",
                    "ports": [{"containerPort": 80, "hostPort": 8080}],
                    "resources": {"requests": {"cpu": "250m"}}}],
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                    [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}},
            "status": {"startTime": "2026-01-01T00:00:00Z", "phase": "Running",
                "nominatedNodeName": "n1"}
        })
    }

    #[test]
    fn a_pending_pod_keeps_what_placing_it_reads() {
        let info = PodInfo::from_json(full_pod()).unwrap();
        assert_eq!(
            (info.key.as_str(), info.namespace(), info.name()),
            ("ns/p", "ns", "p")
        );
        assert_eq!(info.uid, "u");
        assert_eq!(info.request.milli_cpu, 250);
        assert_eq!(info.host_ports.len(), 1);
        assert_eq!(info.affinity.required_anti_affinity.len(), 1);
        assert_eq!(info.priority, 7);
        assert_eq!(info.labels().get("app").map(String::as_str), Some("web"));
        assert!(info.start_time.is_some());
        let wants = info.wants();
        assert_eq!(
            wants.node_selector.get("disk").map(String::as_str),
            Some("ssd")
        );
        assert_eq!(wants.tolerations.len(), 1);
        assert!(wants.never_preempts);
        assert_eq!(wants.images, ["init", "i"]);
        assert_eq!(
            wants.controller.as_ref().map(|c| c.name.as_str()),
            Some("rs")
        );
        assert_eq!(info.nominated_node_name(), Some("n1"));
    }

    #[test]
    fn placed_pods_keep_their_facts_but_not_their_wants() {
        let full = PodInfo::from_json(full_pod()).unwrap();
        for placed in [full.placed(), full.clone().into_placed()] {
            assert_eq!(placed.key, "ns/p");
            assert_eq!(placed.name(), "p");
            assert_eq!(placed.uid, "u");
            assert_eq!(placed.request, full.request);
            assert_eq!(placed.host_ports, full.host_ports);
            assert_eq!(placed.affinity, full.affinity);
            assert_eq!(placed.priority, 7);
            assert_eq!(placed.start_time, full.start_time);
            assert_eq!(placed.labels(), full.labels());
            assert_eq!(placed.wants(), &Wants::default());
            assert_eq!(placed.nominated_node_name(), None);
        }
    }

    #[test]
    fn a_pod_without_namespace_is_in_default() {
        let info = PodInfo::from_json(json!({"metadata": {"name": "p"}})).unwrap();
        assert_eq!((info.namespace(), info.name()), ("default", "p"));
        assert!(info.wants().images.is_empty());
        assert!(info.affinity.is_empty());
    }

    #[test]
    fn status_changes_ask_the_same_and_spec_changes_do_not() {
        let base = PodInfo::from_json(full_pod()).unwrap();
        let mut v = full_pod();
        v["status"] = json!({"phase": "Pending", "nominatedNodeName": "n2",
            "conditions": [{"type": "PodScheduled", "status": "False"}]});
        assert!(base.same_for_scheduling(&PodInfo::from_json(v).unwrap()));
        for (path, value) in [
            ("/metadata/labels", json!({"app": "db"})),
            ("/spec/priority", json!(8)),
            ("/spec/nodeSelector", json!({"disk": "hdd"})),
            ("/spec/tolerations", json!([])),
            ("/spec/containers/0/image", json!("other")),
            ("/spec/containers/0/resources/requests/cpu", json!("1")),
        ] {
            let mut v = full_pod();
            *v.pointer_mut(path).unwrap() = value;
            let changed = PodInfo::from_json(v).unwrap();
            assert!(!base.same_for_scheduling(&changed), "{path}");
        }
    }

    #[test]
    fn identical_label_sets_are_held_once() {
        let labelled = |name: &str, app: &str| {
            PodInfo::from_json(json!({"metadata": {"name": name, "labels": {"app": app}}})).unwrap()
        };
        let mut sets = LabelSets::default();
        let mut a = labelled("a", "web");
        let mut b = labelled("b", "web");
        let mut c = labelled("c", "db");
        for p in [&mut a, &mut b, &mut c] {
            p.share_labels(&mut sets);
        }
        assert!(Arc::ptr_eq(&a.labels, &b.labels));
        assert!(!Arc::ptr_eq(&a.labels, &c.labels));
        assert_eq!(sets.len(), 2);
    }

    fn with_labels(name: &str, labels: serde_json::Value) -> PodInfo {
        PodInfo::from_json(json!({"metadata": {"name": name, "namespace": "ns",
            "labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}))
        .unwrap()
    }

    fn owner_with_term(term: serde_json::Value) -> PodInfo {
        owner_with_term_and_labels(
            term,
            json!({"app": "web", "pod-template-hash": "v2", "tenant": "a"}),
        )
    }

    fn owner_with_term_and_labels(term: serde_json::Value, labels: serde_json::Value) -> PodInfo {
        PodInfo::from_json(json!({
            "metadata": {"name": "owner", "namespace": "ns", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}],
                "affinity": {"podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [term]}}}}))
        .unwrap()
    }

    #[test]
    fn terms_are_read_as_stored_with_the_keys_merged_at_creation() {
        // As the API server stores it: the owner's values merged into the selector.
        let merged = owner_with_term(json!({
            "labelSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "pod-template-hash", "operator": "In", "values": ["v2"]},
                {"key": "tenant", "operator": "NotIn", "values": ["a"]}]},
            "matchLabelKeys": ["pod-template-hash"],
            "mismatchLabelKeys": ["tenant"],
            "topologyKey": "zone"}));
        let term = &merged.affinity.required_anti_affinity[0];
        let check =
            |labels: serde_json::Value| term.matches(&with_labels("other", labels), &NO_LABELS);
        assert!(check(
            json!({"app": "web", "pod-template-hash": "v2", "tenant": "b"})
        ));
        assert!(check(json!({"app": "web", "pod-template-hash": "v2"})));
        // Another version, or the same tenant, is not selected.
        assert!(!check(
            json!({"app": "web", "pod-template-hash": "v1", "tenant": "b"})
        ));
        assert!(!check(
            json!({"app": "web", "pod-template-hash": "v2", "tenant": "a"})
        ));

        // The owner's labels changed since: the stored selector still decides (the keys are
        // not merged again with the new values, which would select nothing).
        let relabelled = owner_with_term_and_labels(
            json!({
                "labelSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                    {"key": "pod-template-hash", "operator": "In", "values": ["v2"]}]},
                "matchLabelKeys": ["pod-template-hash"],
                "topologyKey": "zone"}),
            json!({"app": "web", "pod-template-hash": "v3"}),
        );
        let term = &relabelled.affinity.required_anti_affinity[0];
        let v2 = with_labels("other", json!({"app": "web", "pod-template-hash": "v2"}));
        assert!(term.matches(&v2, &NO_LABELS));
    }

    #[test]
    fn label_keys_without_a_label_selector_still_select_nothing() {
        let owner = owner_with_term(json!({
            "matchLabelKeys": ["pod-template-hash"], "topologyKey": "zone"}));
        let term = &owner.affinity.required_anti_affinity[0];
        assert!(term.selector.matches_nothing());
        let same = with_labels("same", json!({"app": "web", "pod-template-hash": "v2"}));
        assert!(!term.matches(&same, &NO_LABELS));
    }
}
