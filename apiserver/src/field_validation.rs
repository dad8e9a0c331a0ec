//! Field validation: what the server does with fields the schema does not know and fields a
//! body gives twice.
//!
//! Clients choose with the `fieldValidation` query parameter on create, update and patch:
//! `Strict` refuses the request with a BadRequest naming every such field, `Warn` (the default)
//! accepts it and returns one `Warning` header per field, `Ignore` accepts it silently. Unknown
//! fields never reach the store whatever the choice, as a typed decode drops them.
//!
//! The checks walk a body against the kind's generated OpenAPI schema
//! ([`crate::openapi::schemas`]) in one pass over the raw bytes, so duplicate keys (which a
//! decoded JSON object can no longer show) are seen, and findings come out in the order the
//! body gives them. The messages follow Kubernetes: `unknown field "spec.replicaz"`,
//! `duplicate field "metadata.name"`, with `[i]` for list items. For patches, duplicates are
//! looked for in the patch body and unknown fields in the patched object, since a patch body
//! may carry directives that are not fields.

use crate::handler::Body;
use crate::openapi::schemas;
use crate::request::Query;
use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog::ResourceInfo;
use http::{HeaderValue, Response};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// The most findings one request reports; a body with more is refused or warned about all the
/// same, and the list stays readable.
pub const MAX_FINDINGS: usize = 100;

/// The `fieldValidation` directive of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop unknown fields and say nothing.
    Ignore,
    /// Drop unknown fields and warn about each; the default when the client names none.
    #[default]
    Warn,
    /// Refuse a body with unknown or duplicate fields.
    Strict,
}

impl FieldValidation {
    /// Reads the directive from the query; absent or empty means [`FieldValidation::Warn`].
    pub fn from_query(query: &Query) -> ApiResult<Self> {
        match query.get("fieldValidation") {
            None | Some("") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Warn") => Ok(Self::Warn),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// What a check found: one message per unknown or duplicate field, each once, in the order a
/// client should read them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    messages: Vec<String>,
    seen: HashSet<String>,
}

impl Findings {
    fn push(&mut self, message: String) {
        if self.messages.len() < MAX_FINDINGS && self.seen.insert(message.clone()) {
            self.messages.push(message);
        }
    }

    fn unknown(&mut self, path: &str) {
        self.push(format!("unknown field {path:?}"));
    }

    fn duplicate(&mut self, path: &str) {
        self.push(format!("duplicate field {path:?}"));
    }

    /// The messages, such as `unknown field "spec.replicaz"`.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Appends `other`'s messages after these.
    pub fn extend(&mut self, other: Findings) {
        for m in other.messages {
            self.push(m);
        }
    }
}

/// The schema of objects of `kind` in `group`/`version`, if Berth has one.
pub fn root_schema(group: &str, version: &str, kind: &str) -> Option<&'static Value> {
    schemas::components().get(&schemas::schema_name(group, version, kind)?)
}

/// Decodes a JSON object of the kind `root` describes, dropping unknown fields. Reports unknown
/// and duplicate fields in the order the body gives them.
pub fn decode_json(
    root: &'static Value,
    body: &[u8],
) -> Result<(Value, Findings), serde_json::Error> {
    let mut findings = Findings::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Node {
        findings: &mut findings,
        path: FieldPath::Root,
        shape: shape(Some(root)),
    };
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok((value, findings))
}

/// Drops the unknown fields of a decoded object (a YAML body or a patched object) and reports
/// each.
pub fn prune(root: &'static Value, obj: &Value) -> (Value, Findings) {
    let mut findings = Findings::default();
    let seed = Node {
        findings: &mut findings,
        path: FieldPath::Root,
        shape: shape(Some(root)),
    };
    // A decoded value always deserializes; the fallback only keeps the signature honest.
    let value = seed.deserialize(obj).unwrap_or_else(|_| obj.clone());
    (value, findings)
}

/// The duplicate fields of a merge or strategic-merge patch body, anywhere in it.
pub fn patch_duplicates(body: &[u8]) -> Findings {
    let mut findings = Findings::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Node {
        findings: &mut findings,
        path: FieldPath::Root,
        shape: Shape::Any,
    };
    // A malformed body fails later, where the patch is parsed, with the parse error.
    let _ = seed.deserialize(&mut de);
    findings
}

/// The unknown and duplicate fields of the operations of a JSON patch (`[0].foo`); the patched
/// object is checked separately.
pub fn json_patch_findings(body: &[u8]) -> Findings {
    let mut findings = Findings::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = (&mut de).deserialize_seq(PatchOps {
        findings: &mut findings,
    });
    findings
}

/// Applies the directive to what was found: `Strict` refuses with a BadRequest, `Warn` returns
/// the warnings to send, `Ignore` returns none.
pub fn enforce(
    mode: FieldValidation,
    kind: &str,
    version: &str,
    findings: &Findings,
) -> ApiResult<Vec<String>> {
    if findings.is_empty() {
        return Ok(Vec::new());
    }
    match mode {
        FieldValidation::Ignore => Ok(Vec::new()),
        FieldValidation::Warn => Ok(findings.messages().to_vec()),
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            findings.messages().join(", ")
        ))),
    }
}

