//! Store benchmarks: every backend measured in one run on the same machine.
//!
//! `cargo bench -p berth-store --bench store` prints a Markdown table for docs/BENCHMARKS.md:
//! the machine's fsync rate (measured once at the start, and again in rounds that alternate
//! with the SQLite sequential writes), sequential durable writes/s, writes/s with 32 concurrent writers, get latency, the
//! time to range 10 000 keys of 1.5 KB, and watch delivery latency to 1 000 watchers, for the
//! SQLite, etcd and memory backends, with the SQLite targets checked and the SQLite/etcd ratio.
//! For the SQLite backend it also prints where a sequential write's time went. The etcd backend runs against a real local etcd started for the run
//! (Debian's etcd-server); it is skipped with a note if etcd is not installed.
//!
//! `BERTH_BENCH_QUICK=1` shrinks every workload for a smoke run; `BERTH_BENCH_ONLY=sqlite`
//! measures the SQLite backend alone (while tuning it).
//!
//! The benchmark re-runs itself with glibc's heap trimming effectively off. Each range returns
//! about 15 MB of values; with the default trim threshold, dropping that result hands the pages
//! back to the kernel and the next range faults in and zeroes ~4 000 fresh pages. On a VM that
//! costs 5 to 20 ms per range for every backend alike (the memory backend, which only clones,
//! spent most of its range time there), so it measured the kernel rather than the store. A
//! long-running API server serving LISTs keeps its heap warm the same way. Nothing else about
//! the process changes, and the fsync probe is untouched.

/// The allocator every Berth binary uses, so values are allocated as in the API server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use berth_store::etcd::EtcdStore;
use berth_store::etcd_server::EtcdServer;
use berth_store::memory::MemoryStore;
use berth_store::sqlite::{SqliteStore, WriterStats};
use berth_store::{DynStore, RangeRequest};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

const VALUE_SIZE: usize = 1536;

struct Sizes {
    sequential: usize,
    concurrent: usize,
    gets: usize,
    range_keys: usize,
    watchers: usize,
    watch_writes: usize,
}

impl Sizes {
    fn new() -> Self {
        if std::env::var_os("BERTH_BENCH_QUICK").is_some() {
            Sizes {
                sequential: 200,
                concurrent: 2_000,
                gets: 500,
                range_keys: 1_000,
                watchers: 100,
                watch_writes: 20,
            }
        } else {
            Sizes {
                sequential: 2_000,
                concurrent: 32_000,
                gets: 5_000,
                range_keys: 10_000,
                watchers: 1_000,
                watch_writes: 100,
            }
        }
    }
}

#[derive(Default, Clone)]
struct Results {
    sequential_per_s: f64,
    concurrent_per_s: f64,
    get_p50_us: f64,
    get_p99_us: f64,
    range_ms: f64,
    watch_p50_ms: f64,
    watch_p99_ms: f64,
    /// The embedded store's account of where sequential writes spent their time.
    sequential_breakdown: Option<WriterStats>,
    /// The fsync probe's rate in the rounds alternating with the sequential writes.
    fsync_interleaved: Option<f64>,
    /// Medians (µs) of one sequential write and, in the alternating rounds, of one probe sync.
    sequential_p50_us: f64,
    fsync_p50_us: Option<f64>,
    /// The embedded store's statistics over the probe's rounds (its background work then).
    during_probe: Option<WriterStats>,
    /// Time the sequential writes waited, before probe rounds, for checkpoints to finish
    /// (counted in the store's time).
    checkpoint_wait_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn value(tag: u64) -> Vec<u8> {
    let mut v = format!("{tag:020}").into_bytes();
    v.resize(VALUE_SIZE, b'x');
    v
}

/// The fsync probe: one 4 KiB block written with `pwrite` and made durable with `fdatasync`,
/// over and over, each block after the previous one in a 16 MiB file laid out (written with
/// zeros and synced) beforehand and then overwritten cyclically. That is a small durable
/// append as a log writer does it, in the cheapest form the disk offers: a sync never has to
/// persist a change of size or of allocated extents. Its rate is the ceiling for any durable
/// one-at-a-time writer on this disk, and the base of the sequential-write target.
struct FsyncProbe {
    file: std::fs::File,
    path: std::path::PathBuf,
    block: Vec<u8>,
    next: u64,
}

impl FsyncProbe {
    const SPAN: u64 = 16 << 20;

