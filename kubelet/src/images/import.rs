//! Loading image archives into a node's containerd without a registry: an OCI image layout
//! or a `docker save` archive (optionally gzipped) is indexed, its blobs are written to the
//! content store, the image is created in the CRI namespace `k8s.io` and its layers are
//! unpacked into the overlayfs snapshotter, so the CRI plugin can run it at once.
//!
//! The archive is never held in memory whole: an [`Archive`] records where each file's bytes
//! are, only the JSON documents (indexes, manifests, configs) are read, and layers are hashed
//! and sent to containerd in 1 MiB chunks straight from the archive (a gzipped archive is
//! first inflated into an anonymous temporary file).
//!
//! [`plan_archive`] parses and checks the archive (every blob against its digest) and says
//! what to write; it writes nothing. [`import`] does the writing, under a lease so that containerd's
//! garbage collector cannot remove half-imported content, and labels the blobs with the
//! references the collector follows (image → manifest → config and layers → snapshot).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::diff_client::DiffClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::leases_client::LeasesClient;
use containerd_client::services::v1::snapshots::snapshots_client::SnapshotsClient;
use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use containerd_client::services::v1::{
    ApplyRequest, CreateImageRequest, CreateRequest as CreateLeaseRequest,
    DeleteRequest as DeleteLeaseRequest, Image, Info, InfoRequest, UpdateImageRequest,
    UpdateRequest, WriteAction, WriteContentRequest,
};
use containerd_client::types::Descriptor;
use serde_json::Value;
use tonic::transport::Channel;
use tonic::{Code, Request};

use super::oci::{
    oci_architecture, sha256_digest, CONTAINERD_NAME_ANNOTATION, INDEX_TYPE, MANIFEST_TYPE,
    REF_NAME_ANNOTATION,
};
use crate::cri::{unix_channel, CriError};

/// The containerd namespace the CRI plugin keeps its images in.
pub const CRI_NAMESPACE: &str = "k8s.io";
/// The label that makes the CRI plugin treat an image as its own.
pub const CRI_MANAGED_LABEL: &str = "io.cri-containerd.image";
/// The snapshotter the node's containerd runs containers on.
pub const SNAPSHOTTER: &str = "overlayfs";

const DOCKER_MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST_TYPE: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG_TYPE: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Content written in one gRPC message; containerd accepts up to 16 MiB.
const CHUNK: usize = 1 << 20;
/// The largest JSON document (index, manifest, config) read from an archive.
const MAX_DOCUMENT: u64 = 16 << 20;

/// Why an archive could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The archive is not a readable tar, or lacks a file it refers to.
    #[error("reading the image archive: {0}")]
    Archive(String),
    /// A blob's content does not match its name or descriptor.
    #[error("blob {path} has digest {actual}, expected {expected}")]
    Digest {
        path: String,
        expected: String,
        actual: String,
    },
    /// Neither `index.json` nor `manifest.json` named an image.
    #[error("the archive holds no image (neither index.json nor manifest.json lists one)")]
    NoImages,
    /// An image in the archive has no full name to import it under.
    #[error("image {digest} in the archive has no name (no io.containerd.image.name annotation, reference name or RepoTags)")]
    Unnamed { digest: String },
    /// The node's containerd could not be reached.
    #[error(transparent)]
    Connect(#[from] CriError),
    /// containerd refused a step.
    #[error("containerd: {step}: {status}")]
    Containerd {
        step: String,
        #[source]
        status: tonic::Status,
    },
}

fn archive_err(msg: impl Into<String>) -> ImportError {
    ImportError::Archive(msg.into())
}

/// Where a blob's content is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobData {
    /// Made or read while planning (manifests and configs).
    Inline(Vec<u8>),
    /// `size` bytes of the archive from `offset` (layers).
    Stored { offset: u64, size: u64 },
}

impl BlobData {
    /// The content's length.
    pub fn len(&self) -> u64 {
        match self {
            BlobData::Inline(d) => d.len() as u64,
            BlobData::Stored { size, .. } => *size,
        }
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A blob to write to the content store, with the garbage-collection labels it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The content.
    pub data: BlobData,
    /// Labels set on the content.
    pub labels: BTreeMap<String, String>,
}

/// One layer to unpack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// The layer blob's digest.
    pub digest: String,
    /// Its media type (compressed or not).
    pub media_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// The digest of the uncompressed tar (from the config's `rootfs.diff_ids`).
    pub diff_id: String,
    /// The snapshot name of the layer stack up to and including this layer.
    pub chain_id: String,
}

/// One image of an archive, ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedImage {
    /// The full references to create (`docker.io/library/busybox:test`).
    pub names: Vec<String>,
    /// The image's target (its manifest).
    pub target_digest: String,
    /// The manifest's media type.
    pub target_media_type: String,
    /// The manifest's size.
    pub target_size: i64,
    /// The config's digest: the image id CRI reports.
    pub config_digest: String,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    /// Blobs in write order: layers, config, manifest (each labelled for its children).
    pub blobs: Vec<Blob>,
}

