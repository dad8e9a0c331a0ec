//! The Rust type behind each kind Berth serves, for schema generation.
//!
//! The resource catalog names kinds by strings; schemas come from the `k8s-openapi` types
//! themselves. This table joins the two. Each entry reads its group, version and kind from the
//! type, so a typo cannot pair a kind with another kind's schema, and a test checks that every
//! catalog entry has its type here.

use berth_api_types::k8s;
use k8s::api::{
    apps::v1 as apps, autoscaling::v1 as autoscaling, batch::v1 as batch,
    certificates::v1 as certificates, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, networking::v1 as networking,
    node::v1 as node, policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling,
};
use k8s::Resource;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use std::borrow::Cow;

/// One kind and the type that describes it.
#[derive(Clone, Copy)]
pub struct KindType {
    /// API group; empty for core.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// The kind, such as `Deployment`.
    pub kind: &'static str,
    /// The component name of the kind's schema, such as `io.k8s.api.apps.v1.Deployment`.
    pub schema_name: fn() -> Cow<'static, str>,
    /// Adds the kind's schema, and every schema it refers to, to a generator.
    pub add_to: fn(&mut SchemaGenerator) -> Schema,
}

impl std::fmt::Debug for KindType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KindType({}/{} {})", self.group, self.version, self.kind)
    }
}

fn add_to<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

macro_rules! kinds {
    ($($ty:ty),* $(,)?) => {
        &[$(KindType {
            group: <$ty as Resource>::GROUP,
            version: <$ty as Resource>::VERSION,
            kind: <$ty as Resource>::KIND,
            schema_name: <$ty as JsonSchema>::schema_name,
            add_to: add_to::<$ty>,
        }),*]
    };
}

/// Every kind with a schema: the kinds of the catalog, plus `autoscaling/v1` `Scale`, which the
/// `scale` subresources read and write.
pub static KINDS: &[KindType] = kinds![
    core::ConfigMap,
    core::Endpoints,
    core::Event,
    core::LimitRange,
    core::Namespace,
    core::Node,
    core::Pod,
    core::PodTemplate,
    core::ReplicationController,
    core::ResourceQuota,
    core::Secret,
    core::ServiceAccount,
    core::Service,
    apps::ControllerRevision,
    apps::DaemonSet,
    apps::Deployment,
    apps::ReplicaSet,
    apps::StatefulSet,
    events::Event,
    batch::CronJob,
    batch::Job,
    certificates::CertificateSigningRequest,
    networking::IngressClass,
    networking::Ingress,
    networking::NetworkPolicy,
    policy::PodDisruptionBudget,
    rbac::ClusterRoleBinding,
    rbac::ClusterRole,
    rbac::RoleBinding,
    rbac::Role,
    scheduling::PriorityClass,
    coordination::Lease,
    node::RuntimeClass,
    discovery::EndpointSlice,
    autoscaling::Scale,
];

/// The type of `kind` in `group`/`version`, if Berth has its schema.
pub fn find(group: &str, version: &str, kind: &str) -> Option<&'static KindType> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// Schemas every group-version document carries for its operations: the options of a delete,
/// the `Status` of failures and the body of a patch.
pub fn add_shared(generator: &mut SchemaGenerator) {
    use k8s::apimachinery::pkg::apis::meta::v1 as meta;
    add_to::<meta::DeleteOptions>(generator);
    add_to::<meta::Status>(generator);
    add_to::<meta::Patch>(generator);
}

/// Component names of the [`add_shared`] schemas.
pub fn shared_names() -> [Cow<'static, str>; 3] {
    use k8s::apimachinery::pkg::apis::meta::v1 as meta;
    [
        meta::DeleteOptions::schema_name(),
        meta::Status::schema_name(),
        meta::Patch::schema_name(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::catalog::CATALOG;

    #[test]
    fn every_catalog_kind_has_a_type() {
        for r in CATALOG {
            assert!(
                find(r.group, r.version, r.kind).is_some(),
                "no schema type for {}/{} {}",
                r.group,
                r.version,
                r.kind
            );
            for sub in r
                .subresources
                .iter()
                .filter(|s| matches!(s.name, "status" | "scale"))
            {
                let gv = sub.group_version(r);
                assert!(
                    find(gv.group, gv.version, sub.kind).is_some(),
                    "no schema type for {} of {}",
                    sub.name,
                    r.plural
                );
            }
        }
    }

    #[test]
    fn schema_names_follow_the_kind() {
        let deploy = find("apps", "v1", "Deployment").expect("Deployment");
        assert_eq!((deploy.schema_name)(), "io.k8s.api.apps.v1.Deployment");
        let event = find("events.k8s.io", "v1", "Event").expect("events Event");
        assert_eq!((event.schema_name)(), "io.k8s.api.events.v1.Event");
    }
}
