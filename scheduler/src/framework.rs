//! The scheduling framework: one small trait per extension point, and a profile that runs the
//! plugins a configuration names, in order, with score weights.
//!
//! A plugin implements only the points it cares about and says so through [`Plugin`]'s
//! `as_*` methods. Plugins are pure functions of the pod and a node snapshot: they never call
//! the API. Binding is expressed as data too: a bind plugin says which node object to post,
//! and the caller does the I/O.

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};
use std::collections::BTreeMap;

/// The highest score a plugin may give a node after normalisation.
pub const MAX_NODE_SCORE: i64 = 100;

/// Rules a node out (or in) for a pod.
pub trait FilterPlugin: Send + Sync {
    /// Whether `pod` may run on `node`.
    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Ranks the nodes that passed every filter.
pub trait ScorePlugin: Send + Sync {
    /// A raw score for `node`; [`ScorePlugin::normalize`] maps raw scores to 0..=100.
    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64;

    /// Rescales the raw scores of all feasible nodes; the default keeps them as they are.
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// Runs when no node passed the filters, to make room (for example by preemption).
pub trait PostFilterPlugin: Send + Sync {
    /// Given each node's filter verdict, returns a success naming the node the pod should be
    /// nominated to, or a rejection whose reasons are added to the `FailedScheduling` text.
    fn post_filter(&self, pod: &PodInfo, statuses: &BTreeMap<String, Status>) -> PostFilterResult;
}

/// What a post-filter plugin achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostFilterResult {
    /// Success, or why nothing could be done.
    pub status: Status,
    /// The node the pod should wait for, when the plugin made room on one.
    pub nominated_node: Option<String>,
}

/// Claims node-local resources for a pod before it is bound, and gives them back on failure.
pub trait ReservePlugin: Send + Sync {
    /// Claims what the pod needs on `node`.
    fn reserve(&self, pod: &PodInfo, node: &str) -> Status;
    /// Returns what [`ReservePlugin::reserve`] claimed; must be idempotent.
    fn unreserve(&self, pod: &PodInfo, node: &str);
}

/// Decides how a pod is bound to its node. The binding itself is posted by the caller.
pub trait BindPlugin: Send + Sync {
    /// `Success` when this plugin handles the binding, `Skip` to let the next one decide.
    fn bind(&self, pod: &PodInfo, node: &str) -> Status;
}

/// A plugin: a name and the extension points it implements.
pub trait Plugin: Send + Sync {
    /// The name configurations use.
    fn name(&self) -> &'static str;
    /// The filter extension, if any.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// The score extension, if any.
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// The post-filter extension, if any.
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    /// The reserve extension, if any.
    fn as_reserve(&self) -> Option<&dyn ReservePlugin> {
        None
    }
    /// The bind extension, if any.
    fn as_bind(&self) -> Option<&dyn BindPlugin> {
        None
    }
}

/// Builds one plugin.
pub type Factory = fn() -> Box<dyn Plugin>;

/// A plugin enabled in a profile, with its score weight.
pub struct Enabled {
    plugin: Box<dyn Plugin>,
    weight: i64,
}

/// Why a profile could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    /// The configuration names a plugin the registry does not have.
    #[error("plugin {0:?} is not registered")]
    UnknownPlugin(String),
}

/// A configured set of plugins, run in the order given.
pub struct Profile {
    /// The scheduler name pods ask for (`spec.schedulerName`).
    pub scheduler_name: String,
    plugins: Vec<Enabled>,
}

impl Profile {
    /// Builds a profile from `(plugin name, score weight)` pairs looked up in `registry`.
    pub fn new(
        scheduler_name: &str,
        registry: &[(&'static str, Factory)],
        enabled: &[(&str, i64)],
    ) -> Result<Profile, ProfileError> {
        let mut plugins = Vec::new();
        for (name, weight) in enabled {
            let factory = registry
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f)
                .ok_or_else(|| ProfileError::UnknownPlugin((*name).to_owned()))?;
            plugins.push(Enabled {
                plugin: factory(),
                weight: *weight,
            });
        }
        Ok(Profile {
            scheduler_name: scheduler_name.to_owned(),
            plugins,
        })
    }

    /// Adds an already built plugin (tests and embedders use this for their own plugins).
    pub fn push(&mut self, plugin: Box<dyn Plugin>, weight: i64) {
        self.plugins.push(Enabled { plugin, weight });
    }

    /// Runs the filters in order; the first rejection decides, attributed to its plugin.
    pub fn run_filters(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        for e in &self.plugins {
            if let Some(f) = e.plugin.as_filter() {
                let status = f.filter(pod, node);
                match status.code {
                    Code::Success | Code::Skip => {}
                    _ => return status.with_plugin(e.plugin.name()),
                }
            }
        }
        Status::success()
    }

    /// Scores every node in `nodes`, normalises per plugin and sums with weights.
    pub fn run_scores(&self, pod: &PodInfo, nodes: &[&NodeInfo]) -> Vec<i64> {
        let mut total = vec![0i64; nodes.len()];
        let mut scores = vec![0i64; nodes.len()];
        for e in &self.plugins {
            let Some(s) = e.plugin.as_score() else {
                continue;
            };
            for (slot, node) in scores.iter_mut().zip(nodes) {
                *slot = s.score(pod, node);
            }
            s.normalize(&mut scores);
            for (t, v) in total.iter_mut().zip(&scores) {
                *t += v * e.weight;
            }
        }
        total
    }

    /// Whether any score plugin is enabled (with none, any feasible node will do).
    pub fn has_scores(&self) -> bool {
        self.plugins.iter().any(|e| e.plugin.as_score().is_some())
    }

    /// Runs post-filter plugins until one succeeds; otherwise returns the last rejection.
    pub fn run_post_filters(
        &self,
        pod: &PodInfo,
        statuses: &BTreeMap<String, Status>,
    ) -> Option<PostFilterResult> {
        let mut last = None;
        for e in &self.plugins {
            if let Some(p) = e.plugin.as_post_filter() {
                let mut r = p.post_filter(pod, statuses);
                r.status = r.status.with_plugin(e.plugin.name());
                if r.status.is_success() {
                    return Some(r);
                }
                last = Some(r);
            }
        }
        last
    }

    /// Runs reserve plugins in order; on the first failure, unreserves all in reverse order.
    pub fn run_reserve(&self, pod: &PodInfo, node: &str) -> Status {
        for e in &self.plugins {
            if let Some(r) = e.plugin.as_reserve() {
                let status = r.reserve(pod, node);
                if !status.is_success() {
                    self.run_unreserve(pod, node);
                    return status.with_plugin(e.plugin.name());
                }
            }
        }
        Status::success()
    }

    /// Unreserves every reserve plugin, last first.
    pub fn run_unreserve(&self, pod: &PodInfo, node: &str) {
        for e in self.plugins.iter().rev() {
            if let Some(r) = e.plugin.as_reserve() {
                r.unreserve(pod, node);
            }
        }
    }

    /// Asks bind plugins in order; returns the first that takes the pod and its verdict.
    pub fn run_bind(&self, pod: &PodInfo, node: &str) -> Option<(&'static str, Status)> {
        for e in &self.plugins {
            if let Some(b) = e.plugin.as_bind() {
                let status = b.bind(pod, node);
                if status.code != Code::Skip {
                    return Some((e.plugin.name(), status.with_plugin(e.plugin.name())));
                }
            }
        }
        None
    }
}
