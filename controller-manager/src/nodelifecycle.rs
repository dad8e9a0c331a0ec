//! The `nodelifecycle` controller: notices nodes whose kubelet stopped reporting, and keeps
//! every node's condition taints in line with its conditions.
//!
//! Every `--node-monitor-period` it lists the nodes and their Leases in `kube-node-lease`. A
//! node is heard from when its Ready condition's heartbeat or its Lease's renew time changes;
//! the time of that observation is kept locally (clocks of other machines are never compared
//! with this one's). A node not heard from for `--node-monitor-grace-period` (or
//! `--node-startup-grace-period` while it never posted a Ready condition) gets its Ready,
//! MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown. Then, for every node:
//!
//! - taints: `node.kubernetes.io/not-ready` (Ready False) or `node.kubernetes.io/unreachable`
//!   (Ready Unknown) with effects NoSchedule and NoExecute; NoSchedule taints for memory, disk
//!   and PID pressure, an unavailable network and `spec.unschedulable`. Taints of other keys
//!   are left alone; a taint that stays keeps its `timeAdded`.
//! - a node that is not Ready has its pods' Ready condition set to False.
//!
//! Evicting the pods of a NoExecute-tainted node is the `taint-eviction-controller`'s job
//! ([`crate::taint_eviction`]).

use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Taint of a node whose Ready condition is False.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of a node whose Ready condition is Unknown.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint of a node marked unschedulable.
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

/// Every taint key this controller owns.
const MANAGED_TAINTS: [&str; 7] = [
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    TAINT_MEMORY_PRESSURE,
    TAINT_DISK_PRESSURE,
    TAINT_PID_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
];

/// The conditions a kubelet posts, set to Unknown when it stops.
const KUBELET_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Namespace of the nodes' heartbeat Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// What was last heard from a node, and when (on this machine's clock).
#[derive(Debug, Clone)]
struct Heard {
    heartbeat: Option<Timestamp>,
    renewed: Option<Timestamp>,
    at: Instant,
}

/// The condition of `type_`, if the node has it.
pub fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The status of the node's Ready condition: "True", "False", "Unknown", or `None` when the
/// kubelet never posted it.
pub fn ready_status(node: &Node) -> Option<&str> {
    condition(node, "Ready").map(|c| c.status.as_str())
}

