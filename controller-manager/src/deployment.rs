//! The `deployment` controller: each Deployment runs its pod template through one ReplicaSet
//! per template version, rolling from the old ones to the new one as its strategy allows.
//!
//! A sync reads the Deployment and the namespace's ReplicaSets fresh from the API, adopts
//! matching orphans, and then, as Kubernetes does:
//!
//! - finds the new ReplicaSet (the one whose template equals the Deployment's, ignoring the
//!   `pod-template-hash` label) or creates `<deployment>-<hash>`; the newest revision is one
//!   more than the highest old one (`deployment.kubernetes.io/revision`), so bringing an old
//!   template back (`kubectl rollout undo`) moves its ReplicaSet to a new revision;
//! - when paused, or when only the replica count changed, scales proportionally;
//! - otherwise rolls: RollingUpdate scales the new ReplicaSet up within `maxSurge` and old ones
//!   down within `maxUnavailable` (percentages rounded up for surge and down for
//!   unavailability); Recreate scales all old ones to zero, waits for their pods to go, then
//!   scales the new one up;
//! - deletes old, empty ReplicaSets beyond `revisionHistoryLimit` once a rollout completes;
//! - writes the status and the `Available` and `Progressing` conditions with Kubernetes'
//!   reasons, including `ProgressDeadlineExceeded`.
//!
//! The ReplicaSet name's hash is FNV-32a over the template (as canonical JSON) and the
//! collision count, encoded as Kubernetes encodes it; a name taken by a ReplicaSet with
//! another template raises `status.collisionCount` and the next sync tries another name.

use crate::events;
use crate::hints::is_status;
use crate::labels;
use crate::ownership;
use crate::queue::Outcome;
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Resource;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The component name on Events.
const COMPONENT: &str = "deployment-controller";
/// The revision of a Deployment and of each of its ReplicaSets.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet had.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's replicas plus its surge when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that keeps the pods of each ReplicaSet apart.
pub const HASH_LABEL: &str = "pod-template-hash";

/// Annotations of a Deployment that are not copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

// Condition types and reasons, as Kubernetes spells them.
const AVAILABLE: &str = "Available";
const PROGRESSING: &str = "Progressing";
const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
const RS_UPDATED: &str = "ReplicaSetUpdated";
const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
const TIMED_OUT: &str = "ProgressDeadlineExceeded";
const PAUSED: &str = "DeploymentPaused";
const RESUMED: &str = "DeploymentResumed";

// ---------------------------------------------------------------------------------------
// Pure parts: hashing, arithmetic of surge and unavailability, conditions.

/// FNV-32a of `bytes`.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Maps each byte of `s` into an alphabet without vowels or look-alikes, as Kubernetes makes
/// name suffixes that never spell words.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The `pod-template-hash` of `template` with `collision_count`.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    // serde_json's maps are ordered, so equal templates serialize to equal bytes.
    let value = serde_json::to_value(template).unwrap_or(Value::Null);
    let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(&(c as u32).to_le_bytes());
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// Whether two templates are equal once the `pod-template-hash` label is ignored.
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(meta) = t.metadata.as_mut() {
            if let Some(labels) = meta.labels.as_mut() {
                labels.remove(HASH_LABEL);
                if labels.is_empty() {
                    meta.labels = None;
                }
            }
        }
        serde_json::to_value(t).unwrap_or(Value::Null)
    };
    strip(a) == strip(b)
}

/// An absolute value or a percentage of `total`, rounded up or down.
pub fn scaled_value(v: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match v {
        None => 0,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return 0;
            };
            let product = p * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).unwrap_or(i32::MAX)
        }
    }
}

/// The surge and unavailability a rolling update may use for `desired` replicas: the surge
/// rounds up, the unavailability down, and both zero means one unavailable.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> (i32, i32) {
    let surge = scaled_value(max_surge, desired, true);
    let unavailable = scaled_value(max_unavailable, desired, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let default = IntOrString::String("25%".into());
    resolve_fenceposts(
        Some(
            rolling
                .and_then(|r| r.max_surge.as_ref())
                .unwrap_or(&default),
        ),
        Some(
            rolling
                .and_then(|r| r.max_unavailable.as_ref())
                .unwrap_or(&default),
        ),
        replicas(d),
    )
}

/// The surge of a rolling Deployment (zero for Recreate).
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        fenceposts(d).0
    } else {
        0
    }
}

/// The unavailability of a rolling Deployment, at most its replicas (zero for Recreate).
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn rs_status(rs: &ReplicaSet) -> (i32, i32, i32) {
    rs.status.as_ref().map_or((0, 0, 0), |s| {
        (
            s.replicas,
            s.ready_replicas.unwrap_or(0),
            s.available_replicas.unwrap_or(0),
        )
    })
}

