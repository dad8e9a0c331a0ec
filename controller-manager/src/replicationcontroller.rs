//! The `replicationcontroller` controller: core/v1 ReplicationControllers, kept by the same
//! reconciler as ReplicaSets ([`crate::replicaset`]). What differs is spelled here: the
//! selector is a plain label map whose every pair a pod must carry.

use crate::replicaset::{self, ReplicaOwner, ReplicaStatus};
use crate::Context;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use std::collections::BTreeMap;
use std::sync::Arc;

impl ReplicaOwner for ReplicationController {
    const COMPONENT: &'static str = "replication-controller";
    const CONTROLLER: &'static str = "replicationcontroller";

    fn selects(&self, labels: &BTreeMap<String, String>) -> Option<bool> {
        let selector = self.spec.as_ref()?.selector.as_ref()?;
        (!selector.is_empty()).then(|| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }

    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn replica_status(&self) -> Option<ReplicaStatus> {
        ReplicaStatus::from_status(self.status.as_ref())
    }
}

/// Runs the `replicationcontroller` controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let workers = ctx.replicationcontroller_workers;
    replicaset::run_for::<ReplicationController>(ctx, workers).await;
}
