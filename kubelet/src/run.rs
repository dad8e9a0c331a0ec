//! The kubelet's options and start-up: the API client from the kubeconfig, the runtime
//! connection, then the node, Lease and pod loops side by side until SIGINT or SIGTERM.
//! Stopping the kubelet stops none of its pods: a restarted kubelet adopts them.

use crate::cri::Cri;
use crate::node_status::NodeIdentity;
use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use std::net::IpAddr;
use std::path::PathBuf;

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
    let _ = tokio::join!(node, lease);
    Ok(())
}
