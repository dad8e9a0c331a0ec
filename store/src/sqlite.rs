//! The embedded backend: one SQLite file, the default store of a single-machine cluster.
//!
//! Layout and the reasons for it:
//!
//! - Durability comes from the store's own commit log (`commit_log.rs`, the file
//!   `<db>-berthlog`), not from SQLite. The writer thread takes every request waiting in its
//!   queue, checks each against the current state, appends one frame per change to the log
//!   with a single `pwrite` and calls `fdatasync` once; then it publishes the batch to watchers
//!   and answers its callers. So no write is acknowledged before it is durable, and one batch
//!   costs one small sync of overwritten blocks, which is the disk's cheapest durable write.
//! - SQLite is off that path: the writer hands each durable batch to the applier thread, which
//!   owns the only writing connection and applies the batches it has gathered (for up to
//!   `APPLY_GATHER`, or until a reader waits for them) in one transaction, while the writer
//!   already syncs the next batch. Gathering keeps a page that many writes touch from being
//!   appended to SQLite's WAL once per write. Readers never see a change
//!   SQLite does not hold yet, and a read waits until SQLite holds every revision published
//!   when it started (usually already true), so a read after an acknowledged write sees it.
//!   The writer's checks (create-if-absent, mod-revision conditions, the previous value a
//!   write returns) must see batches the applier has not committed: the writer keeps those
//!   keys' latest values and tombstones in an in-memory overlay (`overlay.rs`), consulted
//!   before SQLite (a read-only lookup connection, one snapshot per batch) and pruned once the
//!   applier has committed them. If applying fails, the store refuses reads and writes until
//!   it is reopened, which replays the log.
//! - SQLite runs WAL with `synchronous = NORMAL`: its commits are not synced. The log is
//!   preallocated and overwritten cyclically; before it starts over, the writer waits for the
//!   applier to catch up and syncs SQLite's WAL, database file and directory (`sync_sqlite`),
//!   so everything the old frames held is durable in SQLite. At open, frames newer than the
//!   database's last revision are applied again (the state after a crash before the applier
//!   committed, or after a power loss that took SQLite's unsynced commits), a torn last batch
//!   is dropped, and a damaged frame followed by intact ones refuses the store. A batch larger
//!   than the whole log is applied by the applier and synced in SQLite before it is answered,
//!   and the log starts over after it.
//! - `log` holds one row per revision (puts and deletions); a deletion row carries the deleted
//!   value, so a DELETED event needs no lookup. Its covering index `log_key (key, rev,
//!   deleted)` serves a LIST at an older revision (a grouped scan in key order, then one rowid
//!   lookup per live key) and compaction.
//! - `current` holds the current value of each live key, keyed by key (WITHOUT ROWID, 8 KiB
//!   pages so a 1.5 KB value stays inline in its leaf; with 4 KiB pages every such row would
//!   spill into an overflow page of its own, doubling the pages a LIST reads). A get is one lookup; a LIST at the
//!   current revision is one ordered scan with no per-key lookup. Commits are not synced, so
//!   the extra pages this table dirties cost copies, not flushes.
//! - The writer publishes each durable batch to in-process watchers; nothing polls.
//! - The writer's state sits behind a lock. A caller that finds the writer idle (nothing
//!   queued, no batch being synced) checks, logs, syncs and publishes its own request on its
//!   own thread, so a caller writing one request after another pays no thread hand-off. When
//!   the writer is busy, requests queue for the writer thread, which takes everything queued
//!   as one batch (group commit); after a batch it polls its queue for a few microseconds
//!   before sleeping.
//! - Compaction deletes superseded history in small steps on the applier, between its
//!   transactions, so writers never wait for it, and returns the freed pages to the file
//!   system (incremental vacuum and a WAL truncation).
//! - The WAL is kept short: every `WAL_CYCLE_FRAMES` frames a checkpointer thread with its own
//!   connection copies the bulk of it into the database file in the background, then the
//!   applier copies the few frames committed meanwhile, so its next commit starts the WAL over
//!   (SQLite only restarts a WAL that is fully copied when a write begins, which a background
//!   checkpoint alone never achieves under steady writes). Checkpoints run only then, never
//!   on a timer: each syncs the WAL and the database, and the commit-log syncs issued
//!   meanwhile wait behind that burst of disk writes.
//! - Reads use a small pool of reader connections with a modest page cache each; WAL lets
//!   them run beside the writer. They read the database file through a memory map: a LIST
//!   walks more pages than a reader's cache holds, and without the map each of its pages was
//!   copied again from the operating system's cache on every LIST.
//!
//! The file is marked with an application id and a schema version (a version 1 file, which had
//! no `current` table, is upgraded at open; a file with pages smaller than 8 KiB is rewritten
//! once with 8 KiB pages, a VACUUM outside WAL mode, before its commit log is replayed). A file that is not a SQLite database, that belongs
//! to another application, or that fails SQLite's integrity check is refused at open and never
//! written to; so is a damaged commit log, or a database older than its log. A lock file keeps
//! a second process from opening the same store.

use crate::commit_log::{self, AppendError, CommitLog, Record};
use crate::hub::{Hub, HubWatch};
use crate::overlay::{Lookup, Overlay};
use crate::types::{
    prefix_end, EventKind, KeyValue, RangeRequest, RangeResult, Revision, WatchEvent,
};
use crate::{Result, Store, StoreError, Watch};
use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Marks a SQLite file as a Berth store ("BRTH").
const APPLICATION_ID: i32 = 0x4252_5448;
/// The schema this code writes and understands.
const SCHEMA_VERSION: i32 = 2;
/// Page size of a new store: a 1.5 KB value fits inline in a leaf of the `current` table.
const PAGE_SIZE: i64 = 8192;
/// The most write requests made durable in one commit-log sync.
const MAX_BATCH: usize = 1024;
/// Batches that may wait in the applier's queue; when it is full the writer wakes the applier
/// (which takes them out while it gathers) and waits for room. Large enough that a writer
/// answering one request at a time (a batch each) never fills it within one gathering window.
const APPLY_QUEUE: usize = 1024;
/// The applier stops gathering queued batches into one transaction at this many records.
const MAX_APPLY: usize = 4096;
/// Log rows examined per compaction step; small, so a step never holds the applier (and the
/// reads waiting for it) for long.
const COMPACT_STEP: i64 = 2_000;
/// Reader connections kept open for reuse.
const READER_POOL: usize = 4;
/// WAL frames after which the applier starts a log cycle: the checkpointer copies the log into
/// the database, the applier copies the last few frames, and the next commit starts the log over.
const WAL_CYCLE_FRAMES: i64 = 1024;
/// Records committed between two checks of the WAL length.
const WAL_CHECK_EVERY: usize = 32;
/// Page cache of the applier's (writing) connection, in KiB: the pages of the key index it
/// updates at random places stay parsed in memory instead of being read back from the file.
const WRITER_CACHE_KIB: i64 = 16_384;
/// Page cache of the writer's lookup connection (the checks of keys), in KiB.
const LOOKUP_CACHE_KIB: i64 = 4_096;
/// Page cache of each reader connection, in KiB. A LIST at the current revision is one
/// ordered scan of `current`, whose pages stay in the operating system's cache, so a small
/// cache per reader costs little while keeping the process small.
const READER_CACHE_KIB: i64 = 8_192;
/// Bytes of the database file a reader maps. A LIST walks more pages than a reader's cache
/// holds, so without the map every page of it would be copied in again from the operating
/// system's cache on every LIST; through the map it is read in place. Pages still in the WAL
/// (recent changes not yet checkpointed) are read from the WAL as before.
const READER_MMAP: i64 = 1 << 30;
/// How long the applier gathers durable batches into one SQLite transaction when no reader
/// waits for them. Every transaction also rewrites the partly filled last pages of each table
/// and index, the b-tree roots, a pointer-map page and the header page: about 11 WAL frames of
/// 8 KiB. For 2 000 writes one after another (0.3 ms each) that came to about 1 600 frames
/// with a 10 ms window (65 transactions) against 1 040 with 50 ms (14), and every frame is
/// synced and copied again at the next checkpoint. A reader that needs an unapplied revision
/// never waits for the window (see [`Hurry`]).
const APPLY_GATHER: Duration = Duration::from_millis(25);
/// How long the writer polls its queue after a batch before it sleeps.
const WRITER_POLL: Duration = Duration::from_micros(50);

