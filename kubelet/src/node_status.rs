//! The Node object this kubelet keeps: labels, addresses, capacity, allocatable, `nodeInfo`
//! and the four conditions, computed from machine and runtime facts. Pure: the sync loop in
//! [`crate::node`] reads the facts and posts what this module builds.

use crate::machine::MachineFacts;
use berth_api_types::k8s::api::core::v1::{
    ContainerImage, DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus,
    NodeSystemInfo,
};
use berth_api_types::k8s::apimachinery::pkg::api::resource::Quantity;
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The version this kubelet reports in `nodeInfo.kubeletVersion`.
pub const KUBELET_VERSION: &str = "v1.33.0-berth";

/// Images listed in `status.images`, largest first.
pub const MAX_IMAGES: usize = 50;

/// Names listed per image in `status.images`.
pub const MAX_NAMES_PER_IMAGE: usize = 5;

/// Pods one node accepts.
pub const MAX_PODS: u64 = 110;

/// Memory kept back from allocatable: the default hard eviction threshold, 100 MiB.
pub const MEMORY_EVICTION_BYTES: u64 = 100 * 1024 * 1024;

/// Share of the node filesystem that must stay free (percent) before DiskPressure.
pub const FS_EVICTION_PERCENT: u64 = 10;

/// Share of `pid_max` in use (percent) from which the node reports PIDPressure.
pub const PID_PRESSURE_PERCENT: u64 = 95;

/// What the node says about itself, independent of the machine.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// The Node's name.
    pub name: String,
    /// The address other components reach the node at.
    pub ip: IpAddr,
    /// The machine's host name.
    pub hostname: String,
    /// The node server's port.
    pub port: u16,
}

/// How the container runtime answered its Version and Status calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeHealth {
    /// The runtime did not answer.
    Down(String),
    /// It answered: version (`containerd://1.6.20`) and its unmet conditions, as messages.
    Up {
        /// `<runtime name>://<runtime version>`.
        version: String,
        /// Unmet runtime conditions, each rendered as upstream does
        /// (`NetworkReady=false reason:... message:...`).
        problems: Vec<String>,
        /// Whether the failing conditions include the network.
        network_down: bool,
    },
}

/// The standard labels a node carries about itself.
pub fn labels(id: &NodeIdentity, machine: &MachineFacts) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), id.hostname.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        (
            "kubernetes.io/arch".to_string(),
            machine.architecture.clone(),
        ),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        (
            "beta.kubernetes.io/arch".to_string(),
            machine.architecture.clone(),
        ),
    ])
}

fn quantity(n: u64) -> Quantity {
    Quantity(n.to_string())
}

fn kibibytes(bytes: u64) -> Quantity {
    Quantity(format!("{}Ki", bytes / 1024))
}

/// The node status for these facts. Conditions keep their `lastTransitionTime` from
/// `previous` while their status is unchanged; every heartbeat time is `now`.
pub fn build(
    id: &NodeIdentity,
    machine: &MachineFacts,
    runtime: &RuntimeHealth,
    previous: Option<&NodeStatus>,
    now: Time,
) -> NodeStatus {
    let capacity = BTreeMap::from([
        ("cpu".to_string(), quantity(machine.cpus)),
        ("memory".to_string(), kibibytes(machine.memory_bytes)),
        ("pods".to_string(), quantity(MAX_PODS)),
        ("ephemeral-storage".to_string(), kibibytes(machine.fs_bytes)),
        ("hugepages-2Mi".to_string(), quantity(0)),
    ]);
    let mut allocatable = capacity.clone();
    allocatable.insert(
        "memory".to_string(),
        kibibytes(machine.memory_bytes.saturating_sub(MEMORY_EVICTION_BYTES)),
    );
    allocatable.insert(
        "ephemeral-storage".to_string(),
        quantity(machine.fs_bytes - machine.fs_bytes * FS_EVICTION_PERCENT / 100),
    );
    let runtime_version = match runtime {
        RuntimeHealth::Up { version, .. } => version.clone(),
        RuntimeHealth::Down(_) => previous
            .and_then(|p| p.node_info.as_ref())
            .map(|i| i.container_runtime_version.clone())
            .unwrap_or_default(),
    };
    let conditions = conditions(machine, runtime)
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let kept = previous
                .and_then(|p| p.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
                .filter(|c| c.status == status)
                .and_then(|c| c.last_transition_time.clone());
            NodeCondition {
                type_: type_.to_string(),
                status: status.to_string(),
                reason: Some(reason.to_string()),
                message: Some(message),
                last_heartbeat_time: Some(now.clone()),
                last_transition_time: Some(kept.unwrap_or_else(|| now.clone())),
            }
        })
        .collect();
    NodeStatus {
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".to_string(),
                address: id.ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".to_string(),
                address: id.hostname.clone(),
            },
        ]),
        allocatable: Some(allocatable),
        capacity: Some(capacity),
        conditions: Some(conditions),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(id.port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: machine.architecture.clone(),
            boot_id: machine.boot_id.clone(),
            container_runtime_version: runtime_version,
            kernel_version: machine.kernel_version.clone(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.to_string(),
            machine_id: machine.machine_id.clone(),
            operating_system: "linux".to_string(),
            os_image: machine.os_image.clone(),
            system_uuid: machine.system_uuid.clone(),
            swap: None,
        }),
        ..NodeStatus::default()
    }
}

