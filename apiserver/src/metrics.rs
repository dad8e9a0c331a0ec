//! Prometheus metrics: request counts and latencies by verb, resource and code, open watches,
//! and store latency per operation (through [`TimedStore`], a decorator of the store).

use async_trait::async_trait;
use berth_store::{DynStore, KeyValue, RangeRequest, RangeResult, Revision, Store, Watch};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The steps of a create request, timed separately so that a slow create shows where its time
/// goes (`berth_apiserver_create_phase_seconds_total` and `..._count` in `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the request body.
    Body,
    /// Decoding the body and checking its fields.
    Decode,
    /// Namespace and pod priority admission.
    Admission,
    /// Defaulting, validation and managedFields.
    Prepare,
    /// The store's create, from the call to its answer.
    Store,
    /// Versioning the created object for the answer.
    Respond,
    /// Encoding the answer.
    Encode,
}

impl Phase {
    const ALL: [Phase; 7] = [
        Phase::Body,
        Phase::Decode,
        Phase::Admission,
        Phase::Prepare,
        Phase::Store,
        Phase::Respond,
        Phase::Encode,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Body => "body",
            Phase::Decode => "decode",
            Phase::Admission => "admission",
            Phase::Prepare => "prepare",
            Phase::Store => "store",
            Phase::Respond => "respond",
            Phase::Encode => "encode",
        }
    }
}

/// Nanoseconds and counts per create phase: two relaxed atomic adds per observation.
static PHASES: [(AtomicU64, AtomicU64); 7] = [
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
    (AtomicU64::new(0), AtomicU64::new(0)),
];

/// Records that `phase` of a create took from `since` to now; returns now, the start of the
/// next phase.
pub fn phase(phase: Phase, since: Instant) -> Instant {
    let now = Instant::now();
    let (nanos, count) = &PHASES[phase as usize];
    nanos.fetch_add(
        now.duration_since(since).as_nanos() as u64,
        Ordering::Relaxed,
    );
    count.fetch_add(1, Ordering::Relaxed);
    now
}

/// A metric family of the create phases: name, help text, and the value of phase `i`.
type PhaseFamily = (&'static str, &'static str, fn(usize) -> f64);

fn render_phases(out: &mut String) {
    let families: [PhaseFamily; 2] = [
        (
            "berth_apiserver_create_phase_seconds_total",
            "Time spent in each step of creates.",
            |i| PHASES[i].0.load(Ordering::Relaxed) as f64 / 1e9,
        ),
        (
            "berth_apiserver_create_phase_count",
            "Creates that went through each step.",
            |i| PHASES[i].1.load(Ordering::Relaxed) as f64,
        ),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for p in Phase::ALL {
            let _ = writeln!(
                out,
                "{name}{{phase=\"{}\"}} {}",
                p.name(),
                value(p as usize)
            );
        }
    }
}

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels},le=\"{bound}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// The server's metrics.
/// Reads the embedded store's writer statistics, when the store is the embedded one.
type WriterStatsFn = Box<dyn Fn() -> Option<berth_store::sqlite::WriterStats> + Send + Sync>;

#[derive(Default)]
pub struct Metrics {
    writer_stats: std::sync::OnceLock<WriterStatsFn>,
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    store: Mutex<BTreeMap<&'static str, Histogram>>,
    watches: AtomicI64,
}

