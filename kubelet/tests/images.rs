//! Images without a registry on a real containerd: the harness imports the pause and busybox
//! archives through containerd's content, image, snapshot and diff services; CRI sees them,
//! runs a pod sandbox on the pause image and a busybox container whose output reaches the
//! CRI log file. Needs root, containerd, runc, the CNI plugins and busybox-static.

use std::time::{Duration, Instant};

use berth_kubelet::images::import::{import, import_file, plan};
use berth_kubelet::images::{busybox, pause};
use berth_kubelet::testenv::{self, TestNode};
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

/// A gzipped `docker save` archive file (uncompressed layer, RepoTags naming a short
/// reference) imports from disk under the normalized name, its layer streamed in several
/// chunks, and a container runs from it.
#[tokio::test]
async fn a_docker_save_archive_imports_and_runs() {
    use berth_kubelet::images::oci::{layer_tar, sha256_digest, Entry};
    use k8s_cri::v1::{ExecSyncRequest, RemovePodSandboxRequest, StopPodSandboxRequest};

    let node = TestNode::start().await.expect("test node starts");
    let mut entries = busybox::spec().unwrap().entries;
    entries.push(Entry::File {
        path: "/data/origin".into(),
        mode: 0o644,
        data: b"docker-save\n".to_vec(),
    });
    // 2.5 MiB that compress poorly: the layer goes to containerd in more than one chunk.
    let mut big = Vec::with_capacity(5 << 19);
    let mut x = 0x9e37_79b9_u32;
    while big.len() < 5 << 19 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    entries.push(Entry::File {
        path: "/data/big".into(),
        mode: 0o644,
        data: big,
    });
    let layer = layer_tar(&entries);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": berth_kubelet::images::oci::oci_architecture(),
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&layer)]},
    }))
    .unwrap();
    let config_digest = sha256_digest(&config);
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": format!("{}.json", &config_digest[7..]),
        "RepoTags": ["saved/tool:v2"],
        "Layers": ["0123/layer.tar"],
    }]))
    .unwrap();
    let archive = layer_tar(&[
        Entry::File {
            path: "manifest.json".into(),
            mode: 0o644,
            data: manifest,
        },
        Entry::File {
            path: format!("{}.json", &config_digest[7..]),
            mode: 0o644,
            data: config,
        },
        Entry::File {
            path: "0123/layer.tar".into(),
            mode: 0o644,
            data: layer,
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tool.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&file).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut gz, &archive).unwrap();
    gz.finish().unwrap();
    let imported = import_file(&node.endpoint(), &file).await.expect("import");
    assert_eq!(imported[0].names, ["docker.io/saved/tool:v2"]);

    let mut cri = node.cri().await.unwrap();
    let status = cri
        .images
        .image_status(ImageStatusRequest {
            image: image("saved/tool:v2"),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.image.expect("found").id, config_digest);

    let uid = format!("saved-{}", std::process::id());
    let tool = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "tool".into(),
            attempt: 0,
        }),
        image: image("docker.io/saved/tool:v2"),
        command: vec!["/bin/sleep".into(), "600".into()],
        log_path: "tool/0.log".into(),
        ..ContainerConfig::default()
    };
    let (sandbox, container) = testenv::run_pod(
        &mut cri,
        node.sandbox_config("saved", "default", &uid),
        tool,
    )
    .await
    .expect("the pod starts");
    let out = cri
        .runtime
        .exec_sync(ExecSyncRequest {
            container_id: container,
            cmd: vec![
                "/bin/sh".into(),
                "-c".into(),
                "cat /data/origin; wc -c < /data/big".into(),
            ],
            timeout: 20,
        })
        .await
        .expect("ExecSync")
        .into_inner();
    assert_eq!(out.exit_code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["docker-save", "2621440"]
    );
    cri.runtime
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: sandbox.clone(),
        })
        .await
        .unwrap();
    cri.runtime
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: sandbox,
        })
        .await
        .unwrap();
    drop(cri);
    let problems = node.shutdown().await;
    assert!(problems.is_empty(), "cleanup problems: {problems:?}");
}
