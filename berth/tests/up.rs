//! `berth up` and `berth down` end to end, as a user runs them, on real containerd, runc and
//! CNI: the command returns with the node Ready and the `berth` context current, stock
//! kubectl rolls out a Deployment of the busybox test image, exec (kubectl 1.27 and 1.33) and
//! logs of a restarted container reach the pods the kubelet started, a second `berth up` is harmless,
//! and `berth down` leaves nothing behind.
//!
//! The cluster gets a pod CIDR claimed from the node test harness (`10.244.N.0/24`, bridge
//! and cgroup `berth-tN`), its own runtime directory, ports, route metric and kubeconfig,
//! so it never meets another cluster or test on the machine. Needs root; without it the
//! test says so and does nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_kubelet::images::busybox;
use berth_kubelet::runtime::routes::has_unreachable_route;
use berth_kubelet::testenv::{claim_subnet, free_port};

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// The oldest kubectl Berth serves; it speaks SPDY for exec where 1.33 speaks WebSocket.
const KUBECTL_OLDEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";

/// One cluster's paths and settings.
struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    run: PathBuf,
    kubeconfig: PathBuf,
    n: u32,
    port: u16,
    kubelet_port: u16,
}

impl Cluster {
    fn bridge(&self) -> String {
        format!("berth-t{}", self.n)
    }

    fn metric(&self) -> u32 {
        4_200_000 + self.n
    }

    fn berth(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.dir)
            .output()
            .expect("run berth")
    }

    fn up(&self) -> Output {
        let data = self.data.to_str().unwrap();
        let run = self.run.to_str().unwrap();
        let (port, kubelet_port) = (self.port.to_string(), self.kubelet_port.to_string());
        let (cidr, bridge, metric) = (
            format!("10.244.{}.0/24", self.n),
            self.bridge(),
            self.metric().to_string(),
        );
        self.berth(&[
            "up",
            "--data-dir",
            data,
            "--port",
            &port,
            "--runtime-dir",
            run,
            "--pod-cidr",
            &cidr,
            "--bridge",
            &bridge,
            "--cgroup-parent",
            &bridge,
            "--route-metric",
            &metric,
            "--kubelet-port",
            &kubelet_port,
        ])
    }

    fn down(&self) -> Output {
        self.berth(&["down", "--data-dir", self.data.to_str().unwrap()])
    }

    /// kubectl with only the environment a user has: `KUBECONFIG` and `HOME`.
    fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_of(KUBECTL, args, None)
    }

    /// `binary` (a kubectl) with `args` and, when given, `stdin` as its standard input.
    fn kubectl_of(&self, binary: &str, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new(binary)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run kubectl");
        let mut input = child.stdin.take().expect("kubectl's stdin");
        if let Some(text) = stdin {
            input
                .write_all(text.as_bytes())
                .expect("write kubectl's stdin");
        }
        drop(input);
        child.wait_with_output().expect("wait for kubectl")
    }
}

/// Runs `berth down` if the test ends before it did.
struct DownGuard<'a>(Option<&'a Cluster>);

impl Drop for DownGuard<'_> {
    fn drop(&mut self) {
        if let Some(cluster) = self.0.take() {
            let out = cluster.down();
            eprintln!(
                "cleanup: berth down: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmdline.contains(needle) && !zombie {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// The host-side interfaces attached to `bridge`.
fn ports_of(bridge: &str) -> BTreeSet<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap().to_owned())
        .collect()
}

fn mounts_below(dir: &Path) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| *p == dir || p.starts_with(&format!("{dir}/")))
        .map(str::to_owned)
        .collect()
}