const SCHEMA: &str = "
CREATE TABLE log (
    rev INTEGER PRIMARY KEY,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX log_key ON log (key, rev, deleted);
CREATE TABLE current (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('compacted', 0);
";

/// The keys under a prefix at a revision: the newest row of each key at or below it, found in
/// the covering key index; keys whose newest row is a deletion do not exist then. SQLite takes
/// the bare `deleted` from the max(rev) row. The CROSS JOIN keeps the grouped index scan as the
/// outer loop (a co-routine streaming in key order), so no sort or temporary table is needed
/// and a LIMIT stops the scan early; `range_plan_streams` below checks that.
const RANGE: &str = "SELECT l.key, l.value, l.create_rev, l.rev FROM
    (SELECT key, max(rev) AS rev, deleted FROM log INDEXED BY log_key
     WHERE key >= ?1 AND key < ?2 AND rev <= ?3 GROUP BY key ORDER BY key) AS newest
    CROSS JOIN log AS l ON l.rev = newest.rev
    WHERE newest.deleted = 0 LIMIT ?4";

/// The keys under a prefix at the current revision: one ordered scan of `current`.
const RANGE_CURRENT: &str = "SELECT key, value, create_rev, rev FROM current
    WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3";

/// The current value of one key: `(value, create_rev, rev)`.
const NEWEST: &str = "SELECT value, create_rev, rev FROM current WHERE key = ?1";

/// Fills `current` from the log, for a store written by schema version 1.
const MIGRATE_1: &str = "
CREATE TABLE current (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    rev INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO current (key, value, create_rev, rev)
    SELECT l.key, l.value, l.create_rev, l.rev FROM
    (SELECT key, max(rev) AS rev, deleted FROM log GROUP BY key) AS newest
    CROSS JOIN log AS l ON l.rev = newest.rev WHERE newest.deleted = 0;
";

enum Op {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
    Compact {
        revision: Revision,
    },
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Reply>,
    /// When the caller queued it.
    sent: Instant,
}

/// A write's outcome and when the writer sent it.
type Reply = (Result<KeyValue>, Instant);

/// Where the embedded store's write time went since it was opened, in nanoseconds summed
/// over every write or batch (see [`SqliteStore::writer_stats`]). With one caller writing one
/// request after another every batch holds one write, so `phase / writes` is the time a
/// sequential write spends in that phase. `queue` to `resume` are on a write's path to its
/// answer; `apply` and `commit` are the applier's, behind it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Writes answered.
    pub writes: u64,
    /// Batches made durable (one commit-log sync each).
    pub batches: u64,
    /// From a caller queueing a request to the writer taking it (summed over writes).
    pub queue_ns: u64,
    /// Checking the batch's preconditions (the overlay, then SQLite).
    pub check_ns: u64,
    /// Encoding the batch's log frames and writing them (`pwrite`).
    pub log_write_ns: u64,
    /// The log's `fdatasync`.
    pub log_sync_ns: u64,
    /// Handing the changes to the watch hub and the applier, and answering.
    pub publish_ns: u64,
    /// From the writer sending a reply to the caller resuming (summed over writes).
    pub resume_ns: u64,
    /// SQLite transactions the applier committed.
    pub transactions: u64,
    /// The applier's SQLite statements.
    pub apply_ns: u64,
    /// The applier's SQLite commits.
    pub commit_ns: u64,
    /// SQLite checkpoints that copied WAL frames into the database (each syncs the WAL before
    /// and the database after copying), by the checkpointer or the applier.
    pub checkpoints: u64,
    /// Time spent in those checkpoints.
    pub checkpoint_ns: u64,
}

/// The running [`WriterStats`].
#[derive(Default)]
struct StatCells {
    cells: [AtomicU64; 13],
}

#[derive(Clone, Copy)]
enum Stat {
    Writes,
    Batches,
    Queue,
    Check,
    LogWrite,
    LogSync,
    Publish,
    Resume,
    Transactions,
    Apply,
    Commit,
    Checkpoints,
    Checkpoint,
}

impl StatCells {
    fn add(&self, stat: Stat, n: u64) {
        self.cells[stat as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn add_since(&self, stat: Stat, since: Instant) -> Instant {
        let now = Instant::now();
        self.add(stat, nanos(now - since));
        now
    }

    fn snapshot(&self) -> WriterStats {
        let c = |s: Stat| self.cells[s as usize].load(Ordering::Relaxed);
        WriterStats {
            writes: c(Stat::Writes),
            batches: c(Stat::Batches),
            queue_ns: c(Stat::Queue),
            check_ns: c(Stat::Check),
            log_write_ns: c(Stat::LogWrite),
            log_sync_ns: c(Stat::LogSync),
            publish_ns: c(Stat::Publish),
            resume_ns: c(Stat::Resume),
            transactions: c(Stat::Transactions),
            apply_ns: c(Stat::Apply),
            commit_ns: c(Stat::Commit),
            checkpoints: c(Stat::Checkpoints),
            checkpoint_ns: c(Stat::Checkpoint),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The embedded SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Option<mpsc::Sender<Request>>,
    /// The writer's state: taken by the writer thread for each batch, or by a caller that
    /// finds the writer idle and commits its own request (see [`SqliteStore::write_inline`]).
    state: Arc<Mutex<Option<Writer>>>,
    /// Tells the applier that a reader waits for a revision, so it stops gathering.
    hurry: Hurry,
    thread: Option<std::thread::JoinHandle<()>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    hub: Arc<Hub>,
    applied: watch::Receiver<Applied>,
    stats: Arc<StatCells>,
    passes: Arc<Passes>,
    _lock: File,
}

impl SqliteStore {
    /// Opens the store in the file at `path`, creating it if it does not exist.
    ///
    /// Fails with [`StoreError::BadDatabase`] if the file is not a Berth store or is damaged,
    /// and with [`StoreError::Backend`] if another process holds it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let lock = lock_file(&path)?;
        check_existing(&path)?;
        let log_path = commit_log::path_for(&path);
        // Read (never write) the commit log before anything is written, so a damaged log is
        // refused with both files untouched.
        let recovered = commit_log::read(&log_path).map_err(|reason| bad(&log_path, reason))?;
        let mut conn = Connection::open(&path)?;
        let mut revision = init_schema(&conn, &path)?;
        if let Some(r) = &recovered {
            if r.base > revision + 1 {
                return Err(bad(
                    &log_path,
                    format!(
                        "the commit log starts at revision {} but the database ends at \
                         revision {revision}: the database is older than its log",
                        r.base
                    ),
                ));
            }
            revision = replay(&mut conn, &r.records, revision)?;
        }
        // The new epoch overwrites the old frames, so what they held must be durable first.
        sync_sqlite(&path).map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
        let log = CommitLog::start(&log_path, recovered.as_ref(), revision + 1)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", log_path.display())))?;
        let compacted: Revision =
            conn.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| {
                r.get(0)
            })?;
        let hub = Arc::new(Hub::new(revision));
        let stats = Arc::new(StatCells::default());
        let passes = Arc::new(Passes::default());
        let (applied_tx, applied) = watch::channel(Applied {
            revision,
            broken: None,
        });
        let wanted = Arc::new(AtomicI64::new(0));
        let applier = Applier {
            wanted: wanted.clone(),
            stats: stats.clone(),
            conn,
            applied: applied_tx,
            compaction: None,
            checkpointer: Some(Checkpointer::start(&path, stats.clone(), passes.clone())?),
            cycle: None,
            unchecked: 0,
            broken: false,
        };
        let lookup = open_reader(&path, LOOKUP_CACHE_KIB)?;
        let overlay = Overlay::new(live_keys(&lookup)?);
        let (apply_tx, apply_rx) = std::sync::mpsc::sync_channel(APPLY_QUEUE);
        let applier_thread = std::thread::Builder::new()
            .name("berth-store-applier".into())
            .spawn(move || applier.run(apply_rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the applier thread: {e}")))?;
        let hurry = Hurry {
            wanted,
            applier: applier_thread.thread().clone(),
        };
        let writer = Writer {
            stats: stats.clone(),
            lookup,
            snapshot: Default::default(),
            overlay,
            revision,
            compacted,
            hub: hub.clone(),
            log,
            db_path: path.clone(),
            applier: apply_tx,
            hurry: hurry.clone(),
            applier_thread,
            applied: applied.clone(),
            broken: None,
        };
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let state = Arc::new(Mutex::new(Some(writer)));
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("berth-store-writer".into())
            .spawn(move || run_writer(thread_state, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path,
            writer: Some(tx),
            state,
            hurry,
            thread: Some(thread),
            readers: Arc::new(Mutex::new(Vec::new())),
            hub,
            applied,
            stats,
            passes,
            _lock: lock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the write time went since the store was opened.
    pub fn writer_stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// Whether a SQLite checkpoint has been asked for and has not finished. A checkpoint syncs
    /// the WAL and the database file: a burst of disk writes that every other sync on the disk
    /// waits behind (the benchmark lets it finish before it measures the disk alone).
    pub fn checkpoint_pending(&self) -> bool {
        self.passes.done.load(Ordering::Acquire) < self.passes.asked.load(Ordering::Acquire)
    }

    async fn write(&self, op: Op) -> Result<KeyValue> {
        let writer = self.writer.as_ref().ok_or(StoreError::Closed)?;
        let op = match self.write_inline(writer, op) {
            // Answered already, except a compaction, which is answered once its space is
            // reclaimed.
            Ok(rx) => return rx.await.map_err(|_| StoreError::Closed)?.0,
            Err(op) => op,
        };
        let (reply, rx) = oneshot::channel();
        writer
            .send(Request {
                op,
                reply,
                sent: Instant::now(),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        let (result, replied) = rx.await.map_err(|_| StoreError::Closed)?;
        self.stats.add_since(Stat::Resume, replied);
        result
    }

    /// Commits `op` on the caller's own thread when the writer is idle: no request waits in
    /// its queue and no batch is being made durable. A caller writing one request after
    /// another is then answered without waking the writer thread or waiting to be woken
    /// itself, which on a small machine costs about as much as the log sync. The caller's
    /// thread is held for one log sync (inside `block_in_place` on a runtime worker). When the
    /// writer is busy the request is queued instead (and so joins the next group commit);
    /// `op` comes back for that.
    fn write_inline(
        &self,
        queue: &mpsc::Sender<Request>,
        op: Op,
    ) -> std::result::Result<oneshot::Receiver<Reply>, Op> {
        if queue.capacity() != queue.max_capacity() {
            return Err(op);
        }
        let mut guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(op),
        };
        let Some(writer) = guard.as_mut() else {
            return Err(op);
        };
        let (reply, rx) = oneshot::channel();
        let req = vec![Request {
            op,
            reply,
            sent: Instant::now(),
        }];
        // On a worker of a multi-thread runtime the sync would stall every task queued on that
        // worker; `block_in_place` hands them to another thread first (a microsecond or two at
        // the median, measured). Elsewhere (a current-thread runtime, the thread running the
        // runtime's `block_on`, no runtime) the call runs as it is.
        let on_pool = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_pool {
            tokio::task::block_in_place(|| writer.commit_batch(req));
        } else {
            writer.commit_batch(req);
        }
        Ok(rx)
    }

    /// Runs `f` on a pooled reader connection on the blocking thread pool, once SQLite holds
    /// every write acknowledged before the call (so a read never misses a write that
    /// finished before it started).
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.read_from(self.hub.committed(), f).await
    }

    /// Runs `f` on a pooled reader connection once SQLite holds every revision up to `target`.
    async fn read_from<T, F>(&self, target: Revision, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        caught_up(&self.applied, target, &self.hurry).await?;
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&path, READER_CACHE_KIB)?,
            };
            let out = f(&mut conn);
            let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < READER_POOL {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }
}

impl Drop for SqliteStore {
    /// Stops the writer and waits for it, so the file is quiet when the lock is released.
    fn drop(&mut self) {
        self.writer.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.hub.close();
    }
}

fn lock_file(path: &Path) -> Result<File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            StoreError::Backend(format!("{}: {e}", PathBuf::from(&lock_path).display()))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Backend(format!(
            "{}: the store is in use by another process",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Backend(format!(
            "{}: cannot lock: {e}",
            path.display()
        ))),
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::BadDatabase {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Refuses a file that exists and is not a healthy Berth store, before anything writes to it.
fn check_existing(path: &Path) -> Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::Backend(format!("{}: {e}", path.display()))),
    };
    let mut header = Vec::with_capacity(100);
    file.by_ref()
        .take(100)
        .read_to_end(&mut header)
        .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
    if header.is_empty() {
        return Ok(());
    }
    if header.len() < 100 || !header.starts_with(b"SQLite format 3\0") {
        return Err(bad(
            path,
            "not a Berth store: the file is not a SQLite database",
        ));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(path, format!("cannot open: {e}")))?;
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| bad(path, format!("unreadable database: {e}")))?;
    if app != APPLICATION_ID {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| bad(path, format!("unreadable database: {e}")))?;
        if app != 0 || tables > 0 {
            return Err(bad(
                path,
                "not a Berth store: the database belongs to another application",
            ));
        }
        return Ok(());
    }
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| bad(path, format!("unreadable database: {e}")))?;
    // Version 1 (no `current` table) is brought up to date at open.
    if version != SCHEMA_VERSION && version != 1 {
        return Err(bad(
            path,
            format!("store schema version {version} is not supported (this Berth reads {SCHEMA_VERSION})"),
        ));
    }
    let mut check = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| bad(path, format!("database is damaged: {e}")))?;
    let problems: Vec<String> = check
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| bad(path, format!("database is damaged: {e}")))?;
    if problems.len() != 1 || problems[0] != "ok" {
        let first = problems.into_iter().take(3).collect::<Vec<_>>().join("; ");
        return Err(bad(path, format!("database is damaged: {first}")));
    }
    Ok(())
}

/// Creates the schema in a new file, or reads the current revision of an existing one.
fn init_schema(conn: &Connection, path: &Path) -> Result<Revision> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app != APPLICATION_ID {
        // A new file: the page size and auto_vacuum must be chosen before the first table
        // exists, the page size first (SQLite ignores a page size set after auto_vacuum, and
        // with 4 KiB pages every row of `current` would spill into an overflow page).
        conn.execute_batch(&format!(
            "PRAGMA page_size = {PAGE_SIZE}; PRAGMA auto_vacuum = INCREMENTAL;"
        ))?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; \
             PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(|e| bad(path, format!("cannot create the store: {e}")))?;
    }
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    if page != PAGE_SIZE {
        // A store made with smaller pages is rewritten once with the current page size. The
        // page size of a database can only change in a VACUUM outside WAL mode; the VACUUM is
        // atomic (rollback journal, synced), so a crash leaves the old or the new file, and
        // the commit log is replayed only afterwards.
        let started = Instant::now();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = DELETE; PRAGMA page_size = {PAGE_SIZE}; VACUUM;"
        ))
        .map_err(|e| {
            bad(
                path,
                format!("cannot convert to {PAGE_SIZE}-byte pages: {e}"),
            )
        })?;
        tracing::info!(
            from = page,
            to = PAGE_SIZE,
            ms = started.elapsed().as_millis() as u64,
            "rewrote the store with larger pages"
        );
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(bad(
            path,
            format!("cannot use write-ahead logging (journal mode {mode})"),
        ));
    }
    let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 1 {
        conn.execute_batch(&format!(
            "BEGIN; {MIGRATE_1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(|e| bad(path, format!("cannot upgrade the store: {e}")))?;
    }
    // Durability comes from the commit log, so SQLite commits without syncing: its state is
    // made durable before the log starts over (`sync_sqlite`). Checkpoints run only when
    // `Writer::cycle_wal` and the checkpointer decide, never inside a commit.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA cache_size = -{WRITER_CACHE_KIB};"
    ))?;
    let revision: Option<Revision> =
        conn.query_row("SELECT max(rev) FROM log", [], |r| r.get(0))?;
    Ok(revision.unwrap_or(0))
}

fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Makes everything SQLite has written so far durable: its WAL (whose committed frames are
/// the commits not yet copied into the database), the database file and their directory.
/// SQLite commits without syncing (`synchronous = NORMAL`), so this is what lets the commit
/// log start over.
fn sync_sqlite(db: &Path) -> std::io::Result<()> {
    for p in [wal_path(db), db.to_path_buf()] {
        match File::open(&p) {
            Ok(f) => f.sync_data()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
    File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
}

/// Applies the commit log's records newer than `revision` (the database's last revision) in
/// one transaction and returns the new last revision.
fn replay(conn: &mut Connection, records: &[Record], revision: Revision) -> Result<Revision> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut last = revision;
    for r in records.iter().filter(|r| r.rev > revision) {
        apply_record(&tx, r)?;
        last = r.rev;
    }
    tx.commit()?;
    if last > revision {
        tracing::info!(
            from = revision + 1,
            to = last,
            "replayed the commit log into the database"
        );
    }
    Ok(last)
}

/// Writes one change into `log` and `current`.
fn apply_record(tx: &Connection, r: &Record) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO log (rev, key, value, create_rev, prev_rev, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        r.rev,
        r.key,
        r.value,
        r.create_rev,
        r.prev_rev,
        r.deleted as i64
    ])?;
    if r.deleted {
        tx.prepare_cached("DELETE FROM current WHERE key = ?1")?
            .execute([&r.key])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO current (key, value, create_rev, rev) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
             create_rev = excluded.create_rev, rev = excluded.rev",
        )?
        .execute(params![r.key, r.value, r.create_rev, r.rev])?;
    }
    Ok(())
}