/// Decodes a create or update body for `resource` (JSON or YAML), drops unknown fields and
/// applies the directive. Returns the object and the warnings to send.
pub fn decode_object(
    resource: &ResourceInfo,
    content_type: &str,
    body: &[u8],
    mode: FieldValidation,
) -> ApiResult<(Value, Vec<String>)> {
    let Some(root) = root_schema(resource.group, resource.version, resource.kind) else {
        return Ok((
            crate::handler::decode_object(content_type, body)?,
            Vec::new(),
        ));
    };
    let (value, findings) = match content_type {
        "" | "application/json" | "*/*" => decode_json(root, body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON body: {e}")))?,
        _ => prune(root, &crate::handler::decode_object(content_type, body)?),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    let warnings = enforce(mode, resource.kind, resource.version, &findings)?;
    Ok((value, warnings))
}

/// What a patch body itself shows before it is applied: duplicate fields of a merge or
/// strategic-merge patch, unknown and duplicate fields of JSON patch operations.
pub fn patch_body_findings(content_type: &str, body: &[u8]) -> Findings {
    match content_type {
        "application/json-patch+json" => {
            let mut found = Findings::default();
            for m in json_patch_findings(body).messages {
                found.push(format!("json patch {m}"));
            }
            found
        }
        _ => patch_duplicates(body),
    }
}

/// Checks the object a patch made of `current`: drops unknown fields, adds them to what the
/// patch body showed and applies the directive. Returns the object and the warnings to send.
///
/// Unknown fields the stored object already had (written before Berth checked fields) are
/// dropped without a word: the client did not send them and could not remove them.
pub fn check_patched(
    resource: &ResourceInfo,
    mode: FieldValidation,
    body_findings: &Findings,
    current: &Value,
    patched: Value,
) -> ApiResult<(Value, Vec<String>)> {
    let Some(root) = root_schema(resource.group, resource.version, resource.kind) else {
        return Ok((patched, Vec::new()));
    };
    let (value, unknown) = prune(root, &patched);
    let mut all = body_findings.clone();
    if !unknown.is_empty() {
        let (_, before) = prune(root, current);
        for m in unknown.messages {
            if !before.seen.contains(&m) {
                all.push(m);
            }
        }
    }
    let warnings = enforce(mode, resource.kind, resource.version, &all)?;
    Ok((value, warnings))
}

/// Adds one `Warning: 299 - "…"` header per warning, as Kubernetes sends them.
pub fn add_warnings(resp: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        if let Ok(value) = HeaderValue::from_str(&warning_header(w)) {
            resp.headers_mut().append("warning", value);
        }
    }
}

/// The value of a `Warning` header carrying `text`: code 299, no agent, the text quoted with
/// `"` and `\` escaped and anything outside printable ASCII written as `\u{…}`.
pub fn warning_header(text: &str) -> String {
    let mut out = String::from("299 - \"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            other => out.push_str(&other.escape_unicode().to_string()),
        }
    }
    out.push('"');
    out
}

// ---- the walk ----

