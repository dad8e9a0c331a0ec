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
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The highest score a plugin may give a node after normalisation.
pub const MAX_NODE_SCORE: i64 = 100;

/// Labels of every namespace, by name (for namespace selectors of pod affinity terms).
pub type NamespaceLabels = HashMap<String, BTreeMap<String, String>>;

/// A PodDisruptionBudget as preemption needs it: which pods it covers and how many more of
/// them may be disrupted now.
#[derive(Clone, Debug)]
pub struct PdbInfo {
    /// The budget's namespace.
    pub namespace: String,
    /// Which pods of that namespace it covers.
    pub selector: berth_api_types::labels::LabelSelector,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

/// The selectors of the objects that group pods for default spreading: Services (by
/// namespace, then name) and the controllers pods name as their owner.
#[derive(Clone, Debug, Default)]
pub struct OwnerSelectors {
    /// Service selectors by namespace, then service name.
    pub services: HashMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// ReplicaSet, StatefulSet and ReplicationController selectors by (kind, namespace, name).
    pub controllers: HashMap<(String, String, String), berth_api_types::labels::LabelSelector>,
}

/// What one scheduling cycle sees of the cluster: the nodes with their pods, namespace labels,
/// disruption budgets and the selectors of pod-grouping objects.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    /// Every node.
    pub nodes: &'a [NodeInfo],
    /// Namespace labels by namespace name.
    pub namespaces: &'a NamespaceLabels,
    /// Every PodDisruptionBudget.
    pub pdbs: &'a [PdbInfo],
    /// Services and controllers, for default topology spreading.
    pub owners: &'a OwnerSelectors,
    /// How many nodes report each image name.
    pub image_nodes: &'a HashMap<String, usize>,
    /// How many placed pods have any inter-pod (anti-)affinity term.
    pub pods_with_affinity: usize,
    /// How many placed pods have a required anti-affinity term.
    pub pods_with_required_anti_affinity: usize,
    /// Pending pods nominated to a node by preemption, by node name.
    pub nominated: &'a NominatedPods,
}

/// Pending pods nominated to a node (`status.nominatedNodeName`), by node name.
pub type NominatedPods = HashMap<String, Vec<Arc<PodInfo>>>;

impl Snapshot<'_> {
    /// The pods nominated to `node`.
    pub fn nominated_on(&self, node: &str) -> &[Arc<PodInfo>] {
        self.nominated.get(node).map_or(&[], Vec::as_slice)
    }
}

impl<'a> Snapshot<'a> {
    /// A snapshot of `nodes` alone (no namespace labels, budgets or owners).
    pub fn of_nodes(nodes: &'a [NodeInfo]) -> Snapshot<'a> {
        static NO_NAMESPACES: std::sync::OnceLock<NamespaceLabels> = std::sync::OnceLock::new();
        static NO_OWNERS: std::sync::OnceLock<OwnerSelectors> = std::sync::OnceLock::new();
        static NO_IMAGES: std::sync::OnceLock<HashMap<String, usize>> = std::sync::OnceLock::new();
        static NO_NOMINATED: std::sync::OnceLock<NominatedPods> = std::sync::OnceLock::new();
        Snapshot {
            nodes,
            namespaces: NO_NAMESPACES.get_or_init(HashMap::new),
            pdbs: &[],
            owners: NO_OWNERS.get_or_init(OwnerSelectors::default),
            image_nodes: NO_IMAGES.get_or_init(HashMap::new),
            pods_with_affinity: nodes.iter().map(|n| n.pods_with_affinity.len()).sum(),
            pods_with_required_anti_affinity: nodes
                .iter()
                .map(|n| n.pods_with_required_anti_affinity.len())
                .sum(),
            nominated: NO_NOMINATED.get_or_init(HashMap::new),
        }
    }
}

/// Per-cycle data a plugin works out once per pod (in PreFilter or PreScore) and reads back
/// for every node.
pub trait StateData: Any + Send + Sync {
    /// A copy, for preemption's what-if evaluations.
    fn clone_data(&self) -> Box<dyn StateData>;
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The data plugins keep for one scheduling cycle, by key, plus the plugins that asked to be
/// left out of it.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn StateData>>,
    /// By plugin position in the profile: whether its filter sits this cycle out.
    skipped: Vec<bool>,
}

impl Clone for CycleState {
    fn clone(&self) -> CycleState {
        CycleState {
            data: self
                .data
                .iter()
                .map(|(k, v)| (*k, (**v).clone_data()))
                .collect(),
            skipped: self.skipped.clone(),
        }
    }
}

impl CycleState {
    /// Stores `value` under `key`.
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }

