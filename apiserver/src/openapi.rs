//! OpenAPI v3: the documents clients read to learn the served schemas.
//!
//! `GET /openapi/v3` lists one document per served group-version; `GET /openapi/v3/apis/G/V`
//! (or `/openapi/v3/api/v1`) returns that group-version's OpenAPI 3.0 document: the operations
//! on each resource and the component schemas of its kinds. kubectl reads them for two things:
//! `kubectl explain` renders the schemas and their descriptions, and before a write kubectl
//! checks that the kind's `patch` operation carries a `fieldValidation` parameter; only then
//! does it send `fieldValidation=Strict` and leave unknown-field checks to the server.
//!
//! Schemas are generated from the `k8s-openapi` types ([`schemas`]), never written by hand;
//! operations follow the catalog's verbs ([`paths`]). Every document is built once, on the
//! first request, and kept as serialized bytes with a content hash. The root names each
//! document by a URL carrying that hash, so clients may cache a document for as long as its
//! URL stays the same; the responses say so with `ETag` and `Cache-Control`, as a Kubernetes
//! server does.

pub mod gnostic;
pub mod kinds;
pub mod paths;
pub mod schemas;
pub mod v2;

use crate::handler::{full, Body};
use crate::request::Query;
use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog::{self, GroupVersion};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// The URL path of the OpenAPI v3 root.
pub const ROOT_PATH: &str = "/openapi/v3";

/// One serialized document and its content hash.
pub struct Document {
    /// The JSON document.
    pub bytes: Bytes,
    /// Hex digest of `bytes`; it changes whenever the document does.
    pub hash: String,
}

impl Document {
    fn new(bytes: Vec<u8>) -> Document {
        let hash = content_hash(&bytes);
        Document {
            bytes: Bytes::from(bytes),
            hash,
        }
    }
}

/// The root document and one document per served group-version.
pub struct Documents {
    /// `{"paths": {"api/v1": {"serverRelativeURL": …}, …}}`.
    pub root: Document,
    /// Group-version documents by their key in the root: `api/v1`, `apis/apps/v1`, …
    pub by_key: BTreeMap<String, Document>,
}

/// The documents, built on first use.
pub fn documents() -> &'static Documents {
    static DOCUMENTS: OnceLock<Documents> = OnceLock::new();
    DOCUMENTS.get_or_init(build_documents)
}

/// The root key of a group-version: `api/v1` or `apis/GROUP/VERSION`.
pub fn key(gv: &GroupVersion) -> String {
    paths::prefix(gv.group, gv.version)
        .trim_start_matches('/')
        .to_owned()
}

fn build_documents() -> Documents {
    let mut by_key = BTreeMap::new();
    let mut root_paths = Map::new();
    for gv in catalog::groups() {
        let doc = Document::new(group_version_document(&gv));
        let key = key(&gv);
        root_paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("{ROOT_PATH}/{key}?hash={}", doc.hash)}),
        );
        by_key.insert(key, doc);
    }
    let root = Document::new(serde_json::to_vec(&json!({"paths": root_paths})).unwrap_or_default());
    Documents { root, by_key }
}

/// An OpenAPI 3.0 document that borrows its component schemas from the shared set rather
/// than copying them, so building the documents costs little beyond their bytes.
#[derive(Serialize)]
struct GroupVersionDocument<'a> {
    openapi: &'static str,
    info: Value,
    paths: Map<String, Value>,
    components: Components<'a>,
}

#[derive(Serialize)]
struct Components<'a> {
    schemas: BTreeMap<&'a str, &'a Value>,
}

