//! Defaulting: the values Kubernetes fills in when an object is decoded.
//!
//! Every object a client sends passes through defaulting before admission and validation,
//! and the defaulted form is what Berth stores and returns. `kubectl get -o yaml`,
//! `kubectl diff` and client-side `apply` all compare against that form, so each default
//! here matches Kubernetes v1.33 with its default feature gates: the same fields, the same
//! values, set under the same conditions, including defaults of nested types (every
//! container, probe, port and volume of every pod template).
//!
//! Rules shared by every function:
//!
//! - a value the client set is kept; only absent fields are filled. For fields Kubernetes
//!   declares as plain values rather than pointers, an empty string or zero counts as absent,
//!   as it does there. The one exception is Kubernetes' own: a namespace's
//!   `kubernetes.io/metadata.name` label always mirrors its name;
//! - defaulting twice gives the same object as defaulting once;
//! - structs Kubernetes always carries (a pod's `spec`, a deployment's `strategy`, a
//!   container's `resources`) are created when missing, so their defaults apply and they are
//!   printed as they would be there;
//! - resource quantities are rewritten in canonical form (see [`quantity`]).
//!
//! Some values seen on stored objects are not defaults and are left to other parts of Berth:
//! a pod's `status.phase: Pending` and `qosClass`, a namespace's `spec.finalizers`, a
//! service's cluster IPs and `ipFamilyPolicy`, and a job's selector and controller-uid labels
//! come from each kind's create strategy; a pod's `priority`, `preemptionPolicy`, service
//! account, token volume and default tolerations come from admission.
//!
//! The typed functions (`default_pod`, `default_deployment`, ...) work on the `k8s-openapi`
//! structs; [`apply_defaults`] decodes a JSON object by group and kind, defaults it and
//! encodes it again.

mod admission;
mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod crd;
mod image;
mod networking;
mod pod;
pub mod quantity;
mod rbac;
mod scheduling;
mod service;
mod storage;
mod volume;

pub use admission::{
    default_mutating_webhook_configuration, default_validating_webhook_configuration,
};
pub use apps::{default_daemon_set, default_deployment, default_replica_set, default_stateful_set};
pub use autoscaling::{default_horizontal_pod_autoscaler, default_horizontal_pod_autoscaler_v1};
pub use batch::{default_cron_job, default_job};
pub use cluster::{
    default_limit_range, default_namespace, default_node, default_resource_quota, default_secret,
};
pub use crd::default_custom_resource_definition;
pub use image::{default_pull_policy, image_tag};
pub use networking::{default_endpoint_slice, default_ingress_class, default_network_policy};
pub use pod::{
    default_container, default_ephemeral_container, default_pod, default_pod_spec,
    default_pod_template, default_pod_template_spec, default_probe, default_replication_controller,
};
pub use rbac::{default_cluster_role_binding, default_role_binding};
pub use scheduling::default_priority_class;
pub use service::{default_endpoints, default_service};
pub use storage::{default_csi_driver, default_storage_class};
pub use volume::{
    default_persistent_volume, default_persistent_volume_claim,
    default_persistent_volume_claim_spec, default_volume,
};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::k8s;

/// Why [`apply_defaults`] could not default an object.
#[derive(Debug, thiserror::Error)]
pub enum DefaultingError {
    /// The JSON does not fit the kind's schema: a field has the wrong type, such as a string
    /// where a number belongs. (Absent required fields are not an error: like Kubernetes,
    /// Berth decodes them as empty values and leaves them to validation.) The object is left
    /// unchanged.
    #[error("cannot decode {kind}.{group} {name:?} for defaulting: {message}")]
    Decode {
        /// API group of the object ("" for the core group).
        group: String,
        /// Kind of the object.
        kind: String,
        /// `metadata.name` of the object, empty when it has none.
        name: String,
        /// What the decoder reported.
        message: String,
    },
    /// The defaulted object could not be written back as JSON.
    #[error("cannot encode defaulted {kind}.{group} {name:?}: {message}")]
    Encode {
        /// API group of the object ("" for the core group).
        group: String,
        /// Kind of the object.
        kind: String,
        /// `metadata.name` of the object, empty when it has none.
        name: String,
        /// What the encoder reported.
        message: String,
    },
}

