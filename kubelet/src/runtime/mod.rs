//! The node's container runtime: a private containerd per node, configured for the machines
//! Berth runs on, started as a child process, and removed without leftovers.
//!
//! - [`config`]: the containerd configuration and CNI network list for one node.
//! - [`process`]: starting containerd, waiting for CRI, stopping it.
//! - [`cleanup`]: removing sandboxes, processes, mounts, cgroups, the bridge and the state.
//! - [`routes`]: `unreachable` routes that keep pod and service traffic on the machine.

pub mod cleanup;
pub mod config;
pub mod process;
pub mod routes;

pub use cleanup::{clean_up, remove_all_sandboxes};
pub use config::{Ipv4Net, RuntimeConfig, PAUSE_IMAGE};
pub use process::{Containerd, RuntimeError};
pub use routes::RouteGuard;
