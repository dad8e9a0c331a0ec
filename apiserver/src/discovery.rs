//! Discovery documents, built from the resource catalog.
//!
//! kubectl reads these before any resource command: the legacy documents (`/api`, `/apis`,
//! `/api/v1`, `/apis/<group>/<version>`) and, when its Accept header asks for them, the
//! aggregated `APIGroupDiscoveryList` in version v2 or v2beta1.

use berth_api_types::catalog::{self, GroupVersion, ResourceInfo};
use serde_json::{json, Value};

/// The aggregated discovery version a client asked for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregated {
    /// `apidiscovery.k8s.io/v2`.
    V2,
    /// `apidiscovery.k8s.io/v2beta1`.
    V2Beta1,
}

impl Aggregated {
    /// Picks the first aggregated version the Accept header lists, in the client's order.
    pub fn from_accept(accept: &str) -> Option<Self> {
        for item in accept.split(',') {
            let params: Vec<&str> = item.split(';').map(str::trim).collect();
            let has = |p: &str| params.iter().any(|x| x.replace(' ', "") == p);
            if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
                if has("v=v2") {
                    return Some(Aggregated::V2);
                }
                if has("v=v2beta1") {
                    return Some(Aggregated::V2Beta1);
                }
            }
        }
        None
    }

    /// The response content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Aggregated::V2 => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            Aggregated::V2Beta1 => {
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            }
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Aggregated::V2 => "apidiscovery.k8s.io/v2",
            Aggregated::V2Beta1 => "apidiscovery.k8s.io/v2beta1",
        }
    }
}

/// `/api` as `APIVersions`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// Every served group-version: the catalog's plus those of the review resources
/// ([`crate::identity::RESOURCES`]). Kubernetes ranks the authentication and authorization
/// groups right after `events.k8s.io`, so they go in front of the first catalog group ranked
/// lower.
fn served_groups() -> Vec<GroupVersion> {
    let mut out = catalog::groups();
    let mut reviews: Vec<GroupVersion> = Vec::new();
    for gv in crate::identity::RESOURCES
        .iter()
        .map(ResourceInfo::group_version)
    {
        if !reviews.contains(&gv) && !out.contains(&gv) {
            reviews.push(gv);
        }
    }
    let at = out
        .iter()
        .position(|gv| !matches!(gv.group, "" | "apps" | "events.k8s.io"))
        .unwrap_or(out.len());
    out.splice(at..at, reviews);
    out
}

/// The resources served at `group`/`version`: the catalog's plus the review resources.
fn served_resources(group: &str, version: &str) -> Vec<&'static ResourceInfo> {
    let mut out = catalog::by_group_version(group, version);
    out.extend(
        crate::identity::RESOURCES
            .iter()
            .filter(|r| r.group == group && r.version == version),
    );
    out
}

fn named_groups() -> Vec<(String, Vec<GroupVersion>)> {
    let mut groups: Vec<(String, Vec<GroupVersion>)> = Vec::new();
    for gv in served_groups() {
        if gv.group.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(g, _)| *g == gv.group) {
            Some((_, versions)) => versions.push(gv),
            None => groups.push((gv.group.to_string(), vec![gv])),
        }
    }
    groups
}