/// How the schema lets a value be walked.
#[derive(Clone, Copy)]
enum Shape<'s> {
    /// An object with named fields; other keys are unknown.
    Object(&'s Map<String, Value>),
    /// A map with free keys, each value of the given schema (or anything).
    Map(Option<&'s Value>),
    /// A list of items of the given schema (or anything).
    Array(Option<&'s Value>),
    /// Anything: scalars, free-form objects, quantities and the like.
    Any,
}

/// How many `$ref`s a resolution follows before it gives up; the schemas need one or two.
const MAX_REF_HOPS: usize = 8;

/// The shape of `schema`, resolved once per schema and thread.
fn shape(schema: Option<&'static Value>) -> Shape<'static> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static SHAPES: RefCell<HashMap<usize, Shape<'static>>> = RefCell::new(HashMap::new());
    }
    let Some(schema) = schema else {
        return Shape::Any;
    };
    let at = schema as *const Value as usize;
    if let Some(found) = SHAPES.with(|m| m.borrow().get(&at).copied()) {
        return found;
    }
    let resolved = resolve_shape(schema);
    SHAPES.with(|m| m.borrow_mut().insert(at, resolved));
    resolved
}

fn resolve_shape(mut schema: &'static Value) -> Shape<'static> {
    let components = schemas::components();
    for _ in 0..MAX_REF_HOPS {
        match schemas::ref_target(schema) {
            Some(name) => match components.get(name) {
                Some(target) => schema = target,
                None => return Shape::Any,
            },
            None => break,
        }
    }
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return Shape::Any;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        return Shape::Object(props);
    }
    match schema.get("additionalProperties") {
        Some(items @ Value::Object(_)) => return Shape::Map(Some(items)),
        Some(Value::Bool(true)) => return Shape::Map(None),
        _ => {}
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        return Shape::Array(schema.get("items"));
    }
    Shape::Any
}

/// Where a value sits in the body, rendered (`spec.containers[0].name`) only for a finding.
#[derive(Clone, Copy)]
enum FieldPath<'a> {
    Root,
    Key(&'a FieldPath<'a>, &'a str),
    Index(&'a FieldPath<'a>, usize),
}

impl FieldPath<'_> {
    fn render(&self) -> String {
        match self {
            FieldPath::Root => String::new(),
            FieldPath::Key(parent, key) => {
                let mut out = parent.render();
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
                out
            }
            FieldPath::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// One value being decoded at `path`, with the shape its schema gives it.
struct Node<'f, 'p> {
    findings: &'f mut Findings,
    path: FieldPath<'p>,
    shape: Shape<'static>,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let items = match self.shape {
            Shape::Array(items) => items,
            _ => None,
        };
        let item_shape = shape(items);
        let mut out = Vec::new();
        loop {
            let node = Node {
                findings: &mut *self.findings,
                path: FieldPath::Index(&self.path, out.len()),
                shape: item_shape,
            };
            match seq.next_element_seed(node)? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = FieldPath::Key(&self.path, &key);
            let child = match self.shape {
                Shape::Object(props) => props.get(&key).map(|schema| shape(Some(schema))),
                Shape::Map(values) => Some(shape(values)),
                Shape::Array(_) | Shape::Any => Some(Shape::Any),
            };
            let Some(child) = child else {
                // An unknown field: reported once however often it appears, and its value is
                // not looked into, as a typed decode skips it.
                self.findings.unknown(&path.render());
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            // Known fields are all kept, so one already kept is given twice.
            if out.contains_key(&key) {
                self.findings.duplicate(&path.render());
            }
            let node = Node {
                findings: &mut *self.findings,
                path,
                shape: child,
            };
            let value = map.next_value_seed(node)?;
            // The last of duplicate keys wins, as in a typed decode.
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The operations of a JSON patch, each checked for keys other than `op`, `path`, `value` and
/// `from`, and for keys given twice.
struct PatchOps<'f> {
    findings: &'f mut Findings,
}

impl<'de> Visitor<'de> for PatchOps<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of JSON patch operations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(PatchOp {
                findings: &mut *self.findings,
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
}

struct PatchOp<'f> {
    findings: &'f mut Findings,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for PatchOp<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PatchOp<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON patch operation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("[{}].{key}", self.index);
            if !matches!(key.as_str(), "op" | "path" | "value" | "from") {
                self.findings.unknown(&path);
            } else if !seen.insert(key.clone()) {
                self.findings.duplicate(&path);
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    // Anything else is not an operation; the patch parser reports it.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> &'static Value {
        root_schema("apps", "v1", "Deployment").expect("Deployment schema")
    }

    fn found(f: &Findings) -> Vec<&str> {
        f.messages().iter().map(String::as_str).collect()
    }

    /// A Deployment with unknown and duplicate fields at several depths, some both.
    const INVALID: &str = r#"{
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "dupename", "name": "web", "labels": {"app": "nginx"}, "unknownMeta": "metaVal"},
        "spec": {
            "unknown1": "val1",
            "unknownDupe": "valDupe",
            "unknownDupe": "valDupe2",
            "paused": true,
            "paused": false,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{
                    "name": "nginx",
                    "image": "nginx:latest",
                    "unknownNested": "val1",
                    "imagePullPolicy": "Always",
                    "imagePullPolicy": "Never"
                }]}
            }
        }
    }"#;

    #[test]
    fn unknown_and_duplicate_fields_in_body_order() {
        let (obj, f) = decode_json(deployment(), INVALID.as_bytes()).expect("decodes");
        assert_eq!(
            found(&f),
            [
                r#"duplicate field "metadata.name""#,
                r#"unknown field "metadata.unknownMeta""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
                r#"duplicate field "spec.paused""#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
            ]
        );
        // Unknown fields are gone; the last of duplicates wins.
        assert_eq!(
            obj["metadata"],
            json!({"name": "web", "labels": {"app": "nginx"}})
        );
        assert_eq!(obj["spec"]["paused"], json!(false));
        assert!(obj["spec"].get("unknown1").is_none());
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Never"
        );
        assert!(obj["spec"]["template"]["spec"]["containers"][0]
            .get("unknownNested")
            .is_none());
    }

    #[test]
    fn unknown_field_table() {
        let cases: &[(&str, &str, Value, &[&str])] = &[
            (
                "apps",
                "Deployment",
                json!({"spec": {"replicaz": 2}}),
                &[r#"unknown field "spec.replicaz""#],
            ),
            (
                "apps",
                "Deployment",
                json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}}),
                &[],
            ),
            // null for a known field is allowed.
            (
                "apps",
                "Deployment",
                json!({"spec": {"replicas": null}}),
                &[],
            ),
            // Map keys are free; their values follow the map's schema.
            (
                "",
                "ConfigMap",
                json!({"data": {"anything": "x", "b": "y"}, "binaryData": {}}),
                &[],
            ),
            (
                "",
                "ConfigMap",
                json!({"dta": {}}),
                &[r#"unknown field "dta""#],
            ),
            (
                "",
                "Pod",
                json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "imagee": "x", "resources": {"limits": {"cpu": "1"}, "limitz": {}}}]}}),
                &[
                    r#"unknown field "spec.containers[1].imagee""#,
                    r#"unknown field "spec.containers[1].resources.limitz""#,
                ],
            ),
            // Quantities, int-or-strings and free-form objects take anything.
            (
                "",
                "Pod",
                json!({"spec": {"overhead": {"cpu": 1}, "containers": [{"name": "a", "ports": [{"containerPort": 80}], "livenessProbe": {"httpGet": {"port": "http"}}}]}}),
                &[],
            ),
            (
                "",
                "Pod",
                json!({"metadata": {"managedFields": [{"fieldsV1": {"f:spec": {"f:x": {}}}}]}}),
                &[],
            ),
            // A value of the wrong type is for validation to refuse, not field validation.
            ("", "Service", json!({"spec": "nonsense"}), &[]),
            (
                "rbac.authorization.k8s.io",
                "ClusterRole",
                json!({"rules": [{"verbs": ["get"], "resource": ["pods"]}]}),
                &[r#"unknown field "rules[0].resource""#],
            ),
        ];
        for (group, kind, obj, want) in cases {
            let r = berth_api_types::catalog::find_by_kind(group, kind).expect("served kind");
            let root = root_schema(r.group, r.version, r.kind).expect("schema");
            let (_, f) = prune(root, obj);
            assert_eq!(found(&f), *want, "{kind} {obj}");
            let (_, f) = decode_json(root, obj.to_string().as_bytes()).expect("decodes");
            assert_eq!(found(&f), *want, "{kind} {obj} from bytes");
        }
    }

    #[test]
    fn prune_reports_in_key_order() {
        let obj: Value = serde_json::from_str(INVALID).expect("JSON");
        let (_, f) = prune(deployment(), &obj);
        assert_eq!(
            found(&f),
            [
                r#"unknown field "metadata.unknownMeta""#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
            ]
        );
    }

    #[test]
    fn patch_bodies_report_duplicates_anywhere() {
        let body = br#"{"spec": {"unknownDupe": 1, "unknownDupe": 2, "paused": true, "paused": false,
            "template": {"spec": {"containers": [{"name": "n", "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}},
            "$setElementOrder/containers": [{"name": "n"}]}}"#;
        assert_eq!(
            found(&patch_body_findings("application/merge-patch+json", body)),
            [
                r#"duplicate field "spec.unknownDupe""#,
                r#"duplicate field "spec.paused""#,
                r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
            ]
        );
    }

    #[test]
    fn json_patch_operations_are_checked() {
        let body = br#"[
            {"op": "add", "path": "/spec/unknown1", "value": "val1", "foo": "bar"},
            {"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"},
            {"op": "remove", "path": "/spec/paused"}
        ]"#;
        assert_eq!(
            found(&patch_body_findings("application/json-patch+json", body)),
            [
                r#"json patch unknown field "[0].foo""#,
                r#"json patch duplicate field "[1].path""#
            ]
        );
        assert!(patch_body_findings("application/json-patch+json", b"{not json").is_empty());
    }

    #[test]
    fn directives() {
        let mut f = Findings::default();
        f.unknown("spec.replicaz");
        f.unknown("spec.foo");
        f.unknown("spec.replicaz");
        assert_eq!(
            enforce(FieldValidation::Ignore, "Deployment", "v1", &f).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            enforce(FieldValidation::Warn, "Deployment", "v1", &f).unwrap(),
            [
                r#"unknown field "spec.replicaz""#,
                r#"unknown field "spec.foo""#
            ]
        );
        let err = enforce(FieldValidation::Strict, "Deployment", "v1", &f).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(err.reason, "BadRequest");
        assert_eq!(
            err.message,
            r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaz", unknown field "spec.foo""#
        );
        assert!(enforce(
            FieldValidation::Strict,
            "Deployment",
            "v1",
            &Findings::default()
        )
        .is_ok());
    }

    #[test]
    fn directive_from_query() {
        let q = |s: &str| Query::parse(Some(s));
        assert_eq!(
            FieldValidation::from_query(&q("")).unwrap(),
            FieldValidation::Warn
        );
        assert_eq!(
            FieldValidation::from_query(&q("fieldValidation=Strict")).unwrap(),
            FieldValidation::Strict
        );
        assert_eq!(
            FieldValidation::from_query(&q("fieldValidation=Ignore")).unwrap(),
            FieldValidation::Ignore
        );
        assert_eq!(
            FieldValidation::from_query(&q("fieldValidation=strict"))
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn findings_are_capped() {
        let fields: Vec<String> = (0..150).map(|i| format!("\"x{i}\": 1")).collect();
        let body = format!("{{{}}}", fields.join(","));
        let (_, f) = decode_json(deployment(), body.as_bytes()).expect("decodes");
        assert_eq!(f.messages().len(), MAX_FINDINGS);
    }

    #[test]
    fn warning_headers_quote_and_escape() {
        assert_eq!(
            warning_header(r#"unknown field "spec.x""#),
            r#"299 - "unknown field \"spec.x\"""#
        );
        assert_eq!(warning_header("é"), r#"299 - "\u{e9}""#);
    }

    #[test]
    fn malformed_bodies_fail_to_decode() {
        assert!(decode_json(deployment(), b"{\"spec\": ").is_err());
        assert!(decode_json(deployment(), b"{} {}").is_err());
    }
}
