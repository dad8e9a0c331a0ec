//! What the scheduler needs to know about a pod, worked out once per pod instead of once per
//! node: its requests, host ports and identity.

use crate::resources::{pod_request, Resource};
use berth_api_types::k8s::api::core::v1::Pod;
use std::sync::Arc;

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
}

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
            pod,
        }
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }
}
