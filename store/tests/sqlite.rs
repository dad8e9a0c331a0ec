//! What only the embedded SQLite backend promises: durability across a SIGKILL, refusal of
//! foreign or damaged files, one process per file, space returned after compaction, and slow
//! watchers cut off without slowing anyone else.

use berth_store::sqlite::SqliteStore;
use berth_store::{RangeRequest, Store, StoreError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn crash_value(writer: usize, seq: u64) -> Vec<u8> {
    let head = format!("{writer}:{seq}:");
    let mut out = head.clone().into_bytes();
    while out.len() < 1536 {
        out.extend_from_slice(head.as_bytes());
    }
    out.truncate(1536);
    out
}

/// Reads a value written by the crash writer back into (writer, seq), if it is whole.
fn parse_value(value: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut parts = text.splitn(3, ':');
    let writer = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    (crash_value(writer, seq) == value).then_some((writer, seq))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_32_writers_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-store-crash-writer"))
        .arg(&db)
        .arg("32")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the crash writer");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.len() < 4000 && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => acks.push(line),
            _ => break,
        }
    }
    child.kill().expect("SIGKILL the writer");
    // Lines already written before the kill were acknowledged too.
    for line in lines.map_while(Result::ok) {
        acks.push(line);
    }
    let _ = child.wait();
    assert!(
        acks.len() >= 4000,
        "the writer acknowledged only {} writes",
        acks.len()
    );

    let store = SqliteStore::open(&db).expect("reopen after SIGKILL");
    let all = store.range(RangeRequest::prefix("/crash/")).await.unwrap();
    let stored: BTreeMap<String, _> = all.kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
    // No partial write: every stored value is complete.
    for (key, kv) in &stored {
        assert!(parse_value(&kv.value).is_some(), "torn value under {key}");
    }
    let mut newest_update: BTreeMap<usize, (u64, i64)> = BTreeMap::new();
    let mut max_rev = 0;
    for ack in &acks {
        let fields: Vec<&str> = ack.split(' ').collect();
        let [op, writer, seq, rev] = fields[..] else {
            panic!("bad ack line {ack:?}")
        };
        let writer: usize = writer.parse().unwrap();
        let seq: u64 = seq.parse().unwrap();
        let rev: i64 = rev.parse().unwrap();
        max_rev = max_rev.max(rev);
        match op {
            "create" => {
                let key = format!("/crash/{writer}/{seq}");
                let kv = stored
                    .get(&key)
                    .unwrap_or_else(|| panic!("acknowledged {key} was lost"));
                assert_eq!(kv.value, crash_value(writer, seq), "{key}");
                assert_eq!(kv.create_revision, rev, "{key}");
            }
            "update" => {
                let entry = newest_update.entry(writer).or_insert((seq, rev));
                if seq > entry.0 {
                    *entry = (seq, rev);
                }
            }
            other => panic!("unknown ack {other}"),
        }
    }
    for (writer, (seq, rev)) in newest_update {
        let kv = &stored[&format!("/crash/counter/{writer}")];
        let (w, stored_seq) = parse_value(&kv.value).unwrap();
        assert_eq!(w, writer);
        // A later write may have landed without its acknowledgement reaching us, never an
        // earlier one.
        assert!(
            stored_seq >= seq,
            "counter {writer}: acknowledged {seq}, found {stored_seq}"
        );
        assert!(kv.mod_revision >= rev);
    }
    assert!(store.current_revision().await.unwrap() >= max_rev);
    // The reopened store keeps working from where it stopped.
    let kv = store.create("/after-crash", vec![1]).await.unwrap();
    assert!(kv.mod_revision > max_rev);
}

#[tokio::test]
async fn reopen_keeps_values_and_revision() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (kv, deleted) = {
        let store = SqliteStore::open(&db).unwrap();
        let kv = store.create("/a", b"x".to_vec()).await.unwrap();
        store.create("/b", b"y".to_vec()).await.unwrap();
        let deleted = store.delete("/b", None).await.unwrap();
        (kv, deleted)
    };
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store.current_revision().await.unwrap(),
        deleted.mod_revision
    );
    assert_eq!(store.get("/a").await.unwrap().0, Some(kv));
    assert_eq!(store.get("/b").await.unwrap().0, None);
    let next = store.create("/c", vec![]).await.unwrap();
    assert_eq!(next.mod_revision, deleted.mod_revision + 1);
    // History survives too: a watch from the start replays all three changes.
    let mut watch = store.watch("/", 0).await.unwrap();
    for want in 1..=4 {
        let event = watch.next().await.unwrap().unwrap();
        assert_eq!(event.revision(), want);
    }
}

