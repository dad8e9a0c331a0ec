//! What a request asks for: parsed from the path, method and query before any handler runs.

use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog::{self, ResourceInfo};
use std::collections::HashMap;

/// The kind of endpoint a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/api`: the core API versions.
    CoreVersions,
    /// `/apis`: the API groups.
    Groups,
    /// `/apis/<group>`: one group.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`: the resources of one group-version.
    ResourceList {
        /// The group ("" for core).
        group: String,
        /// The version.
        version: String,
    },
    /// A resource, collection or subresource.
    Resource(ResourceRequest),
}

/// A request on a served resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The catalog entry of the resource.
    pub resource: &'static ResourceInfo,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The object name in the path, if any.
    pub name: Option<String>,
    /// The subresource (`status`, `scale`, ...), if any.
    pub subresource: Option<String>,
    /// The verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: &'static str,
}

/// Query parameters, last value wins (as Kubernetes decodes them).
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        if let Some(raw) = raw {
            for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Query(map)
    }

    /// One parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean parameter: false when absent, `0` or `false` in any case; any other value,
    /// the empty one included, is true (clients send `true`, `True` or `1`).
    pub fn flag(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => v != "0" && !v.eq_ignore_ascii_case("false"),
        }
    }

    /// A non-negative integer parameter; a malformed one is a 400.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("invalid value for {key}: {v:?} is not an integer"))
            }),
        }
    }
}

/// Refuses an object name that cannot be one segment of a storage key or a URL path, as
/// Kubernetes refuses it before reading the store (400 `Name parameter invalid`).
pub fn check_name_segment(name: &str) -> ApiResult<()> {
    let problems: Vec<String> = if name == "." || name == ".." {
        vec![format!("may not be '{name}'")]
    } else {
        ["/", "%"]
            .iter()
            .filter(|c| name.contains(*c))
            .map(|c| format!("may not contain '{c}'"))
            .collect()
    };
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Name parameter invalid: {name:?}: {}",
        problems.join(";")
    )))
}

fn decode(segment: &str) -> ApiResult<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request(format!("invalid path segment {segment:?}")))
}

