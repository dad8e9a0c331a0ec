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

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::catalog::find;

    #[test]
    fn keys_follow_the_registry_layout() {
        let pods = find("", "pods").expect("pods are served");
        let deployments = find("apps", "deployments").expect("deployments are served");
        let nodes = find("", "nodes").expect("nodes are served");
        let roles = find("rbac.authorization.k8s.io", "clusterroles").expect("clusterroles");
        let cases = [
            (
                object_key(pods, Some("default"), "web"),
                "/registry/pods/default/web",
            ),
            (
                collection_prefix(pods, Some("default")),
                "/registry/pods/default/",
            ),
            (collection_prefix(pods, None), "/registry/pods/"),
            (
                object_key(deployments, Some("ns1"), "api"),
                "/registry/apps/deployments/ns1/api",
            ),
            (
                object_key(nodes, Some("ignored"), "node-a"),
                "/registry/nodes/node-a",
            ),
            (
                object_key(roles, None, "admin"),
                "/registry/rbac.authorization.k8s.io/clusterroles/admin",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn one_namespace_prefix_never_covers_another() {
        let pods = find("", "pods").expect("pods are served");
        let a = collection_prefix(pods, Some("team"));
        let b = object_key(pods, Some("team-b"), "x");
        assert!(!b.starts_with(&a));
    }
}
