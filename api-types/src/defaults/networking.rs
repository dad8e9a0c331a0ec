//! Defaults for network policies, ingress classes and endpoint slices.
//!
//! Ingresses have no defaults in networking.k8s.io/v1: a path's `pathType` is required.

use super::default_absent;
use crate::k8s::api::discovery::v1::EndpointSlice;
use crate::k8s::api::networking::v1::{IngressClass, NetworkPolicy};

/// Defaults a network policy: ports are TCP, and a policy that names no policy types
/// governs ingress, plus egress when it has egress rules.
pub fn default_network_policy(policy: &mut NetworkPolicy) {
    let spec = policy.spec.get_or_insert_with(Default::default);
    let ingress_ports = spec
        .ingress
        .iter_mut()
        .flatten()
        .flat_map(|rule| rule.ports.iter_mut().flatten());
    let egress_ports = spec
        .egress
        .iter_mut()
        .flatten()
        .flat_map(|rule| rule.ports.iter_mut().flatten());
    for port in ingress_ports.chain(egress_ports) {
        default_absent(&mut port.protocol, "TCP".to_owned());
    }
    if spec.policy_types.as_ref().is_none_or(Vec::is_empty) {
        let mut types = vec!["Ingress".to_owned()];
        if spec.egress.as_ref().is_some_and(|rules| !rules.is_empty()) {
            types.push("Egress".to_owned());
        }
        spec.policy_types = Some(types);
    }
}

/// Parameters of an ingress class are cluster-scoped unless they say otherwise.
pub fn default_ingress_class(class: &mut IngressClass) {
    let parameters = class
        .spec
        .as_mut()
        .and_then(|spec| spec.parameters.as_mut());
    if let Some(parameters) = parameters {
        default_absent(&mut parameters.scope, "Cluster".to_owned());
    }
}

/// Endpoint slice ports are TCP and unnamed unless they say otherwise.
pub fn default_endpoint_slice(slice: &mut EndpointSlice) {
    for port in slice.ports.iter_mut().flatten() {
        default_absent(&mut port.name, String::new());
        default_absent(&mut port.protocol, "TCP".to_owned());
    }
}
