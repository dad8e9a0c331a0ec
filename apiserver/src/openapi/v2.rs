//! OpenAPI v2 (Swagger 2.0): one document describing every served group-version.
//!
//! kubectl reads it for client-side validation (with `--validate=strict`, of what it cannot ask
//! the server to check, such as a `List` file), for `explain --output=plaintext-openapiv2`, and
//! in 1.27 and 1.28 for the strategic-merge metadata of `kubectl apply`. The document is
//! derived from the OpenAPI v3 material, never written separately: the definitions are the v3
//! component schemas ([`super::schemas`]) and the paths are the v3 operations
//! ([`super::paths`]), both rewritten into Swagger 2.0 shapes (`#/definitions/` references,
//! body parameters, response schemas without media types).
//!
//! It is served as JSON and as the protobuf form kubectl decodes
//! ([`super::gnostic`]). Both are built once, on the first request, and kept as bytes with
//! their own `ETag`.

use super::gnostic;
use super::{content_hash, paths, schemas};
use crate::handler::{full, Body};
use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The URL path of the v2 document.
pub const PATH: &str = "/openapi/v2";

/// The content type of the protobuf form. Clients ask for it with `@v1.0` instead of `.v1.0`;
/// the answer always carries this spelling, the one Go's media-type parser accepts.
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

const PROTOBUF_SUBTYPES: [&str; 2] = [
    "com.github.proto-openapi.spec.v2.v1.0+protobuf",
    "com.github.proto-openapi.spec.v2@v1.0+protobuf",
];

/// Where definitions live, as `$ref`s spell it.
pub const REF_PREFIX: &str = "#/definitions/";

/// One form of the document.
pub struct Encoded {
    /// The document's bytes.
    pub bytes: Bytes,
    /// Quoted digest of `bytes`, for `ETag`.
    pub etag: String,
}

impl Encoded {
    fn new(bytes: Vec<u8>) -> Encoded {
        Encoded {
            etag: format!("\"{}\"", content_hash(&bytes)),
            bytes: Bytes::from(bytes),
        }
    }
}

/// The JSON and protobuf forms of the document.
pub struct Forms {
    /// `application/json`.
    pub json: Encoded,
    /// [`PROTOBUF`].
    pub protobuf: Encoded,
}

/// The document in both forms, built on first use.
pub fn forms() -> &'static Forms {
    static FORMS: OnceLock<Forms> = OnceLock::new();
    FORMS.get_or_init(|| {
        let doc = document();
        Forms {
            // Serializing JSON values cannot fail.
            json: Encoded::new(serde_json::to_vec(&doc).unwrap_or_default()),
            protobuf: Encoded::new(gnostic::encode(&doc)),
        }
    })
}

/// The Swagger 2.0 document as JSON.
pub fn document() -> Value {
    let mut v3_paths = Map::new();
    for gv in catalog::groups() {
        for r in catalog::by_group_version(gv.group, gv.version) {
            paths::add_resource(&mut v3_paths, r, &schemas::schema_name);
        }
    }
    let paths: Map<String, Value> = v3_paths
        .iter()
        .map(|(path, item)| (path.clone(), path_item(item)))
        .collect();
    let definitions: Map<String, Value> = schemas::components()
        .iter()
        .map(|(name, s)| (name.clone(), schema(s)))
        .collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::handler::GIT_VERSION},
        "paths": paths,
        "definitions": definitions,
    })
}

