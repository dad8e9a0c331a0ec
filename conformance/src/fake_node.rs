//! Fake nodes: Node objects that play a kubelet's part through the API only, so the
//! scheduler and the controllers can be tested (and measured at scale) without a container
//! runtime.
//!
//! [`FakeNodes::start`] registers each node with its capacity, labels and taints and a `Ready`
//! condition, keeps a Lease per node in `kube-node-lease` renewed, and watches the pods bound
//! to its nodes: a new one is reported `Running` and `Ready` with a pod IP from the node's
//! range (nothing is ever started, and no address is ever used), and one marked for deletion
//! is deleted at once with grace period zero, as a kubelet does once its containers stopped.
//! [`FakeNodes::kill`] makes one node fall silent, as a dead machine does: its Lease is no
//! longer renewed and its pods are no longer looked after.
//!
//! It never stands in for the real kubelet in the node tests.

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a live fake node renews its Lease.
pub const LEASE_RENEW: Duration = Duration::from_secs(10);
/// The Lease duration fake nodes announce (as a kubelet does by default).
pub const LEASE_SECONDS: i32 = 40;

/// One node to register.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The node's name.
    pub name: String,
    /// Allocatable (and capacity) CPU, such as `"4"` or `"500m"`.
    pub cpu: String,
    /// Allocatable (and capacity) memory, such as `"8Gi"`.
    pub memory: String,
    /// How many pods fit.
    pub pods: u32,
    /// Labels besides the `kubernetes.io/hostname` label every node gets.
    pub labels: BTreeMap<String, String>,
    /// Taints, as JSON objects (`{"key": "k", "value": "v", "effect": "NoSchedule"}`).
    pub taints: Vec<Value>,
}

impl NodeSpec {
    /// A node with 4 CPUs, 8 GiB, room for 110 pods, no extra labels and no taints.
    pub fn new(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.to_owned(),
            cpu: "4".into(),
            memory: "8Gi".into(),
            pods: 110,
            labels: BTreeMap::new(),
            taints: Vec::new(),
        }
    }

    /// The same node with another CPU amount.
    pub fn cpu(mut self, cpu: &str) -> NodeSpec {
        self.cpu = cpu.to_owned();
        self
    }

    /// The same node with one more label.
    pub fn label(mut self, key: &str, value: &str) -> NodeSpec {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The same node with one more taint.
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> NodeSpec {
        self.taints
            .push(json!({"key": key, "value": value, "effect": effect}));
        self
    }

    fn object(&self, index: u32) -> Value {
        let mut labels = self.labels.clone();
        labels.insert("kubernetes.io/hostname".into(), self.name.clone());
        labels.insert("kubernetes.io/os".into(), "linux".into());
        labels.insert("kubernetes.io/arch".into(), "amd64".into());
        let resources = json!({
            "cpu": self.cpu, "memory": self.memory, "pods": self.pods.to_string(),
            "ephemeral-storage": "100Gi",
        });
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": labels},
            "spec": {
                "podCIDR": pod_cidr(index),
                "podCIDRs": [pod_cidr(index)],
                "taints": if self.taints.is_empty() { Value::Null } else { json!(self.taints) },
            },
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "addresses": [
                    {"type": "InternalIP", "address": host_ip(index)},
                    {"type": "Hostname", "address": self.name},
                ],
                "nodeInfo": {
                    "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "",
                    "osImage": "fake", "containerRuntimeVersion": "fake://0",
                    "kubeletVersion": "v1.33.0", "kubeProxyVersion": "", "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        })
    }
}

/// The pod range prefix of the `index`th fake node (`10.<128..255>.<0..255>`, wrapping after
/// 32 768 nodes): text only, never routed.
fn pod_prefix(index: u32) -> String {
    format!("10.{}.{}", 128 + (index / 256) % 128, index % 256)
}

fn pod_cidr(index: u32) -> String {
    format!("{}.0/24", pod_prefix(index))
}

/// The address the `index`th fake node reports (a documentation range, never used).
fn host_ip(index: u32) -> String {
    format!("192.0.2.{}", index % 250 + 1)
}

/// The current UTC time as RFC 3339 with seconds.
fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

struct NodeState {
    index: u32,
    alive: bool,
    next_ip: u32,
}

/// Fake nodes registered on one cluster; their tasks stop when this is dropped (the Node
/// objects stay).
pub struct FakeNodes {
    nodes: Arc<Mutex<HashMap<String, NodeState>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Pods this set marked Running so far (for tests that count).
    started: Arc<AtomicU32>,
}

impl Drop for FakeNodes {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeNodes {
    /// Registers `specs` as Ready nodes and starts looking after their Leases and pods. Must
    /// be called inside a Tokio runtime, which then runs the node tasks.
    pub async fn start(client: kube::Client, specs: &[NodeSpec]) -> Result<FakeNodes> {
        FakeNodes::start_renewing_every(client, specs, LEASE_RENEW).await
    }

    /// Like [`FakeNodes::start`], renewing the Leases every `renew` (for tests that run the
    /// node lifecycle controller with a short grace period).
    pub async fn start_renewing_every(
        client: kube::Client,
        specs: &[NodeSpec],
        renew: Duration,
    ) -> Result<FakeNodes> {
        let nodes_api: Api<Node> = Api::all(client.clone());
        let mut states = HashMap::new();
        for (i, spec) in specs.iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let node: Node = serde_json::from_value(spec.object(index))
                .context("building a fake Node object")?;
            nodes_api
                .create(&PostParams::default(), &node)
                .await
                .with_context(|| format!("registering fake node {}", spec.name))?;
            // The status a create carries may be dropped; the status subresource takes it.
            set_status(&nodes_api, &spec.name, spec.object(index)["status"].clone()).await?;
            states.insert(
                spec.name.clone(),
                NodeState {
                    index,
                    alive: true,
                    next_ip: 2,
                },
            );
        }
        let nodes = Arc::new(Mutex::new(states));
        let started = Arc::new(AtomicU32::new(0));
        let tasks = vec![
            tokio::spawn(renew_leases(client.clone(), nodes.clone(), renew)),
            tokio::spawn(look_after_pods(client, nodes.clone(), started.clone())),
        ];
        Ok(FakeNodes {
            nodes,
            tasks,
            started,
        })
    }

    /// Makes `name` fall silent: its Lease is no longer renewed and its pods are no longer
    /// started or finished.
    pub fn kill(&self, name: &str) {
        if let Some(n) = self
            .nodes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(name)
        {
            n.alive = false;
        }
    }

    /// How many pods these nodes reported Running so far.
    pub fn pods_started(&self) -> u32 {
        self.started.load(Ordering::Relaxed)
    }
}

/// Writes the node's status with its `Ready` condition (and the other conditions a kubelet
/// reports).
async fn set_status(nodes: &Api<Node>, name: &str, mut status: Value) -> Result<()> {
    let t = now();
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    status["conditions"] = json!([
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ]);
    let patch = json!({ "status": status });
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("reporting fake node {name} Ready"))?;
    Ok(())
}

