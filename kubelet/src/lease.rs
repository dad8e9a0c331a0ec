//! The node's heartbeat: the Lease `kube-node-lease/<node>`, renewed every
//! [`RENEW_PERIOD`], owned by the Node so that it goes away with it.

use berth_api_types::k8s::api::coordination::v1::{Lease, LeaseSpec};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{
    MicroTime, ObjectMeta, OwnerReference,
};
use berth_api_types::k8s::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use std::time::Duration;
use tokio::sync::watch;

/// How often the Lease is renewed.
pub const RENEW_PERIOD: Duration = Duration::from_secs(10);

/// The Lease's duration: four renewals.
pub const LEASE_DURATION_SECONDS: i32 = 40;

/// The namespace of node Leases.
pub const NAMESPACE: &str = "kube-node-lease";

/// The Lease of `node` (whose uid is `node_uid`) renewed at `now`.
pub fn lease(node: &str, node_uid: &str, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node.to_string()),
            namespace: Some(NAMESPACE.to_string()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".to_string(),
                kind: "Node".to_string(),
                name: node.to_string(),
                uid: node_uid.to_string(),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// Renews the Lease until the process ends; waits for the Node's uid first.
pub async fn keep_lease(
    client: Client,
    node: String,
    mut node_uid: watch::Receiver<Option<String>>,
) {
    let leases: Api<Lease> = Api::namespaced(client, NAMESPACE);
    let mut tick = tokio::time::interval(RENEW_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let uid = match node_uid.wait_for(|u| u.is_some()).await {
            Ok(u) => u.clone().unwrap_or_default(),
            Err(_) => return,
        };
        tick.tick().await;
        let desired = lease(&node, &uid, Timestamp::now());
        let patch = serde_json::json!({ "spec": { "holderIdentity": node, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": desired.spec.as_ref().and_then(|s| s.renew_time.clone()) } });
        let result = match leases
            .patch(&node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Err(kube::Error::Api(e)) if e.code == 404 => leases
                .create(&PostParams::default(), &desired)
                .await
                .map(|_| ()),
            other => other.map(|_| ()),
        };
        if let Err(e) = result {
            tracing::warn!(node = %node, error = %e, "renewing the node Lease failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_names_its_node_as_holder_and_owner() {
        let l = lease("n1", "uid-1", Timestamp::from_second(10).unwrap());
        assert_eq!(l.metadata.namespace.as_deref(), Some("kube-node-lease"));
        let spec = l.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("n1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        let owner = &l.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Node", "uid-1"));
    }
}
