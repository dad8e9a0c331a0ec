//! Black-box conformance harness for Berth.
//!
//! The suite judges Berth the way its users meet it: over the wire, through stock kubectl
//! binaries and the `kube` client library, never through Berth's own crates. This module
//! starts a real `berth-apiserver` process on a free loopback port with a throw-away data
//! directory ([`Cluster`]), runs any installed kubectl release against it with a hard timeout
//! ([`Kubectl`]), and fans one check out over every installed kubectl release at once
//! ([`across_kubectls`]) so a failure names the release it broke. Tests of controllers start
//! `berth-controller-manager` processes next to the server
//! ([`Cluster::start_controller_manager`]), and tests of the scheduler `berth-scheduler`
//! ([`Cluster::start_scheduler`]), each authenticated with the kubeconfig the server wrote for
//! it; [`fake_node`] registers nodes that play a kubelet's part through the API.
//!
//! The harness does not build the server. Run `cargo build -p berth-apiserver` before
//! `cargo test -p berth-conformance` (a workspace-wide `cargo test` builds it anyway), or point
//! `BERTH_APISERVER_BIN` at a binary; likewise `cargo build -p berth-controller-manager` or
//! `BERTH_CONTROLLER_MANAGER_BIN` for the controller tests and `cargo build -p berth-scheduler`
//! or `BERTH_SCHEDULER_BIN` for the scheduler tests. kubectl releases are looked up as
//! `kubectl.1.<minor>` in `BERTH_KUBECTL_DIR` (default [`DEFAULT_KUBECTL_DIR`]).
//!
//! Trade-off: the server is killed when its [`Cluster`] is dropped, which also happens while a
//! failing test unwinds; a test process killed outright by a signal leaves it running until
//! the next reboot or a manual kill, since stopping it from the outside would need `unsafe`.

pub mod bench_shapes;
pub mod fake_node;

use anyhow::{anyhow, bail, ensure, Context, Result};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The kubectl minor releases Berth must serve (1.27 to 1.33).
pub const KUBECTL_MINORS: RangeInclusive<u32> = 27..=33;

/// Where the kubectl releases live unless `BERTH_KUBECTL_DIR` says otherwise.
pub const DEFAULT_KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// How long one kubectl command may run before it is killed and the check fails.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a fresh server may take to answer `/readyz`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of the server log a failed test shows ([`Cluster::report`]).
pub const REPORT_SERVER_LOG_LINES: usize = 300;

/// How often waiting code looks again; short, so waits end soon after the state arrives.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Finds the `berth-apiserver` binary to test.
///
/// Order: `BERTH_APISERVER_BIN`; the target directory this test executable was built into;
/// `target/debug/berth-apiserver` under the workspace root. The error says how to build it.
pub fn apiserver_binary() -> Result<PathBuf> {
    binary("berth-apiserver", "BERTH_APISERVER_BIN")
}

/// Finds the `berth-controller-manager` binary to test, as [`apiserver_binary`] does (the
/// variable is `BERTH_CONTROLLER_MANAGER_BIN`).
pub fn controller_manager_binary() -> Result<PathBuf> {
    binary("berth-controller-manager", "BERTH_CONTROLLER_MANAGER_BIN")
}

/// Finds the `berth-scheduler` binary to test, as [`apiserver_binary`] does (the variable is
/// `BERTH_SCHEDULER_BIN`).
pub fn scheduler_binary() -> Result<PathBuf> {
    binary("berth-scheduler", "BERTH_SCHEDULER_BIN")
}

fn binary(name: &str, env_var: &str) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    // Test executables live in <target>/<profile>/deps; the binaries sit one level up.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(deps) = exe
            .parent()
            .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
        {
            if let Some(profile_dir) = deps.parent() {
                candidates.push(profile_dir.join(name));
            }
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/debug/{name}")));
    locate_binary(
        name,
        env_var,
        std::env::var_os(env_var).map(PathBuf::from),
        &candidates,
    )
}

