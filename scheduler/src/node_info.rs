//! One node as the scheduler sees it in a snapshot: the parts of the Node object plugins read
//! (name, labels, taints, cordon, allocatable, images) plus the pods bound or assumed onto it
//! and the sums the filters compare against. The Node object itself is not kept: its status
//! conditions, addresses and managed fields are most of its size and no plugin reads them.

use crate::pod_info::{HostPort, PodInfo};
use crate::resources::Resource;
use berth_api_types::k8s::api::core::v1::{Node, Taint};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A node and what is already placed on it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// The node's labels.
    labels: BTreeMap<String, String>,
    /// The node's taints.
    taints: Vec<Taint>,
    /// `spec.unschedulable`.
    unschedulable: bool,
    /// Every name of every image the node reports, with the image's size in bytes.
    pub images: HashMap<String, i64>,
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

fn images_of(node: &Node) -> HashMap<String, i64> {
    let mut images = HashMap::new();
    for image in node.status.iter().flat_map(|s| s.images.iter().flatten()) {
        for name in image.names.iter().flatten() {
            images.insert(name.clone(), image.size_bytes.unwrap_or(0));
        }
    }
    images
}

impl NodeInfo {
    /// A node with nothing on it yet.
    pub fn new(node: &Node) -> NodeInfo {
        let spec = node.spec.as_ref();
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            allocatable: Resource::allocatable(node),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.and_then(|s| s.taints.clone()).unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            images: images_of(node),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            pods: Vec::new(),
            used_ports: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
        }
    }

    /// Takes the node's fields from `newer` (a new version of the same node), keeping the
    /// pods placed here.
    pub fn take_node(&mut self, newer: NodeInfo) {
        self.allocatable = newer.allocatable;
        self.labels = newer.labels;
        self.taints = newer.taints;
        self.unschedulable = newer.unschedulable;
        self.images = newer.images;
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

    /// Removes the pod with `key`; returns it if it was here.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let i = self.pods.iter().position(|p| p.key == key)?;
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
        Some(pod)
    }

    /// The node's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        &self.taints
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }
}
