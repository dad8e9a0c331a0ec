//! Images without a registry on a real containerd: the harness imports the pause and busybox
//! archives through containerd's content, image, snapshot and diff services; CRI sees them,
//! runs a pod sandbox on the pause image and a busybox container whose output reaches the
//! CRI log file. Needs root, containerd, runc, the CNI plugins and busybox-static.

use std::time::{Duration, Instant};

use berth_kubelet::images::import::{import, plan};
use berth_kubelet::images::{busybox, pause};
use berth_kubelet::testenv::TestNode;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ContainerState, ContainerStatusRequest,
    CreateContainerRequest, DnsConfig, ImageSpec, ImageStatusRequest, LinuxPodSandboxConfig,
    PodSandboxConfig, PodSandboxMetadata, PodSandboxStatusRequest, RunPodSandboxRequest,
    StartContainerRequest,
};

fn image(name: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: name.to_string(),
        ..ImageSpec::default()
    })
}

#[tokio::test]
async fn imported_images_run_a_pod_whose_output_reaches_the_cri_log() {
    let node = TestNode::start().await.expect("test node starts");
    let mut cri = node.cri().await.expect("CRI connects");

    // CRI finds both images under their full and short names, with the config digest as id.
    let pause_id = plan(&pause::image().archive).unwrap()[0]
        .config_digest
        .clone();
    let busybox_id = busybox::image().unwrap().config_digest.clone();
    for (name, id) in [
        ("registry.local/berth-pause:1.0", &pause_id),
        ("docker.io/library/busybox:test", &busybox_id),
        ("busybox:test", &busybox_id),
    ] {
        let status = cri
            .images
            .image_status(ImageStatusRequest {
                image: image(name),
                verbose: false,
            })
            .await
            .expect("ImageStatus")
            .into_inner();
        let found = status.image.unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!(&found.id, id, "image id of {name}");
    }

    // Importing again changes nothing and does not fail.
    let again = import(&node.endpoint(), &pause::image().archive)
        .await
        .expect("a second import");
    assert_eq!(again[0].config_digest, pause_id);

    let uid = format!("pod-{}", std::process::id());
    let log_dir = node.log_dir().join(&uid);
    let sandbox_config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "hello".into(),
            uid: uid.clone(),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: "hello".into(),
        log_directory: log_dir.display().to_string(),
        dns_config: Some(DnsConfig {
            servers: vec!["10.96.0.10".into()],
            searches: vec!["default.svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        }),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: node.pod_cgroup_parent(&uid),
            ..LinuxPodSandboxConfig::default()
        }),
        ..PodSandboxConfig::default()
    };
    let sandbox = cri
        .runtime
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(sandbox_config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id;
    let status = cri
        .runtime
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: sandbox.clone(),
            verbose: false,
        })
        .await
        .expect("PodSandboxStatus")
        .into_inner()
        .status
        .expect("a sandbox status");
    let ip: std::net::Ipv4Addr = status.network.expect("a pod network").ip.parse().unwrap();
    let cidr = node.config().pod_cidr;
    assert_eq!(
        u32::from(ip) >> (32 - cidr.prefix),
        u32::from(cidr.addr) >> (32 - cidr.prefix),
        "pod IP {ip} outside {cidr}"
    );

    let container = cri
        .runtime
        .create_container(CreateContainerRequest {
            pod_sandbox_id: sandbox.clone(),
            config: Some(ContainerConfig {
                metadata: Some(ContainerMetadata {
                    name: "say".into(),
                    attempt: 0,
                }),
                image: image("busybox:test"),
                command: vec!["/bin/sh".into()],
                args: vec!["-c".into(), "echo hello-from-berth; echo oops >&2".into()],
                log_path: "say/0.log".into(),
                ..ContainerConfig::default()
            }),
            sandbox_config: Some(sandbox_config),
        })
        .await
        .expect("CreateContainer")
        .into_inner()
        .container_id;
    cri.runtime
        .start_container(StartContainerRequest {
            container_id: container.clone(),
        })
        .await
        .expect("StartContainer");

    let deadline = Instant::now() + Duration::from_secs(30);
    let exit_code = loop {
        let s = cri
            .runtime
            .container_status(ContainerStatusRequest {
                container_id: container.clone(),
                verbose: false,
            })
            .await
            .expect("ContainerStatus")
            .into_inner()
            .status
            .expect("a container status");
        if s.state == ContainerState::ContainerExited as i32 {
            break s.exit_code;
        }
        assert!(
            Instant::now() < deadline,
            "the container did not exit: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(exit_code, 0);
    let log = std::fs::read_to_string(log_dir.join("say/0.log")).expect("the CRI log file");
    let lines: Vec<Vec<&str>> = log.lines().map(|l| l.splitn(4, ' ').collect()).collect();
    assert!(
        lines
            .iter()
            .any(|f| f[1..] == ["stdout", "F", "hello-from-berth"]),
        "log: {log:?}"
    );
    assert!(
        lines.iter().any(|f| f[1..] == ["stderr", "F", "oops"]),
        "log: {log:?}"
    );
    drop(cri);

    let problems = node.shutdown().await;
    assert!(problems.is_empty(), "cleanup problems: {problems:?}");
    assert!(
        !std::path::Path::new("/sys/fs/cgroup/memory")
            .join(format!("berth-t{}", cidr.addr.octets()[2]))
            .exists(),
        "pod cgroups left behind"
    );
}
