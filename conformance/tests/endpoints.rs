//! The endpoint and endpointslice controllers against a live API server, with the scheduler
//! and fake nodes running the pods: Endpoints and EndpointSlices follow pod readiness and
//! scaling, resolve named target ports, carry node names and zones, go with their Service, and
//! a Service without a selector is left alone.
//!
//! Needs `cargo build -p berth-apiserver -p berth-controller-manager -p berth-scheduler`
//! first (see the crate docs).

use anyhow::{ensure, Result};
use berth_conformance::fake_node::{FakeNodes, NodeSpec};
use berth_conformance::kubectl_ok as ok;
use berth_conformance::{cluster_with_controllers, KUBECTL_MINORS};
use k8s_openapi::api::core::v1::{Endpoints, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams};
use std::future::Future;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    berth_conformance::eventually_within(what, STEP, POLL, probe).await
}

const APP: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: busybox
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    team: a
spec:
  selector:
    app: web
  ports:
  - name: web
    port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: manual
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: manual
subsets:
- addresses:
  - ip: 192.0.2.10
  ports:
  - port: 9999
";

/// Ready and not-ready IPs of an Endpoints object, sorted.
fn ips(ep: &Endpoints) -> (Vec<String>, Vec<String>, Vec<i32>) {
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut ports = Vec::new();
    for s in ep.subsets.iter().flatten() {
        ready.extend(s.addresses.iter().flatten().map(|a| a.ip.clone()));
        not_ready.extend(s.not_ready_addresses.iter().flatten().map(|a| a.ip.clone()));
        ports.extend(s.ports.iter().flatten().map(|p| p.port));
    }
    ready.sort();
    not_ready.sort();
    (ready, not_ready, ports)
}

fn pod_ips(pods: &[Pod]) -> Vec<String> {
    let mut ips: Vec<String> = pods
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect();
    ips.sort();
    ips
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoints_and_slices_follow_pods() {
    let (cluster, cm) = cluster_with_controllers(&[]);
    let scheduler = cluster
        .start_scheduler(&[])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let result = async {
        let client = cluster.client().await?;
        let _nodes = FakeNodes::start(
            client.clone(),
            &[
                NodeSpec::new("a").label("topology.kubernetes.io/zone", "zone-a"),
                NodeSpec::new("b").label("topology.kubernetes.io/zone", "zone-b"),
            ],
        )
        .await?;
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        cluster.apply(&k, "app", APP).await?;
        ok(&k, &["rollout", "status", "deployment/web", "--timeout=60s"]).await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "default");
        let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
        let running = pods.list(&ListParams::default().labels("app=web")).await?.items;
        let want = pod_ips(&running);
        ensure!(want.len() == 2, "pod IPs {want:?}");

        let ep = eventually("endpoints with both pods", || async {
            let ep = endpoints.get_opt("web").await?;
            Ok(ep.filter(|ep| ips(ep).0 == want))
        })
        .await?;
        let (_, not_ready, ports) = ips(&ep);
        ensure!(not_ready.is_empty() && ports == [8080], "{ep:?}");
        ensure!(
            ep.metadata.labels.as_ref().and_then(|l| l.get("team")).map(String::as_str)
                == Some("a"),
            "labels {:?}",
            ep.metadata.labels
        );
        let by_service = ListParams::default().labels("kubernetes.io/service-name=web");
        let slice = eventually("a slice with both pods", || async {
            let list = slices.list(&by_service).await?.items;
            Ok(list.into_iter().find(|s| s.endpoints.len() == 2))
        })
        .await?;
        ensure!(
            slice.address_type == "IPv4"
                && slice.metadata.name.as_deref().is_some_and(|n| n.starts_with("web-"))
                && slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("endpointslice.kubernetes.io/managed-by"))
                    .map(String::as_str)
                    == Some("endpointslice-controller.k8s.io"),
            "{:?}",
            slice.metadata
        );
        let port = slice.ports.as_ref().and_then(|p| p.first()).cloned().unwrap_or_default();
        ensure!(port.port == Some(8080) && port.name.as_deref() == Some("web"), "{port:?}");
        for e in &slice.endpoints {
            let node = e.node_name.clone().unwrap_or_default();
            ensure!(
                e.zone.as_deref() == Some(&format!("zone-{node}")),
                "endpoint on {node} has zone {:?}",
                e.zone
            );
            ensure!(e.conditions.as_ref().and_then(|c| c.ready) == Some(true), "{e:?}");
        }
        // kubectl shows them too.
        let out = ok(&k, &["get", "endpoints", "web"]).await?;
        ensure!(out.contains(&format!("{}:8080", want[0])), "{out}");

        // A pod turns unready: it moves to notReadyAddresses and its slice endpoint follows.
        let victim = running[0].metadata.name.clone().unwrap_or_default();
        let victim_ip = running[0].status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default();
        let unready = serde_json::json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        pods.patch_status(&victim, &PatchParams::default(), &Patch::Merge(&unready))
            .await?;
        eventually("the unready pod under notReadyAddresses", || async {
            let ep = endpoints.get("web").await?;
            let (_, not_ready, _) = ips(&ep);
            Ok((not_ready == [victim_ip.clone()]).then_some(()))
        })
        .await?;
        eventually("the slice endpoint not ready", || async {
            let list = slices.list(&by_service).await?.items;
            let e = list
                .iter()
                .flat_map(|s| s.endpoints.iter())
                .find(|e| e.addresses == [victim_ip.clone()])
                .cloned();
            Ok(e.filter(|e| {
                e.conditions.as_ref().is_some_and(|c| c.ready == Some(false) && c.serving == Some(false))
            }))
        })
        .await?;

        // Scaling up adds addresses.
        ok(&k, &["scale", "deployment/web", "--replicas=3"]).await?;
        eventually("three addresses", || async {
            let ep = endpoints.get("web").await?;
            let (ready, not_ready, _) = ips(&ep);
            Ok((ready.len() + not_ready.len() == 3).then_some(()))
        })
        .await?;

        // A Service without a selector keeps the Endpoints its user wrote.
        let manual = endpoints.get("manual").await?;
        ensure!(ips(&manual).0 == ["192.0.2.10"], "{manual:?}");
        let manual_slices = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=manual,endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io"))
            .await?
            .items;
        ensure!(manual_slices.is_empty(), "slices for a selectorless service: {manual_slices:?}");

        // The Service goes: so do its Endpoints and slices.
        ok(&k, &["delete", "service", "web"]).await?;
        eventually("endpoints and slices gone", || async {
            let ep = endpoints.get_opt("web").await?;
            let left = slices.list(&by_service).await?.items;
            Ok((ep.is_none() && left.is_empty()).then_some(()))
        })
        .await?;
        ensure!(endpoints.get_opt("manual").await?.is_some(), "manual endpoints went");
        Ok(())
    }
    .await;
    if let Err(err) = result {
        panic!(
            "{err:#}\n--- controller-manager log\n{}\n--- scheduler log\n{}",
            cm.log(),
            scheduler.log()
        );
    }
}
