//! What only the embedded SQLite backend promises: durability across a SIGKILL, refusal of
//! foreign or damaged files, one process per file, space returned after compaction, and slow
//! watchers cut off without slowing anyone else.

use berth_store::crash_writer;
use berth_store::sqlite::SqliteStore;
use berth_store::{RangeRequest, Store, StoreError};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads a value written by the crash writer back into (writer, seq), if it is whole.
fn parse_value(value: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut parts = text.splitn(3, ':');
    let writer = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    (crash_writer::value(writer, seq) == value).then_some((writer, seq))
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
                assert_eq!(kv.value, crash_writer::value(writer, seq), "{key}");
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

/// The page size of the SQLite file at `db`.
fn page_size(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_store_with_small_pages_is_rewritten_with_large_ones_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut written = Vec::new();
    {
        let store = SqliteStore::open(&db).unwrap();
        for i in 0..200 {
            written.push(
                store
                    .create(&format!("/p/{i:03}"), vec![i as u8; 1536])
                    .await
                    .unwrap(),
            );
        }
        let deleted = store.delete("/p/007", None).await.unwrap();
        written.retain(|kv| kv.key != deleted.key);
    }
    // The layout of a store made before new stores got 8 KiB pages.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; PRAGMA journal_mode = WAL;")
            .unwrap();
    }
    assert_eq!(page_size(&db), 4096);

    let store = SqliteStore::open(&db).unwrap();
    let all = store.range(RangeRequest::prefix("/p/")).await.unwrap();
    assert_eq!(all.kvs, written);
    assert_eq!(all.revision, 201);
    // History is kept: a read at an older revision still sees the deleted key.
    let old = store
        .range(RangeRequest::prefix("/p/").at_revision(200))
        .await
        .unwrap();
    assert_eq!(old.kvs.len(), 200);
    let next = store.create("/p/new", b"n".to_vec()).await.unwrap();
    assert_eq!(next.mod_revision, 202);
    drop(store);
    assert_eq!(page_size(&db), 8192);
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.get("/p/new").await.unwrap().0, Some(next));
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

// The commit log (`<db>-berthlog`): a write is durable once its frame is synced there, and
// SQLite is applied behind it.

fn log_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-berthlog");
    p.into()
}

fn sidecar(db: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// A value that occurs once in the files: 1 500 bytes naming its revision.
fn rev_value(rev: usize) -> Vec<u8> {
    let mut v = format!("value-of-revision-{rev:06}|")
        .repeat(60)
        .into_bytes();
    v.truncate(1500);
    v
}

/// Writes revisions 1..=5, closes, keeps a copy of the database as it is then, writes
/// revisions 6..=10 and closes again. Putting the copy back afterwards leaves the database
/// at revision 5 and the log holding 6..=10: the state after a crash between the log's sync
/// and SQLite's commit.
async fn database_behind_its_log(db: &std::path::Path) -> std::path::PathBuf {
    let copy = db.with_extension("copy");
    {
        let store = SqliteStore::open(db).unwrap();
        for rev in 1..=5 {
            let kv = store
                .create(&format!("/r/{rev:02}"), rev_value(rev))
                .await
                .unwrap();
            assert_eq!(kv.mod_revision, rev as i64);
        }
    }
    assert!(
        !sidecar(db, "-wal").exists(),
        "a closed store leaves no WAL"
    );
    std::fs::copy(db, &copy).unwrap();
    {
        let store = SqliteStore::open(db).unwrap();
        for rev in 6..=10 {
            store
                .create(&format!("/r/{rev:02}"), rev_value(rev))
                .await
                .unwrap();
        }
    }
    copy
}

fn put_back(copy: &std::path::Path, db: &std::path::Path) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(db, suffix));
    }
    std::fs::copy(copy, db).unwrap();
}

/// Flips one byte inside the value of `rev` in the commit log.
fn damage_frame(db: &std::path::Path, rev: usize) {
    let path = log_path(db);
    let mut bytes = std::fs::read(&path).unwrap();
    let needle = rev_value(rev);
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the value is in the log");
    bytes[at + 700] ^= 0x5A;
    std::fs::write(&path, &bytes).unwrap();
}

async fn revisions_present(store: &SqliteStore) -> Vec<i64> {
    let all = store.range(RangeRequest::prefix("/r/")).await.unwrap();
    for kv in &all.kvs {
        assert_eq!(kv.value, rev_value(kv.mod_revision as usize), "{}", kv.key);
    }
    all.kvs.iter().map(|kv| kv.mod_revision).collect()
}

