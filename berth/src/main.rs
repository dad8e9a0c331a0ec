//! `berth`: the all-in-one command line of Berth.
//!
//! The commands here expose what exists so far: the API server (`apiserver`, and `up`, which
//! for now starts the API server on the embedded store with the controllers and the scheduler
//! beside it), resource listing and store inspection, the controllers (`controller-manager`),
//! the scheduler (`scheduler`), the node agent (`kubelet`) and loading images into a node's
//! containerd (`image import`). The other control-plane and
//! node commands (`server`, `agent`, `join`) arrive with the components that back them.

use anyhow::{Context, Result};
use berth_api_types::catalog::{ResourceInfo, CATALOG};
use berth_store::{RangeRequest, Store};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

// An allocator that hands freed memory back to the system promptly (see berth-apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Kubernetes API version Berth serves.
const KUBERNETES_VERSION: &str = "v1.33.0";
/// The pod address range of a local cluster; `berth up` gives each node a /24 of it.
const POD_CIDR: &str = "10.244.0.0/16";

#[derive(Parser)]
#[command(
    name = "berth",
    version = concat!(env!("CARGO_PKG_VERSION"), " (Kubernetes API v1.33)"),
    about = "Berth: a small, fast Kubernetes-compatible control plane and node agent.",
    long_about = "Berth: a small, fast Kubernetes-compatible control plane and node agent.\n\n\
        What exists so far: the object model (the catalog of served resources, defaulting, \
        validation, label and field selectors, strategic-merge metadata), the durable store \
        (embedded SQLite, or an etcd cluster) and the API server that stock kubectl drives. \
        `berth up` starts the API server on the embedded store with the controllers and the \
        scheduler, and the local node's containerd and kubelet; the proxy is not in this build yet."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local cluster on the embedded store (for now: the API server, the
    /// controllers and the scheduler) and print where its kubeconfig is.
    Up {
        /// Where the cluster keeps its state, certificates and kubeconfig.
        #[arg(long, default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
        /// HTTPS port of the API server.
        #[arg(long, default_value_t = 6443)]
        port: u16,
        /// Start only the control plane, not the node's container runtime.
        #[arg(long)]
        no_node: bool,
    },
    /// Stop what `berth up` started on this machine and remove what it created: the node's
    /// pods, containerd, pod network, cgroups and routes. Images are kept.
    Down {
        /// The data directory `berth up` used.
        #[arg(long, default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
    },
    /// Run the API server (the same code as `berth-apiserver`).
    Apiserver(berth_apiserver::Options),
    /// Run the controllers (the same code as `berth-controller-manager`).
    ControllerManager(berth_controller_manager::Options),
    /// Run the node agent (the same code as `berth-kubelet`).
    Kubelet(berth_kubelet::run::Options),
    /// Run the scheduler (the same code as `berth-scheduler`).
    Scheduler(berth_scheduler::run::Options),
    /// Print Berth's version and the Kubernetes API version it serves.
    Version,
    /// List the API resources Berth serves, like `kubectl api-resources`.
    ApiResources {
        /// Only resources of this API group ("" or "core" for the core group).
        #[arg(long)]
        api_group: Option<String>,
        /// Only namespaced (true) or only cluster-scoped (false) resources.
        #[arg(long)]
        namespaced: Option<bool>,
    },
    /// Inspect a store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Manage the images of a node's container runtime.
    #[command(subcommand)]
    Image(ImageCommand),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Load an image archive (OCI image layout or `docker save`, optionally gzipped) into a
    /// node's containerd, without a registry. Pods can then use the image with
    /// `imagePullPolicy: IfNotPresent` or `Never`.
    Import {
        /// The archive.
        file: PathBuf,
        /// The node on this machine whose containerd gets the image (default: the node
        /// `berth up` runs).
        #[arg(long, conflicts_with = "containerd_address")]
        node: Option<String>,
        /// The containerd socket to import into (`unix:///path` or `/path`).
        #[arg(long)]
        containerd_address: Option<String>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Open an embedded store file, verify it, and print its revision and key counts.
    ///
    /// A file that is not a Berth store, or is damaged, is reported and left untouched.
    Check {
        /// The SQLite store file.
        file: PathBuf,
    },
    /// Connect to etcd and print its revision and the key counts under /registry/.
    CheckEtcd {
        /// Comma-separated client URLs, e.g. http://127.0.0.1:2379.
        #[arg(long, value_delimiter = ',', required = true)]
        etcd_servers: Vec<String>,
    },
}

/// `$HOME/.berth`, or `/var/lib/berth` when there is no home directory.
fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".berth"))
        .unwrap_or_else(|| PathBuf::from("/var/lib/berth"))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Starts the local node's containerd (or finds it running), printing each step.
