//! `/openapi/v2` cost: what the first request pays for building the document, what later
//! requests cost, the size of each form and the memory the kept bytes take.
//!
//! `cargo bench -p berth-apiserver --bench openapi` starts the real `berth-apiserver` binary
//! and asks for the document over HTTPS/HTTP/2 with the admin client certificate, as kubectl
//! 1.27 does (protobuf), and as JSON. It also times building the document in this process,
//! without HTTP. It prints a Markdown table for docs/BENCHMARKS.md.

#[path = "../tests/common/mod.rs"]
mod common;

use berth_apiserver::openapi::{gnostic, v2};
use common::{rss_kib, Server};
use std::time::{Duration, Instant};

const KUBECTL_ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const ROUNDS: usize = 50;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // In process: the schemas are generated on first use and shared with v3, so the first
    // build includes them and later builds measure the v2 conversion and encoding alone.
    let started = Instant::now();
    let doc = v2::document();
    let first_build_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut build = Vec::new();
    let mut encode_json = Vec::new();
    let mut encode_proto = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let doc = v2::document();
        build.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let json = serde_json::to_vec(&doc).expect("JSON");
        encode_json.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let proto = gnostic::encode(&doc);
        encode_proto.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box((json, proto));
    }
    drop(doc);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (first_ms, proto_ms, json_ms, proto_kb, json_kb, rss_before, rss_after) =
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let server = Server::start(dir.path(), &[]).await.expect("start");
            let client = server.client().await.expect("client");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss_before = rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0;
            let get = |accept: &'static str| {
                let client = client.clone();
                async move {
                    let t = Instant::now();
                    let (status, _, body) = client
                        .get_with_headers("/openapi/v2", &[("accept", accept)])
                        .await
                        .expect("GET /openapi/v2");
                    assert_eq!(status, 200);
                    (t.elapsed().as_secs_f64() * 1e3, body.len() as f64 / 1024.0)
                }
            };
            let (first_ms, proto_kb) = get(KUBECTL_ACCEPT).await;
            let mut proto = Vec::new();
            let mut json = Vec::new();
            let mut json_kb = 0.0;
            for _ in 0..ROUNDS {
                proto.push(get(KUBECTL_ACCEPT).await.0);
                let (ms, kb) = get("application/json").await;
                json.push(ms);
                json_kb = kb;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss_after = rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0;
            (
                first_ms,
                median(proto),
                median(json),
                proto_kb,
                json_kb,
                rss_before,
                rss_after,
            )
        });

    println!("| measure | value |");
    println!("|---|---|");
    println!("| build in process, first (schemas included) (ms) | {first_build_ms:.1} |");
    println!(
        "| build in process, later, median (ms) | {:.1} |",
        median(build)
    );
    println!("| encode JSON, median (ms) | {:.1} |", median(encode_json));
    println!(
        "| encode protobuf, median (ms) | {:.1} |",
        median(encode_proto)
    );
    println!("| server: first GET, protobuf (ms) | {first_ms:.1} |");
    println!("| server: later GET, protobuf, median of {ROUNDS} (ms) | {proto_ms:.1} |");
    println!("| server: later GET, JSON, median of {ROUNDS} (ms) | {json_ms:.1} |");
    println!("| size, protobuf (KiB) | {proto_kb:.0} |");
    println!("| size, JSON (KiB) | {json_kb:.0} |");
    println!("| server RSS before the first GET (MB) | {rss_before:.1} |");
    println!(
        "| server RSS after {} GETs (MB) | {rss_after:.1} |",
        1 + 2 * ROUNDS
    );
}
