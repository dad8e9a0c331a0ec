//! Writes a volume's files so that a reader never sees a mix of old and new contents: the
//! files go into a fresh hidden directory, the `..data` symlink is swapped to it with one
//! rename, and each visible entry is a symlink through `..data`. Rewriting identical
//! contents does nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The symlink to the current contents.
pub const DATA_LINK: &str = "..data";
const TMP_LINK: &str = "..data_tmp";

/// One file of a payload: its bytes and permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The contents.
    pub data: Vec<u8>,
    /// Permission bits (`0o644`).
    pub mode: u32,
}

/// A volume's files by relative path.
pub type Payload = BTreeMap<String, File>;

/// Whether a payload path is relative, without `..` and not hidden at its top.
pub fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with("..")
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn top_level(p: &str) -> &str {
    p.split('/').next().unwrap_or(p)
}

fn current_matches(dir: &Path, payload: &Payload) -> bool {
    let data = dir.join(DATA_LINK);
    if !data.exists() {
        return false;
    }
    for (path, file) in payload {
        let target = data.join(path);
        match (std::fs::read(&target), std::fs::metadata(&target)) {
            (Ok(bytes), Ok(meta))
                if bytes == file.data && meta.permissions().mode() & 0o7777 == file.mode => {}
            _ => return false,
        }
    }
    // No extra visible entries either.
    let wanted: BTreeSet<&str> = payload.keys().map(|p| top_level(p)).collect();
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().all(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("..") || wanted.contains(name.as_str())
        }),
        Err(_) => false,
    }
}

/// Makes `dir` hold exactly `payload`. Returns whether anything changed.
pub fn write(dir: &Path, payload: &Payload) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    if current_matches(dir, payload) {
        return Ok(false);
    }
    for path in payload.keys() {
        if !valid_path(path) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid path {path:?} in a volume payload"),
            ));
        }
    }
    let old_target = std::fs::read_link(dir.join(DATA_LINK)).ok();
    let stamp = format!(
        "..{}_{:08x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        rand::random::<u32>()
    );
    let ts_dir = dir.join(&stamp);
    std::fs::create_dir(&ts_dir)?;
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    for (path, file) in payload {
        let target = ts_dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &file.data)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(file.mode))?;
    }
    let tmp = dir.join(TMP_LINK);
    let _ = std::fs::remove_file(&tmp);
    symlink(&stamp, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA_LINK))?;
    let wanted: BTreeSet<&str> = payload.keys().map(|p| top_level(p)).collect();
    for name in &wanted {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(PathBuf::from(DATA_LINK).join(name), &link)?;
        }
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !wanted.contains(name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old_target {
        let old = dir.join(old);
        if old != ts_dir {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(s: &str) -> File {
        File {
            data: s.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn updates_swap_the_data_link_and_prune_old_entries() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("vol");
        let first = Payload::from([("a".into(), file("1")), ("sub/b".into(), file("2"))]);
        assert!(write(&v, &first).unwrap());
        assert_eq!(std::fs::read_to_string(v.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(v.join("sub/b")).unwrap(), "2");
        assert!(std::fs::symlink_metadata(v.join("a"))
            .unwrap()
            .file_type()
            .is_symlink());
        let old = std::fs::read_link(v.join(DATA_LINK)).unwrap();
        // Same contents: nothing happens.
        assert!(!write(&v, &first).unwrap());
        assert_eq!(std::fs::read_link(v.join(DATA_LINK)).unwrap(), old);

        let second = Payload::from([("a".into(), file("3"))]);
        assert!(write(&v, &second).unwrap());
        assert_eq!(std::fs::read_to_string(v.join("a")).unwrap(), "3");
        assert!(!v.join("sub").exists());
        assert!(!v.join(&old).exists());
        let hidden: Vec<_> = std::fs::read_dir(&v)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".."))
            .collect();
        assert_eq!(hidden.len(), 2, "{hidden:?}");
    }

    #[test]
    fn escaping_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = Payload::from([("../x".into(), file("1"))]);
        assert!(write(dir.path(), &p).is_err());
        assert!(!valid_path("/abs"));
        assert!(!valid_path("..data"));
        assert!(valid_path("a/b"));
    }
}
