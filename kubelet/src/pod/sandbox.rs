//! The pod sandbox configuration built from a pod: hostname, DNS per `dnsPolicy`, port
//! mappings for host ports, the cgroup parent per QoS class, labels for adoption. Pure.

use super::naming;
use super::NodeConfig;
use berth_api_types::k8s::api::core::v1::{Container, Pod, PodDNSConfig};
use k8s_cri::v1::{
    DnsConfig, LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata, PortMapping, Protocol,
};

/// The resolver settings of the machine, from its `/etc/resolv.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostResolv {
    /// `nameserver` lines.
    pub servers: Vec<String>,
    /// The `search` (or `domain`) list.
    pub searches: Vec<String>,
    /// `options`.
    pub options: Vec<String>,
}

impl HostResolv {
    /// Parses a resolv.conf.
    pub fn parse(text: &str) -> HostResolv {
        let mut r = HostResolv::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => r.servers.extend(words.next().map(String::from)),
                Some("search") | Some("domain") => r.searches = words.map(String::from).collect(),
                Some("options") => r.options.extend(words.map(String::from)),
                _ => {}
            }
        }
        r
    }
}

/// The pod's QoS class: what the API server recorded, else computed from the containers.
pub fn qos_class(pod: &Pod) -> String {
    if let Some(q) = pod.status.as_ref().and_then(|s| s.qos_class.clone()) {
        return q;
    }
    let spec = match &pod.spec {
        Some(s) => s,
        None => return "BestEffort".into(),
    };
    let all: Vec<&Container> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in all {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let lim = c.resources.as_ref().and_then(|r| r.limits.as_ref());
        for res in ["cpu", "memory"] {
            let (rq, lm) = (req.and_then(|m| m.get(res)), lim.and_then(|m| m.get(res)));
            any |= rq.is_some() || lm.is_some();
            match (rq, lm) {
                (_, None) => guaranteed = false,
                (Some(a), Some(b)) if a != b => guaranteed = false,
                _ => {}
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
    .into()
}

/// The pod's hostname: `spec.hostname`, else its name cut to 63 characters.
pub fn hostname(pod: &Pod) -> String {
    let from_spec = pod.spec.as_ref().and_then(|s| s.hostname.clone());
    let mut h = from_spec.unwrap_or_else(|| naming::pod_ids(pod).1.to_string());
    h.truncate(63);
    h.trim_end_matches(['-', '.']).to_string()
}

/// The pod's resolver configuration per its `dnsPolicy`; `None` lets the runtime copy the
/// host's file.
pub fn dns_config(pod: &Pod, node: &NodeConfig) -> Option<DnsConfig> {
    let spec = pod.spec.as_ref()?;
    let host_network = spec.host_network.unwrap_or(false);
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let cluster_first = match policy {
        "None" => {
            return Some(merge_dns(DnsConfig::default(), spec.dns_config.as_ref()));
        }
        "Default" => false,
        "ClusterFirstWithHostNet" => true,
        _ => !host_network,
    };
    let base = if cluster_first && !node.cluster_dns.is_empty() {
        let (ns, _, _) = naming::pod_ids(pod);
        let d = &node.cluster_domain;
        let mut searches = vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()];
        searches.extend(node.host_resolv.searches.iter().cloned());
        DnsConfig {
            servers: node.cluster_dns.iter().map(|ip| ip.to_string()).collect(),
            searches,
            options: vec!["ndots:5".into()],
        }
    } else {
        DnsConfig {
            servers: node.host_resolv.servers.clone(),
            searches: node.host_resolv.searches.clone(),
            options: node.host_resolv.options.clone(),
        }
    };
    Some(merge_dns(base, spec.dns_config.as_ref()))
}

/// Adds `dnsConfig` to a base: servers and searches appended without duplicates (at most 3
/// servers, 32 search domains), options replaced by name.
fn merge_dns(mut base: DnsConfig, extra: Option<&PodDNSConfig>) -> DnsConfig {
    if let Some(extra) = extra {
        for s in extra.nameservers.iter().flatten() {
            if !base.servers.contains(s) {
                base.servers.push(s.clone());
            }
        }
        for s in extra.searches.iter().flatten() {
            if !base.searches.contains(s) {
                base.searches.push(s.clone());
            }
        }
        for o in extra.options.iter().flatten() {
            let rendered = match &o.value {
                Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            let name = rendered.split(':').next().unwrap_or_default().to_string();
            base.options
                .retain(|x| x.split(':').next().unwrap_or_default() != name);
            base.options.push(rendered);
        }
    }
    base.servers.truncate(3);
    base.searches.truncate(32);
    base
}

/// Port mappings for every container port with a `hostPort`.
pub fn port_mappings(pod: &Pod) -> Vec<PortMapping> {
    let spec = match &pod.spec {
        Some(s) => s,
        None => return Vec::new(),
    };
    spec.containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => Protocol::Udp,
                Some("SCTP") => Protocol::Sctp,
                _ => Protocol::Tcp,
            } as i32,
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or(0),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect()
}

/// The full sandbox configuration for attempt `attempt`.
pub fn sandbox_config(pod: &Pod, node: &NodeConfig, attempt: u32) -> PodSandboxConfig {
    let (ns, name, uid) = naming::pod_ids(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let psc = spec.security_context.clone().unwrap_or_default();
    let network = if spec.host_network.unwrap_or(false) {
        NamespaceMode::Node
    } else {
        NamespaceMode::Pod
    };
    let pid = if spec.host_pid.unwrap_or(false) {
        NamespaceMode::Node
    } else if spec.share_process_namespace.unwrap_or(false) {
        NamespaceMode::Pod
    } else {
        NamespaceMode::Container
    };
    let ipc = if spec.host_ipc.unwrap_or(false) {
        NamespaceMode::Node
    } else {
        NamespaceMode::Pod
    };
    let privileged = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.privileged)
                .unwrap_or(false)
        });
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_string(),
            uid: uid.to_string(),
            namespace: ns.to_string(),
            attempt,
        }),
        hostname: if network == NamespaceMode::Node {
            String::new()
        } else {
            hostname(pod)
        },
        log_directory: naming::log_dir(&node.logs_dir, pod)
            .to_string_lossy()
            .into_owned(),
        dns_config: dns_config(pod, node),
        port_mappings: port_mappings(pod),
        labels: naming::sandbox_labels(pod),
        annotations: pod
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: naming::cgroup_parent(&node.cgroup_root, &qos_class(pod), uid),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: network as i32,
                    pid: pid as i32,
                    ipc: ipc as i32,
                    ..NamespaceOption::default()
                }),
                run_as_user: psc
                    .run_as_user
                    .map(|value| k8s_cri::v1::Int64Value { value }),
                run_as_group: psc
                    .run_as_group
                    .map(|value| k8s_cri::v1::Int64Value { value }),
                supplemental_groups: psc.supplemental_groups.clone().unwrap_or_default(),
                privileged,
                ..LinuxSandboxSecurityContext::default()
            }),
            sysctls: psc
                .sysctls
                .iter()
                .flatten()
                .map(|s| (s.name.clone(), s.value.clone()))
                .collect(),
            ..LinuxPodSandboxConfig::default()
        }),
        windows: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::k8s::api::core::v1::{ContainerPort, PodDNSConfigOption, PodSpec};

    fn pod(json: serde_json::Value) -> Pod {
        let mut p: Pod = serde_json::from_value(json).unwrap();
        p.metadata.namespace.get_or_insert("team".into());
        p.metadata.name.get_or_insert("web".into());
        p.metadata.uid.get_or_insert("u1".into());
        p
    }

    fn node() -> NodeConfig {
        NodeConfig {
            cluster_dns: vec!["10.96.0.10".parse().unwrap()],
            host_resolv: HostResolv::parse("nameserver 192.0.2.53\nsearch example.test\n"),
            ..NodeConfig::for_tests()
        }
    }

    #[test]
    fn cluster_first_uses_the_cluster_dns_and_search_path() {
        let p = pod(serde_json::json!({"spec": {"containers": []}}));
        let d = dns_config(&p, &node()).unwrap();
        assert_eq!(d.servers, vec!["10.96.0.10"]);
        assert_eq!(
            d.searches,
            vec![
                "team.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "example.test"
            ]
        );
        assert_eq!(d.options, vec!["ndots:5"]);
    }

    #[test]
    fn default_and_none_policies() {
        let p = pod(serde_json::json!({"spec": {"containers": [], "dnsPolicy": "Default"}}));
        let d = dns_config(&p, &node()).unwrap();
        assert_eq!(d.servers, vec!["192.0.2.53"]);
        let mut p = pod(serde_json::json!({"spec": {"containers": [], "dnsPolicy": "None"}}));
        p.spec.as_mut().unwrap().dns_config = Some(PodDNSConfig {
            nameservers: Some(vec!["1.2.3.4".into()]),
            searches: Some(vec!["a.b".into()]),
            options: Some(vec![PodDNSConfigOption {
                name: Some("ndots".into()),
                value: Some("2".into()),
            }]),
        });
        let d = dns_config(&p, &node()).unwrap();
        assert_eq!(d.servers, vec!["1.2.3.4"]);
        assert_eq!(d.searches, vec!["a.b"]);
        assert_eq!(d.options, vec!["ndots:2"]);
        // A host-network pod with ClusterFirst uses the host's resolver.
        let p = pod(serde_json::json!({"spec": {"containers": [], "hostNetwork": true}}));
        assert_eq!(dns_config(&p, &node()).unwrap().servers, vec!["192.0.2.53"]);
    }

    #[test]
    fn sandbox_has_hostname_ports_cgroup_and_labels() {
        let mut p = pod(serde_json::json!({"spec": {"containers": [{"name": "c", "image": "i"}]}}));
        p.spec.as_mut().unwrap().containers[0].ports = Some(vec![
            ContainerPort {
                container_port: 80,
                host_port: Some(30080),
                ..ContainerPort::default()
            },
            ContainerPort {
                container_port: 81,
                ..ContainerPort::default()
            },
        ]);
        let c = sandbox_config(&p, &node(), 0);
        assert_eq!(c.hostname, "web");
        assert_eq!(c.port_mappings.len(), 1);
        assert_eq!(c.port_mappings[0].host_port, 30080);
        assert_eq!(c.linux.unwrap().cgroup_parent, "/kubepods/besteffort/podu1");
        assert_eq!(c.labels[naming::POD_UID_LABEL], "u1");
        assert_eq!(c.log_directory, "/tmp/logs/team_web_u1");
    }

    #[test]
    fn qos_is_computed_when_the_status_lacks_it() {
        let p = pod(serde_json::json!({"spec": {"containers": [{"name": "c",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]}}));
        assert_eq!(qos_class(&p), "Guaranteed");
        let p = pod(serde_json::json!({"spec": {"containers": [{"name": "c",
            "resources": {"requests": {"cpu": "1"}}}]}}));
        assert_eq!(qos_class(&p), "Burstable");
        let _ = PodSpec::default();
    }
}
