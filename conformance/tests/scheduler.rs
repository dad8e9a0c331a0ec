//! The scheduler against a live API server, with fake nodes: pods land on nodes that fit
//! (node selector, taints and tolerations, resource requests), a pod that fits nowhere gets
//! the `PodScheduled=False` condition and a `FailedScheduling` event counting the reasons, and
//! is placed once a node that fits appears. Inter-pod terms with `matchLabelKeys` are stored
//! with the pod's own label values merged in and scheduled by them.
//!
//! Needs `cargo build -p berth-apiserver -p berth-scheduler` first (see the crate docs).

use anyhow::{ensure, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::{Cluster, Kubectl, Output, KUBECTL_MINORS};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::future::Future;
use std::time::Duration;

/// How long any awaited state may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// What a test runs against: the cluster, an API client of it, the newest kubectl and the
/// default namespace's pods.
struct Env<'a> {
    cluster: &'a Cluster,
    client: kube::Client,
    k: Kubectl,
    pods: Api<Pod>,
}

impl Env<'_> {
    /// `kubectl get events` of the object named `object` with reason `reason`, printed
    /// with `-o output`.
    fn events(&self, object: &str, reason: &str, output: &str) -> Result<Output> {
        self.k
            .run(&[
                "get",
                "events",
                "--field-selector",
                &format!("involvedObject.name={object},reason={reason}"),
                "-o",
                output,
            ])?
            .ok()
    }

    /// `kubectl apply`s `manifest`, written to `<name>.yaml`.
    async fn apply(&self, name: &str, manifest: &str) -> Result<String> {
        self.cluster.apply(&self.k, name, manifest).await
    }
}

/// Starts a cluster with a scheduler (and a controller manager when `controllers`) and the
/// fake `nodes`, then runs `test`. A failure at any step panics with the error, the end of
/// the server log and the log of each component started.
async fn with_scheduler(
    controllers: bool,
    nodes: &[NodeSpec],
    test: impl AsyncFnOnce(&Env<'_>) -> Result<()>,
) {
    let cluster = Cluster::start().unwrap_or_else(|err| panic!("{err:#}"));
    let controller_manager = controllers.then(|| {
        cluster
            .start_controller_manager(&["--leader-elect=false"])
            .unwrap_or_else(|err| panic!("{err:#}"))
    });
    let scheduler = cluster
        .start_scheduler(&[])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let result = async {
        let client = cluster.client().await?;
        // Dropped as the test ends, so the node tasks stop before the components do.
        let _nodes = FakeNodes::start(client.clone(), nodes).await?;
        let env = Env {
            cluster: &cluster,
            k: cluster.kubectl(*KUBECTL_MINORS.end())?,
            pods: Api::namespaced(client.clone(), "default"),
            client,
        };
        test(&env).await
    }
    .await;
    let mut components = vec![&scheduler];
    components.extend(controller_manager.as_ref());
    cluster.report(&components, result);
}

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

/// A pod manifest named `name` with `spec_extra` (YAML lines indented for `spec:`) and one
/// container requesting `cpu`.
fn pod_manifest(name: &str, cpu: &str, spec_extra: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{spec_extra}  containers:
  - name: c
    image: busybox
    resources:
      requests:
        cpu: \"{cpu}\"
"
    )
}