fn annotation<'a>(obj: &'a impl Resource, key: &str) -> Option<&'a str> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn created(rs: &ReplicaSet) -> Option<Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// How many replicas the new ReplicaSet may have now: the Deployment's replicas for
/// Recreate; for RollingUpdate as many more as the surge leaves room for.
pub fn new_rs_new_replicas(
    desired: i32,
    surge: i32,
    rolling: bool,
    all_replicas: i32,
    new_replicas: i32,
) -> i32 {
    if !rolling {
        return desired;
    }
    let max_total = desired + surge;
    if all_replicas >= max_total {
        return new_replicas;
    }
    let up = (max_total - all_replicas).min(desired - new_replicas);
    new_replicas + up.max(0)
}

/// The share of `to_add` (positive or negative) a ReplicaSet of `rs_size` replicas gets when
/// a Deployment is scaled during a rollout, from its `max-replicas` annotation (or the
/// Deployment's current replicas) and the new total.
pub fn proportion(
    rs_size: i32,
    annotated_max: Option<i32>,
    status_replicas: i32,
    desired: i32,
    surge: i32,
    to_add: i32,
    added: i32,
) -> i32 {
    if rs_size == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if desired == 0 {
        -rs_size
    } else {
        let total = desired + surge;
        let annotated = annotated_max.unwrap_or(status_replicas);
        if annotated == 0 {
            0
        } else {
            let size = f64::from(rs_size) * f64::from(total) / f64::from(annotated);
            size.round() as i32 - rs_size
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

fn new_condition(type_: &str, status: &str, reason: &str, message: &str) -> DeploymentCondition {
    let now = Time(Timestamp::now());
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

/// Sets `c` in `status` as Kubernetes does: an existing condition with the same status and
/// reason is left alone; one with the same status keeps its transition time.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(current) = condition(status, &c.type_) {
        if current.status == c.status && current.reason == c.reason {
            return;
        }
        if current.status == c.status {
            c.last_transition_time = current.last_transition_time.clone();
        }
    }
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|x| x.type_ != c.type_);
    conditions.push(c);
}

fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
    }
}

fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .filter(|s| *s != i32::MAX)
}

