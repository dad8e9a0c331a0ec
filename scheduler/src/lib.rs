//! Berth's scheduler: places pods on nodes and explains, in Kubernetes' words, when it cannot.
//!
//! The core is pure: [`framework`] defines one small trait per extension point (filter,
//! score, post-filter, reserve, bind), [`plugins`] holds the built-in plugins registered by
//! name in one table, and [`algorithm`] runs one scheduling decision over a list of
//! [`node_info::NodeInfo`]. Plugins return a [`status::Status`] whose reasons are data; the
//! `FailedScheduling` message is built by counting them.
//!
//! Trade-off: plugins see whole `k8s-openapi` objects rather than a compact model, which
//! keeps them short and close to the API at some cost in memory per node.

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
