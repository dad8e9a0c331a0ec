//! The `podgc` controller: deletes pods nothing else will ever delete.
//!
//! Every `--pod-gc-check-period` it lists every node, looks at every pod in the controller
//! manager's shared pod copy ([`crate::informer`]) and force-deletes (grace period zero):
//!
//! - terminated pods (phase Succeeded or Failed) beyond `--terminated-pod-gc-threshold`
//!   (0 turns this off), evicted ones first, then oldest first, names breaking ties;
//! - terminating pods on a node that is not Ready and carries the
//!   `node.kubernetes.io/out-of-service` taint;
//! - orphaned pods, bound to a node that does not exist: a node name is first quarantined
//!   for `--pod-gc-quarantine` (a node may be registering or re-registering) and confirmed
//!   gone with a fresh read, then its pods get the `DisruptionTarget` condition (reason
//!   `DeletionByPodGC`) and go;
//! - pods being deleted that were never scheduled (no kubelet will finish them).
//!
//! A pod not yet in a terminal phase is first read fresh and patched to `Failed`, so its owner
//! and anyone watching sees it end even when no kubelet is left to say so.

use crate::hints::is_status;
use crate::informer::SlimPod;
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The taint that says a node is out of service and its terminating pods may go.
pub const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// Why a pod is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// One terminated pod too many.
    Terminated,
    /// Terminating on an out-of-service node.
    OutOfService,
    /// Bound to a node that is gone.
    Orphaned,
    /// Terminating without ever having been scheduled.
    UnscheduledTerminating,
}

/// What the collector reads of a pod: a full Pod or the shared copy's [`SlimPod`].
pub trait PodView {
    /// Its name.
    fn name(&self) -> &str;
    /// Its phase, if reported.
    fn phase(&self) -> Option<&str>;
    /// `status.reason`, if reported.
    fn status_reason(&self) -> Option<&str>;
    /// The node it is bound to (empty when unbound).
    fn node_name(&self) -> &str;
    /// Whether it carries a deletionTimestamp.
    fn deleting(&self) -> bool;
    /// Its creationTimestamp.
    fn created(&self) -> Option<Timestamp>;
}

impl PodView for Pod {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    fn phase(&self) -> Option<&str> {
        self.status.as_ref()?.phase.as_deref()
    }

    fn status_reason(&self) -> Option<&str> {
        self.status.as_ref()?.reason.as_deref()
    }

    fn node_name(&self) -> &str {
        self.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default()
    }

    fn deleting(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    fn created(&self) -> Option<Timestamp> {
        self.metadata.creation_timestamp.as_ref().map(|t| t.0)
    }
}

impl PodView for Arc<SlimPod> {
    fn name(&self) -> &str {
        &self.name
    }

    fn phase(&self) -> Option<&str> {
        SlimPod::phase(self)
    }

    fn status_reason(&self) -> Option<&str> {
        self.status_reason.as_deref()
    }

    fn node_name(&self) -> &str {
        SlimPod::node_name(self).unwrap_or_default()
    }

    fn deleting(&self) -> bool {
        self.deleted.is_some()
    }

    fn created(&self) -> Option<Timestamp> {
        self.created
    }
}

fn phase<P: PodView>(pod: &P) -> Option<&str> {
    pod.phase()
}

fn node_name<P: PodView>(pod: &P) -> &str {
    pod.node_name()
}

/// Whether the pod ended: any phase other than Pending, Running and Unknown.
fn terminated<P: PodView>(pod: &P) -> bool {
    !matches!(phase(pod), None | Some("Pending" | "Running" | "Unknown"))
}

fn evicted<P: PodView>(pod: &P) -> bool {
    phase(pod) == Some("Failed") && pod.status_reason() == Some("Evicted")
}

fn out_of_service(node: &Node) -> bool {
    let ready = crate::nodelifecycle::ready_status(node) == Some("True");
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE));
    !ready && tainted
}

