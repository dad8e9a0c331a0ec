//! Removing everything a node's containerd left on the machine: pod sandboxes (through CRI,
//! so CNI releases addresses and hostPort rules), the containerd process, leftover shims and
//! pod processes, mounts under its directories (overlay root filesystems, pod network
//! namespaces, `/dev/shm`), the pods' cgroups, the CNI bridge, and the directories.
//!
//! Every step is attempted even when an earlier one failed; what could not be undone is
//! returned so that callers can report it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_cri::v1::{ListPodSandboxRequest, RemovePodSandboxRequest, StopPodSandboxRequest};
use rustix::mount::{unmount, UnmountFlags};
use rustix::process::{kill_process, Pid, Signal};

use super::config::RuntimeConfig;
use super::process::{Containerd, STOP_GRACE};
use crate::cri::Cri;

/// How long the whole CRI part of a cleanup may take before Berth stops asking containerd
/// and goes on with killing and unmounting.
pub const CRI_CLEANUP_BUDGET: Duration = Duration::from_secs(60);

/// Where the cgroup hierarchies are mounted.
const CGROUP_FS: &str = "/sys/fs/cgroup";

/// Stops and removes every pod sandbox the runtime knows (with their containers). Returns how
/// many were removed.
pub async fn remove_all_sandboxes(cri: &mut Cri) -> Result<usize, tonic::Status> {
    let sandboxes = cri
        .runtime
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await?
        .into_inner()
        .items;
    for sandbox in &sandboxes {
        let id = sandbox.id.clone();
        cri.runtime
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await?;
        cri.runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await?;
    }
    Ok(sandboxes.len())
}

/// Removes everything the node described by `config` created: see the module doc. Pass the
/// running [`Containerd`] if this process started it; otherwise the pid recorded in the
/// state directory is used. Returns what could not be undone (empty when all went well).
pub async fn clean_up(config: &RuntimeConfig, containerd: Option<Containerd>) -> Vec<String> {
    clean_up_node(config, containerd, false).await
}

/// [`clean_up`], optionally keeping containerd's root directory (its image store) so that
/// the next start of the node finds its images.
pub async fn clean_up_node(
    config: &RuntimeConfig,
    containerd: Option<Containerd>,
    keep_images: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let alive = containerd.is_some() || recorded_containerd(config).is_some();
    if alive && config.socket.exists() {
        let removed = tokio::time::timeout(CRI_CLEANUP_BUDGET, async {
            let mut cri = Cri::connect(&config.endpoint())
                .await
                .map_err(|e| e.to_string())?;
            remove_all_sandboxes(&mut cri)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        match removed {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => problems.push(format!("removing pod sandboxes: {e}")),
            Err(_) => problems.push(format!(
                "removing pod sandboxes took longer than {CRI_CLEANUP_BUDGET:?}"
            )),
        }
    }
    stop_and_remove(config, containerd, keep_images, &mut problems);
    problems
}

/// The synchronous part of [`clean_up`], for callers without a CRI connection (a node whose
/// containerd is already gone).
pub fn clean_up_processes_and_files(
    config: &RuntimeConfig,
    containerd: Option<Containerd>,
    problems: &mut Vec<String>,
) {
    stop_and_remove(config, containerd, false, problems)
}

fn stop_and_remove(
    config: &RuntimeConfig,
    containerd: Option<Containerd>,
    keep_images: bool,
    problems: &mut Vec<String>,
) {
    match containerd {
        Some(mut c) => {
            c.stop(STOP_GRACE);
        }
        None => {
            if let Some(pid) = recorded_containerd(config) {
                stop_pid(pid, STOP_GRACE);
            }
        }
    }
    let _ = fs::remove_file(config.pid_file());
    let _ = fs::remove_file(&config.socket);

    // Shims outlive containerd by design; pods whose sandbox could not be removed keep
    // theirs, and their processes sit in this node's cgroups.
    for pid in shims_of(&config.socket) {
        let _ = kill_process(pid, Signal::KILL);
    }
    let killed = kill_cgroup_processes(&config.cgroup_root);

    for dir in [&config.state_dir, &config.root_dir] {
        if let Err(e) = unmount_below(dir) {
            problems.push(format!("unmounting below {}: {e}", dir.display()));
        }
    }
    if let Err(e) = remove_cgroups(&config.cgroup_root, killed) {
        problems.push(format!("removing cgroup {}: {e}", config.cgroup_root));
    }
    if Path::new("/sys/class/net").join(&config.bridge).exists() {
        let out = Command::new("ip")
            .args(["link", "del", "dev", &config.bridge])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => problems.push(format!(
                "deleting bridge {}: {}",
                config.bridge,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => problems.push(format!("deleting bridge {}: {e}", config.bridge)),
        }
    }
    let dirs = if keep_images {
        vec![&config.state_dir]
    } else {
        vec![&config.root_dir, &config.state_dir]
    };
    for dir in dirs {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                problems.push(format!("removing {}: {e}", dir.display()))
            }
            _ => {}
        }
    }
}

/// The containerd pid recorded in the state directory, if that process still runs
/// containerd.
pub(crate) fn recorded_containerd(config: &RuntimeConfig) -> Option<Pid> {
    let pid: i32 = fs::read_to_string(config.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let config_file = config.config_file();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_ours = args
        .iter()
        .any(|a| *a == config_file.as_os_str().as_encoded_bytes());
    if is_ours {
        Pid::from_raw(pid)
    } else {
        None
    }
}

fn stop_pid(pid: Pid, grace: Duration) {
    let _ = kill_process(pid, Signal::TERM);
    let deadline = Instant::now() + grace;
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.as_raw_nonzero()));
    while Instant::now() < deadline {
        if !proc_dir.exists() || is_zombie(&proc_dir) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = kill_process(pid, Signal::KILL);
}

fn is_zombie(proc_dir: &Path) -> bool {
    fs::read_to_string(proc_dir.join("stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// The shims started by the containerd at `socket` (they carry `-address <socket>`).
fn shims_of(socket: &Path) -> Vec<Pid> {
    let mut pids = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return pids;
    };
    let socket = socket.as_os_str().as_encoded_bytes();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_shim = args
            .first()
            .is_some_and(|a| a.ends_with(b"containerd-shim-runc-v2"));
        let ours = args
            .windows(2)
            .any(|w| w[0] == b"-address" && w[1] == socket);
        if is_shim && ours {
            pids.extend(Pid::from_raw(pid));
        }
    }
    pids
}

/// The directories of `cgroup_root` in every mounted hierarchy.
fn cgroup_dirs(cgroup_root: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(CGROUP_FS) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path().join(cgroup_root))
        .filter(|p| p.is_dir())
        .collect();
    // A cgroup2-only machine has the root itself as the hierarchy.
    let direct = Path::new(CGROUP_FS).join(cgroup_root);
    if direct.join("cgroup.procs").exists() && !dirs.contains(&direct) {
        dirs.push(direct);
    }
    dirs
}

/// SIGKILLs every process in any cgroup below `cgroup_root`. Returns whether any was found.
fn kill_cgroup_processes(cgroup_root: &str) -> bool {
    let mut any = false;
    for dir in cgroup_dirs(cgroup_root) {
        for procs in walk_files(&dir, "cgroup.procs") {
            for pid in fs::read_to_string(procs).unwrap_or_default().lines() {
                if let Some(pid) = pid.trim().parse().ok().and_then(Pid::from_raw) {
                    any = true;
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
        }
    }
    any
}

fn walk_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_name() == name {
                out.push(p);
            }
        }
    }
    out
}

