//! Berth's controller manager: the controllers that make desired state real.
//!
//! Every controller is an API client through `kube` and a level-triggered reconciler in its
//! own module: watch events only queue keys ([`hints`]), every listing queues all keys again
//! (the periodic resync), a key is synced by one worker at a time ([`queue`]) and a failed sync
//! is retried with backoff. With `--leader-elect` (the default) the controllers
//! run only while this process holds the `kube-system/kube-controller-manager` Lease, so
//! several copies can run for availability.
//!
//! Controllers today: `deployment` ([`deployment`]), `endpoint` ([`endpoints`]),
//! `endpointslice` ([`endpointslice`]), `garbage-collector`
//! ([`garbage_collector`]), `namespace` ([`namespace`]), `replicaset` ([`replicaset`]),
//! `replicationcontroller` ([`replicationcontroller`]),
//! `serviceaccount` ([`serviceaccount`]), `root-ca-cert-publisher` ([`root_ca`]),
//! `nodelifecycle` ([`nodelifecycle`]), `taint-eviction-controller` ([`taint_eviction`]),
//! `nodeipam` ([`nodeipam`]) and `podgc` ([`podgc`]).

pub mod client;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod events;
pub mod expectations;
pub mod flags;
pub mod garbage_collector;
pub mod hints;
pub mod informer;
pub mod intern;
pub mod labels;
pub mod namespace;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod ownership;
pub mod podgc;
pub mod queue;
pub mod replicaset;
pub mod replicationcontroller;
pub mod root_ca;
pub mod serviceaccount;
pub mod taint_eviction;

use anyhow::{bail, Context as _, Result};
use berth_component_base::leader_election::{LeaderElector, LeaseConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Every controller this build has, in start order.
pub const KNOWN_CONTROLLERS: &[&str] = &[
    "deployment",
    "endpoint",
    "endpointslice",
    "garbage-collector",
    "namespace",
    "nodeipam",
    "nodelifecycle",
    "podgc",
    "replicaset",
    "replicationcontroller",
    "root-ca-cert-publisher",
    "serviceaccount",
    "taint-eviction-controller",
];

/// The controllers that read the shared pod copy ([`Context::pods`]); it runs when one of
/// them is enabled.
const USES_PODS: &[&str] = &[
    "endpoint",
    "endpointslice",
    "garbage-collector",
    "podgc",
    "replicaset",
    "replicationcontroller",
];

/// The controllers `*` enables.
pub const DEFAULT_CONTROLLERS: &[&str] = KNOWN_CONTROLLERS;

/// Command-line options of `berth-controller-manager` (and `berth controller-manager`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Kubeconfig with the API server's address and this component's credentials.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Controllers to run: `*` for all on by default, `name` to enable one, `-name` to
    /// disable one.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub controllers: Vec<String>,
    /// Run the controllers only while holding the leader Lease.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// How long a leader's Lease stays valid after its last renewal.
    #[arg(long, default_value = "15s", value_parser = duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader tries to renew before it gives up leading.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub leader_elect_renew_deadline: Duration,
    /// Pause between attempts to acquire or renew the Lease.
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub leader_elect_retry_period: Duration,
    /// Name of the leader Lease.
    #[arg(long, default_value = "kube-controller-manager")]
    pub leader_elect_resource_name: String,
    /// Namespace of the leader Lease.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
    /// CA bundle published to every namespace as `kube-root-ca.crt`; default: the CA in the
    /// kubeconfig.
    #[arg(long)]
    pub root_ca_file: Option<PathBuf>,
    /// How often every controller relists and resyncs everything.
    #[arg(long, default_value = "5m", value_parser = duration)]
    pub min_resync_period: Duration,
    /// Namespaces emptied at once.
    #[arg(long, default_value_t = 10)]
    pub concurrent_namespace_syncs: usize,
    /// ReplicaSets synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_replicaset_syncs: usize,
    /// ReplicationControllers synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_rc_syncs: usize,
    /// Deployments synced at once.
    #[arg(long, default_value_t = 5)]
    pub concurrent_deployment_syncs: usize,
    /// How often the node lifecycle controller looks at every node.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub node_monitor_period: Duration,
    /// How long a node may go without a heartbeat before it is marked unknown.
    #[arg(long, default_value = "50s", value_parser = duration)]
    pub node_monitor_grace_period: Duration,
    /// The same for a node that never posted a Ready condition.
    #[arg(long, default_value = "1m", value_parser = duration)]
    pub node_startup_grace_period: Duration,
    /// Give every node a pod CIDR out of `--cluster-cidr`.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub allocate_node_cidrs: bool,
    /// The pods' address range, split into node pod CIDRs.
    #[arg(long)]
    pub cluster_cidr: Option<String>,
    /// Prefix length of each node's pod CIDR.
    #[arg(long, default_value_t = 24)]
    pub node_cidr_mask_size: u8,
    /// Services whose Endpoints and EndpointSlices are synced at once (each).
    #[arg(long, default_value_t = 5)]
    pub concurrent_endpoint_syncs: usize,
    /// Terminated pods kept before the oldest are deleted (0: never delete them).
    #[arg(long, default_value_t = 12500)]
    pub terminated_pod_gc_threshold: usize,
    /// How often the pod garbage collector looks at every pod.
    #[arg(long, default_value = "20s", value_parser = duration)]
    pub pod_gc_check_period: Duration,
    /// How long a node pods are bound to must be missing before those pods are collected.
    #[arg(long, default_value = "40s", value_parser = duration)]
    pub pod_gc_quarantine: Duration,
    /// Objects the garbage collector looks at at once.
    #[arg(long, default_value_t = 20)]
    pub concurrent_gc_syncs: usize,
}