/// The pods to collect now, with why, given every pod, every node, the node names confirmed
/// gone after their quarantine and the terminated-pod threshold.
pub fn select<'a, P: PodView>(
    pods: &'a [P],
    nodes: &HashMap<String, Node>,
    gone: &HashSet<String>,
    threshold: usize,
) -> Vec<(&'a P, Reason)> {
    let mut chosen = Vec::new();
    if threshold > 0 {
        let mut ended: Vec<&P> = pods.iter().filter(|p| terminated(*p)).collect();
        if ended.len() > threshold {
            let surplus = ended.len() - threshold;
            ended.sort_by_key(|p| (!evicted(*p), p.created(), p.name().to_owned()));
            chosen.extend(
                ended
                    .into_iter()
                    .take(surplus)
                    .map(|p| (p, Reason::Terminated)),
            );
        }
    }
    for pod in pods {
        let node = node_name(pod);
        let deleting = pod.deleting();
        let reason = if deleting && nodes.get(node).is_some_and(out_of_service) {
            Reason::OutOfService
        } else if !node.is_empty() && gone.contains(node) {
            Reason::Orphaned
        } else if deleting && node.is_empty() {
            Reason::UnscheduledTerminating
        } else {
            continue;
        };
        if !chosen.iter().any(|(p, _)| std::ptr::eq(*p, pod)) {
            chosen.push((pod, reason));
        }
    }
    chosen
}

/// Node names pods are bound to that were missing, and since when (this machine's clock).
#[derive(Debug, Default)]
pub struct Quarantine {
    missing_since: HashMap<String, Instant>,
}

impl Quarantine {
    /// Notes which bound node names are missing at `now` and returns those missing for at
    /// least `period`, to be confirmed gone with a fresh read.
    pub fn overdue<P: PodView>(
        &mut self,
        pods: &[P],
        nodes: &HashMap<String, Node>,
        now: Instant,
        period: Duration,
    ) -> Vec<String> {
        let missing: HashSet<&str> = pods
            .iter()
            .map(|p| node_name(p))
            .filter(|n| !n.is_empty() && !nodes.contains_key(*n))
            .collect();
        self.missing_since
            .retain(|name, _| missing.contains(name.as_str()));
        for name in missing {
            self.missing_since.entry(name.to_owned()).or_insert(now);
        }
        let mut overdue: Vec<String> = self
            .missing_since
            .iter()
            .filter(|(_, since)| now.saturating_duration_since(**since) >= period)
            .map(|(name, _)| name.clone())
            .collect();
        overdue.sort();
        overdue
    }
}

/// The status patch that ends a pod as Failed, with `condition` set when given (replacing
/// one of the same type), or `None` when the pod already ended.
pub fn failed_status(pod: &Pod, condition: Option<PodCondition>) -> Option<serde_json::Value> {
    if matches!(phase(pod), Some("Succeeded" | "Failed")) {
        return None;
    }
    let mut patch = serde_json::json!({"status": {"phase": "Failed"}});
    if let Some(c) = condition {
        let mut conditions: Vec<PodCondition> = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        match conditions.iter_mut().find(|old| old.type_ == c.type_) {
            Some(old) if old.status == c.status => {
                old.reason = c.reason;
                old.message = c.message;
            }
            Some(old) => *old = c,
            None => conditions.push(c),
        }
        patch["status"]["conditions"] = serde_json::json!(conditions);
    }
    patch["metadata"] = serde_json::json!({"resourceVersion": pod.metadata.resource_version});
    Some(patch)
}

