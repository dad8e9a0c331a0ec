//! A containerd child process: written configuration, started, waited on until its CRI
//! service answers, and stopped.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::config::{ConfigError, RuntimeConfig};
use crate::cri::Cri;

/// How long containerd gets to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why containerd could not be started or did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file or directory of the node's state could not be written.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The `containerd` (or `nsenter`) binary could not be started.
    #[error("starting {binary}: {source} (is the containerd package installed?)")]
    Spawn {
        binary: String,
        #[source]
        source: io::Error,
    },
    /// containerd exited while Berth waited for it.
    #[error("containerd exited with {status} before its CRI service answered; log {log}:\n{tail}")]
    Exited {
        status: ExitStatus,
        log: PathBuf,
        tail: String,
    },
    /// containerd kept running but its CRI service did not answer in time.
    #[error(
        "containerd's CRI service at {socket} did not answer within {waited:?}; log {log}:\n{tail}"
    )]
    NotReady {
        socket: PathBuf,
        waited: Duration,
        log: PathBuf,
        tail: String,
    },
}

fn io_err(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RuntimeError {
    let path = path.into();
    move |source| RuntimeError::Io { what, path, source }
}

/// A running containerd that this process started. Dropping it stops containerd (SIGTERM,
/// then SIGKILL); the pods' shims keep running unless the sandboxes were removed first (see
/// [`super::cleanup`]).
pub struct Containerd {
    child: Option<Child>,
    config: RuntimeConfig,
}

impl Containerd {
    /// Writes the configuration and the CNI network list, starts containerd with its output
    /// in the state directory's log, and returns once CRI `Version` answers, or fails after
    /// `ready_within` with the end of containerd's log.
    pub async fn start(
        config: &RuntimeConfig,
        ready_within: Duration,
    ) -> Result<Containerd, RuntimeError> {
        config.validate()?;
        for dir in [
            &config.root_dir,
            &config.state_dir,
            &config.cni_conf_dir(),
            &config.ipam_dir(),
        ] {
            fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        }
        if let Some(parent) = config.socket.parent() {
            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        let file = config.config_file();
        fs::write(&file, config.containerd_toml()).map_err(io_err("writing", &file))?;
        let conflist = config.cni_conf_dir().join("10-berth.conflist");
        fs::write(&conflist, config.cni_conflist()).map_err(io_err("writing", &conflist))?;
        // A socket left by a containerd that died would make the readiness check talk to
        // nothing until its dial timeout.
        match fs::remove_file(&config.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_err("removing stale socket", &config.socket)(e))
            }
            _ => {}
        }

        let log_path = config.log_file();
        let log = File::create(&log_path).map_err(io_err("creating", &log_path))?;
        let log2 = log.try_clone().map_err(io_err("duplicating", &log_path))?;
        let (binary, mut cmd) = match &config.netns {
            // nsenter keeps the host mount namespace (and so the cgroup mounts runc needs),
            // unlike `ip netns exec`, and execs containerd so the child's pid is containerd's.
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display())).arg("containerd");
                ("nsenter".to_string(), c)
            }
            None => ("containerd".to_string(), Command::new("containerd")),
        };
        cmd.arg("--config")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group: a terminal's Ctrl-C reaches Berth, which then stops
            // containerd in order instead of both dying at once.
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|source| RuntimeError::Spawn { binary, source })?;
        let pid_file = config.pid_file();
        let mut me = Containerd {
            child: Some(child),
            config: config.clone(),
        };
        fs::write(&pid_file, me.pid().to_string()).map_err(io_err("writing", &pid_file))?;
        me.wait_ready(ready_within).await?;
        Ok(me)
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<(), RuntimeError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(RuntimeError::Exited {
                    status,
                    log: self.config.log_file(),
                    tail: log_tail(&self.config),
                });
            }
            if self.config.socket.exists() {
                let left = within.saturating_sub(started.elapsed());
                let answered = tokio::time::timeout(left, async {
                    let mut cri = Cri::connect(&self.config.endpoint()).await.ok()?;
                    cri.runtime
                        .version(k8s_cri::v1::VersionRequest::default())
                        .await
                        .ok()
                })
                .await;
                if let Ok(Some(_)) = answered {
                    return Ok(());
                }
            }
            if started.elapsed() >= within {
                return Err(RuntimeError::NotReady {
                    socket: self.config.socket.clone(),
                    waited: within,
                    log: self.config.log_file(),
                    tail: log_tail(&self.config),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// containerd's process id (0 once it has been stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// A CRI client on its socket.
    pub async fn cri(&self) -> Result<Cri, crate::cri::CriError> {
        Cri::connect(&self.config.endpoint()).await
    }

    /// Lets containerd run on after this handle is gone (for `berth up`, whose containerd
    /// outlives the command and is stopped by `berth down` through the recorded pid).
    /// Returns its pid.
    pub fn detach(mut self) -> u32 {
        let pid = self.pid();
        self.child = None;
        pid
    }

    /// Stops containerd: SIGTERM, then SIGKILL after `grace`. Returns how it exited, or
    /// `None` if it was already stopped.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = fs::remove_file(self.config.pid_file());
        let status = stop_child(&mut child, grace);
        // The socket stays behind after a kill; remove it so no client dials a dead server.
        let _ = fs::remove_file(&self.config.socket);
        status
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL, and reap.
fn stop_child(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if let Some(pid) = Pid::from_raw(child.id() as i32) {
        let _ = kill_process(pid, Signal::TERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().ok()
}

/// The last lines of containerd's log, for error messages.
pub fn log_tail(config: &RuntimeConfig) -> String {
    let text = fs::read_to_string(config.log_file()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
