//! Berth's scheduler: places pods on nodes and explains, in Kubernetes' words, when it cannot.
//!
//! The core is pure: [`framework`] defines one small trait per extension point (pre-filter,
//! filter, pre-score, score, post-filter, reserve, bind), [`plugins`] holds the built-in plugins registered by
//! name in one table, and [`algorithm`] runs one scheduling decision over a list of
//! [`node_info::NodeInfo`]. Plugins return a [`status::Status`] whose reasons are data; the
//! `FailedScheduling` message is built by counting them.
//!
//! Trade-off: plugins see neither `Pod` nor `Node` objects but the fields they read, worked out
//! once when an object is decoded: [`pod_info::PodInfo`] (a pod's facts, plus what only a pod
//! still to be placed needs) and [`node_info::NodeInfo`]. Pods and nodes are the scheduler's
//! bulk, so keeping only those fields keeps its memory small; parts of the spec stay in their
//! API types (tolerations, node affinity, spread constraints) to keep plugins close to the
//! API.

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
