//! Storage keys of API objects: one function builds every key, so the layout is defined once.
//!
//! Core resources live at `/registry/<plural>/<namespace>/<name>`, resources of a named group at
//! `/registry/<group>/<plural>/<namespace>/<name>`; cluster-scoped resources leave the namespace
//! out. `etcdctl get --prefix /registry/` therefore shows a familiar tree.

use berth_api_types::catalog::ResourceInfo;

/// The root of every key Berth writes.
pub const ROOT: &str = "/registry/";

/// The prefix holding every object of `resource`, in every namespace, ending with `/`.
pub fn resource_prefix(resource: &ResourceInfo) -> String {
    if resource.group.is_empty() {
        format!("{ROOT}{}/", resource.plural)
    } else {
        format!("{ROOT}{}/{}/", resource.group, resource.plural)
    }
}

/// The prefix holding the objects of `resource` in one namespace (or all of them, for a
/// cluster-scoped resource or when `namespace` is `None`), ending with `/`.
pub fn collection_prefix(resource: &ResourceInfo, namespace: Option<&str>) -> String {
    let mut prefix = resource_prefix(resource);
    if let (true, Some(ns)) = (resource.namespaced, namespace) {
        prefix.push_str(ns);
        prefix.push('/');
    }
    prefix
}

/// The key of one object. `namespace` is ignored for cluster-scoped resources.
pub fn object_key(resource: &ResourceInfo, namespace: Option<&str>, name: &str) -> String {
    let mut key = collection_prefix(resource, namespace);
    key.push_str(name);
    key
}