/// Marks `pod` Failed (with the DisruptionTarget condition when orphaned) and force-deletes
/// it.
async fn collect(client: &kube::Client, pod: &SlimPod, reason: Reason) -> Result<(), SyncError> {
    let (ns, name) = (&*pod.namespace, &*pod.name);
    let object = format!("{ns}/{name}");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let condition = (reason == Reason::Orphaned).then(|| PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some("DeletionByPodGC".into()),
        message: Some("PodGC: node no longer exists".into()),
        last_transition_time: Some(Time(Timestamp::now())),
        ..PodCondition::default()
    });
    let ended = matches!(pod.phase(), Some("Succeeded" | "Failed"));
    // The status patch needs the pod's conditions, which the copy does not keep.
    let fresh = if ended {
        None
    } else {
        match api.get_opt(name).await {
            Ok(Some(fresh)) if fresh.metadata.uid.as_deref() == Some(&*pod.uid) => Some(fresh),
            Ok(_) => return Ok(()),
            Err(err) => return Err(SyncError::api("reading pod", &object)(err)),
        }
    };
    if let Some(patch) = fresh.and_then(|fresh| failed_status(&fresh, condition)) {
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => return Ok(()),
            Err(err) => return Err(SyncError::api("marking pod failed", &object)(err)),
        }
    }
    tracing::info!(pod = %object, ?reason, "force deleting pod");
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(pod.uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(err) if is_status(&err, 404) || is_status(&err, 409) => Ok(()),
        Err(err) => Err(SyncError::api("deleting pod", &object)(err)),
    }
}