/// The conditions of a node not heard from: each kubelet condition that is not Unknown yet
/// becomes Unknown, and one never posted is added as Unknown. `None` if nothing changes.
pub fn unknown_conditions(node: &Node, now: Timestamp) -> Option<Vec<NodeCondition>> {
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for type_ in KUBELET_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

/// The taints a node should carry: those of other owners unchanged, and the managed ones its
/// conditions and `spec.unschedulable` call for (keeping the `timeAdded` of those it has).
pub fn desired_taints(node: &Node, now: Timestamp) -> Vec<Taint> {
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let is = |type_: &str, status: &str| condition(node, type_).is_some_and(|c| c.status == status);
    let mut want: Vec<(&str, &str)> = Vec::new();
    match ready_status(node) {
        Some("False") => want.extend([
            (TAINT_NOT_READY, "NoSchedule"),
            (TAINT_NOT_READY, "NoExecute"),
        ]),
        Some("Unknown") => want.extend([
            (TAINT_UNREACHABLE, "NoSchedule"),
            (TAINT_UNREACHABLE, "NoExecute"),
        ]),
        _ => {}
    }
    for (type_, key) in [
        ("MemoryPressure", TAINT_MEMORY_PRESSURE),
        ("DiskPressure", TAINT_DISK_PRESSURE),
        ("PIDPressure", TAINT_PID_PRESSURE),
        ("NetworkUnavailable", TAINT_NETWORK_UNAVAILABLE),
    ] {
        if is(type_, "True") {
            want.push((key, "NoSchedule"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        want.push((TAINT_UNSCHEDULABLE, "NoSchedule"));
    }
    let mut taints: Vec<Taint> = current
        .iter()
        .filter(|t| {
            !MANAGED_TAINTS.contains(&t.key.as_str())
                || want.iter().any(|(k, e)| t.key == *k && t.effect == *e)
        })
        .cloned()
        .collect();
    for (key, effect) in want {
        if !taints.iter().any(|t| t.key == key && t.effect == effect) {
            taints.push(Taint {
                key: key.into(),
                effect: effect.into(),
                value: None,
                time_added: (effect == "NoExecute").then_some(Time(now)),
            });
        }
    }
    taints
}

/// Looks at every node once: marks those not heard from, fixes taints, marks pods not ready.
async fn pass(ctx: &Context, heard: &mut HashMap<String, Heard>) -> Result<(), SyncError> {
    let nodes: Api<Node> = Api::all(ctx.client.clone());
    let leases: Api<Lease> = Api::namespaced(ctx.client.clone(), NODE_LEASE_NAMESPACE);
    let node_list = nodes
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing nodes", "nodes"))?;
    let renewed: HashMap<String, Timestamp> = match leases.list(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|l| {
                let renew = l.spec.as_ref()?.renew_time.as_ref()?.0;
                Some((l.metadata.name?, renew))
            })
            .collect(),
        Err(err) => {
            tracing::warn!(controller = "nodelifecycle", error = %err, "listing node leases failed");
            HashMap::new()
        }
    };
    let now = Instant::now();
    heard.retain(|name, _| {
        node_list
            .items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some(name))
    });
    for mut node in node_list.items {
        let Some(name) = node.metadata.name.clone() else {
            continue;
        };
        let heartbeat =
            condition(&node, "Ready").and_then(|c| c.last_heartbeat_time.as_ref().map(|t| t.0));
        let lease = renewed.get(&name).copied();
        let entry = heard.entry(name.clone()).or_insert(Heard {
            heartbeat,
            renewed: lease,
            at: now,
        });
        if entry.heartbeat != heartbeat || entry.renewed != lease {
            *entry = Heard {
                heartbeat,
                renewed: lease,
                at: now,
            };
        }
        let grace = if ready_status(&node).is_none() {
            ctx.node_startup_grace_period
        } else {
            ctx.node_monitor_grace_period
        };
        if now.duration_since(entry.at) > grace {
            if let Some(conditions) = unknown_conditions(&node, Timestamp::now()) {
                tracing::info!(controller = "nodelifecycle", node = %name, "node stopped posting its status; conditions set to Unknown");
                let patch = json!({"status": {"conditions": conditions}});
                node = nodes
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(SyncError::api("marking node status unknown", &name))?;
            }
        }
        if let Err(err) = sync_taints(&nodes, &node).await {
            tracing::warn!(controller = "nodelifecycle", node = %name, error = %err, "updating taints failed");
        }
        if ready_status(&node) != Some("True") {
            if let Err(err) = mark_pods_not_ready(ctx, &name).await {
                tracing::warn!(controller = "nodelifecycle", node = %name, error = %err, "marking pods not ready failed");
            }
        }
    }
    Ok(())
}

/// Writes the node's taints when they differ from [`desired_taints`].
async fn sync_taints(nodes: &Api<Node>, node: &Node) -> Result<(), SyncError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let want = desired_taints(node, Timestamp::now());
    let have = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    if want == have {
        return Ok(());
    }
    // The resourceVersion makes this a compare-and-swap: a concurrent edit of the taints
    // (`kubectl taint`) is never overwritten; the next pass looks again.
    let patch = json!({
        "metadata": {"resourceVersion": node.metadata.resource_version},
        "spec": {"taints": want},
    });
    match nodes
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            tracing::info!(controller = "nodelifecycle", node = %name, taints = ?want.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>(), "taints updated");
            Ok(())
        }
        Err(err) if crate::hints::is_status(&err, 409) => Ok(()),
        Err(err) => Err(SyncError::api("updating node taints", &name)(err)),
    }
}