/// The serialized OpenAPI 3.0 document of one group-version.
pub fn group_version_document(gv: &GroupVersion) -> Vec<u8> {
    let resources = catalog::by_group_version(gv.group, gv.version);
    let mut path_map = Map::new();
    for r in &resources {
        paths::add_resource(&mut path_map, r, &schemas::schema_name);
    }
    let mut roots: Vec<String> = Vec::new();
    for r in &resources {
        roots.extend(schemas::schema_name(r.group, r.version, r.kind));
        for sub in r.subresources.iter().filter(|s| s.name == "scale") {
            let sgv = sub.group_version(r);
            roots.extend(schemas::schema_name(sgv.group, sgv.version, sub.kind));
        }
    }
    roots.extend(kinds::shared_names().iter().map(|n| n.to_string()));
    let reached = schemas::reachable(roots.iter().map(String::as_str));
    let all = schemas::components();
    let doc = GroupVersionDocument {
        openapi: "3.0.0",
        info: json!({"title": "Kubernetes", "version": crate::handler::GIT_VERSION}),
        paths: path_map,
        components: Components {
            schemas: reached
                .iter()
                .filter_map(|name| all.get_key_value(name).map(|(k, v)| (k.as_str(), v)))
                .collect(),
        },
    };
    // Serializing maps of strings and JSON values cannot fail.
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// A stable hex digest of a document's bytes. Clients only compare it for equality, as a
/// cache key, so a 128-bit non-cryptographic digest is plenty.
fn content_hash(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(32);
    for seed in [1u64, 2] {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut hasher);
        bytes.hash(&mut hasher);
        out.push_str(&format!("{:016X}", hasher.finish()));
    }
    out
}

/// Answers `GET /openapi/v3` and `GET /openapi/v3/<key>`.
///
/// `if_none_match` is the request's `If-None-Match` header; a match answers 304. A document
/// asked for by its current hash may be cached for good; without a hash it must be revalidated;
/// with a stale hash the client is redirected to the current URL.
pub fn serve_v3(
    path: &str,
    query: &Query,
    if_none_match: Option<&str>,
) -> ApiResult<Response<Body>> {
    let docs = documents();
    let rest = path
        .strip_prefix(ROOT_PATH)
        .ok_or_else(ApiError::no_route)?;
    if rest.is_empty() || rest == "/" {
        return Ok(document_response(&docs.root, if_none_match, false));
    }
    let key = rest.trim_start_matches('/');
    let doc = docs.by_key.get(key).ok_or_else(ApiError::no_route)?;
    match query.get("hash") {
        Some(h) if h == doc.hash => Ok(document_response(doc, if_none_match, true)),
        Some(_) => {
            let mut resp = Response::new(full(Bytes::new()));
            *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(location) =
                HeaderValue::from_str(&format!("{ROOT_PATH}/{key}?hash={}", doc.hash))
            {
                resp.headers_mut().insert(header::LOCATION, location);
            }
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            Ok(resp)
        }
        None => Ok(document_response(doc, if_none_match, false)),
    }
}