fn start_node_runtime(data_dir: &std::path::Path) -> Result<()> {
    use berth_kubelet::runtime::local::{missing_prerequisites, up, LocalRuntime, UpOutcome};
    println!("Checking the node's prerequisites...");
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        anyhow::bail!(
            "berth up needs, for the node:\n  - {}\n(or run `berth up --no-node` for the control plane only)",
            missing.join("\n  - ")
        );
    }
    let local = LocalRuntime::for_data_dir(data_dir);
    println!("Starting containerd ({})...", local.socket.display());
    let (_, outcome) = runtime()?.block_on(up(&local))?;
    match outcome {
        UpOutcome::Started(pid) => {
            println!("containerd is running (pid {pid}); `berth down` stops it")
        }
        UpOutcome::AlreadyRunning(pid) => println!("containerd was already running (pid {pid})"),
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Image(ImageCommand::Import {
            file,
            node,
            containerd_address,
        }) => {
            let address = containerd_address.unwrap_or_else(|| {
                berth_kubelet::runtime::node_containerd_socket(node.as_deref())
                    .display()
                    .to_string()
            });
            let archive =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let imported =
                runtime()?.block_on(berth_kubelet::images::import::import(&address, &archive));
            let imported =
                imported.with_context(|| format!("importing {} into {address}", file.display()))?;
            for image in imported {
                for name in &image.names {
                    println!("imported {name} ({})", image.config_digest);
                }
            }
            Ok(())
        }
        Command::Down { data_dir } => {
            let local = berth_kubelet::runtime::local::LocalRuntime::for_data_dir(&data_dir);
            let removed = runtime()?.block_on(berth_kubelet::runtime::local::down(&local))?;
            if removed {
                println!("Removed the node runtime (containerd, pods, pod network, cgroups, routes); images kept in {}", local.root_dir.display());
            } else {
                println!("No node runtime was running.");
            }
            Ok(())
        }
        Command::Up {
            data_dir,
            port,
            no_node,
        } => {
            berth_component_base::init_tracing();
            if !no_node {
                start_node_runtime(&data_dir)?;
            }
            let options = berth_apiserver::Options {
                data_dir,
                bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                secure_port: port,
                advertise_address: None,
                etcd_servers: Vec::new(),
                service_cluster_ip_range: "10.96.0.0/12".into(),
                service_node_port_range: "30000-32767".into(),
                token_auth_file: None,
                node_name: None,
                event_ttl: std::time::Duration::from_secs(3600),
            };
            runtime()?.block_on(async move {
                let prepared = berth_apiserver::prepare(&options).await?;
                println!("Berth is up: API server on https://{}", prepared.address);
                println!("Kubeconfig: {}", prepared.kubeconfig.display());
                println!(
                    "Try: export KUBECONFIG={}; kubectl get ns",
                    prepared.kubeconfig.display()
                );
                println!("Press Ctrl-C to stop.");
                // The controllers run beside the server as its API clients, with their own
                // credentials; they stop with the process.
                let mut controllers = berth_controller_manager::Options::with_kubeconfig(
                    options.data_dir.join("controller-manager.kubeconfig"),
                );
                // Each node's pods get a /24 of the local cluster's pod range.
                controllers.allocate_node_cidrs = true;
                controllers.cluster_cidr = Some(POD_CIDR.to_owned());
                tokio::spawn(async move {
                    if let Err(err) = berth_controller_manager::run(controllers).await {
                        eprintln!("berth: the controller manager stopped: {err:#}");
                    }
                });
                // The scheduler likewise, with the kubeconfig issued to it.
                let scheduler = berth_scheduler::run::Options {
                    kubeconfig: options.data_dir.join("scheduler.kubeconfig"),
                    leader_elect: false,
                    scheduler_name: berth_scheduler::run::DEFAULT_SCHEDULER_NAME.into(),
                };
                tokio::spawn(async move {
                    if let Err(err) = berth_scheduler::run::run(scheduler).await {
                        eprintln!("berth: the scheduler stopped: {err:#}");
                    }
                });
                // The local node's kubelet, on the containerd started above, with the node
                // credentials the API server issued.
                if !no_node {
                    let local = berth_kubelet::runtime::local::LocalRuntime::for_data_dir(
                        &options.data_dir,
                    );
                    let mut kubelet = berth_kubelet::run::Options::new(
                        options.data_dir.join("kubelet.kubeconfig"),
                        format!("unix://{}", local.socket.display()),
                    );
                    kubelet.root_dir = options.data_dir.join("kubelet");
                    kubelet.pod_logs_dir = options.data_dir.join("pod-logs");
                    // The node server's certificate, from the cluster CA, for the node's
                    // address: the API server reaches logs, exec and port-forward through it.
                    let pki_dir = options.data_dir.join("pki");
                    let ca =
                        berth_component_base::pki::ClusterCa::load_or_create(&pki_dir, "berth-ca")?;
                    let serving = ca.issue_server(
                        "berth-kubelet",
                        &["localhost".to_owned()],
                        &[kubelet.identity().ip],
                    )?;
                    berth_component_base::pki::write_public(
                        &pki_dir.join("kubelet-serving.crt"),
                        &serving.cert_pem,
                    )?;
                    berth_component_base::pki::write_private(
                        &pki_dir.join("kubelet-serving.key"),
                        &serving.key_pem,
                    )?;
                    kubelet.tls_cert_file = Some(pki_dir.join("kubelet-serving.crt"));
                    kubelet.tls_private_key_file = Some(pki_dir.join("kubelet-serving.key"));
                    kubelet.client_ca_file = Some(pki_dir.join("ca.crt"));
                    tokio::spawn(async move {
                        if let Err(err) = berth_kubelet::run::run_until_stopped(kubelet).await {
                            eprintln!("berth: the kubelet stopped: {err:#}");
                        }
                    });
                }
                berth_apiserver::server::serve(
                    prepared.listener,
                    prepared.tls,
                    prepared.state,
                    berth_component_base::shutdown_signal(),
                )
                .await?;
                Ok(())
            })
        }
        Command::Apiserver(options) => {
            berth_component_base::init_tracing();
            runtime()?.block_on(berth_apiserver::run(options))
        }
        Command::ControllerManager(options) => {
            berth_component_base::init_tracing();
            runtime()?.block_on(berth_controller_manager::run(options))
        }
        Command::Kubelet(options) => {
            berth_component_base::init_tracing();
            runtime()?.block_on(berth_kubelet::run::run(options))
        }
        Command::Scheduler(options) => {
            berth_component_base::init_tracing();
            runtime()?.block_on(berth_scheduler::run::run(options))
        }
        Command::Version => {
            println!("berth {}", env!("CARGO_PKG_VERSION"));
            println!("Kubernetes API {KUBERNETES_VERSION}");
            Ok(())
        }
        Command::ApiResources {
            api_group,
            namespaced,
        } => {
            let group = api_group.map(|g| if g == "core" { String::new() } else { g });
            let rows: Vec<&ResourceInfo> = CATALOG
                .iter()
                .filter(|r| group.as_deref().is_none_or(|g| r.group == g))
                .filter(|r| namespaced.is_none_or(|n| r.namespaced == n))
                .collect();
            print!("{}", api_resources_table(&rows));
            Ok(())
        }
        Command::Store(cmd) => runtime()?.block_on(store_command(cmd)),
    }
}

