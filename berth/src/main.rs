//! `berth`: the all-in-one command line of Berth.
//!
//! The commands here expose what exists so far: a single-node cluster on this machine (`up`,
//! `down`: see [`up`]), the API server (`apiserver`), resource listing and store inspection, the controllers (`controller-manager`),
//! the scheduler (`scheduler`), the node agent (`kubelet`) and loading images into a node's
//! containerd (`image import`). The other control-plane and
//! node commands (`server`, `agent`, `join`) arrive with the components that back them.

use anyhow::{Context, Result};
use berth_api_types::catalog::{ResourceInfo, CATALOG};
use berth_store::{RangeRequest, Store};
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

mod kubeconfig;
mod up;

// An allocator that hands freed memory back to the system promptly (see berth-apiserver).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Kubernetes API version Berth serves.
const KUBERNETES_VERSION: &str = "v1.33.0";

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
    /// Start a single-node cluster on this machine: the node's containerd, then the API
    /// server on the embedded store, the controllers, the scheduler and the kubelet in a
    /// background process. Returns once the node is Ready, with a `berth` context merged
    /// into $KUBECONFIG (its first file) or ~/.kube/config and made current. Running it
    /// again while the cluster is up only checks it and merges the context again.
    Up {
        /// Where the cluster keeps its state, certificates, kubeconfigs and log.
        #[arg(long, default_value_os_t = default_data_dir())]
        data_dir: PathBuf,
        /// HTTPS port of the API server.
        #[arg(long, default_value_t = 6443)]
        port: u16,
        /// Start only the control plane, not the node's container runtime and kubelet.
        #[arg(long)]
        no_node: bool,
        /// Run the cluster in this command until Ctrl-C instead of in the background.
        #[arg(long)]
        foreground: bool,
        /// How long to wait for the node to be Ready, in seconds.
        #[arg(long, default_value_t = 300)]
        wait: u64,
        /// The background process itself (started by `berth up`).
        #[arg(long, hide = true)]
        background_child: bool,
        /// containerd's state directory (with its socket).
        #[arg(long, hide = true)]
        runtime_dir: Option<PathBuf>,
        /// The node's pod CIDR.
        #[arg(long, hide = true)]
        pod_cidr: Option<berth_kubelet::runtime::Ipv4Net>,
        /// The pod bridge.
        #[arg(long, hide = true)]
        bridge: Option<String>,
        /// The cgroup all pods go under.
        #[arg(long, hide = true)]
        cgroup_parent: Option<String>,
        /// The metric of the `unreachable` routes.
        #[arg(long, hide = true)]
        route_metric: Option<u32>,
        /// The kubelet's node server port.
        #[arg(long, hide = true)]
        kubelet_port: Option<u16>,
    },
    /// Stop what `berth up` started on this machine and remove what it created: the cluster
    /// process, the node's pods, containerd, pod network, cgroups and routes, and the
    /// `berth` context of the kubeconfig. Images and the cluster's state are kept.
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
pub(crate) fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".berth"))
        .unwrap_or_else(|| PathBuf::from("/var/lib/berth"))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Starts the local node's containerd (or finds it running), printing each step.
pub(crate) fn start_node_runtime(
    local: &berth_kubelet::runtime::local::LocalRuntime,
) -> Result<()> {
    use berth_kubelet::runtime::local::{missing_prerequisites, up, UpOutcome};
    println!("Checking the node's prerequisites...");
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        anyhow::bail!(
            "berth up needs, for the node:\n  - {}\n(or run `berth up --no-node` for the control plane only)",
            missing.join("\n  - ")
        );
    }
    println!("Starting containerd ({})...", local.socket.display());
    let (_, outcome) = runtime()?.block_on(up(local))?;
    match outcome {
        UpOutcome::Started(pid) => {
            println!("containerd is running (pid {pid}); `berth down` stops it")
        }
        UpOutcome::AlreadyRunning(pid) => println!("containerd was already running (pid {pid})"),
    }
    Ok(())
}

fn main() -> Result<()> {
    berth_component_base::memcpy::prefer_vector_copies();
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
            let imported =
                runtime()?.block_on(berth_kubelet::images::import::import_file(&address, &file));
            let imported =
                imported.with_context(|| format!("importing {} into {address}", file.display()))?;
            for image in imported {
                for name in &image.names {
                    println!("imported {name} ({})", image.config_digest);
                }
            }
            Ok(())
        }
        Command::Down { data_dir } => up::down(&data_dir),
        Command::Up {
            data_dir,
            port,
            no_node,
            foreground,
            wait,
            background_child,
            runtime_dir,
            pod_cidr,
            bridge,
            cgroup_parent,
            route_metric,
            kubelet_port,
        } => {
            if background_child {
                // The settings were recorded by the `berth up` that started this process.
                let result = up::Settings::load(&data_dir)
                    .context("the cluster settings of the data directory are missing")
                    .and_then(|settings| up::run_foreground(&data_dir, settings, true));
                // The last line of the log says why, in one line: `berth up` shows the tail.
                if let Err(err) = result {
                    eprintln!("berth: the cluster stopped: {err:#}");
                    std::process::exit(1);
                }
                return Ok(());
            }
            let mut settings = up::Settings::new(port, no_node);
            if let Some(dir) = runtime_dir {
                settings.runtime_dir = dir;
            }
            if let Some(cidr) = pod_cidr {
                settings.pod_cidr = cidr;
            }
            if let Some(bridge) = bridge {
                settings.bridge = bridge;
            }
            settings.cgroup_parent = cgroup_parent;
            if let Some(metric) = route_metric {
                settings.route_metric = metric;
            }
            if let Some(port) = kubelet_port {
                settings.kubelet_port = port;
            }
            if foreground {
                up::run_foreground(&data_dir, settings, false)
            } else {
                up::up_in_background(&data_dir, settings, std::time::Duration::from_secs(wait))
            }
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