/// What [`import`] created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedImage {
    /// The references created or updated.
    pub names: Vec<String>,
    /// `sha256:` of the config (the CRI image id).
    pub config_digest: String,
    /// The manifest digest.
    pub manifest_digest: String,
    /// The top snapshot (chain id) the image's containers start from.
    pub chain_id: String,
}

/// The snapshot chain ids of a stack of layers with the given diff ids.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(parent) => sha256_digest(format!("{parent} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// Turns a short image reference into the full form CRI uses: `busybox` →
/// `docker.io/library/busybox:latest`, `me/app:1` → `docker.io/me/app:1`; references whose
/// first component names a registry host are kept.
pub fn normalize_reference(r: &str) -> String {
    let (repo_and_tag, digest) = match r.split_once('@') {
        Some((a, d)) => (a, Some(d)),
        None => (r, None),
    };
    let (first, _) = repo_and_tag.split_once('/').unwrap_or(("", repo_and_tag));
    let has_host =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_host {
        repo_and_tag.to_string()
    } else if repo_and_tag.contains('/') {
        format!("docker.io/{repo_and_tag}")
    } else {
        format!("docker.io/library/{repo_and_tag}")
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && digest.is_none() {
        full.push_str(":latest");
    }
    if let Some(d) = digest {
        full.push('@');
        full.push_str(d);
    }
    full
}

/// Where an archive's bytes are.
enum Source<'a> {
    Memory(&'a [u8]),
    File(File),
}

/// An image archive's regular files, by path without a leading `./`: where each one's bytes
/// start in the (uncompressed) archive and how many there are.
pub struct Archive<'a> {
    source: Source<'a>,
    files: HashMap<String, (u64, u64)>,
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Inflates a gzipped archive into an anonymous temporary file.
fn inflate(compressed: impl Read) -> Result<File, ImportError> {
    let mut file =
        tempfile::tempfile().map_err(|e| archive_err(format!("a temporary file: {e}")))?;
    std::io::copy(&mut flate2::read::GzDecoder::new(compressed), &mut file)
        .map_err(|e| archive_err(format!("gunzip: {e}")))?;
    Ok(file)
}

impl<'a> Archive<'a> {
    /// Indexes an archive held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Archive<'a>, ImportError> {
        if is_gzip(bytes) {
            return Archive::from_file(inflate(bytes)?);
        }
        let files = index(std::io::Cursor::new(bytes), bytes.len() as u64)?;
        Ok(Archive {
            source: Source::Memory(bytes),
            files,
        })
    }

    /// Indexes the archive file at `path` without reading its blobs.
    pub fn open(path: &Path) -> Result<Archive<'static>, ImportError> {
        let opened = |e: std::io::Error| archive_err(format!("{}: {e}", path.display()));
        let mut file = File::open(path).map_err(opened)?;
        let mut head = [0u8; 2];
        let n = file.read(&mut head).map_err(opened)?;
        file.seek(SeekFrom::Start(0)).map_err(opened)?;
        if is_gzip(&head[..n]) {
            file = inflate(BufReader::new(file))?;
        }
        Archive::from_file(file)
    }

    fn from_file(mut file: File) -> Result<Archive<'static>, ImportError> {
        let io = |e: std::io::Error| archive_err(e.to_string());
        let len = file.metadata().map_err(io)?.len();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let files = index(BufReader::new(&file), len)?;
        Ok(Archive {
            source: Source::File(file),
            files,
        })
    }

    fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Where file `path`'s bytes are: offset and size.
    fn entry(&self, path: &str) -> Result<(u64, u64), ImportError> {
        self.files
            .get(path)
            .copied()
            .ok_or_else(|| archive_err(format!("{path} is missing")))
    }

    /// `len` bytes from `offset`.
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ImportError> {
        match &self.source {
            Source::Memory(b) => usize::try_from(offset)
                .ok()
                .and_then(|start| b.get(start..start.checked_add(len)?))
                .map(<[u8]>::to_vec)
                .ok_or_else(|| archive_err("the archive is truncated")),
            Source::File(f) => {
                let mut buf = vec![0u8; len];
                f.read_exact_at(&mut buf, offset)
                    .map_err(|e| archive_err(format!("reading the archive: {e}")))?;
                Ok(buf)
            }
        }
    }

    /// A small file's bytes (a JSON document).
    fn read(&self, path: &str) -> Result<Vec<u8>, ImportError> {
        let (offset, size) = self.entry(path)?;
        if size > MAX_DOCUMENT {
            return Err(archive_err(format!(
                "{path} is {size} bytes, more than a JSON document may be ({MAX_DOCUMENT})"
            )));
        }
        self.read_at(offset, size as usize)
    }

    /// Calls `f` with the `size` bytes from `offset`, in chunks of at most [`CHUNK`].
    fn chunks(
        &self,
        offset: u64,
        size: u64,
        mut f: impl FnMut(&[u8]) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let mut done = 0u64;
        while done < size {
            let n = (size - done).min(CHUNK as u64) as usize;
            f(&self.read_at(offset + done, n)?)?;
            done += n as u64;
        }
        Ok(())
    }

    /// The `sha256:` digest of the `size` bytes from `offset`.
    fn digest(&self, offset: u64, size: u64) -> Result<String, ImportError> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        self.chunks(offset, size, |c| {
            ctx.update(c);
            Ok(())
        })?;
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in ctx.finish().as_ref() {
            s.push_str(&format!("{b:02x}"));
        }
        Ok(s)
    }

    /// A blob's bytes: what planning kept, or the archive's range.
    fn blob_chunk(&self, data: &BlobData, from: u64) -> Result<Vec<u8>, ImportError> {
        let n = (data.len() - from).min(CHUNK as u64) as usize;
        match data {
            BlobData::Inline(d) => Ok(d[from as usize..from as usize + n].to_vec()),
            BlobData::Stored { offset, .. } => self.read_at(offset + from, n),
        }
    }
}