/// Sets the Ready condition of every pod on `node` to False.
async fn mark_pods_not_ready(ctx: &Context, node: &str) -> Result<(), SyncError> {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let list = pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(SyncError::api("listing pods of node", node))?;
    for pod in list.items {
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
        if ready.is_none_or(|c| c.status != "True") {
            continue;
        }
        let (Some(ns), Some(name)) = (pod.metadata.namespace.clone(), pod.metadata.name.clone())
        else {
            continue;
        };
        let patch = json!({"status": {"conditions": [{
            "type": "Ready",
            "status": "False",
            "lastTransitionTime": Time(Timestamp::now()),
        }]}});
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            Ok(_) => {}
            Err(err) if crate::hints::is_status(&err, 404) => {}
            Err(err) => {
                return Err(SyncError::api(
                    "marking pod not ready",
                    &format!("{ns}/{name}"),
                )(err))
            }
        }
    }
    Ok(())
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let mut heard = HashMap::new();
    let period = ctx.node_monitor_period.max(Duration::from_millis(100));
    loop {
        if let Err(err) = pass(&ctx, &mut heard).await {
            tracing::warn!(controller = "nodelifecycle", error = %err, "monitoring nodes failed");
        }
        tokio::time::sleep(period).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, NodeStatus};

    fn node(conditions: &[(&str, &str)], taints: Vec<Taint>, unschedulable: bool) -> Node {
        Node {
            spec: Some(NodeSpec {
                taints: Some(taints),
                unschedulable: Some(unschedulable),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| NodeCondition {
                            type_: (*t).into(),
                            status: (*s).into(),
                            ..NodeCondition::default()
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    fn keys(taints: &[Taint]) -> Vec<String> {
        taints
            .iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect()
    }

    #[test]
    fn taints_follow_the_ready_condition_and_keep_foreign_ones() {
        let now = Timestamp::now();
        let unknown = node(
            &[("Ready", "Unknown")],
            vec![taint("team", "NoSchedule")],
            false,
        );
        let got = desired_taints(&unknown, now);
        assert_eq!(
            keys(&got),
            [
                "team:NoSchedule",
                "node.kubernetes.io/unreachable:NoSchedule",
                "node.kubernetes.io/unreachable:NoExecute"
            ]
        );
        assert!(got[1].time_added.is_none());
        assert_eq!(got[2].time_added, Some(Time(now)));

        // Back to Ready: the managed taints go, the foreign one stays.
        let recovered = node(&[("Ready", "True")], got, false);
        assert_eq!(keys(&desired_taints(&recovered, now)), ["team:NoSchedule"]);

        let not_ready = node(
            &[("Ready", "False"), ("DiskPressure", "True")],
            vec![],
            true,
        );
        assert_eq!(
            keys(&desired_taints(&not_ready, now)),
            [
                "node.kubernetes.io/not-ready:NoSchedule",
                "node.kubernetes.io/not-ready:NoExecute",
                "node.kubernetes.io/disk-pressure:NoSchedule",
                "node.kubernetes.io/unschedulable:NoSchedule"
            ]
        );
    }

    #[test]
    fn a_taint_that_stays_keeps_its_time() {
        let earlier = Timestamp::from_second(1_000_000).unwrap();
        let mut kept = taint(TAINT_UNREACHABLE, "NoExecute");
        kept.time_added = Some(Time(earlier));
        let n = node(&[("Ready", "Unknown")], vec![kept.clone()], false);
        let got = desired_taints(&n, Timestamp::now());
        assert!(got.contains(&kept));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn silent_nodes_get_unknown_conditions_once() {
        let now = Timestamp::now();
        let n = node(
            &[("Ready", "True"), ("MemoryPressure", "False")],
            vec![],
            false,
        );
        let conditions = unknown_conditions(&n, now).expect("changes");
        let by_type = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap();
        assert_eq!(by_type("Ready").status, "Unknown");
        assert_eq!(
            by_type("Ready").reason.as_deref(),
            Some("NodeStatusUnknown")
        );
        assert_eq!(
            by_type("PIDPressure").reason.as_deref(),
            Some("NodeStatusNeverUpdated")
        );
        let mut again = n.clone();
        again.status.as_mut().unwrap().conditions = Some(conditions);
        assert!(unknown_conditions(&again, now).is_none());
    }
}
