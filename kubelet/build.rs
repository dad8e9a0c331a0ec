//! Builds the pause program (pause/pause.c) as a static binary for the sandbox image the
//! kubelet embeds. Needs a C compiler and a static C library (build-essential on Debian).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "pause/pause.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("pause");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args(["-static", "-Os", "-s", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .unwrap_or_else(|e| panic!("running {cc} to build {src}: {e} (install build-essential)"));
    assert!(
        status.success(),
        "{cc} -static -Os -s {src} failed ({status}); a static C library is needed (libc6-dev)"
    );
}
