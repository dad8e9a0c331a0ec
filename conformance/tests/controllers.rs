//! The controller manager against a live API server: service accounts and the root CA
//! ConfigMap in new namespaces, namespace deletion, ReplicaSets, and leader election between
//! two copies.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager` first (see the crate
//! docs).

use anyhow::{bail, ensure, Context, Result};
use berth_conformance::{
    across_kubectls, cluster_with_controllers, owned_pods, Cluster, ControllerManager,
    KUBECTL_MINORS,
};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, NamespaceCondition, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How long any awaited state may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `probe` until it yields a value, failing after [`STEP`].
async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

fn cluster_ca(cluster: &Cluster) -> Result<String> {
    let path = cluster.data_dir().join("pki").join("ca.crt");
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

#[test]
fn a_new_namespace_gets_a_default_serviceaccount_and_the_root_ca() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = (|| -> Result<()> {
        let ca = cluster_ca(&cluster)?;
        let kubectls = cluster.kubectls(KUBECTL_MINORS)?;
        across_kubectls(&kubectls, |k| {
            let ns = k.name("sa");
            k.run(&["create", "namespace", &ns])?.ok()?;
            k.run_until(
                &["get", "serviceaccount", "default", "-n", &ns, "-o", "name"],
                STEP,
                |out| out.trim() == "serviceaccount/default",
            )?;
            k.run_until(
                &[
                    "get",
                    "configmap",
                    "kube-root-ca.crt",
                    "-n",
                    &ns,
                    "-o",
                    "jsonpath={.data.ca\\.crt}",
                ],
                STEP,
                |out| out == ca,
            )?;
            Ok(())
        })
    })();
    cluster.report(&[&cm], result);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_serviceaccounts_and_edited_root_ca_maps_are_restored() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let ca = cluster_ca(&cluster)?;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("restore".into());
        namespaces.create(&PostParams::default(), &ns).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "restore");
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "restore");

        let first = eventually("default serviceaccount", || async {
            Ok(accounts.get_opt("default").await?)
        })
        .await?;
        accounts.delete("default", &DeleteParams::default()).await?;
        eventually("default serviceaccount created again", || async {
            Ok(accounts
                .get_opt("default")
                .await?
                .filter(|sa| sa.metadata.uid != first.metadata.uid))
        })
        .await?;

        eventually("kube-root-ca.crt", || async {
            Ok(maps.get_opt("kube-root-ca.crt").await?)
        })
        .await?;
        let edit = serde_json::json!({"data": {"ca.crt": "not a CA", "extra": "x"}});
        maps.patch(
            "kube-root-ca.crt",
            &PatchParams::default(),
            &Patch::Merge(&edit),
        )
        .await?;
        let wanted = BTreeMap::from([("ca.crt".to_owned(), ca.clone())]);
        eventually("kube-root-ca.crt put back", || async {
            let cm = maps.get("kube-root-ca.crt").await?;
            Ok((cm.data.as_ref() == Some(&wanted)).then_some(()))
        })
        .await?;
        maps.delete("kube-root-ca.crt", &DeleteParams::default())
            .await?;
        eventually("kube-root-ca.crt created again", || async {
            let cm = maps.get_opt("kube-root-ca.crt").await?;
            Ok(cm.filter(|cm| cm.data.as_ref() == Some(&wanted)))
        })
        .await?;
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}

#[test]
fn deleting_a_namespace_removes_its_content_and_then_the_namespace() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = (|| -> Result<()> {
        let kubectls = cluster.kubectls(KUBECTL_MINORS)?;
        across_kubectls(&kubectls, |k| {
            let ns = k.name("gone");
            k.run(&["create", "namespace", &ns])?.ok()?;
            k.run(&["create", "configmap", "c", "-n", &ns, "--from-literal=a=b"])?
                .ok()?;
            k.run(&[
                "create",
                "secret",
                "generic",
                "s",
                "-n",
                &ns,
                "--from-literal=a=b",
            ])?
            .ok()?;
            k.run(&["run", "p", "--image=busybox", "-n", &ns])?.ok()?;
            k.run(&["create", "deployment", "d", "--image=busybox", "-n", &ns])?
                .ok()?;
            // kubectl waits until the namespace is gone.
            k.run(&["delete", "namespace", &ns])?.ok()?;
            let out = k.run(&["get", "namespace", &ns])?.failed()?;
            out.stderr_has("NotFound")?;
            // The name is free again and the new namespace starts empty.
            k.run(&["create", "namespace", &ns])?.ok()?;
            for kind in ["pods", "deployments", "secrets"] {
                let out = k.run(&["get", kind, "-n", &ns, "-o", "name"])?.ok()?;
                ensure!(
                    out.stdout.trim().is_empty(),
                    "{kind} survived in {ns}: {}",
                    out.stdout
                );
            }
            let out = k.run(&["get", "configmap", "c", "-n", &ns])?.failed()?;
            out.stderr_has("NotFound")?;
            Ok(())
        })
    })();
    cluster.report(&[&cm], result);
}

