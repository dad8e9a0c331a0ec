//! What one node's containerd needs on disk: its TOML configuration and the CNI network list
//! its CRI plugin sets pods up with. Both are rendered from a [`RuntimeConfig`] by pure
//! functions, so the settings this machine needs (cgroupfs, a clamped `oom_score_adj`, runc,
//! pod network namespaces under the state directory, a per-node IPAM directory) are tested
//! without starting anything.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The image every pod sandbox runs; Berth builds it itself (see `images::pause`).
pub const PAUSE_IMAGE: &str = "registry.local/berth-pause:1.0";

/// Where Debian's containernetworking-plugins put the CNI binaries.
pub const DEFAULT_CNI_BIN_DIR: &str = "/usr/lib/cni";

/// An IPv4 network in CIDR notation, such as a node's pod CIDR `10.244.7.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Net {
    /// The network address (host bits are zero).
    pub addr: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl Ipv4Net {
    /// The first host address, which the node's bridge takes as the pods' gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr).wrapping_add(1))
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::Cidr(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        if u32::from(addr) & !mask != 0 {
            return Err(bad());
        }
        Ok(Ipv4Net { addr, prefix })
    }
}

impl TryFrom<String> for Ipv4Net {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Ipv4Net> for String {
    fn from(n: Ipv4Net) -> String {
        n.to_string()
    }
}

/// A configuration that cannot be turned into a working containerd.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The pod CIDR is not an IPv4 network address with a prefix length.
    #[error("{0:?} is not an IPv4 network in CIDR notation (for example 10.244.1.0/24)")]
    Cidr(String),
    /// Linux interface names are at most 15 bytes and may not contain `/` or whitespace.
    #[error("bridge name {0:?} is not a valid interface name (1-15 characters, no '/' or spaces)")]
    BridgeName(String),
    /// The cgroup directory pods are put under must be one plain path component.
    #[error("cgroup root {0:?} must be a single directory name")]
    CgroupRoot(String),
    /// containerd refuses socket paths longer than the kernel's `sun_path`.
    #[error("socket path {0:?} is longer than 107 bytes")]
    SocketPath(PathBuf),
}

/// Everything that distinguishes one node's containerd from another's on the same machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// containerd's persistent root: content store, snapshots, metadata.
    pub root_dir: PathBuf,
    /// Runtime state: the generated configuration, containerd's log, its `state` directory,
    /// the CNI configuration and the IPAM data. Pod network namespaces are mounted below it.
    pub state_dir: PathBuf,
    /// The gRPC socket (CRI and containerd's own services).
    pub socket: PathBuf,
    /// The sandbox (pause) image.
    pub sandbox_image: String,
    /// Where the CRI streaming server (exec, attach, port-forward URLs) listens.
    pub stream_address: IpAddr,
    /// The streaming server's port.
    pub stream_port: u16,
    /// The pods' addresses are allocated from this network; the bridge takes its first address.
    pub pod_cidr: Ipv4Net,
    /// The Linux bridge CNI creates for this node's pods (at most 15 characters).
    pub bridge: String,
    /// Where the CNI plugin binaries are.
    pub cni_bin_dir: PathBuf,
    /// The top cgroup directory (in every hierarchy) that this node's pods are put under, as
    /// `/<cgroup_root>/...`. Cleanup removes it.
    pub cgroup_root: String,
    /// A network namespace to run containerd in (`nsenter --net=<path>`), or the caller's.
    pub netns: Option<PathBuf>,
}

