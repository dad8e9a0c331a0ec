//! A busybox image built from the machine's `/bin/busybox` (Debian's busybox-static), for
//! tests and benchmarks that need a shell, `sleep`, `httpd` and friends in a pod without a
//! registry.

use std::fs;
use std::io;
use std::process::Command;
use std::sync::OnceLock;

use super::oci::{build, BuiltImage, Entry, ImageSpec, RunConfig};

/// The image's reference.
pub const BUSYBOX_IMAGE: &str = "docker.io/library/busybox:test";

/// Where busybox-static installs the binary.
pub const BUSYBOX_BINARY: &str = "/bin/busybox";

/// The root file system: `/bin/busybox` with a symlink per applet at its usual place, a
/// minimal `/etc/passwd` and `/etc/group`, `/www/index.html`, and a world-writable `/tmp`.
pub fn spec() -> io::Result<ImageSpec> {
    let binary = fs::read(BUSYBOX_BINARY)?;
    let list = Command::new(BUSYBOX_BINARY).arg("--list-full").output()?;
    if !list.status.success() {
        return Err(io::Error::other(format!(
            "{BUSYBOX_BINARY} --list-full failed: {}",
            String::from_utf8_lossy(&list.stderr)
        )));
    }
    let mut entries = vec![
        Entry::File {
            path: "/bin/busybox".into(),
            mode: 0o755,
            data: binary,
        },
        Entry::File {
            path: "/etc/passwd".into(),
            mode: 0o644,
            data: b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n".to_vec(),
        },
        Entry::File {
            path: "/etc/group".into(),
            mode: 0o644,
            data: b"root:x:0:\nnogroup:x:65534:\n".to_vec(),
        },
        Entry::File {
            path: "/www/index.html".into(),
            mode: 0o644,
            data: b"<html><body>berth busybox</body></html>\n".to_vec(),
        },
        Entry::Dir {
            path: "/tmp".into(),
            mode: 0o1777,
        },
        Entry::Dir {
            path: "/root".into(),
            mode: 0o700,
        },
    ];
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let path = format!("/{}", applet.trim().trim_start_matches('/'));
        if path == "/" || path == "/bin/busybox" {
            continue;
        }
        entries.push(Entry::Symlink {
            path,
            target: "/bin/busybox".into(),
        });
    }
    Ok(ImageSpec {
        name: BUSYBOX_IMAGE.into(),
        entries,
        config: RunConfig {
            cmd: vec!["/bin/sh".into()],
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            ..RunConfig::default()
        },
    })
}

/// The busybox image's OCI archive (built once per process).
pub fn image() -> io::Result<&'static BuiltImage> {
    static IMAGE: OnceLock<BuiltImage> = OnceLock::new();
    if let Some(i) = IMAGE.get() {
        return Ok(i);
    }
    let built = build(&spec()?);
    Ok(IMAGE.get_or_init(|| built))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busybox_image_has_the_binary_a_shell_and_a_world_writable_tmp() {
        let spec = spec().expect("busybox-static is installed");
        let has = |want: &Entry| spec.entries.iter().any(|e| e == want);
        assert!(has(&Entry::Symlink {
            path: "/bin/sh".into(),
            target: "/bin/busybox".into()
        }));
        assert!(has(&Entry::Dir {
            path: "/tmp".into(),
            mode: 0o1777
        }));
        assert!(spec
            .entries
            .iter()
            .any(|e| matches!(e, Entry::File { path, data, .. } if path == "/bin/busybox" && data.starts_with(b"\x7fELF"))));
        let built = image().unwrap();
        assert_eq!(built.name, BUSYBOX_IMAGE);
        assert!(std::ptr::eq(built, image().unwrap()), "built once");
    }
}