fn cgroups_named(name: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|h| h.path().join(name))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn up_returns_ready_runs_a_deployment_and_down_leaves_nothing_behind() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: berth up needs root (containerd, mounts, cgroups, routes)");
        return;
    }
    let (n, _claim) = claim_subnet().expect("a test pod CIDR");
    let tmp = tempfile::Builder::new()
        .prefix("berth-up-")
        .tempdir()
        .unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let cluster = Cluster {
        data: dir.join("data"),
        run: dir.join("run"),
        // Neither the file nor its directory exists yet: `berth up` creates both.
        kubeconfig: dir.join("kube/config"),
        dir: dir.clone(),
        n,
        port: free_port().unwrap(),
        kubelet_port: free_port().unwrap(),
    };
    let mut guard = DownGuard(Some(&cluster));

    // `berth up` returns once the node is Ready, with the context current.
    let up = cluster.up();
    assert!(up.status.success(), "berth up failed: {}", text(&up));
    let stdout = String::from_utf8_lossy(&up.stdout);
    for step in [
        "containerd",
        "API server healthy",
        "registered",
        "Ready",
        "Berth is up",
    ] {
        assert!(stdout.contains(step), "no {step:?} in: {stdout}");
    }
    // The routes that keep pod and service addresses on the machine are in place.
    for net in ["10.244.0.0/16", &format!("10.244.{n}.0/24"), "10.96.0.0/12"] {
        assert!(
            has_unreachable_route(net.parse().unwrap(), cluster.metric()),
            "no unreachable route for {net}"
        );
    }
    let nodes = cluster.kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert!(nodes.status.success(), "{}", text(&nodes));
    assert_eq!(String::from_utf8_lossy(&nodes.stdout), "True");
    let current = cluster.kubectl(&["config", "current-context"]);
    assert_eq!(String::from_utf8_lossy(&current.stdout).trim(), "berth");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cluster.kubeconfig)
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the kubeconfig holds credentials");

    // The busybox test image goes in through `berth image import`.
    let archive = dir.join("busybox.tar");
    std::fs::write(&archive, &busybox::image().unwrap().archive).unwrap();
    let socket = cluster.run.join("containerd.sock");
    let import = cluster.berth(&[
        "image",
        "import",
        archive.to_str().unwrap(),
        "--containerd-address",
        socket.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import));

    // A Deployment of three rolls out.
    let create = cluster.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image",
        busybox::BUSYBOX_IMAGE,
        "--replicas=3",
        "--",
        "sleep",
        "3600",
    ]);
    assert!(create.status.success(), "{}", text(&create));
    let rollout = cluster.kubectl(&["rollout", "status", "deployment/web", "--timeout=300s"]);
    assert!(rollout.status.success(), "{}", text(&rollout));
    let phases = cluster.kubectl(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.phase}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&phases.stdout),
        "Running Running Running",
        "{}",
        text(&phases)
    );
    // Exec through the API server to the kubelet's node server, into a container its pod
    // worker started: SPDY (1.27) and WebSocket (1.33), exit codes and stdin.
    for binary in [KUBECTL_OLDEST, KUBECTL] {
        let exec = cluster.kubectl_of(
            binary,
            &["exec", "deploy/web", "--", "sh", "-c", "echo out; exit 3"],
            None,
        );
        assert_eq!(exec.status.code(), Some(3), "{binary}: {}", text(&exec));
        assert_eq!(String::from_utf8_lossy(&exec.stdout), "out\n", "{binary}");
        let stdin = cluster.kubectl_of(
            binary,
            &["exec", "-i", "deploy/web", "--", "cat"],
            Some("from stdin\n"),
        );
        assert!(stdin.status.success(), "{binary}: {}", text(&stdin));
        assert_eq!(String::from_utf8_lossy(&stdin.stdout), "from stdin\n");
    }

    // A container that exits is restarted by its worker; its logs and the previous
    // attempt's logs come back through the API server.
    let run = cluster.kubectl(&[
        "run",
        "talker",
        "--image",
        busybox::BUSYBOX_IMAGE,
        "--restart=Always",
        "--",
        "sh",
        "-c",
        "echo attempt; sleep 1; exit 1",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let restarted = (0..240).any(|_| {
        let count = cluster.kubectl(&[
            "get",
            "pod",
            "talker",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ]);
        let n: u32 = String::from_utf8_lossy(&count.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        n >= 1 || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            false
        }
    });
    assert!(restarted, "talker never restarted");
    let previous = cluster.kubectl(&["logs", "-p", "talker"]);
    assert!(previous.status.success(), "{}", text(&previous));
    assert_eq!(String::from_utf8_lossy(&previous.stdout), "attempt\n");
    let delete = cluster.kubectl(&["delete", "pod", "talker", "--wait=true"]);
    assert!(delete.status.success(), "{}", text(&delete));

    let veths = ports_of(&cluster.bridge());
    assert_eq!(veths.len(), 3, "one veth per pod on the bridge: {veths:?}");
    let cluster_pid = std::fs::read_to_string(cluster.data.join("berth.pid")).unwrap();
    // What `berth down` must remove exists now.
    assert!(!processes_mentioning(cluster.run.to_str().unwrap()).is_empty());
    assert!(
        !cgroups_named(&cluster.bridge()).is_empty(),
        "no pod cgroups"
    );
    assert!(!mounts_below(&dir).is_empty(), "no pod mounts");

    // A second `berth up` while it is up is harmless.
    let again = cluster.up();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already up"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(cluster.data.join("berth.pid")).unwrap(),
        cluster_pid,
        "the same cluster process"
    );
    let pods = cluster.kubectl(&["get", "pods", "-o", "name"]);
    assert_eq!(String::from_utf8_lossy(&pods.stdout).lines().count(), 3);

    // `berth down` leaves nothing behind.
    let down = cluster.down();
    guard.0 = None;
    assert!(down.status.success(), "berth down failed: {}", text(&down));
    let leftovers = processes_mentioning(dir.to_str().unwrap());
    assert!(leftovers.is_empty(), "processes left: {leftovers:?}");
    assert!(
        !Path::new("/sys/class/net").join(cluster.bridge()).exists(),
        "the bridge is left"
    );
    for veth in &veths {
        assert!(
            !Path::new("/sys/class/net").join(veth).exists(),
            "veth {veth} is left"
        );
    }
    for net in ["10.244.0.0/16", &format!("10.244.{n}.0/24"), "10.96.0.0/12"] {
        assert!(
            !has_unreachable_route(net.parse().unwrap(), cluster.metric()),
            "the route for {net} is left"
        );
    }
    let cgroups = cgroups_named(&cluster.bridge());
    assert!(cgroups.is_empty(), "pod cgroups left: {cgroups:?}");
    let mounts = mounts_below(&dir);
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    assert!(!cluster.data.join("berth.pid").exists());
    let contexts = cluster.kubectl(&["config", "get-contexts", "-o", "name"]);
    assert!(contexts.status.success(), "{}", text(&contexts));
    assert_eq!(String::from_utf8_lossy(&contexts.stdout).trim(), "");
    let current = cluster.kubectl(&["config", "current-context"]);
    assert!(!current.status.success(), "no current context is left");
    // And the API is gone with it.
    let gone = Command::new(KUBECTL)
        .args(["--server", &format!("https://127.0.0.1:{}", cluster.port)])
        .args([
            "--insecure-skip-tls-verify",
            "--request-timeout=5s",
            "get",
            "ns",
        ])
        .env("HOME", &dir)
        .output()
        .unwrap();
    assert!(!gone.status.success());
}
