//! Forgiving reads from objects held as JSON.
//!
//! A table must print something for every stored object, even one with a missing field or a
//! field of the wrong type, so every read here falls back to the value Kubernetes would see
//! for an absent field (an empty string, zero, an empty list) instead of failing.

use serde_json::{Map, Value};

/// The value at `path`, if every step exists.
pub(super) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |current, key| current.get(key))
}

/// The string at `path`, or "" when it is missing or not a string.
pub(super) fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).and_then(Value::as_str).unwrap_or("")
}

/// The string at `path` when it is present and a string.
pub(super) fn opt_str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The integer at `path` when it is present and an integer.
pub(super) fn opt_int_at(value: &Value, path: &[&str]) -> Option<i64> {
    let value = at(value, path)?;
    value
        .as_i64()
        .or_else(|| value.as_u64().map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
}

/// The integer at `path`, or 0 when it is missing or not an integer.
pub(super) fn int_at(value: &Value, path: &[&str]) -> i64 {
    opt_int_at(value, path).unwrap_or(0)
}

/// The boolean at `path` when it is present and a boolean.
pub(super) fn opt_bool_at(value: &Value, path: &[&str]) -> Option<bool> {
    at(value, path).and_then(Value::as_bool)
}

/// The boolean at `path`, or `false` when it is missing or not a boolean.
pub(super) fn bool_at(value: &Value, path: &[&str]) -> bool {
    opt_bool_at(value, path).unwrap_or(false)
}

/// The list at `path`, or an empty slice when it is missing or not a list.
pub(super) fn list_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The map at `path` when it is present and a JSON object.
pub(super) fn map_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(value, path).and_then(Value::as_object)
}

/// Whether `path` holds a JSON object: how a pointer field that is set looks in JSON.
pub(super) fn is_set(value: &Value, path: &[&str]) -> bool {
    map_at(value, path).is_some()
}

/// The number of entries of the map at `path` (0 when missing or not a map).
pub(super) fn map_len(value: &Value, path: &[&str]) -> usize {
    map_at(value, path).map_or(0, Map::len)
}

/// The string entries of the map at `path`, sorted by key; entries that are not strings are
/// skipped.
pub(super) fn string_map<'a>(value: &'a Value, path: &[&str]) -> Vec<(&'a str, &'a str)> {
    // serde_json keeps object keys sorted (no `preserve_order`), so iteration is ordered;
    // the sort keeps that true whatever the feature set.
    let mut entries: Vec<(&'a str, &'a str)> = map_at(value, path)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| value.as_str().map(|value| (key.as_str(), value)))
        .collect();
    entries.sort_unstable();
    entries
}

/// An `int-or-string` field printed as Kubernetes prints it: the number in decimal or the
/// string as written.
pub(super) fn int_or_string_at(value: &Value, path: &[&str]) -> Option<String> {
    match at(value, path)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_fall_back_on_missing_or_mistyped_fields() {
        let object = json!({
            "a": {"s": "text", "n": 7, "b": true, "l": [1, 2], "m": {"y": "2", "x": "1", "z": 3}},
            "wrong": {"s": 1, "n": "7", "b": "true", "l": {}, "m": []},
        });
        assert_eq!(str_at(&object, &["a", "s"]), "text");
        assert_eq!(str_at(&object, &["wrong", "s"]), "");
        assert_eq!(str_at(&object, &["missing", "s"]), "");
        assert_eq!(int_at(&object, &["a", "n"]), 7);
        assert_eq!(int_at(&object, &["wrong", "n"]), 0);
        assert!(bool_at(&object, &["a", "b"]));
        assert!(!bool_at(&object, &["wrong", "b"]));
        assert_eq!(list_at(&object, &["a", "l"]).len(), 2);
        assert!(list_at(&object, &["wrong", "l"]).is_empty());
        assert_eq!(map_len(&object, &["a", "m"]), 3);
        assert_eq!(map_len(&object, &["wrong", "m"]), 0);
        assert_eq!(
            string_map(&object, &["a", "m"]),
            vec![("x", "1"), ("y", "2")]
        );
        assert!(is_set(&object, &["a"]));
        assert!(!is_set(&object, &["a", "s"]));
    }

    #[test]
    fn int_or_string_prints_both_shapes() {
        let object = json!({"i": 2, "s": "25%", "b": true});
        assert_eq!(int_or_string_at(&object, &["i"]).as_deref(), Some("2"));
        assert_eq!(int_or_string_at(&object, &["s"]).as_deref(), Some("25%"));
        assert_eq!(int_or_string_at(&object, &["b"]), None);
        assert_eq!(int_or_string_at(&object, &["none"]), None);
    }
}
