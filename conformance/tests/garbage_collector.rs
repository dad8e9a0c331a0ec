//! The garbage collector against a live API server: `kubectl delete --cascade=background`,
//! `foreground` and `orphan` of a ReplicaSet, a foreground deletion held by a blocking
//! dependent, and dependents whose owner is missing or was replaced by an object of the same
//! name.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager` first (see the crate
//! docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::{across_kubectls, cluster_with_controllers, Kubectl, KUBECTL_MINORS};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use std::future::Future;
use std::time::Duration;

/// How long any awaited state may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

fn replicaset(name: &str, replicas: u32) -> String {
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
      containers:
      - name: c
        image: busybox
"
    )
}

/// Names and owner names of the pods labelled `app=<app>`, one line each.
fn pods_of(k: &Kubectl, app: &str) -> Result<Vec<(String, String)>> {
    let out = k
        .run(&[
            "get",
            "pods",
            "-l",
            &format!("app={app}"),
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[*].name}{\"\\n\"}{end}",
        ])?
        .ok()?;
    Ok(out
        .stdout
        .lines()
        .map(|l| {
            let (name, owner) = l.split_once(' ').unwrap_or((l, ""));
            (name.to_owned(), owner.trim().to_owned())
        })
        .collect())
}

#[test]
fn kubectl_delete_cascades_as_asked() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = (|| -> Result<()> {
        let kubectls = cluster.kubectls(KUBECTL_MINORS)?;
        across_kubectls(&kubectls, |k| {
            for cascade in ["background", "foreground", "orphan"] {
                let name = k.name(cascade);
                let manifest =
                    cluster.write_manifest(&format!("{name}.yaml"), &replicaset(&name, 2))?;
                k.run(&["apply", "-f", &manifest.display().to_string()])?
                    .ok()?;
                k.run_until(
                    &["get", "pods", "-l", &format!("app={name}"), "-o", "name"],
                    STEP,
                    |out| out.lines().count() == 2,
                )?;
                k.run(&[
                    "delete",
                    "replicaset",
                    &name,
                    &format!("--cascade={cascade}"),
                ])?
                .ok()?;
                // kubectl waited for the ReplicaSet to go.
                k.run(&["get", "replicaset", &name])?
                    .failed()?
                    .stderr_has("NotFound")?;
                match cascade {
                    "background" => {
                        k.run_until(
                            &["get", "pods", "-l", &format!("app={name}"), "-o", "name"],
                            STEP,
                            |out| out.trim().is_empty(),
                        )?;
                    }
                    "foreground" => {
                        // The owner went only after its blocking dependents.
                        let left = pods_of(k, &name)?;
                        ensure!(left.is_empty(), "pods outlived their owner: {left:?}");
                    }
                    _ => {
                        // The pods stay, freed of their owner, and stay so.
                        std::thread::sleep(Duration::from_secs(1));
                        let left = pods_of(k, &name)?;
                        ensure!(left.len() == 2, "orphaned pods: {left:?}");
                        ensure!(
                            left.iter().all(|(_, owner)| owner.is_empty()),
                            "orphans still name an owner: {left:?}"
                        );
                    }
                }
            }
            Ok(())
        })
    })();
    cluster.report(&[&cm], result);
}