async fn node_of(pods: &Api<Pod>, name: &str) -> Result<String> {
    eventually(&format!("pod {name} bound"), || async {
        let pod = pods.get(name).await?;
        Ok(pod.spec.and_then(|s| s.node_name).filter(|n| !n.is_empty()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pods_go_to_fitting_nodes_and_unfit_pods_are_explained() {
    let nodes = [
        NodeSpec::new("small").cpu("1"),
        NodeSpec::new("big").cpu("4").label("disk", "ssd"),
        NodeSpec::new("infra")
            .cpu("4")
            .taint("dedicated", "infra", "NoSchedule"),
    ];
    with_scheduler(false, &nodes, async |env| {
        let Env {
            client, k, pods, ..
        } = env;

        // The node selector leaves one node.
        env.apply(
            "selected",
            &pod_manifest("selected", "100m", "  nodeSelector:\n    disk: ssd\n"),
        )
        .await?;
        ensure!(node_of(pods, "selected").await? == "big");

        // Two CPUs fit only on the big node: the small one is too small, the other tainted.
        env.apply("hungry", &pod_manifest("hungry", "2", ""))
            .await?;
        ensure!(node_of(pods, "hungry").await? == "big");

        // A toleration opens the tainted node; the selector picks it.
        env.apply(
            "tolerant",
            &pod_manifest(
                "tolerant",
                "100m",
                concat!(
                    "  nodeSelector:\n    kubernetes.io/hostname: infra\n",
                    "  tolerations:\n  - key: dedicated\n    operator: Equal\n",
                    "    value: infra\n    effect: NoSchedule\n",
                ),
            ),
        )
        .await?;
        ensure!(node_of(pods, "tolerant").await? == "infra");

        // The fake nodes run what was bound to them, so kubectl sees the pods ready.
        k.run(&[
            "wait",
            "--for=condition=Ready",
            "pod/selected",
            "pod/hungry",
            "pod/tolerant",
            "--timeout=30s",
        ])?
        .ok()?;
        let out = env.events("hungry", "Scheduled", "jsonpath={.items[*].message}")?;
        ensure!(
            out.stdout.trim() == "Successfully assigned default/hungry to big",
            "Scheduled event: {out}"
        );

        // Nothing has eight CPUs: the pod stays pending and says why, counting per node.
        env.apply("huge", &pod_manifest("huge", "8", "")).await?;
        let want = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, \
                    2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not \
                    helpful for scheduling, 2 No preemption victims found for incoming pod..";
        let condition = eventually("PodScheduled=False on the huge pod", || async {
            let pod = pods.get("huge").await?;
            Ok(pod
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False"))
        })
        .await?;
        ensure!(
            condition.reason.as_deref() == Some("Unschedulable")
                && condition.message.as_deref() == Some(want),
            "{condition:?}"
        );
        let out = env.events(
            "huge",
            "FailedScheduling",
            "jsonpath={.items[0].type} {.items[0].message}",
        )?;
        ensure!(
            out.stdout.trim() == format!("Warning {want}"),
            "FailedScheduling event: {out}"
        );
        // Nothing changed in the cluster, so the pod is not tried again (its own condition,
        // written by the scheduler, is no reason to).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let out = env.events("huge", "FailedScheduling", "name")?;
        ensure!(
            out.stdout.lines().count() == 1,
            "attempts without a cluster change: {out}"
        );
        let out = k.run(&["describe", "pod", "huge"])?.ok()?;
        out.stdout_has("FailedScheduling")?;
        out.stdout_has("Insufficient cpu")?;
        ensure!(
            pods.get("huge")
                .await?
                .spec
                .and_then(|s| s.node_name)
                .is_none(),
            "the huge pod was bound"
        );

        // A node that fits appears: the waiting pod is placed without being touched.
        let more = FakeNodes::start(client.clone(), &[NodeSpec::new("giant").cpu("16")]).await?;
        ensure!(node_of(pods, "huge").await? == "giant");
        drop(more);
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_pods_never_overcommits_a_node() {
    // Two nodes with room for three 1-CPU pods each (and a little left over).
    let nodes = [
        NodeSpec::new("a").cpu("3500m"),
        NodeSpec::new("b").cpu("3500m"),
    ];
    with_scheduler(false, &nodes, async |env| {
        let Env { pods, .. } = env;
        let mut all = String::new();
        for i in 0..8 {
            all.push_str(&pod_manifest(&format!("p{i}"), "1", ""));
            all.push_str("---\n");
        }
        env.apply("burst", &all).await?;
        let (bound, pending) = eventually("six pods bound, two refused", || async {
            let list = pods.list(&Default::default()).await?.items;
            let bound: Vec<String> = list
                .iter()
                .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
                .collect();
            let refused = list
                .iter()
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| {
                            c.iter()
                                .any(|c| c.type_ == "PodScheduled" && c.status == "False")
                        })
                })
                .count();
            Ok((bound.len() == 6 && refused == 2).then_some((bound, refused)))
        })
        .await?;
        for node in ["a", "b"] {
            let n = bound.iter().filter(|b| *b == node).count();
            ensure!(n == 3, "node {node} got {n} one-CPU pods: {bound:?}");
        }
        ensure!(pending == 2);
        Ok(())
    })
    .await;
}

/// The zone label a node carries, from the fake node list.
fn zone_of(zones: &[(&str, &str)], node: &str) -> String {
    zones
        .iter()
        .find(|(n, _)| *n == node)
        .map(|(_, z)| (*z).to_owned())
        .unwrap_or_default()
}

async fn bound_nodes(pods: &Api<Pod>, selector: &str, want: usize) -> Result<Vec<String>> {
    eventually(&format!("{want} pods with {selector} bound"), || async {
        let lp = kube::api::ListParams::default().labels(selector);
        let nodes: Vec<String> = pods
            .list(&lp)
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.spec.and_then(|s| s.node_name))
            .collect();
        Ok((nodes.len() == want).then_some(nodes))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anti_affinity_spreads_a_deployment_and_topology_spread_balances_zones() {
    let zones = [("n1", "z1"), ("n2", "z1"), ("n3", "z2")];
    let specs: Vec<NodeSpec> = zones
        .iter()
        .map(|(n, z)| NodeSpec::new(n).label("topology.kubernetes.io/zone", z))
        .collect();
    with_scheduler(true, &specs, async |env| {
        let Env { k, pods, .. } = env;

        // Required anti-affinity on the host name: one replica per node.
        let deployment = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: lonely
spec:
  replicas: 3
  selector:
    matchLabels:
      app: lonely
  template:
    metadata:
      labels:
        app: lonely
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels:
                app: lonely
            topologyKey: kubernetes.io/hostname
      containers:
      - name: c
        image: busybox
";
        env.apply("lonely", deployment).await?;
        let mut placed = bound_nodes(pods, "app=lonely", 3).await?;
        placed.sort();
        ensure!(placed == ["n1", "n2", "n3"], "replicas on {placed:?}");

        // A fourth replica has nowhere to go and says why, as Kubernetes words it.
        k.run(&["scale", "deployment/lonely", "--replicas=4"])?
            .ok()?;
        let want = "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. \
                    preemption: 0/3 nodes are available: 3 No preemption victims found for \
                    incoming pod..";
        let pending = eventually("the fourth replica refused", || async {
            let lp = kube::api::ListParams::default().labels("app=lonely");
            Ok(pods.list(&lp).await?.items.into_iter().find(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| {
                        c.iter().any(|c| {
                            c.type_ == "PodScheduled"
                                && c.status == "False"
                                && c.message.as_deref() == Some(want)
                        })
                    })
            }))
        })
        .await?;
        let name = pending.metadata.name.clone().unwrap_or_default();
        let out = env.events(&name, "FailedScheduling", "jsonpath={.items[0].message}")?;
        out.stdout_has("didn't match pod anti-affinity rules")?;
        k.run(&[
            "delete",
            "deployment/lonely",
            "--cascade=foreground",
            "--wait=true",
        ])?
        .ok()?;
        eventually("the lonely pods gone", || async {
            let lp = kube::api::ListParams::default().labels("app=lonely");
            Ok(pods.list(&lp).await?.items.is_empty().then_some(()))
        })
        .await?;

        // DoNotSchedule across zones with maxSkew 1: zone z1 has two nodes, z2 one, yet four
        // replicas split two and two.
        let spread = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: spread
spec:
  replicas: 4
  selector:
    matchLabels:
      app: spread
  template:
    metadata:
      labels:
        app: spread
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector:
          matchLabels:
            app: spread
      containers:
      - name: c
        image: busybox
";
        env.apply("spread", spread).await?;
        let placed = bound_nodes(pods, "app=spread", 4).await?;
        let z2 = placed.iter().filter(|n| zone_of(&zones, n) == "z2").count();
        ensure!(z2 == 2, "zones unbalanced: {placed:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_high_priority_pod_preempts_a_low_priority_one() {
    with_scheduler(false, &[NodeSpec::new("full").cpu("1")], async |env| {
        let Env { k, pods, .. } = env;
        let classes = "apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: low
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
";
        env.apply("classes", classes).await?;
        env.apply(
            "low",
            &pod_manifest("low", "800m", "  priorityClassName: low\n"),
        )
        .await?;
        ensure!(node_of(pods, "low").await? == "full");
        let low_uid = pods.get("low").await?.metadata.uid.unwrap_or_default();

        // A pod of equal priority cannot preempt: it waits.
        env.apply(
            "peer",
            &pod_manifest("peer", "800m", "  priorityClassName: low\n"),
        )
        .await?;
        eventually("the peer refused", || async {
            let p = pods.get("peer").await?;
            Ok(p.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| {
                    c.type_ == "PodScheduled"
                        && c.message.as_deref().is_some_and(|m| {
                            m.contains("No preemption victims found for incoming pod")
                        })
                })
                .then_some(()))
        })
        .await?;
        k.run(&["delete", "pod", "peer", "--wait=true"])?.ok()?;

        env.apply(
            "high",
            &pod_manifest("high", "800m", "  priorityClassName: high\n"),
        )
        .await?;
        let high = pods.get("high").await?;
        ensure!(
            high.spec.as_ref().and_then(|s| s.priority) == Some(1000),
            "priority admission: {:?}",
            high.spec.as_ref().and_then(|s| s.priority)
        );
        let high_uid = high.metadata.uid.unwrap_or_default();
        ensure!(node_of(pods, "high").await? == "full");
        eventually("the low pod gone", || async {
            Ok(pods
                .get_opt("low")
                .await?
                .is_none_or(|p| p.metadata.uid.as_deref() != Some(low_uid.as_str()))
                .then_some(()))
        })
        .await?;
        let out = env.events(
            "low",
            "Preempted",
            "jsonpath={.items[0].type} {.items[0].message}",
        )?;
        ensure!(
            out.stdout.trim() == format!("Normal Preempted by pod {high_uid} on node full"),
            "Preempted event: {out}"
        );
        Ok(())
    })
    .await;
}

/// A pod labelled `app: web` and `version: {version}` requesting `cpu`, with `spec_extra`
/// merged into its spec.
fn web_pod(name: &str, version: &str, cpu: &str, spec_extra: serde_json::Value) -> Result<Pod> {
    let mut pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", "version": version}},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "resources": {"requests": {"cpu": cpu}}}]},
    });
    if let (Some(spec), Some(extra)) = (pod["spec"].as_object_mut(), spec_extra.as_object()) {
        spec.extend(extra.clone());
    }
    Ok(serde_json::from_value(pod)?)
}

/// One required inter-pod term of `kind` (`podAffinity` or `podAntiAffinity`) over the
/// `app: web` pods of the node, narrowed by `matchLabelKeys: [version]`.
fn web_term(kind: &str) -> serde_json::Value {
    serde_json::json!({"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "web"}},
        "matchLabelKeys": ["version"],
        "topologyKey": "kubernetes.io/hostname",
    }]}}})
}

/// The stored required term of `kind` of pod `name`, as a GET shows it.
async fn stored_term(pods: &Api<Pod>, name: &str, kind: &str) -> Result<serde_json::Value> {
    let pod = serde_json::to_value(pods.get(name).await?)?;
    let pointer = format!("/spec/affinity/{kind}/requiredDuringSchedulingIgnoredDuringExecution/0");
    pod.pointer(&pointer)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("pod {name} has no {kind} term: {pod}"))
}

/// Checks that pod `name`'s first required `kind` term was stored with `version In
/// (<version>)` merged into its `app: web` selector and its `matchLabelKeys` kept.
async fn expect_merged_term(pods: &Api<Pod>, name: &str, kind: &str, version: &str) -> Result<()> {
    let term = stored_term(pods, name, kind).await?;
    let want = serde_json::json!({
        "labelSelector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "version", "operator": "In", "values": [version]}],
        },
        "matchLabelKeys": ["version"],
        "topologyKey": "kubernetes.io/hostname",
    });
    ensure!(term == want, "stored {kind} term of {name}: {term}");
    Ok(())
}