fn locate_binary(
    name: &str,
    env_var: &str,
    explicit: Option<PathBuf>,
    candidates: &[PathBuf],
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        ensure!(
            path.is_file(),
            "{env_var} is {}, which is not a file",
            path.display()
        );
        return Ok(path);
    }
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    bail!(
        "the {name} binary is missing (looked at {}); build it first with \
         `cargo build -p {name}`, or set {env_var} to a binary",
        looked.join(", ")
    )
}

/// The directory holding the `kubectl.1.<minor>` binaries.
pub fn kubectl_dir() -> PathBuf {
    std::env::var_os("BERTH_KUBECTL_DIR")
        .map_or_else(|| PathBuf::from(DEFAULT_KUBECTL_DIR), PathBuf::from)
}

/// The installed kubectl minors within `minors`, lowest first.
///
/// Fails when none is installed: a suite that ran no client proves nothing.
pub fn installed_kubectl_minors(minors: RangeInclusive<u32>) -> Result<Vec<u32>> {
    let dir = kubectl_dir();
    let (first, last) = (*minors.start(), *minors.end());
    let found: Vec<u32> = minors
        .filter(|m| dir.join(format!("kubectl.1.{m}")).is_file())
        .collect();
    ensure!(
        !found.is_empty(),
        "no kubectl.1.{first} … kubectl.1.{last} in {}; install them or set BERTH_KUBECTL_DIR",
        dir.display()
    );
    if found.len() != (last - first + 1) as usize {
        let listed: Vec<String> = found.iter().map(|m| format!("1.{m}")).collect();
        eprintln!(
            "note: of kubectl 1.{first} to 1.{last}, only {} are installed in {}",
            listed.join(", "),
            dir.display()
        );
    }
    Ok(found)
}

