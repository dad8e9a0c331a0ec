//! Field errors: the unit in which Berth reports why an object is invalid.
//!
//! A client sees these errors twice: as the `causes` of a `422 Invalid` status and inside that
//! status's message. Both must read exactly as Kubernetes writes them, because users and tools
//! match on the text (`spec.containers[0].image: Required value`). This module owns the error
//! type, the path builder and the rendering rules for bad values.

use std::fmt;

use serde_json::Value;

/// Why a field is invalid; the name a client sees as a status cause `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// A value is malformed or out of range (`FieldValueInvalid`).
    Invalid,
    /// A value is not one of an enumerated set (`FieldValueNotSupported`).
    NotSupported,
    /// A value that must be unique appears twice (`FieldValueDuplicate`).
    Duplicate,
    /// A well-formed value is not allowed here (`FieldValueForbidden`).
    Forbidden,
    /// A value is longer than allowed (`FieldValueTooLong`).
    TooLong,
    /// A list has more items than allowed (`FieldValueTooMany`).
    TooMany,
    /// A value could not be found where it is referenced (`FieldValueNotFound`).
    NotFound,
    /// Something went wrong that is not the user's fault (`InternalError`).
    Internal,
}

impl ErrorType {
    /// The machine-readable cause type, as in a status cause's `reason`.
    pub fn cause_type(self) -> &'static str {
        match self {
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Internal => "InternalError",
        }
    }

    /// The human-readable text that starts every message of this type.
    pub fn text(self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::NotFound => "Not found",
            ErrorType::Internal => "Internal error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// A path to a field, rendered the way Kubernetes names fields in errors:
/// `spec.containers[0].image`, with map keys as `metadata.labels[app]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path(String);

impl Path {
    /// A path starting at the top-level field `name`.
    pub fn new(name: &str) -> Path {
        Path(name.to_owned())
    }

    /// The empty path, used when an error concerns the whole object.
    pub fn root() -> Path {
        Path(String::new())
    }

    /// The path of field `name` inside this one.
    pub fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_owned())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }

    /// The path of list item `index` inside this one.
    pub fn index(&self, index: usize) -> Path {
        Path(format!("{}[{index}]", self.0))
    }

    /// The path of map entry `key` inside this one.
    pub fn key(&self, key: &str) -> Path {
        Path(format!("{}[{key}]", self.0))
    }

    /// The rendered path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One reason an object is invalid, tied to the field it concerns.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Why the field is invalid.
    pub error_type: ErrorType,
    /// The field's path, e.g. `spec.containers[0].image`.
    pub field: String,
    /// The offending value; `None` when the message does not show one.
    pub bad_value: Option<Value>,
    /// Extra explanation appended to the message; may be empty.
    pub detail: String,
    /// How Kubernetes prints the bad value when it is a structure (a label selector, a
    /// typed map); when set, messages show this text instead of `bad_value`.
    pub value_text: Option<String>,
}

impl FieldError {
    fn new(error_type: ErrorType, path: &Path, bad_value: Option<Value>, detail: &str) -> Self {
        FieldError {
            error_type,
            field: path.as_str().to_owned(),
            bad_value,
            detail: detail.to_owned(),
            value_text: None,
        }
    }

    /// A required value is missing.
    pub fn required(path: &Path, detail: &str) -> Self {
        Self::new(ErrorType::Required, path, None, detail)
    }

    /// A value is malformed; `detail` says why.
    pub fn invalid(path: &Path, value: impl Into<Value>, detail: &str) -> Self {
        Self::new(ErrorType::Invalid, path, Some(value.into()), detail)
    }

