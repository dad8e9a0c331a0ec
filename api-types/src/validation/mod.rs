//! Validation: the rules Kubernetes applies to an object before it is stored, with the same
//! field paths and the same wording, so that clients (kubectl above all) show users exactly
//! what an upstream API server would.
//!
//! - [`field_error`]: [`FieldError`], [`Path`], [`ErrorList`] and the message formats;
//! - [`names`]: syntax of names, label keys and values, ports, keys, IPs;
//! - [`meta`]: `metadata` on create and update, labels, annotations, selectors;
//! - one module per API group with typed `validate_<kind>` and `validate_<kind>_update`
//!   functions;
//! - [`validate`] and [`validate_update`]: the same rules for objects held as JSON, chosen by
//!   group and kind.
//!
//! The rules assume Berth's defaulting has run: a field that defaulting fills (restart
//! policy, protocols, probe timings, strategies) is only checked when present. Checks that
//! need cluster state (quota, admission, uniqueness of node ports) live elsewhere.

pub mod apps;
pub mod batch;
pub mod core;
pub mod field_error;
pub mod meta;
pub mod names;
pub mod networking;
pub mod other;
pub mod pod;
pub mod quantity;
pub mod rbac;
pub mod service;

use k8s_openapi::api::{
    apps::v1 as apps_v1, batch::v1 as batch_v1, certificates::v1 as certificates_v1,
    coordination::v1 as coordination_v1, core::v1 as core_v1, discovery::v1 as discovery_v1,
    events::v1 as events_v1, networking::v1 as networking_v1, node::v1 as node_v1,
    policy::v1 as policy_v1, rbac::v1 as rbac_v1, scheduling::v1 as scheduling_v1,
};
use serde_json::Value;

pub use field_error::{
    aggregate_message, go_quote, invalid_status_message, ErrorList, ErrorType, FieldError, Path,
};
pub use meta::{
    validate_object_meta, validate_object_meta_update, validate_resource_version_for_update,
};
pub use names::NameRule;

pub use self::apps::{
    validate_controller_revision, validate_controller_revision_update, validate_daemon_set,
    validate_daemon_set_update, validate_deployment, validate_deployment_update,
    validate_replica_set, validate_replica_set_update, validate_stateful_set,
    validate_stateful_set_update,
};
pub use self::batch::{
    validate_cron_job, validate_cron_job_update, validate_job, validate_job_update,
};
pub use self::core::{
    validate_config_map, validate_config_map_update, validate_endpoints, validate_endpoints_update,
    validate_event, validate_event_update, validate_limit_range, validate_namespace,
    validate_namespace_update, validate_node, validate_node_update, validate_pod_template,
    validate_pod_template_update, validate_replication_controller,
    validate_replication_controller_update, validate_resource_quota,
    validate_resource_quota_update, validate_secret, validate_secret_update,
    validate_service_account, validate_service_account_update,
};
pub use self::networking::{
    validate_ingress, validate_ingress_class, validate_ingress_class_update,
    validate_ingress_update, validate_network_policy, validate_network_policy_update,
};
pub use self::other::{
    validate_certificate_signing_request, validate_certificate_signing_request_update,
    validate_endpoint_slice, validate_endpoint_slice_update, validate_events_event,
    validate_events_event_update, validate_lease, validate_lease_update,
    validate_pod_disruption_budget, validate_pod_disruption_budget_update, validate_priority_class,
    validate_priority_class_update, validate_runtime_class, validate_runtime_class_update,
};
pub use self::pod::{validate_pod, validate_pod_update};
pub use self::rbac::{
    validate_cluster_role, validate_cluster_role_binding, validate_cluster_role_binding_update,
    validate_cluster_role_update, validate_role, validate_role_binding,
    validate_role_binding_update, validate_role_update,
};
pub use self::service::{validate_service, validate_service_update};

/// What validation knows about a kind it has rules for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// Kind name, e.g. `Deployment`.
    pub kind: &'static str,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
    /// The syntax object names must follow.
    pub name_rule: NameRule,
}

fn limit_range_update(new: &core_v1::LimitRange, old: &core_v1::LimitRange) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_limit_range(new));
    errs
}

/// How the detail of the one error [`validate`] gives for undecodable JSON starts.
const UNDECODABLE: &str = "cannot decode ";

/// The decoder's complaint when `errors` is the single error [`validate`] or
/// [`validate_update`] gives for JSON that does not fit the kind's schema (a field of the wrong
/// type, not a broken rule), which Kubernetes reports as a failure to decode the request
/// rather than as an invalid object.
pub fn undecodable(errors: &[FieldError]) -> Option<&str> {
    match errors {
        [e] if e.field.is_empty() && e.error_type == ErrorType::Invalid => e
            .detail
            .strip_prefix(UNDECODABLE)
            .and_then(|rest| rest.split_once(": "))
            .map(|(_, message)| message),
        _ => None,
    }
}

