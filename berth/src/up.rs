//! `berth up` and `berth down`: a single-node cluster on this machine.
//!
//! `berth up` starts the node's containerd (which outlives the command), then the cluster
//! (API server, controllers, scheduler, kubelet in one process) as a background process of
//! its own: the same binary re-executed as `berth up --background-child`, in a new session,
//! with its output in `<data dir>/berth.log` and its pid in `<data dir>/berth.pid`. The
//! command shows each step while it waits (containerd, API server healthy, node registered,
//! node Ready), merges a `berth` context into the user's kubeconfig and returns. On failure
//! it prints the end of the log, stops what it started and fails. Run while the cluster is
//! up, it says so, checks Ready again and merges the context again.
//!
//! `berth up --foreground` runs the cluster in the command itself until Ctrl-C.
//!
//! `berth down` stops the background process (SIGTERM, SIGKILL after [`STOP_GRACE`]),
//! removes the node runtime (pods, containerd, pod network, cgroups, routes, mounts) and the
//! `berth` entries of the kubeconfig.
//!
//! The settings of a cluster (port, pod CIDR, runtime directory, ...) are written to
//! `<data dir>/cluster.json` by `berth up`, so that the background process and `berth down`
//! use the same ones.

use anyhow::{bail, Context, Result};
use berth_kubelet::runtime::local::{LocalRuntime, UpOutcome};
use berth_kubelet::runtime::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::kubeconfig;

/// The pod address range of a local cluster; each node gets a /24 of it.
pub const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// The pod CIDR of the local node.
pub const POD_CIDR: &str = "10.244.0.0/24";
/// The service address range.
pub const SERVICE_CIDR: &str = berth_kubelet::runtime::local::SERVICE_CIDR;
/// How long `berth down` waits for the background process after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// The settings of one cluster, from `berth up`'s flags; recorded in the data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// HTTPS port of the API server.
    pub port: u16,
    /// Only the control plane, no node.
    pub no_node: bool,
    /// containerd's state directory (with its socket).
    pub runtime_dir: PathBuf,
    /// The node's pod CIDR.
    pub pod_cidr: Ipv4Net,
    /// The pod CIDR bridge.
    pub bridge: String,
    /// The cgroup (below the hierarchies' roots) all pods go under; `None`: `/kubepods`.
    pub cgroup_parent: Option<String>,
    /// The metric of the `unreachable` routes.
    pub route_metric: u32,
    /// The kubelet's node server port.
    pub kubelet_port: u16,
}

impl Settings {
    /// The defaults of a local cluster with `port` and `no_node`.
    pub fn new(port: u16, no_node: bool) -> Settings {
        let defaults = LocalRuntime::for_data_dir(Path::new("/"));
        Settings {
            port,
            no_node,
            runtime_dir: defaults.state_dir,
            pod_cidr: POD_CIDR.parse().expect("a valid CIDR"),
            bridge: defaults.bridge,
            cgroup_parent: None,
            route_metric: defaults.route_metric,
            kubelet_port: 10250,
        }
    }

    fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("cluster.json")
    }

    /// The settings recorded in `data_dir`, if any.
    pub fn load(data_dir: &Path) -> Option<Settings> {
        serde_json::from_slice(&std::fs::read(Settings::file(data_dir)).ok()?).ok()
    }

    fn save(&self, data_dir: &Path) -> Result<()> {
        let file = Settings::file(data_dir);
        let json = serde_json::to_vec_pretty(self).expect("settings serialize");
        std::fs::write(&file, json).with_context(|| format!("writing {}", file.display()))
    }

    /// The node runtime these settings describe.
    pub fn local(&self, data_dir: &Path) -> LocalRuntime {
        let mut local = LocalRuntime::for_data_dir(data_dir);
        local.socket = self.runtime_dir.join("containerd.sock");
        local.state_dir = self.runtime_dir.clone();
        local.pod_cidr = self.pod_cidr;
        local.bridge = self.bridge.clone();
        if let Some(parent) = &self.cgroup_parent {
            local.cgroup_root = parent.clone();
        }
        local.unreachable = vec![
            CLUSTER_CIDR.parse().expect("a valid CIDR"),
            self.pod_cidr,
            SERVICE_CIDR.parse().expect("a valid CIDR"),
        ];
        local.unreachable.dedup();
        local.route_metric = self.route_metric;
        local
    }

    /// The cluster CIDR the node IPAM hands out: the local range, or the node's own CIDR
    /// when it was chosen outside the default.
    fn cluster_cidr(&self) -> (String, u8) {
        if self.pod_cidr == POD_CIDR.parse().expect("a valid CIDR") {
            (CLUSTER_CIDR.to_owned(), 24)
        } else {
            (self.pod_cidr.to_string(), self.pod_cidr.prefix)
        }
    }
}

