//! API server benchmarks over HTTPS, for both stores in one run.
//!
//! `cargo bench -p berth-apiserver --bench apiserver` starts the real `berth-apiserver` binary
//! (embedded SQLite store, then a local etcd) and measures: start to `/readyz`; idle RSS;
//! creates/s with 1 and 32 concurrent clients; LIST of 10 000 pods as JSON and as a Table; RSS
//! with 10 000 pods; watch delivery latency to 1 000 watchers. It prints a Markdown table for
//! docs/BENCHMARKS.md. `BERTH_BENCH_QUICK=1` shrinks the workload.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{rss_kib, Client, Events, Server};
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

fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}, "annotations": {"note": "x".repeat(200)}},
        "spec": {"containers": [{
            "name": "app", "image": "registry.local/bench/app:1.0",
            "command": ["/bin/app", "--serve"], "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}, {"name": "LEVEL", "value": "info"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }]},
    })
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

async fn create_many(client: &Client, prefix: &str, n: usize, concurrency: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                let body = pod(&format!("{prefix}-{i}"));
                let (status, text) = client
                    .send(Method::POST, "/api/v1/namespaces/default/pods", Some(&body))
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
        let body = client
            .stream(&format!(
                "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
            ))
            .await
            .expect("watch");
        let writes = sizes.watch_writes;
        watchers.push(tokio::spawn(async move {
            let mut events = Events::new(body);
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
    r.creates_1 = create_many(&client, "seq", sizes.sequential, 1).await;
    r.creates_32 = create_many(&client, "conc", sizes.pods - sizes.sequential, 32).await;
    r.list_json_ms = list_ms(&client, false).await;
    r.list_table_ms = list_ms(&client, true).await;
    r.rss_pods_mb = rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0;
    let (p50, p99) = watch_latency(&server, sizes).await;
    r.watch_p50_ms = p50;
    r.watch_p99_ms = p99;
    r
}

fn main() {
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
        eprintln!("embedded store ...");
        let sqlite = run(Vec::new(), &sizes).await;
        eprintln!("etcd ...");
        let etcd = match berth_store::etcd_server::EtcdServer::start().await {
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