/// Renders resources in `kubectl api-resources` columns, sorted by group then name.
fn api_resources_table(rows: &[&ResourceInfo]) -> String {
    let mut rows: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.plural.to_owned(),
                r.short_names.join(","),
                r.api_version(),
                r.namespaced.to_string(),
                r.kind.to_owned(),
            ]
        })
        .collect();
    rows.sort_by(|a, b| {
        (a[2].contains('/'), &a[2], &a[0]).cmp(&(b[2].contains('/'), &b[2], &b[0]))
    });
    let header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}

async fn store_command(cmd: StoreCommand) -> Result<()> {
    let store: Box<dyn Store> = match &cmd {
        StoreCommand::Check { file } => {
            anyhow::ensure!(file.exists(), "{}: no such file", file.display());
            Box::new(berth_store::sqlite::SqliteStore::open(file)?)
        }
        StoreCommand::CheckEtcd { etcd_servers } => {
            let store = berth_store::etcd::EtcdStore::connect(etcd_servers).await?;
            store.health().await.context("etcd is not answering")?;
            Box::new(store)
        }
    };
    let all = store
        .range(RangeRequest::prefix(berth_store::keys::ROOT))
        .await
        .context("reading the store")?;
    println!("revision: {}", all.revision);
    println!("keys: {}", all.kvs.len());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for kv in &all.kvs {
        *counts.entry(resource_of(&kv.key)).or_default() += 1;
    }
    for (resource, n) in counts {
        println!("  {resource}: {n}");
    }
    Ok(())
}

