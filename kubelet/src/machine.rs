//! Facts about the machine the kubelet runs on, read from `/proc`, `/sys`, `/etc` and the
//! filesystem holding the kubelet's root directory. The node's capacity, addresses and
//! `nodeInfo` come from here; the parsing is pure so that it is tested without the machine.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// What the node status reports about the machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineFacts {
    /// Logical CPUs this process may run on.
    pub cpus: u64,
    /// `MemTotal` in bytes.
    pub memory_bytes: u64,
    /// `MemAvailable` in bytes.
    pub memory_available_bytes: u64,
    /// Size of the filesystem holding the root directory, in bytes.
    pub fs_bytes: u64,
    /// Free space on that filesystem usable by unprivileged writers, in bytes.
    pub fs_available_bytes: u64,
    /// Processes running now.
    pub processes: u64,
    /// The kernel's `pid_max`.
    pub pid_max: u64,
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub os_image: String,
    /// Kubernetes' name of the CPU architecture (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// `/etc/machine-id`.
    pub machine_id: String,
    /// The firmware's system UUID when readable.
    pub system_uuid: String,
    /// This boot's id.
    pub boot_id: String,
}

impl MachineFacts {
    /// Reads the facts now; `root_dir` names the filesystem whose space is reported.
    pub fn read(root_dir: &Path) -> MachineFacts {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let uname = rustix::system::uname();
        let (fs_bytes, fs_available_bytes) = match rustix::fs::statvfs(root_dir) {
            Ok(st) => (
                st.f_blocks.saturating_mul(st.f_frsize),
                st.f_bavail.saturating_mul(st.f_frsize),
            ),
            Err(_) => (0, 0),
        };
        MachineFacts {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
            memory_bytes: meminfo_bytes(&meminfo, "MemTotal").unwrap_or(0),
            memory_available_bytes: meminfo_bytes(&meminfo, "MemAvailable").unwrap_or(0),
            fs_bytes,
            fs_available_bytes,
            processes: loadavg_processes(
                &std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
            )
            .unwrap_or(0),
            pid_max: read_trimmed("/proc/sys/kernel/pid_max")
                .parse()
                .unwrap_or(32768),
            kernel_version: uname.release().to_string_lossy().into_owned(),
            os_image: os_image(&std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
            architecture: architecture(&uname.machine().to_string_lossy()),
            machine_id: read_trimmed("/etc/machine-id"),
            system_uuid: read_trimmed("/sys/class/dmi/id/product_uuid"),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
        }
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A `/proc/meminfo` field in bytes (the file gives kB).
pub fn meminfo_bytes(meminfo: &str, field: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// The running-or-total process count of `/proc/loadavg` (its fourth field, `running/total`).
pub fn loadavg_processes(loadavg: &str) -> Option<u64> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split('/')
        .nth(1)?
        .parse()
        .ok()
}

/// `PRETTY_NAME` of an os-release file, unquoted; "Linux" when absent.
pub fn os_image(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "Linux".to_string())
}

/// Kubernetes' architecture name for a `uname -m` machine.
pub fn architecture(machine: &str) -> String {
    match machine {
        "x86_64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i386" | "i686" => "386",
        "armv7l" | "armv6l" => "arm",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
    .to_string()
}

/// The first local IPv4 address that is not loopback, from the kernel's FIB listing
/// (`/proc/net/fib_trie`); loopback when there is none. Reading it sends nothing anywhere.
pub fn default_node_ip() -> IpAddr {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    first_local_address(&trie).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// In a `fib_trie` listing a local address is a `|-- a.b.c.d` line followed by
/// `/32 host LOCAL`.
pub fn first_local_address(trie: &str) -> Option<IpAddr> {
    let mut last: Option<Ipv4Addr> = None;
    for line in trie.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ").or_else(|| t.strip_prefix("+-- ")) {
            last = addr.split('/').next().and_then(|a| a.parse().ok());
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback()) {
                return Some(IpAddr::V4(ip));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_are_bytes() {
        let m = "MemTotal:       24605632 kB\nMemFree:  100 kB\nMemAvailable:   23000000 kB\n";
        assert_eq!(meminfo_bytes(m, "MemTotal"), Some(24605632 * 1024));
        assert_eq!(meminfo_bytes(m, "MemAvailable"), Some(23000000 * 1024));
        assert_eq!(meminfo_bytes(m, "Mem"), None);
    }

    #[test]
    fn loadavg_gives_the_process_total() {
        assert_eq!(loadavg_processes("0.10 0.20 0.30 2/345 6789"), Some(345));
        assert_eq!(loadavg_processes("garbage"), None);
    }

    #[test]
    fn os_release_pretty_name() {
        let f = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(os_image(f), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os_image(""), "Linux");
    }

    #[test]
    fn architectures_use_kubernetes_names() {
        assert_eq!(architecture("x86_64"), "amd64");
        assert_eq!(architecture("aarch64"), "arm64");
    }

    #[test]
    fn fib_trie_local_addresses_skip_loopback() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     \
                    |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\n";
        assert_eq!(
            first_local_address(trie),
            Some("192.0.2.2".parse().unwrap())
        );
        assert_eq!(first_local_address("Main:\n"), None);
    }

    #[test]
    fn this_machine_reports_something() {
        let facts = MachineFacts::read(Path::new("/"));
        assert!(facts.cpus >= 1);
        assert!(facts.memory_bytes > 0);
        assert!(facts.fs_bytes > 0);
        assert!(!facts.kernel_version.is_empty());
    }
}
