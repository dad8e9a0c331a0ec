//! A pod's volumes on the node: `emptyDir` (a directory, or a tmpfs for `medium: Memory`),
//! `hostPath`, and the API-backed ones (`configMap`, `secret`, `downwardAPI`, `projected`)
//! written through [`atomic_writer`](super::atomic_writer) and rewritten in place whenever
//! their source changes. What each API-backed volume holds is computed purely from
//! [`VolumeSources`]; [`setup`] does the filesystem work.

use super::atomic_writer::{self, File, Payload};
use super::env::{field_value, resource_value, PodFacts, Sources};
use super::naming;
use berth_api_types::k8s::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume,
};
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Default permission bits of configMap, secret, downwardAPI and projected files (0644).
pub const DEFAULT_MODE: i32 = 0o644;

/// Everything API-backed volumes are made of.
#[derive(Debug, Default, Clone)]
pub struct VolumeSources {
    /// ConfigMaps and Secrets of the namespace.
    pub objects: Sources,
    /// Service-account tokens by (audience, expiration seconds).
    pub tokens: HashMap<(String, i64), String>,
}

/// Why a volume could not be set up; the text goes into a `FailedMount` event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
pub struct MountError {
    /// The volume's name.
    pub volume: String,
    /// What went wrong.
    pub message: String,
}

fn mount_err(volume: &str, message: impl Into<String>) -> MountError {
    MountError {
        volume: volume.to_string(),
        message: message.into(),
    }
}

/// The ConfigMaps and Secrets the pod's volumes name.
pub fn references(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if let Some(c) = &v.config_map {
            cms.insert(c.name.clone());
        }
        if let Some(s) = &v.secret {
            secrets.extend(s.secret_name.clone());
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(c) = &src.config_map {
                cms.insert(c.name.clone());
            }
            if let Some(s) = &src.secret {
                secrets.insert(s.name.clone());
            }
        }
    }
    (cms, secrets)
}

/// The service-account tokens the pod's projected volumes need: (audience, expiration).
pub fn token_requests(pod: &Pod) -> Vec<(String, i64)> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .flat_map(|v| v.projected.iter().flat_map(|p| p.sources.iter().flatten()))
        .filter_map(|src| src.service_account_token.as_ref())
        .map(|t| {
            (
                t.audience.clone().unwrap_or_default(),
                t.expiration_seconds.unwrap_or(3607),
            )
        })
        .collect()
}

fn items_payload(
    volume: &str,
    data: &[(String, Vec<u8>)],
    items: Option<&Vec<KeyToPath>>,
    mode: i32,
    what: &str,
    optional: bool,
) -> Result<Payload, MountError> {
    let mut out = Payload::new();
    match items {
        None => {
            for (k, v) in data {
                out.insert(
                    k.clone(),
                    File {
                        data: v.clone(),
                        mode: mode as u32,
                    },
                );
            }
        }
        Some(items) => {
            for item in items {
                match data.iter().find(|(k, _)| *k == item.key) {
                    Some((_, v)) => {
                        out.insert(
                            item.path.clone(),
                            File {
                                data: v.clone(),
                                mode: item.mode.unwrap_or(mode) as u32,
                            },
                        );
                    }
                    None if optional => {}
                    None => {
                        return Err(mount_err(
                            volume,
                            format!("configured to use key {} but it is not in {what}", item.key),
                        ))
                    }
                }
            }
        }
    }
    Ok(out)
}

