//! The node's container runtime: a private containerd per node, configured for the machines
//! Berth runs on, started as a child process, and removed without leftovers.
//!
//! - [`config`]: the containerd configuration and CNI network list for one node.
//! - [`process`]: starting containerd, waiting for CRI, stopping it.
//! - [`cleanup`]: removing sandboxes, processes, mounts, cgroups, the bridge and the state.
//! - [`routes`]: `unreachable` routes that keep pod and service traffic on the machine.

use std::path::PathBuf;

pub mod cleanup;
pub mod config;
pub mod local;
pub mod process;
pub mod routes;

pub use cleanup::{clean_up, remove_all_sandboxes};
pub use config::{Ipv4Net, RuntimeConfig, PAUSE_IMAGE};
pub use process::{Containerd, RuntimeError};
pub use routes::RouteGuard;

/// Where `berth up` starts the local node's containerd, and where `berth image import` looks
/// for it by default.
pub const DEFAULT_CONTAINERD_SOCKET: &str = "/run/berth/containerd/containerd.sock";

/// The containerd socket of a node on this machine: the default for the local node (`None`),
/// `/run/berth/nodes/<name>/containerd.sock` for a named extra node.
pub fn node_containerd_socket(node: Option<&str>) -> PathBuf {
    match node {
        None => PathBuf::from(DEFAULT_CONTAINERD_SOCKET),
        Some(name) => PathBuf::from("/run/berth/nodes")
            .join(name)
            .join("containerd.sock"),
    }
}
