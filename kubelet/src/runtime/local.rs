//! The local node's runtime that `berth up` starts and `berth down` removes: a containerd
//! that outlives the command (like a service), its socket at
//! [`super::DEFAULT_CONTAINERD_SOCKET`], its state under `/run/berth/containerd`, its images
//! under the data directory so that they survive `berth down`, the pod CIDR `10.244.0.0/24`
//! on the bridge `berth0`, pods under the cgroup `/kubepods`, and `unreachable` routes for
//! the pod and service ranges. Starting it again while it runs is harmless.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_cri::v1::{ImageSpec, ImageStatusRequest, VersionRequest};

use super::cleanup::{clean_up_node, recorded_containerd};
use super::config::{Ipv4Net, RuntimeConfig, DEFAULT_CNI_BIN_DIR, PAUSE_IMAGE};
use super::process::{Containerd, RuntimeError};
use super::routes::{remove_unreachable, RouteError, RouteGuard};
use super::DEFAULT_CONTAINERD_SOCKET;
use crate::cri::Cri;
use crate::images::import::{import, ImportError};
use crate::images::pause;

/// How long containerd may take to answer CRI after `berth up` starts it.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// The metric of the local node's `unreachable` routes (other route owners use others).
pub const ROUTE_METRIC: u32 = 4_240_000;

/// The service range kept on the machine by the routes.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";

/// Where everything of one local node runtime goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRuntime {
    /// Runtime state (configuration, log, pid, containerd state, CNI, IPAM, pod netns).
    pub state_dir: PathBuf,
    /// containerd's root (the image store), kept across `berth down`.
    pub root_dir: PathBuf,
    /// The containerd socket.
    pub socket: PathBuf,
    /// The node's pod CIDR.
    pub pod_cidr: Ipv4Net,
    /// The CNI bridge.
    pub bridge: String,
    /// The cgroup directory the pods go under.
    pub cgroup_root: String,
    /// The ranges that get `unreachable` routes.
    pub unreachable: Vec<Ipv4Net>,
    /// The routes' metric.
    pub route_metric: u32,
}

impl LocalRuntime {
    /// The runtime of `berth up` with its data in `data_dir`.
    pub fn for_data_dir(data_dir: &Path) -> LocalRuntime {
        LocalRuntime {
            state_dir: PathBuf::from("/run/berth/containerd"),
            root_dir: data_dir.join("containerd"),
            socket: PathBuf::from(DEFAULT_CONTAINERD_SOCKET),
            pod_cidr: "10.244.0.0/24".parse().expect("a valid CIDR"),
            bridge: "berth0".into(),
            cgroup_root: "kubepods".into(),
            unreachable: vec![
                "10.244.0.0/16".parse().expect("a valid CIDR"),
                SERVICE_CIDR.parse().expect("a valid CIDR"),
            ],
            route_metric: ROUTE_METRIC,
        }
    }

    /// The record of the running runtime's configuration, read by `berth down`.
    pub fn record_file(&self) -> PathBuf {
        self.state_dir.join("runtime.json")
    }

    fn config(&self, stream_port: u16) -> RuntimeConfig {
        RuntimeConfig {
            root_dir: self.root_dir.clone(),
            state_dir: self.state_dir.clone(),
            socket: self.socket.clone(),
            sandbox_image: PAUSE_IMAGE.into(),
            stream_address: Ipv4Addr::LOCALHOST.into(),
            stream_port,
            pod_cidr: self.pod_cidr,
            bridge: self.bridge.clone(),
            cni_bin_dir: DEFAULT_CNI_BIN_DIR.into(),
            cgroup_root: self.cgroup_root.clone(),
            netns: None,
        }
    }

    fn recorded(&self) -> Option<RuntimeConfig> {
        serde_json::from_slice(&fs::read(self.record_file()).ok()?).ok()
    }
}

/// Why the local runtime could not be started or removed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Something the node needs is not on this machine; every item says what to install.
    #[error("missing prerequisites:\n  - {}", .0.join("\n  - "))]
    Missing(Vec<String>),
    /// containerd did not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The pause image could not be imported.
    #[error("importing the pause image: {0}")]
    Import(#[from] ImportError),
    /// The routes could not be set or removed.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// A file of the runtime could not be written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Removing the runtime left something behind.
    #[error("could not remove everything:\n  - {}", .0.join("\n  - "))]
    Leftovers(Vec<String>),
}