fn config_map_data(cm: &ConfigMap) -> Vec<(String, Vec<u8>)> {
    let mut d: Vec<(String, Vec<u8>)> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    d.extend(
        cm.binary_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    d
}

fn secret_data(s: &Secret) -> Vec<(String, Vec<u8>)> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

fn downward_payload(
    volume: &str,
    pod: &Pod,
    facts: &PodFacts,
    items: &[DownwardAPIVolumeFile],
    mode: i32,
) -> Result<Payload, MountError> {
    let mut out = Payload::new();
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            match f.field_path.as_str() {
                "metadata.labels" => render_map(pod.metadata.labels.as_ref()),
                "metadata.annotations" => render_map(pod.metadata.annotations.as_ref()),
                path => field_value(pod, facts, path).map_err(|e| mount_err(volume, e.0))?,
            }
        } else if let Some(r) = &item.resource_field_ref {
            let resources = pod.spec.as_ref().and_then(|s| {
                s.containers
                    .iter()
                    .find(|c| Some(c.name.as_str()) == r.container_name.as_deref())
                    .and_then(|c| c.resources.clone())
            });
            resource_value(
                resources.as_ref(),
                facts,
                &r.resource,
                r.divisor.as_ref().map(|d| d.0.as_str()),
            )
            .map_err(|e| mount_err(volume, e.0))?
        } else {
            String::new()
        };
        out.insert(
            item.path.clone(),
            File {
                data: value.into_bytes(),
                mode: item.mode.unwrap_or(mode) as u32,
            },
        );
    }
    Ok(out)
}

/// Labels or annotations as the downward API writes them: `key="value"` lines, sorted.
pub fn render_map(map: Option<&std::collections::BTreeMap<String, String>>) -> String {
    map.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files an API-backed volume holds; `None` for the other kinds.
pub fn payload(
    pod: &Pod,
    v: &Volume,
    sources: &VolumeSources,
    facts: &PodFacts,
) -> Result<Option<Payload>, MountError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(c) = &v.config_map {
        let optional = c.optional.unwrap_or(false);
        let mode = c.default_mode.unwrap_or(DEFAULT_MODE);
        return match sources.objects.config_maps.get(&c.name).cloned().flatten() {
            Some(cm) => items_payload(
                &v.name,
                &config_map_data(&cm),
                c.items.as_ref(),
                mode,
                &format!("ConfigMap {ns}/{}", c.name),
                optional,
            )
            .map(Some),
            None if optional => Ok(Some(Payload::new())),
            None => Err(mount_err(
                &v.name,
                format!("configmap \"{}\" not found", c.name),
            )),
        };
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let optional = s.optional.unwrap_or(false);
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        return match sources.objects.secrets.get(&name).cloned().flatten() {
            Some(secret) => items_payload(
                &v.name,
                &secret_data(&secret),
                s.items.as_ref(),
                mode,
                &format!("Secret {ns}/{name}"),
                optional,
            )
            .map(Some),
            None if optional => Ok(Some(Payload::new())),
            None => Err(mount_err(&v.name, format!("secret \"{name}\" not found"))),
        };
    }
    if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        return downward_payload(&v.name, pod, facts, d.items.as_deref().unwrap_or(&[]), mode)
            .map(Some);
    }
    if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        let mut out = Payload::new();
        for src in p.sources.iter().flatten() {
            let part = if let Some(c) = &src.config_map {
                let optional = c.optional.unwrap_or(false);
                match sources.objects.config_maps.get(&c.name).cloned().flatten() {
                    Some(cm) => items_payload(
                        &v.name,
                        &config_map_data(&cm),
                        c.items.as_ref(),
                        mode,
                        &format!("ConfigMap {ns}/{}", c.name),
                        optional,
                    )?,
                    None if optional => Payload::new(),
                    None => {
                        return Err(mount_err(
                            &v.name,
                            format!("configmap \"{}\" not found", c.name),
                        ))
                    }
                }
            } else if let Some(s) = &src.secret {
                let optional = s.optional.unwrap_or(false);
                match sources.objects.secrets.get(&s.name).cloned().flatten() {
                    Some(secret) => items_payload(
                        &v.name,
                        &secret_data(&secret),
                        s.items.as_ref(),
                        mode,
                        &format!("Secret {ns}/{}", s.name),
                        optional,
                    )?,
                    None if optional => Payload::new(),
                    None => {
                        return Err(mount_err(
                            &v.name,
                            format!("secret \"{}\" not found", s.name),
                        ))
                    }
                }
            } else if let Some(d) = &src.downward_api {
                downward_payload(&v.name, pod, facts, d.items.as_deref().unwrap_or(&[]), mode)?
            } else if let Some(t) = &src.service_account_token {
                let key = (
                    t.audience.clone().unwrap_or_default(),
                    t.expiration_seconds.unwrap_or(3607),
                );
                let token = sources.tokens.get(&key).ok_or_else(|| {
                    mount_err(
                        &v.name,
                        "failed to fetch token: the token request did not succeed",
                    )
                })?;
                Payload::from([(
                    t.path.clone(),
                    File {
                        data: token.clone().into_bytes(),
                        mode: mode as u32,
                    },
                )])
            } else {
                Payload::new()
            };
            out.extend(part);
        }
        return Ok(Some(out));
    }
    Ok(None)
}

