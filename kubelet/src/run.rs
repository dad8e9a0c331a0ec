//! The kubelet's options and start-up: the API client from the kubeconfig, the runtime
//! connection, then the node, Lease and pod loops side by side until SIGINT or SIGTERM.
//! Stopping the kubelet stops none of its pods: a restarted kubelet adopts them.

use crate::cri::Cri;
use crate::machine::MachineFacts;
use crate::node_status::NodeIdentity;
use crate::pod::events::Recorder;
use crate::pod::sandbox::HostResolv;
use crate::pod::worker::Shared;
use crate::pod::NodeConfig;
use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Command-line options of `berth-kubelet` (and `berth kubelet`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The kubeconfig with this node's client certificate.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// The Node's name; the host name when not given.
    #[arg(long)]
    pub node_name: Option<String>,
    /// The CRI endpoint of the container runtime.
    #[arg(long, default_value = "unix:///run/containerd/containerd.sock")]
    pub container_runtime_endpoint: String,
    /// The node's address; the first non-loopback local IPv4 address when not given.
    #[arg(long)]
    pub node_ip: Option<IpAddr>,
    /// The node server's port, reported in the Node's daemon endpoints.
    #[arg(long, default_value_t = 10250)]
    pub port: u16,
    /// The cluster DNS server addresses pods with `dnsPolicy: ClusterFirst` use.
    #[arg(long, value_delimiter = ',')]
    pub cluster_dns: Vec<IpAddr>,
    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Where the kubelet keeps pod volumes and state.
    #[arg(long, default_value = "/var/lib/berth-kubelet")]
    pub root_dir: PathBuf,
    /// The cgroup (cgroupfs path) under which pod cgroups (`kubepods/...`) are made.
    #[arg(long, default_value = "/")]
    pub cgroup_root: String,
    /// Where the container runtime writes pod log directories.
    #[arg(long, default_value = "/var/log/pods")]
    pub pod_logs_dir: PathBuf,
    /// The node server's certificate (PEM, signed by the cluster CA). The node server (logs,
    /// exec, attach, port-forward) starts only when this, its key and the client CA are given.
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `--tls-cert-file` (PEM).
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,
    /// The CA whose client certificates the node server accepts (the cluster CA).
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
}

impl Options {
    /// Options with defaults for everything but the kubeconfig and the runtime endpoint.
    pub fn new(kubeconfig: PathBuf, container_runtime_endpoint: String) -> Options {
        Options {
            kubeconfig,
            node_name: None,
            container_runtime_endpoint,
            node_ip: None,
            port: 10250,
            cluster_dns: Vec::new(),
            cluster_domain: "cluster.local".to_string(),
            root_dir: PathBuf::from("/var/lib/berth-kubelet"),
            cgroup_root: "/".to_string(),
            pod_logs_dir: PathBuf::from("/var/log/pods"),
            tls_cert_file: None,
            tls_private_key_file: None,
            client_ca_file: None,
        }
    }

    /// The node's identity these options give.
    pub fn identity(&self) -> NodeIdentity {
        let hostname = berth_component_base::default_node_name();
        NodeIdentity {
            name: self.node_name.clone().unwrap_or_else(|| hostname.clone()),
            ip: self.node_ip.unwrap_or_else(crate::machine::default_node_ip),
            hostname,
            port: self.port,
        }
    }
}

/// Builds the API client from a kubeconfig file.
pub async fn client(kubeconfig: &std::path::Path) -> anyhow::Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    Client::try_from(config).context("building the API client")
}

/// Runs the kubelet until SIGINT or SIGTERM.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    tokio::select! {
        r = run_until_stopped(opts) => r,
        _ = berth_component_base::shutdown_signal() => {
            tracing::info!("stopping; pods keep running");
            Ok(())
        }
    }
}

/// The kubelet's loops; returns only on a start-up failure.
pub async fn run_until_stopped(opts: Options) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.root_dir)
        .with_context(|| format!("creating {}", opts.root_dir.display()))?;
    let client = client(&opts.kubeconfig).await?;
    let cri = Cri::connect(&opts.container_runtime_endpoint)
        .await
        .context("connecting to the container runtime")?;
    let id = opts.identity();
    tracing::info!(node = %id.name, ip = %id.ip, "kubelet starting");
    match (
        &opts.tls_cert_file,
        &opts.tls_private_key_file,
        &opts.client_ca_file,
    ) {
        (Some(cert), Some(key), Some(ca)) => {
            let files = crate::server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: ca.clone(),
            };
            let server = crate::server::NodeServer {
                cri: cri.clone(),
                node_name: id.name.clone(),
            };
            // Pods still run without it; only logs, exec and port-forward are lost.
            if let Err(err) = crate::server::start(id.ip, opts.port, &files, server).await {
                tracing::error!(error = %format!("{err:#}"), "the node server did not start");
            }
        }
        _ => tracing::warn!(
            "without --tls-cert-file, --tls-private-key-file and --client-ca-file the node \
             server (logs, exec, attach, port-forward) is off"
        ),
    }
    let (uid_tx, uid_rx) = tokio::sync::watch::channel(None);
    let node = tokio::spawn(crate::node::keep_node(
        client.clone(),
        cri.clone(),
        id.clone(),
        opts.root_dir.clone(),
        uid_tx,
    ));
    let lease = tokio::spawn(crate::lease::keep_lease(
        client.clone(),
        id.name.clone(),
        uid_rx,
    ));
    let pods = tokio::spawn(crate::pod::manager::run(Arc::new(
        pod_shared(&opts, &id, client, cri).await,
    )));
    let _ = tokio::join!(node, lease, pods);
    Ok(())
}

/// What the pod workers share, from the options and the machine.
async fn pod_shared(opts: &Options, id: &NodeIdentity, client: Client, cri: Cri) -> Shared {
    let machine = MachineFacts::read(&opts.root_dir);
    let status = crate::node_status::build(
        id,
        &machine,
        &crate::node_status::RuntimeHealth::Down(String::new()),
        None,
        berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::Time(
            berth_api_types::k8s::jiff::Timestamp::now(),
        ),
    );
    let mut allocatable = BTreeMap::new();
    for (name, q) in status.allocatable.unwrap_or_default() {
        if let Some(v) = berth_api_types::validation::quantity::Quantity::parse(&q.0) {
            let v = if name == "cpu" {
                v.milli_value()
            } else {
                v.value()
            };
            allocatable.insert(name, v);
        }
    }
    let runtime_name = cri
        .runtime
        .clone()
        .version(k8s_cri::v1::VersionRequest::default())
        .await
        .map(|v| v.into_inner().runtime_name)
        .unwrap_or_else(|_| "containerd".to_string());
    let node = NodeConfig {
        node_name: id.name.clone(),
        node_ip: id.ip,
        root_dir: opts.root_dir.clone(),
        logs_dir: opts.pod_logs_dir.clone(),
        cgroup_root: opts.cgroup_root.clone(),
        cluster_dns: opts.cluster_dns.clone(),
        cluster_domain: opts.cluster_domain.clone(),
        host_resolv: HostResolv::parse(
            &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        ),
    };
    Shared {
        events: Recorder::new(client.clone(), id.name.clone()),
        client,
        cri,
        node,
        runtime_name,
        memory_capacity: machine.memory_bytes as i64,
        allocatable,
    }
}
