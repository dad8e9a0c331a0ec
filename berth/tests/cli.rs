//! The `berth` binary as a user runs it.

use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("run berth")
}

#[test]
fn version_names_the_kubernetes_api() {
    let out = berth(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("berth 0."), "{text}");
    assert!(text.contains("v1.33"), "{text}");
}

#[test]
fn help_says_what_exists() {
    let out = berth(&["help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["api-resources", "store", "version"] {
        assert!(text.contains(word), "help lacks {word}: {text}");
    }
}

#[test]
fn store_check_refuses_a_foreign_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.db");
    std::fs::write(&file, "not a database at all, just text\n".repeat(10)).unwrap();
    let before = std::fs::read(&file).unwrap();
    let out = berth(&["store", "check", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Berth store"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn store_check_reports_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    drop(berth_store_open(&file));
    let out = berth(&["store", "check", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("revision: 0") && text.contains("keys: 0"),
        "{text}"
    );
}

fn berth_store_open(path: &std::path::Path) -> berth_store::sqlite::SqliteStore {
    berth_store::sqlite::SqliteStore::open(path).expect("create a store")
}
