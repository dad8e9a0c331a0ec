//! The pause image every pod sandbox runs, built from this repository's own static pause
//! program (kubelet/pause/pause.c, compiled by build.rs), so no node ever needs a registry
//! for its sandboxes.

use std::sync::OnceLock;

use super::oci::{build, BuiltImage, Entry, ImageSpec, RunConfig};
use crate::runtime::PAUSE_IMAGE;

/// The static pause binary.
pub const PAUSE_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));

/// What the pause image contains: `/pause`, run as the container's command.
pub fn spec() -> ImageSpec {
    ImageSpec {
        name: PAUSE_IMAGE.to_string(),
        entries: vec![Entry::File {
            path: "/pause".into(),
            mode: 0o755,
            data: PAUSE_BINARY.to_vec(),
        }],
        config: RunConfig {
            cmd: vec!["/pause".into()],
            ..RunConfig::default()
        },
    }
}

/// The pause image's OCI archive (built once per process).
pub fn image() -> &'static BuiltImage {
    static IMAGE: OnceLock<BuiltImage> = OnceLock::new();
    IMAGE.get_or_init(|| build(&spec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_binary_is_a_static_executable() {
        assert_eq!(&PAUSE_BINARY[..4], b"\x7fELF");
        // A static binary has no program interpreter: no PT_INTERP (3) program header.
        let b = PAUSE_BINARY;
        assert_eq!(b[4], 2, "a 64-bit ELF");
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
        let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16_at(54), u16_at(56));
        assert!(phnum > 0);
        for i in 0..phnum {
            let o = phoff + i * phentsize;
            let p_type = u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
            assert_ne!(p_type, 3, "the pause binary asks for a dynamic loader");
        }
        assert_eq!(image().name, "registry.local/berth-pause:1.0");
    }
}
