//! Node lifecycle against a live API server and controller manager: pod CIDRs for new nodes,
//! a node whose heartbeats stop turns Unknown and tainted, its pods are marked not ready and
//! evicted per their tolerations, and a node that comes back loses the taints.
//!
//! The nodes here are API objects driven by the test (a registered Node, its Lease and its
//! Ready condition), as a control-plane test's fake node is. Needs
//! `cargo build -p berth-apiserver -p berth-controller-manager` first.

use anyhow::{ensure, Context, Result};
use berth_conformance::{cluster_with_controllers, Cluster, ControllerManager, KUBECTL_MINORS};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::future::Future;
use std::time::Duration;

/// How long any awaited state may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Polls `probe` until it yields a value, failing after [`STEP`].
async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

fn cluster_with_node_controllers() -> (Cluster, ControllerManager) {
    cluster_with_controllers(&[
        "--node-monitor-period=200ms",
        "--node-monitor-grace-period=2s",
        "--node-startup-grace-period=2s",
        "--allocate-node-cidrs",
        "--cluster-cidr=10.244.0.0/16",
    ])
}

/// Registers node `name` as a kubelet would: the Node, then a Ready heartbeat.
async fn register(nodes: &Api<Node>, name: &str) -> Result<()> {
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
    }))?;
    nodes.create(&PostParams::default(), &node).await?;
    heartbeat(nodes, name).await
}

/// Posts a fresh Ready=True condition for `name`.
async fn heartbeat(nodes: &Api<Node>, name: &str) -> Result<()> {
    let now = Time(Timestamp::now());
    let patch = json!({"status": {"conditions": [{
        "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": now, "lastTransitionTime": now,
    }]}});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Creates or renews the node's Lease.
async fn renew(leases: &Api<Lease>, name: &str) -> Result<()> {
    let spec = LeaseSpec {
        holder_identity: Some(name.into()),
        lease_duration_seconds: Some(40),
        renew_time: Some(MicroTime(Timestamp::now())),
        ..LeaseSpec::default()
    };
    match leases.get_opt(name).await? {
        Some(mut lease) => {
            lease.spec = Some(spec);
            leases.replace(name, &PostParams::default(), &lease).await?;
        }
        None => {
            let mut lease = Lease {
                spec: Some(spec),
                ..Lease::default()
            };
            lease.metadata.name = Some(name.into());
            leases.create(&PostParams::default(), &lease).await?;
        }
    }
    Ok(())
}

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t: &Vec<Taint>| {
            t.iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect()
        })
        .unwrap_or_default()
}

fn ready(node: &Node) -> Option<(String, Option<String>)> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone()))
}

#[test]
fn new_nodes_get_distinct_pod_cidrs() {
    let (cluster, cm) = cluster_with_node_controllers();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = rt.block_on(async {
        let client = cluster.client().await?;
        let nodes: Api<Node> = Api::all(client);
        register(&nodes, "cidr-a").await?;
        register(&nodes, "cidr-b").await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        let mut seen = Vec::new();
        for name in ["cidr-a", "cidr-b"] {
            let cidr = eventually("a pod CIDR", || async {
                let out = k
                    .run(&[
                        "get",
                        "node",
                        name,
                        "-o",
                        "jsonpath={.spec.podCIDR} {.spec.podCIDRs[0]}",
                    ])?
                    .ok()?;
                let fields: Vec<&str> = out.stdout.split_whitespace().collect();
                Ok((fields.len() == 2).then(|| (fields[0].to_owned(), fields[1].to_owned())))
            })
            .await?;
            ensure!(cidr.0 == cidr.1, "podCIDR and podCIDRs[0] differ: {cidr:?}");
            ensure!(
                cidr.0.starts_with("10.244.") && cidr.0.ends_with(".0/24"),
                "{name} got {}",
                cidr.0
            );
            seen.push(cidr.0);
        }
        ensure!(seen[0] != seen[1], "both nodes got {}", seen[0]);
        Ok(())
    });
    cluster.report(&[&cm], result);
}

