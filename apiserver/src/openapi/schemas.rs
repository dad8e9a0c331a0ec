//! The component schemas of every kind Berth serves, generated from the `k8s-openapi` types.
//!
//! The types carry each field's description and type; what they lack, Berth adds from its own
//! metadata: `x-kubernetes-group-version-kind` on the top-level kinds (clients find a kind's
//! schema by it) and the strategic-merge extensions (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`) from [`berth_api_types::patch_meta`]. The schemas are built
//! once, on first use, and shared by the OpenAPI documents and by field validation.

use super::kinds::{self, KINDS};
use berth_api_types::catalog::CATALOG;
use berth_api_types::patch_meta::{self, FieldShape, TypeRef};
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

/// Where component schemas live in a document, as `$ref`s spell it.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// Every component schema, by name (`io.k8s.api.apps.v1.Deployment`, ...).
pub fn components() -> &'static Map<String, Value> {
    static COMPONENTS: OnceLock<Map<String, Value>> = OnceLock::new();
    COMPONENTS.get_or_init(generate)
}

fn generate() -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    for k in KINDS {
        (k.add_to)(&mut generator);
    }
    kinds::add_shared(&mut generator);
    let mut components = generator.take_definitions(true);
    publish_scalar_wrappers(&mut components);
    for k in KINDS {
        if let Some(schema) = components
            .get_mut((k.schema_name)().as_ref())
            .and_then(Value::as_object_mut)
        {
            schema.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": k.group, "kind": k.kind, "version": k.version}]),
            );
        }
    }
    let mut seen = HashSet::new();
    for k in KINDS {
        if let Some(root) = patch_meta::root_type(k.group, k.kind) {
            annotate(&mut components, &(k.schema_name)(), root, &mut seen);
        }
    }
    components
}

/// The two scalar wrappers, as Kubernetes publishes them: an int-or-string is an integer or a
/// string (`format: int-or-string`, which `kubectl explain` shows as `IntOrString`), a quantity
/// a string or a number. The generated schemas mark both only with an extension.
fn publish_scalar_wrappers(components: &mut Map<String, Value>) {
    let wrappers = [
        (
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            Some("int-or-string"),
            json!([{"type": "integer"}, {"type": "string"}]),
        ),
        (
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            None,
            json!([{"type": "string"}, {"type": "number"}]),
        ),
    ];
    for (name, format, one_of) in wrappers {
        if let Some(schema) = components.get_mut(name).and_then(Value::as_object_mut) {
            schema.remove("x-kubernetes-int-or-string");
            if let Some(format) = format {
                schema.insert("format".into(), json!(format));
            }
            schema.insert("oneOf".into(), one_of);
        }
    }
}

/// The component a schema refers to: `{"$ref": …}` or `{"allOf": [{"$ref": …}], …}`.
pub fn ref_target(schema: &Value) -> Option<&str> {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.get("allOf")?.as_array()?.first()?.get("$ref"))?;
    reference.as_str()?.strip_prefix(REF_PREFIX)
}

