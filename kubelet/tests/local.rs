//! The local node runtime of `berth up` / `berth down`, on private paths and a claimed test
//! CIDR so it never meets a real `berth up` on the same machine: it starts, a second start
//! finds it running, a start after containerd died replaces it, and `down` removes all but
//! the images. Needs root, containerd, runc and the CNI plugins.

use std::path::Path;

use berth_kubelet::runtime::local::{down, up, LocalRuntime, UpOutcome};
use berth_kubelet::runtime::routes::has_unreachable_route;
use berth_kubelet::runtime::PAUSE_IMAGE;
use berth_kubelet::testenv::claim_subnet;
use k8s_cri::v1::{ImageSpec, ImageStatusRequest};

/// Removes the runtime if the test fails half-way.
struct Down(Option<LocalRuntime>);

impl Drop for Down {
    fn drop(&mut self) {
        if let Some(local) = self.0.take() {
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(down(&local))
            })
            .join();
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
        .unwrap_or(false)
}

#[tokio::test]
async fn up_is_idempotent_replaces_a_dead_runtime_and_down_keeps_only_the_images() {
    let (n, _claim) = claim_subnet().expect("a test CIDR");
    let dir = tempfile::tempdir().unwrap();
    let local = LocalRuntime {
        state_dir: dir.path().join("run"),
        root_dir: dir.path().join("data/containerd"),
        socket: dir.path().join("run/containerd.sock"),
        pod_cidr: format!("10.244.{n}.0/24").parse().unwrap(),
        bridge: format!("berth-t{n}"),
        cgroup_root: format!("berth-t{n}"),
        unreachable: vec![format!("10.244.{n}.0/24").parse().unwrap()],
        route_metric: 4_100_000 + n,
    };
    let mut guard = Down(Some(local.clone()));

    let (config, first) = up(&local).await.expect("up");
    let UpOutcome::Started(pid) = first else {
        panic!("expected a fresh start, got {first:?}")
    };
    assert!(alive(pid));
    assert!(has_unreachable_route(local.pod_cidr, local.route_metric));
    let mut cri = berth_kubelet::cri::Cri::connect(&config.endpoint())
        .await
        .unwrap();
    let pause = cri
        .images
        .image_status(ImageStatusRequest {
            image: Some(ImageSpec {
                image: PAUSE_IMAGE.into(),
                ..ImageSpec::default()
            }),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(pause.image.is_some(), "up imports the pause image");
    drop(cri);

    let (_, second) = up(&local).await.expect("up again");
    assert_eq!(second, UpOutcome::AlreadyRunning(pid));

    // containerd dies; the next up notices, removes the leftovers and starts a new one.
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    while alive(pid) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (_, third) = up(&local).await.expect("up after a crash");
    let UpOutcome::Started(new_pid) = third else {
        panic!("expected a restart, got {third:?}")
    };
    assert_ne!(new_pid, pid);

    assert!(down(&local).await.expect("down"), "a runtime was recorded");
    guard.0 = None;
    assert!(!alive(new_pid));
    assert!(!local.state_dir.exists(), "state left behind");
    assert!(!local.socket.exists());
    assert!(local.root_dir.exists(), "the image store is kept");
    assert!(!Path::new("/sys/class/net").join(&local.bridge).exists());
    assert!(!has_unreachable_route(local.pod_cidr, local.route_metric));
    assert!(
        !down(&local).await.expect("down again"),
        "nothing left to remove"
    );
}
