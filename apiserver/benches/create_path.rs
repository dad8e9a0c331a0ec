//! CPU per create in the API server's own create path, without TLS, HTTP/2 or a durable store.
//!
//! `cargo bench -p berth-apiserver --bench create_path` runs, on one thread, what the server
//! does for each pod the `apiserver` benchmark creates: decode and field-check the JSON body,
//! namespace and priority admission, defaulting and validation, managedFields, encoding for
//! the store, the in-memory store's create, the watch cache's insert of the write, and the
//! answer's encoding. Each step is also timed on its own. Times are this thread's CPU time
//! (from `/proc/thread-self/schedstat`), so other processes on the machine slow the figures
//! less than they slow wall-clock times; the minimum of several rounds is reported.

#[path = "../tests/common/mod.rs"]
mod common;

use berth_api_types::{catalog, defaults, validation};
use berth_apiserver::cache::WatchCache;
use berth_apiserver::field_validation::{decode_object, FieldValidation};
use berth_apiserver::managed_fields::{record, Write};
use berth_apiserver::registry::Registry;
use berth_apiserver::request::ResourceRequest;
use berth_store::memory::MemoryStore;
use berth_store::DynStore;
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;

fn body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&common::bench_pod(name)).expect("encode")
}

/// This thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The smallest CPU time per call of `f` over five rounds of `n` calls, in microseconds.
fn cpu_us(n: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut best = f64::INFINITY;
    let mut i = 0;
    for _ in 0..5 {
        let started = thread_cpu_ns();
        for _ in 0..n {
            f(i);
            i += 1;
        }
        best = best.min((thread_cpu_ns() - started) as f64 / 1e3 / n as f64);
    }
    best
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pods = catalog::find("", "pods").expect("pods are served");
    let r = ResourceRequest {
        resource: pods,
        namespace: Some("default".into()),
        name: None,
        subresource: None,
        verb: "create",
    };
    let sample = body("sample");
    let mut rows: Vec<(&str, f64)> = Vec::new();
    rows.push((
        "decode and field-check the body",
        cpu_us(2000, |_| {
            black_box(
                decode_object(pods, "application/json", &sample, FieldValidation::Warn)
                    .expect("decode"),
            );
        }),
    ));
    let (decoded, _) =
        decode_object(pods, "application/json", &sample, FieldValidation::Warn).expect("decode");
    rows.push((
        "defaulting (before managedFields)",
        cpu_us(2000, |_| {
            let mut obj = decoded.clone();
            defaults::apply_defaults("", "Pod", &mut obj).expect("defaults");
            black_box(obj);
        }),
    ));
    let mut defaulted_once = decoded.clone();
    defaults::apply_defaults("", "Pod", &mut defaulted_once).expect("defaults");
    rows.push((
        "validation (after admission and the strategy)",
        cpu_us(2000, |_| {
            black_box(validation::validate("", "Pod", &defaulted_once));
        }),
    ));
    rows.push((
        "(clone of the decoded body, inside the defaulting line)",
        cpu_us(2000, |_| {
            black_box(decoded.clone());
        }),
    ));
    let mut defaulted = decoded.clone();
    defaults::apply_defaults("", "Pod", &mut defaulted).expect("defaults");
    let _ = validation::validate("", "Pod", &defaulted);
    let write = Write {
        resource: pods,
        subresource: None,
        manager: "bench",
        now: "2026-11-27T00:00:00Z",
    };
    rows.push((
        "managedFields (with a clone of the object)",
        cpu_us(2000, |_| {
            let mut obj = defaulted.clone();
            record(&write, None, &mut obj);
            black_box(obj);
        }),
    ));
    let mut tracked = defaulted.clone();
    record(&write, None, &mut tracked);
    rows.push((
        "encode the object (store bytes or answer)",
        cpu_us(2000, |_| {
            black_box(serde_json::to_vec(&tracked).expect("encode"));
        }),
    ));
    let whole = runtime.block_on(async {
        let store: DynStore = Arc::new(MemoryStore::new());
        let cache = WatchCache::start(store.clone());
        assert!(cache.sync().await, "the cache fills itself");
        let registry = Registry::new(store.clone()).with_cache(cache.clone());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        store
            .create(
                "/registry/namespaces/default",
                serde_json::to_vec(&ns).expect("ns"),
            )
            .await
            .expect("namespace");
        assert!(cache.sync().await, "the cache has the namespace");
        let mut best = f64::INFINITY;
        let mut i = 0;
        for _ in 0..5 {
            let started = thread_cpu_ns();
            for _ in 0..2000 {
                let bytes = body(&format!("p-{i}"));
                i += 1;
                let (obj, _) =
                    decode_object(pods, "application/json", &bytes, FieldValidation::Warn)
                        .expect("decode");
                let created = registry
                    .create_encoded(&r, obj, false, Some("bench"))
                    .await
                    .expect("create");
                black_box(created);
                // Lets the cache apply the write on this thread, so its cost is counted.
                tokio::task::yield_now().await;
            }
            best = best.min((thread_cpu_ns() - started) as f64 / 1e3 / 2000.0);
        }
        assert!(cache.sync().await);
        best
    });
    println!("| step (one pod create, one thread) | CPU µs |");
    println!("|---|---|");
    println!("| whole create: body to answer, memory store, cache insert | {whole:.1} |");
    for (name, us) in rows {
        println!("| {name} | {us:.1} |");
    }
}
