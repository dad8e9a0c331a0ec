//! ReplicationControllers and the `ReplicaFailure` condition against a live API server, with
//! a fake node running the pods: `kubectl get`, `scale` and the `scale` subresource of a
//! ReplicationController, its pods kept, replaced, adopted and recorded in Events; a pod
//! template the API refuses as a pod sets `ReplicaFailure` on both a ReplicationController
//! and a ReplicaSet, and fixing the template clears it.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager` first (see the crate
//! docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::kubectl_ok as ok;
use berth_conformance::{cluster_with_controllers, owned_pods, Kubectl, KUBECTL_MINORS};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

/// The object `kubectl get KIND NAME -o json` prints.
async fn get_json(k: &Kubectl, kind: &str, name: &str) -> Result<Value> {
    Ok(serde_json::from_str(
        &ok(k, &["get", kind, name, "-o", "json"]).await?,
    )?)
}

fn rc_manifest(name: &str, replicas: u32, image: &str, node: &str) -> String {
    format!(
        "apiVersion: v1
kind: ReplicationController
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeName: {node}
      containers:
      - name: c
        image: {image:?}
"
    )
}

fn rs_manifest(name: &str, replicas: u32, image: &str, node: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeName: {node}
      containers:
      - name: c
        image: {image:?}
"
    )
}

/// Waits until the ReplicationController reports `n` ready replicas at its generation.
async fn ready_rc(k: &Kubectl, name: &str, n: i64) -> Result<Value> {
    eventually(&format!("{name} with {n} ready replicas"), || async {
        let rc = get_json(k, "rc", name).await?;
        let status = &rc["status"];
        let done = status["replicas"].as_i64() == Some(n)
            && status["readyReplicas"].as_i64().unwrap_or(0) == n
            && status["availableReplicas"].as_i64().unwrap_or(0) == n
            && status["observedGeneration"] == rc["metadata"]["generation"];
        Ok(done.then_some(rc))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replicationcontroller_is_listed_scaled_and_keeps_its_pods() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let _nodes = FakeNodes::start(client.clone(), &[NodeSpec::new("rc-node")]).await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        cluster
            .create(&k, "rc", &rc_manifest("web", 2, "busybox", "rc-node"))
            .await?;
        let rc = ready_rc(&k, "web", 2).await?;
        let uid = rc["metadata"]["uid"].as_str().context("no uid")?.to_owned();
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let two = owned_pods(&pods, &uid).await?;
        ensure!(two.len() == 2, "{} pods", two.len());
        for p in &two {
            let owner = &p.metadata.owner_references.as_ref().context("no owner")?[0];
            ensure!(
                owner.kind == "ReplicationController"
                    && owner.api_version == "v1"
                    && owner.block_owner_deletion == Some(true)
                    && p.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("web-")),
                "pod {:?} owned by {owner:?}",
                p.metadata.name
            );
        }

        // Every kubectl lists it with its counts, by name and by short name.
        for minor in KUBECTL_MINORS {
            let k = cluster.kubectl(minor)?;
            let out = ok(&k, &["get", "rc"]).await?;
            let header: Vec<&str> = out
                .lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            ensure!(
                header == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
                "kubectl 1.{minor}: {out}"
            );
            let row: Vec<&str> = out
                .lines()
                .nth(1)
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            ensure!(
                row[..4] == ["web", "2", "2", "2"],
                "kubectl 1.{minor}: {out}"
            );
            ok(&k, &["get", "replicationcontroller", "web", "-o", "name"]).await?;
        }

        // kubectl scale goes through the scale subresource.
        ok(&k, &["scale", "rc", "web", "--replicas=3"]).await?;
        ready_rc(&k, "web", 3).await?;
        let scale: Value = serde_json::from_str(
            &ok(
                &k,
                &[
                    "get",
                    "--raw",
                    "/api/v1/namespaces/default/replicationcontrollers/web/scale",
                ],
            )
            .await?,
        )?;
        ensure!(
            scale["kind"] == "Scale"
                && scale["spec"]["replicas"] == 3
                && scale["status"]["replicas"] == 3
                && scale["status"]["selector"] == "app=web",
            "{scale}"
        );
        ok(
            &k,
            &["scale", "rc", "web", "--replicas=1", "--current-replicas=3"],
        )
        .await?;
        ready_rc(&k, "web", 1).await?;
        ensure!(owned_pods(&pods, &uid).await?.len() == 1);

        // A deleted pod is replaced.
        let victim = owned_pods(&pods, &uid).await?[0]
            .metadata
            .name
            .clone()
            .context("no name")?;
        pods.delete(&victim, &DeleteParams::default()).await?;
        eventually("a replacement pod", || async {
            let owned = owned_pods(&pods, &uid).await?;
            Ok(
                (owned.len() == 1 && owned[0].metadata.name.as_deref() != Some(&victim))
                    .then_some(()),
            )
        })
        .await?;

        // A matching orphan is adopted, and as one too many, a pod goes.
        let mut orphan = Pod::default();
        orphan.metadata.name = Some("orphan".into());
        orphan.metadata.labels = Some(BTreeMap::from([("app".to_owned(), "web".to_owned())]));
        orphan.spec = two[0].spec.clone();
        pods.create(&PostParams::default(), &orphan).await?;
        eventually("the orphan adopted and the count back at one", || async {
            let adopted = pods.get_opt("orphan").await?.is_none_or(|p| {
                p.metadata.deletion_timestamp.is_some()
                    || p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.uid == uid)
            });
            let live = pods
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .count();
            Ok((adopted && live == 1 && owned_pods(&pods, &uid).await?.len() == 1).then_some(()))
        })
        .await?;

        let events = ok(
            &k,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.kind=ReplicationController,involvedObject.name=web",
                "-o",
                "jsonpath={range .items[*]}{.reason} {.source.component}{\"\\n\"}{end}",
            ],
        )
        .await?;
        ensure!(
            events
                .lines()
                .any(|l| l == "SuccessfulCreate replication-controller")
                && events
                    .lines()
                    .any(|l| l == "SuccessfulDelete replication-controller"),
            "events: {events}"
        );
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}