/// The resource part of a storage key: `pods` or `apps/deployments`.
fn resource_of(key: &str) -> String {
    let rest = key.strip_prefix(berth_store::keys::ROOT).unwrap_or(key);
    let mut parts = rest.split('/');
    let first = parts.next().unwrap_or_default();
    if first.contains('.')
        || CATALOG
            .iter()
            .any(|r| !r.group.is_empty() && r.group == first)
    {
        format!("{first}/{}", parts.next().unwrap_or_default())
    } else {
        first.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_of_splits_group_and_plural() {
        for (key, want) in [
            ("/registry/pods/default/web", "pods"),
            ("/registry/apps/deployments/default/web", "apps/deployments"),
            (
                "/registry/rbac.authorization.k8s.io/clusterroles/admin",
                "rbac.authorization.k8s.io/clusterroles",
            ),
            ("/registry/nodes/a", "nodes"),
        ] {
            assert_eq!(resource_of(key), want, "{key}");
        }
    }

    #[test]
    fn api_resources_lists_core_first_with_short_names() {
        let all: Vec<&ResourceInfo> = CATALOG.iter().collect();
        let table = api_resources_table(&all);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME"));
        assert_eq!(lines.len(), CATALOG.len() + 1);
        let pods = lines
            .iter()
            .find(|l| l.starts_with("pods "))
            .expect("pods row");
        let cells: Vec<&str> = pods.split_whitespace().collect();
        assert_eq!(cells, ["pods", "po", "v1", "true", "Pod"]);
        let first_grouped = lines.iter().position(|l| l.contains("apps/v1")).unwrap();
        let last_core = lines
            .iter()
            .rposition(|l| {
                l.split_whitespace().nth(2) == Some("v1")
                    || l.split_whitespace().nth(1) == Some("v1")
            })
            .unwrap();
        assert!(last_core < first_grouped, "core resources come first");
    }
}