/// Removes the cgroup tree `cgroup_root` in every hierarchy, deepest first. Killed
/// processes take a moment to leave their cgroups, so busy directories are retried briefly.
fn remove_cgroups(cgroup_root: &str, processes_were_killed: bool) -> io::Result<()> {
    let deadline = Instant::now()
        + if processes_were_killed {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(500)
        };
    let mut last_err = None;
    for top in cgroup_dirs(cgroup_root) {
        let mut dirs = Vec::new();
        let mut stack = vec![top];
        while let Some(d) = stack.pop() {
            if let Ok(entries) = fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
            dirs.push(d);
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            loop {
                match fs::remove_dir(&d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => {
                        last_err = Some(io::Error::new(e.kind(), format!("{}: {e}", d.display())));
                        break;
                    }
                }
            }
        }
    }
    last_err.map_or(Ok(()), Err)
}

/// The mount points at or below `dir`, deepest first, from this process's mount table.
pub fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mount_path(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    points
}

/// Lazily unmounts everything mounted at or below `dir` (a mount may be stacked several
/// times, so this repeats until none is left or nothing changes).
pub fn unmount_below(dir: &Path) -> io::Result<()> {
    let mut last = usize::MAX;
    loop {
        let points = mounts_below(dir);
        if points.is_empty() {
            return Ok(());
        }
        if points.len() >= last {
            return Err(io::Error::other(format!(
                "{} mount(s) would not go, first {}",
                points.len(),
                points[0].display()
            )));
        }
        last = points.len();
        for p in points {
            let _ = unmount(&p, UnmountFlags::DETACH);
        }
    }
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape_mount_path(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/a\040b/c"), "/a b/c");
        assert_eq!(unescape_mount_path(r"/plain"), "/plain");
        assert_eq!(unescape_mount_path(r"/end\04"), r"/end\04");
    }

    #[test]
    fn mounts_below_finds_only_paths_under_the_directory() {
        // `/proc` is always a mount point; `/pro` is a prefix of it as a string, not a path.
        assert!(mounts_below(Path::new("/proc")).contains(&PathBuf::from("/proc")));
        assert!(mounts_below(Path::new("/pro")).is_empty());
    }
}