#[tokio::test]
async fn the_log_replays_writes_the_database_had_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let copy = database_behind_its_log(&db).await;
    put_back(&copy, &db);
    {
        let behind = SqliteStore::open(&copy).unwrap();
        assert_eq!(behind.current_revision().await.unwrap(), 5);
    }
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.current_revision().await.unwrap(), 10);
    assert_eq!(
        revisions_present(&store).await,
        (1..=10).collect::<Vec<_>>()
    );
    // History is replayed too: a watch from revision 7 sees 8, 9 and 10.
    let mut watch = store.watch("/r/", 7).await.unwrap();
    for want in 8..=10 {
        assert_eq!(watch.next().await.unwrap().unwrap().revision(), want);
    }
    let next = store.create("/r/11", rev_value(11)).await.unwrap();
    assert_eq!(next.mod_revision, 11);
    drop(watch);
    drop(store);
    // And the replayed state is kept: a second reopen finds the same.
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        revisions_present(&store).await,
        (1..=11).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_torn_last_frame_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let copy = database_behind_its_log(&db).await;
    put_back(&copy, &db);
    damage_frame(&db, 10);
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.current_revision().await.unwrap(), 9);
    assert_eq!(revisions_present(&store).await, (1..=9).collect::<Vec<_>>());
    let next = store.create("/r/10", rev_value(10)).await.unwrap();
    assert_eq!(next.mod_revision, 10);
}

#[tokio::test]
async fn a_damaged_frame_followed_by_intact_ones_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let copy = database_behind_its_log(&db).await;
    put_back(&copy, &db);
    damage_frame(&db, 7);
    let log_before = std::fs::read(log_path(&db)).unwrap();
    let db_before = std::fs::read(&db).unwrap();
    match SqliteStore::open(&db) {
        Err(StoreError::BadDatabase { path, reason }) => {
            assert_eq!(path, log_path(&db).display().to_string());
            assert!(
                reason.contains("damaged") && reason.contains("revision 7"),
                "{reason}"
            );
        }
        other => panic!("expected BadDatabase, got {:?}", other.map(|_| ())),
    }
    assert_eq!(std::fs::read(log_path(&db)).unwrap(), log_before);
    assert_eq!(std::fs::read(&db).unwrap(), db_before);
}

#[tokio::test]
async fn a_database_older_than_its_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let copy = database_behind_its_log(&db).await;
    // One more session starts a log epoch at revision 11; the copy ends at revision 5.
    drop(SqliteStore::open(&db).unwrap());
    put_back(&copy, &db);
    match SqliteStore::open(&db) {
        Err(StoreError::BadDatabase { reason, .. }) => {
            assert!(reason.contains("older than its log"), "{reason}")
        }
        other => panic!("expected BadDatabase, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_after_the_log_wrapped_many_times() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let value = |k: usize, round: usize| {
        let mut v = vec![(k * 31 + round) as u8; 100 * 1024];
        v[..16].copy_from_slice(format!("{k:04}:{round:011}").as_bytes());
        v
    };
    let mut revs = [0i64; 20];
    let rounds = 35; // 700 writes of 100 KiB: the 16 MiB log starts over about four times.
    {
        let store = SqliteStore::open(&db).unwrap();
        for round in 0..rounds {
            for (k, rev) in revs.iter_mut().enumerate() {
                let key = format!("/big/{k:02}");
                *rev = if round == 0 {
                    store.create(&key, value(k, round)).await.unwrap()
                } else {
                    store.update(&key, value(k, round), *rev).await.unwrap()
                }
                .mod_revision;
            }
        }
        // One value larger than the whole log is made durable through SQLite instead.
        let huge = store.create("/huge", vec![7; 20 << 20]).await.unwrap();
        assert_eq!(huge.mod_revision, (rounds * 20 + 1) as i64);
        store.create("/after-huge", vec![1]).await.unwrap();
    }
    let log_len = std::fs::metadata(log_path(&db)).unwrap().len();
    assert_eq!(log_len, 16 << 20, "the log is overwritten, never grown");
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store.current_revision().await.unwrap(),
        (rounds * 20 + 2) as i64
    );
    let all = store.range(RangeRequest::prefix("/big/")).await.unwrap();
    assert_eq!(all.kvs.len(), 20);
    for (k, kv) in all.kvs.iter().enumerate() {
        assert_eq!(kv.value, value(k, rounds - 1));
        assert_eq!(kv.mod_revision, revs[k]);
    }
    assert_eq!(
        store.get("/huge").await.unwrap().0.unwrap().value.len(),
        20 << 20
    );
    // Every revision is still in history, in order.
    let mut watch = store.watch("/big/00", 0).await.unwrap();
    for round in 0..rounds {
        let event = watch.next().await.unwrap().unwrap();
        assert_eq!(event.kv.value, value(0, round));
    }
}

/// Holds SQLite's write lock from outside, so the store's applier cannot bring SQLite up to
/// date while it is held: writes are then acknowledged from the commit log alone.
struct HeldWriteLock(rusqlite::Connection);

