//! The `berth` binary as a user runs it.

use berth_kubelet::testenv::free_port;
use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("run berth")
}

#[test]
fn version_names_the_kubernetes_api() {
    let out = berth(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("berth 0."), "{text}");
    assert!(text.contains("v1.33"), "{text}");
}

#[test]
fn help_says_what_exists() {
    let out = berth(&["help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "up",
        "apiserver",
        "controller-manager",
        "scheduler",
        "api-resources",
        "store",
        "version",
        "down",
        "image",
    ] {
        assert!(text.contains(word), "help lacks {word}: {text}");
    }
}

#[test]
fn kubelet_takes_the_node_agent_flags() {
    let out = berth(&["kubelet", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--kubeconfig",
        "--node-name",
        "--container-runtime-endpoint",
        "--node-ip",
        "--port",
        "--cluster-dns",
        "--cluster-domain",
        "--root-dir",
    ] {
        assert!(text.contains(flag), "berth kubelet lacks {flag}: {text}");
    }
    // Without a kubeconfig it refuses to start, naming the flag.
    let out = berth(&["kubelet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kubeconfig"));
}

#[test]
fn store_check_refuses_a_foreign_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.db");
    std::fs::write(&file, "not a database at all, just text\n".repeat(10)).unwrap();
    let before = std::fs::read(&file).unwrap();
    let out = berth(&["store", "check", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Berth store"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn store_check_reports_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    drop(berth_store_open(&file));
    let out = berth(&["store", "check", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("revision: 0") && text.contains("keys: 0"),
        "{text}"
    );
}

fn berth_store_open(path: &std::path::Path) -> berth_store::sqlite::SqliteStore {
    berth_store::sqlite::SqliteStore::open(path).expect("create a store")
}

/// Kills the child process when the test ends, pass or fail.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn up_serves_kubectl_get_ns() {
    let kubectl_bin = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
    assert!(
        std::path::Path::new(kubectl_bin).exists(),
        "{kubectl_bin} is needed for this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "up",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--no-node",
            "--foreground",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let first = lines.next().expect("berth up prints its address").unwrap();
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    let second = lines.next().unwrap().unwrap();
    let kubeconfig = dir.path().join("admin.kubeconfig");
    assert!(second.contains(kubeconfig.to_str().unwrap()), "{second}");
    let cache = dir.path().join("kubectl-cache");
    let kubectl = |args: &[&str]| {
        Command::new(kubectl_bin)
            .args([
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "--cache-dir",
                cache.to_str().unwrap(),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = kubectl(&["get", "ns", "-o", "name", "--request-timeout=20s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(text.contains(&format!("namespace/{ns}")), "{text}");
    }
    // The controllers run too: the default namespace gets its default ServiceAccount.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = kubectl(&["get", "serviceaccount", "default", "-o", "name"]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no default ServiceAccount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The scheduler runs too: with no node registered, a new pod is reported unschedulable.
    let run = kubectl(&["run", "lonely", "--image=busybox"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    loop {
        let out = kubectl(&[
            "get",
            "pod",
            "lonely",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].message}",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("no nodes available to schedule pods") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pod was never reported unschedulable: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn up_names_each_missing_node_prerequisite_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--port", &free_port().unwrap().to_string()])
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [
        "containerd: apt-get install containerd",
        "runc: apt-get install runc",
        "ip: apt-get install iproute2",
        "--no-node",
    ] {
        assert!(err.contains(line), "{line:?} missing in: {err}");
    }
    assert!(
        !dir.path().join("data/containerd").exists(),
        "nothing is created when prerequisites are missing"
    );
}

#[test]
fn a_failed_up_prints_the_log_stops_its_process_and_fails() {
    // The API server's port is taken: the background process cannot start.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let kubeconfig = dir.path().join("kubeconfig");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up", "--no-node", "--wait", "60", "--data-dir"])
        .arg(&data)
        .args(["--port", &port.to_string()])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("berth.log"), "{stderr}");
    assert!(
        stderr.contains(&format!("binding 127.0.0.1:{port}")),
        "the log's tail says why: {stderr}"
    );
    assert!(stderr.contains("the cluster process exited"), "{stderr}");
    assert!(!data.join("berth.pid").exists());
    assert!(
        !kubeconfig.exists(),
        "no context is merged for a failed start"
    );
}