/// Parses the path and method of a request.
pub fn parse(method: &http::Method, path: &str, query: &Query) -> ApiResult<Target> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<ApiResult<_>>()?;
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api"] => return Ok(Target::CoreVersions),
        ["apis"] => return Ok(Target::Groups),
        ["apis", g] => return Ok(Target::Group((*g).to_owned())),
        ["api", v] => {
            return Ok(Target::ResourceList {
                group: String::new(),
                version: (*v).to_owned(),
            })
        }
        ["apis", g, v] => {
            return Ok(Target::ResourceList {
                group: (*g).to_owned(),
                version: (*v).to_owned(),
            })
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_route()),
    };
    if catalog::by_group_version(group, version).is_empty() {
        return Err(ApiError::no_route());
    }
    // The old `/watch/` path prefix means the same as `?watch=true`.
    let (legacy_watch, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let find = |plural: &str| -> ApiResult<&'static ResourceInfo> {
        catalog::find(group, plural)
            .filter(|r| r.version == version)
            .ok_or_else(ApiError::no_route)
    };
    let (resource, namespace, name, subresource) = match rest {
        ["namespaces", ns, plural, tail @ ..] if *plural != "status" && *plural != "finalize" => {
            let resource = find(plural)?;
            if !resource.namespaced {
                return Err(ApiError::no_route());
            }
            let (name, sub) = match tail {
                [] => (None, None),
                [name] => (Some(*name), None),
                [name, sub] => (Some(*name), Some(*sub)),
                _ => return Err(ApiError::no_route()),
            };
            (resource, Some((*ns).to_owned()), name, sub)
        }
        [plural, tail @ ..] => {
            let resource = find(plural)?;
            let (name, sub) = match tail {
                [] => (None, None),
                [name] => (Some(*name), None),
                [name, sub] => (Some(*name), Some(*sub)),
                _ => return Err(ApiError::no_route()),
            };
            // A namespaced resource without a namespace is only a collection across all
            // namespaces.
            if resource.namespaced && name.is_some() {
                return Err(ApiError::no_route());
            }
            (resource, None, name, sub)
        }
        [] => return Err(ApiError::no_route()),
    };
    if let Some(sub) = subresource {
        if resource.subresource(sub).is_none() {
            return Err(ApiError::no_route());
        }
    }
    let watch = legacy_watch || query.flag("watch");
    let verb = match (method.as_str(), name.is_some()) {
        ("GET", true) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("POST", true) if subresource.is_some() => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (m, _) => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({m})"
            )))
        }
    };
    Ok(Target::Resource(ResourceRequest {
        resource,
        namespace,
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
        verb,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn req(method: Method, path: &str, query: &str) -> ApiResult<Target> {
        parse(&method, path, &Query::parse(Some(query)))
    }

    #[test]
    fn boolean_parameters_are_false_only_when_absent_zero_or_false() {
        for (query, want) in [
            ("", false),
            ("watch=false", false),
            ("watch=False", false),
            ("watch=FALSE", false),
            ("watch=0", false),
            ("watch=true", true),
            ("watch=True", true),
            ("watch=1", true),
            ("watch=", true),
            ("watch", true),
        ] {
            assert_eq!(Query::parse(Some(query)).flag("watch"), want, "{query:?}");
            match req(Method::GET, "/api/v1/namespaces/default/pods", query) {
                Ok(Target::Resource(r)) => {
                    assert_eq!(r.verb, if want { "watch" } else { "list" }, "{query:?}")
                }
                other => panic!("{query:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn paths_map_to_resources_and_verbs() {
        let cases = [
            (
                Method::GET,
                "/api/v1/namespaces/default/pods",
                "",
                "pods",
                Some("default"),
                None,
                None,
                "list",
            ),
            (
                Method::GET,
                "/api/v1/pods",
                "",
                "pods",
                None,
                None,
                None,
                "list",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/pods",
                "watch=true",
                "pods",
                Some("default"),
                None,
                None,
                "watch",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/ns/pods/web",
                "",
                "pods",
                Some("ns"),
                Some("web"),
                None,
                "get",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/ns/pods/web/status",
                "",
                "pods",
                Some("ns"),
                Some("web"),
                Some("status"),
                "update",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/kube-system",
                "",
                "namespaces",
                None,
                Some("kube-system"),
                None,
                "get",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/x/finalize",
                "",
                "namespaces",
                None,
                Some("x"),
                Some("finalize"),
                "update",
            ),
            (
                Method::POST,
                "/apis/apps/v1/namespaces/d/deployments",
                "",
                "deployments",
                Some("d"),
                None,
                None,
                "create",
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/d/deployments/w/scale",
                "",
                "deployments",
                Some("d"),
                Some("w"),
                Some("scale"),
                "patch",
            ),
            (
                Method::DELETE,
                "/api/v1/nodes/n1",
                "",
                "nodes",
                None,
                Some("n1"),
                None,
                "delete",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/d/configmaps",
                "",
                "configmaps",
                Some("d"),
                None,
                None,
                "deletecollection",
            ),
            (
                Method::GET,
                "/api/v1/watch/namespaces/d/pods",
                "",
                "pods",
                Some("d"),
                None,
                None,
                "watch",
            ),
        ];
        for (method, path, query, plural, ns, name, sub, verb) in cases {
            match req(method, path, query) {
                Ok(Target::Resource(r)) => {
                    assert_eq!(r.resource.plural, plural, "{path}");
                    assert_eq!(r.namespace.as_deref(), ns, "{path}");
                    assert_eq!(r.name.as_deref(), name, "{path}");
                    assert_eq!(r.subresource.as_deref(), sub, "{path}");
                    assert_eq!(r.verb, verb, "{path}");
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/api/v2/pods",
            "/apis/apps/v1/widgets",
            "/api/v1/namespaces/d/pods/a/b/c",
            "/api/v1/pods/web",
            "/api/v1/namespaces/d/nodes",
            "/api/v1/namespaces/d/pods/web/nonsense",
            "/nothing",
        ] {
            match req(Method::GET, path, "") {
                Err(e) => assert_eq!(e.code, 404, "{path}"),
                Ok(t) => panic!("{path} should be 404, got {t:?}"),
            }
        }
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(req(Method::GET, "/api", "").unwrap(), Target::CoreVersions);
        assert_eq!(req(Method::GET, "/apis/", "").unwrap(), Target::Groups);
        assert_eq!(
            req(Method::GET, "/apis/apps/v1", "").unwrap(),
            Target::ResourceList {
                group: "apps".into(),
                version: "v1".into()
            }
        );
    }
}