#[test]
fn a_silent_node_turns_unknown_its_pods_leave_and_it_recovers() {
    let (cluster, cm) = cluster_with_node_controllers();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = rt.block_on(async {
        let client = cluster.client().await?;
        let nodes: Api<Node> = Api::all(client.clone());
        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        register(&nodes, "silent").await?;
        renew(&leases, "silent").await?;

        // Two pods on the node: one tolerates an unreachable node for 0 s, one keeps the
        // default five minutes. Both report Ready.
        for (name, tolerations) in [
            ("quick", json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}])),
            ("patient", json!([])),
        ] {
            let pod: Pod = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name},
                "spec": {"nodeName": "silent", "tolerations": tolerations,
                         "containers": [{"name": "c", "image": "busybox:test"}]},
            }))?;
            pods.create(&PostParams::default(), &pod).await?;
            let status = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
            pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                .await?;
        }
        let patient = pods.get("patient").await?;
        let defaults = patient
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.clone())
            .unwrap_or_default();
        ensure!(
            defaults.iter().any(|t| t.key.as_deref() == Some("node.kubernetes.io/unreachable")
                && t.toleration_seconds == Some(300)),
            "pods get the default unreachable toleration: {defaults:?}"
        );

        // While heartbeats come, the node stays Ready and untainted.
        for _ in 0..15 {
            renew(&leases, "silent").await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let node = nodes.get("silent").await?;
        ensure!(ready(&node).is_some_and(|(s, _)| s == "True"), "{:?}", ready(&node));
        ensure!(taint_keys(&node).is_empty(), "{:?}", taint_keys(&node));

        // Silence: Unknown, tainted.
        let node = eventually("Ready=Unknown and unreachable taints", || async {
            let node = nodes.get("silent").await?;
            let keys = taint_keys(&node);
            Ok((ready(&node).is_some_and(|(s, r)| s == "Unknown" && r.as_deref() == Some("NodeStatusUnknown"))
                && keys.contains(&"node.kubernetes.io/unreachable:NoExecute".to_owned())
                && keys.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_owned()))
            .then_some(node))
        })
        .await?;
        let status = node.status.clone().unwrap_or_default();
        for type_ in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            let c = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == type_)
                .with_context(|| format!("no {type_} condition"))?;
            ensure!(c.status == "Unknown" && c.reason.as_deref() == Some("NodeStatusNeverUpdated"), "{c:?}");
        }

        // The pod without patience is evicted: deleted gracefully (it stays Terminating, as
        // nobody on the silent node confirms the stop) with the DisruptionTarget condition.
        // The other is marked not ready and stays.
        let quick = eventually("the quick pod evicted", || async {
            let pod = pods.get("quick").await?;
            Ok(pod.metadata.deletion_timestamp.is_some().then_some(pod))
        })
        .await?;
        let disruption = quick
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "DisruptionTarget");
        ensure!(
            disruption.as_ref().is_some_and(|c| c.status == "True"
                && c.reason.as_deref() == Some("DeletionByTaintManager")),
            "{disruption:?}"
        );
        eventually("the patient pod not ready", || async {
            let pod = pods.get("patient").await?;
            let ready = pod
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Ready");
            Ok(ready.is_some_and(|c| c.status == "False").then_some(()))
        })
        .await?;
        let patient = pods.get("patient").await?;
        ensure!(
            patient.metadata.deletion_timestamp.is_none(),
            "the patient pod stays for 300 s"
        );

        // Heartbeats again: Ready, taints gone.
        heartbeat(&nodes, "silent").await?;
        renew(&leases, "silent").await?;
        eventually("taints removed after recovery", || async {
            let node = nodes.get("silent").await?;
            Ok(taint_keys(&node).is_empty().then_some(()))
        })
        .await?;
        Ok(())
    });
    cluster.report(&[&cm], result);
}