fn decode<T>(kind: &str, obj: &Value) -> Result<T, FieldError>
where
    T: serde::de::DeserializeOwned + k8s_openapi::Resource,
{
    let Value::Object(map) = obj else {
        return Err(FieldError {
            error_type: ErrorType::Invalid,
            field: String::new(),
            bad_value: None,
            detail: format!("{UNDECODABLE}{kind}: expected a JSON object"),
            value_text: None,
        });
    };
    // Validation does not depend on the version the client used, so the object is read as
    // the version Berth's types model (without a copy when it already says so).
    let typed = if map.get("apiVersion").and_then(Value::as_str) == Some(T::API_VERSION)
        && map.get("kind").and_then(Value::as_str) == Some(T::KIND)
    {
        T::deserialize(obj)
    } else {
        let mut map = map.clone();
        map.insert("apiVersion".to_owned(), Value::from(T::API_VERSION));
        map.insert("kind".to_owned(), Value::from(T::KIND));
        serde_json::from_value(Value::Object(map))
    };
    typed.map_err(|e| FieldError {
        error_type: ErrorType::Invalid,
        field: String::new(),
        bad_value: None,
        detail: format!("{UNDECODABLE}{kind}: {e}"),
        value_text: None,
    })
}

macro_rules! kinds {
    ($( ($group:literal, $kind:literal, $ty:ty, $namespaced:literal, $rule:expr, $create:path, $update:path) ),* $(,)?) => {
        /// Every kind validation has rules for.
        pub const KINDS: &[KindInfo] = &[
            $( KindInfo { group: $group, kind: $kind, namespaced: $namespaced, name_rule: $rule } ),*
        ];

        fn dispatch_create(group: &str, kind: &str, obj: &Value) -> Option<ErrorList> {
            match (group, kind) {
                $( ($group, $kind) => Some(match decode::<$ty>(kind, obj) {
                    Ok(o) => $create(&o),
                    Err(e) => vec![e],
                }), )*
                _ => None,
            }
        }

        /// Validates a decoded object of `group`/`kind`; `None` when the kind has no rules or
        /// `obj` is not the type validation reads the kind as.
        pub fn validate_typed(group: &str, kind: &str, obj: &dyn std::any::Any) -> Option<ErrorList> {
            match (group, kind) {
                $( ($group, $kind) => obj.downcast_ref::<$ty>().map(|o| $create(o)), )*
                _ => None,
            }
        }

        fn dispatch_update(group: &str, kind: &str, new: &Value, old: &Value) -> Option<ErrorList> {
            match (group, kind) {
                $( ($group, $kind) => Some(match (decode::<$ty>(kind, new), decode::<$ty>(kind, old)) {
                    (Ok(n), Ok(o)) => $update(&n, &o),
                    (Err(e), _) | (_, Err(e)) => vec![e],
                }), )*
                _ => None,
            }
        }
    };
}