/// Applies Kubernetes' defaults to `obj`, a JSON object of the given group and kind.
///
/// The object is decoded into its typed struct, defaulted, and encoded back in place, so
/// fields the kind does not define are dropped, as Kubernetes drops them. The version comes
/// from the object's `apiVersion`; kinds and versions Berth has no defaults for are left
/// unchanged and give `Ok`. On error the object is left unchanged.
pub fn apply_defaults(
    group: &str,
    kind: &str,
    obj: &mut serde_json::Value,
) -> Result<(), DefaultingError> {
    apply_defaults_with(group, kind, obj, None)
}

/// Applies Kubernetes' defaults to `obj` (as [`apply_defaults`] does), then validates the
/// defaulted object (as [`crate::validation::validate`] does) from the typed value defaulting
/// decoded, instead of decoding it a second time. Returns the validation errors.
pub fn apply_defaults_and_validate(
    group: &str,
    kind: &str,
    obj: &mut serde_json::Value,
) -> Result<crate::validation::ErrorList, DefaultingError> {
    let mut errors = None;
    let mut validate = |typed: &dyn std::any::Any| {
        errors = crate::validation::validate_typed(group, kind, typed);
    };
    apply_defaults_with(group, kind, obj, Some(&mut validate))?;
    Ok(match errors {
        Some(errors) => errors,
        // No defaults for the kind, or another type: validation decodes it itself.
        None => crate::validation::validate(group, kind, obj),
    })
}

/// [`apply_defaults`], calling `after` with the typed object once it is defaulted.
fn apply_defaults_with(
    group: &str,
    kind: &str,
    obj: &mut serde_json::Value,
    after: Option<After<'_>>,
) -> Result<(), DefaultingError> {
    use k8s::api::{admissionregistration, apps, autoscaling, batch, core, discovery};
    use k8s::api::{networking, rbac, scheduling, storage};
    use k8s::apiextensions_apiserver::pkg::apis::apiextensions;

    let mut run = Dispatch {
        group,
        kind,
        obj,
        after,
    };
    match (group, kind) {
        ("", "Pod") => run.typed::<core::v1::Pod>(default_pod),
        ("", "PodTemplate") => run.typed::<core::v1::PodTemplate>(default_pod_template),
        ("", "ReplicationController") => {
            run.typed::<core::v1::ReplicationController>(default_replication_controller)
        }
        ("", "Service") => run.typed::<core::v1::Service>(default_service),
        ("", "Endpoints") => run.typed::<core::v1::Endpoints>(default_endpoints),
        ("", "Secret") => run.typed::<core::v1::Secret>(default_secret),
        ("", "Namespace") => run.typed::<core::v1::Namespace>(default_namespace),
        ("", "Node") => run.typed::<core::v1::Node>(default_node),
        ("", "LimitRange") => run.typed::<core::v1::LimitRange>(default_limit_range),
        ("", "ResourceQuota") => run.typed::<core::v1::ResourceQuota>(default_resource_quota),
        ("", "PersistentVolume") => {
            run.typed::<core::v1::PersistentVolume>(default_persistent_volume)
        }
        ("", "PersistentVolumeClaim") => {
            run.typed::<core::v1::PersistentVolumeClaim>(default_persistent_volume_claim)
        }
        ("apps", "Deployment") => run.typed::<apps::v1::Deployment>(default_deployment),
        ("apps", "ReplicaSet") => run.typed::<apps::v1::ReplicaSet>(default_replica_set),
        ("apps", "DaemonSet") => run.typed::<apps::v1::DaemonSet>(default_daemon_set),
        ("apps", "StatefulSet") => run.typed::<apps::v1::StatefulSet>(default_stateful_set),
        ("batch", "Job") => run.typed::<batch::v1::Job>(default_job),
        ("batch", "CronJob") => run.typed::<batch::v1::CronJob>(default_cron_job),
        ("networking.k8s.io", "NetworkPolicy") => {
            run.typed::<networking::v1::NetworkPolicy>(default_network_policy)
        }
        ("networking.k8s.io", "IngressClass") => {
            run.typed::<networking::v1::IngressClass>(default_ingress_class)
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            run.typed::<discovery::v1::EndpointSlice>(default_endpoint_slice)
        }
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            run.typed::<rbac::v1::RoleBinding>(default_role_binding)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            run.typed::<rbac::v1::ClusterRoleBinding>(default_cluster_role_binding)
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            run.typed::<scheduling::v1::PriorityClass>(default_priority_class)
        }
        ("storage.k8s.io", "StorageClass") => {
            run.typed::<storage::v1::StorageClass>(default_storage_class)
        }
        ("storage.k8s.io", "CSIDriver") => run.typed::<storage::v1::CSIDriver>(default_csi_driver),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if run.api_version() == Some("autoscaling/v1") {
                run.typed::<autoscaling::v1::HorizontalPodAutoscaler>(
                    default_horizontal_pod_autoscaler_v1,
                )
            } else {
                run.typed::<autoscaling::v2::HorizontalPodAutoscaler>(
                    default_horizontal_pod_autoscaler,
                )
            }
        }
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            run.typed::<admissionregistration::v1::ValidatingWebhookConfiguration>(
                default_validating_webhook_configuration,
            )
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            run.typed::<admissionregistration::v1::MutatingWebhookConfiguration>(
                default_mutating_webhook_configuration,
            )
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            run.typed::<apiextensions::v1::CustomResourceDefinition>(
                default_custom_resource_definition,
            )
        }
        _ => Ok(()),
    }
}

