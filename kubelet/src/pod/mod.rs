//! Running the node's pods: the pure translation of a pod into CRI configurations
//! ([`sandbox`], [`container`], [`env`]), volumes, pod status from runtime observations,
//! restart back-off, and the per-pod workers that drive the runtime.

pub mod atomic_writer;
pub mod backoff;
pub mod cleanup;
pub mod container;
pub mod env;
pub mod events;
pub mod manager;
pub mod naming;
pub mod probe;
pub mod prober;
pub mod sandbox;
pub mod status;
pub mod volumes;
pub mod worker;

use std::net::IpAddr;
use std::path::PathBuf;

/// What every pod of this node shares: where things go and how DNS is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The Node's name.
    pub node_name: String,
    /// The node's address (the pods' `hostIP`).
    pub node_ip: IpAddr,
    /// The kubelet's root directory (volumes, termination messages).
    pub root_dir: PathBuf,
    /// Where pod log directories go.
    pub logs_dir: PathBuf,
    /// The cgroup under which `kubepods` is made (cgroupfs path).
    pub cgroup_root: String,
    /// Cluster DNS servers for `ClusterFirst` pods.
    pub cluster_dns: Vec<IpAddr>,
    /// The cluster domain.
    pub cluster_domain: String,
    /// The machine's resolver settings, for `Default` pods.
    pub host_resolv: sandbox::HostResolv,
}

impl NodeConfig {
    /// A configuration with fixed values, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> NodeConfig {
        NodeConfig {
            node_name: "n1".into(),
            node_ip: "10.250.0.11".parse().expect("an address"),
            root_dir: PathBuf::from("/tmp/root"),
            logs_dir: PathBuf::from("/tmp/logs"),
            cgroup_root: "/".into(),
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".into(),
            host_resolv: sandbox::HostResolv::default(),
        }
    }
}