/// The regular files of a tar stream of `len` bytes: path → (data offset, size).
fn index<R: Read + Seek>(reader: R, len: u64) -> Result<HashMap<String, (u64, u64)>, ImportError> {
    let mut files = HashMap::new();
    let mut ar = tar::Archive::new(reader);
    for entry in ar
        .entries_with_seek()
        .map_err(|e| archive_err(e.to_string()))?
    {
        let entry = entry.map_err(|e| archive_err(e.to_string()))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| archive_err(e.to_string()))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let (offset, size) = (entry.raw_file_position(), entry.size());
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(archive_err(format!("{path}: the archive is truncated")));
        }
        files.insert(path, (offset, size));
    }
    Ok(files)
}

fn json_of(archive: &Archive<'_>, path: &str) -> Result<Value, ImportError> {
    let data = archive.read(path)?;
    serde_json::from_slice(&data).map_err(|e| archive_err(format!("{path}: {e}")))
}

/// Where the blob named `digest` of an OCI layout is, checked against its digest.
fn oci_entry(archive: &Archive<'_>, digest: &str) -> Result<(u64, u64), ImportError> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| archive_err(format!("{digest:?} is not a digest")))?;
    if alg != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(archive_err(format!("unsupported digest {digest:?}")));
    }
    let path = format!("blobs/{alg}/{hex}");
    let (offset, size) = archive.entry(&path)?;
    let actual = archive.digest(offset, size)?;
    if actual != digest {
        return Err(ImportError::Digest {
            path,
            expected: digest.to_string(),
            actual,
        });
    }
    Ok((offset, size))
}

/// A JSON document of an OCI layout (index, manifest, config), checked against its digest.
fn oci_document(archive: &Archive<'_>, digest: &str) -> Result<Vec<u8>, ImportError> {
    let (offset, size) = oci_entry(archive, digest)?;
    if size > MAX_DOCUMENT {
        return Err(archive_err(format!(
            "blob {digest} is {size} bytes, more than a JSON document may be"
        )));
    }
    archive.read_at(offset, size as usize)
}

fn str_field<'a>(v: &'a Value, field: &str, what: &str) -> Result<&'a str, ImportError> {
    v[field]
        .as_str()
        .ok_or_else(|| archive_err(format!("{what} has no {field}")))
}

/// Parses an archive held in memory and says what to write; see the module doc.
pub fn plan(archive: &[u8]) -> Result<Vec<PlannedImage>, ImportError> {
    plan_archive(&Archive::from_bytes(archive)?)
}

/// Parses an indexed archive and says what to write; see the module doc.
pub fn plan_archive(files: &Archive<'_>) -> Result<Vec<PlannedImage>, ImportError> {
    if files.contains("index.json") {
        let planned = plan_oci(files)?;
        if !planned.is_empty() {
            return Ok(planned);
        }
    }
    if files.contains("manifest.json") {
        return plan_docker(files);
    }
    Err(ImportError::NoImages)
}