    fn new(dir: &std::path::Path) -> std::io::Result<Self> {
        let path = dir.join("fsync-probe");
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&vec![0u8; Self::SPAN as usize])?;
        file.sync_all()?;
        Ok(FsyncProbe {
            file,
            path,
            block: vec![7u8; 4096],
            next: 0,
        })
    }

    /// One durable block write.
    fn sync_one(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(&self.block, (self.next * 4096) % Self::SPAN)?;
        self.file.sync_data()?;
        self.next += 1;
        Ok(())
    }

    /// Durable block writes for `time`; returns how many and how long they took.
    fn run_for(&mut self, time: Duration) -> std::io::Result<(u64, Duration)> {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < time {
            self.sync_one()?;
            n += 1;
        }
        Ok((n, start.elapsed()))
    }

    /// `n` durable block writes, each one's time (µs) pushed to `each`; returns how long they
    /// took together.
    fn run_n(&mut self, n: u64, each: &mut Vec<f64>) -> std::io::Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            self.sync_one()?;
            each.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok(start.elapsed())
    }
}

impl Drop for FsyncProbe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The probe's rate over two seconds.
fn fsync_rate(dir: &std::path::Path) -> f64 {
    FsyncProbe::new(dir)
        .and_then(|mut p| p.run_for(Duration::from_secs(2)))
        .map(|(n, t)| n as f64 / t.as_secs_f64())
        .unwrap_or_else(|e| {
            eprintln!("fsync probe: {e}");
            f64::NAN
        })
}

/// Rounds the sequential writes are split into when the fsync probe alternates with them.
const SEQUENTIAL_ROUNDS: usize = 10;

/// Reads an embedded store's writer statistics.
type StatsProbe = Option<Arc<SqliteStore>>;