fn find<'a>(conditions: &'a [NamespaceCondition], kind: &str) -> Option<&'a NamespaceCondition> {
    conditions.iter().find(|c| c.type_ == kind)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_namespace_held_by_a_finalizer_reports_it_and_goes_when_released() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let client = cluster.client().await?;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("held".into());
        namespaces.create(&PostParams::default(), &ns).await?;
        let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "held");
        let mut kept = ConfigMap::default();
        kept.metadata.name = Some("kept".into());
        kept.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        maps.create(&PostParams::default(), &kept).await?;

        namespaces.delete("held", &DeleteParams::default()).await?;
        let terminating = namespaces.get("held").await?;
        ensure!(
            terminating.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating"),
            "phase after delete: {:?}",
            terminating.status
        );
        let conditions = eventually("conditions naming the held configmap", || async {
            let ns = namespaces.get("held").await?;
            let conditions = ns.status.and_then(|s| s.conditions).unwrap_or_default();
            let remaining = find(&conditions, "NamespaceContentRemaining")
                .is_some_and(|c| c.status == "True");
            Ok(remaining.then_some(conditions))
        })
        .await?;
        let remaining = find(&conditions, "NamespaceContentRemaining").context("no condition")?;
        ensure!(
            remaining.reason.as_deref() == Some("SomeResourcesRemain")
                && remaining.message.as_deref()
                    == Some("Some resources are remaining: configmaps. has 1 resource instances"),
            "{remaining:?}"
        );
        let finalizers =
            find(&conditions, "NamespaceFinalizersRemaining").context("no finalizer condition")?;
        ensure!(
            finalizers.status == "True"
                && finalizers.reason.as_deref() == Some("SomeFinalizersRemain")
                && finalizers.message.as_deref()
                    == Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"),
            "{finalizers:?}"
        );
        let discovery = find(&conditions, "NamespaceDeletionDiscoveryFailure")
            .context("no discovery condition")?;
        ensure!(discovery.status == "False", "{discovery:?}");
        ensure!(
            namespaces
                .get("held")
                .await?
                .spec
                .and_then(|s| s.finalizers)
                .is_some_and(|f| f == ["kubernetes"]),
            "the kubernetes finalizer went while content remained"
        );

        // New content is refused while the namespace terminates.
        let mut late = ConfigMap::default();
        late.metadata.name = Some("late".into());
        match maps.create(&PostParams::default(), &late).await {
            Err(kube::Error::Api(s)) if s.code == 403 => {}
            other => bail!("create in a terminating namespace: {other:?}"),
        }

        let release = serde_json::json!({"metadata": {"finalizers": null}});
        maps.patch("kept", &PatchParams::default(), &Patch::Merge(&release))
            .await?;
        eventually("the namespace to go", || async {
            Ok(namespaces.get_opt("held").await?.is_none().then_some(()))
        })
        .await?;
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}

/// The Lease's current holder, if any.
async fn holder(leases: &Api<Lease>) -> Result<Option<(String, i32)>> {
    let Some(lease) = leases.get_opt("kube-controller-manager").await? else {
        return Ok(None);
    };
    let spec = lease.spec.unwrap_or_default();
    Ok(spec
        .holder_identity
        .filter(|h| !h.is_empty())
        .map(|h| (h, spec.lease_transitions.unwrap_or(0))))
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_controller_managers_one_leads_and_the_other_takes_over() {
    let cluster = Cluster::start().unwrap_or_else(|err| panic!("{err:#}"));
    // Short enough for a quick takeover, long enough that a renewal delayed by a loaded
    // machine (a CI runner building in parallel) does not cost the leader its Lease.
    let timing = [
        "--leader-elect",
        "--leader-elect-lease-duration=6s",
        "--leader-elect-renew-deadline=4s",
        "--leader-elect-retry-period=500ms",
    ];
    let mut first = cluster
        .start_controller_manager(&timing)
        .unwrap_or_else(|err| panic!("{err:#}"));
    let mut second: Option<ControllerManager> = None;
    let result = async {
        let client = cluster.client().await?;
        let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
        let (leader, _) = eventually("a holder of the Lease", || holder(&leases)).await?;
        // The holder logs its identity just after its write is acknowledged.
        eventually(
            "the only running copy to name itself the holder",
            || async { Ok(first.log().contains(&leader).then_some(())) },
        )
        .await
        .with_context(|| format!("the Lease names {leader}"))?;
        let follower = second.insert(cluster.start_controller_manager(&timing)?);
        eventually("the second copy to wait", || async {
            Ok(follower
                .log()
                .contains("another candidate holds the lease")
                .then_some(()))
        })
        .await?;
        ensure!(
            !follower.log().contains("starting controller="),
            "the follower started controllers while the other copy leads"
        );
        ensure!(
            holder(&leases).await?.map(|(h, _)| h).as_deref() == Some(leader.as_str()),
            "the Lease changed hands while its holder was alive"
        );

        // The leader dies without releasing; the follower takes over once the Lease expires.
        first.kill();
        let (new_leader, transitions) = eventually("a new holder", || async {
            Ok(holder(&leases).await?.filter(|(h, _)| *h != leader))
        })
        .await?;
        eventually("the surviving copy to name itself the holder", || async {
            Ok(follower.log().contains(&new_leader).then_some(()))
        })
        .await
        .with_context(|| format!("the Lease names {new_leader}"))?;
        ensure!(transitions >= 1, "leaseTransitions is {transitions}");

        // The new leader runs the controllers.
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("after-failover".into());
        namespaces.create(&PostParams::default(), &ns).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "after-failover");
        eventually("a default serviceaccount from the new leader", || async {
            Ok(accounts.get_opt("default").await?)
        })
        .await?;

        // A clean stop gives the Lease up at once.
        let status = follower.terminate(STEP)?;
        ensure!(
            status.success(),
            "the controller manager exited with {status}"
        );
        ensure!(
            holder(&leases).await?.is_none(),
            "the Lease is still held after a clean stop"
        );
        Ok(())
    }
    .await;
    let mut cms = vec![&first];
    cms.extend(second.as_ref());
    cluster.report(&cms, result);
}

