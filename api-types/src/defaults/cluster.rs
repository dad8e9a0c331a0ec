//! Defaults for the core objects that configure a cluster rather than run workloads:
//! namespaces, nodes, secrets, limit ranges and resource quotas.

use std::collections::BTreeMap;

use super::default_string;
use super::quantity::canonicalize_resource_list;
use crate::k8s::api::core::v1::{
    LimitRange, LimitRangeItem, Namespace, Node, ResourceQuota, Secret,
};
use crate::k8s::apimachinery::pkg::api::resource::Quantity;

/// The label through which every namespace can be selected by its name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Labels a namespace with its own name and starts it in the `Active` phase.
///
/// The name label always reflects the name, even if the client set it to something else,
/// as in Kubernetes. A namespace without a name yet (one using `generateName`) gets the
/// label later, when its create strategy has chosen the name.
pub fn default_namespace(namespace: &mut Namespace) {
    if let Some(name) = namespace
        .metadata
        .name
        .as_deref()
        .filter(|name| !name.is_empty())
    {
        let name = name.to_owned();
        namespace
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(NAMESPACE_NAME_LABEL.to_owned(), name);
    }
    let status = namespace.status.get_or_insert_with(Default::default);
    default_string(&mut status.phase, "Active");
}

/// Gives a node that reports a capacity but no allocatable amount its capacity as allocatable.
pub fn default_node(node: &mut Node) {
    let Some(status) = &mut node.status else {
        return;
    };
    if status.allocatable.is_none() {
        if let Some(capacity) = status
            .capacity
            .as_ref()
            .filter(|capacity| !capacity.is_empty())
        {
            status.allocatable = Some(capacity.clone());
        }
    }
    canonicalize_resource_list(&mut status.capacity);
    canonicalize_resource_list(&mut status.allocatable);
}

/// Secrets without a type are `Opaque`.
pub fn default_secret(secret: &mut Secret) {
    default_string(&mut secret.type_, "Opaque");
}

/// Fills each container limit's default limit from its maximum and its default request
/// from its default limit, then from its minimum.
pub fn default_limit_range(limit_range: &mut LimitRange) {
    let items = limit_range
        .spec
        .iter_mut()
        .flat_map(|spec| spec.limits.iter_mut());
    for item in items {
        if item.type_ == "Container" {
            default_container_limits(item);
        }
        for list in [
            &mut item.max,
            &mut item.min,
            &mut item.default,
            &mut item.default_request,
            &mut item.max_limit_request_ratio,
        ] {
            canonicalize_resource_list(list);
        }
    }
}

fn default_container_limits(item: &mut LimitRangeItem) {
    let max = item.max.clone();
    fill_missing(&mut item.default, max.as_ref());
    let default = item.default.clone();
    fill_missing(&mut item.default_request, default.as_ref());
    let min = item.min.clone();
    fill_missing(&mut item.default_request, min.as_ref());
}

/// Copies the entries of `from` whose names `into` lacks; creates `into` only if needed.
fn fill_missing(
    into: &mut Option<BTreeMap<String, Quantity>>,
    from: Option<&BTreeMap<String, Quantity>>,
) {
    for (name, value) in from.into_iter().flatten() {
        let target = into.get_or_insert_with(BTreeMap::new);
        target.entry(name.clone()).or_insert_with(|| value.clone());
    }
}

/// Writes a quota's amounts in canonical form; quotas have no other defaults.
pub fn default_resource_quota(quota: &mut ResourceQuota) {
    if let Some(spec) = &mut quota.spec {
        canonicalize_resource_list(&mut spec.hard);
    }
    if let Some(status) = &mut quota.status {
        canonicalize_resource_list(&mut status.hard);
        canonicalize_resource_list(&mut status.used);
    }
}
