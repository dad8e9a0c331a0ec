//! A private containerd for tests and benchmarks of the kubelet crate (and of anything that
//! needs real pods). Not used by Berth itself.
//!
//! [`TestNode::start`] claims a pod CIDR `10.244.N.0/24` (N from 16 to 239) by locking
//! `/run/berth-testenv/subnet-N.lock`, so tests in parallel, in other processes and of other
//! developers on the same machine never share a CIDR, bridge (`berth-tN`) or cgroup
//! (`/berth-tN`). It adds `unreachable` routes for `10.244.0.0/16`, its own CIDR and the
//! service range `10.96.0.0/12` before any pod exists, writes the containerd configuration
//! under a fresh temporary directory, starts containerd with its streaming server on a free
//! loopback port, waits for CRI, and imports the pause image and the busybox image
//! (`docker.io/library/busybox:test`, see [`crate::images::busybox`]).
//!
//! Dropping the node (also while a test panics) removes every sandbox, stops containerd,
//! kills leftover shims, unmounts, removes the cgroups, the bridge, the routes and the
//! directory. A process killed outright leaves its node behind; the next harness that claims
//! the same CIDR finds the record in the lock file and removes those leftovers first.
//!
//! Requires root, containerd, runc and the CNI plugins in `/usr/lib/cni`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::cri::{Cri, CriError};
use crate::images::import::{import, ImportError};
use crate::images::{busybox, pause};
use crate::runtime::cleanup::{clean_up, clean_up_processes_and_files};
use crate::runtime::config::DEFAULT_CNI_BIN_DIR;
use crate::runtime::{Containerd, Ipv4Net, RouteGuard, RuntimeConfig, RuntimeError, PAUSE_IMAGE};
use k8s_cri::v1::{
    ContainerConfig, CreateContainerRequest, LinuxPodSandboxConfig, PodSandboxConfig,
    PodSandboxMetadata, RunPodSandboxRequest, StartContainerRequest,
};

/// Where the CIDR locks live (a tmpfs, so a reboot frees every claim).
pub const LOCK_DIR: &str = "/run/berth-testenv";

/// The service range the routes keep on the machine.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";

/// The whole pod range the harness allocates from.
pub const POD_RANGE: &str = "10.244.0.0/16";

/// How long containerd may take to answer CRI on a loaded machine.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