/// What the node's runtime needs, each missing item with the package that provides it.
pub fn missing_prerequisites() -> Vec<String> {
    let mut missing = Vec::new();
    if !rustix::process::geteuid().is_root() {
        missing.push("root: run berth up as root (containers, mounts, cgroups, routes)".into());
    }
    for (program, package) in [
        ("containerd", "containerd"),
        ("runc", "runc"),
        ("ip", "iproute2"),
        ("iptables", "iptables"),
    ] {
        if !on_path(program) {
            missing.push(format!("{program}: apt-get install {package}"));
        }
    }
    for plugin in ["bridge", "host-local", "loopback", "portmap"] {
        let p = Path::new(DEFAULT_CNI_BIN_DIR).join(plugin);
        if !p.is_file() {
            missing.push(format!(
                "{}: apt-get install containernetworking-plugins",
                p.display()
            ));
        }
    }
    missing
}

/// Whether `program` is an executable file in a `PATH` directory.
pub fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path).any(|d| d.join(program).is_file())
}

/// How [`up`] found the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpOutcome {
    /// containerd was started, with this pid.
    Started(u32),
    /// containerd was already running and answering, with this pid.
    AlreadyRunning(u32),
}

/// Starts the local runtime unless it already runs; see the module doc. Leftovers of a
/// runtime that died are removed first (keeping its images).
pub async fn up(local: &LocalRuntime) -> Result<(RuntimeConfig, UpOutcome), LocalError> {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        return Err(LocalError::Missing(missing));
    }
    RouteGuard::add_persistent(&local.unreachable, local.route_metric)?;
    if let Some(config) = local.recorded() {
        if let Some(pid) = recorded_containerd(&config) {
            if answers(&config).await {
                return Ok((
                    config,
                    UpOutcome::AlreadyRunning(pid.as_raw_nonzero().get() as u32),
                ));
            }
        }
        let problems = clean_up_node(&config, None, true).await;
        if !problems.is_empty() {
            return Err(LocalError::Leftovers(problems));
        }
    }
    let config = local.config(free_port()?);
    let containerd = Containerd::start(&config, READY_WITHIN).await?;
    let record = serde_json::to_vec_pretty(&config).expect("the config serializes");
    fs::write(local.record_file(), record).map_err(|source| LocalError::Io {
        what: format!("writing {}", local.record_file().display()),
        source,
    })?;
    if !has_image(&config, PAUSE_IMAGE).await {
        import(&config.endpoint(), &pause::image().archive).await?;
    }
    Ok((config, UpOutcome::Started(containerd.detach())))
}

/// Removes the local runtime: its pods, containerd, mounts, cgroups, bridge, routes and
/// state (not its images). Returns whether a runtime was recorded.
pub async fn down(local: &LocalRuntime) -> Result<bool, LocalError> {
    let recorded = local.recorded();
    let mut problems = match &recorded {
        Some(config) => clean_up_node(config, None, true).await,
        None => Vec::new(),
    };
    if let Err(e) = remove_unreachable(&local.unreachable, local.route_metric) {
        problems.push(e.to_string());
    }
    // `/run/berth` itself, once nothing of Berth's is left in it.
    if let Some(parent) = local.state_dir.parent() {
        let _ = fs::remove_dir(parent);
    }
    if problems.is_empty() {
        Ok(recorded.is_some())
    } else {
        Err(LocalError::Leftovers(problems))
    }
}

async fn answers(config: &RuntimeConfig) -> bool {
    let attempt = async {
        let mut cri = Cri::connect(&config.endpoint()).await.ok()?;
        cri.runtime.version(VersionRequest::default()).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), attempt).await,
        Ok(Some(_))
    )
}

async fn has_image(config: &RuntimeConfig, image: &str) -> bool {
    let Ok(mut cri) = Cri::connect(&config.endpoint()).await else {
        return false;
    };
    let status = cri
        .images
        .image_status(ImageStatusRequest {
            image: Some(ImageSpec {
                image: image.into(),
                ..ImageSpec::default()
            }),
            verbose: false,
        })
        .await;
    matches!(status, Ok(r) if r.get_ref().image.is_some())
}

fn free_port() -> Result<u16, LocalError> {
    let io = |source| LocalError::Io {
        what: "finding a free port for the streaming server".into(),
        source,
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
    Ok(listener.local_addr().map_err(io)?.port())
}