/// Measures `store`. With `probe_dir`, the sequential writes run in rounds, each after as many
/// fsync-probe writes, so a disk whose speed drifts (a shared machine) is compared with itself
/// over the same minutes; the store is idle while the probe runs: SQLite has caught up, and a
/// checkpoint the writes made due has finished (waiting for it counts as the store's time).
async fn run(
    store: DynStore,
    stats: StatsProbe,
    probe_dir: Option<&std::path::Path>,
    sizes: &Sizes,
) -> Results {
    let mut out = Results::default();

    // Sequential durable writes.
    let mut probe = probe_dir.map(|dir| FsyncProbe::new(dir).expect("fsync probe file"));
    let rounds = if probe.is_some() {
        SEQUENTIAL_ROUNDS
    } else {
        1
    };
    let per_round = sizes.sequential / rounds;
    let mut written = Duration::ZERO;
    let mut probed = Duration::ZERO;
    let mut stats_total = WriterStats::default();
    let mut during_probe = WriterStats::default();
    let mut each_write = Vec::with_capacity(sizes.sequential);
    let mut each_sync = Vec::new();
    for round in 0..rounds {
        if let Some(probe) = &mut probe {
            if round > 0 {
                // Wait until SQLite holds the previous round, so the probe runs alone.
                let last = format!("/bench/seq/{:08}", round * per_round - 1);
                store.get(&last).await.expect("get");
                // A checkpoint the writes made due syncs SQLite's files: disk work caused by
                // the store, so the store's time includes waiting for it, and the probe then
                // runs with the disk to itself.
                if let Some(s) = &stats {
                    let before = s.writer_stats();
                    let start = Instant::now();
                    while s.checkpoint_pending() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let waited = start.elapsed();
                    written += waited;
                    out.checkpoint_wait_ms += waited.as_secs_f64() * 1e3;
                    stats_total = plus(stats_total, minus(s.writer_stats(), before));
                }
            }
            let before = stats.as_ref().map(|s| s.writer_stats());
            probed += probe
                .run_n(per_round as u64, &mut each_sync)
                .expect("fsync probe");
            if let (Some(s), Some(before)) = (&stats, before) {
                during_probe = plus(during_probe, minus(s.writer_stats(), before));
            }
        }
        let before = stats.as_ref().map(|s| s.writer_stats());
        let start = Instant::now();
        for i in round * per_round..(round + 1) * per_round {
            let t = Instant::now();
            store
                .create(&format!("/bench/seq/{i:08}"), value(i as u64))
                .await
                .expect("create");
            each_write.push(t.elapsed().as_secs_f64() * 1e6);
        }
        written += start.elapsed();
        if let (Some(s), Some(before)) = (&stats, before) {
            stats_total = plus(stats_total, minus(s.writer_stats(), before));
        }
    }
    out.sequential_per_s = (per_round * rounds) as f64 / written.as_secs_f64();
    each_write.sort_by(f64::total_cmp);
    out.sequential_p50_us = percentile(&each_write, 0.5);
    if stats.is_some() {
        out.sequential_breakdown = Some(stats_total);
    }
    if probe.is_some() {
        out.fsync_interleaved = Some((per_round * rounds) as f64 / probed.as_secs_f64());
        each_sync.sort_by(f64::total_cmp);
        out.fsync_p50_us = Some(percentile(&each_sync, 0.5));
        if stats.is_some() {
            out.during_probe = Some(during_probe);
        }
    }
    drop(probe);

    // 32 concurrent writers.
    let per_writer = sizes.concurrent / 32;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                store
                    .create(&format!("/bench/conc/{w:02}/{i:08}"), value(i as u64))
                    .await
                    .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    out.concurrent_per_s = (per_writer * 32) as f64 / start.elapsed().as_secs_f64();

    // Get latency over the keys written above.
    let mut lat = Vec::with_capacity(sizes.gets);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..sizes.gets {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % sizes.sequential as u64) as usize;
        let t = Instant::now();
        let (kv, _) = store.get(&format!("/bench/seq/{i:08}")).await.expect("get");
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(kv.is_some());
    }
    lat.sort_by(f64::total_cmp);
    out.get_p50_us = percentile(&lat, 0.5);
    out.get_p99_us = percentile(&lat, 0.99);

    // Range of many 1.5 KB keys.
    let per_writer = sizes.range_keys / 32;
    let mut tasks = Vec::new();
    for w in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                store
                    .create(&format!("/bench/range/{w:02}/{i:08}"), value(i as u64))
                    .await
                    .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let r = store
            .range(RangeRequest::prefix("/bench/range/"))
            .await
            .expect("range");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.kvs.len(), per_writer * 32);
    }
    times.sort_by(f64::total_cmp);
    out.range_ms = percentile(&times, 0.5);

    // Watch delivery to many watchers: time from the start of a write to its arrival.
    let base = Instant::now();
    let from = store.current_revision().await.expect("revision");
    let mut watchers = Vec::new();
    for _ in 0..sizes.watchers {
        let mut watch = store.watch("/bench/watch/", from).await.expect("watch");
        let writes = sizes.watch_writes;
        watchers.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(writes);
            for _ in 0..writes {
                let event = match tokio::time::timeout(Duration::from_secs(60), watch.next()).await
                {
                    Ok(Some(Ok(event))) => event,
                    _ => break,
                };
                let arrived = base.elapsed().as_nanos() as u64;
                let sent: u64 = std::str::from_utf8(&event.kv.value[..20])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(arrived);
                samples.push(arrived.saturating_sub(sent) as f64 / 1e6);
            }
            samples
        }));
    }
    for i in 0..sizes.watch_writes {
        let sent = base.elapsed().as_nanos() as u64;
        store
            .create(&format!("/bench/watch/{i:08}"), value(sent))
            .await
            .expect("create");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = Vec::new();
    for w in watchers {
        samples.extend(w.await.expect("watcher task"));
    }
    let expected = sizes.watchers * sizes.watch_writes;
    if samples.len() != expected {
        eprintln!(
            "warning: {} of {expected} watch events arrived",
            samples.len()
        );
    }
    samples.sort_by(f64::total_cmp);
    out.watch_p50_ms = percentile(&samples, 0.5);
    out.watch_p99_ms = percentile(&samples, 0.99);
    out
}