kinds![
    (
        "",
        "Pod",
        core_v1::Pod,
        true,
        NameRule::Dns1123Subdomain,
        validate_pod,
        validate_pod_update
    ),
    (
        "",
        "Service",
        core_v1::Service,
        true,
        NameRule::Dns1035Label,
        validate_service,
        validate_service_update
    ),
    (
        "",
        "ConfigMap",
        core_v1::ConfigMap,
        true,
        NameRule::Dns1123Subdomain,
        validate_config_map,
        validate_config_map_update
    ),
    (
        "",
        "Secret",
        core_v1::Secret,
        true,
        NameRule::Dns1123Subdomain,
        validate_secret,
        validate_secret_update
    ),
    (
        "",
        "Namespace",
        core_v1::Namespace,
        false,
        NameRule::Dns1123Label,
        validate_namespace,
        validate_namespace_update
    ),
    (
        "",
        "Node",
        core_v1::Node,
        false,
        NameRule::Dns1123Subdomain,
        validate_node,
        validate_node_update
    ),
    (
        "",
        "ServiceAccount",
        core_v1::ServiceAccount,
        true,
        NameRule::Dns1123Subdomain,
        validate_service_account,
        validate_service_account_update
    ),
    (
        "",
        "Endpoints",
        core_v1::Endpoints,
        true,
        NameRule::Dns1123Subdomain,
        validate_endpoints,
        validate_endpoints_update
    ),
    (
        "",
        "LimitRange",
        core_v1::LimitRange,
        true,
        NameRule::Dns1123Subdomain,
        validate_limit_range,
        limit_range_update
    ),
    (
        "",
        "ResourceQuota",
        core_v1::ResourceQuota,
        true,
        NameRule::Dns1123Subdomain,
        validate_resource_quota,
        validate_resource_quota_update
    ),
    (
        "",
        "PodTemplate",
        core_v1::PodTemplate,
        true,
        NameRule::Dns1123Subdomain,
        validate_pod_template,
        validate_pod_template_update
    ),
    (
        "",
        "ReplicationController",
        core_v1::ReplicationController,
        true,
        NameRule::Dns1123Subdomain,
        validate_replication_controller,
        validate_replication_controller_update
    ),
    (
        "",
        "Event",
        core_v1::Event,
        true,
        NameRule::Dns1123Subdomain,
        validate_event,
        validate_event_update
    ),
    (
        "apps",
        "Deployment",
        apps_v1::Deployment,
        true,
        NameRule::Dns1123Subdomain,
        validate_deployment,
        validate_deployment_update
    ),
    (
        "apps",
        "ReplicaSet",
        apps_v1::ReplicaSet,
        true,
        NameRule::Dns1123Subdomain,
        validate_replica_set,
        validate_replica_set_update
    ),
    (
        "apps",
        "DaemonSet",
        apps_v1::DaemonSet,
        true,
        NameRule::Dns1123Subdomain,
        validate_daemon_set,
        validate_daemon_set_update
    ),
    (
        "apps",
        "StatefulSet",
        apps_v1::StatefulSet,
        true,
        NameRule::Dns1123Label,
        validate_stateful_set,
        validate_stateful_set_update
    ),
    (
        "apps",
        "ControllerRevision",
        apps_v1::ControllerRevision,
        true,
        NameRule::Dns1123Subdomain,
        validate_controller_revision,
        validate_controller_revision_update
    ),
    (
        "batch",
        "Job",
        batch_v1::Job,
        true,
        NameRule::Dns1123Subdomain,
        validate_job,
        validate_job_update
    ),
    (
        "batch",
        "CronJob",
        batch_v1::CronJob,
        true,
        NameRule::Dns1123Subdomain,
        validate_cron_job,
        validate_cron_job_update
    ),
    (
        "networking.k8s.io",
        "Ingress",
        networking_v1::Ingress,
        true,
        NameRule::Dns1123Subdomain,
        validate_ingress,
        validate_ingress_update
    ),
    (
        "networking.k8s.io",
        "IngressClass",
        networking_v1::IngressClass,
        false,
        NameRule::Dns1123Subdomain,
        validate_ingress_class,
        validate_ingress_class_update
    ),
    (
        "networking.k8s.io",
        "NetworkPolicy",
        networking_v1::NetworkPolicy,
        true,
        NameRule::Dns1123Subdomain,
        validate_network_policy,
        validate_network_policy_update
    ),
    (
        "rbac.authorization.k8s.io",
        "Role",
        rbac_v1::Role,
        true,
        NameRule::PathSegment,
        validate_role,
        validate_role_update
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRole",
        rbac_v1::ClusterRole,
        false,
        NameRule::PathSegment,
        validate_cluster_role,
        validate_cluster_role_update
    ),
    (
        "rbac.authorization.k8s.io",
        "RoleBinding",
        rbac_v1::RoleBinding,
        true,
        NameRule::PathSegment,
        validate_role_binding,
        validate_role_binding_update
    ),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        rbac_v1::ClusterRoleBinding,
        false,
        NameRule::PathSegment,
        validate_cluster_role_binding,
        validate_cluster_role_binding_update
    ),
    (
        "coordination.k8s.io",
        "Lease",
        coordination_v1::Lease,
        true,
        NameRule::Dns1123Subdomain,
        validate_lease,
        validate_lease_update
    ),
    (
        "scheduling.k8s.io",
        "PriorityClass",
        scheduling_v1::PriorityClass,
        false,
        NameRule::Dns1123Subdomain,
        validate_priority_class,
        validate_priority_class_update
    ),
    (
        "policy",
        "PodDisruptionBudget",
        policy_v1::PodDisruptionBudget,
        true,
        NameRule::Dns1123Subdomain,
        validate_pod_disruption_budget,
        validate_pod_disruption_budget_update
    ),
    (
        "node.k8s.io",
        "RuntimeClass",
        node_v1::RuntimeClass,
        false,
        NameRule::Dns1123Subdomain,
        validate_runtime_class,
        validate_runtime_class_update
    ),
    (
        "discovery.k8s.io",
        "EndpointSlice",
        discovery_v1::EndpointSlice,
        true,
        NameRule::Dns1123Subdomain,
        validate_endpoint_slice,
        validate_endpoint_slice_update
    ),
    (
        "certificates.k8s.io",
        "CertificateSigningRequest",
        certificates_v1::CertificateSigningRequest,
        false,
        NameRule::Dns1123Subdomain,
        validate_certificate_signing_request,
        validate_certificate_signing_request_update
    ),
    (
        "events.k8s.io",
        "Event",
        events_v1::Event,
        true,
        NameRule::Dns1123Subdomain,
        validate_events_event,
        validate_events_event_update
    ),
];

