//! One node as the scheduler sees it in a snapshot: the Node object plus the pods bound or
//! assumed onto it and the sums the filters compare against.

use crate::pod_info::{HostPort, PodInfo};
use crate::resources::Resource;
use berth_api_types::k8s::api::core::v1::{Node, Taint};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A node and what is already placed on it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// The Node object.
    pub node: Arc<Node>,
    /// What pods may use in total.
    pub allocatable: Resource,
    /// The sum of the placed pods' requests.
    pub requested: Resource,
    /// The same sum with defaults for request-less containers (for scoring).
    pub non_zero_requested: Resource,
    /// Pods bound or assumed here.
    pub pods: Vec<Arc<PodInfo>>,
    /// Host ports already claimed.
    pub used_ports: Vec<HostPort>,
    /// The placed pods with any inter-pod affinity or anti-affinity term.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// The placed pods with a required anti-affinity term.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

impl NodeInfo {
    /// A node with nothing on it yet.
    pub fn new(node: Arc<Node>) -> NodeInfo {
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            allocatable: Resource::allocatable(&node),
            node,
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            pods: Vec::new(),
            used_ports: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
        }
    }

    /// Replaces the Node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.allocatable = Resource::allocatable(&node);
        self.node = node;
    }

    /// Accounts a pod on this node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.request);
        self.non_zero_requested.add(&pod.non_zero_request);
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if !pod.affinity.is_empty() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.affinity.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
    }

    /// Removes the pod with `key`; returns whether it was here.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.key == key) else {
            return false;
        };
        let pod = self.pods.swap_remove(i);
        self.pods_with_affinity.retain(|p| p.key != key);
        self.pods_with_required_anti_affinity
            .retain(|p| p.key != key);
        self.requested.sub(&pod.request);
        self.non_zero_requested.sub(&pod.non_zero_request);
        for hp in &pod.host_ports {
            if let Some(j) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.swap_remove(j);
            }
        }
        true
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        self.node.metadata.labels.as_ref().unwrap_or(&NO_LABELS)
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or(&[])
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn unschedulable(&self) -> bool {
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false)
    }
}
