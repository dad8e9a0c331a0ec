//! Cheap decoding of the pods and nodes the API server sends: only the fields the scheduler
//! reads are parsed into memory. Managed fields, status conditions, addresses, the
//! `last-applied-configuration` annotation and the containers' commands, environment, mounts
//! and probes are skipped while parsing, so a watch event costs little to decode and a queued
//! pod holds little.
//!
//! [`WirePod`] and [`WireNode`] are requested like `Pod` and `Node` (same paths) and turn into
//! ordinary `Pod` and `Node` objects that carry only those fields.

use berth_api_types::k8s::api::core::v1::{
    Affinity, Container, ContainerImage, ContainerPort, Node, NodeSpec, NodeStatus, Pod, PodSpec,
    PodStatus, ResourceRequirements, Taint, Toleration, TopologySpreadConstraint,
};
use berth_api_types::k8s::apimachinery::pkg::api::resource::Quantity;
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The annotation `kubectl apply` keeps a whole copy of the object in; nothing here reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaWire {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
}

fn meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = MetaWire::deserialize(d)?;
    let annotations = m.annotations.map(|mut a| {
        a.remove(LAST_APPLIED);
        a
    });
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        labels: m.labels,
        annotations,
        owner_references: m.owner_references,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        ..ObjectMeta::default()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerWire {
    name: String,
    image: Option<String>,
    ports: Option<Vec<ContainerPort>>,
    resources: Option<ResourceRequirements>,
    restart_policy: Option<String>,
}

impl From<ContainerWire> for Container {
    fn from(c: ContainerWire) -> Container {
        Container {
            name: c.name,
            image: c.image,
            ports: c.ports,
            resources: c.resources,
            restart_policy: c.restart_policy,
            ..Container::default()
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpecWire {
    #[serde(default)]
    containers: Vec<ContainerWire>,
    init_containers: Option<Vec<ContainerWire>>,
    node_name: Option<String>,
    node_selector: Option<BTreeMap<String, String>>,
    affinity: Option<Affinity>,
    tolerations: Option<Vec<Toleration>>,
    topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    priority: Option<i32>,
    priority_class_name: Option<String>,
    preemption_policy: Option<String>,
    scheduler_name: Option<String>,
    overhead: Option<BTreeMap<String, Quantity>>,
}

fn pod_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PodSpec>, D::Error> {
    let Some(s) = Option::<PodSpecWire>::deserialize(d)? else {
        return Ok(None);
    };
    Ok(Some(PodSpec {
        containers: s.containers.into_iter().map(Container::from).collect(),
        init_containers: s
            .init_containers
            .map(|c| c.into_iter().map(Container::from).collect()),
        node_name: s.node_name,
        node_selector: s.node_selector,
        affinity: s.affinity,
        tolerations: s.tolerations,
        topology_spread_constraints: s.topology_spread_constraints,
        priority: s.priority,
        priority_class_name: s.priority_class_name,
        preemption_policy: s.preemption_policy,
        scheduler_name: s.scheduler_name,
        overhead: s.overhead,
        ..PodSpec::default()
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodStatusWire {
    phase: Option<String>,
    start_time: Option<Time>,
    nominated_node_name: Option<String>,
}

fn pod_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PodStatus>, D::Error> {
    Ok(Option::<PodStatusWire>::deserialize(d)?.map(|s| PodStatus {
        phase: s.phase,
        start_time: s.start_time,
        nominated_node_name: s.nominated_node_name,
        ..PodStatus::default()
    }))
}

/// A pod as the scheduler decodes it: see the module documentation.
#[derive(Clone, Debug, Deserialize)]
pub struct WirePod {
    /// Name, namespace, uid, resourceVersion, labels, annotations, owners and timestamps.
    #[serde(deserialize_with = "meta")]
    pub metadata: ObjectMeta,
    /// The spec without what containers run and how.
    #[serde(default, deserialize_with = "pod_spec")]
    pub spec: Option<PodSpec>,
    /// Phase, start time and nominated node.
    #[serde(default, deserialize_with = "pod_status")]
    pub status: Option<PodStatus>,
}

impl From<WirePod> for Pod {
    fn from(p: WirePod) -> Pod {
        Pod {
            metadata: p.metadata,
            spec: p.spec,
            status: p.status,
        }
    }
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
                "annotations": {"keep": "me", LAST_APPLIED: "{\"big\": true}"},
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
        let wire: WirePod = serde_json::from_value(full).unwrap();
        let pod = Pod::from(wire);
        assert_eq!(pod.metadata.name.as_deref(), Some("p"));
        assert_eq!(pod.metadata.resource_version.as_deref(), Some("7"));
        assert!(pod.metadata.managed_fields.is_none());
        let annotations = pod.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations.len(), 1);
        assert_eq!(annotations["keep"], "me");
        assert_eq!(
            pod.metadata.owner_references.as_ref().unwrap()[0].name,
            "rs"
        );
        let spec = pod.spec.as_ref().unwrap();
        let c = &spec.containers[0];
        assert_eq!(c.image.as_deref(), Some("img:1"));
        assert!(c.command.is_none() && c.env.is_none() && c.liveness_probe.is_none());
        assert_eq!(c.ports.as_ref().unwrap()[0].host_port, Some(8080));
        assert!(c.resources.as_ref().unwrap().requests.is_some());
        let init = &spec.init_containers.as_ref().unwrap()[0];
        assert_eq!(init.restart_policy.as_deref(), Some("Always"));
        assert!(spec.volumes.is_none());
        assert_eq!(spec.priority, Some(5));
        assert!(spec.node_selector.is_some() && spec.tolerations.is_some());
        assert!(spec.affinity.is_some() && spec.overhead.is_some());
        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.nominated_node_name.as_deref(), Some("n1"));
        assert!(status.conditions.is_none());
        // The scheduling facts are the same as from the whole object.
        let info = crate::pod_info::PodInfo::new(std::sync::Arc::new(pod));
        assert_eq!(info.request.milli_cpu, 260);
        assert_eq!(info.host_ports.len(), 1);
        assert_eq!(info.affinity.required_anti_affinity.len(), 1);
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