fn alive_names(nodes: &Mutex<HashMap<String, NodeState>>) -> Vec<String> {
    nodes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(_, s)| s.alive)
        .map(|(n, _)| n.clone())
        .collect()
}

/// Creates or renews the Lease of every live node, every `renew`.
async fn renew_leases(
    client: kube::Client,
    nodes: Arc<Mutex<HashMap<String, NodeState>>>,
    renew: Duration,
) {
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    loop {
        for name in alive_names(&nodes) {
            let spec = LeaseSpec {
                holder_identity: Some(name.clone()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(MicroTime(Timestamp::now())),
                ..LeaseSpec::default()
            };
            let patch = json!({"spec": spec});
            let result = match leases.get_opt(&name).await {
                Ok(Some(_)) => leases
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(drop),
                Ok(None) => {
                    let mut lease = Lease {
                        spec: Some(spec),
                        ..Lease::default()
                    };
                    lease.metadata.name = Some(name.clone());
                    leases
                        .create(&PostParams::default(), &lease)
                        .await
                        .map(drop)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                eprintln!("fake node {name}: renewing its lease failed: {e}");
            }
        }
        tokio::time::sleep(renew).await;
    }
}

/// The node a pod is bound to, if it is one of ours and alive.
fn our_node(nodes: &Mutex<HashMap<String, NodeState>>, pod: &Pod) -> Option<(String, String)> {
    let node = pod.spec.as_ref()?.node_name.clone()?;
    let mut nodes = nodes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let state = nodes.get_mut(&node).filter(|s| s.alive)?;
    let host = state.next_ip;
    state.next_ip = state.next_ip % 253 + 2;
    Some((node, format!("{}.{host}", pod_prefix(state.index))))
}

fn is_running(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p != "Pending")
}

/// Watches all pods; starts the ones bound to a live node of ours and finishes the ones
/// marked for deletion there.
async fn look_after_pods(
    client: kube::Client,
    nodes: Arc<Mutex<HashMap<String, NodeState>>>,
    started: Arc<AtomicU32>,
) {
    let pods: Api<Pod> = Api::all(client.clone());
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_POD_WRITES));
    loop {
        let list = match pods.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake nodes: listing pods failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        for pod in list.items {
            dispatch(&client, &nodes, &started, &permits, pod).await;
        }
        let mut version = list.metadata.resource_version.unwrap_or_default();
        loop {
            let stream = match pods
                .watch(&WatchParams::default().timeout(290), &version)
                .await
            {
                Ok(s) => s,
                Err(_) => break,
            };
            let mut stream = std::pin::pin!(stream);
            let mut broke = false;
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::Added(p) | WatchEvent::Modified(p)) => {
                        if let Some(v) = p.metadata.resource_version.clone() {
                            version = v;
                        }
                        dispatch(&client, &nodes, &started, &permits, p).await;
                    }
                    Ok(WatchEvent::Deleted(p)) => {
                        if let Some(v) = p.metadata.resource_version.clone() {
                            version = v;
                        }
                    }
                    Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                    Ok(WatchEvent::Error(_)) | Err(_) => {
                        broke = true;
                        break;
                    }
                }
            }
            if broke {
                break;
            }
        }
    }
}

