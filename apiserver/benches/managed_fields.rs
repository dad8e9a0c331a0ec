//! The cost of recording managedFields, the work every create, update and patch adds.
//!
//! `cargo bench -p berth-apiserver --bench managed_fields` times
//! [`berth_apiserver::managed_fields::record`] on the defaulted 1 KB pod the API server
//! benchmark creates: once as a create and once as an update that changes one label, and
//! reports how many bytes the entry adds to the stored object. It prints a Markdown table for
//! docs/BENCHMARKS.md.

use berth_api_types::{catalog, defaults};
use berth_apiserver::managed_fields::{record, Write};
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

fn pod() -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "bench", "namespace": "default", "labels": {"app": "bench", "tier": "web"},
            "annotations": {"note": "x".repeat(200)}},
        "spec": {"containers": [{
            "name": "app", "image": "registry.local/bench/app:1.0",
            "command": ["/bin/app", "--serve"], "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "MODE", "value": "bench"}, {"name": "LEVEL", "value": "info"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }]},
    });
    defaults::apply_defaults("", "Pod", &mut pod).expect("pod defaults");
    pod
}

/// Runs `f` `n` times and returns the mean in microseconds.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let pods = catalog::find("", "pods").expect("pods are served");
    let create = Write {
        resource: pods,
        subresource: None,
        manager: "kubectl-create",
        now: "2026-11-27T00:00:00Z",
    };
    let update = Write {
        manager: "kubectl-label",
        now: "2026-11-27T00:01:00Z",
        ..create
    };
    let plain = pod();
    let mut tracked = plain.clone();
    record(&create, None, &mut tracked);
    let mut labelled = tracked.clone();
    labelled["metadata"]["labels"]["tier"] = json!("db");
    let n = 20_000;
    let create_us = time(n, || {
        let mut obj = plain.clone();
        record(&create, None, &mut obj);
        black_box(obj);
    });
    let clone_us = time(n, || {
        black_box(plain.clone());
    });
    let update_us = time(n, || {
        let mut obj = labelled.clone();
        record(&update, Some(&tracked), &mut obj);
        black_box(obj);
    });
    let size = |v: &Value| serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0);
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| record on create, 1 KB pod (µs, clone of the pod excluded) | {:.1} |",
        create_us - clone_us
    );
    println!(
        "| record on update of one label (µs, clone excluded) | {:.1} |",
        update_us - clone_us
    );
    println!(
        "| stored pod without / with its entry (bytes) | {} / {} |",
        size(&plain),
        size(&tracked)
    );
}
