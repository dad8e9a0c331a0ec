//! API server benchmarks over HTTPS, for both stores in one run.
//!
//! `cargo bench -p berth-apiserver --bench apiserver` starts the real `berth-apiserver` binary
//! (embedded SQLite store, then a local etcd) and measures: start to `/readyz`; idle RSS;
//! creates/s with 1 and 32 concurrent clients; LIST of 10 000 pods as JSON and as a Table; RSS
//! with 10 000 pods; watch delivery latency to 1 000 watchers. It prints a Markdown table for
//! docs/BENCHMARKS.md. `BERTH_BENCH_QUICK=1` shrinks the workload; `BERTH_BENCH_PERF=creates` (or
//! `lists`) records a `perf` profile of the server during the 32-client creates (or the JSON
//! LISTs), which makes that phase's figures slower.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{bench_pod as pod, rss_kib, Client, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Sizes {
    sequential: usize,
    pods: usize,
    watchers: usize,
    watch_writes: usize,
}

#[derive(Default)]
struct Results {
    ready_ms: f64,
    idle_rss_mb: f64,
    creates_1: f64,
    creates_32: f64,
    list_json_ms: f64,
    list_table_ms: f64,
    rss_pods_mb: f64,
    watch_p50_ms: f64,
    watch_p99_ms: f64,
}

/// One line of the report: name, how to read it, the target, and whether a value meets it.
type Row = (
    &'static str,
    fn(&Results) -> f64,
    &'static str,
    fn(f64) -> bool,
);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

/// The encoded pod body around its name, so each create only joins three pieces: the
/// benchmark client should cost the shared CPUs as little as it can.
fn pod_template() -> (bytes::Bytes, bytes::Bytes) {
    const MARK: &str = "@NAME@";
    let whole = serde_json::to_string(&pod(MARK)).expect("encode");
    let (before, after) = whole.split_once(MARK).expect("the name is in the body");
    (
        bytes::Bytes::copy_from_slice(before.as_bytes()),
        bytes::Bytes::copy_from_slice(after.as_bytes()),
    )
}

async fn create_many(clients: &[Client], prefix: &str, n: usize, concurrency: usize) -> f64 {
    let (head, tail) = pod_template();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = clients[w % clients.len()].clone();
        let prefix = prefix.to_owned();
        let (head, tail) = (head.clone(), tail.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                let name = format!("{prefix}-{i}");
                let mut body = Vec::with_capacity(head.len() + name.len() + tail.len());
                body.extend_from_slice(&head);
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(&tail);
                let (status, text) = client
                    .send_encoded(Method::POST, "/api/v1/namespaces/default/pods", body.into())
                    .await
                    .expect("create");
                assert_eq!(
                    status,
                    StatusCode::CREATED,
                    "{}",
                    String::from_utf8_lossy(&text)
                );
                i += concurrency;
            }
        }));
    }
    for t in tasks {
        t.await.expect("create task");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

async fn list_ms(client: &Client, table: bool) -> f64 {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = if table {
            sender_table(client).await
        } else {
            client
                .send(Method::GET, "/api/v1/namespaces/default/pods", None)
                .await
                .expect("list")
        };
        assert_eq!(status, StatusCode::OK);
        assert!(body.len() > 1000);
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    eprintln!(
        "LIST {} times (ms): {:.1?}",
        if table { "Table" } else { "JSON" },
        times
    );
    times.sort_by(f64::total_cmp);
    percentile(&times, 0.5)
}

async fn sender_table(client: &Client) -> (StatusCode, bytes::Bytes) {
    // kubectl's Accept for human output.
    client
        .send_with_accept(
            Method::GET,
            "/api/v1/namespaces/default/pods",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .await
        .expect("table list")
}

async fn watch_latency(server: &Server, sizes: &Sizes) -> (f64, f64) {
    let base = Instant::now();
    let writer = server.client().await.expect("client");
    let (_, body) = writer
        .send(Method::GET, "/api/v1/namespaces/default/configmaps", None)
        .await
        .expect("list");
    let rv = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["metadata"]["resourceVersion"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // Spread the watchers over connections, as many clients would.
    let mut watchers = Vec::new();
    let per_conn = 100;
    let mut client = server.client().await.expect("client");
    for i in 0..sizes.watchers {
        if i % per_conn == 0 {
            client = server.client().await.expect("client");
        }
        let mut events = client
            .watch(&format!(
                "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
            ))
            .await
            .expect("watch");
        let writes = sizes.watch_writes;
        watchers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while samples.len() < writes {
                let Ok(Some(event)) =
                    tokio::time::timeout(Duration::from_secs(60), events.next()).await
                else {
                    break;
                };
                let arrived = base.elapsed().as_nanos() as u64;
                let sent: u64 = event
                    .pointer("/object/data/sent")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(arrived);
                samples.push(arrived.saturating_sub(sent) as f64 / 1e6);
            }
            samples
        }));
    }
    for i in 0..sizes.watch_writes {
        let sent = base.elapsed().as_nanos() as u64;
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("w-{i}")}, "data": {"sent": sent.to_string()}});
        let (status, _) = writer
            .send(
                Method::POST,
                "/api/v1/namespaces/default/configmaps",
                Some(&body),
            )
            .await
            .expect("create");
        assert_eq!(status, StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut all = Vec::new();
    for w in watchers {
        all.extend(w.await.expect("watcher"));
    }
    if all.len() != sizes.watchers * sizes.watch_writes {
        eprintln!(
            "warning: {} of {} watch events arrived",
            all.len(),
            sizes.watchers * sizes.watch_writes
        );
    }
    all.sort_by(f64::total_cmp);
    (percentile(&all, 0.5), percentile(&all, 0.99))
}