/// One pass: list the nodes, choose among the pods of the shared copy, collect.
async fn pass(ctx: &Context, quarantine: &mut Quarantine) -> Result<(), SyncError> {
    let nodes_api: Api<Node> = Api::all(ctx.client.clone());
    let nodes: HashMap<String, Node> = nodes_api
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing nodes", "*"))?
        .items
        .into_iter()
        .filter_map(|n| Some((n.metadata.name.clone()?, n)))
        .collect();
    // Only the pods any rule can choose: terminated, being deleted, or bound to a missing node.
    let pods = ctx.pods.matching(|p| {
        let node = node_name(p);
        terminated(p) || p.deleting() || (!node.is_empty() && !nodes.contains_key(node))
    });
    let mut gone = HashSet::new();
    for name in quarantine.overdue(&pods, &nodes, Instant::now(), ctx.pod_gc_quarantine) {
        // The copy may be stale: only a fresh read proves the node is gone.
        if nodes_api
            .get_opt(&name)
            .await
            .map_err(SyncError::api("reading node", &name))?
            .is_none()
        {
            gone.insert(name);
        }
    }
    let chosen = select(&pods, &nodes, &gone, ctx.terminated_pod_gc_threshold);
    let results = futures::future::join_all(
        chosen
            .iter()
            .map(|(pod, why)| collect(&ctx.client, pod, *why)),
    )
    .await;
    for err in results.into_iter().filter_map(Result::err) {
        tracing::warn!(controller = "podgc", error = %err, "collecting a pod failed");
    }
    Ok(())
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let mut quarantine = Quarantine::default();
    // No pass chooses from an empty copy.
    ctx.pods.synced().await;
    let mut tick = tokio::time::interval(ctx.pod_gc_check_period.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = pass(&ctx, &mut quarantine).await {
            tracing::warn!(controller = "podgc", error = %err, "pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus, PodSpec, PodStatus, Taint};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(name: &str, created: &str, phase: &str, node: &str) -> Pod {
        let mut p = Pod {
            spec: Some(PodSpec {
                node_name: (!node.is_empty()).then(|| node.into()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        };
        p.metadata.name = Some(name.into());
        p.metadata.creation_timestamp = Some(Time(created.parse().unwrap()));
        p
    }

    fn names(chosen: &[(&Pod, Reason)]) -> Vec<(String, Reason)> {
        chosen
            .iter()
            .map(|(p, r)| (p.metadata.name.clone().unwrap(), *r))
            .collect()
    }

    const T0: &str = "2026-01-01T00:00:00Z";
    const T1: &str = "2026-01-01T00:01:00Z";

    #[test]
    fn terminated_pods_beyond_the_threshold_go_evicted_then_oldest_first() {
        let mut evicted = pod("z-evicted", T1, "Failed", "n");
        evicted.status.as_mut().unwrap().reason = Some("Evicted".into());
        let pods = [
            pod("new", T1, "Succeeded", "n"),
            pod("b-old", T0, "Failed", "n"),
            pod("a-old", T0, "Succeeded", "n"),
            pod("running", T0, "Running", "n"),
            evicted,
        ];
        let nodes = HashMap::new();
        let chosen = select(&pods, &nodes, &HashSet::new(), 2);
        assert_eq!(
            names(&chosen),
            [
                ("z-evicted".into(), Reason::Terminated),
                ("a-old".into(), Reason::Terminated)
            ]
        );
        assert!(select(&pods, &nodes, &HashSet::new(), 4).is_empty());
        // Zero turns the threshold off.
        assert!(select(&pods, &nodes, &HashSet::new(), 0).is_empty());
    }

    #[test]
    fn orphans_unscheduled_terminating_and_out_of_service_pods_go() {
        let mut unscheduled = pod("unscheduled", T0, "Pending", "");
        unscheduled.metadata.deletion_timestamp = Some(Time(T1.parse().unwrap()));
        let mut on_dead = pod("on-dead", T0, "Running", "dead");
        on_dead.metadata.deletion_timestamp = Some(Time(T1.parse().unwrap()));
        let mut on_live = pod("on-live", T0, "Running", "live");
        on_live.metadata.deletion_timestamp = Some(Time(T1.parse().unwrap()));
        let pods = [
            pod("orphan", T0, "Running", "ghost"),
            pod("pending", T0, "Pending", ""),
            unscheduled,
            on_dead,
            on_live,
        ];
        let out = Node {
            spec: Some(NodeSpec {
                taints: Some(vec![Taint {
                    key: TAINT_OUT_OF_SERVICE.into(),
                    effect: "NoExecute".into(),
                    ..Taint::default()
                }]),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus::default()),
            ..Node::default()
        };
        let nodes = HashMap::from([
            ("dead".to_owned(), out),
            ("live".to_owned(), Node::default()),
        ]);
        let gone = HashSet::from(["ghost".to_owned()]);
        assert_eq!(
            names(&select(&pods, &nodes, &gone, 12500)),
            [
                ("orphan".into(), Reason::Orphaned),
                ("unscheduled".into(), Reason::UnscheduledTerminating),
                ("on-dead".into(), Reason::OutOfService),
            ]
        );
    }

    #[test]
    fn missing_nodes_are_quarantined_before_they_count_as_gone() {
        let mut q = Quarantine::default();
        let pods = [
            pod("a", T0, "Running", "ghost"),
            pod("b", T0, "Running", "live"),
        ];
        let nodes = HashMap::from([("live".to_owned(), Node::default())]);
        let start = Instant::now();
        let period = Duration::from_secs(40);
        assert!(q.overdue(&pods, &nodes, start, period).is_empty());
        assert!(q
            .overdue(&pods, &nodes, start + Duration::from_secs(39), period)
            .is_empty());
        assert_eq!(
            q.overdue(&pods, &nodes, start + period, period),
            ["ghost".to_owned()]
        );
        // A node that shows up again leaves quarantine and starts over when missing again.
        let back = HashMap::from([
            ("live".to_owned(), Node::default()),
            ("ghost".to_owned(), Node::default()),
        ]);
        assert!(q.overdue(&pods, &back, start + period, period).is_empty());
        assert!(q
            .overdue(&pods, &nodes, start + period * 2, period)
            .is_empty());
    }

    #[test]
    fn failing_keeps_ended_pods_and_sets_the_condition_once() {
        assert!(failed_status(&pod("done", T0, "Succeeded", "n"), None).is_none());
        let condition = PodCondition {
            type_: "DisruptionTarget".into(),
            status: "True".into(),
            reason: Some("DeletionByPodGC".into()),
            ..PodCondition::default()
        };
        let patch = failed_status(&pod("p", T0, "Running", "n"), Some(condition)).unwrap();
        assert_eq!(patch["status"]["phase"], "Failed");
        assert_eq!(
            patch["status"]["conditions"][0]["reason"],
            "DeletionByPodGC"
        );
        let plain = failed_status(&pod("p", T0, "Pending", ""), None).unwrap();
        assert!(plain["status"].get("conditions").is_none());
    }
}
