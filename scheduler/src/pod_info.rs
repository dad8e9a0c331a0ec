//! What the scheduler needs to know about a pod, worked out once per pod instead of once per
//! node: its requests, host ports and identity.

use crate::resources::{pod_request, Resource};
use berth_api_types::k8s::api::core::v1::{
    Pod, PodAffinityTerm, PodStatus, WeightedPodAffinityTerm,
};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use berth_api_types::labels::{LabelSelector, Operator, Requirement};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    /// The term of a pod in `owner_namespace` with `owner_labels`. The owner's values of the
    /// term's `matchLabelKeys` are added to its selector as `key in (value)`, those of its
    /// `mismatchLabelKeys` as `key notin (value)`; keys the owner has no label for are left
    /// out, and a term without a label selector still selects nothing. Adding a requirement
    /// the selector already has changes nothing, so a term merged before (when the pod was
    /// created) selects the same pods.
    fn new(
        owner_namespace: &str,
        owner_labels: &BTreeMap<String, String>,
        term: &PodAffinityTerm,
    ) -> AffinityTerm {
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && term.namespace_selector.is_none() {
            namespaces.insert(owner_namespace.to_owned());
        }
        // Selectors the API server accepted always convert; one that does not selects nothing.
        let mut selector = LabelSelector::from_api_opt(term.label_selector.as_ref())
            .unwrap_or_else(|_| LabelSelector::nothing());
        let keyed = [
            (term.match_label_keys.as_deref(), Operator::In),
            (term.mismatch_label_keys.as_deref(), Operator::NotIn),
        ];
        for (keys, operator) in keyed {
            for key in keys.unwrap_or(&[]) {
                let Some(value) = owner_labels.get(key) else {
                    continue;
                };
                if let Ok(r) = Requirement::new(key.clone(), operator, vec![value.clone()]) {
                    selector.add(r);
                }
            }
        }
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
    fn of(pod: &Pod) -> PodAffinityTerms {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let labels = pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS);
        let Some(affinity) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else {
            return PodAffinityTerms::default();
        };
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(ns, labels, t))
                .collect()
        };
        let preferred = |terms: Option<&Vec<WeightedPodAffinityTerm>>| {
            terms
                .into_iter()
                .flatten()
                .map(|t| WeightedAffinityTerm {
                    term: AffinityTerm::new(ns, labels, &t.pod_affinity_term),
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

/// A pod with its scheduling facts precomputed.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// `namespace/name`.
    pub key: String,
    /// The pod's uid (empty when the object had none).
    pub uid: String,
    /// The pod itself.
    pub pod: Arc<Pod>,
    /// What the pod requests, as fit checks count it.
    pub request: Resource,
    /// What the pod requests with defaults for request-less containers, as scoring counts it.
    pub non_zero_request: Resource,
    /// Host ports the pod's containers claim.
    pub host_ports: Vec<HostPort>,
    /// The pod's inter-pod affinity terms.
    pub affinity: PodAffinityTerms,
    /// `spec.priority` (0 when unset).
    pub priority: i32,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl PodInfo {
    /// Works out the scheduling facts of `pod`.
    pub fn new(pod: Arc<Pod>) -> PodInfo {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let mut host_ports = Vec::new();
        for c in pod.spec.iter().flat_map(|s| &s.containers) {
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
        PodInfo {
            key: format!("{ns}/{name}"),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            request: pod_request(&pod, false),
            non_zero_request: pod_request(&pod, true),
            host_ports,
            affinity: PodAffinityTerms::of(&pod),
            priority: pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
            pod,
        }
    }

    /// The facts of a pod placed on a node, keeping of the object only what is read about
    /// placed pods (name, namespace, uid, labels, owners, deletion mark, start time): a
    /// cache of thousands of placed pods then does not hold their specs.
    pub fn placed(pod: Pod) -> PodInfo {
        let mut info = PodInfo::new(Arc::new(pod));
        let full = &info.pod;
        let m = &full.metadata;
        let slim = Pod {
            metadata: ObjectMeta {
                name: m.name.clone(),
                namespace: m.namespace.clone(),
                uid: m.uid.clone(),
                labels: m.labels.clone(),
                owner_references: m.owner_references.clone(),
                deletion_timestamp: m.deletion_timestamp.clone(),
                ..ObjectMeta::default()
            },
            spec: None,
            status: full.status.as_ref().map(|s| PodStatus {
                start_time: s.start_time.clone(),
                phase: s.phase.clone(),
                ..PodStatus::default()
            }),
        };
        info.pod = Arc::new(slim);
        info
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }

    /// The pod's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.pod.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    /// Whether the pod is being deleted.
    pub fn terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placed_pods_keep_their_facts_but_not_their_spec() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"},
                "annotations": {"big": "x"}, "managedFields": [{"manager": "m"}]},
            "spec": {"priority": 7, "containers": [{"name": "c", "image": "i",
                "ports": [{"containerPort": 80, "hostPort": 8080}],
                "resources": {"requests": {"cpu": "250m"}}}],
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                    [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}},
            "status": {"startTime": "2026-01-01T00:00:00Z", "phase": "Running"}
        }))
        .unwrap();
        let full = PodInfo::new(Arc::new(pod.clone()));
        let placed = PodInfo::placed(pod);
        assert_eq!(placed.key, "ns/p");
        assert_eq!(placed.uid, "u");
        assert_eq!(placed.request, full.request);
        assert_eq!(placed.request.milli_cpu, 250);
        assert_eq!(placed.host_ports, full.host_ports);
        assert_eq!(placed.affinity, full.affinity);
        assert_eq!(placed.priority, 7);
        assert_eq!(placed.labels().get("app").map(String::as_str), Some("web"));
        assert!(placed.pod.spec.is_none());
        assert!(placed.pod.metadata.annotations.is_none());
        assert!(placed.pod.metadata.managed_fields.is_none());
        assert!(placed.pod.status.as_ref().unwrap().start_time.is_some());
    }

    fn with_labels(name: &str, labels: serde_json::Value) -> PodInfo {
        PodInfo::new(Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns",
                "labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}))
            .unwrap(),
        ))
    }

    fn owner_with_term(term: serde_json::Value) -> PodInfo {
        PodInfo::new(Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "owner", "namespace": "ns",
                    "labels": {"app": "web", "pod-template-hash": "v2", "tenant": "a"}},
                "spec": {"containers": [{"name": "c", "image": "i"}],
                    "affinity": {"podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [term]}}}}))
            .unwrap(),
        ))
    }

    #[test]
    fn match_and_mismatch_label_keys_take_the_owners_values() {
        let owner = owner_with_term(json!({
            "labelSelector": {"matchLabels": {"app": "web"}},
            "matchLabelKeys": ["pod-template-hash", "absent"],
            "mismatchLabelKeys": ["tenant"],
            "topologyKey": "zone"}));
        let term = &owner.affinity.required_anti_affinity[0];
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
        assert!(!check(json!({"app": "db", "pod-template-hash": "v2"})));
        // A key the owner has no label for adds nothing.
        assert!(check(
            json!({"app": "web", "pod-template-hash": "v2", "absent": "x"})
        ));

        // A term already merged when the pod was created selects the same pods.
        let merged = owner_with_term(json!({
            "labelSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "pod-template-hash", "operator": "In", "values": ["v2"]},
                {"key": "tenant", "operator": "NotIn", "values": ["a"]}]},
            "matchLabelKeys": ["pod-template-hash"],
            "mismatchLabelKeys": ["tenant"],
            "topologyKey": "zone"}));
        let merged = &merged.affinity.required_anti_affinity[0];
        for labels in [
            json!({"app": "web", "pod-template-hash": "v2", "tenant": "b"}),
            json!({"app": "web", "pod-template-hash": "v1"}),
            json!({"app": "web", "pod-template-hash": "v2", "tenant": "a"}),
        ] {
            let other = with_labels("other", labels.clone());
            assert_eq!(
                merged.matches(&other, &NO_LABELS),
                term.matches(&other, &NO_LABELS),
                "{labels}"
            );
        }
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
