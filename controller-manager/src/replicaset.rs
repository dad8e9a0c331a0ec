//! The `replicaset` controller: each ReplicaSet has as many active pods as it asks for.
//!
//! A sync lists the namespace's pods from the API (not from a cache), adopts orphans its
//! selector matches, releases owned pods that stopped matching, creates or deletes pods to
//! reach `spec.replicas`, records Events and writes the status. Because the listing is read
//! fresh and one key is never synced by two workers at once, a burst of events cannot make it
//! create twice for one shortfall: the next sync sees the pods the previous one created. Pods
//! to delete are chosen least valuable first (unscheduled, pending, not ready, newest).

use crate::events;
use crate::hints::{self, is_status};
use crate::labels;
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Resource;
use std::sync::Arc;
use std::time::Duration;

/// The component name on Events.
const COMPONENT: &str = "replicaset-controller";
/// Most pods created or deleted in one sync.
const BURST: usize = 500;

fn rs_key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// The key a pod event queues: the ReplicaSet controlling the pod; for a pod no controller
/// owns, [`ORPHANS`] in its namespace, so every ReplicaSet there can look at adopting it.
fn owner_key(pod: &Pod) -> Option<String> {
    let ns = pod.metadata.namespace.as_deref()?;
    match controller_of(pod) {
        Some(owner) => (owner.kind == "ReplicaSet" && owner.api_version.starts_with("apps/"))
            .then(|| rs_key(ns, &owner.name)),
        None => Some(rs_key(ns, ORPHANS)),
    }
}

/// The name part of the key meaning "an orphan pod changed in this namespace".
const ORPHANS: &str = "*";

/// Queues every ReplicaSet of namespace `ns`.
async fn fan_out(
    client: kube::Client,
    queue: Arc<WorkQueue>,
    ns: &str,
) -> Result<Outcome, SyncError> {
    let sets: Api<ReplicaSet> = Api::namespaced(client, ns);
    let list = sets
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing replicasets", ns))?;
    for rs in &list.items {
        if let Some(name) = rs.metadata.name.as_deref() {
            queue.add(&rs_key(ns, name));
        }
    }
    Ok(Outcome::Done)
}

fn controller_of(pod: &Pod) -> Option<&OwnerReference> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
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

