//! Berth's scheduler: places pods on nodes and explains, in Kubernetes' words, when it cannot.
//!
//! The core is pure: [`framework`] defines one small trait per extension point (pre-filter,
//! filter, pre-score, score, post-filter, reserve, bind), [`plugins`] holds the built-in plugins registered by
//! name in one table, and [`algorithm`] runs one scheduling decision over a list of
//! [`node_info::NodeInfo`]. Plugins return a [`status::Status`] whose reasons are data; the
//! `FailedScheduling` message is built by counting them.
//!
//! Trade-off: plugins see the pod as a whole `k8s-openapi` object (with its scheduling facts
//! precomputed in [`pod_info::PodInfo`]), which keeps them close to the API; nodes, which are
//! many and large, are kept only as the fields plugins read ([`node_info::NodeInfo`]).

pub mod algorithm;
pub mod cache;
pub mod framework;
pub mod node_info;
pub mod plugins;
pub mod pod_info;
pub mod queue;
pub mod resources;
pub mod run;
pub mod status;
pub mod wire;
