//! On AMD x86-64 machines the server re-executes itself once with glibc's `rep movsb` copies
//! turned off (component-base's memcpy module): same process id, still serving; elsewhere it
//! runs unchanged.

mod common;

use common::Server;

fn environment(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn amd() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("vendor_id") && l.ends_with("AuthenticAMD"))
}

#[tokio::test]
async fn runs_with_vector_copies_on_amd() {
    if std::env::var_os("GLIBC_TUNABLES").is_some()
        || std::env::var_os("BERTH_KEEP_MEMCPY").is_some()
    {
        eprintln!("the test's own environment decides; nothing to check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]).await.unwrap();
    let env = environment(server.pid());
    let tunable = env
        .iter()
        .find(|v| v.starts_with("GLIBC_TUNABLES="))
        .cloned();
    if cfg!(all(target_arch = "x86_64", target_env = "gnu")) && amd() {
        assert_eq!(
            tunable.as_deref(),
            Some("GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=0x10000000")
        );
        // Marked, so it never re-executes twice.
        assert!(env.iter().any(|v| v == "BERTH_MEMCPY_REEXEC=1"), "{env:?}");
    } else {
        assert_eq!(tunable, None);
    }
    // The re-executed process is the one that serves.
    let client = server.client().await.unwrap();
    client
        .send_expecting(http::Method::GET, "/version", None, http::StatusCode::OK)
        .await;
    server.kill();
}