/// `matchLabelKeys` of podAffinity and podAntiAffinity terms is merged into the term's
/// selector as the pod is created (a GET shows `version In (<the pod's own version>)` beside
/// the written selector, and the key list kept), and the scheduler places the pod by the
/// merged selector: a pod of the new version keeps off the node of its own version only, and
/// a pod of the old version follows the pods of its own version only. With the selectors as
/// written (`app: web` alone, on both nodes) the first would fit nowhere and the second
/// would go to the emptier node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn match_label_keys_are_merged_at_creation_and_scheduled_by() {
    let nodes = [NodeSpec::new("n1"), NodeSpec::new("n2")];
    with_scheduler(false, &nodes, async |env| {
        let Env { pods, .. } = env;
        let post = kube::api::PostParams::default();
        let on = |node: &str| serde_json::json!({"nodeSelector": {"kubernetes.io/hostname": node}});

        // Version v1 on n1 (the busier node), v2 on n2.
        pods.create(&post, &web_pod("web-v1", "v1", "2", on("n1"))?)
            .await?;
        pods.create(&post, &web_pod("web-v2", "v2", "100m", on("n2"))?)
            .await?;
        ensure!(node_of(pods, "web-v1").await? == "n1");
        ensure!(node_of(pods, "web-v2").await? == "n2");

        // A v2 pod away from the web pods of its version.
        let apart = web_pod("apart-v2", "v2", "100m", web_term("podAntiAffinity"))?;
        pods.create(&post, &apart).await?;
        expect_merged_term(pods, "apart-v2", "podAntiAffinity", "v2").await?;
        ensure!(node_of(pods, "apart-v2").await? == "n1");

        // A v1 pod with the web pods of its version (and not kept off n1 by apart-v2, whose
        // stored selector names v2 only).
        let near = web_pod("near-v1", "v1", "100m", web_term("podAffinity"))?;
        pods.create(&post, &near).await?;
        expect_merged_term(pods, "near-v1", "podAffinity", "v1").await?;
        ensure!(node_of(pods, "near-v1").await? == "n1");
        Ok(())
    })
    .await;
}