/// `perf record` attached to the server while one phase runs, when BERTH_BENCH_PERF names the
/// phase (`creates` or `lists`): the profile goes to /tmp/berth-bench-PHASE.perf.data.
struct Profile(Option<std::process::Child>);

impl Profile {
    async fn start(phase: &str, pid: u32) -> Profile {
        if std::env::var("BERTH_BENCH_PERF").ok().as_deref() != Some(phase) {
            return Profile(None);
        }
        let child = std::process::Command::new("perf")
            .args(["record", "-F", "1999", "-g", "-p", &pid.to_string(), "-o"])
            .arg(format!("/tmp/berth-bench-{phase}.perf.data"))
            .stdout(std::process::Stdio::null())
            .spawn();
        if let Err(e) = &child {
            eprintln!("perf could not start: {e}");
        }
        // perf needs a moment to attach to every thread.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Profile(child.ok())
    }

    fn stop(self) {
        if let Some(mut child) = self.0 {
            // SIGINT makes perf write its file and exit.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// Field `i` of `/proc/PID/stat` counted from the state (the third field), 0 when unreadable.
fn stat_field(pid: u32, i: usize) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the third field.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .nth(i)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    // utime and stime are the 14th and 15th fields of the line: 11 and 12 after the name.
    (stat_field(pid, 11) + stat_field(pid, 12)) / 100.0
}

/// Minor page faults so far (the 10th field of the line: 7 after the name).
fn minor_faults(pid: u32) -> f64 {
    stat_field(pid, 7)
}

/// The value of the `/metrics` line starting with `prefix`, 0 when absent.
async fn metric(client: &Client, prefix: &str) -> f64 {
    let Ok((_, body)) = client.send(Method::GET, "/metrics", None).await else {
        return 0.0;
    };
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The server's create phase totals in seconds, from `/metrics`.
async fn create_phases(client: &Client) -> Vec<(String, f64)> {
    let Ok((_, body)) = client.send(Method::GET, "/metrics", None).await else {
        return Vec::new();
    };
    String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("berth_apiserver_create_phase_seconds_total{phase=\"")?;
            let (name, value) = rest.split_once("\"} ")?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .chain(String::from_utf8_lossy(&body).lines().filter_map(|l| {
            let rest = l.strip_prefix("berth_store_writer_total{counter=\"")?;
            let (name, value) = rest.split_once("\"} ")?;
            Some((format!("writer {name}"), value.parse().ok()?))
        }))
        .chain(
            String::from_utf8_lossy(&body)
                .lines()
                .filter_map(|l| {
                    let rest =
                        l.strip_prefix("berth_store_operation_duration_seconds_sum{operation=\"")?;
                    let (name, value) = rest.split_once("\"} ")?;
                    Some((format!("store {name} (timed)"), value.parse().ok()?))
                })
                .collect::<Vec<_>>(),
        )
        .collect()
}

async fn run(extra: Vec<String>, sizes: &Sizes) -> Results {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Results::default();
    // A first start creates the PKI; the timed start is a restart on existing data.
    drop(
        Server::start(dir.path(), &extra)
            .await
            .expect("first start"),
    );
    let started = Instant::now();
    let server = Server::start(dir.path(), &extra).await.expect("start");
    r.ready_ms = started.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_millis(500)).await;
    r.idle_rss_mb = rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0;
    let client = server.client().await.expect("client");
    r.creates_1 = create_many(std::slice::from_ref(&client), "seq", sizes.sequential, 1).await;
    // BERTH_BENCH_CONNECTIONS=N spreads the 32 clients over N connections (default 1).
    let connections: usize = std::env::var("BERTH_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(server.client().await.expect("client"));
    }
    let cpu_before = cpu_seconds(server.pid());
    let own_cpu_before = cpu_seconds(std::process::id());
    let phases_before = create_phases(&client).await;
    let profile = Profile::start("creates", server.pid()).await;
    r.creates_32 = create_many(&clients, "conc", sizes.pods - sizes.sequential, 32).await;
    profile.stop();
    let creates = (sizes.pods - sizes.sequential) as f64;
    let cpu = cpu_seconds(server.pid()) - cpu_before;
    let own_cpu = cpu_seconds(std::process::id()) - own_cpu_before;
    let phases_after = create_phases(&client).await;
    // Where the 32-client creates' time went, for finding waits (stderr only).
    eprintln!(
        "32 clients: {:.3} ms server CPU and {:.3} ms client CPU per create, {:.2} ms wall per create per client",
        cpu * 1e3 / creates,
        own_cpu * 1e3 / creates,
        32.0 * 1e3 / r.creates_32
    );
    for (name, secs) in &phases_after {
        let before = phases_before
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, s)| *s);
        let delta = secs - before;
        match name.as_str() {
            "writer writes" | "writer batches" | "writer transactions" => {
                eprintln!("  {name}: {delta}")
            }
            _ => eprintln!("  {name}: {:.3} ms per create", delta * 1e3 / creates),
        }
    }
    eprintln!(
        "RSS before the LISTs: {:.1} MB",
        rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0
    );
    let list_metric = "apiserver_request_duration_seconds_sum{verb=\"list\",resource=\"pods\"} ";
    let cpu_before = cpu_seconds(server.pid());
    let faults_before = minor_faults(server.pid());
    let handler_before = metric(&client, list_metric).await;
    let profile = Profile::start("lists", server.pid()).await;
    r.list_json_ms = list_ms(&client, false).await;
    profile.stop();
    let cpu_json = cpu_seconds(server.pid()) - cpu_before;
    let faults_json = minor_faults(server.pid()) - faults_before;
    let handler_json = metric(&client, list_metric).await - handler_before;
    r.list_table_ms = list_ms(&client, true).await;
    let cpu_table = cpu_seconds(server.pid()) - cpu_before - cpu_json;
    let handler_table = metric(&client, list_metric).await - handler_before - handler_json;
    // Once more after the Table LISTs, to tell the LIST's own cost from the aftermath of the
    // creates (stderr only).
    list_ms(&client, false).await;
    eprintln!(
        "LIST per request: server CPU JSON {:.1} ms, Table {:.1} ms; handler JSON {:.1} ms, Table {:.1} ms; server page faults per JSON LIST {:.0}",
        cpu_json * 1e3 / 5.0,
        cpu_table * 1e3 / 5.0,
        handler_json * 1e3 / 5.0,
        handler_table * 1e3 / 5.0,
        faults_json / 5.0
    );
    r.rss_pods_mb = rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0;
    let (p50, p99) = watch_latency(&server, sizes).await;
    r.watch_p50_ms = p50;
    r.watch_p99_ms = p99;
    r
}