/// The `ReplicaFailure` condition of `kind/name`, if set.
async fn replica_failure(k: &Kubectl, kind: &str, name: &str) -> Result<Option<Value>> {
    let obj = get_json(k, kind, name).await?;
    Ok(obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "ReplicaFailure")
        .cloned())
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_pod_creates_set_replica_failure_until_the_template_is_fixed() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let _nodes = FakeNodes::start(client.clone(), &[NodeSpec::new("rf-node")]).await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        // A template may carry an image name with surrounding blanks; a pod may not.
        let kinds = [
            ("replicationcontroller", rc_manifest("bad-rc", 2, " busybox", "rf-node")),
            ("replicaset", rs_manifest("bad-rs", 2, " busybox", "rf-node")),
        ];
        for (kind, manifest) in &kinds {
            let name = if *kind == "replicaset" { "bad-rs" } else { "bad-rc" };
            cluster.create(&k, name, manifest).await?;
            let condition = eventually(&format!("ReplicaFailure on {kind}"), || {
                replica_failure(&k, kind, name)
            })
            .await?;
            ensure!(
                condition["status"] == "True"
                    && condition["reason"] == "FailedCreate"
                    && condition["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("must not have leading or trailing whitespace"))
                    && condition["lastTransitionTime"].is_string(),
                "{kind}: {condition}"
            );
            let events = ok(
                &k,
                &[
                    "get",
                    "events",
                    "--field-selector",
                    &format!("involvedObject.name={name},reason=FailedCreate"),
                    "-o",
                    "jsonpath={range .items[*]}{.type} {.message}{\"\\n\"}{end}",
                ],
            )
            .await?;
            ensure!(
                events.lines().any(|l| l.starts_with("Warning Error creating: ")),
                "{kind} events: {events}"
            );

            let fix = r#"[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "busybox"}]"#;
            ok(&k, &["patch", kind, name, "--type=json", "-p", fix]).await?;
            eventually(&format!("{kind} healthy again"), || async {
                let obj = get_json(&k, kind, name).await?;
                let ready = obj["status"]["readyReplicas"].as_i64() == Some(2);
                let cleared = replica_failure(&k, kind, name).await?.is_none();
                Ok((ready && cleared).then_some(()))
            })
            .await?;
        }
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}