/// Every live key, for the writer's overlay.
fn live_keys(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT key FROM current")?;
    let keys = stmt
        .query_map([], |r| key_string(r.get(0)?))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(keys)
}

/// A read-only connection with a page cache of `cache_kib` KiB that reads the database file
/// through a memory map of up to [`READER_MMAP`] bytes.
fn open_reader(path: &Path, cache_kib: i64) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(&format!(
        "PRAGMA mmap_size = {READER_MMAP}; PRAGMA cache_size = -{cache_kib};"
    ))?;
    Ok(conn)
}

/// Runs a passive checkpoint on `conn` and accounts for it in `stats` when it copied frames
/// (its WAL position moved since `last`, the previous `(log frames, copied frames)` this
/// connection saw); a pass with nothing to copy does no I/O and is not counted.
/// One passive checkpoint. Its time counts when it copied frames; it counts as a checkpoint
/// of its own when `counted` (the applier's follow-up copy finishes the checkpointer's cycle
/// and only adds its time).
fn checkpoint(
    conn: &Connection,
    stats: &StatCells,
    last: &mut (i64, i64),
    counted: bool,
) -> rusqlite::Result<()> {
    let started = Instant::now();
    let now: (i64, i64) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })?;
    if now.1 > 0 && now != *last {
        stats.add_since(Stat::Checkpoint, started);
        if counted {
            stats.add(Stat::Checkpoints, 1);
        }
    }
    *last = now;
    Ok(())
}

/// Copies committed WAL frames into the database file on its own thread and connection, each
/// time the applier asks (the WAL has reached [`WAL_CYCLE_FRAMES`]). It never runs on a clock:
/// a checkpoint syncs the WAL and the database, a burst of disk writes that delays every
/// commit-log sync issued meanwhile, so it runs only because writes made the WAL long, never
/// at a moment unrelated to them.
struct Checkpointer {
    nudge: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
    passes: Arc<Passes>,
}

/// The checkpointer's passes, asked for and finished: the applier learns from them when the
/// bulk of the WAL has been copied, and [`SqliteStore::checkpoint_pending`] whether one is due.
#[derive(Default)]
struct Passes {
    asked: AtomicU64,
    done: AtomicU64,
}

impl Checkpointer {
    fn start(path: &Path, stats: Arc<StatCells>, passes: Arc<Passes>) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let (nudge, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let done = passes.clone();
        let thread = std::thread::Builder::new()
            .name("berth-store-checkpoint".into())
            .spawn(move || {
                let mut last = (0, 0);
                while rx.recv().is_ok() {
                    // A passive checkpoint never blocks the writer or readers; frames it cannot
                    // copy yet are copied next time.
                    let result = checkpoint(&conn, &stats, &mut last, true);
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "checkpoint failed; will retry");
                    }
                    passes.done.fetch_add(1, Ordering::Release);
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer {
            nudge,
            thread,
            passes: done,
        })
    }