/// `status.images` from the runtime's image list: the [`MAX_IMAGES`] largest images, each
/// named by its digests then its tags (at most [`MAX_NAMES_PER_IMAGE`] names), with its size.
/// Images the runtime knows by no name are left out.
pub fn images(mut list: Vec<k8s_cri::v1::Image>) -> Vec<ContainerImage> {
    list.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.id.cmp(&b.id)));
    list.into_iter()
        .filter_map(|image| {
            let names: Vec<String> = image
                .repo_digests
                .into_iter()
                .chain(image.repo_tags)
                .take(MAX_NAMES_PER_IMAGE)
                .collect();
            (!names.is_empty()).then(|| ContainerImage {
                names: Some(names),
                size_bytes: i64::try_from(image.size).ok(),
            })
        })
        .take(MAX_IMAGES)
        .collect()
}

type Condition = (&'static str, &'static str, &'static str, String);

/// Upstream's four node conditions with their reasons and messages, in upstream's order.
fn conditions(machine: &MachineFacts, runtime: &RuntimeHealth) -> Vec<Condition> {
    let memory_pressure = machine.memory_available_bytes < MEMORY_EVICTION_BYTES;
    let disk_pressure = machine.fs_bytes > 0
        && machine.fs_available_bytes * 100 < machine.fs_bytes * FS_EVICTION_PERCENT;
    let pid_pressure =
        machine.pid_max > 0 && machine.processes * 100 >= machine.pid_max * PID_PRESSURE_PERCENT;
    let memory = if memory_pressure {
        (
            "True",
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
        )
    } else {
        (
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        )
    };
    let disk = if disk_pressure {
        (
            "True",
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        )
    } else {
        (
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        )
    };
    let pid = if pid_pressure {
        (
            "True",
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
        )
    } else {
        (
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        )
    };
    let ready = match runtime {
        RuntimeHealth::Down(err) => (
            "False",
            "KubeletNotReady",
            format!("container runtime is down: {err}"),
        ),
        RuntimeHealth::Up {
            problems,
            network_down,
            ..
        } if !problems.is_empty() => {
            let what = if *network_down {
                "container runtime network not ready"
            } else {
                "container runtime not ready"
            };
            (
                "False",
                "KubeletNotReady",
                format!("{what}: {}", problems.join(", ")),
            )
        }
        RuntimeHealth::Up { .. } => (
            "True",
            "KubeletReady",
            "kubelet is posting ready status".to_string(),
        ),
    };
    vec![
        ("MemoryPressure", memory.0, memory.1, memory.2.to_string()),
        ("DiskPressure", disk.0, disk.1, disk.2.to_string()),
        ("PIDPressure", pid.0, pid.1, pid.2.to_string()),
        ("Ready", ready.0, ready.1, ready.2),
    ]
}

/// Whether two statuses say the same, heartbeat times aside: the kubelet posts a status
/// that only moves heartbeats once a minute, any other change at once.
pub fn same_apart_from_heartbeats(a: &NodeStatus, b: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_heartbeat_time = None;
        }
        s
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::k8s::jiff::Timestamp;

    fn id() -> NodeIdentity {
        NodeIdentity {
            name: "n1".into(),
            ip: "10.250.0.11".parse().unwrap(),
            hostname: "n1".into(),
            port: 10250,
        }
    }

    fn machine() -> MachineFacts {
        MachineFacts {
            cpus: 2,
            memory_bytes: 4 << 30,
            memory_available_bytes: 3 << 30,
            fs_bytes: 100 << 30,
            fs_available_bytes: 50 << 30,
            processes: 300,
            pid_max: 32768,
            kernel_version: "6.1.0".into(),
            os_image: "Debian GNU/Linux 12 (bookworm)".into(),
            architecture: "amd64".into(),
            ..MachineFacts::default()
        }
    }

    fn up() -> RuntimeHealth {
        RuntimeHealth::Up {
            version: "containerd://1.6.20".into(),
            problems: vec![],
            network_down: false,
        }
    }

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn condition<'a>(s: &'a NodeStatus, t: &str) -> &'a NodeCondition {
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
    }

    #[test]
    fn a_healthy_node_is_ready_with_upstream_reasons() {
        let s = build(&id(), &machine(), &up(), None, at(100));
        let ready = condition(&s, "Ready");
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
        assert_eq!(
            condition(&s, "MemoryPressure").reason.as_deref(),
            Some("KubeletHasSufficientMemory")
        );
        assert_eq!(
            condition(&s, "DiskPressure").reason.as_deref(),
            Some("KubeletHasNoDiskPressure")
        );
        assert_eq!(
            condition(&s, "PIDPressure").reason.as_deref(),
            Some("KubeletHasSufficientPID")
        );
        let cap = s.capacity.as_ref().unwrap();
        assert_eq!(cap["cpu"].0, "2");
        assert_eq!(cap["memory"].0, "4194304Ki");
        assert_eq!(cap["pods"].0, "110");
        let alloc = s.allocatable.as_ref().unwrap();
        assert_eq!(alloc["memory"].0, format!("{}Ki", 4194304 - 102400));
        let info = s.node_info.as_ref().unwrap();
        assert_eq!(info.container_runtime_version, "containerd://1.6.20");
        assert_eq!(info.kubelet_version, KUBELET_VERSION);
        assert_eq!(
            s.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port,
            10250
        );
    }

    #[test]
    fn runtime_problems_make_the_node_not_ready() {
        let down = RuntimeHealth::Down("connection refused".into());
        let s = build(&id(), &machine(), &down, None, at(1));
        let ready = condition(&s, "Ready");
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason.as_deref(), Some("KubeletNotReady"));
        assert!(ready
            .message
            .as_ref()
            .unwrap()
            .contains("container runtime is down"));

        let net = RuntimeHealth::Up {
            version: "containerd://1.6.20".into(),
            problems: vec!["NetworkReady=false reason:NetworkPluginNotReady message:cni".into()],
            network_down: true,
        };
        let s = build(&id(), &machine(), &net, None, at(1));
        assert!(condition(&s, "Ready")
            .message
            .as_ref()
            .unwrap()
            .starts_with("container runtime network not ready: NetworkReady=false"));
    }

    #[test]
    fn pressure_follows_the_thresholds() {
        let mut m = machine();
        m.memory_available_bytes = 50 << 20;
        m.fs_available_bytes = 5 << 30;
        m.processes = 32000;
        let s = build(&id(), &m, &up(), None, at(1));
        assert_eq!(condition(&s, "MemoryPressure").status, "True");
        assert_eq!(condition(&s, "DiskPressure").status, "True");
        assert_eq!(condition(&s, "PIDPressure").status, "True");
    }

    #[test]
    fn transitions_are_kept_until_the_status_flips() {
        let first = build(&id(), &machine(), &up(), None, at(100));
        let second = build(&id(), &machine(), &up(), Some(&first), at(200));
        let ready = condition(&second, "Ready");
        assert_eq!(ready.last_transition_time, Some(at(100)));
        assert_eq!(ready.last_heartbeat_time, Some(at(200)));
        assert!(same_apart_from_heartbeats(&first, &second));

        let down = RuntimeHealth::Down("gone".into());
        let third = build(&id(), &machine(), &down, Some(&second), at(300));
        assert_eq!(
            condition(&third, "Ready").last_transition_time,
            Some(at(300))
        );
        assert_eq!(
            condition(&third, "MemoryPressure").last_transition_time,
            Some(at(100))
        );
        assert!(!same_apart_from_heartbeats(&second, &third));
        // The runtime version survives a runtime outage.
        assert_eq!(
            third.node_info.unwrap().container_runtime_version,
            "containerd://1.6.20"
        );
    }

    #[test]
    fn images_are_listed_largest_first_with_digests_then_tags() {
        let image = |id: &str, size: u64, tags: &[&str], digests: &[&str]| k8s_cri::v1::Image {
            id: id.into(),
            size,
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            repo_digests: digests.iter().map(|d| d.to_string()).collect(),
            ..k8s_cri::v1::Image::default()
        };
        let mut list = vec![
            image("sha256:a", 10, &["small:1"], &[]),
            image(
                "sha256:b",
                300,
                &["big:1", "big:latest"],
                &["big@sha256:bb"],
            ),
            image("sha256:c", 50, &[], &[]),
            image("sha256:d", 7, &["t1", "t2", "t3", "t4"], &["d1", "d2"]),
        ];
        for i in 0..60 {
            list.push(image(
                &format!("sha256:x{i:02}"),
                1,
                &[&format!("x:{i}")],
                &[],
            ));
        }
        let out = images(list);
        assert_eq!(out.len(), MAX_IMAGES);
        assert_eq!(
            out[0].names.as_deref().unwrap(),
            ["big@sha256:bb", "big:1", "big:latest"]
        );
        assert_eq!(out[0].size_bytes, Some(300));
        // The nameless image is left out; sizes fall from there.
        assert_eq!(out[1].names.as_deref().unwrap(), ["small:1"]);
        assert_eq!(
            out[2].names.as_deref().unwrap(),
            ["d1", "d2", "t1", "t2", "t3"]
        );
        assert_eq!(out[3].size_bytes, Some(1));
    }

    #[test]
    fn standard_labels() {
        let l = labels(&id(), &machine());
        assert_eq!(l["kubernetes.io/hostname"], "n1");
        assert_eq!(l["kubernetes.io/os"], "linux");
        assert_eq!(l["kubernetes.io/arch"], "amd64");
    }
}