/// The files of a cluster in its data directory.
struct Files {
    pid: PathBuf,
    log: PathBuf,
    admin: PathBuf,
}

impl Files {
    fn of(data_dir: &Path) -> Files {
        Files {
            pid: data_dir.join("berth.pid"),
            log: data_dir.join("berth.log"),
            admin: data_dir.join("admin.kubeconfig"),
        }
    }
}

/// A process id with its start time (clock ticks since boot), so that a pid reused by another
/// process is not taken for the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProcessId {
    pid: i32,
    start: u64,
}

impl ProcessId {
    fn of(pid: i32) -> Option<ProcessId> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            return None;
        }
        Some(ProcessId {
            pid,
            start: fields.get(19)?.parse().ok()?,
        })
    }

    fn alive(&self) -> bool {
        ProcessId::of(self.pid) == Some(*self)
    }

    fn read(file: &Path) -> Option<ProcessId> {
        let text = std::fs::read_to_string(file).ok()?;
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        let recorded = ProcessId { pid, start };
        recorded.alive().then_some(recorded)
    }

    fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid) {
            if self.alive() {
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
    }
}

/// The running cluster process of `data_dir`, if there is one.
fn running(data_dir: &Path) -> Option<ProcessId> {
    ProcessId::read(&Files::of(data_dir).pid)
}

/// Removes the pid file when the cluster process ends.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: PathBuf) -> Result<PidFile> {
        let me = ProcessId::of(std::process::id() as i32).context("reading /proc/self/stat")?;
        std::fs::write(&path, format!("{} {}\n", me.pid, me.start))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(PidFile(path))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    crate::runtime()
}