const FIRST_SUBNET: u32 = 16;
const SUBNETS: u32 = 224;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why a test node could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    /// Root is required for containerd, mounts, cgroups and routes.
    #[error("the node test harness must run as root")]
    NotRoot,
    /// Programs the harness needs are not installed.
    #[error("missing: {0} (scripts/install-deps installs them)")]
    Missing(String),
    /// No pod CIDR in 10.244.16.0-10.244.239.0 was free.
    #[error("every test pod CIDR is in use (locks in {LOCK_DIR})")]
    NoFreeSubnet,
    /// A file of the harness could not be written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    /// The routes could not be added.
    #[error(transparent)]
    Route(#[from] crate::runtime::routes::RouteError),
    /// containerd did not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The pause or busybox image could not be imported.
    #[error("importing a test image: {0}")]
    Import(#[from] ImportError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> TestEnvError {
    let what = what.into();
    move |source| TestEnvError::Io { what, source }
}

/// A private containerd with its own pod network; see the module doc.
pub struct TestNode {
    containerd: Option<Containerd>,
    config: RuntimeConfig,
    routes: Option<RouteGuard>,
    lock: Option<File>,
    dir: Option<tempfile::TempDir>,
}

impl TestNode {
    /// Starts a node; see the module doc.
    pub async fn start() -> Result<TestNode, TestEnvError> {
        check_prerequisites()?;
        let (n, lock) = claim_subnet()?;
        let dir = tempfile::Builder::new()
            .prefix("berth-node-")
            .tempdir()
            .map_err(io_err("creating the node directory"))?;
        let config = RuntimeConfig {
            root_dir: dir.path().join("root"),
            state_dir: dir.path().join("run"),
            socket: dir.path().join("run/containerd.sock"),
            sandbox_image: PAUSE_IMAGE.to_string(),
            stream_address: Ipv4Addr::LOCALHOST.into(),
            stream_port: free_port()?,
            pod_cidr: format!("10.244.{n}.0/24").parse().expect("a valid CIDR"),
            bridge: format!("berth-t{n}"),
            cni_bin_dir: DEFAULT_CNI_BIN_DIR.into(),
            cgroup_root: format!("berth-t{n}"),
            netns: None,
        };
        let mut node = TestNode {
            containerd: None,
            config,
            routes: None,
            lock: Some(lock),
            dir: Some(dir),
        };
        node.record()?;
        node.routes = Some(RouteGuard::unreachable(&[
            POD_RANGE.parse().expect("a valid CIDR"),
            node.config.pod_cidr,
            SERVICE_CIDR.parse().expect("a valid CIDR"),
        ])?);
        // On failure `node` is dropped here, which removes whatever was created.
        node.containerd = Some(Containerd::start(&node.config, READY_WITHIN).await?);
        let busybox = busybox::image().map_err(io_err("building the busybox image"))?;
        for archive in [&pause::image().archive, &busybox.archive] {
            import(&node.endpoint(), archive).await?;
        }
        Ok(node)
    }

    /// Writes the configuration into the lock file, for the cleanup of a killed process.
    fn record(&mut self) -> Result<(), TestEnvError> {
        let lock = self.lock.as_mut().expect("held until drop");
        let json = serde_json::to_vec(&self.config).expect("the config serializes");
        lock.set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| lock.write_all(&json))
            .map_err(io_err("recording the node in its lock file"))
    }

    /// The node's runtime configuration (socket, CIDR, bridge, cgroup root, ...).
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The CRI endpoint, `unix:///.../containerd.sock`.
    pub fn endpoint(&self) -> String {
        self.config.endpoint()
    }

    /// A CRI client for this node.
    pub async fn cri(&self) -> Result<Cri, CriError> {
        Cri::connect(&self.endpoint()).await
    }

    /// A directory for pod logs (`PodSandboxConfig.log_directory`) that is removed with the
    /// node.
    pub fn log_dir(&self) -> PathBuf {
        self.config.state_dir.join("pod-logs")
    }

    /// containerd's process id.
    pub fn containerd_pid(&self) -> u32 {
        self.containerd.as_ref().map_or(0, Containerd::pid)
    }

    /// The cgroup parent for a pod, under this node's own cgroup root.
    pub fn pod_cgroup_parent(&self, pod_uid: &str) -> String {
        self.config.pod_cgroup_parent(pod_uid)
    }

    /// A sandbox configuration for test pod `name` in `namespace` with `uid`: hostname
    /// `name`, logs under [`TestNode::log_dir`], cgroup under this node's cgroup root.
    pub fn sandbox_config(&self, name: &str, namespace: &str, uid: &str) -> PodSandboxConfig {
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.to_string(),
                uid: uid.to_string(),
                namespace: namespace.to_string(),
                attempt: 0,
            }),
            hostname: name.to_string(),
            log_directory: self.log_dir().join(uid).display().to_string(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: self.pod_cgroup_parent(uid),
                ..LinuxPodSandboxConfig::default()
            }),
            ..PodSandboxConfig::default()
        }
    }

    /// Removes the node now and returns what could not be undone (empty when all went well).
    pub async fn shutdown(mut self) -> Vec<String> {
        let problems = clean_up(&self.config, self.containerd.take()).await;
        self.release();
        problems
    }

    fn release(&mut self) {
        self.routes = None;
        if let Some(lock) = self.lock.take() {
            let _ = lock.set_len(0);
        }
        self.dir = None;
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if self.lock.is_none() {
            return;
        }
        let config = self.config.clone();
        let containerd = self.containerd.take();
        // The CRI calls need a runtime of their own: drop may run inside the test's runtime,
        // which cannot be blocked on from within.
        let problems =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(clean_up(&config, containerd)),
                    Err(e) => {
                        let mut problems = vec![format!("no runtime for the CRI cleanup: {e}")];
                        clean_up_processes_and_files(&config, containerd, &mut problems);
                        problems
                    }
                }
            })
            .join()
            .unwrap_or_else(|_| vec!["the cleanup thread panicked".to_string()]);
        for p in problems {
            eprintln!("berth testenv cleanup of {}: {p}", self.config.bridge);
        }
        self.release();
    }
}

