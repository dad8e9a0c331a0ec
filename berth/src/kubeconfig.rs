//! The user's kubeconfig: `berth up` merges a cluster, a user and a context named `berth`
//! into it and makes that context current; `berth down` takes them out again. Every other
//! entry of the file is kept. The file is replaced atomically (a temporary file in the same
//! directory, renamed over it) with mode 0600, since the credentials are embedded.
//!
//! Run through `sudo`, the file is the invoking user's (`$SUDO_USER`'s home from
//! `/etc/passwd`), not root's, so the user's own kubectl finds the cluster; files and
//! directories written as root keep the owner of the file replaced, or of the nearest
//! existing directory above a new one.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the cluster, user and context `berth up` adds.
pub const NAME: &str = "berth";

/// The file kubectl reads first: the first entry of `$KUBECONFIG`, else `~/.kube/config`
/// of the user who ran `sudo` when root runs through sudo, else `$HOME/.kube/config`.
pub fn user_kubeconfig() -> Result<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        if let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()) {
            return Ok(first);
        }
    }
    if let Some(home) = sudo_home() {
        return Ok(home.join(".kube").join("config"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".kube").join("config")),
        None => {
            bail!("neither KUBECONFIG nor HOME is set: no kubeconfig to merge the context into")
        }
    }
}

/// The home directory of `$SUDO_USER` when this process is root started through sudo by
/// another user.
fn sudo_home() -> Option<PathBuf> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let user = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| !u.is_empty() && u != "root")?;
    passwd_home(&std::fs::read_to_string("/etc/passwd").ok()?, &user)
}

/// The home directory of `user` in the text of an `/etc/passwd` file.
fn passwd_home(passwd: &str, user: &str) -> Option<PathBuf> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[0] == user && fields[5].starts_with('/'))
            .then(|| PathBuf::from(fields[5]))
    })
}

/// Merges the cluster and the credentials of the kubeconfig `source` (the first cluster and
/// user in it) into `target` as `berth` entries and makes the `berth` context current.
/// Creates `target` and its directory when missing.
pub fn merge(target: &Path, source: &Path) -> Result<()> {
    let source_doc =
        read(source)?.with_context(|| format!("{} does not exist", source.display()))?;
    let cluster = first_entry(&source_doc, "clusters", "cluster")
        .with_context(|| format!("{} names no cluster", source.display()))?;
    let user = first_entry(&source_doc, "users", "user")
        .with_context(|| format!("{} names no user", source.display()))?;
    let mut doc = read(target)?.unwrap_or_default();
    doc.entry("apiVersion").or_insert_with(|| "v1".into());
    doc.entry("kind").or_insert_with(|| "Config".into());
    upsert(&mut doc, "clusters", "cluster", cluster)?;
    upsert(&mut doc, "users", "user", user)?;
    let context = serde_json::json!({"cluster": NAME, "user": NAME});
    upsert(&mut doc, "contexts", "context", context)?;
    doc.insert("current-context".into(), NAME.into());
    write(target, &doc)
}

/// Removes the `berth` entries from `target` and clears `current-context` if it was
/// `berth`. Returns whether anything was removed (a missing file removes nothing).
pub fn remove(target: &Path) -> Result<bool> {
    let Some(mut doc) = read(target)? else {
        return Ok(false);
    };
    let mut removed = false;
    for list in ["clusters", "users", "contexts"] {
        if let Some(Value::Array(items)) = doc.get_mut(list) {
            let before = items.len();
            items.retain(|item| item.get("name").and_then(Value::as_str) != Some(NAME));
            removed |= items.len() != before;
        }
    }
    if doc.get("current-context").and_then(Value::as_str) == Some(NAME) {
        doc.insert("current-context".into(), "".into());
        removed = true;
    }
    if removed {
        write(target, &doc)?;
    }
    Ok(removed)
}