#[test]
fn a_second_process_cannot_open_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let _first = SqliteStore::open(&db).unwrap();
    match SqliteStore::open(&db) {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("in use"), "{msg}"),
        other => panic!("expected the lock to refuse, got {:?}", other.map(|_| ())),
    }
}

fn assert_refused(path: &std::path::Path, reason_part: &str) {
    let before = std::fs::read(path).unwrap();
    match SqliteStore::open(path) {
        Err(StoreError::BadDatabase { path: p, reason }) => {
            assert_eq!(p, path.display().to_string());
            assert!(
                reason.contains(reason_part),
                "reason {reason:?} lacks {reason_part:?}"
            );
        }
        other => panic!("expected BadDatabase, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "a refused file must not change"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    std::fs::write(
        &db,
        b"these are somebody's notes, not a database\n".repeat(100),
    )
    .unwrap();
    assert_refused(&db, "not a SQLite database");
}

#[test]
fn another_applications_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
            .unwrap();
    }
    assert_refused(&db, "another application");
}

#[tokio::test]
async fn a_damaged_store_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    {
        let store = SqliteStore::open(&db).unwrap();
        for i in 0..300 {
            store
                .create(&format!("/k/{i:04}"), vec![b'v'; 1500])
                .await
                .unwrap();
        }
    }
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 64 * 1024, "the store should span many pages");
    for b in &mut bytes[16 * 1024..48 * 1024] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    assert_refused(&db, "damaged");
}

fn file_size(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("db-wal");
    std::fs::metadata(path).unwrap().len() + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_returns_space_and_keeps_current_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = SqliteStore::open(&db).unwrap();
    let mut revs = Vec::new();
    for k in 0..10 {
        revs.push(
            store
                .create(&format!("/s/{k}"), vec![0; 4096])
                .await
                .unwrap()
                .mod_revision,
        );
    }
    for round in 1..=150u8 {
        for (k, rev) in revs.iter_mut().enumerate() {
            *rev = store
                .update(&format!("/s/{k}"), vec![round; 4096], *rev)
                .await
                .unwrap()
                .mod_revision;
        }
    }
    let before = file_size(&db);
    assert!(
        before > 6_000_000,
        "history should take space, file is {before} bytes"
    );
    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    let after = file_size(&db);
    assert!(
        after * 4 < before,
        "compaction should return space: {before} -> {after} bytes"
    );
    let all = store.range(RangeRequest::prefix("/s/")).await.unwrap();
    assert_eq!(all.kvs.len(), 10);
    assert!(all.kvs.iter().all(|kv| kv.value == vec![150u8; 4096]));
    let at = store
        .range(RangeRequest::prefix("/s/").at_revision(current))
        .await
        .unwrap();
    assert_eq!(at.kvs, all.kvs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_cut_off_and_others_keep_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    let mut slow = store.watch("/w/", 0).await.unwrap();
    let mut fast = store.watch("/w/", 0).await.unwrap();
    const N: usize = 12_000;
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < N {
            match tokio::time::timeout(Duration::from_secs(30), fast.next()).await {
                Ok(Some(Ok(_))) => seen += 1,
                other => panic!(
                    "fast watcher failed after {seen} events: {:?}",
                    other.is_ok()
                ),
            }
        }
        seen
    });
    let mut writers = Vec::new();
    for w in 0..16 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..N / 16 {
                store
                    .create(&format!("/w/{w}/{i}"), vec![0; 64])
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(reader.await.unwrap(), N);
    // The slow watcher gets what was queued before it fell behind, then the compacted error.
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), slow.next())
            .await
            .unwrap()
        {
            Some(Ok(_)) => delivered += 1,
            Some(Err(StoreError::Compacted { .. })) => break,
            other => panic!("expected a cut-off, got {:?}", other.map(|r| r.map(|_| ()))),
        }
    }
    assert!(delivered < N, "the slow watcher got {delivered} events");
    assert!(slow.next().await.is_none());
}