/// What validation knows about `group`/`kind`, or `None` for a kind it has no rules for.
pub fn kind_info(group: &str, kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.group == group && k.kind == kind)
}

/// Validates an object about to be created. The object is JSON of kind `group`/`kind`;
/// JSON that does not fit the kind's schema gives a single error. A kind without rules
/// gives no errors.
pub fn validate(group: &str, kind: &str, obj: &Value) -> ErrorList {
    dispatch_create(group, kind, obj).unwrap_or_default()
}

/// Validates an update of an object from `old` to `new`, both JSON of kind `group`/`kind`.
/// JSON that does not fit the kind's schema gives a single error. A kind without rules gives
/// no errors.
pub fn validate_update(group: &str, kind: &str, new: &Value, old: &Value) -> ErrorList {
    dispatch_update(group, kind, new, old).unwrap_or_default()
}

/// Helpers shared by the validation tests: build objects from JSON patches and render the
/// resulting errors.
#[cfg(test)]
pub(crate) mod test_util {
    use serde_json::Value;

    /// Applies a JSON merge patch (objects merge, `null` deletes, anything else replaces).
    pub fn with(base: &Value, patch: Value) -> Value {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                let mut out = b.clone();
                for (k, v) in p {
                    if v.is_null() {
                        out.remove(&k);
                    } else {
                        let merged = with(out.get(&k).unwrap_or(&Value::Null), v);
                        out.insert(k, merged);
                    }
                }
                Value::Object(out)
            }
            (_, p) => p,
        }
    }

    /// The rendered errors of creating `obj`.
    pub fn create(group: &str, kind: &str, obj: &Value) -> Vec<String> {
        super::validate(group, kind, obj)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The rendered errors of updating `old` to `new`.
    pub fn update(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<String> {
        super::validate_update(group, kind, new, old)
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::create;
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatcher_reports_undecodable_objects() {
        let cases = [
            (
                json!("not an object"),
                "cannot decode Pod: expected a JSON object",
            ),
            (
                json!({"metadata": {"name": 5}}),
                "cannot decode Pod: invalid type: integer `5`, expected a string",
            ),
        ];
        for (obj, want) in cases {
            let errs = validate("", "Pod", &obj);
            assert_eq!(errs.len(), 1);
            assert_eq!(errs[0].error_type, ErrorType::Invalid);
            assert_eq!(errs[0].detail, want);
            assert_eq!(undecodable(&errs), want.split_once(": ").map(|(_, m)| m));
        }
        let broken_rule = validate("", "Pod", &json!({"metadata": {"name": "p"}, "spec": {}}));
        assert!(!broken_rule.is_empty());
        assert_eq!(undecodable(&broken_rule), None);
    }

    #[test]
    fn dispatcher_knows_scopes_and_name_rules() {
        let cases = [
            ("", "Pod", Some((true, NameRule::Dns1123Subdomain))),
            ("", "Service", Some((true, NameRule::Dns1035Label))),
            ("", "Namespace", Some((false, NameRule::Dns1123Label))),
            ("", "Node", Some((false, NameRule::Dns1123Subdomain))),
            (
                "rbac.authorization.k8s.io",
                "ClusterRole",
                Some((false, NameRule::PathSegment)),
            ),
            ("apps", "StatefulSet", Some((true, NameRule::Dns1123Label))),
            ("example.com", "Widget", None),
        ];
        for (group, kind, want) in cases {
            assert_eq!(
                kind_info(group, kind).map(|k| (k.namespaced, k.name_rule)),
                want,
                "{kind}"
            );
        }
        assert!(validate("example.com", "Widget", &json!({})).is_empty());
        assert!(validate_update("example.com", "Widget", &json!({}), &json!({})).is_empty());
    }

    #[test]
    fn dispatcher_ignores_the_client_version() {
        let cm = json!({"apiVersion": "v1beta9", "kind": "Whatever", "metadata": {"name": "c", "namespace": "d"}});
        assert!(create("", "ConfigMap", &cm).is_empty());
    }
}