/// The file as a mapping; `None` when it does not exist, an empty mapping when it is empty.
fn read(path: &Path) -> Result<Option<Map<String, Value>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(Some(Map::new()));
    }
    let value: Value = serde_saphyr::from_str(&text)
        .with_context(|| format!("{} is not a kubeconfig (YAML)", path.display()))?;
    match value {
        Value::Object(map) => Ok(Some(map)),
        Value::Null => Ok(Some(Map::new())),
        _ => bail!("{} is not a kubeconfig: not a mapping", path.display()),
    }
}

/// The `field` of the first item of the list `list`.
fn first_entry(doc: &Map<String, Value>, list: &str, field: &str) -> Option<Value> {
    doc.get(list)?.as_array()?.first()?.get(field).cloned()
}

/// Sets the item named `berth` of the list `list` to `{name: berth, <field>: value}`, in
/// place if it exists, else at the end.
fn upsert(doc: &mut Map<String, Value>, list: &str, field: &str, value: Value) -> Result<()> {
    let items = doc.entry(list).or_insert_with(|| Value::Array(Vec::new()));
    if items.is_null() {
        *items = Value::Array(Vec::new());
    }
    let Value::Array(items) = items else {
        bail!("the kubeconfig's {list} is not a list");
    };
    let entry = serde_json::json!({"name": NAME, field: value});
    match items
        .iter_mut()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(NAME))
    {
        Some(existing) => *existing = entry,
        None => items.push(entry),
    }
    Ok(())
}