/// The status `rs` reports for its active, owned pods at `now`, and how long until a ready
/// pod becomes available (when one is waiting on minReadySeconds).
pub fn status_for(
    rs: &ReplicaSet,
    pods: &[&Pod],
    now: Timestamp,
) -> (ReplicaSetStatus, Option<Duration>) {
    let template_labels = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
        .max(0);
    let mut status = ReplicaSetStatus {
        replicas: i32::try_from(pods.len()).unwrap_or(i32::MAX),
        observed_generation: rs.metadata.generation,
        conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
        ..ReplicaSetStatus::default()
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

fn reference(rs: &ReplicaSet) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("ReplicaSet".into()),
        name: rs.metadata.name.clone(),
        namespace: rs.metadata.namespace.clone(),
        uid: rs.metadata.uid.clone(),
        resource_version: rs.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

fn owner_reference(rs: &ReplicaSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: rs.metadata.name.clone().unwrap_or_default(),
        uid: rs.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new pod from `rs`'s template.
fn new_pod(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let mut pod = Pod {
        spec: template.spec,
        ..Pod::default()
    };
    let meta = template.metadata.unwrap_or_default();
    pod.metadata.labels = meta.labels;
    pod.metadata.annotations = meta.annotations;
    pod.metadata.finalizers = meta.finalizers;
    pod.metadata.generate_name = Some(format!("{}-", rs.metadata.name.as_deref().unwrap_or("rs")));
    pod.metadata.owner_references = Some(vec![owner_reference(rs)]);
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

/// Syncs the ReplicaSet `ns/name`.
pub async fn sync(client: kube::Client, key: String) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let Some(rs) = sets
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading replicaset", &key))?
    else {
        return Ok(Outcome::Done);
    };
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let selector = rs
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    if labels::is_empty(&selector) {
        return Ok(Outcome::Done);
    }
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let listed = pods_api
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing pods for replicaset", &key))?;
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let mut owned: Vec<Pod> = Vec::new();
    for pod in listed.items {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let matching = labels::matches(
            &selector,
            pod.metadata.labels.as_ref().unwrap_or(&Default::default()),
        );
        let ours = controller_of(&pod).is_some_and(|o| o.uid == uid);
        if ours && !matching {
            // Release: drop our reference, guarded by the version we read.
            let refs: Vec<OwnerReference> = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .filter(|o| o.uid != uid)
                .cloned()
                .collect();
            let patch = serde_json::json!({"metadata": {
                "ownerReferences": refs, "resourceVersion": pod.metadata.resource_version}});
            match pods_api
                .patch(&pod_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                Err(err) if is_status(&err, 404) => {}
                Err(err) => {
                    return Err(SyncError::api("releasing pod", &rs_key(ns, &pod_name))(err))
                }
            }
        } else if ours {
            owned.push(pod);
        } else if matching
            && controller_of(&pod).is_none()
            && pod.metadata.deletion_timestamp.is_none()
            && !deleting
        {
            let mut refs = pod.metadata.owner_references.clone().unwrap_or_default();
            refs.push(owner_reference(&rs));
            let patch = serde_json::json!({"metadata": {
                "ownerReferences": refs, "resourceVersion": pod.metadata.resource_version}});
            match pods_api
                .patch(&pod_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(adopted) => owned.push(adopted),
                Err(err) if is_status(&err, 404) => {}
                Err(err) => {
                    return Err(SyncError::api("adopting pod", &rs_key(ns, &pod_name))(err))
                }
            }
        }
    }
    let mut active: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let want = usize::try_from(
        rs.spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
            .max(0),
    )
    .unwrap_or(0);
    let reference = reference(&rs);
    let mut failure = None;
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
                let pod = new_pod(&rs);
                let pods_api = &pods_api;
                async move { pods_api.create(&PostParams::default(), &pod).await }
            });
            let mut created = Vec::new();
            for result in futures::future::join_all(creates).await {
                match result {
                    Ok(pod) => created.push(pod.metadata.name.unwrap_or_default()),
                    // The namespace is terminating: its ReplicaSet goes too; nothing to retry.
                    Err(err) if is_status(&err, 403) && terminating(&client, ns).await => {
                        left = 0;
                    }
                    Err(err) => {
                        events::record(
                            &client,
                            COMPONENT,
                            &reference,
                            events::WARNING,
                            "FailedCreate",
                            &format!("Error creating: {err}"),
                        )
                        .await;
                        failure = Some(SyncError::api("creating pod for replicaset", &key)(err));
                    }
                }
            }
            let recorded = created.iter().map(|pod_name| {
                let message = format!("Created pod: {pod_name}");
                let (client, reference) = (&client, &reference);
                async move {
                    events::record(
                        client,
                        COMPONENT,
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
                        COMPONENT,
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
                        COMPONENT,
                        &reference,
                        events::WARNING,
                        "FailedDelete",
                        &format!("Error deleting: {err}"),
                    )
                    .await;
                    failure = Some(SyncError::api("deleting pod of replicaset", &key)(err));
                    break;
                }
            }
        }
    }

    // Status of what was observed at the start of this sync; pod events bring the next one.
    let observed: Vec<&Pod> = owned.iter().filter(|p| is_active(p)).collect();
    let (status, wait) = status_for(&rs, &observed, Timestamp::now());
    if rs.status.as_ref() != Some(&status) {
        let patch = serde_json::json!({"status": status});
        match sets
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => return Ok(Outcome::Done),
            Err(err) => return Err(SyncError::api("writing replicaset status", &key)(err)),
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    Ok(wait.map_or(Outcome::Done, Outcome::RequeueAfter))
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            "replicasets",
            Api::<ReplicaSet>::all(client.clone()),
            None,
            queue.clone(),
            |rs: &ReplicaSet| Some(rs_key(
                rs.meta().namespace.as_deref()?,
                rs.meta().name.as_deref()?
            )),
            ctx.resync,
        ),
        hints::feed(
            "pods",
            Api::<Pod>::all(client.clone()),
            None,
            queue.clone(),
            owner_key,
            ctx.resync,
        ),
        queue::run_workers("replicaset", queue.clone(), ctx.replicaset_workers, {
            let queue = queue.clone();
            move |key: String| {
                let (client, queue) = (client.clone(), queue.clone());
                async move {
                    match key.split_once('/') {
                        Some((ns, ORPHANS)) => fan_out(client, queue, ns).await,
                        _ => sync(client, key).await,
                    }
                }
            }
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

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
    fn pods_key_their_replicaset_or_their_namespace_orphans() {
        let mut p = pod("a", None, "Pending", None, "2026-01-01T00:00:00Z");
        p.metadata.namespace = Some("ns".into());
        assert_eq!(owner_key(&p).as_deref(), Some("ns/*"));
        p.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
        assert_eq!(owner_key(&p).as_deref(), Some("ns/web"));
        p.metadata.owner_references.as_mut().unwrap()[0].kind = "StatefulSet".into();
        assert_eq!(owner_key(&p), None);
        p.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        assert_eq!(owner_key(&p).as_deref(), Some("ns/*"));
    }
}