/// Adds the strategic-merge extensions of `ty` to the properties of `component`, and of the
/// types below it to the components its properties refer to.
fn annotate(
    components: &mut Map<String, Value>,
    component: &str,
    ty: TypeRef,
    seen: &mut HashSet<(String, &'static str)>,
) {
    if !seen.insert((component.to_owned(), ty.name())) {
        return;
    }
    for field in ty.fields() {
        let Some(prop) = components
            .get_mut(component)
            .and_then(|c| c.get_mut("properties"))
            .and_then(|p| p.get_mut(field.name))
        else {
            continue;
        };
        if let Some(tag) = field.strategy.tag() {
            set_extension(prop, "x-kubernetes-patch-strategy", tag);
        }
        if let Some(key) = field.merge_key {
            set_extension(prop, "x-kubernetes-patch-merge-key", key);
        }
        let target = match field.shape {
            FieldShape::List => prop.get("items").and_then(ref_target),
            FieldShape::Object => ref_target(prop),
            FieldShape::Map => None,
        }
        .map(str::to_owned);
        if let (Some(child), Some(target)) = (field.child, target) {
            annotate(components, &target, child, seen);
        }
    }
}

/// Sets an extension on a property schema. A bare `$ref` may have no siblings in OpenAPI 3.0,
/// so it moves into `allOf` first.
fn set_extension(prop: &mut Value, key: &str, value: &str) {
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    if let Some(reference) = obj.remove("$ref") {
        obj.insert("allOf".into(), json!([{"$ref": reference}]));
    }
    obj.insert(key.into(), json!(value));
}

/// The names of `roots` and of every component they reach through `$ref`s, sorted.
pub fn reachable<'a>(roots: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let all = components();
    let mut found = BTreeSet::new();
    let mut pending: Vec<String> = roots.into_iter().map(str::to_owned).collect();
    while let Some(name) = pending.pop() {
        if !found.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = all.get(&name) {
            collect_refs(schema, &mut pending);
        }
    }
    found.retain(|name| all.contains_key(name));
    found
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            out.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The component name of the schema of `kind` in `group`/`version`.
pub fn schema_name(group: &str, version: &str, kind: &str) -> Option<String> {
    kinds::find(group, version, kind).map(|k| (k.schema_name)().into_owned())
}

/// Whether every served kind's schema was generated; a check for tests and start-up logs.
pub fn missing_kinds() -> Vec<String> {
    CATALOG
        .iter()
        .filter(|r| {
            schema_name(r.group, r.version, r.kind).is_none_or(|n| !components().contains_key(&n))
        })
        .map(|r| format!("{}/{} {}", r.group, r.version, r.kind))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str) -> &'static Value {
        components()
            .get(name)
            .unwrap_or_else(|| panic!("no component {name}"))
    }

    #[test]
    fn every_served_kind_has_a_schema() {
        assert_eq!(missing_kinds(), Vec::<String>::new());
    }

    #[test]
    fn kinds_carry_their_group_version_kind() {
        let deploy = schema("io.k8s.api.apps.v1.Deployment");
        assert_eq!(
            deploy["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        assert!(deploy["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
        assert_eq!(
            ref_target(&deploy["properties"]["metadata"]),
            Some("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        );
        assert_eq!(
            ref_target(&deploy["properties"]["spec"]),
            Some("io.k8s.api.apps.v1.DeploymentSpec")
        );
        // Shared types are not kinds.
        assert!(schema("io.k8s.api.core.v1.PodSpec")
            .get("x-kubernetes-group-version-kind")
            .is_none());
    }

    #[test]
    fn references_with_descriptions_use_all_of() {
        let spec = &schema("io.k8s.api.apps.v1.Deployment")["properties"]["spec"];
        assert!(spec.get("$ref").is_none(), "{spec}");
        assert!(spec["description"].is_string(), "{spec}");
    }

    #[test]
    fn patch_extensions_come_from_patch_meta() {
        let containers = &schema("io.k8s.api.core.v1.PodSpec")["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let ports = &schema("io.k8s.api.core.v1.Container")["properties"]["ports"];
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        let finalizers =
            &schema("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")["properties"]["finalizers"];
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
        let strategy = &schema("io.k8s.api.apps.v1.DeploymentSpec")["properties"]["strategy"];
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
        assert!(ref_target(strategy).is_some(), "{strategy}");
    }

    #[test]
    fn scalar_wrappers_are_published_as_kubernetes_does() {
        let int_or_string = schema("io.k8s.apimachinery.pkg.util.intstr.IntOrString");
        assert_eq!(int_or_string["format"], "int-or-string");
        assert_eq!(
            int_or_string["oneOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
        assert!(int_or_string.get("x-kubernetes-int-or-string").is_none());
        let quantity = schema("io.k8s.apimachinery.pkg.api.resource.Quantity");
        assert_eq!(
            quantity["oneOf"],
            json!([{"type": "string"}, {"type": "number"}])
        );
        assert!(quantity.get("x-kubernetes-int-or-string").is_none());
    }

    #[test]
    fn reachable_follows_references() {
        let names = reachable(["io.k8s.api.apps.v1.Deployment"]);
        for name in [
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.api.core.v1.PodSpec",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
        ] {
            assert!(names.contains(name), "{name} not reached");
        }
        assert!(!names.contains("io.k8s.api.core.v1.Service"));
    }
}
