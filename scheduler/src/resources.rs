//! Resource amounts as the scheduler counts them: CPU in millicores, memory and storage in
//! bytes, pod slots, and extended resources by name.
//!
//! A pod's request follows the rules the kubelet enforces: app containers run together so
//! their requests add up; ordinary init containers run one at a time before them, so the pod
//! needs the largest of them; sidecars (init containers that restart always) keep running and
//! add to both; the pod overhead comes on top.

use crate::wire::{ContainerWire, PodSpecWire};
use berth_api_types::k8s::api::core::v1::Node;
use berth_api_types::k8s::apimachinery::pkg::api::resource::Quantity as KQuantity;
use berth_api_types::validation::quantity::Quantity;
use std::collections::BTreeMap;

/// The CPU a container without a CPU request is counted as when spreading load (100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// The memory a container without a memory request is counted as when spreading load (200Mi).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of every resource the scheduler checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Local ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pod slots (only meaningful for a node's allocatable).
    pub allowed_pods: i64,
    /// Extended and other named resources (`example.com/gpu`, `hugepages-2Mi`).
    pub scalar: BTreeMap<String, i64>,
}

fn amount(q: &KQuantity, milli: bool) -> i64 {
    match Quantity::parse(&q.0) {
        Some(q) if milli => q.milli_value(),
        Some(q) => q.value(),
        None => 0,
    }
}

impl Resource {
    /// Reads a resource list (`requests`, `allocatable`).
    pub fn from_list(list: Option<&BTreeMap<String, KQuantity>>) -> Resource {
        let mut r = Resource::default();
        for (name, q) in list.into_iter().flatten() {
            match name.as_str() {
                "cpu" => r.milli_cpu = amount(q, true),
                "memory" => r.memory = amount(q, false),
                "ephemeral-storage" => r.ephemeral_storage = amount(q, false),
                "pods" => r.allowed_pods = amount(q, false),
                other => {
                    r.scalar.insert(other.to_owned(), amount(q, false));
                }
            }
        }
        r
    }

    /// A node's allocatable resources (capacity when allocatable is missing).
    pub fn allocatable(node: &Node) -> Resource {
        let status = node.status.as_ref();
        let list = status
            .and_then(|s| s.allocatable.as_ref())
            .or_else(|| status.and_then(|s| s.capacity.as_ref()));
        Resource::from_list(list)
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.allowed_pods += other.allowed_pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Subtracts `other` from `self`.
    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.allowed_pods -= other.allowed_pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Raises each amount of `self` to at least the one in `other`.
    pub fn max_with(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.allowed_pods = self.allowed_pods.max(other.allowed_pods);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// Whether nothing at all is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

fn container_request(c: &ContainerWire, non_zero: bool) -> Resource {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let mut r = Resource::from_list(requests);
    if non_zero {
        let has = |name: &str| requests.is_some_and(|m| m.contains_key(name));
        if !has("cpu") {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !has("memory") {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// What a pod asks of a node. With `non_zero`, containers that request no CPU or memory are
/// counted at [`DEFAULT_MILLI_CPU_REQUEST`] and [`DEFAULT_MEMORY_REQUEST`], as scoring does so
/// that request-less pods still spread.
pub fn pod_request(spec: &PodSpecWire, non_zero: bool) -> Resource {
    let mut total = Resource::default();
    for c in &spec.containers {
        total.add(&container_request(c, non_zero));
    }
    let mut sidecars = Resource::default();
    let mut init_peak = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_request(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            total.add(&r);
            sidecars.add(&r);
            init_peak = sidecars.clone();
        } else {
            let mut during = r;
            during.add(&sidecars);
            init_peak.max_with(&during);
        }
    }
    total.max_with(&init_peak);
    if let Some(overhead) = spec.overhead.as_ref() {
        total.add(&Resource::from_list(Some(overhead)));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> PodSpecWire {
        serde_json::from_value(spec).unwrap()
    }

    fn c(requests: serde_json::Value) -> serde_json::Value {
        json!({"name": "c", "image": "i", "resources": {"requests": requests}})
    }

    #[test]
    fn pod_requests_follow_container_rules() {
        let cases = [
            (
                "app containers add up",
                json!({"containers": [c(json!({"cpu": "100m", "memory": "1Gi"})),
                                       c(json!({"cpu": "250m", "memory": "1Gi"}))]}),
                (350, 2 << 30),
            ),
            (
                "init containers count as their maximum",
                json!({"containers": [c(json!({"cpu": "100m"}))],
                       "initContainers": [c(json!({"cpu": "2"})), c(json!({"cpu": "1"}))]}),
                (2000, 0),
            ),
            (
                "app sum wins over a smaller init container",
                json!({"containers": [c(json!({"cpu": "1"})), c(json!({"cpu": "1"}))],
                       "initContainers": [c(json!({"cpu": "1500m"}))]}),
                (2000, 0),
            ),
            (
                "sidecars run with the app and with later init containers",
                json!({"containers": [c(json!({"cpu": "1"}))],
                       "initContainers": [
                           {"name": "s", "image": "i", "restartPolicy": "Always",
                            "resources": {"requests": {"cpu": "500m"}}},
                           c(json!({"cpu": "2"}))]}),
                (2500, 0),
            ),
            (
                "overhead comes on top",
                json!({"containers": [c(json!({"cpu": "1", "memory": "100"}))],
                       "overhead": {"cpu": "250m", "memory": "20"}}),
                (1250, 120),
            ),
            ("no containers", json!({"containers": []}), (0, 0)),
        ];
        for (name, spec, (cpu, mem)) in cases {
            let r = pod_request(&pod(spec), false);
            assert_eq!((r.milli_cpu, r.memory), (cpu, mem), "{name}");
        }
    }

    #[test]
    fn non_zero_requests_default_cpu_and_memory_per_container() {
        let p = pod(json!({"containers": [
            {"name": "a", "image": "i"},
            c(json!({"cpu": "1"}))]}));
        let r = pod_request(&p, true);
        assert_eq!(r.milli_cpu, 1100);
        assert_eq!(r.memory, 2 * DEFAULT_MEMORY_REQUEST);
        assert_eq!(pod_request(&p, false).milli_cpu, 1000);
    }

    #[test]
    fn extended_resources_are_scalar() {
        let p = pod(json!({"containers": [c(json!({"example.com/gpu": "2"}))]}));
        let r = pod_request(&p, false);
        assert_eq!(r.scalar.get("example.com/gpu"), Some(&2));
        assert!(!r.is_zero());
    }
}