    /// The value under `key`, if it has type `T`.
    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key)?.as_ref().as_any().downcast_ref()
    }

    /// The value under `key` for changing, if it has type `T`.
    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data.get_mut(key)?.as_mut().as_any_mut().downcast_mut()
    }

    /// Whether the plugin at `position` in the profile skips this cycle's filters.
    pub fn is_skipped(&self, position: usize) -> bool {
        self.skipped.get(position).copied().unwrap_or(false)
    }

    fn skip(&mut self, position: usize) {
        if self.skipped.len() <= position {
            self.skipped.resize(position + 1, false);
        }
        self.skipped[position] = true;
    }
}

/// Pre-filter state that counts other pods per node or domain, and so must follow a pod
/// joining or leaving a node in preemption's and nomination's what-if worlds.
pub trait PodCounts {
    /// Accounts `other` on `node` with sign `by` (+1 joining, -1 leaving), for the incoming
    /// `pod`.
    fn update(&mut self, pod: &PodInfo, other: &PodInfo, node: &NodeInfo, by: i64);
}

/// Works out per-pod data once before the filters run, or rejects the pod outright.
pub trait PreFilterPlugin: Send + Sync {
    /// Writes what the filter will need into `state`. `Skip` leaves this plugin's filter out
    /// of the cycle; a rejection rejects every node with its reasons.
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status;

    /// This plugin's counts in `state`, if it keeps any ([`PreFilterPlugin::add_pod`] and
    /// [`PreFilterPlugin::remove_pod`] update them).
    fn counts<'s>(&self, _state: &'s mut CycleState) -> Option<&'s mut dyn PodCounts> {
        None
    }

    /// Updates the state as if `other` were added to `node` (preemption's what-if).
    fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &Arc<PodInfo>,
        node: &NodeInfo,
    ) {
        if let Some(c) = self.counts(state) {
            c.update(pod, other, node, 1);
        }
    }

    /// Updates the state as if `other` were removed from `node` (preemption's what-if).
    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &Arc<PodInfo>,
        node: &NodeInfo,
    ) {
        if let Some(c) = self.counts(state) {
            c.update(pod, other, node, -1);
        }
    }
}

/// Rules a node out (or in) for a pod.
pub trait FilterPlugin: Send + Sync {
    /// Whether `pod` may run on `node`.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Works out per-pod data once before scoring the feasible nodes.
pub trait PreScorePlugin: Send + Sync {
    /// Writes what the score will need into `state`; `Skip` leaves the score out (every node
    /// then scores 0 for this plugin).
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status;
}

/// Ranks the nodes that passed every filter.
pub trait ScorePlugin: Send + Sync {
    /// A raw score for `node`; [`ScorePlugin::normalize`] maps raw scores to 0..=100.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64;

    /// Rescales the raw scores of all feasible nodes; the default keeps them as they are.
    fn normalize(&self, _scores: &mut [i64]) {}
}

/// What a post-filter plugin may look at: the cycle's snapshot and state, and the profile
/// (to re-run the filters on what-if versions of a node).
pub struct PostFilterContext<'a> {
    /// The profile the cycle runs.
    pub profile: &'a Profile,
    /// The cycle's state after PreFilter.
    pub state: &'a CycleState,
    /// What the cycle saw.
    pub snapshot: &'a Snapshot<'a>,
}

/// Runs when no node passed the filters, to make room (for example by preemption).
pub trait PostFilterPlugin: Send + Sync {
    /// Given each node's filter verdict, returns a success naming the node the pod should be
    /// nominated to (with the pods to remove from it), or a rejection whose reasons are added
    /// to the `FailedScheduling` text.
    fn post_filter(
        &self,
        ctx: &PostFilterContext,
        pod: &PodInfo,
        statuses: &BTreeMap<String, Status>,
    ) -> PostFilterResult;
}

/// What a post-filter plugin achieved.
#[derive(Clone, Debug)]
pub struct PostFilterResult {
    /// Success, or why nothing could be done.
    pub status: Status,
    /// The node the pod should wait for, when the plugin made room on one.
    pub nominated_node: Option<String>,
    /// The pods to delete to make that room (the caller deletes them).
    pub victims: Vec<Arc<PodInfo>>,
}

impl PostFilterResult {
    /// A rejection with one reason.
    pub fn rejected(status: Status) -> PostFilterResult {
        PostFilterResult {
            status,
            nominated_node: None,
            victims: Vec::new(),
        }
    }
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
    /// The pre-filter extension, if any.
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    /// The filter extension, if any.
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    /// The pre-score extension, if any.
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
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

