//! A deterministic writer of OCI image-layout archives: the same files give the same bytes
//! and so the same digests on every run and machine. Nodes get images without a registry by
//! importing such archives.
//!
//! One image is one gzip layer of the given entries (owned by 0:0, mtime 0, in path order),
//! a config whose `rootfs.diff_ids` names the uncompressed layer, a manifest, and an
//! `index.json` naming the image through the `io.containerd.image.name` and
//! `org.opencontainers.image.ref.name` annotations.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use serde_json::json;

/// The media type of an OCI image manifest.
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of an OCI image index.
pub const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The media type of an OCI image config.
pub const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The media type of a gzip-compressed layer.
pub const LAYER_GZIP_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation containerd names an imported image by.
pub const CONTAINERD_NAME_ANNOTATION: &str = "io.containerd.image.name";
/// The OCI annotation for an image's reference (the tag).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// One file system entry of a layer. Paths are absolute (`/bin/sh`) or relative to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A directory with its permission bits.
    Dir { path: String, mode: u32 },
    /// A regular file with its permission bits and contents.
    File {
        path: String,
        mode: u32,
        data: Vec<u8>,
    },
    /// A symbolic link to `target`.
    Symlink { path: String, target: String },
}

impl Entry {
    fn path(&self) -> &str {
        match self {
            Entry::Dir { path, .. } | Entry::File { path, .. } | Entry::Symlink { path, .. } => {
                path.trim_start_matches('/').trim_end_matches('/')
            }
        }
    }
}

/// What a container of the image runs by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `Env`, as `NAME=value`.
    pub env: Vec<String>,
    /// `WorkingDir` (empty: the root).
    pub working_dir: String,
}

/// An image to build: its full reference and its single layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    /// The full reference, for example `docker.io/library/busybox:test`.
    pub name: String,
    /// The layer's entries; parent directories missing from the list are added (0755).
    pub entries: Vec<Entry>,
    /// The default process.
    pub config: RunConfig,
}

/// A built image: the OCI layout archive and the digests inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// The full reference.
    pub name: String,
    /// The OCI image-layout tar.
    pub archive: Vec<u8>,
    /// `sha256:...` of the manifest.
    pub manifest_digest: String,
    /// `sha256:...` of the config; CRI reports this as the image id.
    pub config_digest: String,
    /// `sha256:...` of the uncompressed layer (the config's `diff_ids`).
    pub diff_id: String,
    /// `sha256:...` of the compressed layer blob.
    pub layer_digest: String,
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The OCI architecture name of this machine.
pub fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// The tag of a reference (`1.0` of `registry.local/pause:1.0`), or `latest`.
pub fn tag_of(name: &str) -> &str {
    let last = name.rsplit('/').next().unwrap_or(name);
    let without_digest = last.split('@').next().unwrap_or(last);
    without_digest
        .split_once(':')
        .map_or("latest", |(_, tag)| tag)
}

/// The uncompressed layer tar: entries (plus missing parent directories) in path order,
/// owned by 0:0, mtime 0.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut by_path: BTreeMap<String, Entry> = BTreeMap::new();
    for e in entries {
        let path = e.path().to_string();
        if path.is_empty() {
            continue;
        }
        let mut parent = path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            by_path.entry(p.to_string()).or_insert(Entry::Dir {
                path: p.to_string(),
                mode: 0o755,
            });
            parent = p;
        }
        by_path.insert(path, e.clone());
    }
    let mut builder = tar::Builder::new(Vec::new());
    for (path, e) in &by_path {
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        let data: &[u8] = match e {
            Entry::Dir { mode, .. } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                &[]
            }
            Entry::File { mode, data, .. } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                data
            }
            Entry::Symlink { target, .. } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                h.set_link_name(target)
                    .expect("symlink targets of built images are short");
                &[]
            }
        };
        let name = if matches!(e, Entry::Dir { .. }) {
            format!("{path}/")
        } else {
            path.clone()
        };
        h.set_path(&name).expect("paths of built images fit ustar");
        h.set_cksum();
        builder
            .append(&h, data)
            .expect("writing to memory cannot fail");
    }
    builder.into_inner().expect("writing to memory cannot fail")
}

/// gzip without a file name or time stamp, so equal input gives equal output.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(data.len() / 2), Compression::new(6));
    enc.write_all(data).expect("writing to memory cannot fail");
    enc.finish().expect("writing to memory cannot fail")
}

