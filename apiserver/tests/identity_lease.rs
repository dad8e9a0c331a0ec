//! A server stopped cleanly (SIGTERM) deletes its identity Lease and rewrites the `kubernetes`
//! Endpoints without its address before it exits, instead of lingering there until its Lease
//! expires. Read back after a restart on the same data directory: a watch from a version taken
//! before the shutdown replays what the stopping server wrote.

mod common;

use common::{Client, Server};
use http::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// A documentation address (never routed): advertised, never connected to.
const ADVERTISED: &str = "192.0.2.10";
/// Longest wait for any one step; a step that takes longer fails instead of hanging.
const STEP: Duration = Duration::from_secs(60);

async fn get(client: &Client, path: &str) -> anyhow::Result<Value> {
    let (status, body) = client.send(Method::GET, path, None).await?;
    anyhow::ensure!(status == StatusCode::OK, "GET {path}: {status}");
    Ok(serde_json::from_slice(&body)?)
}

/// Whether the `kubernetes` Endpoints object lists `ip`.
fn lists(endpoints: &Value, ip: &str) -> bool {
    endpoints
        .get("subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|s| {
            s.get("addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .any(|a| a.get("ip").and_then(Value::as_str) == Some(ip))
}

/// The watch events of `path` from `version` on, until `done` accepts one; returns the events
/// read up to and including it.
async fn replay(
    client: &Client,
    path: &str,
    version: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Vec<Value>> {
    let mut events = client
        .watch(&format!("{path}?watch=true&resourceVersion={version}"))
        .await?;
    let mut seen = Vec::new();
    let read = async {
        while let Some(event) = events.next().await {
            let last = done(&event);
            seen.push(event);
            if last {
                return true;
            }
        }
        false
    };
    let found = tokio::time::timeout(STEP, read).await.unwrap_or(false);
    anyhow::ensure!(found, "{path}: not seen in the replay: {seen:#?}");
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_stopped_cleanly_withdraws_from_the_kubernetes_endpoints() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let args = vec!["--advertise-address".to_owned(), ADVERTISED.to_owned()];
    let mut server = Server::start(dir.path(), &args).await?;
    let client = server.client().await?;
    let leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
    let endpoints = "/api/v1/namespaces/default/endpoints";

    // Wait until the server named itself in its Lease and in the Endpoints.
    let started = std::time::Instant::now();
    let lease_name = loop {
        let list = get(&client, leases).await?;
        let ours = list["items"].as_array().into_iter().flatten().find(|l| {
            l.pointer("/metadata/labels/apiserver.kubernetes.io~1identity")
                .and_then(Value::as_str)
                == Some("kube-apiserver")
        });
        let ep = get(&client, &format!("{endpoints}/kubernetes")).await;
        if let (Some(lease), Ok(ep)) = (ours, ep) {
            if lists(&ep, ADVERTISED) {
                break lease["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
        }
        anyhow::ensure!(started.elapsed() < STEP, "the server never listed itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Everything after this version happened once both were written.
    let version = get(&client, endpoints).await?["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    drop(client);

    server.terminate(STEP).await?;
    let server = Server::start(dir.path(), &args).await?;
    let client = server.client().await?;

    // The stopped server deleted its Lease...
    let lease_events = replay(&client, leases, &version, |e| {
        e["object"]["metadata"]["name"] == lease_name.as_str() && e["type"] == "DELETED"
    })
    .await?;
    assert!(!lease_events.is_empty());
    // ...and, before the new server wrote anything, took its address out of the Endpoints.
    let first_change = replay(&client, endpoints, &version, |e| {
        e["object"]["metadata"]["name"] == "kubernetes"
    })
    .await?;
    let change = first_change.last().map(|e| &e["object"]);
    assert!(
        change.is_some_and(|ep| !lists(ep, ADVERTISED)),
        "the first change of the kubernetes Endpoints after the shutdown still lists {ADVERTISED}: {change:#?}"
    );
    Ok(())
}
