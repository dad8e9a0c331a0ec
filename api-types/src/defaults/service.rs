//! Defaults for services and endpoints.
//!
//! A service defaults to `ClusterIP` with no session affinity, and each port to TCP with
//! the target port equal to the port. Externally reachable services (node ports, load
//! balancers, cluster IPs with external IPs) route to all nodes' endpoints unless told
//! otherwise. Cluster IPs, IP families and the IP family policy are allocated by the service
//! strategy, not here.

use super::{default_absent, default_string, is_unset};
use crate::k8s::api::core::v1::{
    ClientIPConfig, Endpoints, Service, ServiceSpec, SessionAffinityConfig,
};
use crate::k8s::apimachinery::pkg::util::intstr::IntOrString;

/// How long a `ClientIP` session sticks to one endpoint: three hours.
const CLIENT_IP_AFFINITY_SECONDS: i32 = 10_800;

/// Defaults a service's type, affinity, ports and traffic policies.
pub fn default_service(service: &mut Service) {
    let spec = service.spec.get_or_insert_with(Default::default);
    default_string(&mut spec.session_affinity, "None");
    match spec.session_affinity.as_deref() {
        Some("None") => spec.session_affinity_config = None,
        Some("ClientIP") => {
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|config| config.client_ip.as_ref())
                .and_then(|client_ip| client_ip.timeout_seconds);
            if timeout.is_none() {
                spec.session_affinity_config = Some(SessionAffinityConfig {
                    client_ip: Some(ClientIPConfig {
                        timeout_seconds: Some(CLIENT_IP_AFFINITY_SECONDS),
                    }),
                });
            }
        }
        _ => {}
    }
    default_string(&mut spec.type_, "ClusterIP");
    for port in spec.ports.iter_mut().flatten() {
        default_string(&mut port.protocol, "TCP");
        let unset = match &port.target_port {
            None => true,
            Some(IntOrString::Int(value)) => *value == 0,
            Some(IntOrString::String(value)) => value.is_empty(),
        };
        if unset {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
    if externally_accessible(spec) {
        default_string(&mut spec.external_traffic_policy, "Cluster");
    }
    let service_type = spec.type_.as_deref().unwrap_or_default();
    if matches!(service_type, "ClusterIP" | "NodePort" | "LoadBalancer") {
        default_absent(&mut spec.internal_traffic_policy, "Cluster".to_owned());
    }
    if service_type == "LoadBalancer" {
        default_absent(&mut spec.allocate_load_balancer_node_ports, true);
        let ingresses = service
            .status
            .iter_mut()
            .flat_map(|status| status.load_balancer.iter_mut())
            .flat_map(|balancer| balancer.ingress.iter_mut().flatten());
        for ingress in ingresses {
            if !is_unset(&ingress.ip) {
                default_absent(&mut ingress.ip_mode, "VIP".to_owned());
            }
        }
    }
}

/// Whether traffic can reach the service from outside the cluster network.
fn externally_accessible(spec: &ServiceSpec) -> bool {
    match spec.type_.as_deref() {
        Some("LoadBalancer" | "NodePort") => true,
        Some("ClusterIP") => spec
            .external_ips
            .as_ref()
            .is_some_and(|ips| !ips.is_empty()),
        _ => false,
    }
}

/// Defaults the protocol of every endpoints port to TCP.
pub fn default_endpoints(endpoints: &mut Endpoints) {
    let ports = endpoints
        .subsets
        .iter_mut()
        .flatten()
        .flat_map(|subset| subset.ports.iter_mut().flatten());
    for port in ports {
        default_string(&mut port.protocol, "TCP");
    }
}
