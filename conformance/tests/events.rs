//! Events expire: with a short `--event-ttl`, core/v1 and events.k8s.io/v1 Events last
//! observed longer ago than the TTL are deleted, while an Event that keeps being observed
//! (its `lastTimestamp` raised, as a recorder does for repeats) stays.
//!
//! Needs `cargo build -p berth-apiserver` first (see the crate docs).

use anyhow::ensure;
use berth_conformance::kubectl_ok as ok;
use berth_conformance::{Cluster, KUBECTL_MINORS};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams};
use std::time::Duration;

const TTL: &str = "6s";
const STEP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Now, in the seconds precision of a `Time` field.
fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Now, in the microseconds precision of a `MicroTime` field.
fn now_micro() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

fn manifests() -> String {
    let (t, micro) = (now(), now_micro());
    format!(
        r#"apiVersion: v1
kind: Event
metadata:
  name: stale-core
involvedObject:
  kind: Pod
  name: p
  namespace: default
reason: Started
message: once
type: Normal
count: 1
firstTimestamp: "{t}"
lastTimestamp: "{t}"
source:
  component: test
---
apiVersion: v1
kind: Event
metadata:
  name: fresh-core
involvedObject:
  kind: Pod
  name: p
  namespace: default
reason: BackOff
message: again and again
type: Warning
count: 1
firstTimestamp: "{t}"
lastTimestamp: "{t}"
source:
  component: test
---
apiVersion: events.k8s.io/v1
kind: Event
metadata:
  name: stale-new
eventTime: "{micro}"
reportingController: example.com/test
reportingInstance: test-1
action: Starting
reason: Started
note: once
type: Normal
regarding:
  kind: Pod
  name: p
  namespace: default
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn events_expire_after_the_ttl_unless_observed_again() {
    let ttl_flag = format!("--event-ttl={TTL}");
    let cluster = Cluster::start_with_args(&[&ttl_flag]).unwrap_or_else(|err| panic!("{err:#}"));
    let result = async {
        let k = cluster.kubectl(*KUBECTL_MINORS.end())?;
        cluster.create(&k, "events", &manifests()).await?;
        let events: Api<Event> = Api::namespaced(cluster.client().await?, "default");

        // Keep observing one Event while waiting for the other two to go.
        let deadline = std::time::Instant::now() + STEP;
        let mut count = 1;
        loop {
            count += 1;
            let seen = serde_json::json!({"count": count, "lastTimestamp": now()});
            events
                .patch("fresh-core", &PatchParams::default(), &Patch::Merge(&seen))
                .await?;
            let core = ok(&k, &["get", "events.v1.", "-o", "name"]).await?;
            let new = ok(&k, &["get", "events.v1.events.k8s.io", "-o", "name"]).await?;
            if !core.contains("stale-core") && !new.contains("stale-new") {
                ensure!(
                    core.lines().any(|l| l == "event/fresh-core"),
                    "the Event observed all along expired too: {core}"
                );
                break;
            }
            ensure!(
                std::time::Instant::now() < deadline,
                "stale Events still listed after {STEP:?}: {core}{new}"
            );
            tokio::time::sleep(POLL).await;
        }

        // Once no longer observed, it goes as well.
        berth_conformance::eventually_within("fresh-core to expire", STEP, POLL, || async {
            Ok(events.get_opt("fresh-core").await?.is_none().then_some(()))
        })
        .await?;
        Ok(())
    }
    .await;
    if let Err(err) = result {
        panic!("{err:#}\n\n--- server log\n{}", cluster.server_log());
    }
}