fn plus(a: WriterStats, b: WriterStats) -> WriterStats {
    WriterStats {
        writes: a.writes + b.writes,
        batches: a.batches + b.batches,
        queue_ns: a.queue_ns + b.queue_ns,
        check_ns: a.check_ns + b.check_ns,
        log_write_ns: a.log_write_ns + b.log_write_ns,
        log_sync_ns: a.log_sync_ns + b.log_sync_ns,
        publish_ns: a.publish_ns + b.publish_ns,
        resume_ns: a.resume_ns + b.resume_ns,
        transactions: a.transactions + b.transactions,
        apply_ns: a.apply_ns + b.apply_ns,
        commit_ns: a.commit_ns + b.commit_ns,
        checkpoints: a.checkpoints + b.checkpoints,
        checkpoint_ns: a.checkpoint_ns + b.checkpoint_ns,
    }
}

fn minus(a: WriterStats, b: WriterStats) -> WriterStats {
    WriterStats {
        writes: a.writes - b.writes,
        batches: a.batches - b.batches,
        queue_ns: a.queue_ns - b.queue_ns,
        check_ns: a.check_ns - b.check_ns,
        log_write_ns: a.log_write_ns - b.log_write_ns,
        log_sync_ns: a.log_sync_ns - b.log_sync_ns,
        publish_ns: a.publish_ns - b.publish_ns,
        resume_ns: a.resume_ns - b.resume_ns,
        transactions: a.transactions - b.transactions,
        apply_ns: a.apply_ns - b.apply_ns,
        commit_ns: a.commit_ns - b.commit_ns,
        checkpoints: a.checkpoints - b.checkpoints,
        checkpoint_ns: a.checkpoint_ns - b.checkpoint_ns,
    }
}

/// Tells the re-run benchmark apart from the first start.
const TUNED: &str = "BERTH_BENCH_HEAP_TUNED";

fn main() {
    if std::env::var_os(TUNED).is_none() {
        // glibc reads its tunables once at startup, so they are set for a fresh process.
        let exe = std::env::current_exe().expect("benchmark executable");
        let mut tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if !tunables.is_empty() {
            tunables.push(':');
        }
        tunables.push_str("glibc.malloc.trim_threshold=1073741824");
        let status = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(TUNED, "1")
            .env("GLIBC_TUNABLES", tunables)
            .status()
            .expect("re-run the benchmark");
        std::process::exit(status.code().unwrap_or(1));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async_main());
}

async fn async_main() {
    let sizes = Sizes::new();
    let dir = tempfile::tempdir().expect("temp dir");
    eprintln!("measuring the fsync rate ...");
    let fsync = fsync_rate(dir.path());

    eprintln!("sqlite ...");
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("open sqlite"));
    let sqlite_r = run(sqlite.clone(), Some(sqlite), Some(dir.path()), &sizes).await;

    let only_sqlite = std::env::var("BERTH_BENCH_ONLY").is_ok_and(|v| v == "sqlite");
    eprintln!("etcd ...");
    let etcd_r = match if only_sqlite {
        Err("not asked for".to_string())
    } else {
        EtcdServer::start().await.map_err(|e| e.to_string())
    } {
        Ok(server) => {
            let store: DynStore = Arc::new(
                EtcdStore::connect(&[server.endpoint()])
                    .await
                    .expect("connect etcd"),
            );
            let r = run(store, None, None, &sizes).await;
            drop(server);
            Some(r)
        }
        Err(e) => {
            eprintln!("etcd skipped: {e}");
            None
        }
    };

    eprintln!("memory ...");
    let memory_r = run(Arc::new(MemoryStore::new()), None, None, &sizes).await;

    report(fsync, &sizes, &sqlite_r, etcd_r.as_ref(), &memory_r);
}

/// One line of the report: name, measure, target text and the target check.
type Row = (
    &'static str,
    fn(&Results) -> f64,
    String,
    Box<dyn Fn(f64) -> bool>,
);

