//! The private containerd of the test harness: it starts, answers CRI, and leaves nothing
//! behind, also when the test holding it panics. Needs root, containerd, runc and the CNI
//! plugins (scripts/install-deps).

use std::path::Path;

use berth_kubelet::runtime::routes::has_unreachable_route;
use berth_kubelet::testenv::TestNode;
use k8s_cri::v1::{StatusRequest, VersionRequest};

#[tokio::test]
async fn a_private_containerd_answers_cri_and_is_removed_without_leftovers() {
    let node = TestNode::start().await.expect("test node starts");
    let mut cri = node.cri().await.expect("CRI connects");

    let version = cri
        .runtime
        .version(VersionRequest::default())
        .await
        .expect("Version")
        .into_inner();
    assert_eq!(version.runtime_name, "containerd");
    assert_eq!(version.runtime_api_version, "v1");

    let status = cri
        .runtime
        .status(StatusRequest { verbose: false })
        .await
        .expect("Status")
        .into_inner()
        .status
        .expect("a runtime status");
    for condition in ["RuntimeReady", "NetworkReady"] {
        let c = status
            .conditions
            .iter()
            .find(|c| c.r#type == condition)
            .unwrap_or_else(|| panic!("{condition} missing in {:?}", status.conditions));
        assert!(c.status, "{condition} is false: {} {}", c.reason, c.message);
    }

    let config = node.config().clone();
    let pid = node.containerd_pid();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let routes: Vec<_> = ["10.244.0.0/16", "10.96.0.0/12"]
        .iter()
        .map(|n| n.parse().unwrap())
        .chain([config.pod_cidr])
        .collect();
    let metric = {
        let out = std::process::Command::new("ip")
            .args(["-o", "route", "show", "type", "unreachable", "exact"])
            .arg(config.pod_cidr.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let m: u32 = text
            .split_whitespace()
            .skip_while(|w| *w != "metric")
            .nth(1)
            .unwrap_or_else(|| panic!("no unreachable route for the pod CIDR: {text:?}"))
            .parse()
            .unwrap();
        m
    };
    for net in &routes {
        assert!(
            has_unreachable_route(*net, metric),
            "no unreachable route for {net}"
        );
    }
    drop(cri);

    let problems = node.shutdown().await;
    assert!(problems.is_empty(), "cleanup problems: {problems:?}");
    assert!(!config.state_dir.exists() && !config.root_dir.exists());
    assert!(!Path::new(&format!("/proc/{pid}/cmdline")).exists() || zombie_or_other(pid));
    for net in &routes {
        assert!(
            !has_unreachable_route(*net, metric),
            "route for {net} left behind"
        );
    }
}

/// A pid may be reused by an unrelated process once containerd is gone.
fn zombie_or_other(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    !String::from_utf8_lossy(&cmdline).contains("containerd")
}

#[tokio::test]
async fn a_panicking_test_still_removes_its_node() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let node = TestNode::start().await.expect("test node starts");
        tx.send((node.config().clone(), node.containerd_pid()))
            .unwrap();
        panic!("a test failing while it holds a node");
    });
    let err = task.await.expect_err("the task panicked");
    assert!(err.is_panic());
    let (config, pid) = rx.await.expect("the node had started");
    assert!(!config.state_dir.exists(), "state directory left behind");
    assert!(!config.socket.exists());
    assert!(zombie_or_other(pid), "containerd {pid} still runs");
    assert!(!Path::new("/sys/class/net").join(&config.bridge).exists());
}
