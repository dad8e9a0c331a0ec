//! The `replicaset` controller, and the reconciler it shares with `replicationcontroller`
//! ([`crate::replicationcontroller`]): each owner has as many active pods as it asks for.
//!
//! Pods are read from the controller manager's shared, watch-fed copy ([`crate::informer`]),
//! parsed into only the fields these controllers use, never listed per sync. A sync adopts
//! orphans its selector matches, releases owned pods that stopped matching, creates or deletes
//! pods to reach `spec.replicas`, records Events and writes the status. Because the copy may lag
//! behind the controller's own writes, creates and deletes are counted as expectations
//! ([`crate::expectations`]): until the watch has shown every pod the last sync created or
//! deleted, a sync of that owner only reports status, so a burst of events never makes it create
//! twice for one shortfall. Creates go out in slow-start batches (1, 2, 4, … up to 64 at once),
//! at most [`BURST`] per sync, stopping at the first failing batch. Pods to delete are chosen least
//! valuable first (unscheduled, pending, not ready, newest) and deleted concurrently. A failed
//! create or delete sets the `ReplicaFailure` condition; a sync whose creates and deletes all
//! succeed clears it.
//!
//! The two kinds differ only in how they spell selector, template and status, which the
//! [`ReplicaOwner`] trait hides.

use crate::events;
use crate::expectations::Expectations;
use crate::hints::{self, is_status};
use crate::informer::{Informer, SlimPod, WirePod};
use crate::labels;
use crate::ownership::{self, Dependent, Kind};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Most pods created or deleted in one sync.
pub const BURST: usize = 500;
/// Most creates or deletes in flight at once (the slow-start batches grow up to it).
const CONCURRENT_WRITES: usize = 64;

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

fn is_active(pod: &SlimPod) -> bool {
    pod.deleted.is_none() && !matches!(pod.phase(), Some("Succeeded" | "Failed"))
}

