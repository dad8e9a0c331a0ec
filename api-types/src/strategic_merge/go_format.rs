//! Values printed the way Go's `fmt` prints decoded JSON, for Kubernetes' error messages.
//!
//! Kubernetes builds its strategic-merge errors with `%v` and `%s` over `interface{}` values
//! (`map: map[image:nginx] does not contain declared merge key: name`). Users search for these
//! messages, so Berth prints them the same way: objects as `map[k:v ...]` with sorted keys,
//! lists as `[a b]`, strings bare, `null` as `<nil>`, integers in decimal and other numbers as
//! Go's shortest `%g`.

use std::fmt::Write;

use serde_json::{Number, Value};

/// `value` as Go's `%v` prints it.
pub(super) fn go_fmt(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, false);
    out
}

/// A list as Go's `%v` prints it.
pub(super) fn go_fmt_list(items: &[Value]) -> String {
    let mut out = String::new();
    write_list(&mut out, items, false);
    out
}

/// `value` as Go's `%s` prints it: strings bare, other scalars as `%!s(type=value)`.
pub(super) fn go_fmt_s(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, true);
    out
}

/// The Go type Kubernetes' decoding gives `value`, as `%s` of its `reflect.Type` prints it.
pub(super) fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => super::GO_LIST,
        Value::Object(_) => super::GO_MAP,
    }
}

fn write_value(out: &mut String, value: &Value, verb_s: bool) {
    match value {
        Value::Null if verb_s => out.push_str("%!s(<nil>)"),
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) if verb_s => {
            let _ = write!(out, "%!s(bool={b})");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let (text, go_type) = number_text(n);
            if verb_s {
                let _ = write!(out, "%!s({go_type}={text})");
            } else {
                out.push_str(&text);
            }
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => write_list(out, items, verb_s),
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("map[");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_value(out, item, verb_s);
            }
            out.push(']');
        }
    }
}

fn write_list(out: &mut String, items: &[Value], verb_s: bool) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, item, verb_s);
    }
    out.push(']');
}

/// A number's text and Go type: integers that fit an `int64` stay integers, as Kubernetes'
/// JSON decoding keeps them; everything else is a `float64`.
fn number_text(n: &Number) -> (String, &'static str) {
    if let Some(i) = n.as_i64() {
        return (i.to_string(), "int64");
    }
    let f = n.as_f64().unwrap_or(0.0);
    (go_float(f), "float64")
}

/// A float as Go's `%v` prints it: the shortest digits that round-trip, in exponent form
/// when the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let scientific = format!("{f:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return format!("{f}");
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return format!("{f}");
    };
    if (-4..6).contains(&exponent) {
        format!("{f}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_go() {
        let cases = [
            (json!(null), "<nil>", "%!s(<nil>)"),
            (json!(true), "true", "%!s(bool=true)"),
            (json!(80), "80", "%!s(int64=80)"),
            (json!(-3), "-3", "%!s(int64=-3)"),
            (json!(1.5), "1.5", "%!s(float64=1.5)"),
            (json!(1000000.0), "1e+06", "%!s(float64=1e+06)"),
            (json!(123456.5), "123456.5", "%!s(float64=123456.5)"),
            (json!(0.00001), "1e-05", "%!s(float64=1e-05)"),
            (json!(0.0001), "0.0001", "%!s(float64=0.0001)"),
            (json!("merge"), "merge", "merge"),
            (json!(["a", 1]), "[a 1]", "[a %!s(int64=1)]"),
            (
                json!({"name": "x", "$patch": "delete", "ports": [{"containerPort": 80}]}),
                "map[$patch:delete name:x ports:[map[containerPort:80]]]",
                "map[$patch:delete name:x ports:[map[containerPort:%!s(int64=80)]]]",
            ),
            (json!({}), "map[]", "map[]"),
        ];
        for (value, v, s) in cases {
            assert_eq!(go_fmt(&value), v, "%v of {value}");
            assert_eq!(go_fmt_s(&value), s, "%s of {value}");
        }
    }

    #[test]
    fn go_type_names() {
        let cases = [
            (json!(null), "%!s(<nil>)"),
            (json!(false), "bool"),
            (json!(1), "int64"),
            (json!(1.0), "float64"),
            (json!("x"), "string"),
            (json!([]), "[]interface {}"),
            (json!({}), "map[string]interface {}"),
        ];
        for (value, name) in cases {
            assert_eq!(go_type(&value), name, "type of {value}");
        }
    }
}
