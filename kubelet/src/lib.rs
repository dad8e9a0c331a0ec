//! berth-kubelet: the node agent. It registers its node, keeps the node's Lease, and runs the
//! pods bound to the node on containerd through CRI v1.

pub mod cri;
pub mod images;
pub mod runtime;
pub mod testenv;