impl HeldWriteLock {
    fn take(db: &std::path::Path) -> Self {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        HeldWriteLock(conn)
    }

    fn release(self) {
        self.0.execute_batch("ROLLBACK").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_checked_against_acknowledged_changes_sqlite_does_not_show_yet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let store = SqliteStore::open(&db).unwrap();
    let old = store.create("/o/old", b"old".to_vec()).await.unwrap();
    // A read waits until SQLite holds every acknowledged write, so /o/old is in SQLite now.
    assert_eq!(store.get("/o/old").await.unwrap().0, Some(old.clone()));

    let lock = HeldWriteLock::take(&db);
    // Everything below is acknowledged from the commit log while SQLite stays behind; every
    // check must see the changes before it.
    let a = store.create("/o/a", b"a1".to_vec()).await.unwrap();
    assert!(matches!(
        store.create("/o/a", b"again".to_vec()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let a2 = store
        .update("/o/a", b"a2".to_vec(), a.mod_revision)
        .await
        .unwrap();
    assert_eq!(a2.create_revision, a.mod_revision);
    match store
        .update("/o/a", b"stale".to_vec(), a.mod_revision)
        .await
    {
        Err(StoreError::Conflict {
            current: Some(current),
            ..
        }) => assert_eq!(*current, a2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let deleted = store.delete("/o/a", Some(a2.mod_revision)).await.unwrap();
    assert_eq!(deleted.value, b"a2");
    assert!(matches!(
        store
            .update("/o/a", b"gone".to_vec(), a2.mod_revision)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // A key SQLite holds: deleted, then created again, which only the overlay allows.
    let gone = store.delete("/o/old", None).await.unwrap();
    assert_eq!(gone.value, b"old");
    assert_eq!(gone.create_revision, old.create_revision);
    let again = store.create("/o/old", b"new".to_vec()).await.unwrap();
    assert_eq!(again.create_revision, again.mod_revision);
    // The watch hub has every change already.
    assert_eq!(store.current_revision().await.unwrap(), again.mod_revision);

    // A read started now must wait for SQLite: it cannot finish while the lock is held.
    let mut get = Box::pin(store.get("/o/old"));
    assert!(futures::poll!(&mut get).is_pending());
    let mut list = Box::pin(store.range(RangeRequest::prefix("/o/")));
    assert!(futures::poll!(&mut list).is_pending());
    lock.release();
    let (kv, rev) = get.await.unwrap();
    assert_eq!(kv, Some(again.clone()));
    assert!(rev >= again.mod_revision);
    let all = list.await.unwrap();
    assert_eq!(all.kvs, vec![again.clone()]);
    // History holds every change in order.
    let mut watch = store.watch("/o/", old.mod_revision).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = watch.next().await.unwrap().unwrap();
        seen.push((event.kind, event.kv.key.clone(), event.revision()));
    }
    use berth_store::EventKind::{Delete, Put};
    assert_eq!(
        seen,
        vec![
            (Put, "/o/a".to_string(), a.mod_revision),
            (Put, "/o/a".to_string(), a2.mod_revision),
            (Delete, "/o/a".to_string(), deleted.mod_revision),
            (Delete, "/o/old".to_string(), gone.mod_revision),
            (Put, "/o/old".to_string(), again.mod_revision),
        ]
    );
    drop(watch);
    drop(store);
    let store = SqliteStore::open(&db).unwrap();
    let all = store.range(RangeRequest::prefix("/o/")).await.unwrap();
    assert_eq!(all.kvs, vec![again.clone()]);
    // The reopened writer knows which keys exist without having written them.
    assert!(matches!(
        store.create("/o/old", b"dup".to_vec()).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(matches!(
        store.update("/o/a", b"x".to_vec(), a2.mod_revision).await,
        Err(StoreError::NotFound { .. })
    ));
    let updated = store
        .update("/o/old", b"newer".to_vec(), again.mod_revision)
        .await
        .unwrap();
    assert_eq!(updated.create_revision, again.create_revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_right_after_an_acknowledged_write_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("/seen/{w}");
            let mut rev = store.create(&key, vec![0]).await.unwrap().mod_revision;
            for i in 1..=60u8 {
                let kv = store.update(&key, vec![i], rev).await.unwrap();
                rev = kv.mod_revision;
                let (got, at) = store.get(&key).await.unwrap();
                assert_eq!(got, Some(kv.clone()), "get after update {i}");
                assert!(at >= rev);
                let page = store.range(RangeRequest::prefix(&key)).await.unwrap();
                assert_eq!(page.kvs, vec![kv], "range after update {i}");
            }
            let gone = store.delete(&key, Some(rev)).await.unwrap();
            assert_eq!(store.get(&key).await.unwrap().0, None);
            let (_, at) = store.get("/seen/none").await.unwrap();
            assert!(at >= gone.mod_revision);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