    fn nudge(&self) {
        // A full queue means a checkpoint is already due.
        self.passes.asked.fetch_add(1, Ordering::AcqRel);
        if self.nudge.try_send(()).is_err() {
            self.passes.asked.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn stop(self) {
        drop(self.nudge);
        let _ = self.thread.join();
    }
}

fn key_string(bytes: Vec<u8>) -> rusqlite::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// Progress of a compaction that is still deleting history.
struct Compaction {
    target: Revision,
    /// Log rows up to this revision have been examined.
    done_up_to: Revision,
    waiters: Vec<oneshot::Sender<Reply>>,
}

/// How far the applier has brought SQLite; shared with the writer and the readers.
#[derive(Clone, Debug, Default)]
struct Applied {
    /// Every revision up to this one is committed in SQLite.
    revision: Revision,
    /// Set when applying failed: SQLite may lack acknowledged writes until the store is
    /// reopened (which replays the commit log), so reads and writes are refused.
    broken: Option<String>,
}

/// Waits until SQLite holds every revision up to `target`; fails if applying broke.
async fn caught_up(
    applied: &watch::Receiver<Applied>,
    target: Revision,
    hurry: &Hurry,
) -> Result<()> {
    if applied.borrow().revision >= target {
        return Ok(());
    }
    hurry.ask(target);
    let mut rx = applied.clone();
    let state = rx
        .wait_for(|a| a.revision >= target || a.broken.is_some())
        .await
        .map_err(|_| StoreError::Closed)?;
    match &state.broken {
        Some(why) => Err(StoreError::Backend(why.clone())),
        None => Ok(()),
    }
}

/// Lets readers (and the writer) tell the applier that someone waits for a revision.
#[derive(Clone)]
struct Hurry {
    /// The highest revision anyone has waited for.
    wanted: Arc<AtomicI64>,
    /// The applier thread, to wake it from gathering.
    applier: std::thread::Thread,
}

impl Hurry {
    fn ask(&self, target: Revision) {
        if self.wanted.fetch_max(target, Ordering::AcqRel) < target {
            self.applier.unpark();
        }
    }
}

/// What the writer hands to the applier, in order.
enum ApplyMsg {
    /// Changes with consecutive revisions, already durable in the commit log.
    Records(Vec<Record>),
    /// Record a compaction up to this revision and delete the history it covers; the caller is
    /// answered when the space is reclaimed.
    Compact(Revision, oneshot::Sender<Reply>),
}

/// Takes write requests, checks them, makes each batch durable in the commit log and answers;
/// SQLite is brought up to date behind it by the [`Applier`].
struct Writer {
    stats: Arc<StatCells>,
    /// A read-only connection for the checks of keys no unapplied batch wrote.
    lookup: Connection,
    /// Whether the batch being checked has begun a read transaction on `lookup`.
    snapshot: std::cell::Cell<bool>,
    /// Keys written by batches the applier has not committed yet.
    overlay: Overlay,
    revision: Revision,
    compacted: Revision,
    hub: Arc<Hub>,
    /// The commit log: a batch is durable once its frames are synced here.
    log: CommitLog,
    db_path: PathBuf,
    applier: std::sync::mpsc::SyncSender<ApplyMsg>,
    hurry: Hurry,
    applier_thread: std::thread::JoinHandle<()>,
    applied: watch::Receiver<Applied>,
    /// Set when the log failed after a batch may have reached it, or the applier stopped: the
    /// log and SQLite may disagree until the store is reopened, so every later write is
    /// refused.
    broken: Option<String>,
}

/// Waits for the next request. A caller that writes one request after another sends its next
/// one within microseconds of its reply, so the writer first polls its queue for a short while
/// and only then sleeps: a lone writer's request is then picked up without waking this thread.
fn next_request(rx: &mut mpsc::Receiver<Request>) -> Option<Request> {
    let start = std::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(req) => return Some(req),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        if start.elapsed() >= WRITER_POLL {
            return rx.blocking_recv();
        }
        std::hint::spin_loop();
    }
}

/// The commit-log record of one checked change.
fn record_of(kv: &KeyValue, event: &WatchEvent) -> Record {
    Record {
        rev: kv.mod_revision,
        key: kv.key.as_bytes().to_vec(),
        value: kv.value.clone(),
        create_rev: kv.create_revision,
        prev_rev: event.prev.as_ref().map_or(0, |p| p.mod_revision),
        deleted: event.kind == EventKind::Delete,
    }
}

/// What one checked request produces, before its batch is durable.
enum Outcome {
    Written(KeyValue, WatchEvent),
    Refused(StoreError),
    CompactStarted(Revision),
}

/// The writer thread: takes queued requests and commits them in batches, each under the
/// writer's lock (a caller committing inline may hold it meanwhile); closes the writer when
/// the queue closes.
fn run_writer(state: Arc<Mutex<Option<Writer>>>, mut rx: mpsc::Receiver<Request>) {
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    while let Some(first) = next_request(&mut rx) {
        let mut batch = vec![first];
        let mut guard = lock();
        // Requests that arrived while an inline commit held the lock join this batch.
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        match guard.as_mut() {
            Some(writer) => writer.commit_batch(batch),
            None => {
                for req in batch {
                    answer(req.reply, Err(StoreError::Closed));
                }
            }
        }
    }
    let writer = lock().take();
    if let Some(writer) = writer {
        writer.close();
    }
}

impl Writer {
    fn close(self) {
        // The last connection to close removes SQLite's WAL, so the read-only one goes first;
        // the applier finishes what is queued and then closes the writing connection.
        drop(self.lookup);
        drop(self.applier);
        let _ = self.applier_thread.join();
        self.hub.close();
    }

