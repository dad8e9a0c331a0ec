//! Cheap decoding of the pods and nodes the API server sends: only the fields the scheduler
//! reads are parsed into memory. Managed fields, annotations, status conditions, addresses and
//! the containers' commands, environment, mounts and probes are skipped while parsing, so a watch event costs little to decode and a queued
//! pod holds little.
//!
//! [`WirePod`] and [`WireNode`] are requested like `Pod` and `Node` (same paths). A node turns
//! into an ordinary `Node` object carrying only those fields; a pod turns straight into its
//! scheduling facts ([`crate::pod_info::PodInfo`]), so no `Pod` object is built.

use berth_api_types::k8s::api::core::v1::{
    Affinity, ContainerImage, ContainerPort, Node, NodeSpec, NodeStatus, Pod, ResourceRequirements,
    Taint, Toleration, TopologySpreadConstraint,
};
use berth_api_types::k8s::apimachinery::pkg::api::resource::Quantity;
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaWire {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
    deletion_timestamp: Option<Time>,
}

fn meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = MetaWire::deserialize(d)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        labels: m.labels,
        owner_references: m.owner_references,
        deletion_timestamp: m.deletion_timestamp,
        ..ObjectMeta::default()
    })
}

/// A container as scheduling reads it: its image, host ports, requests and restart policy.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerWire {
    /// The image (ImageLocality).
    pub image: Option<String>,
    /// Ports, of which host ports matter.
    pub ports: Option<Vec<ContainerPort>>,
    /// Requests and limits.
    pub resources: Option<ResourceRequirements>,
    /// `Always` makes an init container a sidecar.
    pub restart_policy: Option<String>,
}

/// The parts of a pod spec the scheduler reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecWire {
    /// App containers.
    #[serde(default)]
    pub containers: Vec<ContainerWire>,
    /// Init containers (sidecars among them).
    pub init_containers: Option<Vec<ContainerWire>>,
    /// The node the pod is bound to, or asks for.
    pub node_name: Option<String>,
    /// Labels the node must have.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Node affinity and inter-pod (anti-)affinity.
    pub affinity: Option<Affinity>,
    /// Tolerated taints.
    pub tolerations: Option<Vec<Toleration>>,
    /// Spreading constraints.
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// The resolved priority.
    pub priority: Option<i32>,
    /// `Never` keeps the pod from preempting.
    pub preemption_policy: Option<String>,
    /// Which scheduler places the pod.
    pub scheduler_name: Option<String>,
    /// The pod overhead, added to its requests.
    pub overhead: Option<BTreeMap<String, Quantity>>,
}

/// The parts of a pod status the scheduler reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatusWire {
    /// `Succeeded` and `Failed` pods hold no resources.
    pub phase: Option<String>,
    /// When the kubelet started the pod (preemption spares older pods).
    pub start_time: Option<Time>,
    /// The node preemption made room on.
    pub nominated_node_name: Option<String>,
}