/// Where a volume lives on the host.
pub fn host_path(root: &Path, uid: &str, v: &Volume) -> Option<PathBuf> {
    let plugin = if v.empty_dir.is_some() {
        "empty-dir"
    } else if let Some(h) = &v.host_path {
        return Some(PathBuf::from(&h.path));
    } else if v.config_map.is_some() {
        "configmap"
    } else if v.secret.is_some() {
        "secret"
    } else if v.downward_api.is_some() {
        "downward-api"
    } else if v.projected.is_some() {
        "projected"
    } else {
        return None;
    };
    Some(naming::volume_dir(root, uid, plugin, &v.name))
}

/// Sets up every volume of the pod (idempotent; API-backed ones are rewritten when their
/// contents changed) and returns the host path of each by name.
pub fn setup(
    root: &Path,
    pod: &Pod,
    sources: &VolumeSources,
    facts: &PodFacts,
) -> Result<HashMap<String, PathBuf>, MountError> {
    let (_, _, uid) = naming::pod_ids(pod);
    let mut paths = HashMap::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let Some(path) = host_path(root, uid, v) else {
            return Err(mount_err(
                &v.name,
                "this volume type is not supported by this node",
            ));
        };
        if let Some(e) = &v.empty_dir {
            if !path.exists() {
                std::fs::create_dir_all(&path).map_err(|e| mount_err(&v.name, e.to_string()))?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                    .map_err(|e| mount_err(&v.name, e.to_string()))?;
            }
            if e.medium.as_deref() == Some("Memory") && !is_mount_point(&path) {
                let size = e
                    .size_limit
                    .as_ref()
                    .and_then(|q| berth_api_types::validation::quantity::Quantity::parse(&q.0))
                    .map(|q| format!(",size={}", q.value()))
                    .unwrap_or_default();
                rustix::mount::mount(
                    "tmpfs",
                    &path,
                    "tmpfs",
                    rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV,
                    std::ffi::CString::new(format!("mode=0777{size}"))
                        .ok()
                        .as_deref(),
                )
                .map_err(|e| mount_err(&v.name, format!("mounting tmpfs: {e}")))?;
            }
        } else if let Some(h) = &v.host_path {
            let kind = h.type_.as_deref().unwrap_or("");
            let exists = path.exists();
            let problem = match kind {
                "DirectoryOrCreate" if !exists => std::fs::create_dir_all(&path)
                    .and_then(|_| {
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    })
                    .err()
                    .map(|e| e.to_string()),
                "FileOrCreate" if !exists => {
                    if let Some(parent) = path.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    std::fs::write(&path, b"").err().map(|e| e.to_string())
                }
                "Directory" if !path.is_dir() => Some(format!(
                    "hostPath type check failed: {} is not a directory",
                    h.path
                )),
                "File" if !path.is_file() => Some(format!(
                    "hostPath type check failed: {} is not a file",
                    h.path
                )),
                "Socket" | "CharDevice" | "BlockDevice" if !exists => Some(format!(
                    "hostPath type check failed: {} does not exist",
                    h.path
                )),
                _ => None,
            };
            if let Some(p) = problem {
                return Err(mount_err(&v.name, p));
            }
        } else if let Some(files) = payload(pod, v, sources, facts)? {
            atomic_writer::write(&path, &files).map_err(|e| mount_err(&v.name, e.to_string()))?;
        }
        paths.insert(v.name.clone(), path);
    }
    Ok(paths)
}