fn owned_by(name: &str, uid: &str, kind: &str, api_version: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: None,
        block_owner_deletion: Some(true),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        let manifest = cluster.write_manifest("held.yaml", &replicaset("held", 1))?;
        k.run(&["apply", "-f", &manifest.display().to_string()])?
            .ok()?;
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let uid = sets.get("held").await?.metadata.uid.context("no uid")?;
        // A dependent that blocks its owner and is itself held by a finalizer.
        let mut blocker = ConfigMap::default();
        blocker.metadata.name = Some("blocker".into());
        blocker.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        blocker.metadata.owner_references =
            Some(vec![owned_by("held", &uid, "ReplicaSet", "apps/v1")]);
        maps.create(&PostParams::default(), &blocker).await?;

        k.run(&[
            "delete",
            "replicaset",
            "held",
            "--cascade=foreground",
            "--wait=false",
        ])?
        .ok()?;
        // The dependents are deleted; the owner waits with its finalizer.
        eventually("the blocker marked for deletion", || async {
            let cm = maps.get("blocker").await?;
            Ok(cm.metadata.deletion_timestamp.map(|_| ()))
        })
        .await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        eventually("the pod deleted", || async {
            let left = pods
                .list(&ListParams::default().labels("app=held"))
                .await?
                .items;
            Ok(left.is_empty().then_some(()))
        })
        .await?;
        let rs = sets.get("held").await?;
        ensure!(
            rs.metadata.deletion_timestamp.is_some()
                && rs
                    .metadata
                    .finalizers
                    .iter()
                    .flatten()
                    .any(|f| f == "foregroundDeletion"),
            "the owner is not waiting: {:?}",
            rs.metadata
        );
        // Releasing the blocker lets the owner go.
        let release = serde_json::json!({"metadata": {"finalizers": null}});
        maps.patch("blocker", &PatchParams::default(), &Patch::Merge(&release))
            .await?;
        eventually("the owner gone", || async {
            Ok(sets.get_opt("held").await?.is_none().then_some(()))
        })
        .await?;
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dependents_of_missing_or_replaced_owners_are_collected() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let create = |name: &str, owners: Vec<OwnerReference>| {
            let mut m = ConfigMap::default();
            m.metadata.name = Some(name.into());
            m.metadata.owner_references = (!owners.is_empty()).then_some(owners);
            m
        };
        let owner = maps
            .create(&PostParams::default(), &create("owner", vec![]))
            .await?;
        let owner_uid = owner.metadata.uid.context("no uid")?;
        let live = owned_by("owner", &owner_uid, "ConfigMap", "v1");
        // An owner that never existed, and an owner name now held by another object.
        let ghost = owned_by(
            "ghost",
            "00000000-0000-0000-0000-000000000000",
            "ReplicaSet",
            "apps/v1",
        );
        let stale = owned_by(
            "owner",
            "11111111-1111-1111-1111-111111111111",
            "ConfigMap",
            "v1",
        );
        maps.create(&PostParams::default(), &create("kept", vec![live.clone()]))
            .await?;
        maps.create(
            &PostParams::default(),
            &create("haunted", vec![ghost.clone()]),
        )
        .await?;
        maps.create(
            &PostParams::default(),
            &create("stale", vec![stale.clone()]),
        )
        .await?;
        maps.create(
            &PostParams::default(),
            &create("mixed", vec![live.clone(), ghost.clone()]),
        )
        .await?;
        eventually("dependents of missing owners collected", || async {
            let haunted = maps.get_opt("haunted").await?;
            let stale = maps.get_opt("stale").await?;
            Ok((haunted.is_none() && stale.is_none()).then_some(()))
        })
        .await?;
        // A dependent with a live owner stays, losing only the reference to the missing one.
        let mixed = eventually("the dangling reference dropped", || async {
            let m = maps.get("mixed").await?;
            let refs = m.metadata.owner_references.clone().unwrap_or_default();
            Ok((refs.len() == 1).then_some(refs))
        })
        .await?;
        ensure!(mixed[0].uid == owner_uid, "{mixed:?}");
        ensure!(maps.get_opt("kept").await?.is_some(), "kept was collected");

        // The owner goes (the API's default: background): its dependents follow.
        maps.delete("owner", &Default::default()).await?;
        eventually("dependents of the deleted owner collected", || async {
            let kept = maps.get_opt("kept").await?;
            let mixed = maps.get_opt("mixed").await?;
            Ok((kept.is_none() && mixed.is_none()).then_some(()))
        })
        .await?;
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}