const REPLICASET: &str = "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: busybox
";

#[tokio::test(flavor = "multi_thread")]
async fn a_replicaset_keeps_its_pod_count_adopts_and_releases() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let result = async {
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        cluster.apply(&k, "rs", REPLICASET).await?;
        let client = cluster.client().await?;
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let uid = sets.get("web").await?.metadata.uid.context("no uid")?;

        let three = eventually("three pods", || async {
            let owned = owned_pods(&pods, &uid).await?;
            Ok((owned.len() == 3).then_some(owned))
        })
        .await?;
        for p in &three {
            ensure!(
                p.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("web-")),
                "pod name {:?}",
                p.metadata.name
            );
        }
        eventually("status.replicas 3 at the current generation", || async {
            let rs = sets.get("web").await?;
            let status = rs.status.unwrap_or_default();
            Ok((status.replicas == 3
                && status.fully_labeled_replicas == Some(3)
                && status.observed_generation == rs.metadata.generation)
                .then_some(()))
        })
        .await?;

        // A deleted pod is replaced.
        let victim = three[0].metadata.name.clone().context("no name")?;
        pods.delete(&victim, &DeleteParams::default()).await?;
        eventually("a replacement pod", || async {
            let owned = owned_pods(&pods, &uid).await?;
            let replaced = owned.len() == 3
                && owned
                    .iter()
                    .all(|p| p.metadata.name.as_deref() != Some(victim.as_str()));
            Ok(replaced.then_some(()))
        })
        .await?;

        // Scaling down deletes pods.
        k.run(&["scale", "replicaset", "web", "--replicas=1"])?
            .ok()?;
        eventually("one pod after scaling down", || async {
            Ok((owned_pods(&pods, &uid).await?.len() == 1).then_some(()))
        })
        .await?;

        // A matching orphan is adopted (and, being one too many, one pod goes).
        let mut orphan = Pod::default();
        orphan.metadata.name = Some("orphan".into());
        orphan.metadata.labels = Some(BTreeMap::from([("app".to_owned(), "web".to_owned())]));
        orphan.spec = three[0].spec.clone();
        if let Some(spec) = orphan.spec.as_mut() {
            spec.node_name = None;
        }
        pods.create(&PostParams::default(), &orphan).await?;
        eventually("the orphan adopted and the count back at one", || async {
            let owned = owned_pods(&pods, &uid).await?;
            let all = pods.list(&ListParams::default()).await?.items;
            let live = all
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .count();
            Ok((owned.len() == 1 && live == 1).then_some(()))
        })
        .await?;

        // A pod whose labels stop matching is released and replaced.
        let kept = owned_pods(&pods, &uid).await?;
        let kept = kept[0].metadata.name.clone().context("no name")?;
        let relabel = serde_json::json!({"metadata": {"labels": {"app": "other"}}});
        pods.patch(&kept, &PatchParams::default(), &Patch::Merge(&relabel))
            .await?;
        eventually("the relabelled pod released and replaced", || async {
            let released = pods.get(&kept).await?;
            let free = released
                .metadata
                .owner_references
                .iter()
                .flatten()
                .all(|o| o.uid != uid);
            let owned = owned_pods(&pods, &uid).await?;
            Ok(
                (free && owned.len() == 1 && owned[0].metadata.name.as_deref() != Some(&kept))
                    .then_some(()),
            )
        })
        .await?;

        // The controller's actions are recorded as Events on the ReplicaSet.
        let out = k
            .run(&[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=web",
                "-o",
                "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}",
            ])?
            .ok()?;
        ensure!(
            out.stdout.lines().any(|l| l == "SuccessfulCreate")
                && out.stdout.lines().any(|l| l == "SuccessfulDelete"),
            "events: {}",
            out.stdout
        );
        Ok(())
    }
    .await;
    cluster.report(&[&cm], result);
}