/// Whether `path` is a mount point (its device differs from its parent's).
fn is_mount_point(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(path),
        path.parent().map(std::fs::metadata),
    ) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Removes the pod's directory, unmounting memory-backed volumes first.
pub fn tear_down(root: &Path, uid: &str) -> std::io::Result<()> {
    let dir = naming::pod_dir(root, uid);
    if !dir.exists() {
        return Ok(());
    }
    let empty_dirs = dir.join("volumes").join("kubernetes.io~empty-dir");
    if let Ok(entries) = std::fs::read_dir(&empty_dirs) {
        for e in entries.flatten() {
            if is_mount_point(&e.path()) {
                let _ = rustix::mount::unmount(e.path(), rustix::mount::UnmountFlags::DETACH);
            }
        }
    }
    std::fs::remove_dir_all(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(volumes: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "1", "b": "x y"}},
            "spec": {"containers": [], "volumes": volumes}
        }))
        .unwrap()
    }

    fn sources() -> VolumeSources {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cfg"}, "data": {"k1": "v1", "k2": "v2"}}))
        .unwrap();
        let mut s = VolumeSources::default();
        s.objects.config_maps.insert("cfg".into(), Some(cm));
        s.tokens.insert(("".into(), 3607), "tok".into());
        s
    }

    #[test]
    fn config_map_items_and_modes() {
        let p = pod(
            serde_json::json!([{"name": "v", "configMap": {"name": "cfg",
            "items": [{"key": "k2", "path": "dir/two", "mode": 0o600}]}}]),
        );
        let v = &p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        let files = payload(&p, v, &sources(), &PodFacts::default())
            .unwrap()
            .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files["dir/two"].data, b"v2");
        assert_eq!(files["dir/two"].mode, 0o600);
    }

    #[test]
    fn missing_sources_fail_unless_optional() {
        let p = pod(serde_json::json!([{"name": "v", "configMap": {"name": "nope"}}]));
        let v = &p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        let err = payload(&p, v, &sources(), &PodFacts::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MountVolume.SetUp failed for volume \"v\" : configmap \"nope\" not found"
        );
        let p = pod(
            serde_json::json!([{"name": "v", "secret": {"secretName": "nope", "optional": true}}]),
        );
        let v = &p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        assert!(payload(&p, v, &sources(), &PodFacts::default())
            .unwrap()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn projected_and_downward_volumes() {
        let p = pod(serde_json::json!([{"name": "v", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token"}},
            {"configMap": {"name": "cfg", "items": [{"key": "k1", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}},
                                       {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}
        ]}}]));
        let v = &p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        let files = payload(&p, v, &sources(), &PodFacts::default())
            .unwrap()
            .unwrap();
        assert_eq!(files["token"].data, b"tok");
        assert_eq!(files["ca.crt"].data, b"v1");
        assert_eq!(files["namespace"].data, b"ns");
        assert_eq!(
            String::from_utf8_lossy(&files["labels"].data),
            "a=\"1\"\nb=\"x y\""
        );
        assert_eq!(token_requests(&p), vec![("".to_string(), 3607)]);
    }

    #[test]
    fn setup_writes_volumes_and_tear_down_removes_them() {
        let root = tempfile::tempdir().unwrap();
        let p = pod(serde_json::json!([
            {"name": "scratch", "emptyDir": {}},
            {"name": "cfg", "configMap": {"name": "cfg"}}
        ]));
        let paths = setup(root.path(), &p, &sources(), &PodFacts::default()).unwrap();
        assert!(paths["scratch"].is_dir());
        assert_eq!(
            std::fs::read_to_string(paths["cfg"].join("k1")).unwrap(),
            "v1"
        );
        tear_down(root.path(), "u").unwrap();
        assert!(!naming::pod_dir(root.path(), "u").exists());
    }
}