fn plan_oci(files: &Archive<'_>) -> Result<Vec<PlannedImage>, ImportError> {
    let index = json_of(files, "index.json")?;
    // docker save (25+) writes both layouts; its manifest.json carries the tags.
    let docker_tags: HashMap<String, Vec<String>> = match json_of(files, "manifest.json") {
        Ok(Value::Array(entries)) => entries
            .iter()
            .filter_map(|e| {
                let config = e["Config"].as_str()?;
                let digest = format!(
                    "sha256:{}",
                    config.rsplit('/').next()?.trim_end_matches(".json")
                );
                let tags = e["RepoTags"]
                    .as_array()?
                    .iter()
                    .filter_map(|t| t.as_str().map(normalize_reference))
                    .collect();
                Some((digest, tags))
            })
            .collect(),
        _ => HashMap::new(),
    };
    let mut images: Vec<PlannedImage> = Vec::new();
    let empty = Vec::new();
    for desc in index["manifests"].as_array().unwrap_or(&empty) {
        let mut names = Vec::new();
        if let Some(n) = desc["annotations"][CONTAINERD_NAME_ANNOTATION].as_str() {
            names.push(normalize_reference(n));
        } else if let Some(n) = desc["annotations"][REF_NAME_ANNOTATION].as_str() {
            // A bare tag ("1.0") names no repository; a full reference does.
            if n.contains('/') || n.contains(':') {
                names.push(normalize_reference(n));
            }
        }
        let manifest_desc = select_manifest(files, desc, 0)?;
        let mut image = plan_manifest(files, &manifest_desc)?;
        if let Some(tags) = docker_tags.get(&image.config_digest) {
            names.extend(tags.iter().cloned());
        }
        names.dedup();
        if names.is_empty() {
            return Err(ImportError::Unnamed {
                digest: image.target_digest,
            });
        }
        image.names = names;
        match images
            .iter_mut()
            .find(|i| i.target_digest == image.target_digest)
        {
            Some(existing) => existing.names.extend(image.names),
            None => images.push(image),
        }
    }
    Ok(images)
}

/// Follows nested indexes to the manifest for this machine's platform.
fn select_manifest(files: &Archive<'_>, desc: &Value, depth: usize) -> Result<Value, ImportError> {
    let media_type = desc["mediaType"].as_str().unwrap_or(MANIFEST_TYPE);
    if media_type != INDEX_TYPE && media_type != DOCKER_LIST_TYPE {
        return Ok(desc.clone());
    }
    if depth > 4 {
        return Err(archive_err("image indexes nested too deeply"));
    }
    let digest = str_field(desc, "digest", "an index descriptor")?;
    let index: Value = serde_json::from_slice(&oci_document(files, digest)?)
        .map_err(|e| archive_err(format!("index {digest}: {e}")))?;
    let empty = Vec::new();
    let manifests = index["manifests"].as_array().unwrap_or(&empty);
    let ours = manifests.iter().find(|m| {
        m["platform"]["os"].as_str().is_none_or(|os| os == "linux")
            && m["platform"]["architecture"]
                .as_str()
                .is_none_or(|a| a == oci_architecture())
    });
    let chosen = ours.ok_or_else(|| {
        archive_err(format!(
            "index {digest} has no manifest for linux/{}",
            oci_architecture()
        ))
    })?;
    select_manifest(files, chosen, depth + 1)
}

fn plan_manifest(files: &Archive<'_>, desc: &Value) -> Result<PlannedImage, ImportError> {
    let digest = str_field(desc, "digest", "a manifest descriptor")?.to_string();
    let manifest_bytes = oci_document(files, &digest)?;
    let manifest: Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| archive_err(format!("manifest {digest}: {e}")))?;
    let media_type = manifest["mediaType"]
        .as_str()
        .or(desc["mediaType"].as_str())
        .unwrap_or(MANIFEST_TYPE)
        .to_string();
    let config_digest = str_field(&manifest["config"], "digest", "the manifest's config")?;
    let config = oci_document(files, config_digest)?;
    let empty = Vec::new();
    let mut layers = Vec::new();
    for l in manifest["layers"].as_array().unwrap_or(&empty) {
        let d = str_field(l, "digest", "a layer descriptor")?;
        let (offset, size) = oci_entry(files, d)?;
        let media_type = l["mediaType"].as_str().unwrap_or(DOCKER_LAYER_GZIP_TYPE);
        layers.push((
            d.to_string(),
            media_type.to_string(),
            BlobData::Stored { offset, size },
        ));
    }
    assemble(digest, media_type, manifest_bytes, config, layers)
}

fn plan_docker(files: &Archive<'_>) -> Result<Vec<PlannedImage>, ImportError> {
    let entries = json_of(files, "manifest.json")?;
    let entries = entries
        .as_array()
        .ok_or_else(|| archive_err("manifest.json is not a list"))?;
    let mut images = Vec::new();
    for e in entries {
        let config_path = str_field(e, "Config", "a manifest.json entry")?;
        let config = files.read(config_path)?;
        let mut layers = Vec::new();
        let empty = Vec::new();
        for l in e["Layers"].as_array().unwrap_or(&empty) {
            let path = l
                .as_str()
                .ok_or_else(|| archive_err("a layer path is not a string"))?;
            let (offset, size) = files.entry(path)?;
            let head = files.read_at(offset, size.min(2) as usize)?;
            let media_type = if is_gzip(&head) {
                DOCKER_LAYER_GZIP_TYPE
            } else {
                DOCKER_LAYER_TYPE
            };
            layers.push((
                files.digest(offset, size)?,
                media_type.to_string(),
                BlobData::Stored { offset, size },
            ));
        }
        let config_digest = sha256_digest(&config);
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_TYPE,
            "config": {"mediaType": DOCKER_CONFIG_TYPE, "digest": config_digest, "size": config.len()},
            "layers": layers.iter().map(|(d, t, data)| serde_json::json!({
                "mediaType": t, "digest": d, "size": data.len(),
            })).collect::<Vec<_>>(),
        }))
        .expect("JSON serializes");
        let digest = sha256_digest(&manifest);
        let mut image = assemble(
            digest.clone(),
            DOCKER_MANIFEST_TYPE.into(),
            manifest,
            config,
            layers,
        )?;
        image.names = e["RepoTags"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter_map(|t| t.as_str().map(normalize_reference))
            .collect();
        if image.names.is_empty() {
            return Err(ImportError::Unnamed { digest });
        }
        images.push(image);
    }
    if images.is_empty() {
        return Err(ImportError::NoImages);
    }
    Ok(images)
}

