//! A throwaway single-member etcd for Berth's tests and benchmarks.
//!
//! The etcd backend can only be checked against a real etcd, and a shared, long-lived one would
//! couple tests to each other and to whatever state an earlier run left behind. [`EtcdServer`]
//! starts a private etcd on free loopback ports with a fresh data directory, and takes both
//! down again when it is dropped, including when the test that owns it panics.

use crate::StoreError;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that names the etcd binary to run instead of `etcd` from `PATH`.
pub const ETCD_BIN_ENV: &str = "BERTH_ETCD_BIN";

/// How long etcd gets to start serving before [`EtcdServer::start`] gives up.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// How long one readiness probe may take; short so that a probe sent before etcd listened does
/// not eat the whole start deadline.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The pause between readiness probes, so that a starting etcd is not flooded.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// Another process can grab a port between our picking it and etcd binding it; starting over
/// with new ports a few times makes that race harmless.
const PORT_ATTEMPTS: usize = 3;

/// How much of etcd's log goes into a start failure's message.
const LOG_TAIL_BYTES: u64 = 4096;

/// The etcd binary [`EtcdServer::start`] would run: `$BERTH_ETCD_BIN` if set, else `etcd` found
/// on `PATH`, else `None`.
pub fn etcd_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(ETCD_BIN_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let dirs = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&dirs)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
}

/// Whether an etcd binary is available, so that tests can skip instead of fail without one.
pub fn etcd_available() -> bool {
    etcd_binary().is_some()
}

/// A running private etcd member; stopped and deleted on drop.
///
/// Its log goes to `etcd.log` in its temporary directory rather than to the test's output.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    endpoint: String,
    log_path: PathBuf,
    // Dropped after the child is killed (see `Drop`), which removes the data and the log.
    _dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and returns once it answers a linearizable read (so it has a leader).
    ///
    /// Fails with [`StoreError::Backend`] when no binary is found, the process cannot be
    /// started, it exits early, or it does not serve within 15 seconds; the message then ends
    /// with the tail of etcd's log.
    pub async fn start() -> Result<EtcdServer, StoreError> {
        let binary = etcd_binary().ok_or_else(|| {
            StoreError::Backend(format!(
                "no etcd binary: set {ETCD_BIN_ENV} or put etcd on PATH"
            ))
        })?;
        Self::start_binary(&binary).await
    }

    async fn start_binary(binary: &Path) -> Result<EtcdServer, StoreError> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let mut server = Self::spawn(binary)?;
            match server.wait_until_serving().await {
                Ok(()) => return Ok(server),
                Err(err) => {
                    let retry = server.log_tail().contains("address already in use");
                    last_error = Some(err);
                    drop(server);
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| StoreError::Backend("etcd did not start".into())))
    }

    /// The client URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The file etcd logs to, for looking into a failure while the server still exists.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    fn spawn(binary: &Path) -> Result<EtcdServer, StoreError> {
        let io_err =
            |what: &str, err: std::io::Error| StoreError::Backend(format!("{what}: {err}"));
        let dir = tempfile::Builder::new()
            .prefix("berth-etcd-")
            .tempdir()
            .map_err(|e| io_err("creating etcd temp dir", e))?;
        let [client, peer, metrics] = free_ports().map_err(|e| io_err("picking ports", e))?;
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let metrics_url = format!("http://127.0.0.1:{metrics}");
        let log_path = dir.path().join("etcd.log");
        let log = File::create(&log_path).map_err(|e| io_err("creating etcd log", e))?;
        let log_err = log.try_clone().map_err(|e| io_err("opening etcd log", e))?;

        let mut command = Command::new(binary);
        command
            .arg("--name=berth-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=berth-test={peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg(format!("--listen-metrics-urls={metrics_url}"))
            .arg("--heartbeat-interval=10")
            .arg("--election-timeout=100")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // etcd also reads its flags from ETCD_* variables and refuses to start when one
        // contradicts a flag; a developer's own etcd settings must not leak into tests.
        for (name, _) in std::env::vars_os() {
            let is_etcd_var = name.to_str().is_some_and(|n| n.starts_with("ETCD_"));
            if is_etcd_var && name != "ETCD_UNSUPPORTED_ARCH" {
                command.env_remove(name);
            }
        }
        let child = command
            .spawn()
            .map_err(|e| io_err(&format!("starting {}", binary.display()), e))?;
        Ok(EtcdServer {
            child,
            endpoint: client_url,
            log_path,
            _dir: dir,
        })
    }

    async fn wait_until_serving(&mut self) -> Result<(), StoreError> {
        let deadline = Instant::now() + START_DEADLINE;
        let options = etcd_client::ConnectOptions::new().with_connect_timeout(PROBE_TIMEOUT);
        let mut last_error = String::from("no answer yet");
        loop {
            if let Some(status) = self.exit_status() {
                return Err(self.start_error(&format!("etcd exited early ({status})")));
            }
            if Instant::now() >= deadline {
                return Err(self.start_error(&format!(
                    "etcd did not serve within {}s (last probe: {last_error})",
                    START_DEADLINE.as_secs()
                )));
            }
            let probe = async {
                let mut client =
                    etcd_client::Client::connect([self.endpoint.as_str()], Some(options.clone()))
                        .await?;
                // A linearizable read needs an elected leader, which a mere TCP accept or a
                // status call does not prove.
                client.get("berth-readiness-probe", None).await.map(|_| ())
            };
            match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(err)) => last_error = err.to_string(),
                Err(_) => last_error = "probe timed out".into(),
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(err) => Some(format!("cannot check the process: {err}")),
        }
    }

    fn start_error(&self, what: &str) -> StoreError {
        StoreError::Backend(format!(
            "{what}; tail of {}:\n{}",
            self.log_path.display(),
            self.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let read = || -> std::io::Result<String> {
            let mut file = File::open(&self.log_path)?;
            let len = file.metadata()?.len();
            file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        read().unwrap_or_else(|err| format!("(log unreadable: {err})"))
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Kill before the TempDir field is dropped: removing the directory under a live etcd
        // could leave it writing into unlinked files, and the wait reaps the process so no
        // zombie outlives the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three distinct free loopback ports. All listeners stay open until every port is picked, so
/// the kernel cannot hand the same port out twice.
fn free_ports() -> std::io::Result<[u16; 3]> {
    let listeners = [
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?,
    ];
    let mut ports = [0u16; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn serves_and_cleans_up() {
        if !etcd_available() {
            eprintln!("skipping: no etcd binary (set {ETCD_BIN_ENV})");
            return;
        }
        let server = EtcdServer::start().await.expect("start etcd");
        assert!(server.endpoint().starts_with("http://127.0.0.1:"));
        let dir = server._dir.path().to_path_buf();
        assert!(server.log_path().is_file());
        drop(server);
        assert!(!dir.exists(), "data dir left behind");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn early_exit_is_reported_with_the_log() {
        // `sh` rejects etcd's flags, complains on stderr (which goes to the log) and exits at
        // once, like a misconfigured etcd would.
        let Some(sh) = ["/bin/sh", "/usr/bin/sh"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
        else {
            return;
        };
        let err = EtcdServer::start_binary(sh)
            .await
            .expect_err("sh is no etcd");
        let text = err.to_string();
        assert!(text.contains("exited early"), "{text}");
        let tail = text.split_once("etcd.log:\n").map_or("", |(_, tail)| tail);
        assert!(!tail.trim().is_empty(), "log tail missing: {text}");
    }
}
