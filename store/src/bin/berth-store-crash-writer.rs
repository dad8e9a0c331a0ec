//! A load generator for the store's crash test: many writers against one SQLite store, each
//! acknowledgement printed as soon as the store confirms it.
//!
//! Usage: `berth-store-crash-writer DB_PATH WRITERS`. It writes until it is killed. Every
//! line on stdout is one acknowledged write: `create WRITER SEQ REVISION` for a new key
//! `/crash/WRITER/SEQ`, or `update WRITER SEQ REVISION` for the writer's counter key
//! `/crash/counter/WRITER` set to SEQ. Values are derived from the key and sequence number,
//! so a reader can tell a complete value from a torn one.

use berth_store::crash_writer::value;
use berth_store::sqlite::SqliteStore;
use berth_store::Store;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(writers)) = (args.get(1), args.get(2).and_then(|w| w.parse().ok()))
    else {
        eprintln!("usage: berth-store-crash-writer DB_PATH WRITERS");
        std::process::exit(2);
    };
    let store = match SqliteStore::open(path) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            eprintln!("open: {e}");
            std::process::exit(1);
        }
    };
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        let out = out.clone();
        tasks.push(tokio::spawn(async move {
            let counter = format!("/crash/counter/{writer}");
            let mut counter_rev = match store.create(&counter, value(writer, 0)).await {
                Ok(kv) => kv.mod_revision,
                Err(e) => return eprintln!("create counter: {e}"),
            };
            for seq in 1u64.. {
                let key = format!("/crash/{writer}/{seq}");
                let ack = match store.create(&key, value(writer, seq)).await {
                    Ok(kv) => format!("create {writer} {seq} {}", kv.mod_revision),
                    Err(e) => return eprintln!("create {key}: {e}"),
                };
                report(&out, &ack);
                let ack = match store
                    .update(&counter, value(writer, seq), counter_rev)
                    .await
                {
                    Ok(kv) => {
                        counter_rev = kv.mod_revision;
                        format!("update {writer} {seq} {}", kv.mod_revision)
                    }
                    Err(e) => return eprintln!("update {counter}: {e}"),
                };
                report(&out, &ack);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

fn report(out: &Mutex<std::io::Stdout>, line: &str) {
    let out = out.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = out.lock();
    // A failed write to stdout means the test stopped reading; nothing else to do.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