/// Puts the blobs in write order and labels them for the garbage collector.
fn assemble(
    manifest_digest: String,
    manifest_type: String,
    manifest: Vec<u8>,
    config: Vec<u8>,
    layers: Vec<(String, String, BlobData)>,
) -> Result<PlannedImage, ImportError> {
    let config_digest = sha256_digest(&config);
    let config_json: Value = serde_json::from_slice(&config)
        .map_err(|e| archive_err(format!("config {config_digest}: {e}")))?;
    let diff_ids: Vec<String> = config_json["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != layers.len() {
        return Err(archive_err(format!(
            "config {config_digest} lists {} diff_ids for {} layers",
            diff_ids.len(),
            layers.len()
        )));
    }
    let chains = chain_ids(&diff_ids);
    let mut blobs = Vec::new();
    let mut planned_layers = Vec::new();
    for (i, (digest, media_type, data)) in layers.into_iter().enumerate() {
        let mut labels = BTreeMap::new();
        labels.insert(
            "containerd.io/uncompressed".to_string(),
            diff_ids[i].clone(),
        );
        planned_layers.push(Layer {
            digest: digest.clone(),
            media_type,
            size: data.len() as i64,
            diff_id: diff_ids[i].clone(),
            chain_id: chains[i].clone(),
        });
        blobs.push(Blob {
            digest,
            data,
            labels,
        });
    }
    let mut config_labels = BTreeMap::new();
    if let Some(top) = chains.last() {
        config_labels.insert(
            format!("containerd.io/gc.ref.snapshot.{SNAPSHOTTER}"),
            top.clone(),
        );
    }
    blobs.push(Blob {
        digest: config_digest.clone(),
        data: BlobData::Inline(config),
        labels: config_labels,
    });
    let mut manifest_labels = BTreeMap::new();
    manifest_labels.insert(
        "containerd.io/gc.ref.content.config".to_string(),
        config_digest.clone(),
    );
    for (i, l) in planned_layers.iter().enumerate() {
        manifest_labels.insert(
            format!("containerd.io/gc.ref.content.l.{i}"),
            l.digest.clone(),
        );
    }
    let target_size = manifest.len() as i64;
    blobs.push(Blob {
        digest: manifest_digest.clone(),
        data: BlobData::Inline(manifest),
        labels: manifest_labels,
    });
    Ok(PlannedImage {
        names: Vec::new(),
        target_digest: manifest_digest,
        target_media_type: manifest_type,
        target_size,
        config_digest,
        layers: planned_layers,
        blobs,
    })
}

/// containerd's image, content, snapshot and diff services in the CRI namespace, under one
/// lease.
struct Session {
    channel: Channel,
    lease: String,
}

impl Session {
    fn request<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        let md = r.metadata_mut();
        md.insert(
            "containerd-namespace",
            CRI_NAMESPACE.parse().expect("an ASCII value"),
        );
        if !self.lease.is_empty() {
            if let Ok(v) = self.lease.parse() {
                md.insert("containerd-lease", v);
            }
        }
        r
    }
}

fn step(step: impl Into<String>) -> impl FnOnce(tonic::Status) -> ImportError {
    let step = step.into();
    move |status| ImportError::Containerd { step, status }
}

/// Imports every image of `archive`, held in memory, into the containerd at `endpoint`
/// (`unix:///path` or `/path`); see the module doc.
pub async fn import(endpoint: &str, archive: &[u8]) -> Result<Vec<ImportedImage>, ImportError> {
    import_archive(endpoint, &Archive::from_bytes(archive)?).await
}

/// Imports every image of the archive file at `path`; see the module doc.
pub async fn import_file(endpoint: &str, path: &Path) -> Result<Vec<ImportedImage>, ImportError> {
    import_archive(endpoint, &Archive::open(path)?).await
}