/// A private etcd for one cluster, started when `BERTH_CONFORMANCE_STORE=etcd`.
struct Etcd {
    child: Child,
    endpoint: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether etcd at `port` answers its health endpoint with `"health":"true"`.
fn etcd_healthy(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

impl Etcd {
    /// Starts etcd on free loopback ports inside `dir` and waits until it is healthy. Tests
    /// running in parallel pick free ports at the same time, so another process may take a
    /// port between the pick and etcd's bind: an etcd that exits before it is healthy is
    /// started again on fresh ports (three tries), and the error carries the log's tail.
    fn start(dir: &Path) -> Result<Etcd> {
        let mut last = None;
        for attempt in 0..3 {
            match Etcd::start_once(dir, attempt) {
                Ok(etcd) => return Ok(etcd),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("etcd did not start")))
    }

    fn start_once(dir: &Path, attempt: u32) -> Result<Etcd> {
        let (client, peer, metrics) = (free_port()?, free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client}");
        let log_path = dir.join(format!("etcd-{attempt}.log"));
        let log = std::fs::File::create(&log_path).context("creating the etcd log")?;
        let child = Command::new(std::env::var("BERTH_ETCD_BIN").unwrap_or_else(|_| "etcd".into()))
            .args(["--name", "conformance", "--data-dir"])
            .arg(dir.join(format!("etcd-{attempt}")))
            .args([
                "--listen-client-urls",
                &endpoint,
                "--advertise-client-urls",
                &endpoint,
            ])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
            ])
            .args([
                "--initial-cluster",
                &format!("conformance=http://127.0.0.1:{peer}"),
            ])
            .args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{metrics}"),
            ])
            .args(["--heartbeat-interval=10", "--election-timeout=100"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("sharing the etcd log")?)
            .stderr(log)
            .spawn()
            .context("starting etcd (Debian's etcd-server package)")?;
        let mut etcd = Etcd { child, endpoint };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !etcd_healthy(client) {
            if let Ok(Some(status)) = etcd.child.try_wait() {
                let text = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                bail!(
                    "etcd exited with {status}; the end of its log:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            ensure!(
                Instant::now() < deadline,
                "etcd was not healthy within {READY_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(etcd)
    }
}

/// A running `berth-apiserver` with its own data directory, stopped when dropped. With
/// `BERTH_CONFORMANCE_STORE=etcd` it runs on a private etcd instead of the embedded store.
pub struct Cluster {
    child: Child,
    // Dropped after the server: fields drop in declaration order.
    _etcd: Option<Etcd>,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    server: String,
}

impl Cluster {
    /// Starts a server on a free loopback port with a fresh data directory and waits until
    /// `/readyz` answers `ok`, trusting only the CA the server generated.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(&apiserver_binary()?)
    }

    /// The server's process id.
    pub fn server_pid(&self) -> u32 {
        self.child.id()
    }

    /// Like [`Cluster::start`], with extra `berth-apiserver` flags.
    pub fn start_with_args(args: &[&str]) -> Result<Cluster> {
        Cluster::launch(&apiserver_binary()?, args)
    }

    /// Like [`Cluster::start`], with the server binary given.
    pub fn start_with(binary: &Path) -> Result<Cluster> {
        Cluster::launch(binary, &[])
    }

    fn launch(binary: &Path, extra_args: &[&str]) -> Result<Cluster> {
        let dir = tempfile::Builder::new()
            .prefix("berth-conformance-")
            .tempdir()
            .context("creating a temp dir")?;
        let data_dir = dir.path().join("data");
        let etcd = match std::env::var("BERTH_CONFORMANCE_STORE").as_deref() {
            Ok("etcd") => Some(Etcd::start(dir.path())?),
            Ok("") | Ok("sqlite") | Err(_) => None,
            Ok(other) => bail!("BERTH_CONFORMANCE_STORE must be sqlite or etcd, not {other:?}"),
        };
        let log_path = dir.path().join("apiserver.log");
        let log = std::fs::File::create(&log_path).context("creating the server log")?;
        // Port 0 lets the kernel pick a free port while the server binds, so parallel tests
        // cannot race for one; the server writes the port it got into its kubeconfig.
        let child = Command::new(binary)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--bind-address", "127.0.0.1", "--secure-port", "0"])
            .args(
                etcd.iter()
                    .flat_map(|e| ["--etcd-servers".to_owned(), e.endpoint.clone()]),
            )
            .args(extra_args)
            // Plain text in the log file, with each request logged for failure reports.
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info,berth_apiserver=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("sharing the server log")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut cluster = Cluster {
            child,
            _etcd: etcd,
            dir,
            kubeconfig: data_dir.join("admin.kubeconfig"),
            server: String::new(),
        };
        if let Err(err) = cluster.wait_ready() {
            return Err(err.context(format!(
                "berth-apiserver did not become ready; its log:\n{}",
                cluster.server_log()
            )));
        }
        Ok(cluster)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let ca = self.data_dir().join("pki").join("ca.crt");
        let kubeconfig = self.kubeconfig.clone();
        let child = &mut self.child;
        // The probe needs an async runtime of its own; a thread keeps it apart from any
        // runtime the calling test may already be inside.
        let server = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<String> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        let mut last_error = String::from("the kubeconfig was never written");
                        loop {
                            if let Some(status) = child.try_wait()? {
                                bail!("berth-apiserver exited early with {status}");
                            }
                            if kubeconfig.is_file() {
                                // One probe may not outlast the deadline on a server that
                                // accepts connections but never answers.
                                let left = deadline.saturating_duration_since(Instant::now());
                                match tokio::time::timeout(left, probe_ready(&kubeconfig, &ca))
                                    .await
                                {
                                    Ok(Ok(server)) => return Ok(server),
                                    Ok(Err(err)) => last_error = format!("{err:#}"),
                                    Err(_) => last_error = "the last probe got no answer".into(),
                                }
                            }
                            if Instant::now() > deadline {
                                bail!("/readyz not ok after {READY_TIMEOUT:?}: {last_error}");
                            }
                            tokio::time::sleep(POLL_INTERVAL).await;
                        }
                    })
                })
                .join()
                .map_err(|_| anyhow!("the readiness probe panicked"))?
        })?;
        self.server = server;
        Ok(())
    }

    /// The admin kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The server's URL, `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The server's data directory (store, PKI, kubeconfig).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything the server logged so far, for failure messages.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("apiserver.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Fails the test when `result` is an error: panics with the error, the last
    /// [`REPORT_SERVER_LOG_LINES`] lines of the server log and the whole log of each of
    /// `components`, so every test's failure carries the same evidence.
    #[track_caller]
    pub fn report(&self, components: &[&ControllerManager], result: Result<()>) {
        let Err(err) = result else { return };
        let log = self.server_log();
        let lines: Vec<&str> = log.lines().collect();
        let mut message = format!(
            "{err:#}\n\n--- server log (last {REPORT_SERVER_LOG_LINES} lines)\n{}",
            lines[lines.len().saturating_sub(REPORT_SERVER_LOG_LINES)..].join("\n")
        );
        for component in components {
            message.push_str(&format!(
                "\n--- {} log\n{}",
                component.name,
                component.log()
            ));
        }
        panic!("{message}");
    }

    /// Writes a manifest into this cluster's scratch directory and returns its path.
    pub fn write_manifest(&self, file_name: &str, contents: &str) -> Result<PathBuf> {
        let dir = self.dir.path().join("manifests");
        std::fs::create_dir_all(&dir).context("creating the manifest dir")?;
        let path = dir.join(file_name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Writes `manifest` as `<name>.yaml` and runs `kubectl apply -f` on it off the async
    /// workers (see [`kubectl_ok`]); returns kubectl's stdout, failing unless it succeeds.
    pub async fn apply(&self, k: &Kubectl, name: &str, manifest: &str) -> Result<String> {
        self.on_manifest(k, "apply", name, manifest).await
    }

    /// Like [`Cluster::apply`] with `kubectl create -f`.
    pub async fn create(&self, k: &Kubectl, name: &str, manifest: &str) -> Result<String> {
        self.on_manifest(k, "create", name, manifest).await
    }

    async fn on_manifest(
        &self,
        k: &Kubectl,
        verb: &str,
        name: &str,
        manifest: &str,
    ) -> Result<String> {
        let path = self.write_manifest(&format!("{name}.yaml"), manifest)?;
        kubectl_ok(k, &[verb, "-f", &path.display().to_string()]).await
    }

    /// kubectl 1.`minor` pointed at this cluster, with a discovery cache of its own.
    pub fn kubectl(&self, minor: u32) -> Result<Kubectl> {
        let binary = kubectl_dir().join(format!("kubectl.1.{minor}"));
        ensure!(
            binary.is_file(),
            "kubectl 1.{minor} is not installed at {}",
            binary.display()
        );
        Ok(Kubectl {
            minor,
            binary,
            kubeconfig: self.kubeconfig.clone(),
            cache_dir: self.dir.path().join(format!("kubectl-cache-1.{minor}")),
            timeout: KUBECTL_TIMEOUT,
        })
    }

    /// Every installed kubectl within `minors`, pointed at this cluster.
    pub fn kubectls(&self, minors: RangeInclusive<u32>) -> Result<Vec<Kubectl>> {
        installed_kubectl_minors(minors)?
            .into_iter()
            .map(|m| self.kubectl(m))
            .collect()
    }

    /// A `kube` client authenticated as the cluster admin.
    pub async fn client(&self) -> Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
    }
}