impl Options {
    /// The defaults of every flag, with `kubeconfig`: what `berth up` runs.
    pub fn with_kubeconfig(kubeconfig: PathBuf) -> Options {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            options: Options,
        }
        // Every other flag has a default, so this parse cannot fail.
        let mut options =
            <Defaults as clap::Parser>::parse_from(["berth", "--kubeconfig", "-"]).options;
        options.kubeconfig = kubeconfig;
        options
    }
}

fn duration(s: &str) -> Result<Duration, flags::FlagError> {
    flags::parse_duration(s)
}

/// What the controllers share.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// Every pod, watch-fed and slim: the one pod watch of the process, shared by the
    /// controllers in [`USES_PODS`] (running only when one of them is enabled).
    pub pods: Arc<informer::Informer<informer::SlimPod>>,
    /// The cluster CA bundle (PEM) to publish.
    pub root_ca_pem: String,
    /// Full resync period.
    pub resync: Duration,
    /// Workers of the namespace controller.
    pub namespace_workers: usize,
    /// Workers of the replicaset controller.
    pub replicaset_workers: usize,
    /// Workers of the replicationcontroller controller.
    pub replicationcontroller_workers: usize,
    /// Workers of the deployment controller.
    pub deployment_workers: usize,
    /// How often the node lifecycle controller looks at every node.
    pub node_monitor_period: Duration,
    /// How long a node may be silent before it is marked unknown.
    pub node_monitor_grace_period: Duration,
    /// The same for a node that never posted its Ready condition.
    pub node_startup_grace_period: Duration,
    /// The cluster CIDR and the node block prefix, when node CIDRs are allocated.
    pub node_cidrs: Option<(nodeipam::Cidr, u8)>,
    /// Workers of the endpoint and endpointslice controllers (each).
    pub endpoint_workers: usize,
    /// Workers of the garbage collector.
    pub gc_workers: usize,
    /// Terminated pods the pod garbage collector keeps (0: all).
    pub terminated_pod_gc_threshold: usize,
    /// How often the pod garbage collector runs.
    pub pod_gc_check_period: Duration,
    /// How long a missing node is waited for before its pods are collected.
    pub pod_gc_quarantine: Duration,
}

