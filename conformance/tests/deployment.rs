//! The deployment controller against a live API server, with the scheduler and fake nodes
//! that report bound pods Running and Ready: `kubectl create deployment`, `set image`,
//! `rollout status|history|undo|pause|resume|restart`, `scale`; surge limits during a rolling
//! update; Recreate; the progress deadline; revision history cleanup; cascading deletion.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager -p berth-scheduler`
//! first (see the crate docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::{
    across_kubectls, cluster_with_controllers, kubectl_ok, Cluster, ControllerManager, Kubectl,
    KUBECTL_MINORS,
};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use std::future::Future;
use std::time::{Duration, Instant};

/// How long any awaited state may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

const REVISION: &str = "deployment.kubernetes.io/revision";

/// A cluster with controllers, a scheduler and three fake nodes.
struct Env {
    // Dropped first: the node tasks stop before the cluster does.
    nodes: Option<FakeNodes>,
    cm: ControllerManager,
    scheduler: ControllerManager,
    cluster: Cluster,
}

impl Env {
    async fn start() -> Env {
        let (cluster, cm) = cluster_with_controllers(&[]);
        let scheduler = cluster
            .start_scheduler(&[])
            .unwrap_or_else(|err| panic!("{err:#}"));
        let client = cluster
            .client()
            .await
            .unwrap_or_else(|err| panic!("{err:#}"));
        let specs: Vec<NodeSpec> = (0..3)
            .map(|i| NodeSpec::new(&format!("node-{i}")))
            .collect();
        let nodes = FakeNodes::start(client, &specs)
            .await
            .unwrap_or_else(|err| panic!("{err:#}"));
        Env {
            nodes: Some(nodes),
            cm,
            scheduler,
            cluster,
        }
    }

    fn report(&self, result: Result<()>) {
        self.cluster.report(&[&self.cm, &self.scheduler], result);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.nodes.take();
    }
}

/// Starts an [`Env`], runs `test` in it and fails with the logs if the test fails.
async fn with_env(test: impl AsyncFnOnce(&Env) -> Result<()>) {
    let env = Env::start().await;
    let result = test(&env).await;
    env.report(result);
}

/// Waits (up to a minute) for the rollout of Deployment `name` to finish; returns what
/// `kubectl rollout status` printed.
async fn rolled_out(k: &Kubectl, name: &str) -> Result<String> {
    kubectl_ok(
        k,
        &[
            "rollout",
            "status",
            &format!("deployment/{name}"),
            "--timeout=60s",
        ],
    )
    .await
}

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

/// Runs kubectl on a blocking thread so the fake nodes keep running meanwhile.
async fn kubectl(k: &Kubectl, args: &[&str]) -> Result<berth_conformance::Output> {
    let k = k.clone();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        k.run(&args)
    })
    .await?
}