/// Imports every image of an indexed archive.
pub async fn import_archive(
    endpoint: &str,
    archive: &Archive<'_>,
) -> Result<Vec<ImportedImage>, ImportError> {
    let planned = plan_archive(archive)?;
    let channel = unix_channel(endpoint).await?;
    let unique = format!(
        "berth-import-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let mut session = Session {
        channel,
        lease: String::new(),
    };
    let mut leases = LeasesClient::new(session.channel.clone());
    let mut labels = HashMap::new();
    // A lease outlives a crashed import by at most an hour.
    labels.insert("containerd.io/gc.expire".to_string(), expiry_in(3600));
    leases
        .create(session.request(CreateLeaseRequest {
            id: unique.clone(),
            labels,
        }))
        .await
        .map_err(step("creating a lease"))?;
    session.lease = unique.clone();
    let result = import_planned(&session, archive, &planned, &unique).await;
    session.lease = String::new();
    let _ = leases
        .delete(session.request(DeleteLeaseRequest {
            id: unique,
            sync: false,
        }))
        .await;
    result
}

fn expiry_in(seconds: u64) -> String {
    // RFC 3339 in UTC, which containerd parses for gc.expire.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + seconds;
    let (days, secs) = (now / 86_400, now % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

async fn import_planned(
    s: &Session,
    archive: &Archive<'_>,
    planned: &[PlannedImage],
    unique: &str,
) -> Result<Vec<ImportedImage>, ImportError> {
    let mut content = ContentClient::new(s.channel.clone());
    let mut images = ImagesClient::new(s.channel.clone());
    let mut out = Vec::new();
    for image in planned {
        for blob in &image.blobs {
            write_blob(s, &mut content, archive, blob, unique).await?;
        }
        unpack(s, image, unique).await?;
        let target = Descriptor {
            media_type: image.target_media_type.clone(),
            digest: image.target_digest.clone(),
            size: image.target_size,
            annotations: HashMap::new(),
        };
        for name in &image.names {
            let mut labels = HashMap::new();
            labels.insert(CRI_MANAGED_LABEL.to_string(), "managed".to_string());
            let record = Image {
                name: name.clone(),
                labels,
                target: Some(target.clone()),
                created_at: None,
                updated_at: None,
            };
            let created = images
                .create(s.request(CreateImageRequest {
                    image: Some(record.clone()),
                    source_date_epoch: None,
                }))
                .await;
            match created {
                Ok(_) => {}
                Err(status) if status.code() == Code::AlreadyExists => {
                    images
                        .update(s.request(UpdateImageRequest {
                            image: Some(record),
                            update_mask: None,
                            source_date_epoch: None,
                        }))
                        .await
                        .map_err(step(format!("updating image {name}")))?;
                }
                Err(status) => return Err(step(format!("creating image {name}"))(status)),
            }
        }
        out.push(ImportedImage {
            names: image.names.clone(),
            config_digest: image.config_digest.clone(),
            manifest_digest: image.target_digest.clone(),
            chain_id: image
                .layers
                .last()
                .map(|l| l.chain_id.clone())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Writes a blob unless the store has it; makes sure its labels are set either way.
async fn write_blob(
    s: &Session,
    content: &mut ContentClient<Channel>,
    archive: &Archive<'_>,
    blob: &Blob,
    unique: &str,
) -> Result<(), ImportError> {
    let labels: HashMap<String, String> = blob.labels.clone().into_iter().collect();
    let exists = content
        .info(s.request(InfoRequest {
            digest: blob.digest.clone(),
        }))
        .await;
    match exists {
        Ok(_) => {
            if labels.is_empty() {
                return Ok(());
            }
            let paths = labels.keys().map(|k| format!("labels.{k}")).collect();
            content
                .update(s.request(UpdateRequest {
                    info: Some(Info {
                        digest: blob.digest.clone(),
                        size: blob.data.len() as i64,
                        labels,
                        created_at: None,
                        updated_at: None,
                    }),
                    update_mask: Some(prost_types::FieldMask { paths }),
                }))
                .await
                .map_err(step(format!("labelling content {}", blob.digest)))?;
            return Ok(());
        }
        Err(status) if status.code() == Code::NotFound => {}
        Err(status) => return Err(step(format!("looking up content {}", blob.digest))(status)),
    }
    let total = blob.data.len();
    let reference = format!("{unique}-{}", blob.digest);
    let message = |action: WriteAction, offset: u64, data: Vec<u8>, labels| WriteContentRequest {
        action: action as i32,
        r#ref: reference.clone(),
        total: total as i64,
        expected: blob.digest.clone(),
        offset: offset as i64,
        data,
        labels,
    };
    // The chunks are read while the stream is sent, two ahead at most. A read error ends
    // the stream before the commit (so nothing is committed) and is what the call returns.
    let (tx, rx) = futures::channel::mpsc::channel::<WriteContentRequest>(2);
    let feed = async {
        use futures::SinkExt;
        let mut tx = tx;
        let mut offset = 0u64;
        while offset < total {
            let data = archive.blob_chunk(&blob.data, offset)?;
            let at = offset;
            offset += data.len() as u64;
            if tx
                .send(message(WriteAction::Write, at, data, HashMap::new()))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        let _ = tx
            .send(message(
                WriteAction::Commit,
                total,
                Vec::new(),
                labels.clone(),
            ))
            .await;
        Ok::<(), ImportError>(())
    };
    let call = async {
        let mut responses = match content.write(s.request(rx)).await {
            Ok(r) => r.into_inner(),
            Err(status) if status.code() == Code::AlreadyExists => return Ok(()),
            Err(status) => return Err(step(format!("writing content {}", blob.digest))(status)),
        };
        loop {
            match responses.message().await {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(()),
                Err(status) if status.code() == Code::AlreadyExists => return Ok(()),
                Err(status) => {
                    return Err(step(format!("writing content {}", blob.digest))(status))
                }
            }
        }
    };
    tokio::pin!(feed, call);
    tokio::select! {
        fed = &mut feed => {
            fed?;
            call.await
        }
        written = &mut call => written,
    }
}

/// Unpacks the image's layers into the snapshotter, skipping layers already unpacked.
async fn unpack(s: &Session, image: &PlannedImage, unique: &str) -> Result<(), ImportError> {
    let mut snapshots = SnapshotsClient::new(s.channel.clone());
    let mut diff = DiffClient::new(s.channel.clone());
    let mut parent = String::new();
    for layer in &image.layers {
        let stat = snapshots
            .stat(s.request(StatSnapshotRequest {
                snapshotter: SNAPSHOTTER.into(),
                key: layer.chain_id.clone(),
            }))
            .await;
        match stat {
            Ok(_) => {
                parent = layer.chain_id.clone();
                continue;
            }
            Err(status) if status.code() == Code::NotFound => {}
            Err(status) => {
                return Err(step(format!("looking up snapshot {}", layer.chain_id))(
                    status,
                ))
            }
        }
        let key = format!("{unique}-extract-{}", layer.chain_id);
        let mounts = snapshots
            .prepare(s.request(PrepareSnapshotRequest {
                snapshotter: SNAPSHOTTER.into(),
                key: key.clone(),
                parent: parent.clone(),
                labels: HashMap::new(),
            }))
            .await
            .map_err(step(format!(
                "preparing a snapshot for layer {}",
                layer.digest
            )))?
            .into_inner()
            .mounts;
        let applied = diff
            .apply(s.request(ApplyRequest {
                diff: Some(Descriptor {
                    media_type: layer.media_type.clone(),
                    digest: layer.digest.clone(),
                    size: layer.size,
                    annotations: HashMap::new(),
                }),
                mounts,
                payloads: HashMap::new(),
                sync_fs: false,
            }))
            .await;
        let result = match applied {
            Ok(r) => {
                let got = r.into_inner().applied.map(|d| d.digest).unwrap_or_default();
                if got == layer.diff_id {
                    let mut labels = HashMap::new();
                    labels.insert(
                        "containerd.io/snapshot.ref".to_string(),
                        layer.chain_id.clone(),
                    );
                    snapshots
                        .commit(s.request(CommitSnapshotRequest {
                            snapshotter: SNAPSHOTTER.into(),
                            name: layer.chain_id.clone(),
                            key: key.clone(),
                            labels,
                        }))
                        .await
                        .map(|_| ())
                        .or_else(|status| {
                            // Another import committed the same layer meanwhile.
                            if status.code() == Code::AlreadyExists {
                                Ok(())
                            } else {
                                Err(step(format!("committing snapshot {}", layer.chain_id))(
                                    status,
                                ))
                            }
                        })
                } else {
                    Err(ImportError::Digest {
                        path: format!("layer {}", layer.digest),
                        expected: layer.diff_id.clone(),
                        actual: got,
                    })
                }
            }
            Err(status) => Err(step(format!("applying layer {}", layer.digest))(status)),
        };
        if result.is_err() {
            let _ = snapshots
                .remove(s.request(RemoveSnapshotRequest {
                    snapshotter: SNAPSHOTTER.into(),
                    key,
                }))
                .await;
        }
        result?;
        parent = layer.chain_id.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::oci::{build, Entry, ImageSpec, RunConfig};

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "registry.local/x:1".into(),
            entries: vec![Entry::File {
                path: "/hello".into(),
                mode: 0o644,
                data: b"hi".to_vec(),
            }],
            config: RunConfig::default(),
        }
    }

    #[test]
    fn references_are_normalized_like_cri() {
        assert_eq!(
            normalize_reference("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_reference("busybox:test"),
            "docker.io/library/busybox:test"
        );
        assert_eq!(normalize_reference("me/app:1"), "docker.io/me/app:1");
        assert_eq!(
            normalize_reference("registry.local/berth-pause:1.0"),
            "registry.local/berth-pause:1.0"
        );
        assert_eq!(
            normalize_reference("localhost:5000/a"),
            "localhost:5000/a:latest"
        );
        assert_eq!(normalize_reference("localhost/a:2"), "localhost/a:2");
    }

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let a = "sha256:aa".to_string();
        let b = "sha256:bb".to_string();
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], sha256_digest(b"sha256:aa sha256:bb"));
    }

    #[test]
    fn an_oci_layout_plans_layers_config_and_manifest_with_gc_labels() {
        let built = build(&spec());
        let planned = plan(&built.archive).unwrap();
        assert_eq!(planned.len(), 1);
        let p = &planned[0];
        assert_eq!(p.names, ["registry.local/x:1"]);
        assert_eq!(p.target_digest, built.manifest_digest);
        assert_eq!(p.config_digest, built.config_digest);
        assert_eq!(p.layers.len(), 1);
        assert_eq!(p.layers[0].diff_id, built.diff_id);
        assert_eq!(p.layers[0].chain_id, built.diff_id);
        let digests: Vec<_> = p.blobs.iter().map(|b| b.digest.as_str()).collect();
        assert_eq!(
            digests,
            [
                &built.layer_digest,
                &built.config_digest,
                &built.manifest_digest
            ]
        );
        assert_eq!(
            p.blobs[2].labels["containerd.io/gc.ref.content.l.0"],
            built.layer_digest
        );
        assert_eq!(
            p.blobs[1].labels["containerd.io/gc.ref.snapshot.overlayfs"],
            built.diff_id
        );
    }

    fn retar(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let entries: Vec<Entry> = files
            .iter()
            .map(|(p, d)| Entry::File {
                path: p.to_string(),
                mode: 0o644,
                data: d.clone(),
            })
            .collect();
        crate::images::oci::layer_tar(&entries)
    }

    #[test]
    fn a_docker_save_archive_is_planned_from_manifest_json() {
        let layer = crate::images::oci::layer_tar(&spec().entries);
        let diff_id = sha256_digest(&layer);
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }))
        .unwrap();
        let config_hex = sha256_digest(&config)[7..].to_string();
        let manifest = serde_json::to_vec(&serde_json::json!([{
            "Config": format!("{config_hex}.json"),
            "RepoTags": ["busybox:saved"],
            "Layers": ["abc/layer.tar"],
        }]))
        .unwrap();
        let archive = retar(&[
            ("manifest.json", manifest),
            (&format!("{config_hex}.json"), config),
            ("abc/layer.tar", layer),
        ]);
        let planned = plan(&archive).unwrap();
        assert_eq!(planned[0].names, ["docker.io/library/busybox:saved"]);
        assert_eq!(planned[0].layers[0].media_type, DOCKER_LAYER_TYPE);
        assert_eq!(planned[0].layers[0].diff_id, diff_id);
        assert_eq!(planned[0].target_media_type, DOCKER_MANIFEST_TYPE);
    }

    #[test]
    fn damaged_or_empty_archives_are_refused() {
        let built = build(&spec());
        let mut files: HashMap<String, Vec<u8>> = tar::Archive::new(&built.archive[..])
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, data)
            })
            .collect();
        let layer_path = format!("blobs/sha256/{}", &built.layer_digest[7..]);
        files.get_mut(&layer_path).unwrap()[10] ^= 0xff;
        let owned: Vec<(String, Vec<u8>)> = files.into_iter().collect();
        let refs: Vec<(&str, Vec<u8>)> =
            owned.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
        assert!(matches!(
            plan(&retar(&refs)),
            Err(ImportError::Digest { .. })
        ));
        assert!(matches!(
            plan(&retar(&[("x", vec![1])])),
            Err(ImportError::NoImages)
        ));
        assert!(plan(b"not a tar at all").is_err());
    }

    #[test]
    fn archive_files_plain_or_gzipped_plan_like_bytes_and_truncation_is_refused() {
        use std::io::Write;
        let built = build(&spec());
        let from_bytes = plan(&built.archive).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("x.tar");
        std::fs::write(&plain, &built.archive).unwrap();
        let gz_path = dir.path().join("x.tar.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&gz_path).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(&built.archive).unwrap();
        gz.finish().unwrap();
        for path in [&plain, &gz_path] {
            let archive = Archive::open(path).unwrap();
            assert_eq!(
                plan_archive(&archive).unwrap(),
                from_bytes,
                "{}",
                path.display()
            );
        }
        // Cut inside the last blob: its recorded range runs past the end.
        let cut = dir.path().join("cut.tar");
        let (_, (offset, size)) = Archive::from_bytes(&built.archive)
            .unwrap()
            .files
            .into_iter()
            .max_by_key(|(_, (o, _))| *o)
            .unwrap();
        std::fs::write(&cut, &built.archive[..(offset + size / 2) as usize]).unwrap();
        assert!(matches!(Archive::open(&cut), Err(ImportError::Archive(_))));
        assert!(Archive::open(&dir.path().join("missing.tar")).is_err());
    }

    #[test]
    fn lease_expiry_is_rfc3339() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        let e = expiry_in(0);
        assert_eq!(e.len(), 20);
        assert!(e.ends_with('Z'));
    }
}
