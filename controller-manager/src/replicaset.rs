//! The `replicaset` controller, and the reconciler it shares with `replicationcontroller`
//! ([`crate::replicationcontroller`]): each owner has as many active pods as it asks for.
//!
//! A sync lists the namespace's pods from the API (not from a cache), adopts orphans its
//! selector matches, releases owned pods that stopped matching, creates or deletes pods to
//! reach `spec.replicas`, records Events and writes the status. Because the listing is read
//! fresh and one key is never synced by two workers at once, a burst of events cannot make it
//! create twice for one shortfall: the next sync sees the pods the previous one created. Pods
//! to delete are chosen least valuable first (unscheduled, pending, not ready, newest). A
//! failed create or delete sets the `ReplicaFailure` condition; a sync whose creates and
//! deletes all succeed clears it.
//!
//! The two kinds differ only in how they spell selector, template and status, which the
//! [`ReplicaOwner`] trait hides.

use crate::events;
use crate::hints::is_status;
use crate::labels;
use crate::ownership::{self, Kind};
use crate::queue::Outcome;
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Most pods created or deleted in one sync.
const BURST: usize = 500;

/// The condition type a failed create or delete sets.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// A kind that keeps a number of pods from a template: ReplicaSet or ReplicationController.
pub trait ReplicaOwner: Kind {
    /// The component name on its Events.
    const COMPONENT: &'static str;
    /// The controller's name in logs.
    const CONTROLLER: &'static str;
    /// Whether the selector matches `labels`; `None` when the selector is empty (such an
    /// owner is left alone rather than claiming every pod).
    fn selects(&self, labels: &BTreeMap<String, String>) -> Option<bool>;
    /// The pod template.
    fn template(&self) -> Option<&PodTemplateSpec>;
    /// `spec.replicas` (1 when unset).
    fn replicas(&self) -> i32;
    /// `spec.minReadySeconds`.
    fn min_ready_seconds(&self) -> i32;
    /// The status as written, in the shape both kinds share.
    fn replica_status(&self) -> Option<ReplicaStatus>;
}

impl ReplicaOwner for ReplicaSet {
    const COMPONENT: &'static str = "replicaset-controller";
    const CONTROLLER: &'static str = "replicaset";

    fn selects(&self, pod_labels: &BTreeMap<String, String>) -> Option<bool> {
        let selector = &self.spec.as_ref()?.selector;
        (!labels::is_empty(selector)).then(|| labels::matches(selector, pod_labels))
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }

    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn replica_status(&self) -> Option<ReplicaStatus> {
        ReplicaStatus::from_status(self.status.as_ref())
    }
}

/// A condition of either kind's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaCondition {
    /// The condition type (`ReplicaFailure`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The status both kinds report, field for field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    /// Active pods owned.
    pub replicas: i32,
    /// Of those, the ones carrying every template label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_labeled_replicas: Option<i32>,
    /// Of those, the ready ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Of those, the ones ready for at least minReadySeconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions (`ReplicaFailure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ReplicaCondition>>,
}

impl ReplicaStatus {
    /// Either kind's status type, read into the shared shape.
    pub fn from_status<S: Serialize>(status: Option<&S>) -> Option<ReplicaStatus> {
        serde_json::from_value(serde_json::to_value(status?).ok()?).ok()
    }

    fn condition(&self, type_: &str) -> Option<&ReplicaCondition> {
        self.conditions.iter().flatten().find(|c| c.type_ == type_)
    }

    /// Sets or clears `ReplicaFailure` after a sync: set (once, keeping the first
    /// failure's time) when `failure` names one, removed when creates and deletes succeeded.
    pub fn record_failure(&mut self, failure: Option<(&str, String)>, now: Timestamp) {
        match failure {
            Some((reason, message)) if self.condition(REPLICA_FAILURE).is_none() => {
                self.conditions
                    .get_or_insert_with(Vec::new)
                    .push(ReplicaCondition {
                        type_: REPLICA_FAILURE.into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(now)),
                        reason: Some(reason.into()),
                        message: Some(message),
                    });
            }
            Some(_) => {}
            None => {
                if let Some(conditions) = &mut self.conditions {
                    conditions.retain(|c| c.type_ != REPLICA_FAILURE);
                    if conditions.is_empty() {
                        self.conditions = None;
                    }
                }
            }
        }
    }
}