fn check_prerequisites() -> Result<(), TestEnvError> {
    if !rustix::process::geteuid().is_root() {
        return Err(TestEnvError::NotRoot);
    }
    let missing = crate::runtime::local::missing_prerequisites();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TestEnvError::Missing(missing.join("; ")))
    }
}

/// Runs a sandbox from `sandbox`, then creates `container` in it and starts it: a pod's
/// start as the raw runtime sees it. Returns the sandbox's and the container's ids.
pub async fn run_pod(
    cri: &mut Cri,
    sandbox: PodSandboxConfig,
    container: ContainerConfig,
) -> Result<(String, String), tonic::Status> {
    let sandbox_id = cri
        .runtime
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(sandbox.clone()),
            runtime_handler: String::new(),
        })
        .await?
        .into_inner()
        .pod_sandbox_id;
    let container_id = cri
        .runtime
        .create_container(CreateContainerRequest {
            pod_sandbox_id: sandbox_id.clone(),
            config: Some(container),
            sandbox_config: Some(sandbox),
        })
        .await?
        .into_inner()
        .container_id;
    cri.runtime
        .start_container(StartContainerRequest {
            container_id: container_id.clone(),
        })
        .await?;
    Ok((sandbox_id, container_id))
}

/// Locks the first free test CIDR number N (for `10.244.N.0/24`, bridge and cgroup
/// `berth-tN`), cleaning up after a dead previous holder. The claim lasts as long as the
/// returned file is open.
pub fn claim_subnet() -> Result<(u32, File), TestEnvError> {
    fs::create_dir_all(LOCK_DIR).map_err(io_err(format!("creating {LOCK_DIR}")))?;
    let start = std::process::id()
        .wrapping_mul(7)
        .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed));
    for i in 0..SUBNETS {
        let n = FIRST_SUBNET + (start.wrapping_add(i)) % SUBNETS;
        let path = Path::new(LOCK_DIR).join(format!("subnet-{n}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        if file.try_lock().is_err() {
            continue;
        }
        let mut previous = Vec::new();
        let _ = file.read_to_end(&mut previous);
        if let Ok(stale) = serde_json::from_slice::<RuntimeConfig>(&previous) {
            let mut problems = Vec::new();
            clean_up_processes_and_files(&stale, None, &mut problems);
            for p in problems {
                eprintln!(
                    "berth testenv: leftovers of a killed test on {}: {p}",
                    stale.bridge
                );
            }
            let _ = file.set_len(0);
        }
        if subnet_in_use(n) {
            continue;
        }
        return Ok((n, file));
    }
    Err(TestEnvError::NoFreeSubnet)
}

/// Whether something outside the harness uses CIDR number `n` (a route or a bridge).
fn subnet_in_use(n: u32) -> bool {
    if Path::new("/sys/class/net")
        .join(format!("berth-t{n}"))
        .exists()
    {
        return true;
    }
    let net: Ipv4Net = format!("10.244.{n}.0/24").parse().expect("a valid CIDR");
    std::process::Command::new("ip")
        .args(["-o", "route", "show", "exact", &net.to_string()])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(true)
}

/// A loopback TCP port no one listens on right now, for a server a test or benchmark starts.
pub fn free_port() -> Result<u16, TestEnvError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port())
}