fn main() {
    // The client side of the LISTs copies as much as the server: give it the same fast copies
    // as every Berth binary, so the figures measure the server rather than glibc on this CPU.
    berth_component_base::memcpy::prefer_vector_copies();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let quick = std::env::var_os("BERTH_BENCH_QUICK").is_some();
        let sizes = if quick {
            Sizes { sequential: 200, pods: 2_000, watchers: 100, watch_writes: 10 }
        } else {
            Sizes { sequential: 1_000, pods: 10_000, watchers: 1_000, watch_writes: 50 }
        };
        // BERTH_BENCH_ONLY=sqlite skips the etcd run (the embedded store always runs).
        let only_sqlite = std::env::var("BERTH_BENCH_ONLY").is_ok_and(|v| v == "sqlite");
        eprintln!("embedded store ...");
        let sqlite = run(Vec::new(), &sizes).await;
        let etcd = match only_sqlite {
            true => Err("BERTH_BENCH_ONLY=sqlite".to_owned()),
            false => {
                eprintln!("etcd ...");
                berth_store::etcd_server::EtcdServer::start()
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        let etcd = match etcd {
            Ok(server) => {
                let r = run(vec!["--etcd-servers".into(), server.endpoint()], &sizes).await;
                drop(server);
                Some(r)
            }
            Err(e) => {
                eprintln!("etcd skipped: {e}");
                None
            }
        };
        let rows: [Row; 9] = [
            ("start to /readyz (ms)", |r| r.ready_ms, "<= 200", |v| v <= 200.0),
            ("idle RSS (MB)", |r| r.idle_rss_mb, "<= 30", |v| v <= 30.0),
            ("creates/s, 1 client", |r| r.creates_1, "-", |_| true),
            ("creates/s, 32 clients", |r| r.creates_32, ">= 5000", |v| v >= 5000.0),
            ("LIST 10 000 pods, JSON (ms)", |r| r.list_json_ms, "<= 50", |v| v <= 50.0),
            ("LIST 10 000 pods, Table (ms)", |r| r.list_table_ms, "<= 50", |v| v <= 50.0),
            ("RSS with 10 000 pods (MB)", |r| r.rss_pods_mb, "<= 120", |v| v <= 120.0),
            ("watch delivery p50, 1 000 watchers (ms)", |r| r.watch_p50_ms, "-", |_| true),
            ("watch delivery p99, 1 000 watchers (ms)", |r| r.watch_p99_ms, "<= 50", |v| v <= 50.0),
        ];
        println!("| measure | embedded (SQLite) | etcd | target (embedded) | met |");
        println!("|---|---|---|---|---|");
        for (name, get, target, ok) in rows {
            let s = get(&sqlite);
            let e = etcd.as_ref().map(get).map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
            let met = if target == "-" { "-" } else if ok(s) { "yes" } else { "NO" };
            println!("| {name} | {s:.1} | {e} | {target} | {met} |");
        }
        println!();
        println!(
            "Workload: {} pods ({} created by 1 client, the rest by 32), pod JSON about 1 KB; {} watchers x {} writes.",
            sizes.pods, sizes.sequential, sizes.watchers, sizes.watch_writes
        );
    });
}