fn document_response(
    doc: &Document,
    if_none_match: Option<&str>,
    immutable: bool,
) -> Response<Body> {
    let etag = format!("\"{}\"", doc.hash);
    let matched =
        if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if matched {
        let mut resp = Response::new(full(Bytes::new()));
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        Response::new(full(doc.bytes.clone()))
    };
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, immutable"
        } else {
            "no-cache, private"
        }),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::catalog::CATALOG;

    fn doc(key: &str) -> Value {
        let d = documents()
            .by_key
            .get(key)
            .unwrap_or_else(|| panic!("no document {key}"));
        serde_json::from_slice(&d.bytes).expect("documents are JSON")
    }

    fn item_path(r: &catalog::ResourceInfo) -> String {
        let base = paths::prefix(r.group, r.version);
        if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        }
    }

    #[test]
    fn root_names_every_group_version_by_hash() {
        let root: Value = serde_json::from_slice(&documents().root.bytes).expect("JSON");
        let paths = root["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), catalog::groups().len());
        for gv in catalog::groups() {
            let key = key(&gv);
            let url = paths[&key]["serverRelativeURL"]
                .as_str()
                .expect("serverRelativeURL");
            let hash = &documents().by_key[&key].hash;
            assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
        }
        assert!(paths.contains_key("api/v1") && paths.contains_key("apis/apps/v1"));
    }

    #[test]
    fn every_patch_operation_carries_gvk_and_field_validation() {
        for r in CATALOG {
            let gv = r.group_version();
            let d = doc(&key(&gv));
            let path = item_path(r);
            let patch = &d["paths"][&path]["patch"];
            assert_eq!(
                patch["x-kubernetes-group-version-kind"],
                json!({"group": r.group, "version": r.version, "kind": r.kind}),
                "{path}"
            );
            for op in ["patch", "put"] {
                let params = d["paths"][&path][op]["parameters"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{op} {path}"));
                let fv = params
                    .iter()
                    .find(|p| p["name"] == "fieldValidation")
                    .unwrap_or_else(|| panic!("{op} {path}"));
                assert_eq!(fv["in"], "query");
                assert_eq!(fv["schema"]["type"], "string");
            }
            let name = schemas::schema_name(r.group, r.version, r.kind).expect("schema name");
            let schema = &d["components"]["schemas"][&name];
            assert_eq!(
                schema["x-kubernetes-group-version-kind"][0],
                json!({"group": r.group, "version": r.version, "kind": r.kind}),
                "{name}"
            );
        }
    }

    #[test]
    fn operations_follow_the_verbs() {
        let d = doc("api/v1");
        let ns = &d["paths"]["/api/v1/namespaces"];
        assert!(ns["post"].is_object() && ns["get"].is_object());
        // Namespaces cannot be deleted as a collection.
        assert!(ns.get("delete").is_none());
        let pods = &d["paths"]["/api/v1/namespaces/{namespace}/pods"];
        assert!(pods["delete"].is_object());
        assert!(pods["post"]["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation")));
        assert!(
            d["paths"]["/api/v1/pods"]["get"].is_object(),
            "cross-namespace list"
        );
        assert!(
            d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"].is_object()
        );
        let apps = doc("apis/apps/v1");
        let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
            ["patch"];
        assert_eq!(scale["x-kubernetes-group-version-kind"]["kind"], "Scale");
        assert!(apps["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"].is_object());
    }

    #[test]
    fn every_reference_resolves_within_its_document() {
        for (key, d) in &documents().by_key {
            let d: Value = serde_json::from_slice(&d.bytes).expect("JSON");
            let mut refs = Vec::new();
            collect(&d, &mut refs);
            let components = d["components"]["schemas"].as_object().expect("components");
            for r in refs {
                let name = r
                    .strip_prefix(schemas::REF_PREFIX)
                    .unwrap_or_else(|| panic!("odd $ref {r} in {key}"));
                assert!(components.contains_key(name), "{key}: {r} does not resolve");
            }
        }
        fn collect(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect(v, out),
                }),
                Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
    }

    #[test]
    fn documents_only_carry_their_group_versions_schemas() {
        let apps = doc("apis/apps/v1");
        let schemas = apps["components"]["schemas"].as_object().expect("schemas");
        assert!(schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(!schemas.contains_key("io.k8s.api.core.v1.Service"));
    }

    fn serve(path: &str, raw_query: Option<&str>, inm: Option<&str>) -> Response<Body> {
        serve_v3(path, &Query::parse(raw_query), inm).expect("served")
    }

    #[test]
    fn caching_follows_the_hash() {
        let hash = documents().by_key["apis/apps/v1"].hash.clone();
        let q = format!("hash={hash}");
        let current = serve("/openapi/v3/apis/apps/v1", Some(&q), None);
        assert_eq!(current.status(), StatusCode::OK);
        assert_eq!(
            current.headers()[header::CACHE_CONTROL],
            "public, immutable"
        );
        assert_eq!(
            current.headers()[header::ETAG],
            format!("\"{hash}\"").as_str()
        );
        let plain = serve("/openapi/v3/apis/apps/v1", None, None);
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache, private");
        let stale = serve("/openapi/v3/apis/apps/v1", Some("hash=0"), None);
        assert_eq!(stale.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            stale.headers()[header::LOCATION],
            format!("/openapi/v3/apis/apps/v1?{q}").as_str()
        );
        let revalidated = serve(
            "/openapi/v3/apis/apps/v1",
            None,
            Some(&format!("\"{hash}\"")),
        );
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(serve("/openapi/v3", None, None).status(), StatusCode::OK);
        assert_eq!(
            serve_v3("/openapi/v3/apis/nope/v1", &Query::parse(None), None)
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn hashes_differ_between_documents() {
        let hashes: std::collections::HashSet<&str> = documents()
            .by_key
            .values()
            .map(|d| d.hash.as_str())
            .collect();
        assert_eq!(hashes.len(), documents().by_key.len());
    }
}
