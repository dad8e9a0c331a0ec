//! The pod garbage collector against a live API server: terminated pods beyond the threshold
//! go (evicted first, then oldest), pods bound to a node that does not exist are marked
//! Failed with the DisruptionTarget condition and force-deleted after the quarantine, pods
//! being deleted that were never scheduled are finished, and nothing else is touched.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager` first (see the crate
//! docs).

use anyhow::{ensure, Result};
use berth_conformance::kubectl_ok as ok;
use berth_conformance::{cluster_with_controllers, Kubectl, KUBECTL_MINORS};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::future::Future;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);
/// A finalizer that keeps a deleted pod readable, so the test can look at how it ended.
const HOLD: &str = "example.com/hold";

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

fn pod(name: &str, node: Option<&str>, finalizer: bool) -> Result<Pod> {
    let mut p = json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    });
    if let Some(node) = node {
        p["spec"]["nodeName"] = json!(node);
    }
    if finalizer {
        p["metadata"]["finalizers"] = json!([HOLD]);
    }
    Ok(serde_json::from_value(p)?)
}

/// Names of the pods `kubectl get pods` lists.
async fn listed(k: &Kubectl) -> Result<Vec<String>> {
    let out = ok(k, &["get", "pods", "-o", "name"]).await?;
    Ok(out
        .lines()
        .map(|l| l.trim_start_matches("pod/").to_owned())
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn terminated_orphaned_and_unscheduled_terminating_pods_are_collected() {
    let (cluster, cm) = cluster_with_controllers(&[
        "--controllers=podgc",
        "--terminated-pod-gc-threshold=2",
        "--pod-gc-check-period=200ms",
        "--pod-gc-quarantine=1s",
    ]);
    let result = async {
        let client = cluster.client().await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node = serde_json::from_value(json!({"metadata": {"name": "present"}}))?;
        nodes.create(&PostParams::default(), &node).await?;

        // Pods that must stay: running on a node that exists, and pending unscheduled.
        pods.create(
            &PostParams::default(),
            &pod("bound", Some("present"), false)?,
        )
        .await?;
        pods.create(&PostParams::default(), &pod("waiting", None, false)?)
            .await?;

        // Five terminated pods, created in name order; one evicted, created last.
        for (name, phase, reason) in [
            ("done-a", "Succeeded", None),
            ("done-b", "Failed", None),
            ("done-c", "Succeeded", None),
            ("done-d", "Failed", None),
            ("done-e", "Failed", Some("Evicted")),
        ] {
            pods.create(&PostParams::default(), &pod(name, Some("present"), false)?)
                .await?;
            let status = json!({"status": {"phase": phase, "reason": reason}});
            pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                .await?;
        }
        eventually(
            "two terminated pods left: the newest not evicted",
            || async {
                let names = listed(&k).await?;
                let done: Vec<&String> = names.iter().filter(|n| n.starts_with("done-")).collect();
                Ok((done == ["done-c", "done-d"]).then_some(()))
            },
        )
        .await?;

        // A pod bound to a node that does not exist: failed, marked, force-deleted.
        pods.create(&PostParams::default(), &pod("orphan", Some("ghost"), true)?)
            .await?;
        let orphan = eventually("the orphan deleted", || async {
            Ok(pods
                .get("orphan")
                .await?
                .metadata
                .deletion_timestamp
                .is_some()
                .then_some(()))
        })
        .await;
        let orphan_pod = pods.get("orphan").await?;
        orphan?;
        let status = orphan_pod.status.unwrap_or_default();
        let target = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "DisruptionTarget");
        ensure!(
            status.phase.as_deref() == Some("Failed")
                && target.is_some_and(|c| c.status == "True"
                    && c.reason.as_deref() == Some("DeletionByPodGC")
                    && c.message.as_deref() == Some("PodGC: node no longer exists")),
            "orphan status: {status:?}"
        );
        ensure!(
            orphan_pod.metadata.deletion_grace_period_seconds == Some(0),
            "the orphan was not force-deleted: {:?}",
            orphan_pod.metadata
        );

        // A pod deleted before it was ever scheduled is finished.
        pods.create(&PostParams::default(), &pod("never-ran", None, true)?)
            .await?;
        ok(&k, &["delete", "pod", "never-ran", "--wait=false"]).await?;
        eventually("the unscheduled terminating pod failed", || async {
            let p = pods.get("never-ran").await?;
            let phase = p.status.and_then(|s| s.phase);
            Ok((phase.as_deref() == Some("Failed")).then_some(()))
        })
        .await?;

        // The two held pods ended Failed and count as terminated too: being newer, they push
        // the two older terminated pods over the threshold.
        eventually("the older terminated pods pushed out", || async {
            let names = listed(&k).await?;
            Ok((!names.iter().any(|n| n.starts_with("done-"))).then_some(()))
        })
        .await?;
        // Released, the held pods go; the pods that never ended were never touched.
        let release = json!({"metadata": {"finalizers": null}});
        for name in ["orphan", "never-ran"] {
            pods.patch(name, &PatchParams::default(), &Patch::Merge(&release))
                .await?;
        }
        eventually("only the untouched pods left", || async {
            let mut names = listed(&k).await?;
            names.sort();
            Ok((names == ["bound", "waiting"]).then_some(()))
        })
        .await?;
        pods.delete("waiting", &DeleteParams::default()).await?;
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}