    /// Why writes are refused, if they are.
    fn refusal(&self) -> Option<String> {
        self.broken
            .clone()
            .or_else(|| self.applied.borrow().broken.clone())
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        let taken = Instant::now();
        for req in &batch {
            self.stats.add(Stat::Queue, nanos(taken - req.sent));
        }
        if let Some(why) = self.refusal() {
            for req in batch {
                answer(req.reply, Err(StoreError::Backend(why.clone())));
            }
            return;
        }
        // SQLite now shows everything the applier committed: those keys leave the overlay.
        let applied = self.applied.borrow().revision;
        self.overlay.prune(applied);
        let start_revision = self.revision;
        let mut revision = start_revision;
        let mut records = Vec::new();
        let outcomes = match self.check_batch(&batch, &mut revision, &mut records) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // Nothing of the batch was written.
                self.overlay.discard_staged();
                tracing::error!(error = %e, "store batch failed; nothing in it was written");
                for req in batch {
                    answer(req.reply, Err(StoreError::Backend(format!("sqlite: {e}"))));
                }
                return;
            }
        };
        let checked = self.stats.add_since(Stat::Check, taken);
        let to_apply = match self.make_durable(records, start_revision, revision) {
            Ok(to_apply) => to_apply,
            Err(e) => {
                // The log may hold the batch while SQLite never will: the store must be
                // reopened (which replays the log) before it can accept writes again.
                self.overlay.discard_staged();
                let why = format!("store write failed, reopen the store: {e}");
                tracing::error!(error = %e, "store batch failed in the commit log");
                for req in batch {
                    answer(req.reply, Err(StoreError::Backend(why.clone())));
                }
                self.broken = Some(why);
                return;
            }
        };
        let durable = Instant::now();
        self.overlay.commit_staged();
        self.stats.add(Stat::LogWrite, nanos(self.log.timing.0));
        self.stats.add(
            Stat::LogSync,
            nanos((durable - checked).saturating_sub(self.log.timing.0)),
        );
        let mut events = Vec::new();
        let mut replies = Vec::with_capacity(batch.len());
        let mut compactions = Vec::new();
        for (req, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Written(kv, event) => {
                    events.push(Arc::new(event));
                    replies.push((req.reply, Ok(kv)));
                }
                Outcome::Refused(err) => replies.push((req.reply, Err(err))),
                Outcome::CompactStarted(target) => {
                    self.compacted = target;
                    compactions.push(ApplyMsg::Compact(target, req.reply));
                }
            }
        }
        self.revision = revision;
        self.hub.publish(&events, revision);
        self.stats.add(Stat::Writes, replies.len() as u64);
        self.stats.add(Stat::Batches, 1);
        for (reply, result) in replies {
            answer(reply, result);
        }
        self.stats.add_since(Stat::Publish, durable);
        // The callers are answered first: waking the applier may take the CPU from this
        // thread, and reads wait for it only if they come before it is done.
        for msg in to_apply
            .map(ApplyMsg::Records)
            .into_iter()
            .chain(compactions)
        {
            if self.to_applier(msg).is_err() {
                self.broken =
                    Some("store write failed, reopen the store: the applier stopped".into());
            }
        }
    }

    /// Queues `msg` for the applier. The applier may be gathering, parked, and not woken by
    /// the queue: a compaction (whose caller waits) and a full queue (which would hold up this
    /// thread) wake it.
    fn to_applier(&self, msg: ApplyMsg) -> std::result::Result<(), ()> {
        use std::sync::mpsc::TrySendError;
        let urgent = matches!(msg, ApplyMsg::Compact(..));
        let sent = match self.applier.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg)) => {
                self.hurry.applier.unpark();
                self.applier.send(msg).map_err(|_| ())
            }
            Err(TrySendError::Disconnected(_)) => Err(()),
        };
        if urgent {
            self.hurry.applier.unpark();
        }
        sent
    }

    /// Checks every request of a batch in at most one read transaction of the lookup connection
    /// (one snapshot, begun at the batch's first SQLite lookup, after the overlay was pruned),
    /// staging its changes and collecting their log records.
    fn check_batch(
        &mut self,
        batch: &[Request],
        revision: &mut Revision,
        records: &mut Vec<Record>,
    ) -> rusqlite::Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let checked: rusqlite::Result<()> = batch.iter().try_for_each(|req| {
            let outcome = self.check(&req.op, revision)?;
            if let Outcome::Written(kv, event) = &outcome {
                records.push(record_of(kv, event));
            }
            outcomes.push(outcome);
            Ok(())
        });
        // Ending a read transaction only releases its snapshot.
        let ended = if self.snapshot.replace(false) {
            self.lookup
                .prepare_cached("COMMIT")?
                .execute([])
                .map(|_| ())
        } else {
            Ok(())
        };
        checked?;
        ended?;
        Ok(outcomes)
    }

    /// Writes the batch's records to the commit log and syncs it. Returns the records the
    /// applier still has to apply (`None` when a batch larger than the whole log was applied
    /// and made durable in SQLite instead).
    fn make_durable(
        &mut self,
        records: Vec<Record>,
        start_revision: Revision,
        end_revision: Revision,
    ) -> std::result::Result<Option<Vec<Record>>, String> {
        if records.is_empty() {
            return Ok(None);
        }
        match self.log.append(&records) {
            Ok(()) => Ok(Some(records)),
            Err(AppendError::Full { ever: true }) => {
                // The log may start over once SQLite holds everything before this batch
                // durably; then the batch is written at its start.
                self.wait_applied(start_revision)?;
                sync_sqlite(&self.db_path).map_err(|e| format!("commit log: {e}"))?;
                self.log
                    .restart(start_revision + 1)
                    .map_err(|e| format!("commit log: {e}"))?;
                match self.log.append(&records) {
                    Ok(()) => Ok(Some(records)),
                    Err(AppendError::Io(e)) => Err(format!("commit log: {e}")),
                    Err(AppendError::Full { .. }) => {
                        Err("commit log: the batch does not fit in an empty log".into())
                    }
                }
            }
            Err(AppendError::Full { ever: false }) => {
                // Larger than the whole log: SQLite applies it and is made durable instead,
                // and the log starts over after it.
                self.wait_applied(start_revision)?;
                self.to_applier(ApplyMsg::Records(records))
                    .map_err(|()| "the applier stopped".to_string())?;
                self.wait_applied(end_revision)?;
                sync_sqlite(&self.db_path).map_err(|e| format!("sqlite: {e}"))?;
                self.log
                    .restart(end_revision + 1)
                    .map_err(|e| format!("commit log: {e}"))?;
                Ok(None)
            }
            Err(AppendError::Io(e)) => Err(format!("commit log: {e}")),
        }
    }

    /// Blocks until the applier has committed every revision up to `target`.
    fn wait_applied(&mut self, target: Revision) -> std::result::Result<(), String> {
        self.hurry.ask(target);
        let mut rx = self.applied.clone();
        let state = futures::executor::block_on(
            rx.wait_for(|a| a.revision >= target || a.broken.is_some()),
        )
        .map_err(|_| "the applier stopped".to_string())?;
        match &state.broken {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    /// The current value of `key` as the next write must see it: staged or unapplied changes
    /// first, then SQLite.
    fn current(&self, key: &str) -> rusqlite::Result<Option<KeyValue>> {
        match self.overlay.get(key) {
            Lookup::Live(kv) => Ok(Some(kv.clone())),
            Lookup::Absent => Ok(None),
            Lookup::InSqlite => {
                // The batch's lookups share one read transaction, begun at the first one: a
                // batch that only creates new keys never reads SQLite. Any snapshot taken
                // after the overlay was pruned holds every write the overlay no longer does.
                if !self.snapshot.get() {
                    self.lookup.prepare_cached("BEGIN")?.execute([])?;
                    self.snapshot.set(true);
                }
                newest(&self.lookup, key)
            }
        }
    }

    /// Checks one request against the current state and stages its change. A refused
    /// precondition is an outcome, not an error: only SQLite failures abort the batch.
    fn check(&mut self, op: &Op, revision: &mut Revision) -> rusqlite::Result<Outcome> {
        Ok(match op {
            Op::Create { key, value } => {
                if self.current(key)?.is_some() {
                    return Ok(Outcome::Refused(StoreError::AlreadyExists {
                        key: key.clone(),
                    }));
                }
                *revision += 1;
                let kv = KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: *revision,
                    mod_revision: *revision,
                };
                self.overlay.stage_put(kv.clone());
                let event = WatchEvent {
                    kind: EventKind::Put,
                    kv: kv.clone(),
                    prev: None,
                };
                Outcome::Written(kv, event)
            }
            Op::Update {
                key,
                value,
                expected,
            } => {
                let Some(old) = self.current(key)? else {
                    return Ok(Outcome::Refused(StoreError::NotFound { key: key.clone() }));
                };
                if old.mod_revision != *expected {
                    return Ok(Outcome::Refused(StoreError::Conflict {
                        key: key.clone(),
                        expected: *expected,
                        current: Some(Box::new(old)),
                    }));
                }
                *revision += 1;
                let kv = KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                    create_revision: old.create_revision,
                    mod_revision: *revision,
                };
                self.overlay.stage_put(kv.clone());
                let event = WatchEvent {
                    kind: EventKind::Put,
                    kv: kv.clone(),
                    prev: Some(old),
                };
                Outcome::Written(kv, event)
            }
            Op::Delete { key, expected } => {
                let Some(old) = self.current(key)? else {
                    return Ok(Outcome::Refused(StoreError::NotFound { key: key.clone() }));
                };
                if let Some(expected) = expected {
                    if old.mod_revision != *expected {
                        return Ok(Outcome::Refused(StoreError::Conflict {
                            key: key.clone(),
                            expected: *expected,
                            current: Some(Box::new(old)),
                        }));
                    }
                }
                *revision += 1;
                self.overlay.stage_delete(key, *revision);
                let kv = KeyValue {
                    mod_revision: *revision,
                    ..old.clone()
                };
                let event = WatchEvent {
                    kind: EventKind::Delete,
                    kv: kv.clone(),
                    prev: Some(old),
                };
                Outcome::Written(kv, event)
            }
            Op::Compact { revision: target } => {
                if *target > *revision {
                    return Ok(Outcome::Refused(StoreError::FutureRevision {
                        requested: *target,
                        current: *revision,
                    }));
                }
                if *target <= self.compacted {
                    return Ok(Outcome::Refused(StoreError::Compacted {
                        requested: *target,
                        compacted: self.compacted,
                    }));
                }
                Outcome::CompactStarted(*target)
            }
        })
    }
}

/// The owner of the only writing connection: applies durable batches to SQLite behind the
/// writer, several at a time in one transaction, and runs compaction and WAL upkeep between
/// them.
struct Applier {
    /// The highest revision a reader or the writer has waited for (see [`Hurry`]).
    wanted: Arc<AtomicI64>,
    stats: Arc<StatCells>,
    conn: Connection,
    applied: watch::Sender<Applied>,
    compaction: Option<Compaction>,
    checkpointer: Option<Checkpointer>,
    /// The checkpointer pass count when the current log cycle was started.
    cycle: Option<u64>,
    /// Records committed since the WAL length was last checked.
    unchecked: usize,
    broken: bool,
}