    /// A value is not one of `supported`.
    pub fn not_supported(path: &Path, value: impl Into<Value>, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, path, Some(value.into()), &detail)
    }

    /// A value that must be unique appears again.
    pub fn duplicate(path: &Path, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::Duplicate, path, Some(value.into()), "")
    }

    /// A referenced value does not exist.
    pub fn not_found(path: &Path, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::NotFound, path, Some(value.into()), "")
    }

    /// A value is not allowed here; `detail` says why.
    pub fn forbidden(path: &Path, detail: &str) -> Self {
        Self::new(ErrorType::Forbidden, path, None, detail)
    }

    /// A value is longer than `max_bytes`.
    pub fn too_long(path: &Path, max_bytes: usize) -> Self {
        Self::new(
            ErrorType::TooLong,
            path,
            None,
            &format!("must have at most {max_bytes} bytes"),
        )
    }

    /// A list holds `actual` items where at most `max` are allowed.
    pub fn too_many(path: &Path, actual: usize, max: usize) -> Self {
        Self::new(
            ErrorType::TooMany,
            path,
            Some(Value::from(actual)),
            &format!("must have at most {max} items"),
        )
    }

    /// Something failed that the user did not cause.
    pub fn internal(path: &Path, detail: &str) -> Self {
        Self::new(ErrorType::Internal, path, None, detail)
    }

    /// Shows `text` as the bad value in messages, for values Kubernetes prints as Go
    /// structures.
    pub fn with_value_text(mut self, text: impl Into<String>) -> Self {
        self.value_text = Some(text.into());
        self
    }

    /// The message without the field path, as in a status cause's `message`.
    pub fn body(&self) -> String {
        let mut out = String::from(self.error_type.text());
        let shows_value = !matches!(
            self.error_type,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if shows_value {
            if let Some(text) = &self.value_text {
                out.push_str(": ");
                out.push_str(text);
            } else if let Some(value) = &self.bad_value {
                out.push_str(": ");
                out.push_str(&render_value(value));
            }
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// All the reasons an object is invalid, in the order they were found.
pub type ErrorList = Vec<FieldError>;

/// The errors joined the way a status message shows them: the single message alone, several
/// in brackets separated by `, `, repeated messages once. Empty for an empty list.
pub fn aggregate_message(errors: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for error in errors {
        let message = error.to_string();
        if !seen.contains(&message) {
            seen.push(message);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// The message of the `422 Invalid` status for object `name` of `group`/`kind`, e.g.
/// `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than
/// or equal to 0`.
pub fn invalid_status_message(
    group: &str,
    kind: &str,
    name: &str,
    errors: &[FieldError],
) -> String {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let aggregate = aggregate_message(errors);
    if aggregate.is_empty() {
        format!("{qualified} {} is invalid", go_quote(name))
    } else {
        format!("{qualified} {} is invalid: {aggregate}", go_quote(name))
    }
}

/// Quotes a string the way Go's `%q` does: double quotes, backslash escapes for quotes,
/// backslashes and characters that do not print.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a bad value held as JSON the way Kubernetes prints the matching Go value:
/// strings quoted, numbers and booleans bare, string lists and string maps as Go literals.
fn render_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let parts: Vec<String> = items
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
        Value::Object(map) if map.values().all(Value::is_string) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        go_quote(k),
                        go_quote(v.as_str().unwrap_or_default())
                    )
                })
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_kubernetes() {
        let cases = [
            (
                Path::new("spec")
                    .child("containers")
                    .index(0)
                    .child("image"),
                "spec.containers[0].image",
            ),
            (
                Path::new("metadata").child("labels").key("app"),
                "metadata.labels[app]",
            ),
            (Path::root().child("data"), "data"),
            (Path::root(), ""),
        ];
        for (path, want) in cases {
            assert_eq!(path.as_str(), want);
        }
    }

    #[test]
    fn messages_render_like_kubernetes() {
        let p = Path::new("spec").child("x");
        let cases = [
            (FieldError::required(&p, ""), "spec.x: Required value"),
            (
                FieldError::required(&p, "must be set"),
                "spec.x: Required value: must be set",
            ),
            (
                FieldError::invalid(&p, "a\"b", "bad"),
                "spec.x: Invalid value: \"a\\\"b\": bad",
            ),
            (
                FieldError::invalid(&p, -1, "must be greater than or equal to 0"),
                "spec.x: Invalid value: -1: must be greater than or equal to 0",
            ),
            (
                FieldError::invalid(&p, Value::Null, "gone"),
                "spec.x: Invalid value: null: gone",
            ),
            (
                FieldError::invalid(&p, true, "no"),
                "spec.x: Invalid value: true: no",
            ),
            (
                FieldError::not_supported(&p, "Sometimes", &["Always", "Never"]),
                "spec.x: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\"",
            ),
            (
                FieldError::duplicate(&p, "a"),
                "spec.x: Duplicate value: \"a\"",
            ),
            (
                FieldError::forbidden(&p, "not allowed"),
                "spec.x: Forbidden: not allowed",
            ),
            (
                FieldError::too_long(&p, 1048576),
                "spec.x: Too long: must have at most 1048576 bytes",
            ),
            (
                FieldError::too_many(&p, 3, 2),
                "spec.x: Too many: 3: must have at most 2 items",
            ),
            (
                FieldError::internal(&p, "boom"),
                "spec.x: Internal error: boom",
            ),
            (FieldError::not_found(&p, "v"), "spec.x: Not found: \"v\""),
            (
                FieldError::invalid(&p, serde_json::json!(["a", "b"]), "d"),
                "spec.x: Invalid value: []string{\"a\", \"b\"}: d",
            ),
            (
                FieldError::invalid(&p, serde_json::json!({"b": "2", "a": "1"}), "d"),
                "spec.x: Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: d",
            ),
            (
                FieldError::invalid(&p, "x", "d").with_value_text("T{}"),
                "spec.x: Invalid value: T{}: d",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn cause_types_match_kubernetes() {
        let cases = [
            (ErrorType::Required, "FieldValueRequired", "Required value"),
            (ErrorType::Invalid, "FieldValueInvalid", "Invalid value"),
            (
                ErrorType::NotSupported,
                "FieldValueNotSupported",
                "Unsupported value",
            ),
            (
                ErrorType::Duplicate,
                "FieldValueDuplicate",
                "Duplicate value",
            ),
            (ErrorType::Forbidden, "FieldValueForbidden", "Forbidden"),
            (ErrorType::TooLong, "FieldValueTooLong", "Too long"),
            (ErrorType::TooMany, "FieldValueTooMany", "Too many"),
            (ErrorType::Internal, "InternalError", "Internal error"),
        ];
        for (t, cause, text) in cases {
            assert_eq!(t.cause_type(), cause);
            assert_eq!(t.text(), text);
        }
    }

    #[test]
    fn go_quote_escapes_like_go() {
        let cases = [
            ("plain", "\"plain\""),
            ("tab\there", "\"tab\\there\""),
            ("\u{1}", "\"\\x01\""),
            ("é", "\"é\""),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), want);
        }
    }

    #[test]
    fn aggregate_and_status_messages() {
        let a = FieldError::required(&Path::new("a"), "");
        let b = FieldError::required(&Path::new("b"), "");
        assert_eq!(aggregate_message(&[]), "");
        assert_eq!(
            aggregate_message(std::slice::from_ref(&a)),
            "a: Required value"
        );
        assert_eq!(
            aggregate_message(&[a.clone(), a.clone()]),
            "a: Required value"
        );
        assert_eq!(
            aggregate_message(&[a.clone(), b.clone(), a.clone()]),
            "[a: Required value, b: Required value]"
        );
        assert_eq!(
            invalid_status_message("", "Pod", "x", &[a.clone(), b]),
            "Pod \"x\" is invalid: [a: Required value, b: Required value]"
        );
        assert_eq!(
            invalid_status_message("apps", "Deployment", "web", &[a]),
            "Deployment.apps \"web\" is invalid: a: Required value"
        );
        assert_eq!(
            invalid_status_message("", "Pod", "x", &[]),
            "Pod \"x\" is invalid"
        );
    }
}