fn group_json(name: &str, versions: &[GroupVersion]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|gv| json!({"groupVersion": gv.to_string(), "version": gv.version}))
        .collect();
    json!({
        "name": name,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis` as `APIGroupList`.
pub fn groups() -> Value {
    let groups: Vec<Value> = named_groups()
        .iter()
        .map(|(g, v)| group_json(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>` as `APIGroup`, if served.
pub fn group(name: &str) -> Option<Value> {
    named_groups()
        .into_iter()
        .find(|(g, _)| g == name)
        .map(|(g, v)| {
            let mut doc = group_json(&g, &v);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        })
}

fn legacy_resource(r: &ResourceInfo) -> Value {
    let mut v = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    v
}

/// `/api/v1` or `/apis/<group>/<version>` as `APIResourceList`, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources = served_resources(group, version);
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let mut list = Vec::new();
    for r in resources {
        list.push(legacy_resource(r));
        for sub in r.subresources {
            let sub_gv = sub.group_version(r);
            let mut v = json!({
                "name": format!("{}/{}", r.plural, sub.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": sub.kind,
                "verbs": sub.verbs,
            });
            if sub_gv.group != group || sub_gv.version != version {
                v["group"] = json!(sub_gv.group);
                v["version"] = json!(sub_gv.version);
            }
            list.push(v);
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": list,
    }))
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let gv = r.group_version();
    let mut v = json!({
        "resource": r.plural,
        "singularResource": r.singular,
        "scope": r.scope(),
        "responseKind": {"group": gv.group, "version": gv.version, "kind": r.kind},
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let sgv = s.group_version(r);
            json!({
                "subresource": s.name,
                "responseKind": {"group": sgv.group, "version": sgv.version, "kind": s.kind},
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        v["subresources"] = Value::Array(subs);
    }
    v
}

fn aggregated_group(name: &str, versions: &[GroupVersion]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|gv| {
            let resources: Vec<Value> = served_resources(gv.group, gv.version)
                .into_iter()
                .map(aggregated_resource)
                .collect();
            json!({"version": gv.version, "freshness": "Current", "resources": resources})
        })
        .collect();
    json!({"metadata": {"name": name, "creationTimestamp": null}, "versions": versions})
}

/// The aggregated document for `/api` (`core == true`) or `/apis`.
pub fn aggregated(version: Aggregated, core: bool) -> Value {
    let items: Vec<Value> = if core {
        let v1: Vec<GroupVersion> = served_groups()
            .into_iter()
            .filter(|gv| gv.group.is_empty())
            .collect();
        vec![aggregated_group("", &v1)]
    } else {
        named_groups()
            .iter()
            .map(|(g, v)| aggregated_group(g, v))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": version.api_version(),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation_follows_the_clients_order() {
        let k133 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        let k127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(Aggregated::from_accept(k133), Some(Aggregated::V2));
        assert_eq!(Aggregated::from_accept(k127), Some(Aggregated::V2Beta1));
        assert_eq!(Aggregated::from_accept("application/json, */*"), None);
    }

    #[test]
    fn scale_subresources_name_autoscaling_v1() {
        let apps = resource_list("apps", "v1").unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        let agg = aggregated(Aggregated::V2, false);
        let apps = agg["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .unwrap();
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        let sub = deploy["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "scale")
            .unwrap();
        assert_eq!(
            sub["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }

    #[test]
    fn core_and_groups_are_listed() {
        let v1 = resource_list("", "v1").unwrap();
        let pods = v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods")
            .unwrap();
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        let groups = groups();
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"apps") && names.contains(&"rbac.authorization.k8s.io"));
        assert!(!names.contains(&""));
        assert!(group("apps").is_some() && group("nope").is_none());
    }

    #[test]
    fn review_groups_are_listed_after_events() {
        let groups = groups();
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names[..4],
            [
                "apps",
                "events.k8s.io",
                "authentication.k8s.io",
                "authorization.k8s.io"
            ]
        );
        let authn = group("authentication.k8s.io").unwrap();
        let versions: Vec<&str> = authn["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["v1", "v1beta1"]);
        assert_eq!(authn["preferredVersion"]["version"], "v1");

        let authz = resource_list("authorization.k8s.io", "v1").unwrap();
        let ssar = authz["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "selfsubjectaccessreviews")
            .unwrap();
        assert_eq!(ssar["verbs"], json!(["create"]));
        assert_eq!(ssar["kind"], "SelfSubjectAccessReview");
        assert_eq!(ssar["namespaced"], false);
        let lsar = authz["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "localsubjectaccessreviews")
            .unwrap();
        assert_eq!(lsar["namespaced"], true);
        assert!(resource_list("authentication.k8s.io", "v1beta1").is_some());

        let agg = aggregated(Aggregated::V2, false);
        let authn = agg["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "authentication.k8s.io")
            .unwrap();
        let ssr = authn["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "selfsubjectreviews")
            .unwrap();
        assert_eq!(
            ssr["responseKind"],
            json!({"group": "authentication.k8s.io", "version": "v1", "kind": "SelfSubjectReview"})
        );
        assert_eq!(ssr["scope"], "Cluster");
    }
}
