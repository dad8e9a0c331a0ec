//! The `kube` client library against a live Berth API server.
//!
//! Berth's own components are `kube` clients, so the typed `Api` round trips here (JSON
//! bodies, list and watch decoding, `Status` errors) must behave as they do against
//! Kubernetes. Needs `cargo build -p berth-apiserver` first (see the crate docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::Cluster;
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::Status;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long any single step may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);

/// Starts a server and a client for it, or fails the test with the reason.
async fn connect() -> (Cluster, kube::Client) {
    let cluster = Cluster::start().unwrap_or_else(|err| panic!("{err:#}"));
    let client = cluster
        .client()
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    (cluster, client)
}

fn configmap(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let mut cm = ConfigMap {
        data: Some(map(data)),
        ..ConfigMap::default()
    };
    cm.metadata.name = Some(name.to_owned());
    if !labels.is_empty() {
        cm.metadata.labels = Some(map(labels));
    }
    cm
}

/// The `Status` a call failed with; fails when it succeeded or failed another way.
fn status_of<T: std::fmt::Debug>(result: kube::Result<T>) -> Result<Status> {
    match result {
        Err(kube::Error::Api(status)) => Ok(*status),
        other => anyhow::bail!("expected an API error Status, got {other:?}"),
    }
}

fn expect_status(status: &Status, code: u16, reason: &str) -> Result<()> {
    ensure!(
        status.code == code && status.reason == reason,
        "expected {code} {reason}, got {status:?}"
    );
    Ok(())
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter_map(|cm| cm.metadata.name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn configmap_create_get_list_patch_delete() {
    let (cluster, client) = connect().await;
    cluster.report(
        &[],
        async {
            let api: Api<ConfigMap> = Api::namespaced(client, "default");
            let created = api
                .create(
                    &PostParams::default(),
                    &configmap("kube-cm", &[], &[("a", "1")]),
                )
                .await?;
            let meta = &created.metadata;
            ensure!(
                meta.uid.as_deref().is_some_and(|u| !u.is_empty()),
                "no uid: {meta:?}"
            );
            ensure!(
                meta.resource_version.is_some() && meta.creation_timestamp.is_some(),
                "server fields missing: {meta:?}"
            );
            ensure!(
                meta.namespace.as_deref() == Some("default"),
                "namespace not set: {meta:?}"
            );

            let got = api.get("kube-cm").await?;
            ensure!(
                got.metadata.uid == created.metadata.uid && got.data == created.data,
                "get differs: {got:?}"
            );
            let list = api.list(&ListParams::default()).await?;
            ensure!(
                names(&list).contains(&"kube-cm".to_owned()),
                "list lacks kube-cm: {:?}",
                names(&list)
            );
            ensure!(
                list.metadata.resource_version.is_some(),
                "list has no resourceVersion"
            );

            let patch =
                serde_json::json!({"data": {"b": "2"}, "metadata": {"labels": {"patched": "yes"}}});
            let patched = api
                .patch("kube-cm", &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            let data = patched.data.clone().unwrap_or_default();
            ensure!(
                data.get("a").map(String::as_str) == Some("1")
                    && data.get("b").map(String::as_str) == Some("2"),
                "merge result: {data:?}"
            );
            ensure!(
                patched.metadata.resource_version != created.metadata.resource_version,
                "patch kept the resourceVersion"
            );

            // Replacing with the creation-time resourceVersion must conflict: it is stale now.
            let stale = api
                .replace("kube-cm", &PostParams::default(), &created)
                .await;
            expect_status(&status_of(stale)?, 409, "Conflict")?;

            api.delete("kube-cm", &DeleteParams::default()).await?;
            let status = status_of(api.get("kube-cm").await)?;
            expect_status(&status, 404, "NotFound")?;
            ensure!(
                status.message == "configmaps \"kube-cm\" not found",
                "message: {:?}",
                status.message
            );
            Ok(())
        }
        .await,
    );
}

/// The next watch event, or a failure after [`STEP`].
async fn next_event<S>(stream: &mut S) -> Result<WatchEvent<ConfigMap>>
where
    S: Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin,
{
    let item = tokio::time::timeout(STEP, stream.next())
        .await
        .context("no watch event in time")?;
    Ok(item.context("the watch ended")??)
}

#[tokio::test]
async fn configmap_watch_sees_added_modified_deleted() {
    let (cluster, client) = connect().await;
    cluster.report(
        &[],
        async {
            let api: Api<ConfigMap> = Api::namespaced(client, "default");
            api.create(&PostParams::default(), &configmap("unwatched", &[], &[]))
                .await?;
            let rv = api
                .list(&ListParams::default())
                .await?
                .metadata
                .resource_version
                .context("list has no resourceVersion")?;
            let params = WatchParams::default().labels("suite=watch").timeout(60);
            let mut events = api.watch(&params, &rv).await?.boxed();

            api.create(
                &PostParams::default(),
                &configmap("watched", &[("suite", "watch")], &[("a", "1")]),
            )
            .await?;
            // Objects outside the selector must not show up, so the next event is ours.
            api.create(
                &PostParams::default(),
                &configmap("also-unwatched", &[], &[]),
            )
            .await?;
            match next_event(&mut events).await? {
                WatchEvent::Added(cm) => ensure!(
                    cm.metadata.name.as_deref() == Some("watched"),
                    "added {cm:?}"
                ),
                other => anyhow::bail!("expected ADDED watched, got {other:?}"),
            }
            let patch = serde_json::json!({"data": {"a": "2"}});
            api.patch("watched", &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            match next_event(&mut events).await? {
                WatchEvent::Modified(cm) => {
                    let a = cm.data.unwrap_or_default().get("a").cloned();
                    ensure!(a.as_deref() == Some("2"), "modified object has a={a:?}");
                }
                other => anyhow::bail!("expected MODIFIED watched, got {other:?}"),
            }
            api.delete("watched", &DeleteParams::default()).await?;
            match next_event(&mut events).await? {
                WatchEvent::Deleted(cm) => ensure!(
                    cm.metadata.name.as_deref() == Some("watched"),
                    "deleted {cm:?}"
                ),
                other => anyhow::bail!("expected DELETED watched, got {other:?}"),
            }
            Ok(())
        }
        .await,
    );
}

#[tokio::test]
async fn list_with_label_selectors() {
    let (cluster, client) = connect().await;
    cluster.report(
        &[],
        async {
            let api: Api<ConfigMap> = Api::namespaced(client, "default");
            for (name, labels) in [
                ("sel-a", vec![("app", "a"), ("tier", "web")]),
                ("sel-b", vec![("app", "b")]),
                ("sel-none", vec![]),
            ] {
                api.create(&PostParams::default(), &configmap(name, &labels, &[]))
                    .await?;
            }
            let cases: [(&str, &[&str]); 7] = [
                ("app=a", &["sel-a"]),
                ("app!=a", &["sel-b", "sel-none"]),
                ("app in (a,b)", &["sel-a", "sel-b"]),
                ("app notin (a)", &["sel-b", "sel-none"]),
                ("app", &["sel-a", "sel-b"]),
                ("!app", &["sel-none"]),
                ("app=a,tier=web", &["sel-a"]),
            ];
            for (selector, want) in cases {
                let got = names(&api.list(&ListParams::default().labels(selector)).await?);
                ensure!(
                    got == want,
                    "selector {selector:?}: got {got:?}, want {want:?}"
                );
            }
            let got = names(
                &api.list(&ListParams::default().fields("metadata.name=sel-b"))
                    .await?,
            );
            ensure!(got == ["sel-b"], "field selector: got {got:?}");
            let bad = api.list(&ListParams::default().labels("app in (a")).await;
            expect_status(&status_of(bad)?, 400, "BadRequest")?;
            Ok(())
        }
        .await,
    );
}

#[tokio::test]
async fn errors_are_statuses_with_reasons() {
    let (cluster, client) = connect().await;
    cluster.report(
        &[],
        async {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
            api.create(&PostParams::default(), &configmap("twice", &[], &[]))
                .await?;
            let again = api
                .create(&PostParams::default(), &configmap("twice", &[], &[]))
                .await;
            let status = status_of(again)?;
            expect_status(&status, 409, "AlreadyExists")?;
            ensure!(
                status.message == "configmaps \"twice\" already exists",
                "message: {:?}",
                status.message
            );

            let invalid = api
                .create(&PostParams::default(), &configmap("Bad_Name", &[], &[]))
                .await;
            let status = status_of(invalid)?;
            expect_status(&status, 422, "Invalid")?;
            let details = status.details.context("Invalid without details")?;
            ensure!(
                details.kind == "ConfigMap" && details.name == "Bad_Name",
                "details: {details:?}"
            );
            ensure!(
                details
                    .causes
                    .iter()
                    .any(|c| c.field == "metadata.name" && c.reason == "FieldValueInvalid"),
                "no metadata.name cause: {:?}",
                details.causes
            );
            let missing: Api<ConfigMap> = Api::namespaced(client, "no-such-namespace");
            let status = status_of(missing.get("x").await)?;
            expect_status(&status, 404, "NotFound")?;
            Ok(())
        }
        .await,
    );
}

#[tokio::test]
async fn namespaces_deployments_and_dry_run() {
    let (cluster, client) = connect().await;
    cluster.report(
        &[],
        async {
            let namespaces: Api<Namespace> = Api::all(client.clone());
            let listed: Vec<String> = namespaces
                .list(&ListParams::default())
                .await?
                .items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect();
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                ensure!(
                    listed.iter().any(|n| n == ns),
                    "namespaces lack {ns}: {listed:?}"
                );
            }

            let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
            let manifest: Deployment = serde_json::from_value(serde_json::json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "kube-deploy"},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "kube-deploy"}},
                    "template": {
                        "metadata": {"labels": {"app": "kube-deploy"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
                    }
                }
            }))?;
            let dry = deployments
                .create(
                    &PostParams {
                        dry_run: true,
                        ..PostParams::default()
                    },
                    &manifest,
                )
                .await?;
            ensure!(
                dry.metadata.name.as_deref() == Some("kube-deploy"),
                "dry run answer: {dry:?}"
            );
            expect_status(
                &status_of(deployments.get("kube-deploy").await)?,
                404,
                "NotFound",
            )?;

            deployments
                .create(&PostParams::default(), &manifest)
                .await?;
            let got = deployments.get("kube-deploy").await?;
            let spec = got.spec.context("deployment without spec")?;
            ensure!(spec.replicas == Some(3), "replicas: {:?}", spec.replicas);
            ensure!(
                got.metadata.generation == Some(1),
                "generation: {:?}",
                got.metadata.generation
            );
            let strategy = spec.strategy.and_then(|s| s.type_);
            ensure!(
                strategy.as_deref() == Some("RollingUpdate"),
                "strategy not defaulted: {strategy:?}"
            );
            Ok(())
        }
        .await,
    );
}
