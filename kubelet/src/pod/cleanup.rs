//! What the runtime does not clean up after a pod: its cgroup directories (runc creates the
//! pod-level parents but nobody removes them), its log directory and its volumes; and whole
//! pods this kubelet no longer knows (sandboxes of deleted pods, found by their labels).

use super::naming;
use super::worker::{clean_up_files, kill_everything, Shared};
use k8s_cri::v1::{ListPodSandboxRequest, PodSandboxFilter};
use std::collections::HashSet;
use std::path::Path;

/// Where the cgroup hierarchies are mounted.
const CGROUP_FS: &str = "/sys/fs/cgroup";

/// Removes the cgroup `path` (cgroupfs style, `/a/b`) in every hierarchy, innermost
/// directories first. Directories that still hold processes stay.
pub fn remove_cgroup(path: &str) {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return;
    }
    let Ok(hierarchies) = std::fs::read_dir(CGROUP_FS) else {
        return;
    };
    let mut tops = vec![Path::new(CGROUP_FS).join(rel)];
    for h in hierarchies.flatten() {
        tops.push(h.path().join(rel));
    }
    for top in tops {
        remove_tree(&top);
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Removes every log directory of the pod `uid`.
pub fn remove_log_dirs_of(logs_dir: &Path, uid: &str) {
    let Ok(entries) = std::fs::read_dir(logs_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if naming::uid_of_log_dir(&name) == Some(uid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The pod uids something is left of: sandboxes, pod directories, log directories.
pub async fn leftovers(shared: &Shared) -> HashSet<String> {
    let mut uids = HashSet::new();
    let mut rt = shared.cri.runtime.clone();
    if let Ok(list) = rt
        .list_pod_sandbox(ListPodSandboxRequest {
            filter: Some(PodSandboxFilter {
                label_selector: naming::managed_selector(),
                ..PodSandboxFilter::default()
            }),
        })
        .await
    {
        for s in list.into_inner().items {
            if let Some(uid) = s.labels.get(naming::POD_UID_LABEL) {
                uids.insert(uid.clone());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(shared.node.root_dir.join("pods")) {
        uids.extend(
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        );
    }
    if let Ok(entries) = std::fs::read_dir(&shared.node.logs_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(uid) = naming::uid_of_log_dir(&name) {
                uids.insert(uid.to_string());
            }
        }
    }
    uids
}

/// Removes everything of pods whose uid is not in `known`.
pub async fn sweep(shared: &Shared, known: &HashSet<String>) {
    for uid in leftovers(shared).await {
        if known.contains(&uid) {
            continue;
        }
        tracing::info!(uid = %uid, "removing what is left of a pod that no longer exists");
        kill_everything(shared, &uid, 0).await;
        clean_up_files(&shared.node, &uid, None);
    }
}
