//! Feeds the pod workers: lists and watches the pods bound to this node
//! (`spec.nodeName=<node>`), starts one worker per pod uid and hands it the latest version
//! (a newer version replaces one the worker has not looked at yet). Only a change the worker
//! acts on wakes it (spec, labels, annotations, deletion); a status-only change, such as the
//! worker's own status write coming back through the watch, is handed over quietly for its
//! next pass. A relist tells the workers of pods that disappeared meanwhile.
//!
//! Beside it, a runtime relist every [`RELIST_PERIOD`] compares each pod's container states
//! with the previous relist and wakes the workers whose containers changed (an exit, for
//! instance), and a housekeeping pass removes what is left of pods that no longer exist.

use super::cleanup;
use super::naming;
use super::worker::{self, Desired, Shared};
use berth_api_types::k8s::api::core::v1::Pod;
use futures::{StreamExt, TryStreamExt};
use k8s_cri::v1::{ContainerFilter, ListContainersRequest};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// How often the runtime's containers are listed to notice changes.
pub const RELIST_PERIOD: Duration = Duration::from_secs(1);

/// How often leftovers of deleted pods are looked for.
pub const HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(10);

struct Worker {
    desired: watch::Sender<Desired>,
    poke: Arc<Notify>,
    task: JoinHandle<()>,
}

/// The workers by pod uid, and whether the first listing arrived.
#[derive(Default)]
struct Workers {
    by_uid: HashMap<String, Worker>,
    listed: bool,
}

type SharedWorkers = Arc<Mutex<Workers>>;

fn lock(w: &SharedWorkers) -> std::sync::MutexGuard<'_, Workers> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hands `pod` to its worker, starting one if needed.
fn dispatch(shared: &Arc<Shared>, workers: &SharedWorkers, pod: Pod) {
    let Some(uid) = pod.metadata.uid.clone() else {
        return;
    };
    let mut w = lock(workers);
    if let Some(existing) = w.by_uid.get(&uid) {
        if !existing.task.is_finished() {
            let pod = Arc::new(pod);
            existing.desired.send_if_modified(|current| {
                let wake = match current {
                    Desired::Pod(old) => differs_for_worker(old, &pod),
                    Desired::Gone => true,
                };
                *current = Desired::Pod(pod);
                wake
            });
            return;
        }
        if pod.metadata.deletion_timestamp.is_some() && existing.task.is_finished() {
            // Its worker finished it already; the API will drop it shortly.
            return;
        }
    }
    let (tx, rx) = watch::channel(Desired::Pod(Arc::new(pod)));
    let poke = Arc::new(Notify::new());
    let task = tokio::spawn(worker::run(shared.clone(), uid.clone(), rx, poke.clone()));
    w.by_uid.insert(
        uid,
        Worker {
            desired: tx,
            poke,
            task,
        },
    );
}

/// Whether `new` changes what a pod worker acts on: the spec, labels, annotations or the
/// deletion. Status and bookkeeping (resourceVersion, managedFields) do not.
fn differs_for_worker(old: &Pod, new: &Pod) -> bool {
    let (a, b) = (&old.metadata, &new.metadata);
    old.spec != new.spec
        || a.labels != b.labels
        || a.annotations != b.annotations
        || a.deletion_timestamp != b.deletion_timestamp
        || a.deletion_grace_period_seconds != b.deletion_grace_period_seconds
}

fn gone(workers: &SharedWorkers, uid: &str) {
    let mut w = lock(workers);
    if let Some(worker) = w.by_uid.get(uid) {
        worker.desired.send_replace(Desired::Gone);
    }
    w.by_uid.retain(|_, wk| !wk.task.is_finished());
}

/// Runs the pods of this node until the process ends.
pub async fn run(shared: Arc<Shared>) {
    let workers: SharedWorkers = Arc::default();
    let relist = tokio::spawn(relist_runtime(shared.clone(), workers.clone()));
    let housekeeping = tokio::spawn(housekeeping(shared.clone(), workers.clone()));
    watch_pods(shared, workers.clone()).await;
    relist.abort();
    housekeeping.abort();
}

