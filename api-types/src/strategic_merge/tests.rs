//! Tests for strategic merge patches: upstream's cases on a small test schema, cases on the
//! served kinds' metadata, error messages, and properties over generated documents.

use serde_json::json;

use super::*;

mod kinds;
mod properties;
mod upstream;

/// A small deterministic generator (xorshift), so the property tests here and in `ordering`
/// need no dependency and every run checks the same inputs.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("x")
    }
}

/// Parses a YAML fixture (the notation Kubernetes' own patch fixtures use).
fn yaml(text: &str) -> Value {
    match serde_saphyr::from_str::<Value>(text) {
        Ok(value) => value,
        Err(err) => panic!("bad fixture {text:?}: {err}"),
    }
}

/// Whether any object key in `value` starts with `$`.
fn has_dollar_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_dollar_key(v)),
        Value::Array(items) => items.iter().any(has_dollar_key),
        _ => false,
    }
}

#[test]
fn errors_map_to_kubernetes_status_codes() {
    let cases = [
        (PatchError::Unsupported, 400),
        (PatchError::BadJsonDoc, 400),
        (PatchError::PatchNotObject("array"), 400),
        (PatchError::BadPrimitiveListFormat, 400),
        (PatchError::BadRetainKeysFormat, 400),
        (PatchError::BadSetElementOrderFormat, 400),
        (PatchError::ListOfLists, 422),
        (PatchError::MergeListDirective, 500),
        (
            PatchError::NoMergeKey {
                map: "map[]".into(),
                key: "name".into(),
            },
            500,
        ),
        (PatchError::NoElements, 500),
    ];
    for (error, status) in cases {
        assert_eq!(error.http_status(), status, "{error}");
    }
}

#[test]
fn directive_targets() {
    let cases = [
        (
            "$setElementOrder/containers",
            SET_ELEMENT_ORDER,
            Some("containers"),
        ),
        ("$setElementOrder/a/b", SET_ELEMENT_ORDER, Some("a/b")),
        ("$setElementOrder", SET_ELEMENT_ORDER, None),
        ("$setElementOrderX/a", SET_ELEMENT_ORDER, None),
        (
            "$deleteFromPrimitiveList/finalizers",
            DELETE_FROM_PRIMITIVE_LIST,
            Some("finalizers"),
        ),
        (
            "$deleteFromPrimitiveList/",
            DELETE_FROM_PRIMITIVE_LIST,
            Some(""),
        ),
    ];
    for (key, prefix, want) in cases {
        assert_eq!(directive_target(key, prefix), want, "{key}");
    }
}

#[test]
fn remove_directives_and_strip_differ_on_patch_objects() {
    let value = json!({
        "keep": 1,
        "gone": null,
        "$retainKeys": ["keep"],
        "replaced": {"$patch": "replace", "a": 1},
        "list": [{"$patch": "delete", "name": "x"}, {"name": "y", "z": null}, null],
    });
    let removed = json!({"keep": 1, "list": [{"name": "y"}, null]});
    let stripped =
        json!({"keep": 1, "replaced": {"a": 1}, "list": [{"name": "x"}, {"name": "y"}, null]});
    assert_eq!(remove_directives(value.clone()), Some(removed));
    assert_eq!(strip(value), stripped);
    assert_eq!(remove_directives(json!({"$patch": "delete"})), None);
}