impl Applier {
    fn run(mut self, rx: std::sync::mpsc::Receiver<ApplyMsg>) {
        use std::sync::mpsc::TryRecvError;
        loop {
            let first = if self.compaction.is_some() {
                match rx.try_recv() {
                    Ok(msg) => msg,
                    Err(TryRecvError::Empty) => {
                        self.compact_step();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                }
            };
            let msgs = self.gather(first, &rx);
            let written = self.apply(msgs);
            self.cycle_wal(written);
            if self.compaction.is_some() {
                self.compact_step();
            }
        }
        if let Some(c) = self.compaction.take() {
            for w in c.waiters {
                answer(w, Err(StoreError::Closed));
            }
        }
        if let Some(checkpointer) = self.checkpointer.take() {
            checkpointer.stop();
        }
    }

    /// Collects the messages to apply in one transaction, starting with `first`. Unless
    /// someone waits for them, records are gathered for up to [`APPLY_GATHER`]: a transaction
    /// of many writes rewrites each page it touches once, where one transaction per write
    /// would append every touched page to the WAL again for each write (and copy it again at
    /// the next checkpoint). The writes are durable in the commit log already, and readers
    /// and watchers never wait for the gathering: a read that needs an unapplied revision
    /// asks for it and the applier applies at once.
    fn gather(
        &mut self,
        first: ApplyMsg,
        rx: &std::sync::mpsc::Receiver<ApplyMsg>,
    ) -> Vec<ApplyMsg> {
        use std::sync::mpsc::TryRecvError;
        let deadline = Instant::now() + APPLY_GATHER;
        let mut msgs = Vec::new();
        let mut records = 0;
        let mut urgent = false;
        let mut next = Some(first);
        loop {
            if let Some(msg) = next.take() {
                match &msg {
                    ApplyMsg::Records(r) => records += r.len(),
                    ApplyMsg::Compact(..) => urgent = true,
                }
                msgs.push(msg);
            }
            // Messages taken out of the queue make room for the writer; the transaction's size
            // is bounded by its records.
            if records >= MAX_APPLY {
                break;
            }
            match rx.try_recv() {
                Ok(msg) => {
                    next = Some(msg);
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {}
            }
            // Someone waits for a revision not applied yet.
            let applied = self.applied.borrow().revision;
            let wanted = self.wanted.load(Ordering::Acquire);
            if urgent || wanted > applied || self.compaction.is_some() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            // Parked rather than blocked on the queue, so the writer's sends do not wake this
            // thread for every batch; `Hurry::ask` unparks it.
            std::thread::park_timeout(deadline - now);
        }
        msgs
    }

    /// Applies queued messages in one transaction; returns how many records it wrote.
    fn apply(&mut self, msgs: Vec<ApplyMsg>) -> usize {
        if self.broken {
            for msg in msgs {
                if let ApplyMsg::Compact(_, reply) = msg {
                    answer(reply, Err(StoreError::Closed));
                }
            }
            return 0;
        }
        let started = Instant::now();
        let mut last = None;
        let mut written = 0;
        let result = (|| -> rusqlite::Result<Instant> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for msg in &msgs {
                match msg {
                    ApplyMsg::Records(records) => {
                        for r in records {
                            apply_record(&tx, r)?;
                            last = Some(r.rev);
                            written += 1;
                        }
                    }
                    ApplyMsg::Compact(target, _) => {
                        tx.execute(
                            "UPDATE meta SET value = max(value, ?1) WHERE name = 'compacted'",
                            [*target],
                        )?;
                    }
                }
            }
            let applied = Instant::now();
            tx.commit()?;
            Ok(applied)
        })();
        match result {
            Ok(applied) => {
                self.stats.add(Stat::Apply, nanos(applied - started));
                self.stats.add_since(Stat::Commit, applied);
                self.stats.add(Stat::Transactions, 1);
                if let Some(last) = last {
                    self.applied.send_modify(|a| a.revision = last);
                }
                for msg in msgs {
                    if let ApplyMsg::Compact(target, reply) = msg {
                        self.start_compaction(target, reply);
                    }
                }
            }
            Err(e) => {
                let why = format!("store write failed, reopen the store: sqlite: {e}");
                tracing::error!(error = %e, "applying durable writes to SQLite failed");
                self.broken = true;
                self.applied.send_modify(|a| a.broken = Some(why.clone()));
                for msg in msgs {
                    if let ApplyMsg::Compact(_, reply) = msg {
                        answer(reply, Err(StoreError::Backend(why.clone())));
                    }
                }
                if let Some(c) = self.compaction.take() {
                    for w in c.waiters {
                        answer(w, Err(StoreError::Backend(why.clone())));
                    }
                }
            }
        }
        written
    }

    /// Keeps the WAL short and reused. SQLite starts the log over only when a write transaction
    /// begins with every frame already copied into the database, which a background checkpoint
    /// never achieves while writes keep coming. So once the log holds `WAL_CYCLE_FRAMES`, the
    /// checkpointer copies the bulk, then the applier (idle between transactions) copies the few
    /// frames committed meanwhile; the next commit then overwrites the log from its start.
    fn cycle_wal(&mut self, written: usize) {
        let Some(checkpointer) = &self.checkpointer else {
            return;
        };
        match self.cycle {
            None => {
                // Asking SQLite for the log length costs a statement parse, so ask only every
                // few requests; the log overshoots the cycle length by at most that much.
                self.unchecked += written;
                if self.unchecked < WAL_CHECK_EVERY {
                    return;
                }
                self.unchecked = 0;
                let frames = self
                    .conn
                    .query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| r.get::<_, i64>(1))
                    .unwrap_or(0);
                if frames >= WAL_CYCLE_FRAMES {
                    self.cycle = Some(checkpointer.passes.done.load(Ordering::Acquire));
                    checkpointer.nudge();
                }
            }
            Some(started) => {
                if checkpointer.passes.done.load(Ordering::Acquire) > started {
                    // A reader still using old frames can keep the copy short; then the log
                    // simply grows until the next cycle.
                    if let Err(e) = checkpoint(&self.conn, &self.stats, &mut (0, 0), false) {
                        tracing::warn!(error = %e, "checkpoint failed; will retry");
                    }
                    self.cycle = None;
                }
            }
        }
    }

    fn start_compaction(&mut self, target: Revision, reply: oneshot::Sender<Reply>) {
        match &mut self.compaction {
            Some(c) => {
                c.target = c.target.max(target);
                c.waiters.push(reply);
            }
            None => {
                self.compaction = Some(Compaction {
                    target,
                    done_up_to: 0,
                    waiters: vec![reply],
                })
            }
        }
    }

    /// Deletes one small batch of superseded history; finishes the compaction when none is left.
    fn compact_step(&mut self) {
        let Some(c) = &mut self.compaction else {
            return;
        };
        let target = c.target;
        let lo = c.done_up_to;
        let hi = (lo + COMPACT_STEP).min(target - 1);
        let result = (|| -> rusqlite::Result<()> {
            if hi > lo {
                // A row is superseded when a newer row of the same key exists at or below the
                // target. Rows are visited in revision order, so a deletion row is only removed
                // after every older row of its key is gone.
                self.conn.execute(
                    "DELETE FROM log WHERE rev > ?1 AND rev <= ?2 AND (deleted = 1 OR EXISTS (
                        SELECT 1 FROM log AS newer WHERE newer.key = log.key
                        AND newer.rev > log.rev AND newer.rev <= ?3))",
                    params![lo, hi, target],
                )?;
                incremental_vacuum(&self.conn, 256)?;
            }
            Ok(())
        })();
        match result {
            Ok(()) if hi > lo => c.done_up_to = hi,
            Ok(()) => {
                let finished = self.compaction.take();
                let outcome = incremental_vacuum(&self.conn, 0)
                    .and_then(|()| truncate_wal(&self.conn))
                    .map_err(StoreError::from);
                for w in finished.map(|c| c.waiters).unwrap_or_default() {
                    answer(w, outcome.as_ref().map(|_| empty_kv()).map_err(clone_err));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "compaction step failed");
                if let Some(c) = self.compaction.take() {
                    for w in c.waiters {
                        answer(w, Err(StoreError::Backend(format!("sqlite: {e}"))));
                    }
                }
            }
        }
    }
}