/// A running control-plane component (`berth-controller-manager` or `berth-scheduler`),
/// stopped (killed) when dropped.
pub struct ControllerManager {
    child: Child,
    log: PathBuf,
    name: &'static str,
}

/// A running `berth-scheduler`: the same handle as a controller manager's.
pub type Scheduler = ControllerManager;

impl ControllerManager {
    /// Everything it logged so far, for failure messages and log checks.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits up to `timeout` for it to exit; fails
    /// (and kills it) when it does not.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("running kill")?;
        ensure!(sent.success(), "kill -TERM {} failed", self.child.id());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.kill();
                bail!("{} did not stop within {timeout:?} of SIGTERM", self.name);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for ControllerManager {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Cluster {
    /// Starts a `berth-controller-manager` against this cluster with the kubeconfig the server
    /// wrote for it, adding `args`; its log goes to a file of its own in the scratch directory.
    pub fn start_controller_manager(&self, args: &[&str]) -> Result<ControllerManager> {
        self.start_component(
            "berth-controller-manager",
            &controller_manager_binary()?,
            "controller-manager",
            args,
        )
    }

    /// Starts a `berth-scheduler` against this cluster with the kubeconfig the server wrote
    /// for it (user `system:kube-scheduler`), adding `args`; its log goes to a file of its own.
    pub fn start_scheduler(&self, args: &[&str]) -> Result<Scheduler> {
        self.start_component("berth-scheduler", &scheduler_binary()?, "scheduler", args)
    }

    fn start_component(
        &self,
        name: &'static str,
        binary: &Path,
        file_stem: &str,
        args: &[&str],
    ) -> Result<ControllerManager> {
        let log = (0..)
            .map(|n| self.dir.path().join(format!("{file_stem}-{n}.log")))
            .find(|p| !p.exists())
            .context("no free log file name")?;
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating the {name} log"))?;
        let child = Command::new(binary)
            .arg("--kubeconfig")
            .arg(self.data_dir().join(format!("{file_stem}.kubeconfig")))
            .args(args)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(file.try_clone().context("sharing the component log")?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(ControllerManager { child, log, name })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Errors only mean the process is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `/readyz` probe that trusts only the CA file in the data directory; returns the
/// server URL when the answer is `ok`.
async fn probe_ready(kubeconfig: &Path, ca: &Path) -> Result<String> {
    let mut config = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let cluster = config
        .clusters
        .first_mut()
        .and_then(|c| c.cluster.as_mut())
        .context("the kubeconfig names no cluster")?;
    let server = cluster
        .server
        .clone()
        .context("the kubeconfig names no server")?;
    cluster.certificate_authority_data = None;
    cluster.certificate_authority = Some(ca.display().to_string());
    let config =
        kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
            .await?;
    let client = kube::Client::try_from(config)?;
    let request = http::Request::get("/readyz").body(Vec::new())?;
    let body = client.request_text(request).await?;
    ensure!(body.trim() == "ok", "/readyz answered {body:?}");
    Ok(server)
}

/// What one kubectl command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// How kubectl exited.
    pub status: ExitStatus,
    /// Everything it printed to stdout.
    pub stdout: String,
    /// Everything it printed to stderr.
    pub stderr: String,
}

impl Output {
    /// Whether kubectl exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Passes the output through when kubectl succeeded, or fails with all it printed.
    pub fn ok(self) -> Result<Output> {
        ensure!(self.success(), "expected success:\n{self}");
        Ok(self)
    }

    /// Passes the output through when kubectl failed, or fails with all it printed.
    pub fn failed(self) -> Result<Output> {
        ensure!(!self.success(), "expected failure:\n{self}");
        Ok(self)
    }

    /// Fails unless stdout contains `needle`.
    pub fn stdout_has(&self, needle: &str) -> Result<&Output> {
        ensure!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{self}"
        );
        Ok(self)
    }

    /// Fails unless stderr contains `needle`.
    pub fn stderr_has(&self, needle: &str) -> Result<&Output> {
        ensure!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{self}"
        );
        Ok(self)
    }

    /// The first whitespace-separated word of every stdout line after the header.
    pub fn first_column(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect()
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\n[{}]\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// One kubectl release pointed at one [`Cluster`].
#[derive(Debug, Clone)]
pub struct Kubectl {
    minor: u32,
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
    timeout: Duration,
}

impl Kubectl {
    /// The minor release, `27` for kubectl 1.27.
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// `1.27` and so on.
    pub fn version(&self) -> String {
        format!("1.{}", self.minor)
    }

    /// `prefix-27` and so on: object names that keep releases apart when they share a server.
    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.minor)
    }

    /// The same kubectl with another time limit per command.
    pub fn with_timeout(mut self, timeout: Duration) -> Kubectl {
        self.timeout = timeout;
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(args);
        // Nothing from the caller's environment may steer the client elsewhere.
        cmd.env_remove("KUBECONFIG")
            .env("HOME", self.cache_dir.parent().unwrap_or(Path::new("/tmp")));
        cmd
    }

    fn describe(&self, args: &[&str]) -> String {
        format!("kubectl.{} {}", self.version(), args.join(" "))
    }

    /// Runs kubectl with `args`; fails only when it cannot start or outlives the time limit
    /// (it is then killed). A non-zero exit is returned as an [`Output`] to be judged.
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        self.run_with_stdin(args, None)
    }

    /// Runs kubectl with `args` every [`POLL_INTERVAL`] until it succeeds and `done` accepts
    /// its stdout, which it returns; fails after `within` with the last attempt's output.
    pub fn run_until(
        &self,
        args: &[&str],
        within: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + within;
        loop {
            let out = self.run(args)?;
            if out.success() && done(&out.stdout) {
                return Ok(out.stdout);
            }
            if Instant::now() > deadline {
                bail!(
                    "`{}` did not get there within {within:?}; last: {out}",
                    self.describe(args)
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Like [`Kubectl::run`], feeding `stdin` to the command.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Result<Output> {
        self.run_with(args, stdin, &[])
    }

    /// Like [`Kubectl::run`], with extra environment variables (such as `EDITOR` for
    /// `kubectl edit`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
        self.run_with(args, None, env)
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Result<Output> {
        let command = self.describe(args);
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut cmd).with_context(|| format!("starting {command}"))?;
        // Pipes are drained on their own threads so a chatty command never blocks on a full pipe.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        if let (Some(mut pipe), Some(input)) = (child.stdin.take(), stdin) {
            let input = input.to_owned();
            std::thread::spawn(move || pipe.write_all(input.as_bytes()));
        }
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .with_context(|| format!("waiting for {command}"))?
            {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{command} did not finish within {:?} and was killed\n--- stdout\n{}\n--- stderr\n{}",
                    self.timeout,
                    stdout.join().unwrap_or_default(),
                    stderr.join().unwrap_or_default()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        };
        Ok(Output {
            command,
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Starts a long-running kubectl (such as `get -w`) whose stdout is read line by line.
    pub fn stream(&self, args: &[&str]) -> Result<LineStream> {
        let command = self.describe(args);
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut cmd).with_context(|| format!("starting {command}"))?;
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().context("no stdout pipe")?;
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = drain(child.stderr.take());
        Ok(LineStream {
            command,
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        })
    }
}

/// Starts `cmd`, trying again for a while when the program is "Text file busy" (ETXTBSY).
///
/// A test that has just written an executable script (a fake kubectl, an `EDITOR`) may find
/// it busy: another test thread that forked while the script's file was open for writing
/// holds a copy of that descriptor until its child calls exec. The copy goes away within
/// moments, so the start is retried instead of failing the test.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// A running kubectl whose stdout lines arrive as it prints them; killed when dropped.
pub struct LineStream {
    command: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl LineStream {
    /// Waits up to `timeout` for the next line that satisfies `matches` and returns it.
    /// Lines that do not match are kept for the failure message.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return Ok(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let report = self.report();
                    bail!(
                        "{}: no line with {what} within {timeout:?}\n{report}",
                        self.command
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let report = self.report();
                    bail!(
                        "{}: output ended before a line with {what}\n{report}",
                        self.command
                    )
                }
            }
        }
    }

    fn report(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        format!(
            "--- stdout so far\n{}\n--- stderr\n{stderr}",
            self.seen.join("\n")
        )
    }

    /// Waits up to `timeout` for the command to exit on its own and returns its status; on
    /// timeout it is killed and the output so far is reported.
    pub fn finish(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let report = self.report();
                bail!(
                    "{} did not finish within {timeout:?}\n{report}",
                    self.command
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Whether the command is still running (a watch should be, until it is killed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `check` once per kubectl, all at the same time, and fails with one section per
/// release that failed (a panicking check counts as a failure).
pub fn across_kubectls<F>(kubectls: &[Kubectl], check: F) -> Result<()>
where
    F: Fn(&Kubectl) -> Result<()> + Sync,
{
    ensure!(!kubectls.is_empty(), "no kubectl to run");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = kubectls
            .iter()
            .map(|k| (k, scope.spawn(|| check(k))))
            .collect();
        handles
            .into_iter()
            .filter_map(|(k, handle)| match handle.join() {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(format!("kubectl {}: {err:#}", k.version())),
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    Some(format!("kubectl {}: panicked: {message}", k.version()))
                }
            })
            .collect()
    });
    if failures.is_empty() {
        return Ok(());
    }
    let versions: Vec<String> = failures
        .iter()
        .filter_map(|f| f.split(':').next().map(str::to_owned))
        .collect();
    bail!(
        "failed for {}:\n\n{}",
        versions.join(", "),
        failures.join("\n\n")
    )
}

/// Starts a cluster and a `berth-controller-manager` against it without leader election,
/// with `extra` flags; fails the test (panics with the reason) when either does not start.
pub fn cluster_with_controllers(extra: &[&str]) -> (Cluster, ControllerManager) {
    let cluster = Cluster::start().unwrap_or_else(|err| panic!("{err:#}"));
    let mut args = vec!["--leader-elect=false"];
    args.extend_from_slice(extra);
    let cm = cluster
        .start_controller_manager(&args)
        .unwrap_or_else(|err| panic!("{err:#}"));
    (cluster, cm)
}

/// Runs kubectl off the async workers and returns its stdout; fails unless it succeeds.
pub async fn kubectl_ok(k: &Kubectl, args: &[&str]) -> Result<String> {
    let k = k.clone();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Ok(k.run(&args)?.ok()?.stdout)
    })
    .await?
}

/// The live pods (no deletion timestamp) whose controller is the object with `owner_uid`.
pub async fn owned_pods(
    pods: &kube::Api<k8s_openapi::api::core::v1::Pod>,
    owner_uid: &str,
) -> Result<Vec<k8s_openapi::api::core::v1::Pod>> {
    Ok(pods
        .list(&kube::api::ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == owner_uid && o.controller == Some(true))
        })
        .collect())
}