/// How many pod writes the fake nodes have in flight at once.
const CONCURRENT_POD_WRITES: usize = 32;

/// Hands one pod to [`handle`] on a task of its own, waiting while too many writes are in
/// flight; a pod none of our live nodes has is skipped at once.
async fn dispatch(
    client: &kube::Client,
    nodes: &Arc<Mutex<HashMap<String, NodeState>>>,
    started: &Arc<AtomicU32>,
    permits: &Arc<tokio::sync::Semaphore>,
    pod: Pod,
) {
    let ours = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| {
            nodes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(n)
                .is_some_and(|s| s.alive)
        });
    if !ours {
        return;
    }
    let Ok(permit) = permits.clone().acquire_owned().await else {
        return;
    };
    let (client, nodes, started) = (client.clone(), nodes.clone(), started.clone());
    tokio::spawn(async move {
        handle(&client, &nodes, &started, pod).await;
        drop(permit);
    });
}

/// Plays the kubelet's part for one pod.
async fn handle(
    client: &kube::Client,
    nodes: &Mutex<HashMap<String, NodeState>>,
    started: &AtomicU32,
    pod: Pod,
) {
    let (Some(ns), Some(name)) = (pod.metadata.namespace.clone(), pod.metadata.name.clone()) else {
        return;
    };
    let deleting = pod.metadata.deletion_timestamp.is_some();
    // A started pod needs nothing more from its node until it is deleted.
    if !deleting && is_running(&pod) {
        return;
    }
    let Some((node, pod_ip)) = our_node(nodes, &pod) else {
        return;
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    if deleting {
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: pod
                .metadata
                .uid
                .clone()
                .map(|uid| kube::api::Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
            ..DeleteParams::default()
        };
        // Gone already, or a finalizer still holds it: nothing else to do.
        let _ = api.delete(&name, &dp).await;
        return;
    }
    let t = now();
    let host = host_of(nodes, &node);
    let containers: Vec<Value> = pod
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| {
                    json!({"name": c.name, "image": c.image, "imageID": "", "ready": true,
                        "started": true, "restartCount": 0,
                        "state": {"running": {"startedAt": t}}})
                })
                .collect()
        })
        .unwrap_or_default();
    let condition = |type_: &str| json!({"type": type_, "status": "True", "lastProbeTime": null, "lastTransitionTime": t});
    let patch = json!({"status": {
        "phase": "Running",
        "hostIP": host,
        "hostIPs": [{"ip": host}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": t,
        "qosClass": pod.status.as_ref().and_then(|s| s.qos_class.clone()),
        "conditions": [
            condition("PodReadyToStartContainers"),
            condition("Initialized"),
            condition("Ready"),
            condition("ContainersReady"),
            condition("PodScheduled"),
        ],
        "containerStatuses": containers,
    }});
    match api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            started.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => eprintln!("fake node {node}: starting pod {ns}/{name} failed: {e}"),
    }
}

fn host_of(nodes: &Mutex<HashMap<String, NodeState>>, node: &str) -> String {
    let index = nodes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(node)
        .map_or(0, |s| s.index);
    host_ip(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges_are_distinct() {
        assert_eq!(pod_cidr(0), "10.128.0.0/24");
        assert_eq!(pod_cidr(257), "10.129.1.0/24");
        assert_ne!(pod_cidr(4999), pod_cidr(4999 - 256));
    }
}
