//! The `kubernetes` Service names the API servers: each server keeps an identity Lease in
//! `kube-system` named as Kubernetes names it, and the Service's Endpoints and EndpointSlice
//! list the advertised address of every server whose Lease is renewed; one that stops
//! renewing drops out.
//!
//! Needs `cargo build -p berth-apiserver` first (see the crate docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::kubectl_ok as ok;
use berth_conformance::{Cluster, Kubectl, KUBECTL_MINORS};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(200);
/// A documentation address (never routed): the server advertises it, nothing connects to it.
const ADVERTISED: &str = "192.0.2.10";
const PEER: &str = "192.0.2.11";

/// `ip:port` of each address the `kubernetes` Endpoints and EndpointSlice list.
async fn listed(k: &Kubectl) -> Result<(String, String)> {
    let ep = ok(
        k,
        &[
            "get",
            "endpoints",
            "kubernetes",
            "-o",
            "jsonpath={range .subsets[*].addresses[*]}{.ip} {end}:{.subsets[0].ports[0].port}",
        ],
    )
    .await?;
    let slice = ok(
        k,
        &[
            "get",
            "endpointslices.v1.discovery.k8s.io",
            "kubernetes",
            "-o",
            "jsonpath={range .endpoints[*]}{.addresses[0]} {end}:{.ports[0].port}",
        ],
    )
    .await?;
    Ok((ep, slice))
}

async fn wait_listed(k: &Kubectl, want: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let last = listed(k).await?;
        if last.0 == want && last.1 == want {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the kubernetes endpoints did not list {want:?} within {STEP:?}; last seen: {last:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

fn micro_now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_service_lists_every_renewing_api_server() {
    let cluster = Cluster::start_with_args(&["--advertise-address", ADVERTISED])
        .unwrap_or_else(|err| panic!("{err:#}"));
    let result = async {
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        let port = cluster
            .server_url()
            .rsplit(':')
            .next()
            .context("no port in the server URL")?
            .to_owned();
        ok(&k, &["get", "service", "kubernetes", "-o", "name"]).await?;
        wait_listed(&k, &format!("{ADVERTISED} :{port}")).await?;

        // The identity Lease, named and labelled as Kubernetes does.
        let leases: Value = serde_json::from_str(
            &ok(
                &k,
                &[
                    "get",
                    "lease",
                    "-n",
                    "kube-system",
                    "-l",
                    "apiserver.kubernetes.io/identity=kube-apiserver",
                    "-o",
                    "json",
                ],
            )
            .await?,
        )?;
        let items = leases["items"].as_array().context("no items")?;
        ensure!(items.len() == 1, "{leases}");
        let name = items[0]["metadata"]["name"].as_str().unwrap_or_default();
        let hash = name.strip_prefix("apiserver-").unwrap_or_default();
        ensure!(
            hash.len() == 26
                && hash
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)),
            "lease name {name}"
        );
        let holder = items[0]["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or_default();
        ensure!(
            holder.starts_with(&format!("{name}_"))
                && items[0]["spec"]["leaseDurationSeconds"] == 3600
                && items[0]["metadata"]["labels"]["kubernetes.io/hostname"].is_string(),
            "{}",
            items[0]
        );

        // A second server on the same port appears while it renews its Lease...
        let leases: Api<Lease> = Api::namespaced(cluster.client().await?, "kube-system");
        let peer = |renewed: String| -> Result<Lease> {
            Ok(serde_json::from_value(json!({
                "metadata": {"name": "apiserver-peer",
                    "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver",
                               "kubernetes.io/hostname": "peer"},
                    "annotations": {"berth/advertise-endpoint": format!("{PEER}:{port}")}},
                "spec": {"holderIdentity": "apiserver-peer_1", "leaseDurationSeconds": 3600,
                         "renewTime": renewed},
            }))?)
        };
        leases
            .create(&PostParams::default(), &peer(micro_now())?)
            .await?;
        let both = format!("{ADVERTISED} {PEER} :{port}");
        let renewing = {
            let leases = leases.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let renew = json!({"spec": {"renewTime": micro_now()}});
                    let _ = leases
                        .patch(
                            "apiserver-peer",
                            &PatchParams::default(),
                            &Patch::Merge(&renew),
                        )
                        .await;
                }
            })
        };
        let seen = wait_listed(&k, &both).await;
        renewing.abort();
        seen?;

        // ...and drops out once it stops.
        wait_listed(&k, &format!("{ADVERTISED} :{port}")).await?;
        Ok(())
    }
    .await;
    if let Err(err) = result {
        panic!("{err:#}\n\n--- server log\n{}", cluster.server_log());
    }
}