/// Polls `probe` every `poll` until it yields a value; fails after `step` instead of hanging.
pub async fn eventually_within<T, F, Fut>(
    what: &str,
    step: Duration,
    poll: Duration,
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + step;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("{what}: not reached within {step:?}");
        }
        tokio::time::sleep(poll).await;
    }
}

/// CPU seconds (user + system) process `pid` has used so far, from `/proc/PID/stat`; 0 when
/// it cannot be read. For the benchmarks that report CPU per process.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    // The kernel reports in clock ticks of 1/100 s on Linux.
    ticks / 100.0
}

/// The machine's load averages (1, 5 and 15 minutes), for benchmark reports.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A Kubectl whose binary is a shell script, so the runner is tested without a cluster.
    fn fake(dir: &Path, minor: u32, script: &str) -> Kubectl {
        let binary = dir.join(format!("fake-kubectl-{minor}"));
        std::fs::write(&binary, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        Kubectl {
            minor,
            binary,
            kubeconfig: dir.join("kubeconfig"),
            cache_dir: dir.join("cache"),
            timeout: KUBECTL_TIMEOUT,
        }
    }

    #[test]
    fn run_captures_exit_status_output_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let k = fake(dir.path(), 30, "echo \"$@\"; echo oops >&2; exit 3");
        let out = k.run(&["get", "ns"]).unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert!(
            out.stdout.contains("--cache-dir") && out.stdout.trim_end().ends_with("get ns"),
            "{out}"
        );
        assert_eq!(out.stderr, "oops\n");
        assert!(out.clone().ok().is_err());
        assert!(out.failed().is_ok());
    }

    #[test]
    fn run_feeds_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let k = fake(dir.path(), 30, "cat");
        let out = k.run_with_stdin(&[], Some("kind: ConfigMap\n")).unwrap();
        assert_eq!(out.stdout, "kind: ConfigMap\n");
    }

    #[test]
    fn run_waits_out_a_busy_script() {
        let dir = tempfile::tempdir().unwrap();
        let k = fake(dir.path(), 30, "echo started");
        // A descriptor open for writing makes exec fail with "Text file busy", as a copy
        // held by another thread's child between fork and exec does.
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&k.binary)
            .unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(writer);
        });
        let out = k.run(&[]).unwrap();
        closer.join().unwrap();
        assert_eq!(out.stdout, "started\n");
    }

    #[test]
    fn run_kills_a_hung_command() {
        let dir = tempfile::tempdir().unwrap();
        let k = fake(dir.path(), 30, "exec sleep 30").with_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = k.run(&["get", "ns", "-w"]).unwrap_err();
        assert!(format!("{err:#}").contains("did not finish"), "{err:#}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn stream_delivers_lines_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let k = fake(dir.path(), 30, "echo first; echo second; exec sleep 30");
        let mut stream = k.stream(&[]).unwrap();
        let line = stream
            .wait_for("second", Duration::from_secs(10), |l| l == "second")
            .unwrap();
        assert_eq!(line, "second");
        assert!(stream.is_running());
        let err = stream
            .wait_for("third", Duration::from_millis(200), |l| l == "third")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("no line with third") && text.contains("first"),
            "{text}"
        );
    }

    #[test]
    fn across_kubectls_names_every_failed_release() {
        let dir = tempfile::tempdir().unwrap();
        let kubectls: Vec<Kubectl> = (27..=30).map(|m| fake(dir.path(), m, "exit 0")).collect();
        let err = across_kubectls(&kubectls, |k| match k.minor() {
            28 => bail!("wrong answer"),
            29 => panic!("broken check"),
            _ => Ok(()),
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("kubectl 1.28: wrong answer"), "{text}");
        assert!(
            text.contains("kubectl 1.29: panicked: broken check"),
            "{text}"
        );
        assert!(!text.contains("1.27") && !text.contains("1.30"), "{text}");
        assert!(across_kubectls(&kubectls, |_| Ok(())).is_ok());
    }

    #[test]
    fn a_missing_server_binary_says_how_to_build_it() {
        let missing = PathBuf::from("/nonexistent/target/debug/berth-apiserver");
        let text = format!(
            "{:#}",
            locate_binary(
                "berth-apiserver",
                "BERTH_APISERVER_BIN",
                None,
                std::slice::from_ref(&missing)
            )
            .unwrap_err()
        );
        assert!(
            text.contains("cargo build -p berth-apiserver")
                && text.contains(&*missing.to_string_lossy()),
            "{text}"
        );
        let text = format!(
            "{:#}",
            locate_binary(
                "berth-apiserver",
                "BERTH_APISERVER_BIN",
                Some(missing.clone()),
                &[]
            )
            .unwrap_err()
        );
        assert!(text.contains("BERTH_APISERVER_BIN"), "{text}");
        let text = format!(
            "{:#}",
            Cluster::start_with(&missing)
                .err()
                .expect("started a missing binary")
        );
        assert!(text.contains("starting /nonexistent"), "{text}");
        // A real file is taken as it is.
        let present = std::env::current_exe().unwrap();
        assert_eq!(
            locate_binary(
                "berth-apiserver",
                "BERTH_APISERVER_BIN",
                None,
                &[missing, present.clone()]
            )
            .unwrap(),
            present
        );
    }
}