/// One step of the start, printed as it begins and with its time when it ends.
struct Progress {
    started: Instant,
    step: Option<(String, Instant)>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            started: Instant::now(),
            step: None,
        }
    }

    fn begin(&mut self, what: &str) {
        self.end();
        print!(" - {what} ...");
        let _ = std::io::stdout().flush();
        self.step = Some((what.to_owned(), Instant::now()));
    }

    fn end(&mut self) {
        if let Some((_, since)) = self.step.take() {
            println!(
                " ok ({:.2} s, at {:.2} s)",
                since.elapsed().as_secs_f64(),
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    fn fail(&mut self) {
        if self.step.take().is_some() {
            println!(" failed");
        }
    }
}

/// `berth up` without `--foreground`: see the module doc.
pub fn up_in_background(data_dir: &Path, settings: Settings, wait: Duration) -> Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let data_dir = &std::fs::canonicalize(data_dir)
        .with_context(|| format!("resolving {}", data_dir.display()))?;
    let files = Files::of(data_dir);
    let mut progress = Progress::new();
    if let Some(process) = running(data_dir) {
        let settings = Settings::load(data_dir).unwrap_or(settings);
        println!(
            "Berth is already up in {} (pid {}); checking it.",
            data_dir.display(),
            process.pid
        );
        let mut watched = Watched::Existing(process);
        if let Err(err) = wait_until_ready(&settings, &files, &mut watched, wait, &mut progress) {
            progress.fail();
            print_log_tail(&files.log);
            return Err(err);
        }
        return finish(data_dir, &settings, &files);
    }

    if !settings.no_node {
        let missing = berth_kubelet::runtime::local::missing_prerequisites();
        if !missing.is_empty() {
            bail!(
                "berth up needs, for the node:\n  - {}\n(or run `berth up --no-node` for the control plane only)",
                missing.join("\n  - ")
            );
        }
    }
    settings.save(data_dir)?;
    let mut started_runtime = false;
    if !settings.no_node {
        let local = settings.local(data_dir);
        progress.begin(&format!("containerd ({})", local.socket.display()));
        match runtime()?.block_on(berth_kubelet::runtime::local::up(&local)) {
            Ok((_, outcome)) => started_runtime = matches!(outcome, UpOutcome::Started(_)),
            Err(err) => {
                progress.fail();
                return Err(err).context("starting the node's containerd");
            }
        }
    }

    progress.begin("cluster process");
    let child = spawn_background(data_dir, &files);
    let mut watched = match child {
        Ok(child) => Watched::Child(child),
        Err(err) => {
            progress.fail();
            undo(data_dir, &settings, None, started_runtime);
            return Err(err);
        }
    };
    if let Err(err) = wait_until_ready(&settings, &files, &mut watched, wait, &mut progress) {
        progress.fail();
        print_log_tail(&files.log);
        let child = match watched {
            Watched::Child(child) => Some(child),
            Watched::Existing(_) => None,
        };
        undo(data_dir, &settings, child, started_runtime);
        return Err(err);
    }
    println!(
        "Berth is up in {:.2} s (pid {}).",
        progress.started.elapsed().as_secs_f64(),
        match &watched {
            Watched::Child(child) => child.id() as i32,
            Watched::Existing(p) => p.pid,
        }
    );
    finish(data_dir, &settings, &files)
}

/// Merges the context and prints how to use the cluster.
fn finish(data_dir: &Path, settings: &Settings, files: &Files) -> Result<()> {
    let target = kubeconfig::user_kubeconfig()?;
    kubeconfig::merge(&target, &files.admin)
        .with_context(|| format!("merging the berth context into {}", target.display()))?;
    println!(
        "Context \"{}\" merged into {} and made current.",
        kubeconfig::NAME,
        target.display()
    );
    println!("API server: https://127.0.0.1:{}", settings.port);
    println!("Try:        kubectl get nodes");
    println!("Log:        {}", files.log.display());
    let data = if data_dir == crate::default_data_dir() {
        String::new()
    } else {
        format!(" --data-dir {}", data_dir.display())
    };
    println!("Stop with:  berth down{data}");
    Ok(())
}

/// Starts `berth up --background-child` in a new session with its output in the log.
fn spawn_background(data_dir: &Path, files: &Files) -> Result<Child> {
    let exe = std::env::current_exe().context("finding the berth binary")?;
    let log = std::fs::File::create(&files.log)
        .with_context(|| format!("creating {}", files.log.display()))?;
    let log2 = log.try_clone().context("duplicating the log file")?;
    Command::new(exe)
        .args(["up", "--background-child", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .context("starting the cluster process")
}

/// What `wait_until_ready` watches for an early exit.
enum Watched {
    Child(Child),
    Existing(ProcessId),
}

impl Watched {
    fn exited(&mut self) -> Option<String> {
        match self {
            Watched::Child(child) => match child.try_wait() {
                Ok(Some(status)) => Some(format!("the cluster process exited ({status})")),
                _ => None,
            },
            Watched::Existing(p) => (!p.alive()).then(|| "the cluster process exited".into()),
        }
    }
}

/// Waits for the API server, the node's registration and its Ready condition, printing each
/// step; fails when the process exits or `wait` passes.
fn wait_until_ready(
    settings: &Settings,
    files: &Files,
    watched: &mut Watched,
    wait: Duration,
    progress: &mut Progress,
) -> Result<()> {
    let deadline = Instant::now() + wait;
    let node = berth_component_base::default_node_name();
    let mut steps = vec![Step::ApiServer];
    if !settings.no_node {
        steps.extend([Step::Registered, Step::Ready]);
    }
    runtime()?.block_on(async {
        let mut client: Option<(std::time::SystemTime, kube::Client)> = None;
        for step in steps {
            progress.begin(&step.describe(&node, settings.port));
            let mut last_error = String::from("no answer yet");
            loop {
                if let Some(exit) = watched.exited() {
                    bail!(
                        "{exit} while waiting for {}",
                        step.describe(&node, settings.port)
                    );
                }
                if Instant::now() >= deadline {
                    bail!(
                        "not ready after {} s: {} ({last_error})",
                        wait.as_secs(),
                        step.describe(&node, settings.port)
                    );
                }
                match step.check(&mut client, &files.admin, &node).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => last_error = format!("{e:#}"),
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        progress.end();
        Ok(())
    })
}

#[derive(Clone, Copy)]
enum Step {
    ApiServer,
    Registered,
    Ready,
}

impl Step {
    fn describe(&self, node: &str, port: u16) -> String {
        match self {
            Step::ApiServer => format!("API server healthy (https://127.0.0.1:{port})"),
            Step::Registered => format!("node {node} registered"),
            Step::Ready => format!("node {node} Ready"),
        }
    }

    async fn check(
        &self,
        client: &mut Option<(std::time::SystemTime, kube::Client)>,
        admin: &Path,
        node: &str,
    ) -> Result<bool> {
        use berth_api_types::k8s::api::core::v1::Node;
        // The API server rewrites the admin kubeconfig when it starts; a client from an
        // older file may point at another port.
        let modified = std::fs::metadata(admin)
            .and_then(|m| m.modified())
            .with_context(|| format!("no {} yet", admin.display()))?;
        if client.as_ref().is_none_or(|(m, _)| *m != modified) {
            *client = Some((modified, admin_client(admin).await?));
        }
        let client = &client.as_ref().expect("set above").1;
        let answer = async {
            match self {
                Step::ApiServer => {
                    let request = http::Request::get("/readyz")
                        .body(Vec::new())
                        .expect("a valid request");
                    Ok(client.request_text(request).await? == "ok")
                }
                Step::Registered | Step::Ready => {
                    let nodes = kube::Api::<Node>::all(client.clone());
                    let Some(found) = nodes.get_opt(node).await? else {
                        return Ok(false);
                    };
                    Ok(matches!(self, Step::Registered) || is_ready(&found))
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(5), answer).await {
            Ok(result) => result.map_err(|e: kube::Error| anyhow::Error::new(e)),
            Err(_) => bail!("no answer within 5 s"),
        }
    }
}

fn is_ready(node: &berth_api_types::k8s::api::core::v1::Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn admin_client(admin: &Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(admin)
        .with_context(|| format!("reading {}", admin.display()))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .context("loading the admin kubeconfig")?;
    config.connect_timeout = Some(Duration::from_secs(2));
    config.read_timeout = Some(Duration::from_secs(5));
    kube::Client::try_from(config).context("building the API client")
}

fn print_log_tail(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(30)..];
    if tail.is_empty() {
        return;
    }
    eprintln!("The end of {}:", log.display());
    for line in tail {
        eprintln!("  {line}");
    }
}

/// After a failed start: stops the process and the runtime this command started.
fn undo(data_dir: &Path, settings: &Settings, child: Option<Child>, started_runtime: bool) {
    if let Some(mut child) = child {
        if let Some(p) = ProcessId::of(child.id() as i32) {
            stop_process(p);
        }
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(Files::of(data_dir).pid);
    if started_runtime {
        eprintln!("Removing the node runtime this command started...");
        if let Err(err) = remove_node(data_dir, settings) {
            eprintln!("berth: {err:#}");
        }
    }
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`]; returns whether SIGKILL was needed.
fn stop_process(process: ProcessId) -> bool {
    process.signal(rustix::process::Signal::TERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if !process.alive() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    process.signal(rustix::process::Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while process.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Removes the node runtime and the kubelet's mounts and state under the data directory.
fn remove_node(data_dir: &Path, settings: &Settings) -> Result<bool> {
    let local = settings.local(data_dir);
    let removed = runtime()?.block_on(berth_kubelet::runtime::local::down(&local))?;
    // Pod volumes (tmpfs for secrets and tokens, emptyDir) live under the kubelet's
    // directory; with the pods gone they can go too.
    for dir in [data_dir.join("kubelet"), data_dir.join("pod-logs")] {
        berth_kubelet::runtime::cleanup::unmount_below(&dir)
            .with_context(|| format!("unmounting below {}", dir.display()))?;
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", dir.display()))
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// `berth down`: see the module doc.
pub fn down(data_dir: &Path) -> Result<()> {
    let data_dir = &std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let files = Files::of(data_dir);
    let settings = Settings::load(data_dir).unwrap_or_else(|| Settings::new(6443, false));
    match running(data_dir) {
        Some(process) => {
            let killed = stop_process(process);
            println!(
                "Stopped the cluster process (pid {}{}).",
                process.pid,
                if killed { ", killed after SIGTERM" } else { "" }
            );
        }
        None => println!("No cluster process was running."),
    }
    let _ = std::fs::remove_file(&files.pid);
    let mut result = Ok(());
    match remove_node(data_dir, &settings) {
        Ok(true) => println!(
            "Removed the node runtime (containerd, pods, pod network, cgroups, routes); images kept in {}",
            settings.local(data_dir).root_dir.display()
        ),
        Ok(false) => println!("No node runtime was running."),
        Err(err) => result = Err(err),
    }
    let target = kubeconfig::user_kubeconfig()?;
    if kubeconfig::remove(&target)
        .with_context(|| format!("removing the berth context from {}", target.display()))?
    {
        println!(
            "Removed the \"{}\" context from {}.",
            kubeconfig::NAME,
            target.display()
        );
    }
    result
}

/// `berth up --foreground` and the background process: runs the cluster until SIGINT or
/// SIGTERM.
pub fn run_foreground(data_dir: &Path, settings: Settings, background_child: bool) -> Result<()> {
    if background_child {
        // A session of its own: no terminal's hangup or Ctrl-C reaches it.
        let _ = rustix::process::setsid();
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let files = Files::of(data_dir);
    if let Some(process) = running(data_dir) {
        if process.pid != std::process::id() as i32 {
            bail!(
                "Berth is already running in {} (pid {}); `berth down` stops it",
                data_dir.display(),
                process.pid
            );
        }
    }
    settings.save(data_dir)?;
    let _pid = PidFile::create(files.pid.clone())?;
    berth_component_base::init_tracing();
    if !settings.no_node {
        crate::start_node_runtime(&settings.local(data_dir))?;
    }
    let rt = runtime()?;
    let result = rt.block_on(serve(data_dir.to_path_buf(), settings));
    rt.shutdown_timeout(Duration::from_secs(2));
    result
}

async fn serve(data_dir: PathBuf, settings: Settings) -> Result<()> {
    let options = berth_apiserver::Options {
        data_dir,
        bind_address: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        secure_port: settings.port,
        advertise_address: None,
        etcd_servers: Vec::new(),
        service_cluster_ip_range: SERVICE_CIDR.into(),
        service_node_port_range: "30000-32767".into(),
        token_auth_file: None,
        node_name: None,
        event_ttl: std::time::Duration::from_secs(3600),
        etcd_compaction_interval: berth_apiserver::compactor::DEFAULT_INTERVAL,
    };
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
    let (cluster_cidr, mask) = settings.cluster_cidr();
    controllers.allocate_node_cidrs = true;
    controllers.cluster_cidr = Some(cluster_cidr);
    controllers.node_cidr_mask_size = mask;
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
    // The local node's kubelet, on the containerd started before, with the node
    // credentials the API server issued.
    if !settings.no_node {
        let kubelet = kubelet_options(&options.data_dir, &settings)?;
        tokio::spawn(async move {
            if let Err(err) = berth_kubelet::run::run_until_stopped(kubelet).await {
                eprintln!("berth: the kubelet stopped: {err:#}");
            }
        });
    }
    let served = berth_apiserver::server::serve(
        prepared.listener,
        prepared.tls,
        prepared.state,
        berth_component_base::shutdown_signal(),
    )
    .await;
    prepared.endpoints.withdraw().await;
    served?;
    Ok(())
}

fn kubelet_options(data_dir: &Path, settings: &Settings) -> Result<berth_kubelet::run::Options> {
    let local = settings.local(data_dir);
    let mut kubelet = berth_kubelet::run::Options::new(
        data_dir.join("kubelet.kubeconfig"),
        format!("unix://{}", local.socket.display()),
    );
    kubelet.root_dir = data_dir.join("kubelet");
    kubelet.pod_logs_dir = data_dir.join("pod-logs");
    kubelet.port = settings.kubelet_port;
    if let Some(parent) = &settings.cgroup_parent {
        kubelet.cgroup_root = format!("/{parent}");
    }
    // The node server's certificate, from the cluster CA, for the node's address: the API
    // server reaches logs, exec and port-forward through it.
    let pki_dir = data_dir.join("pki");
    let ca = berth_component_base::pki::ClusterCa::load_or_create(&pki_dir, "berth-ca")?;
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
    Ok(kubelet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_are_the_local_runtime_of_before() {
        let data = Path::new("/var/lib/x");
        let s = Settings::new(6443, false);
        let local = s.local(data);
        let plain = LocalRuntime::for_data_dir(data);
        assert_eq!(local.socket, plain.socket);
        assert_eq!(local.state_dir, plain.state_dir);
        assert_eq!(local.pod_cidr, plain.pod_cidr);
        assert_eq!(local.cgroup_root, "kubepods");
        assert_eq!(s.cluster_cidr(), (CLUSTER_CIDR.to_owned(), 24));
        let kubelet_root = s.cgroup_parent.as_deref().map(|p| format!("/{p}"));
        assert_eq!(kubelet_root, None);
    }

    #[test]
    fn a_chosen_pod_cidr_is_the_whole_cluster_range_and_kept_off_the_wire() {
        let mut s = Settings::new(6443, false);
        s.pod_cidr = "10.244.37.0/24".parse().unwrap();
        s.cgroup_parent = Some("berth-t37".into());
        assert_eq!(s.cluster_cidr(), ("10.244.37.0/24".to_owned(), 24));
        let local = s.local(Path::new("/d"));
        assert_eq!(local.cgroup_root, "berth-t37");
        let nets: Vec<String> = local.unreachable.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.244.0.0/16", "10.244.37.0/24", "10.96.0.0/12"]);
    }

    #[test]
    fn a_pid_file_names_this_process_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None);
        let file = PidFile::create(Files::of(dir.path()).pid).unwrap();
        let me = running(dir.path()).expect("this process runs");
        assert_eq!(me.pid, std::process::id() as i32);
        // Another start time is another process that got the same pid.
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive());
        drop(file);
        assert_eq!(running(dir.path()), None);
    }
}
