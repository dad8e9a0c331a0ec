//! `berth image import` against a real containerd: the busybox archive written to a file is
//! loaded and CRI then knows the image. Needs root, containerd, runc, the CNI plugins and
//! busybox-static.

use std::process::Command;

use berth_kubelet::images::busybox;
use berth_kubelet::images::oci::{build, Entry, ImageSpec, RunConfig};
use berth_kubelet::testenv::TestNode;
use k8s_cri::v1::{ImageSpec as CriImage, ImageStatusRequest};

#[tokio::test]
async fn berth_image_import_loads_an_archive_that_cri_then_finds() {
    let node = TestNode::start().await.expect("test node starts");
    let dir = tempfile::tempdir().unwrap();
    let built = build(&ImageSpec {
        name: "registry.local/berth-cli-test:v1".into(),
        entries: vec![Entry::File {
            path: "/data/hello.txt".into(),
            mode: 0o644,
            data: b"hello".to_vec(),
        }],
        config: RunConfig {
            cmd: vec!["/bin/true".into()],
            ..RunConfig::default()
        },
    });
    let file = dir.path().join("image.tar");
    std::fs::write(&file, &built.archive).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["image", "import"])
        .arg(&file)
        .args(["--containerd-address", &node.endpoint()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "berth image import failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported registry.local/berth-cli-test:v1"),
        "{stdout}"
    );

    let mut cri = node.cri().await.unwrap();
    let found = cri
        .images
        .image_status(ImageStatusRequest {
            image: Some(CriImage {
                image: "registry.local/berth-cli-test:v1".into(),
                ..CriImage::default()
            }),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .image
        .expect("CRI finds the imported image");
    assert_eq!(found.id, built.config_digest);
    assert_ne!(found.id, busybox::image().unwrap().config_digest);

    // A file that is not an image archive is refused with a message, not a panic.
    std::fs::write(&file, b"not an archive").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["image", "import"])
        .arg(&file)
        .args(["--containerd-address", &node.endpoint()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("importing"));
    drop(cri);
    assert!(node.shutdown().await.is_empty());
}
