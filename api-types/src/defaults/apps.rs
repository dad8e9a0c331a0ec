//! Defaults for the apps group: deployments, replica sets, daemon sets and stateful sets.
//!
//! Besides their own fields, each of these defaults its pod template like any pod spec, and
//! a stateful set defaults its volume claim templates like claims.

use super::pod::default_pod_template_spec;
use super::volume::default_persistent_volume_claim;
use super::{default_absent, default_string};
use crate::k8s::api::apps::v1::{
    DaemonSet, Deployment, ReplicaSet, RollingUpdateStatefulSetStrategy, StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
};
use crate::k8s::apimachinery::pkg::util::intstr::IntOrString;

/// How many old revisions a workload keeps for rollbacks.
const REVISION_HISTORY_LIMIT: i32 = 10;
/// How long a deployment may make no progress before it is reported as stalled.
const PROGRESS_DEADLINE_SECONDS: i32 = 600;
const ROLLING_UPDATE: &str = "RollingUpdate";

/// Defaults a deployment: one replica, a 25%/25% rolling update, ten kept revisions and a
/// ten-minute progress deadline.
pub fn default_deployment(deployment: &mut Deployment) {
    let spec = deployment.spec.get_or_insert_with(Default::default);
    default_absent(&mut spec.replicas, 1);
    let strategy = spec.strategy.get_or_insert_with(Default::default);
    default_string(&mut strategy.type_, ROLLING_UPDATE);
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        let rolling = strategy.rolling_update.get_or_insert_with(Default::default);
        let quarter = IntOrString::String("25%".to_owned());
        default_absent(&mut rolling.max_unavailable, quarter.clone());
        default_absent(&mut rolling.max_surge, quarter);
    }
    default_absent(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    default_absent(
        &mut spec.progress_deadline_seconds,
        PROGRESS_DEADLINE_SECONDS,
    );
    default_pod_template_spec(&mut spec.template);
}

/// Defaults a replica set: one replica and its pod template.
pub fn default_replica_set(replica_set: &mut ReplicaSet) {
    let spec = replica_set.spec.get_or_insert_with(Default::default);
    default_absent(&mut spec.replicas, 1);
    default_pod_template_spec(spec.template.get_or_insert_with(Default::default));
}

/// Defaults a daemon set: a rolling update of one node at a time with no surge, and ten
/// kept revisions.
pub fn default_daemon_set(daemon_set: &mut DaemonSet) {
    let spec = daemon_set.spec.get_or_insert_with(Default::default);
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    default_string(&mut strategy.type_, ROLLING_UPDATE);
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        let rolling = strategy.rolling_update.get_or_insert_with(Default::default);
        default_absent(&mut rolling.max_unavailable, IntOrString::Int(1));
        default_absent(&mut rolling.max_surge, IntOrString::Int(0));
    }
    default_absent(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    default_pod_template_spec(&mut spec.template);
}

/// Defaults a stateful set: ordered pod management, a rolling update from partition 0,
/// claims retained on deletion and scale-down, one replica and ten kept revisions.
pub fn default_stateful_set(stateful_set: &mut StatefulSet) {
    let spec = stateful_set.spec.get_or_insert_with(Default::default);
    default_string(&mut spec.pod_management_policy, "OrderedReady");
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    if super::is_unset(&strategy.type_) {
        strategy.type_ = Some(ROLLING_UPDATE.to_owned());
        default_absent(
            &mut strategy.rolling_update,
            RollingUpdateStatefulSetStrategy::default(),
        );
    }
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE) {
        if let Some(rolling) = &mut strategy.rolling_update {
            default_absent(&mut rolling.partition, 0);
        }
    }
    let retention = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    default_string(&mut retention.when_deleted, "Retain");
    default_string(&mut retention.when_scaled, "Retain");
    default_absent(&mut spec.replicas, 1);
    default_absent(&mut spec.revision_history_limit, REVISION_HISTORY_LIMIT);
    default_pod_template_spec(&mut spec.template);
    for claim in spec.volume_claim_templates.iter_mut().flatten() {
        default_persistent_volume_claim(claim);
    }
}