/// Copies the whole WAL into the database and truncates both, so freed pages go back to the
/// file system. Another checkpoint in progress (the checkpointer's) makes SQLite skip this
/// one, reporting it busy rather than waiting, so it is tried again for up to a second;
/// readers still using old frames are waited for by SQLite's own busy timeout.
fn truncate_wal(conn: &Connection) -> rusqlite::Result<()> {
    for _ in 0..100 {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    tracing::warn!("the WAL stayed busy; its space is returned at a later checkpoint");
    Ok(())
}

/// Returns up to `pages` free pages to the file system (all of them when `pages` is 0).
/// SQLite frees one page per step of the pragma, so every row must be read.
fn incremental_vacuum(conn: &Connection, pages: i64) -> rusqlite::Result<()> {
    // Pragmas take no bound parameters; `pages` is a number this module chose.
    let sql = if pages > 0 {
        format!("PRAGMA incremental_vacuum({pages})")
    } else {
        "PRAGMA incremental_vacuum".to_owned()
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Answers a caller; it may have gone away, which is not the writer's concern.
fn answer(reply: oneshot::Sender<Reply>, result: Result<KeyValue>) {
    let _ = reply.send((result, Instant::now()));
}

fn empty_kv() -> KeyValue {
    KeyValue {
        key: String::new(),
        value: Vec::new(),
        create_revision: 0,
        mod_revision: 0,
    }
}

fn clone_err(e: &StoreError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The current value of `key`, if it exists.
fn newest(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached(NEWEST)?
        .query_row([key.as_bytes()], |r| {
            Ok(KeyValue {
                key: key.to_owned(),
                value: r.get(0)?,
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
            })
        })
        .optional()
}

/// Reads the current revision and the compacted revision inside the caller's read transaction.
fn revisions(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<(Revision, Revision)> {
    let current: Option<Revision> = tx.query_row("SELECT max(rev) FROM log", [], |r| r.get(0))?;
    let compacted: Revision =
        tx.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| {
            r.get(0)
        })?;
    Ok((current.unwrap_or(0), compacted))
}

fn range_in(conn: &mut Connection, req: &RangeRequest) -> Result<RangeResult> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let (current, compacted) = revisions(&tx)?;
    let revision = if req.revision == 0 {
        current
    } else {
        req.revision
    };
    if revision > current {
        return Err(StoreError::FutureRevision {
            requested: revision,
            current,
        });
    }
    if revision < compacted {
        return Err(StoreError::Compacted {
            requested: revision,
            compacted,
        });
    }
    let lo: Vec<u8> = match &req.start_after {
        Some(after) if after.as_str() >= req.prefix.as_str() => {
            let mut k = after.as_bytes().to_vec();
            k.push(0);
            k
        }
        _ => req.prefix.as_bytes().to_vec(),
    };
    let hi = prefix_end(req.prefix.as_bytes()).unwrap_or_else(|| vec![0xff; 1024]);
    let limit: i64 = if req.limit == 0 {
        -1
    } else {
        req.limit as i64 + 1
    };
    let mut stmt;
    let mut rows = if revision == current {
        stmt = tx.prepare_cached(RANGE_CURRENT)?;
        stmt.query(params![lo, hi, limit])?
    } else {
        stmt = tx.prepare_cached(RANGE)?;
        stmt.query(params![lo, hi, revision, limit])?
    };
    let mut kvs: Vec<KeyValue> = Vec::new();
    let mut sorted = true;
    while let Some(r) = rows.next()? {
        let kv = KeyValue {
            key: key_string(r.get(0)?)?,
            value: r.get(1)?,
            create_revision: r.get(2)?,
            mod_revision: r.get(3)?,
        };
        sorted &= kvs.last().is_none_or(|last| last.key < kv.key);
        kvs.push(kv);
    }
    if !sorted {
        // Never expected (see RANGE), but key order is part of the contract.
        kvs.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let more = req.limit != 0 && kvs.len() > req.limit;
    if more {
        kvs.truncate(req.limit);
    }
    Ok(RangeResult {
        kvs,
        more,
        revision,
    })
}

/// The changes under a prefix in `(after, upto]`, oldest first.
fn history(
    conn: &mut Connection,
    prefix: &str,
    after: Revision,
    upto: Revision,
) -> Result<Vec<WatchEvent>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let (_, compacted) = revisions(&tx)?;
    if after + 1 < compacted {
        return Err(StoreError::Compacted {
            requested: after,
            compacted,
        });
    }
    if upto <= after {
        return Ok(Vec::new());
    }
    let lo = prefix.as_bytes().to_vec();
    let hi = prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0xff; 1024]);
    let mut stmt = tx.prepare_cached(
        "SELECT l.rev, l.key, l.value, l.create_rev, l.deleted, p.value, p.create_rev, p.rev
         FROM log AS l LEFT JOIN log AS p ON p.rev = l.prev_rev AND l.prev_rev > 0
         WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4 ORDER BY l.rev",
    )?;
    let rows = stmt.query_map(params![after, upto, lo, hi], |r| {
        let key = key_string(r.get(1)?)?;
        let kv = KeyValue {
            key: key.clone(),
            value: r.get(2)?,
            create_revision: r.get(3)?,
            mod_revision: r.get(0)?,
        };
        let deleted = r.get::<_, i64>(4)? != 0;
        let prev = match r.get::<_, Option<Vec<u8>>>(5)? {
            Some(value) => Some(KeyValue {
                key,
                value,
                create_revision: r.get(6)?,
                mod_revision: r.get(7)?,
            }),
            None => None,
        };
        Ok(WatchEvent {
            kind: if deleted {
                EventKind::Delete
            } else {
                EventKind::Put
            },
            kv,
            prev,
        })
    })?;
    let mut events = Vec::new();
    for row in rows {
        events.push(row?);
    }
    Ok(events)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.write(Op::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: Revision,
    ) -> Result<KeyValue> {
        self.write(Op::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<Revision>) -> Result<KeyValue> {
        self.write(Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)> {
        let key = key.to_owned();
        self.read(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let kv = newest(&tx, &key)?;
            let (current, _) = revisions(&tx)?;
            Ok((kv, current))
        })
        .await
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResult> {
        self.read(move |conn| range_in(conn, &request)).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch> {
        let sub = self.hub.subscribe(prefix)?;
        let upto = sub.committed;
        let owned_prefix = prefix.to_owned();
        let events = self
            .read_from(upto, move |conn| history(conn, &owned_prefix, after, upto))
            .await?;
        Ok(Watch::new(Box::new(HubWatch::new(sub, events, after))))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self.write(Op::Compact { revision }).await {
            Ok(_) => Ok(()),
            // Compacting at or below an earlier compaction has nothing left to do.
            Err(StoreError::Compacted { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.hub.committed())
    }

    async fn health(&self) -> Result<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::{SqliteStore, PAGE_SIZE, RANGE, SCHEMA};
    use crate::Store;
    use rusqlite::Connection;

    #[tokio::test]
    async fn a_new_store_has_large_pages_and_values_stay_inline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..50 {
            store
                .create(&format!("/registry/pods/default/p{i:03}"), vec![b'v'; 1536])
                .await
                .unwrap();
        }
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let page: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(page, PAGE_SIZE);
        let vacuum: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap();
        assert_eq!(vacuum, 2, "incremental auto-vacuum");
        // 50 rows of 1.5 KB in `current` and `log` fit in a few dozen pages when they stay
        // inline; one overflow page per row would take more than 100.
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        assert!(pages < 60, "{pages} pages");
    }

    #[test]
    fn range_plan_streams() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {RANGE}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([1, 2, 3, 4], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("CO-ROUTINE"), "{plan}");
        assert!(
            !plan.contains("TEMP B-TREE") && !plan.contains("MATERIALIZE"),
            "{plan}"
        );
    }
}