/// Rewrites a v3 component schema as a Swagger 2.0 schema: references point into
/// `definitions`; a lone `allOf` reference (how v3 gives a reference siblings such as a
/// description or a patch strategy) becomes a plain `$ref` beside those siblings, as Swagger
/// 2.0 readers expect; `nullable`, which Swagger 2.0 lacks, is dropped.
pub fn schema(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "nullable" => {}
            "$ref" => {
                out.insert(key.clone(), reference(value));
            }
            "allOf" => match value.as_array().map(Vec::as_slice) {
                Some([only]) if only.as_object().is_some_and(|o| o.len() == 1) => {
                    if let Some(r) = only.get("$ref") {
                        out.insert("$ref".into(), reference(r));
                    } else {
                        out.insert(key.clone(), json!([schema(only)]));
                    }
                }
                _ => {
                    out.insert(key.clone(), schema_list(value));
                }
            },
            // Swagger 2.0 has no alternatives: a choice of scalars (an int-or-string, a
            // quantity) is published as a string, as Kubernetes does.
            "oneOf" | "anyOf" if scalar_choice(value) => {
                out.insert("type".into(), json!("string"));
            }
            "oneOf" | "anyOf" => {
                out.insert(key.clone(), schema_list(value));
            }
            "items" => {
                let items = if value.is_array() {
                    schema_list(value)
                } else {
                    schema(value)
                };
                out.insert(key.clone(), items);
            }
            "additionalProperties" | "not" => {
                out.insert(key.clone(), schema(value));
            }
            "properties" => {
                let props: Map<String, Value> = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), schema(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Alternatives that are all plain scalar types (`[{"type": "integer"}, {"type": "string"}]`).
fn scalar_choice(v: &Value) -> bool {
    v.as_array().is_some_and(|list| {
        !list.is_empty()
            && list.iter().all(|s| {
                s.as_object().is_some_and(|o| o.len() == 1)
                    && matches!(
                        s.get("type").and_then(Value::as_str),
                        Some("integer" | "string" | "number" | "boolean")
                    )
            })
    })
}

fn schema_list(v: &Value) -> Value {
    Value::Array(
        v.as_array()
            .map_or_else(Vec::new, |a| a.iter().map(schema).collect()),
    )
}

fn reference(r: &Value) -> Value {
    match r.as_str().and_then(|r| r.strip_prefix(schemas::REF_PREFIX)) {
        Some(name) => json!(format!("{REF_PREFIX}{name}")),
        None => r.clone(),
    }
}

/// Rewrites a v3 path item: shared parameters and one operation per method.
fn path_item(item: &Value) -> Value {
    let mut out = Map::new();
    for (key, value) in item.as_object().into_iter().flatten() {
        let converted = match key.as_str() {
            "parameters" => parameters(value),
            "get" | "put" | "post" | "delete" | "patch" | "head" | "options" => operation(value),
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    Value::Object(out)
}

fn parameters(list: &Value) -> Value {
    Value::Array(
        list.as_array()
            .into_iter()
            .flatten()
            .map(parameter)
            .collect(),
    )
}

/// A v3 parameter carries its type in `schema`; a Swagger 2.0 non-body parameter carries it
/// inline.
fn parameter(p: &Value) -> Value {
    let mut out = Map::new();
    for (key, value) in p.as_object().into_iter().flatten() {
        if key == "schema" {
            for (k, v) in value.as_object().into_iter().flatten() {
                out.insert(k.clone(), v.clone());
            }
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// Rewrites a v3 operation: the request body becomes a `body` parameter and its media types
/// `consumes`; each response keeps one schema and its media types go to `produces`.
fn operation(op: &Value) -> Value {
    let mut out = Map::new();
    let mut params = op.get("parameters").map_or_else(|| json!([]), parameters);
    let mut consumes = Vec::new();
    let mut produces: Vec<String> = Vec::new();
    if let Some(body) = op.get("requestBody") {
        let content = body.get("content").and_then(Value::as_object);
        consumes.extend(content.into_iter().flatten().map(|(t, _)| t.clone()));
        let body_schema = content
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
            .map_or_else(|| json!({"type": "object"}), schema);
        if let Some(list) = params.as_array_mut() {
            list.push(json!({
                "name": "body",
                "in": "body",
                "required": body.get("required").and_then(Value::as_bool).unwrap_or(false),
                "schema": body_schema,
            }));
        }
    }
    let mut responses = Map::new();
    for (code, resp) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut r = Map::new();
        if let Some(d) = resp.get("description") {
            r.insert("description".into(), d.clone());
        }
        if let Some(content) = resp.get("content").and_then(Value::as_object) {
            for t in content.keys() {
                if !produces.contains(t) {
                    produces.push(t.clone());
                }
            }
            if let Some(s) = content.values().next().and_then(|m| m.get("schema")) {
                r.insert("schema".into(), schema(s));
            }
        }
        responses.insert(code.clone(), Value::Object(r));
    }
    for (key, value) in op.as_object().into_iter().flatten() {
        match key.as_str() {
            "parameters" | "requestBody" | "responses" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !consumes.is_empty() {
        out.insert("consumes".into(), json!(consumes));
    }
    if !produces.is_empty() {
        out.insert("produces".into(), json!(produces));
    }
    out.insert("schemes".into(), json!(["https"]));
    out.insert("parameters".into(), params);
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// Which form an `Accept` header asks for: the first acceptable media range, by falling
/// quality and then in the order given.
fn negotiate(accept: &str) -> Option<(&'static Encoded, &'static str)> {
    let forms = forms();
    let mut ranges: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!range.is_empty() && q > 0.0).then_some((q, range))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges.into_iter().find_map(|(_, range)| {
        let (ty, sub) = range.split_once('/')?;
        if ty != "application" && ty != "*" {
            return None;
        }
        if sub == "json" || sub == "*" {
            Some((&forms.json, "application/json"))
        } else if PROTOBUF_SUBTYPES.contains(&sub) {
            Some((&forms.protobuf, PROTOBUF))
        } else {
            None
        }
    })
}

/// Answers `GET /openapi/v2` in the form `accept` asks for; a matching `If-None-Match`
/// answers 304 and an `Accept` no form satisfies 406.
pub fn serve(accept: &str, if_none_match: Option<&str>) -> ApiResult<Response<Body>> {
    let (form, content_type) = negotiate(accept).ok_or_else(|| {
        ApiError::not_acceptable(format!(
            "only the following media types are accepted: application/json, {PROTOBUF}"
        ))
    })?;
    let matched = if_none_match.is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim() == form.etag || t.trim() == "*")
    });
    let mut resp = if matched {
        let mut resp = Response::new(full(Bytes::new()));
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp
    } else {
        Response::new(full(form.bytes.clone()))
    };
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(v) = HeaderValue::from_str(&form.etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::catalog::CATALOG;
    use http_body_util::BodyExt;
    use prost::Message;

    fn decoded() -> gnostic::Document {
        gnostic::Document::decode(forms().protobuf.bytes.clone()).expect("protobuf decodes")
    }

    fn definition<'a>(doc: &'a gnostic::Document, name: &str) -> &'a gnostic::Schema {
        doc.definitions
            .as_ref()
            .and_then(|d| d.additional_properties.iter().find(|n| n.name == name))
            .and_then(|n| n.value.as_ref())
            .unwrap_or_else(|| panic!("no definition {name}"))
    }

    fn property<'a>(s: &'a gnostic::Schema, name: &str) -> &'a gnostic::Schema {
        s.properties
            .as_ref()
            .and_then(|p| p.additional_properties.iter().find(|n| n.name == name))
            .and_then(|n| n.value.as_ref())
            .unwrap_or_else(|| panic!("no property {name}"))
    }

    /// An extension's value, read back from its YAML (JSON) text.
    fn extension(ext: &[gnostic::NamedAny], name: &str) -> Option<Value> {
        let any = ext.iter().find(|e| e.name == name)?.value.as_ref()?;
        Some(serde_json::from_str(&any.yaml).expect("extensions are JSON text"))
    }

    #[test]
    fn protobuf_carries_definitions_and_their_extensions() {
        let doc = decoded();
        assert_eq!(doc.swagger, "2.0");
        let pod = definition(&doc, "io.k8s.api.core.v1.Pod");
        assert_eq!(
            extension(&pod.vendor_extension, "x-kubernetes-group-version-kind"),
            Some(json!([{"group": "", "kind": "Pod", "version": "v1"}]))
        );
        assert!(pod
            .description
            .contains("Pod is a collection of containers"));
        let spec = property(pod, "spec");
        assert_eq!(spec.xref, "#/definitions/io.k8s.api.core.v1.PodSpec");
        assert!(
            !spec.description.is_empty(),
            "a reference keeps its description"
        );
        assert!(spec.all_of.is_empty());

        let containers = property(definition(&doc, "io.k8s.api.core.v1.PodSpec"), "containers");
        assert_eq!(
            containers.r#type.as_ref().map(|t| t.value.clone()),
            Some(vec!["array".to_owned()])
        );
        let items = &containers.items.as_ref().expect("items").schema;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].xref, "#/definitions/io.k8s.api.core.v1.Container");
        let ext = &containers.vendor_extension;
        assert_eq!(
            extension(ext, "x-kubernetes-patch-strategy"),
            Some(json!("merge"))
        );
        assert_eq!(
            extension(ext, "x-kubernetes-patch-merge-key"),
            Some(json!("name"))
        );
        let strategy = property(
            definition(&doc, "io.k8s.api.apps.v1.DeploymentSpec"),
            "strategy",
        );
        assert_eq!(
            strategy.xref,
            "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
        );
        assert_eq!(
            extension(&strategy.vendor_extension, "x-kubernetes-patch-strategy"),
            Some(json!("retainKeys"))
        );
        let labels = property(
            definition(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            "labels",
        );
        match labels
            .additional_properties
            .as_ref()
            .and_then(|a| a.oneof.as_ref())
        {
            Some(gnostic::AdditionalProperties::Schema(s)) => {
                assert_eq!(
                    s.r#type.as_ref().map(|t| t.value.clone()),
                    Some(vec!["string".into()])
                )
            }
            other => panic!("labels: {other:?}"),
        }
    }

    #[test]
    fn protobuf_carries_one_operation_per_verb() {
        let doc = decoded();
        let paths = doc.paths.as_ref().expect("paths");
        let item = |path: &str| {
            paths
                .path
                .iter()
                .find(|p| p.name == path)
                .and_then(|p| p.value.clone())
                .unwrap_or_else(|| panic!("no path {path}"))
        };
        let deployment = item("/apis/apps/v1/namespaces/{namespace}/deployments/{name}");
        let patch = deployment.patch.expect("patch");
        assert_eq!(patch.operation_id, "patchAppsV1NamespacedDeployment");
        assert_eq!(
            extension(&patch.vendor_extension, "x-kubernetes-group-version-kind"),
            Some(json!({"group": "apps", "version": "v1", "kind": "Deployment"}))
        );
        assert!(patch
            .consumes
            .contains(&"application/strategic-merge-patch+json".to_owned()));
        let query_names: Vec<String> = patch
            .parameters
            .iter()
            .filter_map(|p| match &p.oneof {
                Some(gnostic::ParametersItemOneof::Parameter(gnostic::Parameter {
                    oneof: Some(gnostic::ParameterOneof::NonBodyParameter(n)),
                })) => match &n.oneof {
                    Some(gnostic::NonBodyParameterOneof::QueryParameterSubSchema(q)) => {
                        assert_eq!(q.r#in, "query");
                        Some(q.name.clone())
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert!(
            query_names.contains(&"fieldValidation".to_owned()),
            "{query_names:?}"
        );
        let body = patch.parameters.iter().find_map(|p| match &p.oneof {
            Some(gnostic::ParametersItemOneof::Parameter(gnostic::Parameter {
                oneof: Some(gnostic::ParameterOneof::BodyParameter(b)),
            })) => Some(b.as_ref().clone()),
            _ => None,
        });
        let body = body.expect("body parameter");
        assert!(body.required);
        assert_eq!(
            body.schema.map(|s| s.xref),
            Some("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch".to_owned())
        );
        let ok = patch
            .responses
            .expect("responses")
            .response_code
            .into_iter()
            .find(|r| r.name == "200")
            .and_then(|r| r.value)
            .and_then(|v| v.oneof);
        match ok {
            Some(gnostic::ResponseValueOneof::Response(r)) => {
                match r.schema.and_then(|s| s.oneof) {
                    Some(gnostic::SchemaItemOneof::Schema(s)) => {
                        assert_eq!(s.xref, "#/definitions/io.k8s.api.apps.v1.Deployment")
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
        // Namespaces cannot be deleted as a collection; pods can.
        assert!(item("/api/v1/namespaces").delete.is_none());
        assert!(item("/api/v1/namespaces/{namespace}/pods").delete.is_some());
        let path_params = item("/api/v1/namespaces/{namespace}/pods/{name}").parameters;
        assert!(path_params.iter().any(|p| matches!(
            &p.oneof,
            Some(gnostic::ParametersItemOneof::Parameter(gnostic::Parameter {
                oneof: Some(gnostic::ParameterOneof::NonBodyParameter(gnostic::NonBodyParameter {
                    oneof: Some(gnostic::NonBodyParameterOneof::PathParameterSubSchema(pp)),
                })),
            })) if pp.name == "namespace" && pp.required
        )));
    }

    #[test]
    fn every_served_kind_has_a_definition_and_a_patch_with_field_validation() {
        let doc = document();
        for r in CATALOG {
            let name = schemas::schema_name(r.group, r.version, r.kind).expect("schema");
            assert_eq!(
                doc["definitions"][&name]["x-kubernetes-group-version-kind"][0],
                json!({"group": r.group, "kind": r.kind, "version": r.version}),
                "{name}"
            );
            let base = paths::prefix(r.group, r.version);
            let path = if r.namespaced {
                format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
            } else {
                format!("{base}/{}/{{name}}", r.plural)
            };
            let patch = &doc["paths"][&path]["patch"];
            assert_eq!(
                patch["x-kubernetes-group-version-kind"]["kind"], r.kind,
                "{path}"
            );
            assert!(
                patch["parameters"].as_array().is_some_and(|p| p
                    .iter()
                    .any(|p| p["name"] == "fieldValidation"
                        && p["in"] == "query"
                        && p["type"] == "string")),
                "{path}"
            );
        }
    }

    /// The rules kubectl applies when it turns the definitions into models: a failure in any
    /// one definition makes it drop the whole document.
    #[test]
    fn every_definition_is_one_kubectl_can_model() {
        let doc = decoded();
        let defs = &doc
            .definitions
            .as_ref()
            .expect("definitions")
            .additional_properties;
        let names: std::collections::HashSet<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names.len(), schemas::components().len());
        fn check(s: &gnostic::Schema, at: &str, names: &std::collections::HashSet<&str>) {
            let types = s
                .r#type
                .as_ref()
                .map(|t| t.value.as_slice())
                .unwrap_or_default();
            assert!(s.all_of.is_empty(), "{at}: allOf is not modelled");
            if !s.xref.is_empty() {
                let target = s
                    .xref
                    .strip_prefix(REF_PREFIX)
                    .unwrap_or_else(|| panic!("{at}: reference outside definitions"));
                assert!(names.contains(target), "{at}: unknown model {target}");
                assert!(types.is_empty(), "{at}: a reference has a type");
                assert!(s.properties.is_none(), "{at}: a reference has properties");
                return;
            }
            assert!(types.len() <= 1, "{at}: several types");
            match types.first().map(String::as_str) {
                Some("array") => {
                    let items = s
                        .items
                        .as_ref()
                        .map(|i| i.schema.as_slice())
                        .unwrap_or_default();
                    assert_eq!(items.len(), 1, "{at}: an array needs one item schema");
                    check(&items[0], &format!("{at}[]"), names);
                }
                Some("object") | None => {}
                Some("string" | "integer" | "number" | "boolean") => {}
                Some(other) => panic!("{at}: unknown primitive type {other}"),
            }
            for p in s.properties.iter().flat_map(|p| &p.additional_properties) {
                let value = p.value.as_ref().expect("property schema");
                check(value, &format!("{at}.{}", p.name), names);
            }
            if let Some(gnostic::AdditionalProperties::Schema(a)) = s
                .additional_properties
                .as_ref()
                .and_then(|a| a.oneof.as_ref())
            {
                check(a, &format!("{at}{{}}"), names);
            }
            for any in s.vendor_extension.iter().filter_map(|e| e.value.as_ref()) {
                serde_json::from_str::<Value>(&any.yaml).expect("extension values are JSON");
            }
            if let Some(d) = &s.default {
                serde_json::from_str::<Value>(&d.yaml).expect("defaults are JSON");
            }
        }
        for d in defs {
            check(d.value.as_ref().expect("schema"), &d.name, &names);
        }
    }

    #[test]
    fn scalar_wrappers_are_strings() {
        let doc = document();
        let defs = &doc["definitions"];
        let int_or_string = &defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
        assert_eq!(
            (&int_or_string["type"], &int_or_string["format"]),
            (&json!("string"), &json!("int-or-string"))
        );
        assert!(int_or_string.get("oneOf").is_none());
        let quantity = &defs["io.k8s.apimachinery.pkg.api.resource.Quantity"];
        assert_eq!(quantity["type"], "string");
        assert!(quantity.get("oneOf").is_none());
    }

    #[test]
    fn json_and_protobuf_describe_the_same_document() {
        let json: Value = serde_json::from_slice(&forms().json.bytes).expect("JSON");
        assert_eq!(gnostic::document(&json), decoded());
        assert!(!forms()
            .json
            .bytes
            .windows(21)
            .any(|w| w == b"#/components/schemas/"));
    }

    async fn body(resp: Response<Body>) -> Bytes {
        resp.into_body().collect().await.expect("body").to_bytes()
    }

    #[tokio::test]
    async fn accept_picks_the_form() {
        let forms = forms();
        for (accept, want) in [
            ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF),
            ("application/com.github.proto-openapi.spec.v2.v1.0+protobuf", PROTOBUF),
            ("application/json", "application/json"),
            ("*/*", "application/json"),
            ("application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf", PROTOBUF),
            ("text/html, application/json", "application/json"),
        ] {
            let resp = serve(accept, None).expect("served");
            assert_eq!(resp.status(), StatusCode::OK, "{accept}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], want, "{accept}");
            let form = if want == PROTOBUF { &forms.protobuf } else { &forms.json };
            assert_eq!(resp.headers()[header::ETAG], form.etag.as_str());
            assert_eq!(body(resp).await, form.bytes, "{accept}");
        }
        assert_ne!(forms.json.etag, forms.protobuf.etag);
        for accept in ["text/html", "application/yaml", "application/json;q=0"] {
            let err = serve(accept, None).expect_err(accept);
            assert_eq!((err.code, err.reason), (406, "NotAcceptable"), "{accept}");
        }
    }

    #[tokio::test]
    async fn if_none_match_answers_not_modified() {
        let etag = forms().protobuf.etag.clone();
        let resp = serve(PROTOBUF, Some(&etag)).expect("served");
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(resp.headers()[header::ETAG], etag.as_str());
        assert!(body(resp).await.is_empty());
        // The JSON form has its own tag.
        let resp = serve("application/json", Some(&etag)).expect("served");
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = serve(PROTOBUF, Some("\"stale\"")).expect("served");
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
