//! A busybox pod started directly through CRI, labelled as the kubelet's pod workers label
//! theirs, for the node server's tests.

use berth_kubelet::images::busybox::BUSYBOX_IMAGE;
use berth_kubelet::testenv::TestNode;
use k8s_cri::v1 as cri;
use std::collections::HashMap;

pub const NS: &str = "demo";
pub const POD: &str = "web-1";
pub const UID: &str = "0b7d3c1e-5c55-4a51-9f6e-2f4c7c1d0001";

pub fn pod_labels() -> HashMap<String, String> {
    HashMap::from([
        ("io.kubernetes.pod.namespace".into(), NS.into()),
        ("io.kubernetes.pod.name".into(), POD.into()),
        ("io.kubernetes.pod.uid".into(), UID.into()),
    ])
}

/// The pod's sandbox as CRI knows it.
pub struct StartedPod {
    pub sandbox_id: String,
    pub sandbox_config: cri::PodSandboxConfig,
    pub container_id: String,
}

/// The main container's script: a greeting on each stream, httpd serving /www on port 8080,
/// then a tick every 0.2 s.
pub const SCRIPT: &str = "httpd -p 8080 -h /www; echo hello; echo oops >&2; i=0; \
     while true; do echo tick $i; i=$((i+1)); sleep 0.2; done";

/// Starts the pod with its container `web` running [`SCRIPT`].
pub async fn start_pod(node: &TestNode) -> StartedPod {
    let mut cri = node.cri().await.expect("CRI connects");
    let sandbox_config = cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: POD.into(),
            uid: UID.into(),
            namespace: NS.into(),
            attempt: 0,
        }),
        hostname: POD.into(),
        log_directory: node.log_dir().join(UID).display().to_string(),
        labels: pod_labels(),
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: node.pod_cgroup_parent(UID),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sandbox_id = cri
        .runtime
        .run_pod_sandbox(cri::RunPodSandboxRequest {
            config: Some(sandbox_config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .expect("RunPodSandbox")
        .into_inner()
        .pod_sandbox_id;
    let container_id = start_container(node, &sandbox_id, &sandbox_config, 0, SCRIPT).await;
    StartedPod {
        sandbox_id,
        sandbox_config,
        container_id,
    }
}

/// Creates and starts attempt `attempt` of container `web` in the sandbox, running `script`.
pub async fn start_container(
    node: &TestNode,
    sandbox_id: &str,
    sandbox_config: &cri::PodSandboxConfig,
    attempt: u32,
    script: &str,
) -> String {
    let mut cri = node.cri().await.expect("CRI connects");
    let mut labels = pod_labels();
    labels.insert("io.kubernetes.container.name".into(), "web".into());
    let container = cri
        .runtime
        .create_container(cri::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.to_owned(),
            config: Some(cri::ContainerConfig {
                metadata: Some(cri::ContainerMetadata {
                    name: "web".into(),
                    attempt,
                }),
                image: Some(cri::ImageSpec {
                    image: BUSYBOX_IMAGE.into(),
                    ..Default::default()
                }),
                command: vec!["/bin/sh".into(), "-c".into()],
                args: vec![script.into()],
                labels,
                log_path: format!("web/{attempt}.log"),
                ..Default::default()
            }),
            sandbox_config: Some(sandbox_config.clone()),
        })
        .await
        .expect("CreateContainer")
        .into_inner()
        .container_id;
    cri.runtime
        .start_container(cri::StartContainerRequest {
            container_id: container.clone(),
        })
        .await
        .expect("StartContainer");
    container
}