fn is_active(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && !matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
}

/// When the pod's Ready condition turned True, if it is ready.
fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// Orders pods so the least valuable come first: unscheduled before scheduled, Pending before
/// Unknown before Running, not ready before ready, newer before older.
pub fn deletion_rank(pod: &Pod) -> (u8, u8, u8, std::cmp::Reverse<Option<Timestamp>>) {
    let scheduled = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let phase = match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        _ => 2,
    };
    let ready = u8::from(ready_since(pod).is_some());
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    (
        u8::from(scheduled),
        phase,
        ready,
        std::cmp::Reverse(created),
    )
}

/// The status `owner` reports for its active, owned pods at `now`, and how long until a ready
/// pod becomes available (when one is waiting on minReadySeconds). Conditions are carried
/// over unchanged.
pub fn status_for<O: ReplicaOwner>(
    owner: &O,
    pods: &[&Pod],
    now: Timestamp,
) -> (ReplicaStatus, Option<Duration>) {
    let template_labels = owner
        .template()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let min_ready = owner.min_ready_seconds().max(0);
    let mut status = ReplicaStatus {
        replicas: i32::try_from(pods.len()).unwrap_or(i32::MAX),
        observed_generation: owner.meta().generation,
        conditions: owner.replica_status().and_then(|s| s.conditions),
        ..ReplicaStatus::default()
    };
    let (mut fully, mut ready, mut available) = (0, 0, 0);
    let mut wait: Option<Duration> = None;
    for pod in pods {
        let pod_labels = pod.metadata.labels.clone().unwrap_or_default();
        if template_labels
            .iter()
            .all(|(k, v)| pod_labels.get(k) == Some(v))
        {
            fully += 1;
        }
        if let Some(since) = ready_since(pod) {
            ready += 1;
            let since = since.unwrap_or(now);
            let until = since
                .checked_add(jiff::SignedDuration::from_secs(i64::from(min_ready)))
                .unwrap_or(since);
            if min_ready == 0 || until <= now {
                available += 1;
            } else {
                let left = Duration::try_from(until.duration_since(now)).unwrap_or_default();
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
        }
    }
    status.fully_labeled_replicas = Some(fully);
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    (status, wait)
}

/// A new pod from `owner`'s template.
fn new_pod<O: ReplicaOwner>(owner: &O) -> Pod {
    let template = owner.template().cloned().unwrap_or_default();
    let mut pod = Pod {
        spec: template.spec,
        ..Pod::default()
    };
    let meta = template.metadata.unwrap_or_default();
    pod.metadata.labels = meta.labels;
    pod.metadata.annotations = meta.annotations;
    pod.metadata.finalizers = meta.finalizers;
    pod.metadata.generate_name = Some(format!(
        "{}-",
        owner.meta().name.as_deref().unwrap_or("pod")
    ));
    pod.metadata.owner_references = Some(vec![ownership::owner_reference(owner)]);
    pod
}

/// Whether namespace `ns` is being deleted (a refused create there is expected).
async fn terminating(client: &kube::Client, ns: &str) -> bool {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    match namespaces.get_opt(ns).await {
        Ok(Some(n)) => n.metadata.deletion_timestamp.is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// The API's own words for a failed call (the Status message), else the error.
fn api_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// Syncs the owner `ns/name` of kind `O`.
pub async fn sync<O: ReplicaOwner>(
    client: kube::Client,
    key: String,
) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let owners: Api<O> = Api::namespaced(client.clone(), ns);
    let Some(owner) = owners
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading the owner of pods", &key))?
    else {
        return Ok(Outcome::Done);
    };
    let no_labels = BTreeMap::new();
    if owner.selects(&no_labels).is_none() {
        return Ok(Outcome::Done);
    }
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let listed = pods_api
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing pods", &key))?;
    let matches =
        |pod: &Pod| owner.selects(pod.metadata.labels.as_ref().unwrap_or(&no_labels)) == Some(true);
    let owned = ownership::claim(&pods_api, &owner, matches, listed.items).await?;
    let deleting = owner.meta().deletion_timestamp.is_some();
    let mut active: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let want = usize::try_from(owner.replicas().max(0)).unwrap_or(0);
    let reference = ownership::object_reference(&owner);
    let mut failure: Option<(&str, kube::Error)> = None;
    if !deleting && active.len() < want {
        // Slow start: batches of 1, 2, 4, … created concurrently, stopping at the first
        // batch with a failure, so a quota or admission refusal costs few requests.
        let mut left = (want - active.len()).min(BURST);
        let mut batch = 1;
        while left > 0 && failure.is_none() {
            let n = batch.min(left);
            left -= n;
            batch *= 2;
            let creates = (0..n).map(|_| {
                let pod = new_pod(&owner);
                let pods_api = &pods_api;
                async move { pods_api.create(&PostParams::default(), &pod).await }
            });
            let mut created = Vec::new();
            for result in futures::future::join_all(creates).await {
                match result {
                    Ok(pod) => created.push(pod.metadata.name.unwrap_or_default()),
                    // The namespace is terminating: its owners go too; nothing to retry.
                    Err(err) if is_status(&err, 403) && terminating(&client, ns).await => {
                        left = 0;
                    }
                    Err(err) => {
                        events::record(
                            &client,
                            O::COMPONENT,
                            &reference,
                            events::WARNING,
                            "FailedCreate",
                            &format!("Error creating: {}", api_message(&err)),
                        )
                        .await;
                        failure = Some(("FailedCreate", err));
                    }
                }
            }
            let recorded = created.iter().map(|pod_name| {
                let message = format!("Created pod: {pod_name}");
                let (client, reference) = (&client, &reference);
                async move {
                    events::record(
                        client,
                        O::COMPONENT,
                        reference,
                        events::NORMAL,
                        "SuccessfulCreate",
                        &message,
                    )
                    .await;
                }
            });
            futures::future::join_all(recorded).await;
        }
    } else if !deleting && active.len() > want {
        active.sort_by_key(|p| deletion_rank(p));
        let surplus = (active.len() - want).min(BURST);
        for pod in active.drain(..surplus) {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            match pods_api.delete(&pod_name, &DeleteParams::default()).await {
                Ok(_) => {
                    events::record(
                        &client,
                        O::COMPONENT,
                        &reference,
                        events::NORMAL,
                        "SuccessfulDelete",
                        &format!("Deleted pod: {pod_name}"),
                    )
                    .await;
                }
                Err(err) if is_status(&err, 404) => {}
                Err(err) => {
                    events::record(
                        &client,
                        O::COMPONENT,
                        &reference,
                        events::WARNING,
                        "FailedDelete",
                        &format!("Error deleting: {}", api_message(&err)),
                    )
                    .await;
                    failure = Some(("FailedDelete", err));
                    break;
                }
            }
        }
    }

    // Status of what was observed at the start of this sync; pod events bring the next one.
    let observed: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let now = Timestamp::now();
    let (mut status, wait) = status_for(&owner, &observed, now);
    status.record_failure(
        failure
            .as_ref()
            .map(|(reason, err)| (*reason, api_message(err))),
        now,
    );
    if owner.replica_status().as_ref() != Some(&status) {
        let mut patch = serde_json::json!({"status": status});
        // A merge patch keeps what it does not name: an emptied list is removed explicitly.
        if status.conditions.is_none() {
            patch["status"]["conditions"] = serde_json::Value::Null;
        }
        match owners
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => return Ok(Outcome::Done),
            Err(err) => return Err(SyncError::api("writing the status of", &key)(err)),
        }
    }
    if let Some((_, err)) = failure {
        return Err(SyncError::api("creating or deleting pods of", &key)(err));
    }
    Ok(wait.map_or(Outcome::Done, Outcome::RequeueAfter))
}

/// Runs the reconciler for kind `O` with `workers` workers until the process stops.
pub async fn run_for<O: ReplicaOwner>(ctx: Arc<Context>, workers: usize) {
    ownership::run::<O, Pod, _, _>(O::CONTROLLER, &ctx, workers, sync::<O>).await;
}

/// Runs the `replicaset` controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let workers = ctx.replicaset_workers;
    run_for::<ReplicaSet>(ctx, workers).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus, ReplicationController};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pod(
        name: &str,
        node: Option<&str>,
        phase: &str,
        ready_at: Option<&str>,
        created: &str,
    ) -> Pod {
        let mut p = Pod {
            spec: Some(PodSpec {
                node_name: node.map(Into::into),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: ready_at.map(|t| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(at(t))),
                        ..PodCondition::default()
                    }]
                }),
                ..PodStatus::default()
            }),
            ..Pod::default()
        };
        p.metadata.name = Some(name.into());
        p.metadata.creation_timestamp = Some(Time(at(created)));
        p
    }

    #[test]
    fn least_valuable_pods_sort_first() {
        let t = "2026-01-01T00:00:00Z";
        let newer = "2026-01-01T00:01:00Z";
        let mut pods = [
            pod("ready-old", Some("n"), "Running", Some(t), t),
            pod("ready-new", Some("n"), "Running", Some(t), newer),
            pod("running-not-ready", Some("n"), "Running", None, t),
            pod("pending-scheduled", Some("n"), "Pending", None, t),
            pod("unscheduled", None, "Pending", None, t),
            pod("unknown", Some("n"), "Unknown", None, t),
        ];
        pods.sort_by_key(deletion_rank);
        let order: Vec<&str> = pods
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "unscheduled",
                "pending-scheduled",
                "unknown",
                "running-not-ready",
                "ready-new",
                "ready-old"
            ]
        );
    }

    #[test]
    fn status_counts_ready_and_available_after_min_ready_seconds() {
        let mut rs = ReplicaSet {
            spec: Some(ReplicaSetSpec {
                min_ready_seconds: Some(10),
                ..ReplicaSetSpec::default()
            }),
            ..ReplicaSet::default()
        };
        rs.metadata.generation = Some(3);
        let long_ready = pod(
            "a",
            Some("n"),
            "Running",
            Some("2026-01-01T00:00:00Z"),
            "2026-01-01T00:00:00Z",
        );
        let just_ready = pod(
            "b",
            Some("n"),
            "Running",
            Some("2026-01-01T00:00:55Z"),
            "2026-01-01T00:00:00Z",
        );
        let not_ready = pod("c", None, "Pending", None, "2026-01-01T00:00:00Z");
        let (status, wait) = status_for(
            &rs,
            &[&long_ready, &just_ready, &not_ready],
            at("2026-01-01T00:01:00Z"),
        );
        assert_eq!(status.replicas, 3);
        assert_eq!(status.ready_replicas, Some(2));
        assert_eq!(status.available_replicas, Some(1));
        assert_eq!(status.fully_labeled_replicas, Some(3));
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(wait, Some(Duration::from_secs(5)));
    }

    #[test]
    fn a_failure_sets_replica_failure_once_and_success_clears_it() {
        let mut status = ReplicaStatus::default();
        let t0 = at("2026-01-01T00:00:00Z");
        status.record_failure(Some(("FailedCreate", "quota".into())), t0);
        let c = status.condition(REPLICA_FAILURE).unwrap().clone();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref(), c.message.as_deref()),
            ("True", Some("FailedCreate"), Some("quota"))
        );
        // A second failure keeps the first one's condition.
        status.record_failure(
            Some(("FailedDelete", "other".into())),
            at("2026-01-01T00:01:00Z"),
        );
        assert_eq!(status.conditions.as_deref(), Some(&[c][..]));
        status.record_failure(None, t0);
        assert_eq!(status.conditions, None);
    }

    #[test]
    fn both_kinds_read_their_status_into_the_shared_shape() {
        let rc: ReplicationController = serde_json::from_value(serde_json::json!({
            "spec": {"selector": {"app": "web"}, "replicas": 3},
            "status": {"replicas": 2, "readyReplicas": 1, "conditions": [
                {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}]}
        }))
        .unwrap();
        let status = rc.replica_status().unwrap();
        assert_eq!((status.replicas, status.ready_replicas), (2, Some(1)));
        assert!(status.condition(REPLICA_FAILURE).is_some());
        assert_eq!(rc.replicas(), 3);
        let web = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
        assert_eq!(rc.selects(&web), Some(true));
        assert_eq!(rc.selects(&BTreeMap::new()), Some(false));
        assert_eq!(ReplicationController::default().selects(&web), None);
        assert_eq!(ReplicaSet::default().selects(&web), None);
    }
}