/// A pod as the scheduler decodes it: see the module documentation. No `Pod` object is ever
/// built from it; [`crate::pod_info::PodInfo::from_wire`] takes what scheduling keeps.
#[derive(Clone, Debug, Deserialize)]
pub struct WirePod {
    /// Name, namespace, uid, resourceVersion, labels, owners and deletion mark.
    #[serde(deserialize_with = "meta")]
    pub metadata: ObjectMeta,
    /// What scheduling reads of the spec.
    #[serde(default)]
    pub spec: Option<PodSpecWire>,
    /// Phase, start time and nominated node.
    #[serde(default)]
    pub status: Option<PodStatusWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeSpecWire {
    taints: Option<Vec<Taint>>,
    unschedulable: Option<bool>,
}

fn node_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NodeSpec>, D::Error> {
    Ok(Option::<NodeSpecWire>::deserialize(d)?.map(|s| NodeSpec {
        taints: s.taints,
        unschedulable: s.unschedulable,
        ..NodeSpec::default()
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeStatusWire {
    allocatable: Option<BTreeMap<String, Quantity>>,
    capacity: Option<BTreeMap<String, Quantity>>,
    images: Option<Vec<ContainerImage>>,
}

fn node_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NodeStatus>, D::Error> {
    Ok(
        Option::<NodeStatusWire>::deserialize(d)?.map(|s| NodeStatus {
            allocatable: s.allocatable,
            capacity: s.capacity,
            images: s.images,
            ..NodeStatus::default()
        }),
    )
}

/// A node as the scheduler decodes it: name, labels, taints, cordon, allocatable and
/// capacity, images.
#[derive(Clone, Debug, Deserialize)]
pub struct WireNode {
    /// Name, labels and resourceVersion (and the other few fields pods keep too).
    #[serde(deserialize_with = "meta")]
    pub metadata: ObjectMeta,
    /// Taints and cordon.
    #[serde(default, deserialize_with = "node_spec")]
    pub spec: Option<NodeSpec>,
    /// Allocatable, capacity and images.
    #[serde(default, deserialize_with = "node_status")]
    pub status: Option<NodeStatus>,
}

impl From<WireNode> for Node {
    fn from(n: WireNode) -> Node {
        Node {
            metadata: n.metadata,
            spec: n.spec,
            status: n.status,
        }
    }
}

/// Requests a wire type at the same place as the API type `$api`.
macro_rules! same_resource_as {
    ($wire:ty, $api:ty) => {
        impl kube::Resource for $wire {
            type DynamicType = ();
            type Scope = <$api as kube::Resource>::Scope;

            fn kind(dt: &()) -> Cow<'_, str> {
                <$api as kube::Resource>::kind(dt)
            }
            fn group(dt: &()) -> Cow<'_, str> {
                <$api as kube::Resource>::group(dt)
            }
            fn version(dt: &()) -> Cow<'_, str> {
                <$api as kube::Resource>::version(dt)
            }
            fn plural(dt: &()) -> Cow<'_, str> {
                <$api as kube::Resource>::plural(dt)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

same_resource_as!(WirePod, Pod);
same_resource_as!(WireNode, Node);

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;
    use serde_json::json;

    #[test]
    fn a_pod_keeps_what_scheduling_reads_and_drops_the_rest() {
        let full = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "rs", "uid": "r", "controller": true}],
                "managedFields": [{"manager": "kubectl", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {
                "containers": [{"name": "c", "image": "img:1", "command": ["sleep"],
                    "env": [{"name": "A", "value": "b"}],
                    "ports": [{"containerPort": 80, "hostPort": 8080}],
                    "resources": {"requests": {"cpu": "250m"}},
                    "livenessProbe": {"exec": {"command": ["true"]}}}],
                "initContainers": [{"name": "i", "image": "img:2", "restartPolicy": "Always"}],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "priority": 5, "schedulerName": "default-scheduler",
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                    [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}},
                "overhead": {"cpu": "10m"}},
            "status": {"phase": "Pending", "nominatedNodeName": "n1",
                "conditions": [{"type": "PodScheduled", "status": "False"}]}
        });
        let pod: WirePod = serde_json::from_value(full).unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("p"));
        assert_eq!(pod.metadata.resource_version.as_deref(), Some("7"));
        assert!(pod.metadata.managed_fields.is_none());
        assert!(pod.metadata.annotations.is_none());
        assert_eq!(
            pod.metadata.owner_references.as_ref().unwrap()[0].name,
            "rs"
        );
        let spec = pod.spec.as_ref().unwrap();
        let c = &spec.containers[0];
        assert_eq!(c.image.as_deref(), Some("img:1"));
        assert_eq!(c.ports.as_ref().unwrap()[0].host_port, Some(8080));
        assert!(c.resources.as_ref().unwrap().requests.is_some());
        let init = &spec.init_containers.as_ref().unwrap()[0];
        assert_eq!(init.restart_policy.as_deref(), Some("Always"));
        assert_eq!(spec.priority, Some(5));
        assert!(spec.node_selector.is_some() && spec.tolerations.is_some());
        assert!(spec.affinity.is_some() && spec.overhead.is_some());
        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.nominated_node_name.as_deref(), Some("n1"));
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        // The scheduling facts.
        let info = crate::pod_info::PodInfo::from_wire(pod);
        assert_eq!(info.request.milli_cpu, 260);
        assert_eq!(info.host_ports.len(), 1);
        assert_eq!(info.affinity.required_anti_affinity.len(), 1);
        assert_eq!(info.nominated_node_name(), Some("n1"));
        assert_eq!(info.images().len(), 2);
    }

    #[test]
    fn a_node_keeps_labels_taints_and_resources() {
        let wire: WireNode = serde_json::from_value(json!({
            "metadata": {"name": "n", "labels": {"zone": "a"},
                "managedFields": [{"manager": "kubelet"}]},
            "spec": {"unschedulable": true, "podCIDR": "10.0.0.0/24",
                "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "4"}, "capacity": {"cpu": "8"},
                "images": [{"names": ["img:1"], "sizeBytes": 10}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}
        }))
        .unwrap();
        let node = Node::from(wire);
        let spec = node.spec.as_ref().unwrap();
        assert_eq!(spec.unschedulable, Some(true));
        assert!(spec.pod_cidr.is_none());
        assert_eq!(spec.taints.as_ref().unwrap().len(), 1);
        let status = node.status.as_ref().unwrap();
        assert!(status.conditions.is_none() && status.addresses.is_none());
        assert_eq!(status.images.as_ref().unwrap().len(), 1);
        let info = crate::node_info::NodeInfo::new(&node);
        assert_eq!(info.allocatable.milli_cpu, 4000);
        assert_eq!(info.labels()["zone"], "a");
    }

    #[test]
    fn wire_types_are_requested_where_the_api_types_are() {
        assert_eq!(
            WirePod::url_path(&(), Some("ns")),
            Pod::url_path(&(), Some("ns"))
        );
        assert_eq!(WireNode::url_path(&(), None), Node::url_path(&(), None));
        assert_eq!(WirePod::kind(&()), "Pod");
    }

    #[test]
    fn a_pod_without_spec_or_status_decodes() {
        let wire: WirePod = serde_json::from_value(json!({"metadata": {"name": "p"}})).unwrap();
        assert!(wire.spec.is_none() && wire.status.is_none());
    }
}