/// Orders pods so the least valuable come first: unscheduled before scheduled, Pending before
/// Unknown before Running, not ready before ready, newer before older.
pub fn deletion_rank(pod: &SlimPod) -> (u8, u8, u8, std::cmp::Reverse<Option<Timestamp>>) {
    let phase = match pod.phase() {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        _ => 2,
    };
    let ready = u8::from(pod.ready_since().is_some());
    let created = pod.created;
    (
        u8::from(pod.node_name().is_some()),
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
    pods: &[&SlimPod],
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
        let pod_labels = &pod.labels;
        if template_labels
            .iter()
            .all(|(k, v)| pod_labels.get(k) == Some(v))
        {
            fully += 1;
        }
        if let Some(since) = pod.ready_since() {
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

/// What every sync of one controller (replicaset or replicationcontroller) shares.
pub struct Shared {
    /// The API client.
    pub client: kube::Client,
    /// The watch-fed pods.
    pub pods: Arc<Informer<SlimPod>>,
    /// Creations and deletions not yet seen through the watch, per owner key.
    pub expectations: Expectations,
}

/// Creates `pod` through `pods_api`'s URL, parsing the answer into only the fields kept for
/// a pod: a full Pod (managedFields, spec, status) would be parsed and dropped at once, and
/// thousands of such short-lived allocations between the pod copy's long-lived ones leave the
/// allocator holding memory.
async fn create_pod(
    client: &kube::Client,
    pods_api: &Api<Pod>,
    pod: &Pod,
) -> Result<WirePod, kube::Error> {
    let body = serde_json::to_vec(pod).map_err(kube::Error::SerdeError)?;
    let request = kube::core::Request::new(pods_api.resource_url())
        .create(&PostParams::default(), body)
        .map_err(kube::Error::BuildRequest)?;
    client.request(request).await
}

/// Deletes the pod `name` through `pods_api`'s URL without parsing the answer (the pod as it
/// is now, or a Status), for the same reason.
async fn delete_pod(
    client: &kube::Client,
    pods_api: &Api<Pod>,
    name: &str,
) -> Result<(), kube::Error> {
    let request = kube::core::Request::new(pods_api.resource_url())
        .delete(name, &DeleteParams::default())
        .map_err(kube::Error::BuildRequest)?;
    client
        .request::<serde::de::IgnoredAny>(request)
        .await
        .map(|_| ())
}

/// Creates up to `n` pods from `owner`'s template in slow-start batches; returns the failure
/// that stopped it, if any. Every pod not created (failed or skipped) is taken off the
/// expectations.
async fn create_pods<O: ReplicaOwner>(
    shared: &Shared,
    pods_api: &Api<Pod>,
    owner: &O,
    key: &str,
    n: usize,
) -> Option<kube::Error> {
    let ns = owner.meta().namespace.as_deref().unwrap_or_default();
    let reference = ownership::object_reference(owner);
    let mut left = n;
    let mut batch = 1;
    let mut failure = None;
    while left > 0 && failure.is_none() {
        let size = batch.min(left);
        left -= size;
        batch = (batch * 2).min(CONCURRENT_WRITES);
        let creates = (0..size).map(|_| {
            let pod = new_pod(owner);
            async move { create_pod(&shared.client, pods_api, &pod).await }
        });
        for result in futures::future::join_all(creates).await {
            match result {
                Ok(pod) => {
                    let pod_name = pod.metadata.name.unwrap_or_default();
                    events::record(
                        &shared.client,
                        O::COMPONENT,
                        &reference,
                        events::NORMAL,
                        "SuccessfulCreate",
                        &format!("Created pod: {pod_name}"),
                    );
                }
                Err(err) => {
                    shared.expectations.creation_observed(key);
                    // The namespace is terminating: its owners go too; nothing to retry.
                    if is_status(&err, 403) && terminating(&shared.client, ns).await {
                        left = 0;
                        continue;
                    }
                    events::record(
                        &shared.client,
                        O::COMPONENT,
                        &reference,
                        events::WARNING,
                        "FailedCreate",
                        &format!("Error creating: {}", api_message(&err)),
                    );
                    failure = Some(err);
                }
            }
        }
    }
    for _ in 0..left {
        shared.expectations.creation_observed(key);
    }
    failure
}

/// Deletes `victims` concurrently; returns the first failure other than "already gone". A pod
/// whose delete failed is taken off the expectations.
async fn delete_pods<O: ReplicaOwner>(
    shared: &Shared,
    pods_api: &Api<Pod>,
    owner: &O,
    key: &str,
    victims: Vec<String>,
) -> Option<kube::Error> {
    use futures::StreamExt;
    let reference = ownership::object_reference(owner);
    let deletes = victims.into_iter().map(|pod_name| async move {
        let result = delete_pod(&shared.client, pods_api, &pod_name).await;
        (pod_name, result)
    });
    let mut results = futures::stream::iter(deletes).buffer_unordered(CONCURRENT_WRITES);
    let mut failure = None;
    while let Some((pod_name, result)) = results.next().await {
        match result {
            Ok(_) => events::record(
                &shared.client,
                O::COMPONENT,
                &reference,
                events::NORMAL,
                "SuccessfulDelete",
                &format!("Deleted pod: {pod_name}"),
            ),
            Err(err) => {
                shared.expectations.deletion_observed(key, &pod_name);
                if is_status(&err, 404) {
                    continue;
                }
                events::record(
                    &shared.client,
                    O::COMPONENT,
                    &reference,
                    events::WARNING,
                    "FailedDelete",
                    &format!("Error deleting: {}", api_message(&err)),
                );
                failure.get_or_insert(err);
            }
        }
    }
    failure
}

/// Syncs the owner `ns/name` of kind `O`.
pub async fn sync<O: ReplicaOwner>(shared: Arc<Shared>, key: String) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let client = shared.client.clone();
    let owners: Api<O> = Api::namespaced(client.clone(), ns);
    let Some(owner) = owners
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading the owner of pods", &key))?
    else {
        shared.expectations.forget(&key);
        return Ok(Outcome::Done);
    };
    let no_labels = BTreeMap::new();
    if owner.selects(&no_labels).is_none() {
        return Ok(Outcome::Done);
    }
    // Read before the pods: anything seen after this is in the copy read below.
    let may_act = shared.expectations.satisfied(&key);
    let uid = owner.meta().uid.as_deref().unwrap_or_default();
    // Only pods this owner controls or nobody controls concern it (found through the copy's
    // controller index, not by looking at every pod of the namespace).
    let candidates = shared.pods.controlled_by_or_orphaned(ns, uid);
    let wire_api: Api<WirePod> = Api::namespaced(client.clone(), ns);
    let matches = |pod: &SlimPod| owner.selects(&pod.labels) == Some(true);
    let owned = ownership::claim(&wire_api, &owner, matches, candidates).await?;
    let deleting = owner.meta().deletion_timestamp.is_some();
    let mut active: Vec<&SlimPod> = owned
        .iter()
        .map(Arc::as_ref)
        .filter(|p| is_active(p))
        .collect();
    let want = usize::try_from(owner.replicas().max(0)).unwrap_or(0);
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut failure: Option<(&str, kube::Error)> = None;
    if may_act && !deleting && active.len() < want {
        let n = (want - active.len()).min(BURST);
        shared.expectations.expect_creations(&key, n);
        failure = create_pods(&shared, &pods_api, &owner, &key, n)
            .await
            .map(|err| ("FailedCreate", err));
    } else if may_act && !deleting && active.len() > want {
        active.sort_by_key(|p| deletion_rank(p));
        let surplus = (active.len() - want).min(BURST);
        let victims: Vec<String> = active[..surplus]
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        shared
            .expectations
            .expect_deletions(&key, victims.iter().cloned());
        failure = delete_pods(&shared, &pods_api, &owner, &key, victims)
            .await
            .map(|err| ("FailedDelete", err));
    }

    // Status of what was observed at the start of this sync; pod events bring the next one.
    let observed: Vec<&SlimPod> = owned
        .iter()
        .map(Arc::as_ref)
        .filter(|p| is_active(p))
        .collect();
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

/// What a pod's change means to controller kind `O`: which owner keys to queue, and which
/// expected creation or deletion it shows.
pub fn pod_changed<O: ReplicaOwner>(
    expectations: &Expectations,
    queue: &WorkQueue,
    old: Option<&SlimPod>,
    new: Option<&SlimPod>,
) {
    let key_of = |p: &SlimPod| ownership::owner_key::<O, SlimPod>(p);
    let name_of = |p: &SlimPod| p.name.to_string();
    // A pod with an owner key and a controller is controlled by an `O`.
    let is_controlled = |p: &SlimPod| ownership::controller_in(p.owner_references()).is_some();
    match (old, new) {
        (_, Some(pod)) => {
            let Some(key) = key_of(pod) else {
                // Another kind's pod now; the owner it had may need to replace it.
                if let Some(old_key) = old.and_then(key_of) {
                    queue.add(&old_key);
                }
                return;
            };
            if is_controlled(pod) {
                let was_deleting = old.is_some_and(SlimPod::deleting);
                if pod.deleting() {
                    if !was_deleting {
                        expectations.deletion_observed(&key, &name_of(pod));
                    }
                } else if old.is_none() {
                    expectations.creation_observed(&key);
                }
            }
            if let Some(old_key) = old.and_then(key_of).filter(|k| *k != key) {
                queue.add(&old_key);
            }
            queue.add(&key);
        }
        (Some(pod), None) => {
            if let Some(key) = key_of(pod) {
                if is_controlled(pod) {
                    expectations.deletion_observed(&key, &name_of(pod));
                }
                queue.add(&key);
            }
        }
        (None, None) => {}
    }
}

/// Runs the reconciler for kind `O` with `workers` workers until the process stops.
pub async fn run_for<O: ReplicaOwner>(ctx: Arc<Context>, workers: usize) {
    let queue = WorkQueue::new();
    let shared = Arc::new(Shared {
        client: ctx.client.clone(),
        pods: ctx.pods.clone(),
        expectations: Expectations::default(),
    });
    {
        let (shared, queue) = (shared.clone(), queue.clone());
        ctx.pods.subscribe(Box::new(move |old, new| {
            pod_changed::<O>(&shared.expectations, &queue, old, new);
        }));
    }
    // No sync acts on an empty copy.
    ctx.pods.synced().await;
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            O::URL_PATH_SEGMENT,
            Api::<O>::all(client.clone()),
            None,
            queue.clone(),
            |o: &O| Some(ownership::key(
                o.meta().namespace.as_deref()?,
                o.meta().name.as_deref()?
            )),
            ctx.resync,
        ),
        queue::run_workers(O::CONTROLLER, queue.clone(), workers, {
            let queue = queue.clone();
            move |k: String| {
                let (shared, queue) = (shared.clone(), queue.clone());
                async move {
                    match k.split_once('/') {
                        Some((ns, ownership::ORPHANS)) => {
                            ownership::fan_out::<O>(shared.client.clone(), queue, ns).await
                        }
                        _ => sync::<O>(shared, k).await,
                    }
                }
            }
        }),
    );
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
    use k8s_openapi::api::core::v1::ReplicationController;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pod(
        name: &str,
        node: Option<&str>,
        phase: &str,
        ready_at: Option<&str>,
        created: &str,
    ) -> SlimPod {
        SlimPod {
            name: name.into(),
            node_name: node.map(Into::into),
            phase: Some(phase.into()),
            ready_since: ready_at.map(|t| Some(at(t))),
            created: Some(at(created)),
            ..SlimPod::default()
        }
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
        let order: Vec<&str> = pods.iter().map(|p| &*p.name).collect();
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

    #[tokio::test]
    async fn pod_events_meet_expectations_and_queue_their_owner() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        let e = Expectations::default();
        let q = WorkQueue::new();
        let mut p = pod("web-1", None, "Pending", None, "2026-01-01T00:00:00Z");
        p.namespace = "ns".into();
        p.owners = crate::intern::owners(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]);
        e.expect_creations("ns/web", 1);
        // Another kind's controller sees nothing of its own.
        pod_changed::<ReplicationController>(&e, &q, None, Some(&p));
        assert!(q.is_empty() && !e.satisfied("ns/web"));
        // An update is no creation.
        pod_changed::<ReplicaSet>(&e, &q, Some(&p), Some(&p));
        assert!(!e.satisfied("ns/web"));
        pod_changed::<ReplicaSet>(&e, &q, None, Some(&p));
        assert!(e.satisfied("ns/web"));
        assert_eq!(q.next().await, "ns/web");
        q.done("ns/web");
        // A deletion counts once the pod is marked, and again at its removal changes nothing.
        e.expect_deletions("ns/web", ["web-1".to_owned()]);
        let mut marked = p.clone();
        marked.deleted = Some(at("2026-01-01T00:01:00Z"));
        pod_changed::<ReplicaSet>(&e, &q, Some(&p), Some(&marked));
        assert!(e.satisfied("ns/web"));
        pod_changed::<ReplicaSet>(&e, &q, Some(&marked), None);
        assert_eq!(q.next().await, "ns/web");
        q.done("ns/web");
        // A released pod queues its former owner and the namespace's orphan key.
        let mut orphan = p.clone();
        orphan.owners = crate::intern::owners(Vec::new());
        pod_changed::<ReplicaSet>(&e, &q, Some(&p), Some(&orphan));
        let mut keys = vec![q.next().await, q.next().await];
        keys.sort();
        assert_eq!(keys, ["ns/*", "ns/web"]);
    }
}
