//! Keeps this node's Node object: registers it (create, or take over an existing one and set
//! its labels), then every [`SYNC_PERIOD`] reads the machine and the runtime and posts the
//! status through the `status` subresource when it changed, or when a minute passed since the
//! last post; `status.images` lists the runtime's images. A Node deleted under the kubelet is registered again.

use crate::cri::Cri;
use crate::machine::MachineFacts;
use crate::node_status::{self, NodeIdentity, RuntimeHealth};
use berth_api_types::k8s::api::core::v1::{ContainerImage, Node, NodeStatus};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use berth_api_types::k8s::jiff::Timestamp;
use k8s_cri::v1::{ListImagesRequest, StatusRequest, VersionRequest};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the node status is computed.
pub const SYNC_PERIOD: Duration = Duration::from_secs(10);

/// How long an unchanged status may go without being posted.
pub const REPORT_PERIOD: Duration = Duration::from_secs(60);

/// How long one CRI health call may take before the runtime counts as down.
const RUNTIME_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the runtime for its version and conditions.
pub async fn runtime_health(cri: &Cri) -> RuntimeHealth {
    let mut rt = cri.runtime.clone();
    let call = async {
        let version = rt
            .version(VersionRequest::default())
            .await
            .map_err(|e| e.message().to_string())?
            .into_inner();
        let status = rt
            .status(StatusRequest::default())
            .await
            .map_err(|e| e.message().to_string())?
            .into_inner();
        let mut problems = Vec::new();
        let mut network_down = false;
        for c in status.status.map(|s| s.conditions).unwrap_or_default() {
            if !c.status {
                network_down |= c.r#type == "NetworkReady";
                problems.push(format!(
                    "{}=false reason:{} message:{}",
                    c.r#type, c.reason, c.message
                ));
            }
        }
        Ok::<_, String>(RuntimeHealth::Up {
            version: format!("{}://{}", version.runtime_name, version.runtime_version),
            problems,
            network_down,
        })
    };
    match tokio::time::timeout(RUNTIME_CALL_TIMEOUT, call).await {
        Ok(Ok(health)) => health,
        Ok(Err(msg)) => RuntimeHealth::Down(msg),
        Err(_) => RuntimeHealth::Down("the runtime did not answer in time".to_string()),
    }
}

/// The runtime's images as `status.images`, or `None` when it does not answer.
pub async fn node_images(cri: &Cri) -> Option<Vec<ContainerImage>> {
    let mut images = cri.images.clone();
    let call = images.list_images(ListImagesRequest::default());
    match tokio::time::timeout(RUNTIME_CALL_TIMEOUT, call).await {
        Ok(Ok(list)) => Some(node_status::images(list.into_inner().images)),
        _ => None,
    }
}

/// Keeps the Node registered and its status current until the process ends. `ready`
/// receives the Node's uid once it is registered (the Lease names it as owner).
pub async fn keep_node(
    client: Client,
    cri: Cri,
    id: NodeIdentity,
    root_dir: PathBuf,
    ready: watch::Sender<Option<String>>,
) {
    let nodes: Api<Node> = Api::all(client);
    let mut posted: Option<(NodeStatus, Instant)> = None;
    let mut registered = false;
    let mut tick = tokio::time::interval(SYNC_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let machine = MachineFacts::read(&root_dir);
        if !registered {
            match register(&nodes, &id, &machine).await {
                Ok(node) => {
                    registered = true;
                    posted = node
                        .status
                        .filter(|s| s.conditions.is_some())
                        .map(|s| (s, Instant::now() - REPORT_PERIOD));
                    let _ = ready.send(node.metadata.uid);
                    tracing::info!(node = %id.name, "node registered");
                }
                Err(e) => {
                    tracing::warn!(node = %id.name, error = %e, "registering the node failed");
                    continue;
                }
            }
        }
        let health = runtime_health(&cri).await;
        let now = Time(Timestamp::now());
        let mut status =
            node_status::build(&id, &machine, &health, posted.as_ref().map(|p| &p.0), now);
        // An unanswered image list keeps the images last posted.
        status.images = match node_images(&cri).await {
            Some(images) => Some(images),
            None => posted.as_ref().and_then(|p| p.0.images.clone()),
        };
        let due = match &posted {
            Some((last, at)) => {
                !node_status::same_apart_from_heartbeats(last, &status)
                    || at.elapsed() >= REPORT_PERIOD
            }
            None => true,
        };
        if !due {
            continue;
        }
        let patch = serde_json::json!({ "status": status });
        match nodes
            .patch_status(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => posted = Some((status, Instant::now())),
            Err(kube::Error::Api(e)) if e.code == 404 => {
                tracing::warn!(node = %id.name, "the Node is gone; registering it again");
                registered = false;
                posted = None;
                tick.reset_immediately();
            }
            Err(e) => tracing::warn!(node = %id.name, error = %e, "posting the node status failed"),
        }
    }
}

/// Creates the Node, or adds the standard labels to the one that exists.
async fn register(
    nodes: &Api<Node>,
    id: &NodeIdentity,
    machine: &MachineFacts,
) -> kube::Result<Node> {
    let labels = node_status::labels(id, machine);
    let node = Node {
        metadata: ObjectMeta {
            name: Some(id.name.clone()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    match nodes.create(&PostParams::default(), &node).await {
        Ok(node) => Ok(node),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = serde_json::json!({ "metadata": { "labels": labels } });
            nodes
                .patch(&id.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
        }
        Err(e) => Err(e),
    }
}
