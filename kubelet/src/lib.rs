//! berth-kubelet: the node agent. It registers its node, keeps the node's Lease, and runs the
//! pods bound to the node on containerd through CRI v1.
//!
//! Pure parts (what the Node says about itself, the CRI configurations built from a pod, pod
//! status from runtime observations, back-off) are functions over data with their tests
//! beside them; the loops in [`node`], [`lease`] and [`run`] do the I/O.

pub mod cri;
pub mod images;
pub mod lease;
pub mod machine;
pub mod node;
pub mod node_status;
pub mod pod;
pub mod run;
pub mod runtime;
pub mod server;
pub mod testenv;