/// Builds the OCI image-layout archive of `spec`.
pub fn build(spec: &ImageSpec) -> BuiltImage {
    let layer = layer_tar(&spec.entries);
    let diff_id = sha256_digest(&layer);
    let layer_gz = gzip(&layer);
    let layer_digest = sha256_digest(&layer_gz);

    let mut run = serde_json::Map::new();
    if !spec.config.env.is_empty() {
        run.insert("Env".into(), json!(spec.config.env));
    }
    if !spec.config.entrypoint.is_empty() {
        run.insert("Entrypoint".into(), json!(spec.config.entrypoint));
    }
    if !spec.config.cmd.is_empty() {
        run.insert("Cmd".into(), json!(spec.config.cmd));
    }
    if !spec.config.working_dir.is_empty() {
        run.insert("WorkingDir".into(), json!(spec.config.working_dir));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": oci_architecture(),
        "os": "linux",
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }))
    .expect("JSON serializes");
    let config_digest = sha256_digest(&config);

    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER_GZIP_TYPE, "digest": layer_digest, "size": layer_gz.len()}],
    }))
    .expect("JSON serializes");
    let manifest_digest = sha256_digest(&manifest);

    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": {"architecture": oci_architecture(), "os": "linux"},
            "annotations": {
                CONTAINERD_NAME_ANNOTATION: spec.name,
                REF_NAME_ANNOTATION: tag_of(&spec.name),
            },
        }],
    }))
    .expect("JSON serializes");

    let mut files: Vec<(String, &[u8])> = vec![
        ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#),
        ("index.json".into(), &index),
    ];
    let mut blobs: Vec<(String, &[u8])> = vec![
        (blob_path(&layer_digest), &layer_gz),
        (blob_path(&config_digest), &config),
        (blob_path(&manifest_digest), &manifest),
    ];
    blobs.sort();
    files.extend(blobs);
    let mut entries = vec![
        Entry::Dir {
            path: "blobs".into(),
            mode: 0o755,
        },
        Entry::Dir {
            path: "blobs/sha256".into(),
            mode: 0o755,
        },
    ];
    entries.extend(files.into_iter().map(|(path, data)| Entry::File {
        path,
        mode: 0o644,
        data: data.to_vec(),
    }));
    BuiltImage {
        name: spec.name.clone(),
        archive: layer_tar(&entries),
        manifest_digest,
        config_digest,
        diff_id,
        layer_digest,
    }
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "registry.local/test:1.0".into(),
            entries: vec![
                Entry::File {
                    path: "/bin/hello".into(),
                    mode: 0o755,
                    data: b"#!/bin/sh\necho hi\n".to_vec(),
                },
                Entry::Symlink {
                    path: "/bin/hi".into(),
                    target: "hello".into(),
                },
                Entry::Dir {
                    path: "/tmp".into(),
                    mode: 0o1777,
                },
            ],
            config: RunConfig {
                cmd: vec!["/bin/hello".into()],
                ..RunConfig::default()
            },
        }
    }

    fn files_of(archive: &[u8]) -> BTreeMap<String, (tar::Header, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let mut ar = tar::Archive::new(archive);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            out.insert(path, (e.header().clone(), data));
        }
        out
    }

    #[test]
    fn the_same_spec_gives_the_same_bytes() {
        assert_eq!(build(&spec()), build(&spec()));
    }

    #[test]
    fn the_layer_has_parents_modes_owners_and_zero_times() {
        let files = files_of(&layer_tar(&spec().entries));
        let names: Vec<_> = files.keys().cloned().collect();
        assert_eq!(names, ["bin/", "bin/hello", "bin/hi", "tmp/"]);
        let (h, data) = &files["bin/hello"];
        assert_eq!(h.mode().unwrap(), 0o755);
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, 0)
        );
        assert_eq!(data, b"#!/bin/sh\necho hi\n");
        assert_eq!(files["tmp/"].0.mode().unwrap(), 0o1777);
        let link = &files["bin/hi"].0;
        assert_eq!(link.entry_type(), tar::EntryType::Symlink);
        assert_eq!(link.link_name().unwrap().unwrap().to_str(), Some("hello"));
    }

    #[test]
    fn the_layout_links_index_manifest_config_and_layer_by_digest() {
        let built = build(&spec());
        let files = files_of(&built.archive);
        assert_eq!(files["oci-layout"].1, br#"{"imageLayoutVersion":"1.0.0"}"#);
        let blob = |d: &str| &files[&blob_path(d)].1;
        for (path, (_, data)) in files
            .iter()
            .filter(|(p, _)| p.starts_with("blobs/sha256/") && !p.ends_with('/'))
        {
            assert_eq!(
                blob_path(&sha256_digest(data)),
                *path,
                "blob named by its digest"
            );
        }
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"].1).unwrap();
        let desc = &index["manifests"][0];
        assert_eq!(desc["digest"], built.manifest_digest.as_str());
        assert_eq!(
            desc["annotations"][CONTAINERD_NAME_ANNOTATION],
            "registry.local/test:1.0"
        );
        assert_eq!(desc["annotations"][REF_NAME_ANNOTATION], "1.0");
        let manifest: serde_json::Value =
            serde_json::from_slice(blob(&built.manifest_digest)).unwrap();
        assert_eq!(manifest["config"]["digest"], built.config_digest.as_str());
        assert_eq!(manifest["layers"][0]["digest"], built.layer_digest.as_str());
        let config: serde_json::Value = serde_json::from_slice(blob(&built.config_digest)).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], built.diff_id.as_str());
        assert_eq!(config["config"]["Cmd"][0], "/bin/hello");
        // The diff id is the digest of the layer after decompression.
        let mut layer = Vec::new();
        flate2::read::GzDecoder::new(&blob(&built.layer_digest)[..])
            .read_to_end(&mut layer)
            .unwrap();
        assert_eq!(sha256_digest(&layer), built.diff_id);
    }

    #[test]
    fn tags_come_from_the_last_path_component() {
        assert_eq!(tag_of("registry.local/berth-pause:1.0"), "1.0");
        assert_eq!(tag_of("localhost:5000/app"), "latest");
        assert_eq!(tag_of("busybox"), "latest");
        assert_eq!(tag_of("docker.io/library/busybox:test"), "test");
    }
}