fn report(before: f64, sizes: &Sizes, s: &Results, e: Option<&Results>, m: &Results) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    // The sequential target is taken against the probe rounds alternating with the writes.
    let fsync = s.fsync_interleaved.unwrap_or(before);
    println!(
        "Machine: {cpus} CPUs; fsync rate of the data disk: {before:.0}/s at the start, \
         {fsync:.0}/s in the rounds alternating with the SQLite sequential writes"
    );
    println!();
    println!(
        "| measure | sqlite | etcd | memory | sqlite / etcd | sqlite target | sqlite meets it |"
    );
    println!("|---|---|---|---|---|---|---|");
    let e_or = |f: fn(&Results) -> f64| e.map(f).unwrap_or(f64::NAN);
    let rows: [Row; 7] = [
        (
            "sequential durable writes/s",
            |r| r.sequential_per_s,
            format!(">= {:.0} (90 % of the alternating fsync rate)", 0.9 * fsync),
            Box::new(move |v| v >= 0.9 * fsync),
        ),
        (
            "writes/s, 32 concurrent writers",
            |r| r.concurrent_per_s,
            ">= 10000".into(),
            Box::new(|v| v >= 10_000.0),
        ),
        (
            "get p50 (µs)",
            |r| r.get_p50_us,
            "-".into(),
            Box::new(|_| true),
        ),
        (
            "get p99 (µs)",
            |r| r.get_p99_us,
            "-".into(),
            Box::new(|_| true),
        ),
        (
            "range of 10 000 keys of 1.5 KB (ms)",
            |r| r.range_ms,
            "<= 20".into(),
            Box::new(|v| v <= 20.0),
        ),
        (
            "watch delivery p50, 1 000 watchers (ms)",
            |r| r.watch_p50_ms,
            "-".into(),
            Box::new(|_| true),
        ),
        (
            "watch delivery p99, 1 000 watchers (ms)",
            |r| r.watch_p99_ms,
            "<= 20".into(),
            Box::new(|v| v <= 20.0),
        ),
    ];
    for (name, get, target, ok) in rows {
        let (sv, ev, mv) = (get(s), e_or(get), get(m));
        let verdict = if target == "-" {
            "-"
        } else if ok(sv) {
            "yes"
        } else {
            "NO"
        };
        println!(
            "| {name} | {} | {} | {} | {} | {target} | {verdict} |",
            fmt(sv),
            fmt(ev),
            fmt(mv),
            if ev.is_nan() {
                "-".into()
            } else {
                format!("{:.2}", sv / ev)
            }
        );
    }
    if let Some(b) = &s.sequential_breakdown {
        let per = |ns: u64| ns as f64 / 1e3 / b.writes.max(1) as f64;
        println!();
        println!(
            "SQLite sequential write, µs per write ({} writes in {} batches): queue {:.1}, \
             check {:.1}, log write {:.1}, log fdatasync {:.1}, publish and answer {:.1}, \
             resume {:.1}; behind the answer, in {} SQLite transactions: apply {:.1}, \
             commit {:.1}; fsync probe {:.1} per sync",
            b.writes,
            b.batches,
            per(b.queue_ns),
            per(b.check_ns),
            per(b.log_write_ns),
            per(b.log_sync_ns),
            per(b.publish_ns),
            per(b.resume_ns),
            b.transactions,
            per(b.apply_ns),
            per(b.commit_ns),
            1e6 / fsync,
        );
        if let (Some(p50), Some(quiet)) = (s.fsync_p50_us, &s.during_probe) {
            println!();
            println!(
                "Medians: a sequential write {:.1} µs, a probe sync {p50:.1} µs ({:.0} %). \
                 SQLite checkpoints (each syncs the WAL and the database): {} taking {:.1} ms \
                 during the sequential writes, {} taking {:.1} ms during the probe's rounds; \
                 the writes' time includes {:.1} ms of waiting for checkpoints to finish \
                 before probe rounds.",
                s.sequential_p50_us,
                100.0 * p50 / s.sequential_p50_us,
                b.checkpoints,
                b.checkpoint_ns as f64 / 1e6,
                quiet.checkpoints,
                quiet.checkpoint_ns as f64 / 1e6,
                s.checkpoint_wait_ms,
            );
        }
    }
    println!();
    println!(
        "Workload: {} sequential writes, {} concurrent writes, {} gets, range of {} keys, {} watchers x {} writes; values of {VALUE_SIZE} bytes.",
        sizes.sequential, sizes.concurrent, sizes.gets, sizes.range_keys, sizes.watchers, sizes.watch_writes
    );
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
