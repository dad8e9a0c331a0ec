//! Kill -9 during a concurrent create load: after a restart every acknowledged object is
//! there, and a watch resumes from the last resourceVersion it saw without missing anything.

mod common;

use common::{Client, Server};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn run(extra: Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &extra).await.unwrap();
    let client = server.client().await.unwrap();
    // A watch that records what it saw and the newest resourceVersion.
    let mut events = client
        .watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new((BTreeSet::<String>::new(), 0i64)));
    let watcher = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                let name = event
                    .pointer("/object/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let rv: i64 = event
                    .pointer("/object/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                let mut s = seen.lock().unwrap();
                s.0.insert(name);
                s.1 = s.1.max(rv);
            }
        })
    };
    let acked = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..16 {
        let client = client.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("cm-{w}-{i}");
                let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": i.to_string()}});
                match client.send(Method::POST, "/api/v1/namespaces/default/configmaps", Some(&body)).await {
                    Ok((StatusCode::CREATED, _)) => {
                        acked.lock().unwrap().insert(name);
                    }
                    _ => return,
                }
            }
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 1000 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for w in writers {
        let _ = w.await;
    }
    let _ = watcher.await;
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 1000,
        "only {} creates were acknowledged",
        acked.len()
    );
    let (seen_before, last_rv) = seen.lock().unwrap().clone();
    assert!(last_rv > 0, "the watch saw nothing before the kill");

    let server = Server::start(dir.path(), &extra).await.unwrap();
    let client: Client = server.client().await.unwrap();
    let list = client
        .send_expecting(
            Method::GET,
            "/api/v1/namespaces/default/configmaps",
            None,
            StatusCode::OK,
        )
        .await;
    let stored: BTreeSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            i.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged creates were lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    // Resuming the watch from the last version it saw replays exactly the rest.
    let list_rv: i64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut events = client
        .watch(&format!(
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={last_rv}"
        ))
        .await
        .unwrap();
    let mut resumed = BTreeSet::new();
    let expected_after = stored.difference(&seen_before).count();
    while resumed.len() < expected_after {
        let event = events.next_within(Duration::from_secs(20)).await;
        assert_eq!(event["type"], "ADDED", "{event}");
        let rv: i64 = event
            .pointer("/object/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap()
            .parse()
            .unwrap();
        assert!(rv > last_rv && rv <= list_rv);
        resumed.insert(
            event
                .pointer("/object/metadata/name")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned(),
        );
    }
    let all: BTreeSet<String> = seen_before.union(&resumed).cloned().collect();
    assert_eq!(
        all, stored,
        "before + resumed events cover every stored object exactly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_creates_embedded_store() {
    run(Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_creates_etcd_store() {
    let etcd = berth_store::etcd_server::EtcdServer::start()
        .await
        .expect("start etcd");
    run(vec!["--etcd-servers".into(), etcd.endpoint()]).await;
}