/// A failed sync, naming the object it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("{action} {object}: {source}")]
    Api {
        /// What was being done.
        action: &'static str,
        /// The object concerned (`namespace/name` or a name).
        object: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A namespace could not be emptied completely this time.
    #[error("namespace {namespace} is not empty yet: {detail}")]
    Incomplete {
        /// The namespace.
        namespace: String,
        /// The failing conditions' messages.
        detail: String,
    },
}

impl SyncError {
    /// Wraps a client error of `action` on `object` (for `map_err`).
    pub fn api(action: &'static str, object: &str) -> impl FnOnce(kube::Error) -> SyncError {
        let object = object.to_owned();
        move |source| SyncError::Api {
            action,
            object,
            source,
        }
    }
}

/// The CA bundle of the kubeconfig's current cluster (inline or a file).
fn kubeconfig_ca(kubeconfig: &kube::config::Kubeconfig) -> Result<String> {
    use base64::Engine;
    let context_name = kubeconfig.current_context.as_deref().unwrap_or_default();
    let cluster_name = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone());
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| Some(&c.name) == cluster_name.as_ref())
        .or_else(|| kubeconfig.clusters.first())
        .and_then(|c| c.cluster.as_ref())
        .context("the kubeconfig names no cluster")?;
    if let Some(data) = &cluster.certificate_authority_data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .context("certificate-authority-data is not base64")?;
        return String::from_utf8(bytes).context("certificate-authority-data is not PEM text");
    }
    if let Some(file) = &cluster.certificate_authority {
        return std::fs::read_to_string(file).with_context(|| format!("reading {file}"));
    }
    bail!("the kubeconfig has no certificate authority; pass --root-ca-file")
}

/// A name for this process unique among candidates: host name and a random suffix.
fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}_{}", uuid::Uuid::new_v4())
}

/// Runs the enabled controllers until one of them stops (they do not, short of a panic).
async fn run_controllers(ctx: Arc<Context>, enabled: Vec<&'static str>) {
    let mut tasks = tokio::task::JoinSet::new();
    if enabled.iter().any(|c| USES_PODS.contains(c)) {
        tasks.spawn(ctx.pods.clone().run("pods", ctx.client.clone(), ctx.resync));
    }
    for name in enabled {
        let ctx = ctx.clone();
        tracing::info!(controller = name, "starting");
        match name {
            "deployment" => tasks.spawn(deployment::run(ctx)),
            "endpoint" => tasks.spawn(endpoints::run(ctx)),
            "endpointslice" => tasks.spawn(endpointslice::run(ctx)),
            "garbage-collector" => tasks.spawn(garbage_collector::run(ctx)),
            "namespace" => tasks.spawn(namespace::run(ctx)),
            "serviceaccount" => tasks.spawn(serviceaccount::run(ctx)),
            "replicaset" => tasks.spawn(replicaset::run(ctx)),
            "replicationcontroller" => tasks.spawn(replicationcontroller::run(ctx)),
            "root-ca-cert-publisher" => tasks.spawn(root_ca::run(ctx)),
            "nodelifecycle" => tasks.spawn(nodelifecycle::run(ctx)),
            "taint-eviction-controller" => tasks.spawn(taint_eviction::run(ctx)),
            "nodeipam" => tasks.spawn(nodeipam::run(ctx)),
            "podgc" => tasks.spawn(podgc::run(ctx)),
            _ => continue,
        };
    }
    if let Some(Err(err)) = tasks.join_next().await {
        tracing::error!(error = %err, "a controller stopped");
    }
}