impl RuntimeConfig {
    /// Checks the parts a bad value of which would only show up as a failure deep inside
    /// containerd or CNI.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let b = &self.bridge;
        if b.is_empty() || b.len() > 15 || b.contains('/') || b.contains(char::is_whitespace) {
            return Err(ConfigError::BridgeName(b.clone()));
        }
        let c = &self.cgroup_root;
        if c.is_empty() || c.contains('/') || c == "." || c == ".." {
            return Err(ConfigError::CgroupRoot(c.clone()));
        }
        if self.socket.as_os_str().len() > 107 {
            return Err(ConfigError::SocketPath(self.socket.clone()));
        }
        Ok(())
    }

    /// The generated containerd configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.state_dir.join("config.toml")
    }

    /// containerd's standard output and error.
    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("containerd.log")
    }

    /// The process id of the running containerd, written at start.
    pub fn pid_file(&self) -> PathBuf {
        self.state_dir.join("containerd.pid")
    }

    /// containerd's own `state` directory (tasks, shims, sandboxes, pod netns files).
    pub fn containerd_state_dir(&self) -> PathBuf {
        self.state_dir.join("state")
    }

    /// The CNI configuration directory that only this containerd reads.
    pub fn cni_conf_dir(&self) -> PathBuf {
        self.state_dir.join("cni")
    }

    /// host-local's allocation records; per node, so nodes on one machine never share them.
    pub fn ipam_dir(&self) -> PathBuf {
        self.state_dir.join("ipam")
    }

    /// The cgroup parent path for a pod with the given uid, in cgroupfs form.
    pub fn pod_cgroup_parent(&self, pod_uid: &str) -> String {
        format!("/{}/pod{}", self.cgroup_root, pod_uid)
    }

    /// The socket as a CRI endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// containerd's TOML configuration. Every setting below is needed on the machines Berth
    /// runs on: cgroupfs because there is no systemd, `restrict_oom_score_adj` because the
    /// sandbox's negative score is refused without CAP_SYS_RESOURCE, runc because crun
    /// rejects the hybrid cgroup layout, and per-node netns/CNI/IPAM directories so several
    /// nodes share one machine without seeing each other's pods.
    pub fn containerd_toml(&self) -> String {
        let q = |p: &Path| toml_string(&p.to_string_lossy());
        format!(
            r#"version = 2
root = {root}
state = {state}

[grpc]
  address = {socket}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {sandbox}
  stream_server_address = {stream_addr}
  stream_server_port = {stream_port}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = {cni_bin}
    conf_dir = {cni_conf}
    max_conf_num = 1

[plugins."io.containerd.internal.v1.opt"]
  path = {opt}
"#,
            root = q(&self.root_dir),
            state = q(&self.containerd_state_dir()),
            socket = q(&self.socket),
            sandbox = toml_string(&self.sandbox_image),
            stream_addr = toml_string(&self.stream_address.to_string()),
            stream_port = toml_string(&self.stream_port.to_string()),
            cni_bin = q(&self.cni_bin_dir),
            cni_conf = q(&self.cni_conf_dir()),
            opt = q(&self.root_dir.join("opt")),
        )
    }

    /// The CNI network list: a bridge with the pods' gateway on it, host-local addresses from
    /// the pod CIDR kept in this node's IPAM directory, and portmap for hostPorts. Pod
    /// addresses are routed, not masqueraded. containerd adds the loopback network itself.
    pub fn cni_conflist(&self) -> String {
        let list = serde_json::json!({
            "cniVersion": "0.4.0",
            "name": "berth-pods",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": false,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": self.ipam_dir(),
                        "ranges": [[{
                            "subnet": self.pod_cidr.to_string(),
                            "gateway": self.pod_cidr.gateway().to_string(),
                        }]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": true}},
            ],
        });
        serde_json::to_string_pretty(&list).expect("a JSON value always serializes")
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RuntimeConfig {
        RuntimeConfig {
            root_dir: "/tmp/n/root".into(),
            state_dir: "/tmp/n/run".into(),
            socket: "/tmp/n/run/containerd.sock".into(),
            sandbox_image: PAUSE_IMAGE.into(),
            stream_address: "127.0.0.1".parse().unwrap(),
            stream_port: 10010,
            pod_cidr: "10.244.7.0/24".parse().unwrap(),
            bridge: "berth-t7".into(),
            cni_bin_dir: DEFAULT_CNI_BIN_DIR.into(),
            cgroup_root: "berth-t7".into(),
            netns: None,
        }
    }

    #[test]
    fn cidrs_parse_and_reject_host_bits() {
        let n: Ipv4Net = "10.244.7.0/24".parse().unwrap();
        assert_eq!(n.gateway(), Ipv4Addr::new(10, 244, 7, 1));
        assert_eq!(n.to_string(), "10.244.7.0/24");
        assert!("10.244.7.1/24".parse::<Ipv4Net>().is_err());
        assert!("10.244.7.0/33".parse::<Ipv4Net>().is_err());
        assert!("10.244.7.0".parse::<Ipv4Net>().is_err());
        assert!("0.0.0.0/0".parse::<Ipv4Net>().is_ok());
    }

    #[test]
    fn the_containerd_config_carries_this_machines_required_settings() {
        let toml = config().containerd_toml();
        for line in [
            r#"root = "/tmp/n/root""#,
            r#"state = "/tmp/n/run/state""#,
            r#"address = "/tmp/n/run/containerd.sock""#,
            r#"sandbox_image = "registry.local/berth-pause:1.0""#,
            r#"stream_server_address = "127.0.0.1""#,
            r#"stream_server_port = "10010""#,
            "restrict_oom_score_adj = true",
            "netns_mounts_under_state_dir = true",
            r#"snapshotter = "overlayfs""#,
            r#"runtime_type = "io.containerd.runc.v2""#,
            "SystemdCgroup = false",
            r#"conf_dir = "/tmp/n/run/cni""#,
            r#"bin_dir = "/usr/lib/cni""#,
            r#"path = "/tmp/n/root/opt""#,
        ] {
            assert!(
                toml.lines().any(|l| l.trim() == line),
                "missing {line:?} in\n{toml}"
            );
        }
    }

    #[test]
    fn the_conflist_uses_the_node_bridge_cidr_and_ipam_dir() {
        let v: serde_json::Value = serde_json::from_str(&config().cni_conflist()).unwrap();
        let bridge = &v["plugins"][0];
        assert_eq!(bridge["type"], "bridge");
        assert_eq!(bridge["bridge"], "berth-t7");
        assert_eq!(bridge["ipMasq"], false);
        assert_eq!(bridge["ipam"]["dataDir"], "/tmp/n/run/ipam");
        assert_eq!(bridge["ipam"]["ranges"][0][0]["subnet"], "10.244.7.0/24");
        assert_eq!(bridge["ipam"]["ranges"][0][0]["gateway"], "10.244.7.1");
        assert_eq!(v["plugins"][1]["type"], "portmap");
    }

    #[test]
    fn names_that_break_cni_or_cgroups_are_refused() {
        assert!(config().validate().is_ok());
        let mut c = config();
        c.bridge = "a-very-long-bridge".into();
        assert!(matches!(c.validate(), Err(ConfigError::BridgeName(_))));
        let mut c = config();
        c.cgroup_root = "a/b".into();
        assert!(matches!(c.validate(), Err(ConfigError::CgroupRoot(_))));
        assert_eq!(config().pod_cgroup_parent("u1"), "/berth-t7/podu1");
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