/// One object on its way through [`apply_defaults`].
struct Dispatch<'a, 'f> {
    group: &'a str,
    kind: &'a str,
    obj: &'a mut serde_json::Value,
    after: Option<After<'f>>,
}

/// What runs on a typed object once it is defaulted.
type After<'f> = &'f mut dyn FnMut(&dyn std::any::Any);

impl Dispatch<'_, '_> {
    fn api_version(&self) -> Option<&str> {
        self.obj
            .get("apiVersion")
            .and_then(serde_json::Value::as_str)
    }

    fn name(&self) -> String {
        self.obj
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// Decodes the object as `T`, defaults it with `apply` and writes it back.
    fn typed<T>(&mut self, apply: fn(&mut T)) -> Result<(), DefaultingError>
    where
        T: k8s::Resource + DeserializeOwned + Serialize + 'static,
    {
        // An object of another version than the one Berth defaults is left alone.
        if self
            .api_version()
            .is_some_and(|version| version != T::API_VERSION)
        {
            return Ok(());
        }
        let mut typed = T::deserialize(&*self.obj).map_err(|err| DefaultingError::Decode {
            group: self.group.to_owned(),
            kind: self.kind.to_owned(),
            name: self.name(),
            message: err.to_string(),
        })?;
        apply(&mut typed);
        if let Some(after) = self.after.as_mut() {
            after(&typed);
        }
        let encoded = serde_json::to_value(&typed).map_err(|err| DefaultingError::Encode {
            group: self.group.to_owned(),
            kind: self.kind.to_owned(),
            name: self.name(),
            message: err.to_string(),
        })?;
        *self.obj = encoded;
        Ok(())
    }
}

/// True when a string field Kubernetes keeps as a plain value is unset (absent or empty).
fn is_unset(field: &Option<String>) -> bool {
    field.as_deref().is_none_or(str::is_empty)
}

/// Fills a plain-value string field that is absent or empty.
fn default_string(field: &mut Option<String>, value: &str) {
    if is_unset(field) {
        *field = Some(value.to_owned());
    }
}

/// Fills a plain-value integer field that is absent or zero.
fn default_number<N: Copy + Default + PartialEq>(field: &mut Option<N>, value: N) {
    if field.is_none_or(|current| current == N::default()) {
        *field = Some(value);
    }
}

/// Fills a pointer field that is absent; any value the client sent, even empty, is kept.
fn default_absent<T>(field: &mut Option<T>, value: T) {
    if field.is_none() {
        *field = Some(value);
    }
}

#[cfg(test)]
mod tests;