/// Writes `doc` to `path` atomically with mode 0600 (through a symlink, its target).
fn write(path: &Path, doc: &Map<String, Value>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Root writing into someone else's tree keeps that owner (see the module text).
    let owner = if rustix::process::geteuid().is_root() {
        owner_of_nearest(&path)
    } else {
        None
    };
    let first_missing = dir
        .ancestors()
        .take_while(|d| !d.exists())
        .last()
        .map(Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let (Some((uid, gid)), Some(top)) = (owner, &first_missing) {
        for d in dir.ancestors().take_while(|d| d.starts_with(top)) {
            std::os::unix::fs::chown(d, Some(uid), Some(gid))
                .with_context(|| format!("giving {} to its owner", d.display()))?;
        }
    }
    let text = serde_saphyr::to_string(doc).context("rendering the kubeconfig")?;
    let mut file = tempfile::Builder::new()
        .prefix(".berth-kubeconfig")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .context("setting the kubeconfig's mode")?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(file.as_file(), Some(uid), Some(gid))
            .context("giving the kubeconfig to its owner")?;
    }
    file.write_all(text.as_bytes())
        .and_then(|_| file.as_file().sync_all())
        .context("writing the kubeconfig")?;
    file.persist(&path)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// The owner of `path`, or of the nearest existing directory above it.
fn owner_of_nearest(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    path.ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| (m.uid(), m.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ADMIN: &str = "apiVersion: v1
kind: Config
clusters:
- name: berth
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0E=
users:
- name: admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
contexts:
- name: admin@berth
  context:
    cluster: berth
    user: admin
current-context: admin@berth
";

    const OTHER: &str = "apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:443
users:
- name: me
  user:
    token: abc
contexts:
- name: prod
  context:
    cluster: prod
    user: me
    namespace: web
current-context: prod
preferences:
  colors: true
";

    fn load(path: &Path) -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_sudo_users_home_comes_from_the_passwd_file() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n\
                      broken:x:1001\n";
        assert_eq!(
            passwd_home(passwd, "alice"),
            Some(PathBuf::from("/home/alice"))
        );
        assert_eq!(passwd_home(passwd, "ali"), None);
        assert_eq!(passwd_home(passwd, "broken"), None);
    }

    #[test]
    fn files_written_as_root_keep_the_owner_of_the_tree_they_land_in() {
        use std::os::unix::fs::MetadataExt;
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to give files away");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(home.path(), Some(4321), Some(4322)).unwrap();
        let target = home.path().join(".kube").join("config");
        let source = home.path().join("admin.kubeconfig");
        std::fs::write(&source, ADMIN).unwrap();
        merge(&target, &source).unwrap();
        for p in [target.parent().unwrap(), target.as_path()] {
            let m = std::fs::metadata(p).unwrap();
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "{}", p.display());
        }
    }

    #[test]
    fn merge_creates_the_file_and_its_directory_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("admin.kubeconfig");
        std::fs::write(&admin, ADMIN).unwrap();
        let target = dir.path().join("home/.kube/config");
        merge(&target, &admin).unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let doc = load(&target);
        assert_eq!(doc["current-context"], "berth");
        assert_eq!(doc["apiVersion"], "v1");
        assert_eq!(doc["clusters"][0]["name"], "berth");
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(doc["users"][0]["name"], "berth");
        assert_eq!(doc["users"][0]["user"]["client-key-data"], "S0VZ");
        assert_eq!(
            doc["contexts"][0],
            serde_json::json!({"name": "berth", "context": {"cluster": "berth", "user": "berth"}})
        );
    }

    #[test]
    fn merge_keeps_other_entries_replaces_its_own_and_remove_restores_them() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("admin.kubeconfig");
        std::fs::write(&admin, ADMIN).unwrap();
        let target = dir.path().join("config");
        std::fs::write(&target, OTHER).unwrap();
        let original = load(&target);
        merge(&target, &admin).unwrap();
        // A second merge (a new port) replaces the entries instead of adding more.
        std::fs::write(&admin, ADMIN.replace("6443", "7443")).unwrap();
        merge(&target, &admin).unwrap();
        let doc = load(&target);
        assert_eq!(doc["current-context"], "berth");
        assert_eq!(doc["clusters"].as_array().unwrap().len(), 2);
        assert_eq!(doc["users"].as_array().unwrap().len(), 2);
        assert_eq!(doc["contexts"].as_array().unwrap().len(), 2);
        assert_eq!(doc["clusters"][0], original["clusters"][0]);
        assert_eq!(
            doc["clusters"][1]["cluster"]["server"],
            "https://127.0.0.1:7443"
        );
        assert_eq!(doc["contexts"][0], original["contexts"][0]);
        assert_eq!(doc["preferences"], original["preferences"]);

        assert!(remove(&target).unwrap());
        let mut expected = original.clone();
        expected["current-context"] = "".into();
        assert_eq!(load(&target), expected);
        assert!(!remove(&target).unwrap(), "nothing left to remove");
        assert!(!remove(&dir.path().join("missing")).unwrap());
    }

    #[test]
    fn remove_keeps_a_current_context_that_is_not_berths() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("admin.kubeconfig");
        std::fs::write(&admin, ADMIN).unwrap();
        let target = dir.path().join("config");
        std::fs::write(&target, OTHER).unwrap();
        merge(&target, &admin).unwrap();
        let mut doc = load(&target);
        doc["current-context"] = "prod".into();
        std::fs::write(&target, serde_saphyr::to_string(&doc).unwrap()).unwrap();
        assert!(remove(&target).unwrap());
        assert_eq!(load(&target), load_str(OTHER));
    }

    #[test]
    fn an_empty_file_is_merged_into_and_a_foreign_one_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let admin = dir.path().join("admin.kubeconfig");
        std::fs::write(&admin, ADMIN).unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        merge(&empty, &admin).unwrap();
        assert_eq!(load(&empty)["current-context"], "berth");
        let foreign = dir.path().join("foreign");
        std::fs::write(&foreign, "- just\n- a list\n").unwrap();
        let err = merge(&foreign, &admin).unwrap_err();
        assert!(format!("{err:#}").contains("not a mapping"), "{err:#}");
        assert_eq!(
            std::fs::read_to_string(&foreign).unwrap(),
            "- just\n- a list\n"
        );
    }

    fn load_str(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }
}