/// Decrements the open-watch gauge when a watch stream ends.
pub struct WatchGuard(Arc<Metrics>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.watches.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// Records one finished request.
    pub fn request(&self, verb: &str, resource: &str, code: u16, seconds: f64) {
        lock(&self.requests)
            .entry((verb.to_owned(), resource.to_owned(), code))
            .or_default()
            .observe(seconds);
    }

    /// Counts an open watch until the guard is dropped.
    /// Where the embedded store's writer statistics come from (`berth_store_writer_*`).
    pub fn set_writer_stats(
        &self,
        f: impl Fn() -> Option<berth_store::sqlite::WriterStats> + Send + Sync + 'static,
    ) {
        let _ = self.writer_stats.set(Box::new(f));
    }

    pub fn watch_started(self: &Arc<Self>) -> WatchGuard {
        self.watches.fetch_add(1, Ordering::Relaxed);
        WatchGuard(self.clone())
    }

    fn store_op(&self, op: &'static str, seconds: f64) {
        lock(&self.store).entry(op).or_default().observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total Requests by verb, resource and HTTP code.\n");
        out.push_str("# TYPE apiserver_request_total counter\n");
        let requests = lock(&self.requests).clone();
        for ((verb, resource, code), h) in &requests {
            let _ = writeln!(
                out,
                "apiserver_request_total{{verb=\"{verb}\",resource=\"{resource}\",code=\"{code}\"}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP apiserver_request_duration_seconds Request latency by verb and resource.\n",
        );
        out.push_str("# TYPE apiserver_request_duration_seconds histogram\n");
        let mut by_verb: BTreeMap<(String, String), Histogram> = BTreeMap::new();
        for ((verb, resource, _), h) in &requests {
            let e = by_verb.entry((verb.clone(), resource.clone())).or_default();
            for i in 0..BUCKETS.len() {
                e.counts[i] += h.counts[i];
            }
            e.count += h.count;
            e.sum += h.sum;
        }
        for ((verb, resource), h) in &by_verb {
            h.render(
                &mut out,
                "apiserver_request_duration_seconds",
                &format!("verb=\"{verb}\",resource=\"{resource}\""),
            );
        }
        out.push_str("# HELP apiserver_longrunning_requests Open watch streams.\n");
        out.push_str("# TYPE apiserver_longrunning_requests gauge\n");
        let _ = writeln!(
            out,
            "apiserver_longrunning_requests{{verb=\"WATCH\"}} {}",
            self.watches.load(Ordering::Relaxed)
        );
        out.push_str("# HELP berth_store_operation_duration_seconds Store latency by operation.\n");
        out.push_str("# TYPE berth_store_operation_duration_seconds histogram\n");
        for (op, h) in lock(&self.store).iter() {
            h.render(
                &mut out,
                "berth_store_operation_duration_seconds",
                &format!("operation=\"{op}\""),
            );
        }
        render_phases(&mut out);
        if let Some(w) = self.writer_stats.get().and_then(|f| f()) {
            out.push_str("# HELP berth_store_writer_total The embedded store writer's counters: writes, batches, and seconds per phase summed over writes or batches.\n");
            out.push_str("# TYPE berth_store_writer_total counter\n");
            let secs = |ns: u64| ns as f64 / 1e9;
            for (name, value) in [
                ("writes", w.writes as f64),
                ("batches", w.batches as f64),
                ("queue_seconds", secs(w.queue_ns)),
                ("check_seconds", secs(w.check_ns)),
                ("log_write_seconds", secs(w.log_write_ns)),
                ("log_sync_seconds", secs(w.log_sync_ns)),
                ("publish_seconds", secs(w.publish_ns)),
                ("resume_seconds", secs(w.resume_ns)),
                ("transactions", w.transactions as f64),
                ("apply_seconds", secs(w.apply_ns)),
                ("commit_seconds", secs(w.commit_ns)),
            ] {
                let _ = writeln!(
                    out,
                    "berth_store_writer_total{{counter=\"{name}\"}} {value}"
                );
            }
        }
        out
    }
}

/// A store that records the latency of every call.
pub struct TimedStore {
    inner: DynStore,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    /// Wraps `inner`.
    pub fn new(inner: DynStore, metrics: Arc<Metrics>) -> Self {
        TimedStore { inner, metrics }
    }
}

macro_rules! timed {
    ($self:ident, $op:literal, $call:expr) => {{
        let started = Instant::now();
        let out = $call.await;
        $self.metrics.store_op($op, started.elapsed().as_secs_f64());
        out
    }};
}

#[async_trait]
impl Store for TimedStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> berth_store::Result<KeyValue> {
        timed!(self, "create", self.inner.create(key, value))
    }
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: Revision,
    ) -> berth_store::Result<KeyValue> {
        timed!(self, "update", self.inner.update(key, value, expected))
    }
    async fn delete(&self, key: &str, expected: Option<Revision>) -> berth_store::Result<KeyValue> {
        timed!(self, "delete", self.inner.delete(key, expected))
    }
    async fn get(&self, key: &str) -> berth_store::Result<(Option<KeyValue>, Revision)> {
        timed!(self, "get", self.inner.get(key))
    }
    async fn range(&self, request: RangeRequest) -> berth_store::Result<RangeResult> {
        timed!(self, "range", self.inner.range(request))
    }
    async fn watch(&self, prefix: &str, after: Revision) -> berth_store::Result<Watch> {
        timed!(self, "watch", self.inner.watch(prefix, after))
    }
    async fn compact(&self, revision: Revision) -> berth_store::Result<()> {
        timed!(self, "compact", self.inner.compact(revision))
    }
    async fn current_revision(&self) -> berth_store::Result<Revision> {
        self.inner.current_revision().await
    }
    async fn health(&self) -> berth_store::Result<()> {
        self.inner.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counts_and_buckets() {
        let m = Metrics::default();
        m.request("get", "pods", 200, 0.002);
        m.request("get", "pods", 404, 0.0001);
        m.store_op("get", 0.0003);
        let text = m.render();
        assert!(
            text.contains("apiserver_request_total{verb=\"get\",resource=\"pods\",code=\"200\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("apiserver_request_total{verb=\"get\",resource=\"pods\",code=\"404\"} 1")
        );
        assert!(text.contains("apiserver_request_duration_seconds_bucket{verb=\"get\",resource=\"pods\",le=\"0.0025\"} 2"));
        assert!(text.contains("apiserver_request_duration_seconds_bucket{verb=\"get\",resource=\"pods\",le=\"0.001\"} 1"));
        assert!(text.contains("berth_store_operation_duration_seconds_count{operation=\"get\"} 1"));
        assert!(text.contains("apiserver_longrunning_requests{verb=\"WATCH\"} 0"));
    }
}