/// The ReplicaSets a Deployment controls, oldest revision first.
async fn replicasets(sets: &Api<ReplicaSet>, d: &Deployment) -> Result<Vec<ReplicaSet>> {
    let uid = d.metadata.uid.clone().context("no uid")?;
    let mut owned: Vec<ReplicaSet> = sets
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .collect();
    owned.sort_by_key(revision);
    Ok(owned)
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn image(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn size(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn annotation(rs: &ReplicaSet, key: &str) -> String {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_drives_a_deployment_through_its_life() {
    with_env(async |env| {
        let client = env.cluster.client().await?;
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");

        kubectl_ok(
            &k,
            &[
                "create",
                "deployment",
                "web",
                "--image=busybox:1",
                "--replicas=3",
            ],
        )
        .await?;
        let out = rolled_out(&k, "web").await?;
        ensure!(
            out.contains("deployment \"web\" successfully rolled out"),
            "{out}"
        );
        let d = deployments.get("web").await?;
        let rss = replicasets(&sets, &d).await?;
        ensure!(rss.len() == 1, "{} replicasets", rss.len());
        let first = &rss[0];
        let hash = first
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"))
            .cloned()
            .context("no pod-template-hash label")?;
        ensure!(
            first.metadata.name.as_deref() == Some(&format!("web-{hash}")),
            "name {:?}",
            first.metadata.name
        );
        ensure!(
            first
                .spec
                .as_ref()
                .and_then(|s| s.selector.match_labels.as_ref())
                .and_then(|m| m.get("pod-template-hash"))
                == Some(&hash),
            "the selector lacks the hash"
        );
        ensure!(revision(first) == 1, "revision {}", revision(first));
        ensure!(annotation(first, "deployment.kubernetes.io/desired-replicas") == "3");
        // 25% of 3 rounds up to a surge of 1.
        ensure!(annotation(first, "deployment.kubernetes.io/max-replicas") == "4");
        let status = d.status.clone().unwrap_or_default();
        ensure!(
            status.replicas == Some(3)
                && status.updated_replicas == Some(3)
                && status.ready_replicas == Some(3)
                && status.available_replicas == Some(3)
                && status.unavailable_replicas.is_none()
                && status.observed_generation == d.metadata.generation,
            "{status:?}"
        );
        let conditions = status.conditions.unwrap_or_default();
        let find = |t: &str| conditions.iter().find(|c| c.type_ == t).cloned();
        let available = find("Available").context("no Available condition")?;
        ensure!(
            available.status == "True"
                && available.reason.as_deref() == Some("MinimumReplicasAvailable"),
            "{available:?}"
        );
        let progressing = find("Progressing").context("no Progressing condition")?;
        ensure!(
            progressing.status == "True"
                && progressing.reason.as_deref() == Some("NewReplicaSetAvailable")
                && progressing.message.as_deref()
                    == Some(&format!(
                        "ReplicaSet \"web-{hash}\" has successfully progressed."
                    )),
            "{progressing:?}"
        );

        // A new image: a second ReplicaSet takes over.
        kubectl_ok(&k, &["set", "image", "deployment/web", "busybox=busybox:2"]).await?;
        rolled_out(&k, "web").await?;
        let d = deployments.get("web").await?;
        let rss = replicasets(&sets, &d).await?;
        ensure!(rss.len() == 2, "{} replicasets", rss.len());
        ensure!(
            size(&rss[0]) == 0 && size(&rss[1]) == 3,
            "sizes {} {}",
            size(&rss[0]),
            size(&rss[1])
        );
        ensure!(image(&rss[1]) == "busybox:2" && revision(&rss[1]) == 2);
        let history = kubectl_ok(&k, &["rollout", "history", "deployment/web"]).await?;
        let revisions: Vec<&str> = history
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
            .collect();
        ensure!(revisions == ["1", "2"], "history:\n{history}");

        // Undo: the first template comes back as revision 3 on its old ReplicaSet.
        kubectl_ok(&k, &["rollout", "undo", "deployment/web"]).await?;
        rolled_out(&k, "web").await?;
        let d = deployments.get("web").await?;
        let rss = replicasets(&sets, &d).await?;
        ensure!(rss.len() == 2, "{} replicasets after undo", rss.len());
        let back = rss.last().context("none")?;
        ensure!(
            back.metadata.name.as_deref() == Some(&format!("web-{hash}"))
                && revision(back) == 3
                && annotation(back, "deployment.kubernetes.io/revision-history") == "1"
                && image(back) == "busybox:1"
                && size(back) == 3,
            "after undo: {:?}",
            back.metadata
        );
        ensure!(
            d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .map(String::as_str)
                == Some("3"),
            "deployment revision {:?}",
            d.metadata.annotations
        );
        let out = kubectl_ok(
            &k,
            &["rollout", "history", "deployment/web", "--revision=3"],
        )
        .await?;
        ensure!(out.contains("busybox:1"), "{out}");

        // Scale through the scale subresource.
        kubectl_ok(&k, &["scale", "deployment/web", "--replicas=5"]).await?;
        rolled_out(&k, "web").await?;
        eventually("five available replicas", || async {
            let s = deployments.get("web").await?.status.unwrap_or_default();
            Ok((s.replicas == Some(5) && s.available_replicas == Some(5)).then_some(()))
        })
        .await?;

        // Paused: template changes wait; resumed: they roll out.
        kubectl_ok(&k, &["rollout", "pause", "deployment/web"]).await?;
        kubectl_ok(&k, &["set", "image", "deployment/web", "busybox=busybox:3"]).await?;
        eventually("the paused condition", || async {
            let s = deployments.get("web").await?.status.unwrap_or_default();
            let paused = s.conditions.iter().flatten().any(|c| {
                c.type_ == "Progressing"
                    && c.status == "Unknown"
                    && c.reason.as_deref() == Some("DeploymentPaused")
            });
            Ok(paused.then_some(()))
        })
        .await?;
        let d = deployments.get("web").await?;
        ensure!(
            replicasets(&sets, &d).await?.len() == 2,
            "a paused deployment rolled out"
        );
        let out = kubectl(&k, &["rollout", "undo", "deployment/web"])
            .await?
            .failed()?;
        out.stderr_has("resume it first")?;
        kubectl_ok(&k, &["rollout", "resume", "deployment/web"]).await?;
        rolled_out(&k, "web").await?;
        let d = deployments.get("web").await?;
        let rss = replicasets(&sets, &d).await?;
        let newest = rss.last().context("none")?;
        ensure!(
            image(newest) == "busybox:3" && revision(newest) == 4 && size(newest) == 5,
            "after resume: {} rev {} size {}",
            image(newest),
            revision(newest),
            size(newest)
        );

        // A restart is a rollout of the same image.
        kubectl_ok(&k, &["rollout", "restart", "deployment/web"]).await?;
        rolled_out(&k, "web").await?;
        let d = deployments.get("web").await?;
        let rss = replicasets(&sets, &d).await?;
        ensure!(
            rss.len() == 4 && revision(&rss[3]) == 5 && image(&rss[3]) == "busybox:3",
            "after restart: {} replicasets",
            rss.len()
        );

        // The events say what was scaled.
        let out = kubectl_ok(
            &k,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.kind=Deployment,involvedObject.name=web,reason=ScalingReplicaSet",
                "-o",
                "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
            ],
        )
        .await?;
        ensure!(
            out.lines()
                .any(|l| l == format!("Scaled up replica set web-{hash} from 0 to 3")),
            "events:\n{out}"
        );
        Ok(())
    })
    .await;
}

const SURGE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: surge
spec:
  replicas: 6
  selector:
    matchLabels:
      app: surge
  strategy:
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: surge
    spec:
      containers:
      - name: c
        image: busybox:1
";

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_update_stays_within_its_surge_and_unavailability() {
    with_env(async |env| {
        let client = env.cluster.client().await?;
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        env.cluster.apply(&k, "surge", SURGE).await?;
        rolled_out(&k, "surge").await?;
        kubectl_ok(&k, &["set", "image", "deployment/surge", "c=busybox:2"]).await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        // Sample the pods until the rollout completes: never more than 6 + 1 pods, never
        // fewer than 6 - 0 ready.
        let (mut most, mut fewest_ready) = (0, usize::MAX);
        let deadline = Instant::now() + STEP;
        loop {
            let list = pods
                .list(&ListParams::default().labels("app=surge"))
                .await?
                .items;
            let live: Vec<&Pod> = list
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            most = most.max(live.len());
            fewest_ready = fewest_ready.min(list.iter().filter(|p| ready(p)).count());
            let d = deployments.get("surge").await?;
            let s = d.status.clone().unwrap_or_default();
            let done = s.observed_generation == d.metadata.generation
                && s.updated_replicas == Some(6)
                && s.replicas == Some(6)
                && s.available_replicas == Some(6);
            if done
                && live.len() == 6
                && live.iter().all(|p| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .and_then(|c| c.image.as_deref())
                        == Some("busybox:2")
                })
            {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "the rollout did not finish: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ensure!(most <= 7, "{most} pods at once with a surge of 1");
        ensure!(
            fewest_ready >= 6,
            "only {fewest_ready} ready with no unavailability allowed"
        );
        Ok(())
    })
    .await;
}

const RECREATE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: recreate
spec:
  replicas: 3
  selector:
    matchLabels:
      app: recreate
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app: recreate
    spec:
      containers:
      - name: c
        image: busybox:1
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recreate_stops_every_old_pod_before_starting_new_ones() {
    with_env(async |env| {
        let client = env.cluster.client().await?;
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        env.cluster.apply(&k, "recreate", RECREATE).await?;
        rolled_out(&k, "recreate").await?;
        kubectl_ok(&k, &["set", "image", "deployment/recreate", "c=busybox:2"]).await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let deadline = Instant::now() + STEP;
        loop {
            let list = pods
                .list(&ListParams::default().labels("app=recreate"))
                .await?
                .items;
            let images: Vec<&str> = list
                .iter()
                .filter_map(|p| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .and_then(|c| c.image.as_deref())
                })
                .collect();
            ensure!(
                !(images.contains(&"busybox:1") && images.contains(&"busybox:2")),
                "old and new pods at once: {images:?}"
            );
            if images.len() == 3
                && images.iter().all(|i| *i == "busybox:2")
                && list.iter().all(ready)
            {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "the recreate did not finish: {images:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        rolled_out(&k, "recreate").await?;
        Ok(())
    })
    .await;
}

const STUCK: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 2
  progressDeadlineSeconds: 2
  selector:
    matchLabels:
      app: stuck
  template:
    metadata:
      labels:
        app: stuck
    spec:
      nodeSelector:
        nowhere: \"true\"
      containers:
      - name: c
        image: busybox:1
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stuck_rollout_exceeds_its_progress_deadline() {
    with_env(async |env| {
        let client = env.cluster.client().await?;
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        env.cluster.apply(&k, "stuck", STUCK).await?;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let c = eventually("ProgressDeadlineExceeded", || async {
            let s = deployments.get("stuck").await?.status.unwrap_or_default();
            Ok(s.conditions
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Progressing" && c.status == "False"))
        })
        .await?;
        ensure!(
            c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                && c.message
                    .as_deref()
                    .is_some_and(|m| m.ends_with("has timed out progressing.")),
            "{c:?}"
        );
        let s = deployments.get("stuck").await?.status.unwrap_or_default();
        ensure!(
            s.unavailable_replicas == Some(2)
                && s.conditions.iter().flatten().any(|c| c.type_ == "Available"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("MinimumReplicasUnavailable")),
            "{s:?}"
        );
        let out = kubectl(
            &k,
            &["rollout", "status", "deployment/stuck", "--timeout=30s"],
        )
        .await?
        .failed()?;
        out.stderr_has("exceeded its progress deadline")?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_replicasets_beyond_the_history_limit_go() {
    with_env(async |env| {
        let client = env.cluster.client().await?;
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        kubectl_ok(
            &k,
            &[
                "create",
                "deployment",
                "short",
                "--image=busybox:1",
                "--replicas=1",
            ],
        )
        .await?;
        kubectl_ok(
            &k,
            &[
                "patch",
                "deployment",
                "short",
                "-p",
                "{\"spec\":{\"revisionHistoryLimit\":1}}",
            ],
        )
        .await?;
        for tag in 2..=4 {
            kubectl_ok(
                &k,
                &[
                    "set",
                    "image",
                    "deployment/short",
                    &format!("busybox=busybox:{tag}"),
                ],
            )
            .await?;
            rolled_out(&k, "short").await?;
        }
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
        let rss = eventually("one old replicaset kept", || async {
            let d = deployments.get("short").await?;
            let rss = replicasets(&sets, &d).await?;
            Ok((rss.len() == 2).then_some(rss))
        })
        .await?;
        let revisions: Vec<i64> = rss.iter().map(revision).collect();
        ensure!(revisions == [3, 4], "kept revisions {revisions:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_deployment_cascades_as_asked() {
    with_env(async |env| {
        let kubectls = env
            .cluster
            .kubectls(KUBECTL_MINORS.end() - 1..=*KUBECTL_MINORS.end())?;
        let kubectls: Vec<Kubectl> = kubectls
            .into_iter()
            .map(|k| k.with_timeout(Duration::from_secs(90)))
            .collect();
        tokio::task::spawn_blocking(move || {
            across_kubectls(&kubectls, |k| {
                for cascade in ["background", "foreground", "orphan"] {
                    let name = k.name(&format!("del-{cascade}"));
                    k.run(&[
                        "create",
                        "deployment",
                        &name,
                        "--image=busybox",
                        "--replicas=2",
                    ])?
                    .ok()?;
                    k.run(&[
                        "rollout",
                        "status",
                        &format!("deployment/{name}"),
                        "--timeout=60s",
                    ])?
                    .ok()?;
                    k.run(&[
                        "delete",
                        "deployment",
                        &name,
                        &format!("--cascade={cascade}"),
                    ])?
                    .ok()?;
                    let deadline = Instant::now() + STEP;
                    loop {
                        let rs = k
                            .run(&[
                                "get",
                                "replicasets",
                                "-l",
                                &format!("app={name}"),
                                "-o",
                                "name",
                            ])?
                            .ok()?;
                        let pods = k
                            .run(&["get", "pods", "-l", &format!("app={name}"), "-o", "name"])?
                            .ok()?;
                        let (n_rs, n_pods) =
                            (rs.stdout.lines().count(), pods.stdout.lines().count());
                        let want = if cascade == "orphan" { (1, 2) } else { (0, 0) };
                        if (n_rs, n_pods) == want {
                            break;
                        }
                        ensure!(
                            cascade != "foreground" || n_rs == 0,
                            "a foreground deletion left its replicaset"
                        );
                        ensure!(
                            Instant::now() < deadline,
                            "{cascade}: {n_rs} replicasets and {n_pods} pods left"
                        );
                        std::thread::sleep(POLL);
                    }
                }
                Ok(())
            })
        })
        .await?
    })
    .await;
}

const HEALING: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: healing
spec:
  replicas: 4
  selector:
    matchLabels:
      app: healing
  template:
    metadata:
      labels:
        app: healing
    spec:
      tolerations:
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 1
      containers:
      - name: c
        image: busybox
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pods_of_a_silent_node_are_replaced_on_the_others() {
    let (cluster, cm) = cluster_with_controllers(&[
        "--node-monitor-period=500ms",
        "--node-monitor-grace-period=4s",
    ]);
    let scheduler = cluster
        .start_scheduler(&[])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let result = async {
        let client = cluster.client().await?;
        let specs: Vec<NodeSpec> = (0..3).map(|i| NodeSpec::new(&format!("n{i}"))).collect();
        let nodes =
            FakeNodes::start_renewing_every(client.clone(), &specs, Duration::from_millis(500))
                .await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        cluster.apply(&k, "healing", HEALING).await?;
        rolled_out(&k, "healing").await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let node_of = |p: &Pod| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default()
        };
        let before = pods
            .list(&ListParams::default().labels("app=healing"))
            .await?
            .items;
        // The node with the most pods falls silent.
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for p in &before {
            *counts.entry(node_of(p)).or_default() += 1;
        }
        let (dead, lost) = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(d, n)| (d.clone(), *n))
            .context("no pods")?;
        nodes.kill(&dead);
        // Its pods are evicted and four ready pods run on the others again.
        let replaced = eventually("replacements on the live nodes", || async {
            let list = pods
                .list(&ListParams::default().labels("app=healing"))
                .await?
                .items;
            let live: Vec<&Pod> = list
                .iter()
                .filter(|p| {
                    p.metadata.deletion_timestamp.is_none() && node_of(p) != dead && ready(p)
                })
                .collect();
            Ok((live.len() == 4).then(|| list.clone()))
        })
        .await?;
        let evicted = replaced
            .iter()
            .filter(|p| node_of(p) == dead && p.metadata.deletion_timestamp.is_some())
            .count();
        ensure!(
            evicted == lost,
            "{evicted} of {lost} pods on {dead} marked for deletion"
        );
        let node = Api::<k8s_openapi::api::core::v1::Node>::all(client.clone())
            .get(&dead)
            .await?;
        let tainted = node
            .spec
            .and_then(|s| s.taints)
            .unwrap_or_default()
            .iter()
            .any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == "NoExecute");
        ensure!(tainted, "the silent node is not tainted unreachable");
        Ok(())
    }
    .await;
    cluster.report(&[&cm, &scheduler], result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kubectl_rolls_out_and_back() {
    with_env(async |env| {
        let kubectls: Vec<Kubectl> = env
            .cluster
            .kubectls(KUBECTL_MINORS)?
            .into_iter()
            .map(|k| k.with_timeout(Duration::from_secs(90)))
            .collect();
        tokio::task::spawn_blocking(move || {
            across_kubectls(&kubectls, |k| {
                let name = k.name("roll");
                let deploy = format!("deployment/{name}");
                let status = ["rollout", "status", deploy.as_str(), "--timeout=60s"];
                k.run(&["create", "deployment", &name, "--image=busybox:1", "--replicas=2"])?
                    .ok()?;
                k.run(&status)?
                    .ok()?
                    .stdout_has(&format!("deployment \"{name}\" successfully rolled out"))?;
                k.run(&["set", "image", &deploy, "busybox=busybox:2"])?.ok()?;
                k.run(&status)?.ok()?;
                k.run(&["rollout", "undo", &deploy])?.ok()?;
                k.run(&status)?.ok()?;
                let image = k
                    .run(&[
                        "get",
                        &deploy,
                        "-o",
                        "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
                    ])?
                    .ok()?;
                ensure!(image.stdout.trim() == "busybox:1 3", "after undo: {image}");
                let history = k.run(&["rollout", "history", &deploy])?.ok()?;
                let revisions: Vec<&str> = history
                    .stdout
                    .lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
                    .collect();
                ensure!(revisions == ["2", "3"], "history: {history}");
                // Undoing to the current template is skipped.
                let out = k
                    .run(&["rollout", "undo", &deploy, "--to-revision=3"])?
                    .ok()?;
                out.stdout_has("skipped rollback")?;
                Ok(())
            })
        })
        .await?
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeated_event_is_counted_not_duplicated() {
    with_env(async |env| {
        let k = env.cluster.kubectl(*KUBECTL_MINORS.end())?;
        kubectl_ok(
            &k,
            &[
                "create",
                "deployment",
                "twice",
                "--image=busybox",
                "--replicas=1",
            ],
        )
        .await?;
        rolled_out(&k, "twice").await?;
        for replicas in ["2", "1", "2"] {
            kubectl_ok(
                &k,
                &[
                    "scale",
                    "deployment/twice",
                    &format!("--replicas={replicas}"),
                ],
            )
            .await?;
            rolled_out(&k, "twice").await?;
        }
        let client = env.cluster.client().await?;
        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(client.clone(), "default");
        let ups = eventually("one Event counted twice", || async {
            let list = events
                .list(
                    &ListParams::default()
                        .fields("involvedObject.name=twice,reason=ScalingReplicaSet"),
                )
                .await?
                .items;
            let ups: Vec<_> = list
                .into_iter()
                .filter(|e| {
                    e.message
                        .as_deref()
                        .is_some_and(|m| m.ends_with("from 1 to 2"))
                })
                .collect();
            Ok((ups.iter().map(|e| e.count.unwrap_or(1)).sum::<i32>() == 2).then_some(ups))
        })
        .await?;
        ensure!(ups.len() == 1 && ups[0].count == Some(2), "{ups:?}");
        Ok(())
    })
    .await;
}