async fn watch_pods(shared: Arc<Shared>, workers: SharedWorkers) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let selector = format!("spec.nodeName={}", shared.node.node_name);
    loop {
        let list = match api.list(&ListParams::default().fields(&selector)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing this node's pods failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let present: HashSet<String> = list
            .items
            .iter()
            .filter_map(|p| p.metadata.uid.clone())
            .collect();
        let missing: Vec<String> = lock(&workers)
            .by_uid
            .keys()
            .filter(|u| !present.contains(*u))
            .cloned()
            .collect();
        for uid in missing {
            gone(&workers, &uid);
        }
        for pod in list.items {
            dispatch(&shared, &workers, pod);
        }
        lock(&workers).listed = true;
        let mut version = list.metadata.resource_version.unwrap_or_default();
        let params = WatchParams::default().fields(&selector).timeout(290);
        'watch: loop {
            let stream = match api.watch(&params, &version).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "watching this node's pods failed; relisting");
                    break 'watch;
                }
            };
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(pod))) | Ok(Some(WatchEvent::Modified(pod))) => {
                        version = pod.metadata.resource_version.clone().unwrap_or(version);
                        dispatch(&shared, &workers, pod);
                    }
                    Ok(Some(WatchEvent::Deleted(pod))) => {
                        version = pod.metadata.resource_version.clone().unwrap_or(version);
                        if let Some(uid) = pod.metadata.uid.as_deref() {
                            gone(&workers, uid);
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    Ok(Some(WatchEvent::Error(e))) => {
                        tracing::debug!(code = e.code, "the pod watch ended; relisting");
                        break 'watch;
                    }
                    Ok(None) => continue 'watch,
                    Err(e) => {
                        tracing::debug!(error = %e, "the pod watch broke; relisting");
                        break 'watch;
                    }
                }
            }
        }
    }
}

/// Lists the runtime's containers every second and wakes the workers of pods whose
/// containers changed state.
async fn relist_runtime(shared: Arc<Shared>, workers: SharedWorkers) {
    let mut previous: HashMap<String, Vec<(String, i32)>> = HashMap::new();
    let mut tick = tokio::time::interval(RELIST_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut rt = shared.cri.runtime.clone();
        let Ok(list) = rt
            .list_containers(ListContainersRequest {
                filter: Some(ContainerFilter {
                    label_selector: naming::managed_selector(),
                    ..ContainerFilter::default()
                }),
            })
            .await
        else {
            continue;
        };
        let mut now: HashMap<String, Vec<(String, i32)>> = HashMap::new();
        for c in list.into_inner().containers {
            if let Some(uid) = c.labels.get(naming::POD_UID_LABEL) {
                now.entry(uid.clone()).or_default().push((c.id, c.state));
            }
        }
        for v in now.values_mut() {
            v.sort();
        }
        let changed: Vec<&String> = now
            .iter()
            .filter(|(uid, v)| previous.get(*uid) != Some(v))
            .map(|(uid, _)| uid)
            .collect();
        if !changed.is_empty() {
            let w = lock(&workers);
            for uid in changed {
                if let Some(worker) = w.by_uid.get(uid) {
                    worker.poke.notify_one();
                }
            }
        }
        previous = now;
    }
}

/// Removes leftovers of pods no worker is responsible for, once the first listing arrived.
async fn housekeeping(shared: Arc<Shared>, workers: SharedWorkers) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let known: HashSet<String> = {
            let w = lock(&workers);
            if !w.listed {
                continue;
            }
            w.by_uid.keys().cloned().collect()
        };
        cleanup::sweep(&shared, &known).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra: serde_json::Value) -> Pod {
        let mut v = serde_json::json!({"metadata": {"name": "p", "uid": "u", "resourceVersion": "1"},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        for (k, val) in extra.as_object().unwrap() {
            if k == "metadata" {
                for (mk, mv) in val.as_object().unwrap() {
                    v["metadata"][mk] = mv.clone();
                }
            } else {
                v[k] = val.clone();
            }
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_and_bookkeeping_changes_do_not_wake_a_worker() {
        let base = pod(serde_json::json!({}));
        let status_only = pod(serde_json::json!({"metadata": {"resourceVersion": "2"},
            "status": {"phase": "Running"}}));
        assert!(!differs_for_worker(&base, &status_only));
        for change in [
            serde_json::json!({"spec": {"containers": [{"name": "c", "image": "j"}]}}),
            serde_json::json!({"metadata": {"labels": {"a": "b"}}}),
            serde_json::json!({"metadata": {"annotations": {"a": "b"}}}),
            serde_json::json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z",
                "deletionGracePeriodSeconds": 30}}),
        ] {
            assert!(differs_for_worker(&base, &pod(change.clone())), "{change}");
        }
    }
}