/// Whether `status` shows every replica updated, counted and available at the current
/// generation.
pub fn complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = replicas(d);
    status.updated_replicas.unwrap_or(0) == want
        && status.replicas.unwrap_or(0) == want
        && status.available_replicas.unwrap_or(0) == want
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new` shows progress over the Deployment's recorded status.
pub fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

/// Whether the Progressing condition in `status` is older than the deadline at `now`.
pub fn timed_out(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(c) = condition(status, PROGRESSING) else {
        return false;
    };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => c.last_update_time.as_ref().is_some_and(|t| {
            t.0.checked_add(jiff::SignedDuration::from_secs(i64::from(deadline)))
                .is_ok_and(|end| end < now)
        }),
    }
}

/// The status of `d` from its ReplicaSets, with the Available condition.
pub fn calculate_status(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
) -> DeploymentStatus {
    let sum = |f: &dyn Fn(&ReplicaSet) -> i32| all.iter().map(|rs| f(rs)).sum::<i32>();
    let available = sum(&|rs| rs_status(rs).2);
    let total = sum(&rs_replicas);
    let some = |v: i32| (v != 0).then_some(v);
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: some(sum(&|rs| rs_status(rs).0)),
        updated_replicas: some(new.map_or(0, |rs| rs_status(rs).0)),
        ready_replicas: some(sum(&|rs| rs_status(rs).1)),
        available_replicas: some(available),
        unavailable_replicas: some((total - available).max(0)),
        collision_count: d.status.as_ref().and_then(|s| s.collision_count),
        conditions: d.status.as_ref().and_then(|s| s.conditions.clone()),
        ..DeploymentStatus::default()
    };
    if available >= replicas(d) - max_unavailable(d) {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                "True",
                MIN_AVAILABLE,
                "Deployment has minimum availability.",
            ),
        );
    } else {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
            ),
        );
    }
    status
}

// ---------------------------------------------------------------------------------------
// The sync.

/// One Deployment's sync: the client, the Deployment as last written, its ReplicaSets.
struct Sync {
    client: kube::Client,
    key: String,
    d: Deployment,
    sets: Api<ReplicaSet>,
    deployments: Api<Deployment>,
    rss: Vec<ReplicaSet>,
}

impl Sync {
    fn name(&self) -> &str {
        self.d.metadata.name.as_deref().unwrap_or_default()
    }

    fn template(&self) -> PodTemplateSpec {
        self.d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default()
    }

    /// The index of the new ReplicaSet among `rss` (the oldest whose template matches).
    fn new_index(&self) -> Option<usize> {
        let template = self.template();
        let mut found: Option<usize> = None;
        for (i, rs) in self.rss.iter().enumerate() {
            let Some(t) = rs.spec.as_ref().and_then(|s| s.template.as_ref()) else {
                continue;
            };
            if equal_ignoring_hash(t, &template)
                && found.is_none_or(|f| created(rs) < created(&self.rss[f]))
            {
                found = Some(i);
            }
        }
        found
    }

    fn old_indices(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rss.len()).filter(|i| Some(*i) != new).collect()
    }

    async fn event(&self, reason: &str, message: &str) {
        events::record(
            &self.client,
            COMPONENT,
            &ownership::object_reference(&self.d),
            events::NORMAL,
            reason,
            message,
        );
    }

    /// Writes `rs` (replicas and annotations) and keeps the answer.
    async fn write_rs(&mut self, i: usize, rs: ReplicaSet) -> Result<(), SyncError> {
        let name = rs.metadata.name.clone().unwrap_or_default();
        let written = self
            .sets
            .replace(&name, &PostParams::default(), &rs)
            .await
            .map_err(SyncError::api("updating replicaset", &name))?;
        self.rss[i] = written;
        Ok(())
    }

    /// Scales the ReplicaSet at `i` to `size` and stamps the replica annotations; records a
    /// ScalingReplicaSet Event when the size changes. Returns whether the size changed.
    async fn scale(&mut self, i: usize, size: i32) -> Result<bool, SyncError> {
        let want = replicas(&self.d);
        let max = want + max_surge(&self.d);
        let rs = &self.rss[i];
        let old = rs_replicas(rs);
        let stale = annotation(rs, DESIRED_REPLICAS) != Some(want.to_string().as_str())
            || annotation(rs, MAX_REPLICAS) != Some(max.to_string().as_str());
        if old == size && !stale {
            return Ok(false);
        }
        let mut rs = rs.clone();
        rs.spec.get_or_insert_with(ReplicaSetSpec::default).replicas = Some(size);
        let a = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        a.insert(DESIRED_REPLICAS.into(), want.to_string());
        a.insert(MAX_REPLICAS.into(), max.to_string());
        let rs_name = rs.metadata.name.clone().unwrap_or_default();
        self.write_rs(i, rs).await?;
        if old != size {
            let direction = if size > old { "up" } else { "down" };
            self.event(
                "ScalingReplicaSet",
                &format!("Scaled {direction} replica set {rs_name} from {old} to {size}"),
            )
            .await;
        }
        Ok(old != size)
    }

    /// Finds or (when `create`) makes the new ReplicaSet, and brings revisions up to date on
    /// it and on the Deployment. Returns its index.
    async fn sync_revision(&mut self, create: bool) -> Result<Option<usize>, SyncError> {
        let new = self.new_index();
        let max_old = self
            .old_indices(new)
            .iter()
            .map(|i| revision(&self.rss[*i]))
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        let index = match new {
            Some(i) => {
                let rs = &self.rss[i];
                let mut updated = rs.clone();
                let changed = self.stamp_annotations(&mut updated, new_revision);
                let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
                let spec = updated.spec.get_or_insert_with(ReplicaSetSpec::default);
                let ready_changed = spec.min_ready_seconds != min_ready;
                spec.min_ready_seconds = min_ready;
                if changed || ready_changed {
                    self.write_rs(i, updated).await?;
                }
                let mut status = self.d.status.clone().unwrap_or_default();
                let needs_condition = progress_deadline(&self.d).is_some()
                    && condition(&status, PROGRESSING).is_none();
                if needs_condition {
                    let msg = format!(
                        "Found new replica set \"{}\"",
                        self.rss[i].metadata.name.as_deref().unwrap_or_default()
                    );
                    set_condition(
                        &mut status,
                        new_condition(PROGRESSING, "True", FOUND_NEW_RS, &msg),
                    );
                    self.write_status(status).await?;
                }
                i
            }
            None if !create => {
                self.sync_deployment_revision(None).await?;
                return Ok(None);
            }
            None => match self.create_new(new_revision).await? {
                Some(i) => i,
                None => return Ok(None),
            },
        };
        self.sync_deployment_revision(Some(index)).await?;
        Ok(Some(index))
    }

    /// Copies the Deployment's annotations onto `rs` and raises its revision to `revision`
    /// (remembering the old one). Returns whether anything changed.
    fn stamp_annotations(&self, rs: &mut ReplicaSet, revision: i64) -> bool {
        let before = rs.metadata.annotations.clone();
        let a = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        for (k, v) in self.d.metadata.annotations.iter().flatten() {
            if !NOT_COPIED.contains(&k.as_str()) {
                a.insert(k.clone(), v.clone());
            }
        }
        let old: i64 = a.get(REVISION).and_then(|r| r.parse().ok()).unwrap_or(0);
        if old < revision {
            if old > 0 {
                let history = match a.get(REVISION_HISTORY) {
                    Some(h) if !h.is_empty() => format!("{h},{old}"),
                    _ => old.to_string(),
                };
                a.insert(REVISION_HISTORY.into(), history);
            }
            a.insert(REVISION.into(), revision.to_string());
        }
        rs.metadata.annotations != before
    }

    /// Sets the Deployment's revision annotation to the new ReplicaSet's.
    async fn sync_deployment_revision(&mut self, new: Option<usize>) -> Result<(), SyncError> {
        let Some(i) = new else {
            return Ok(());
        };
        let rev = revision(&self.rss[i]).to_string();
        if annotation(&self.d, REVISION) == Some(rev.as_str()) {
            return Ok(());
        }
        let patch = serde_json::json!({"metadata": {"annotations": {REVISION: rev},
            "resourceVersion": self.d.metadata.resource_version}});
        let written = self
            .deployments
            .patch(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(SyncError::api("annotating deployment", &self.key))?;
        self.d = written;
        Ok(())
    }

    /// Creates `<deployment>-<hash>`; on a name taken by another template, raises the
    /// collision count and fails the sync so the next one tries another name.
    async fn create_new(&mut self, revision: i64) -> Result<Option<usize>, SyncError> {
        let template = self.template();
        let collision = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = template_hash(&template, collision);
        let mut rs_template = template.clone();
        rs_template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector: LabelSelector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        let all: i32 = self.rss.iter().map(rs_replicas).sum();
        let size = new_rs_new_replicas(
            replicas(&self.d),
            max_surge(&self.d),
            is_rolling(&self.d),
            all,
            0,
        );
        let mut rs = ReplicaSet {
            spec: Some(ReplicaSetSpec {
                replicas: Some(size),
                min_ready_seconds: self.d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(rs_template),
            }),
            ..ReplicaSet::default()
        };
        let rs_name = format!("{}-{hash}", self.name());
        rs.metadata.name = Some(rs_name.clone());
        rs.metadata.namespace = self.d.metadata.namespace.clone();
        rs.metadata.labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
        rs.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(HASH_LABEL.into(), hash.clone());
        rs.metadata.owner_references = Some(vec![ownership::owner_reference(&self.d)]);
        self.stamp_annotations(&mut rs, revision);
        let a = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        a.insert(DESIRED_REPLICAS.into(), replicas(&self.d).to_string());
        a.insert(
            MAX_REPLICAS.into(),
            (replicas(&self.d) + max_surge(&self.d)).to_string(),
        );
        match self.sets.create(&PostParams::default(), &rs).await {
            Ok(created) => {
                self.rss.push(created);
                let i = self.rss.len() - 1;
                if size > 0 {
                    self.event(
                        "ScalingReplicaSet",
                        &format!("Scaled up replica set {rs_name} from 0 to {size}"),
                    )
                    .await;
                }
                if progress_deadline(&self.d).is_some() {
                    let mut status = self.d.status.clone().unwrap_or_default();
                    let msg = format!("Created new replica set \"{rs_name}\"");
                    set_condition(
                        &mut status,
                        new_condition(PROGRESSING, "True", NEW_RS_CREATED, &msg),
                    );
                    self.write_status(status).await?;
                }
                Ok(Some(i))
            }
            Err(err) if is_status(&err, 409) => {
                let existing = self
                    .sets
                    .get_opt(&rs_name)
                    .await
                    .map_err(SyncError::api("reading replicaset", &rs_name))?;
                let ours = existing.as_ref().is_some_and(|e| {
                    ownership::controller_of(&e.metadata)
                        .is_some_and(|o| Some(&o.uid) == self.d.metadata.uid.as_ref())
                        && e.spec
                            .as_ref()
                            .and_then(|s| s.template.as_ref())
                            .is_some_and(|t| equal_ignoring_hash(t, &template))
                });
                if ours {
                    // Made by an earlier sync this one did not see yet: the next sync finds it.
                    return Ok(None);
                }
                let mut status = self.d.status.clone().unwrap_or_default();
                status.collision_count = Some(collision.unwrap_or(0).saturating_add(1));
                self.write_status(status).await?;
                Err(SyncError::api(
                    "creating replicaset (hash collision)",
                    &rs_name,
                )(err))
            }
            Err(err) => Err(SyncError::api("creating replicaset", &rs_name)(err)),
        }
    }

    async fn write_status(&mut self, status: DeploymentStatus) -> Result<(), SyncError> {
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut d = self.d.clone();
        d.status = Some(status);
        match self
            .deployments
            .replace_status(self.name(), &PostParams::default(), &d)
            .await
        {
            Ok(written) => {
                self.d = written;
                Ok(())
            }
            Err(err) => Err(SyncError::api("writing deployment status", &self.key)(err)),
        }
    }

    fn active(&self, indices: &[usize]) -> Vec<usize> {
        indices
            .iter()
            .copied()
            .filter(|i| rs_replicas(&self.rss[*i]) > 0)
            .collect()
    }

    /// Scales without rolling: one active ReplicaSet takes the new size; during a rollout the
    /// difference is spread in proportion to each ReplicaSet's size.
    async fn scale_only(&mut self, new: Option<usize>) -> Result<(), SyncError> {
        let want = replicas(&self.d);
        let mut olds = self.old_indices(new);
        olds.sort_by_key(|i| std::cmp::Reverse(created(&self.rss[*i])));
        let mut all: Vec<usize> = olds.clone();
        all.extend(new);
        let active = self.active(&all);
        // One active ReplicaSet (or none: the newest) takes the whole size.
        let only = match active.len() {
            0 => new.or(olds.first().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = only {
            self.scale(i, want).await?;
            return Ok(());
        }
        let saturated = new.is_some_and(|i| {
            let rs = &self.rss[i];
            annotation(rs, DESIRED_REPLICAS) == Some(want.to_string().as_str())
                && rs_replicas(rs) == want
                && rs_status(rs).2 == want
        });
        if saturated {
            for i in self.active(&olds) {
                self.scale(i, 0).await?;
            }
            return Ok(());
        }
        if !is_rolling(&self.d) {
            return Ok(());
        }
        let total: i32 = active.iter().map(|i| rs_replicas(&self.rss[*i])).sum();
        let surge = max_surge(&self.d);
        let allowed = if want > 0 { want + surge } else { 0 };
        let to_add = allowed - total;
        let mut order = active.clone();
        // Larger first; among equals, newer first when growing and older first when shrinking.
        order.sort_by(|a, b| {
            let (ra, rb) = (&self.rss[*a], &self.rss[*b]);
            let size = rs_replicas(rb).cmp(&rs_replicas(ra));
            let age = if to_add > 0 {
                created(rb).cmp(&created(ra))
            } else {
                created(ra).cmp(&created(rb))
            };
            size.then(age)
        });
        let status_replicas = self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let mut sizes = Vec::new();
        let mut added = 0;
        for i in &order {
            let rs = &self.rss[*i];
            let size = rs_replicas(rs);
            let share = if to_add != 0 {
                let annotated = annotation(rs, MAX_REPLICAS).and_then(|v| v.parse().ok());
                let p = proportion(size, annotated, status_replicas, want, surge, to_add, added);
                added += p;
                p
            } else {
                0
            };
            sizes.push(size + share);
        }
        if let Some(first) = sizes.first_mut() {
            if to_add != 0 {
                *first = (*first + to_add - added).max(0);
            }
        }
        for (i, size) in order.into_iter().zip(sizes) {
            self.scale(i, size).await?;
        }
        Ok(())
    }

    /// Deletes old, empty ReplicaSets beyond the revision history limit, lowest revision first.
    async fn cleanup(&mut self, new: Option<usize>) -> Result<(), SyncError> {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
            return Ok(());
        };
        let mut olds: Vec<usize> = self
            .old_indices(new)
            .into_iter()
            .filter(|i| self.rss[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = olds.len() as i64 - i64::from(limit);
        if excess <= 0 {
            return Ok(());
        }
        olds.sort_by_key(|i| (revision(&self.rss[*i]), created(&self.rss[*i])));
        for i in olds.into_iter().take(excess as usize) {
            let rs = &self.rss[i];
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs_status(rs).0 != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            let name = rs.metadata.name.clone().unwrap_or_default();
            match self.sets.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(err) if is_status(&err, 404) => {}
                Err(err) => return Err(SyncError::api("deleting old replicaset", &name)(err)),
            }
        }
        Ok(())
    }

    fn refs(&self, new: Option<usize>) -> (Vec<&ReplicaSet>, Option<&ReplicaSet>) {
        let all: Vec<&ReplicaSet> = self.rss.iter().collect();
        (all, new.map(|i| &self.rss[i]))
    }

    /// Writes the status of a sync that does not roll (scaling, paused, deleting).
    async fn sync_status(&mut self, new: Option<usize>) -> Result<(), SyncError> {
        let (all, new_rs) = self.refs(new);
        let status = calculate_status(&self.d, &all, new_rs);
        self.write_status(status).await
    }

    /// Writes the status of a rollout with the Progressing condition; returns when to look
    /// again for the deadline.
    async fn sync_rollout_status(&mut self, new: Option<usize>) -> Result<Outcome, SyncError> {
        let (all, new_rs) = self.refs(new);
        let mut status = calculate_status(&self.d, &all, new_rs);
        let new_name = new_rs
            .and_then(|rs| rs.metadata.name.clone())
            .unwrap_or_default();
        let deadline = progress_deadline(&self.d);
        if deadline.is_none() {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = condition(&status, PROGRESSING).cloned();
        let done = status.replicas == status.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        let now = Timestamp::now();
        if deadline.is_some() && !done {
            if complete(&self.d, &status) {
                let msg = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, &msg),
                );
            } else if progressing(&self.d, &status) {
                let msg = if new_rs.is_some() {
                    format!("ReplicaSet \"{new_name}\" is progressing.")
                } else {
                    format!("Deployment \"{}\" is progressing.", self.name())
                };
                let mut c = new_condition(PROGRESSING, "True", RS_UPDATED, &msg);
                if let Some(cur) = current.as_ref().filter(|c| c.status == "True") {
                    c.last_transition_time = cur.last_transition_time.clone();
                }
                remove_condition(&mut status, PROGRESSING);
                set_condition(&mut status, c);
            } else if timed_out(&self.d, &status, now) {
                let msg = format!("ReplicaSet \"{new_name}\" has timed out progressing.");
                set_condition(
                    &mut status,
                    new_condition(PROGRESSING, "False", TIMED_OUT, &msg),
                );
            }
        }
        let finished = done || complete(&self.d, &status);
        let check_again = match (deadline, condition(&status, PROGRESSING)) {
            (Some(secs), Some(c)) if !finished && !timed_out(&self.d, &status, now) => {
                c.last_update_time.as_ref().map(|t| {
                    let end =
                        t.0.checked_add(jiff::SignedDuration::from_secs(i64::from(secs)))
                            .unwrap_or(t.0);
                    Duration::try_from(end.duration_since(now)).unwrap_or_default()
                        + Duration::from_secs(1)
                })
            }
            _ => None,
        };
        self.write_status(status).await?;
        Ok(check_again.map_or(Outcome::Done, Outcome::RequeueAfter))
    }

    /// The Progressing condition's paused and resumed states.
    async fn check_paused(&mut self) -> Result<(), SyncError> {
        if progress_deadline(&self.d).is_none() {
            return Ok(());
        }
        let mut status = self.d.status.clone().unwrap_or_default();
        let current = condition(&status, PROGRESSING);
        if current.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
            return Ok(());
        }
        let paused_now = current.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused && !paused_now {
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused"),
            );
        } else if !paused && paused_now {
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed"),
            );
        } else {
            return Ok(());
        }
        self.write_status(status).await
    }

    async fn rolling(&mut self) -> Result<Outcome, SyncError> {
        let Some(new) = self.sync_revision(true).await? else {
            return Ok(Outcome::RequeueAfter(Duration::from_millis(200)));
        };
        let want = replicas(&self.d);
        // Scale the new ReplicaSet up as far as the surge allows.
        let new_size = rs_replicas(&self.rss[new]);
        if new_size > want {
            self.scale(new, want).await?;
            return self.sync_rollout_status(Some(new)).await;
        }
        if new_size < want {
            let all: i32 = self.rss.iter().map(rs_replicas).sum();
            let size = new_rs_new_replicas(want, max_surge(&self.d), true, all, new_size);
            if self.scale(new, size).await? {
                return self.sync_rollout_status(Some(new)).await;
            }
        } else {
            // Annotations may still be stale.
            self.scale(new, want).await?;
        }
        if self.scale_down_olds(new).await? {
            return self.sync_rollout_status(Some(new)).await;
        }
        let (all, new_rs) = self.refs(Some(new));
        if complete(&self.d, &calculate_status(&self.d, &all, new_rs)) {
            self.cleanup(Some(new)).await?;
        }
        self.sync_rollout_status(Some(new)).await
    }

    /// Scales old ReplicaSets down as far as `maxUnavailable` allows, unhealthy replicas
    /// first. Returns whether anything was scaled.
    async fn scale_down_olds(&mut self, new: usize) -> Result<bool, SyncError> {
        let mut olds = self.active(&self.old_indices(Some(new)));
        if olds.is_empty() {
            return Ok(false);
        }
        let want = replicas(&self.d);
        let all_pods: i32 = self.rss.iter().map(rs_replicas).sum();
        let min_available = want - max_unavailable(&self.d);
        let new_rs = &self.rss[new];
        let new_unavailable = rs_replicas(new_rs) - rs_status(new_rs).2;
        let max_down = all_pods - min_available - new_unavailable;
        if max_down <= 0 {
            return Ok(false);
        }
        olds.sort_by_key(|i| created(&self.rss[*i]));
        // Unavailable replicas of old ReplicaSets go first: they serve nobody.
        let mut cleaned = 0;
        for i in olds.clone() {
            if cleaned >= max_down {
                break;
            }
            let rs = &self.rss[i];
            let (size, available) = (rs_replicas(rs), rs_status(rs).2);
            if size == 0 || available >= size {
                continue;
            }
            let down = (max_down - cleaned).min(size - available);
            cleaned += down;
            self.scale(i, size - down).await?;
        }
        // Then available ones, as far as the minimum availability allows.
        let available: i32 = self.rss.iter().map(|rs| rs_status(rs).2).sum();
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for i in olds {
                if scaled >= total {
                    break;
                }
                let size = rs_replicas(&self.rss[i]);
                if size == 0 {
                    continue;
                }
                let down = size.min(total - scaled);
                scaled += down;
                self.scale(i, size - down).await?;
            }
        }
        Ok(cleaned + scaled > 0)
    }

    async fn recreate(&mut self) -> Result<Outcome, SyncError> {
        let new = self.sync_revision(false).await?;
        let olds = self.active(&self.old_indices(new));
        let mut scaled = false;
        for i in olds {
            scaled |= self.scale(i, 0).await?;
        }
        if scaled {
            return self.sync_rollout_status(new).await;
        }
        if self.old_pods_running(new).await? {
            self.sync_rollout_status(new).await?;
            // Pod deletions are not watched: look again soon.
            return Ok(Outcome::RequeueAfter(Duration::from_millis(500)));
        }
        let new = match new {
            Some(i) => i,
            None => match self.sync_revision(true).await? {
                Some(i) => i,
                None => return Ok(Outcome::RequeueAfter(Duration::from_millis(200))),
            },
        };
        self.scale(new, replicas(&self.d)).await?;
        let (all, new_rs) = self.refs(Some(new));
        if complete(&self.d, &calculate_status(&self.d, &all, new_rs)) {
            self.cleanup(Some(new)).await?;
        }
        self.sync_rollout_status(Some(new)).await
    }

    /// Whether a pod of an old ReplicaSet may still run.
    async fn old_pods_running(&self, new: Option<usize>) -> Result<bool, SyncError> {
        let old_uids: Vec<&str> = self
            .old_indices(new)
            .into_iter()
            .filter_map(|i| self.rss[i].metadata.uid.as_deref())
            .collect();
        if old_uids.is_empty() {
            return Ok(false);
        }
        let ns = self.d.metadata.namespace.clone().unwrap_or_default();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let list = pods
            .list(&ListParams::default())
            .await
            .map_err(SyncError::api("listing pods for deployment", &self.key))?;
        Ok(list.items.iter().any(|p| {
            let owned = p
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && old_uids.contains(&o.uid.as_str()));
            let finished = matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            );
            owned && !finished
        }))
    }
}

/// Syncs the Deployment `ns/name`.
pub async fn sync(client: kube::Client, key: String) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let Some(d) = deployments
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading deployment", &key))?
    else {
        return Ok(Outcome::Done);
    };
    let selector = d
        .spec
        .as_ref()
        .map(|s| s.selector.clone())
        .unwrap_or_default();
    if labels::is_empty(&selector) {
        return Ok(Outcome::Done);
    }
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let listed = sets
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing replicasets for deployment", &key))?;
    let deleting = d.metadata.deletion_timestamp.is_some();
    // A ReplicaSet of ours on its way out stays ours even when it no longer matches.
    let matches = |rs: &ReplicaSet| {
        rs.metadata.deletion_timestamp.is_some()
            || labels::matches(
                &selector,
                rs.metadata.labels.as_ref().unwrap_or(&BTreeMap::new()),
            )
    };
    let rss = ownership::claim(&sets, &d, matches, listed.items.into_iter().map(Arc::new))
        .await?
        .into_iter()
        .map(|rs| Arc::try_unwrap(rs).unwrap_or_else(|rs| (*rs).clone()))
        .collect();
    let mut s = Sync {
        client,
        key: key.clone(),
        d,
        sets,
        deployments,
        rss,
    };
    if deleting {
        let new = s.new_index();
        s.sync_status(new).await?;
        return Ok(Outcome::Done);
    }
    s.check_paused().await?;
    let paused = s.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let want = replicas(&s.d).to_string();
    let scaling = s.rss.iter().any(|rs| {
        rs_replicas(rs) > 0 && annotation(rs, DESIRED_REPLICAS).is_some_and(|v| v != want)
    });
    if paused || scaling {
        let new = s.sync_revision(false).await?;
        s.scale_only(new).await?;
        if paused {
            s.cleanup(new).await?;
        }
        s.sync_status(new).await?;
        return Ok(Outcome::Done);
    }
    if is_rolling(&s.d) {
        s.rolling().await
    } else {
        s.recreate().await
    }
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let workers = ctx.deployment_workers;
    ownership::run::<Deployment, ReplicaSet, _, _>("deployment", &ctx, workers, sync).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn percentages_round_up_for_surge_and_down_for_unavailability() {
        assert_eq!(
            resolve_fenceposts(Some(&pct("25%")), Some(&pct("25%")), 10),
            (3, 2)
        );
        assert_eq!(
            resolve_fenceposts(Some(&pct("25%")), Some(&pct("25%")), 1),
            (1, 0)
        );
        assert_eq!(
            resolve_fenceposts(Some(&pct("0%")), Some(&pct("0%")), 10),
            (0, 1)
        );
        assert_eq!(
            resolve_fenceposts(Some(&IntOrString::Int(2)), Some(&IntOrString::Int(0)), 5),
            (2, 0)
        );
        assert_eq!(scaled_value(Some(&pct("33%")), 1000, true), 330);
        assert_eq!(scaled_value(Some(&pct("33%")), 7, true), 3);
        assert_eq!(scaled_value(Some(&pct("33%")), 7, false), 2);
    }

    #[test]
    fn the_new_replicaset_grows_within_the_surge() {
        // 10 wanted, surge 3: 10 old + 0 new may add 3.
        assert_eq!(new_rs_new_replicas(10, 3, true, 10, 0), 3);
        // At the ceiling nothing more.
        assert_eq!(new_rs_new_replicas(10, 3, true, 13, 3), 3);
        // Never past the wanted count.
        assert_eq!(new_rs_new_replicas(10, 3, true, 9, 9), 10);
        // Recreate jumps straight to the count.
        assert_eq!(new_rs_new_replicas(10, 0, false, 0, 0), 10);
    }

    #[test]
    fn scaling_during_a_rollout_is_proportional() {
        // Two ReplicaSets of 6 and 4 (max 10+2=12 annotated), deployment scaled 10 → 20
        // with surge 5: 25 allowed, 15 to add; 6 × 25 / 12 = 12.5 rounds to 13.
        assert_eq!(proportion(6, Some(12), 10, 20, 5, 15, 0), 7);
        assert_eq!(proportion(4, Some(12), 10, 20, 5, 15, 7), 4);
        // Scaling to zero takes everything away.
        assert_eq!(proportion(4, Some(12), 10, 0, 0, -10, 0), -4);
        // Nothing to add, nothing given.
        assert_eq!(proportion(4, Some(12), 10, 20, 5, 0, 0), 0);
    }

    #[test]
    fn hashes_are_stable_safe_and_change_with_the_collision_count() {
        let t: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}
        }))
        .unwrap();
        let h = template_hash(&t, None);
        assert_eq!(h, template_hash(&t.clone(), None));
        assert!(
            h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{h}"
        );
        assert_ne!(h, template_hash(&t, Some(1)));
        let mut other = t.clone();
        other.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
        assert_ne!(h, template_hash(&other, None));
        // The hash label itself does not make templates differ.
        let mut labelled = t.clone();
        labelled
            .metadata
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(HASH_LABEL.into(), h.clone());
        assert!(equal_ignoring_hash(&t, &labelled));
        assert!(!equal_ignoring_hash(&t, &other));
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        assert_eq!(safe_encode("0123"), "4567");
    }

    #[test]
    fn conditions_keep_their_transition_time_while_status_holds() {
        let mut status = DeploymentStatus::default();
        let mut first = new_condition(PROGRESSING, "True", NEW_RS_CREATED, "a");
        first.last_transition_time = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
        set_condition(&mut status, first);
        set_condition(
            &mut status,
            new_condition(PROGRESSING, "True", RS_UPDATED, "b"),
        );
        let c = condition(&status, PROGRESSING).unwrap();
        assert_eq!(c.reason.as_deref(), Some(RS_UPDATED));
        assert_eq!(
            c.last_transition_time.as_ref().unwrap().0,
            "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        set_condition(
            &mut status,
            new_condition(PROGRESSING, "False", TIMED_OUT, "c"),
        );
        let c = condition(&status, PROGRESSING).unwrap();
        assert_ne!(
            c.last_transition_time.as_ref().unwrap().0,
            "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(status.conditions.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn a_deadline_passes_only_for_an_unfinished_rollout() {
        let mut d = Deployment::default();
        d.spec
            .get_or_insert_with(Default::default)
            .progress_deadline_seconds = Some(10);
        let mut status = DeploymentStatus::default();
        let mut c = new_condition(PROGRESSING, "True", RS_UPDATED, "x");
        c.last_update_time = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
        set_condition(&mut status, c);
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(!timed_out(&d, &status, at("2026-01-01T00:00:05Z")));
        assert!(timed_out(&d, &status, at("2026-01-01T00:00:11Z")));
        set_condition(
            &mut status,
            new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, "y"),
        );
        assert!(!timed_out(&d, &status, at("2026-01-02T00:00:00Z")));
    }
}