    /// Runs the pre-filters in order into `state`; the first rejection (or error) decides.
    pub fn run_pre_filters(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for (i, e) in self.plugins.iter().enumerate() {
            if let Some(p) = e.plugin.as_pre_filter() {
                let status = p.pre_filter(state, pod, snapshot);
                match status.code {
                    Code::Success => {}
                    Code::Skip => state.skip(i),
                    _ => return status.with_plugin(e.plugin.name()),
                }
            }
        }
        Status::success()
    }

    /// Tells every pre-filter that `other` joins `node` in the what-if world of `state`.
    pub fn run_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &Arc<PodInfo>,
        node: &NodeInfo,
    ) {
        for (i, e) in self.plugins.iter().enumerate() {
            if let Some(p) = e.plugin.as_pre_filter() {
                if !state.is_skipped(i) {
                    p.add_pod(state, pod, other, node);
                }
            }
        }
    }

    /// Tells every pre-filter that `other` leaves `node` in the what-if world of `state`.
    pub fn run_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        other: &Arc<PodInfo>,
        node: &NodeInfo,
    ) {
        for (i, e) in self.plugins.iter().enumerate() {
            if let Some(p) = e.plugin.as_pre_filter() {
                if !state.is_skipped(i) {
                    p.remove_pod(state, pod, other, node);
                }
            }
        }
    }

    /// Runs the filters in order; the first rejection decides, attributed to its plugin.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for (i, e) in self.plugins.iter().enumerate() {
            if let Some(f) = e.plugin.as_filter() {
                if state.is_skipped(i) {
                    continue;
                }
                let status = f.filter(state, pod, node);
                match status.code {
                    Code::Success | Code::Skip => {}
                    _ => return status.with_plugin(e.plugin.name()),
                }
            }
        }
        Status::success()
    }

    /// Runs the filters as [`Profile::run_filters`] does, but when pods of the same or a
    /// higher priority than `pod` are nominated to the node (`nominated`, the pod itself left
    /// out), first with those pods added to the node and the state, then without them: the pod
    /// must pass both, so it cannot take the room made for them, nor count on pods that are
    /// not there yet (such as for affinity).
    pub fn run_filters_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &[Arc<PodInfo>],
    ) -> Status {
        let mut ahead = nominated
            .iter()
            .filter(|p| p.key != pod.key && p.priority >= pod.priority)
            .peekable();
        if ahead.peek().is_some() {
            let mut with_state = state.clone();
            let mut with_node = node.clone();
            for p in ahead {
                self.run_add_pod(&mut with_state, pod, p, &with_node);
                with_node.add_pod(p.clone());
            }
            let status = self.run_filters(&with_state, pod, &with_node);
            if !status.is_success() {
                return status;
            }
        }
        self.run_filters(state, pod, node)
    }

    /// Runs the pre-scores, then scores every node in `nodes`, normalises per plugin and
    /// sums with weights. A plugin whose pre-score skips adds nothing.
    pub fn run_scores(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Result<Vec<i64>, Status> {
        let mut skip_score = vec![false; self.plugins.len()];
        for (i, e) in self.plugins.iter().enumerate() {
            if let Some(p) = e.plugin.as_pre_score() {
                let status = p.pre_score(state, pod, nodes, snapshot);
                match status.code {
                    Code::Success => {}
                    Code::Skip => skip_score[i] = true,
                    _ => return Err(status.with_plugin(e.plugin.name())),
                }
            }
        }
        let mut total = vec![0i64; nodes.len()];
        let mut scores = vec![0i64; nodes.len()];
        for (i, e) in self.plugins.iter().enumerate() {
            let Some(s) = e.plugin.as_score() else {
                continue;
            };
            if skip_score[i] {
                continue;
            }
            for (slot, node) in scores.iter_mut().zip(nodes) {
                *slot = s.score(state, pod, node);
            }
            s.normalize(&mut scores);
            for (t, v) in total.iter_mut().zip(&scores) {
                *t += v * e.weight;
            }
        }
        Ok(total)
    }

    /// Whether any score plugin is enabled (with none, any feasible node will do).
    pub fn has_scores(&self) -> bool {
        self.plugins.iter().any(|e| e.plugin.as_score().is_some())
    }

    /// Runs post-filter plugins until one succeeds; otherwise returns the last rejection.
    pub fn run_post_filters(
        &self,
        state: &CycleState,
        snapshot: &Snapshot,
        pod: &PodInfo,
        statuses: &BTreeMap<String, Status>,
    ) -> Option<PostFilterResult> {
        let ctx = PostFilterContext {
            profile: self,
            state,
            snapshot,
        };
        let mut last = None;
        for e in &self.plugins {
            if let Some(p) = e.plugin.as_post_filter() {
                let mut r = p.post_filter(&ctx, pod, statuses);
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
