//! The `taint-eviction-controller`: deletes pods from nodes with NoExecute taints they do not
//! tolerate.
//!
//! A pod that does not tolerate one of its node's NoExecute taints is deleted at once. A pod
//! that tolerates all of them for a limited time (`tolerationSeconds`) is deleted when the
//! shortest of those times has passed since the taint was added (`timeAdded`); a pod that
//! tolerates them without a limit stays. Before the delete the pod gets the
//! `DisruptionTarget` condition and an event `TaintManagerEviction`. The controller looks again
//! at least every few seconds and exactly when the next pod is due.

use crate::events;
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The longest pause between two looks.
const PERIOD: Duration = Duration::from_secs(2);

/// Whether `toleration` tolerates `taint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = toleration.effect.as_deref().filter(|e| !e.is_empty()) {
        if effect != taint.effect {
            return false;
        }
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    match toleration.operator.as_deref().unwrap_or("Equal") {
        // An empty key with Exists tolerates everything.
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

/// When a pod must leave a node with `taints` (the NoExecute ones count): `Some(now)` or
/// earlier for at once, a later time when a toleration runs out, `None` to stay.
pub fn eviction_time(
    tolerations: &[Toleration],
    taints: &[Taint],
    now: Timestamp,
) -> Option<Timestamp> {
    let mut due: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // Tolerated without a limit by any matching toleration: this taint never evicts.
        if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            continue;
        }
        let seconds = matching
            .iter()
            .filter_map(|t| t.toleration_seconds)
            .min()
            .unwrap_or(0)
            .max(0);
        let added = taint.time_added.as_ref().map_or(now, |t| t.0);
        let at = added
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .unwrap_or(added);
        due = Some(due.map_or(at, |d| d.min(at)));
    }
    due
}

/// Deletes `pod`, marking why first.
async fn evict(ctx: &Context, pod: &Pod) -> Result<(), SyncError> {
    let (Some(ns), Some(name)) = (pod.metadata.namespace.clone(), pod.metadata.name.clone()) else {
        return Ok(());
    };
    let object = format!("{ns}/{name}");
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let condition = json!({"status": {"conditions": [{
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint",
        "lastTransitionTime": Time(Timestamp::now()),
    }]}});
    match api
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Strategic(&condition),
        )
        .await
    {
        Ok(_) => {}
        Err(err) if crate::hints::is_status(&err, 404) => return Ok(()),
        Err(err) => {
            tracing::debug!(controller = "taint-eviction-controller", pod = %object, error = %err, "adding the DisruptionTarget condition failed")
        }
    }
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(ns.clone()),
        name: Some(name.clone()),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    };
    events::record(
        &ctx.client,
        "taint-eviction-controller",
        &reference,
        events::NORMAL,
        "TaintManagerEviction",
        &format!("Marking for deletion Pod {object}"),
    );
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {
            tracing::info!(controller = "taint-eviction-controller", pod = %object, "evicted");
            Ok(())
        }
        Err(err) if crate::hints::is_status(&err, 404) => Ok(()),
        Err(err) => Err(SyncError::api("evicting pod", &object)(err)),
    }
}

/// One look at every NoExecute-tainted node; returns when the next pod is due, if any.
async fn pass(ctx: &Context) -> Result<Option<Timestamp>, SyncError> {
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing nodes", "nodes"))?;
    let mut next: Option<Timestamp> = None;
    for node in list.items {
        let taints: Vec<Taint> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.effect == "NoExecute")
            .collect();
        let Some(name) = node.metadata.name.as_deref() else {
            continue;
        };
        if taints.is_empty() {
            continue;
        }
        let on_node = pods
            .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
            .await
            .map_err(SyncError::api("listing pods of node", name))?;
        for pod in on_node.items {
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let tolerations = pod
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.clone())
                .unwrap_or_default();
            let now = Timestamp::now();
            match eviction_time(&tolerations, &taints, now) {
                Some(at) if at <= now => evict(ctx, &pod).await?,
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
    }
    Ok(next)
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    loop {
        let wait = match pass(&ctx).await {
            Ok(Some(at)) => {
                let left = Timestamp::now().duration_until(at);
                Duration::try_from(left).unwrap_or_default().min(PERIOD)
            }
            Ok(None) => PERIOD,
            Err(err) => {
                tracing::warn!(controller = "taint-eviction-controller", error = %err, "eviction pass failed");
                PERIOD
            }
        };
        tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, effect: &str, added: Option<Timestamp>) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            value: None,
            time_added: added.map(Time),
        }
    }

    fn toleration(key: &str, operator: &str, effect: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()).filter(|k: &String| !k.is_empty()),
            operator: Some(operator.into()),
            effect: Some(effect.into()).filter(|e: &String| !e.is_empty()),
            toleration_seconds: seconds,
            value: None,
        }
    }

    #[test]
    fn matching_follows_key_operator_value_and_effect() {
        let t = taint("node.kubernetes.io/unreachable", "NoExecute", None);
        assert!(tolerates(&toleration("", "Exists", "", None), &t));
        assert!(tolerates(
            &toleration(
                "node.kubernetes.io/unreachable",
                "Exists",
                "NoExecute",
                None
            ),
            &t
        ));
        assert!(!tolerates(
            &toleration(
                "node.kubernetes.io/unreachable",
                "Exists",
                "NoSchedule",
                None
            ),
            &t
        ));
        assert!(!tolerates(&toleration("other", "Exists", "", None), &t));
        let mut valued = taint("dedicated", "NoExecute", None);
        valued.value = Some("gpu".into());
        let mut equal = toleration("dedicated", "Equal", "NoExecute", None);
        assert!(!tolerates(&equal, &valued));
        equal.value = Some("gpu".into());
        assert!(tolerates(&equal, &valued));
    }

    #[test]
    fn the_shortest_limited_toleration_decides_and_untolerated_taints_evict_now() {
        let now = Timestamp::now();
        let added = now - jiff::SignedDuration::from_secs(10);
        let taints = [taint(
            "node.kubernetes.io/unreachable",
            "NoExecute",
            Some(added),
        )];
        assert_eq!(eviction_time(&[], &taints, now), Some(now));
        let limited = [toleration(
            "node.kubernetes.io/unreachable",
            "Exists",
            "NoExecute",
            Some(300),
        )];
        assert_eq!(
            eviction_time(&limited, &taints, now),
            Some(added + jiff::SignedDuration::from_secs(300))
        );
        let forever = [toleration("", "Exists", "", None)];
        assert_eq!(eviction_time(&forever, &taints, now), None);
        // NoSchedule taints never evict.
        let soft = [taint("x", "NoSchedule", None)];
        assert_eq!(eviction_time(&[], &soft, now), None);
    }
}