/// Connects to the API server and runs the controllers (under leader election unless
/// disabled) until SIGINT or SIGTERM; a lost Lease is an error, so a supervisor restarts the
/// process as a fresh candidate.
pub async fn run(opts: Options) -> Result<()> {
    let enabled =
        flags::enabled_controllers(&opts.controllers, KNOWN_CONTROLLERS, DEFAULT_CONTROLLERS)?;
    let node_cidrs = if opts.allocate_node_cidrs {
        let Some(text) = opts.cluster_cidr.as_deref() else {
            bail!("--allocate-node-cidrs needs --cluster-cidr");
        };
        let Some(cidr) = nodeipam::Cidr::parse(text) else {
            bail!("--cluster-cidr {text:?} is not an IPv4 CIDR such as 10.244.0.0/16");
        };
        if nodeipam::Allocator::new(cidr, opts.node_cidr_mask_size).is_none() {
            bail!(
                "--node-cidr-mask-size {} does not fit --cluster-cidr {text}",
                opts.node_cidr_mask_size
            );
        }
        Some((cidr, opts.node_cidr_mask_size))
    } else {
        None
    };
    let kubeconfig = kube::config::Kubeconfig::read_from(&opts.kubeconfig)
        .with_context(|| format!("reading {}", opts.kubeconfig.display()))?;
    let root_ca_pem = match &opts.root_ca_file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => kubeconfig_ca(&kubeconfig)?,
    };
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .context("loading the kubeconfig")?;
    let client = client::api_client(config).context("building the API client")?;
    let ctx = Arc::new(Context {
        client: client.clone(),
        pods: informer::Informer::new(),
        root_ca_pem,
        resync: opts.min_resync_period.max(Duration::from_secs(1)),
        namespace_workers: opts.concurrent_namespace_syncs.max(1),
        replicaset_workers: opts.concurrent_replicaset_syncs.max(1),
        replicationcontroller_workers: opts.concurrent_rc_syncs.max(1),
        deployment_workers: opts.concurrent_deployment_syncs.max(1),
        node_monitor_period: opts.node_monitor_period,
        node_monitor_grace_period: opts.node_monitor_grace_period,
        node_startup_grace_period: opts.node_startup_grace_period,
        node_cidrs,
        endpoint_workers: opts.concurrent_endpoint_syncs.max(1),
        gc_workers: opts.concurrent_gc_syncs.max(1),
        terminated_pod_gc_threshold: opts.terminated_pod_gc_threshold,
        pod_gc_check_period: opts.pod_gc_check_period,
        pod_gc_quarantine: opts.pod_gc_quarantine,
    });
    tracing::info!(controllers = ?enabled, leader_elect = opts.leader_elect, "controller manager starting");
    let leading = run_controllers(ctx, enabled);
    if !opts.leader_elect {
        tokio::select! {
            () = leading => {}
            () = berth_component_base::shutdown_signal() => {}
        }
        return Ok(());
    }
    let lease = LeaseConfig {
        lease_duration: opts.leader_elect_lease_duration,
        renew_deadline: opts.leader_elect_renew_deadline,
        retry_period: opts.leader_elect_retry_period,
        ..LeaseConfig::new(
            &opts.leader_elect_resource_namespace,
            &opts.leader_elect_resource_name,
            &identity(),
        )
    };
    if lease.renew_deadline >= lease.lease_duration || lease.retry_period >= lease.renew_deadline {
        bail!("leader election needs retry period < renew deadline < lease duration");
    }
    let elector = LeaderElector::new(client, lease);
    tokio::select! {
        result = elector.run(leading) => {
            result?;
        }
        () = berth_component_base::shutdown_signal() => {
            if let Err(err) = elector.release().await {
                tracing::warn!(error = %err, "releasing the lease failed");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_flags() {
        let o = Options::with_kubeconfig(PathBuf::from("/k"));
        assert_eq!(o.kubeconfig, PathBuf::from("/k"));
        assert!(o.leader_elect);
        assert_eq!(o.controllers, ["*"]);
        assert_eq!(o.leader_elect_lease_duration, Duration::from_secs(15));
        assert_eq!(o.leader_elect_resource_namespace, "kube-system");
    }
}
