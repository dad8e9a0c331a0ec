//! Field selectors, as Kubernetes has them.
//!
//! `fieldSelector=` lets clients filter lists and watches on a few fields of an object
//! (`spec.nodeName=n1,status.phase!=Succeeded`). kubectl relies on it for `describe` (events of
//! one object), `run -i` and `wait` (one object by name) and node views (pods on a node). Two
//! parts live here:
//!
//! - the selector itself: parsing with Kubernetes' escaping rules (`\,`, `\=`, `\\` in values),
//!   its canonical string form, and matching against a set of field values;
//! - the per-kind table: which fields each kind accepts in a selector (with the renames
//!   Kubernetes applies, such as `spec.host` to `spec.nodeName`), the exact error each kind
//!   returns for any other field, and how to read those fields from an object's JSON.
//!
//! A selector from a request is first parsed, then converted with
//! [`FieldSelector::for_kind`], which validates its fields and renames them to the names
//! [`field_set`] produces; only then is it matched.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::labels::quote;

/// Why a field selector was rejected.
///
/// Every variant renders the message Kubernetes returns for the same input, and every one of
/// them is answered with a `BadRequest` (HTTP 400) `Status`; see [`FieldSelectorError::reason`]
/// and [`FieldSelectorError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has none of the operators `=`, `==`, `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Syntax {
        /// The whole selector as sent.
        selector: String,
        /// The term that could not be split.
        term: String,
    },
    /// A value contains a backslash that does not start `\\`, `\,` or `\=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A value contains an unescaped `,` or `=`. Kubernetes prints the character as its code
    /// point number, and so does Berth.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    UnescapedCharacter(char),
    /// The selector names a field the kind does not support. The message wording depends on the
    /// kind, exactly as in Kubernetes.
    #[error("{message}")]
    UnsupportedField {
        /// The field as the client wrote it.
        field: String,
        /// The full message.
        message: String,
    },
}

impl FieldSelectorError {
    /// The `Status` reason Kubernetes answers with for every field selector error.
    pub fn reason(&self) -> &'static str {
        "BadRequest"
    }

    /// The HTTP status code Kubernetes answers with for every field selector error.
    pub fn code(&self) -> u16 {
        400
    }
}

/// How a field requirement compares the field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value` (the two are the same and print as `=`).
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    field: String,
    operator: FieldOperator,
    value: String,
}

impl FieldRequirement {
    /// A requirement on `field`; `value` is the literal (unescaped) value.
    pub fn new(
        field: impl Into<String>,
        operator: FieldOperator,
        value: impl Into<String>,
    ) -> Self {
        FieldRequirement {
            field: field.into(),
            operator,
            value: value.into(),
        }
    }

    /// The field name, such as `spec.nodeName`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The operator.
    pub fn operator(&self) -> FieldOperator {
        self.operator
    }

    /// The literal value (escapes already removed).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the field's value satisfies this term; a missing field counts as "".
    pub fn matches(&self, actual: Option<&str>) -> bool {
        let actual = actual.unwrap_or("");
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A field selector: the conjunction of its terms. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Parses the `fieldSelector` query parameter.
    ///
    /// Terms are separated by unescaped commas and kept in the sorted order of their raw text,
    /// as Kubernetes does (it decides which unsupported field is reported first). Each term is
    /// split at the first `!=`, `==` or `=`; the field part is taken literally, the value part is
    /// unescaped. Empty terms are skipped, and so are terms whose field and value are both empty
    /// (a bare `=`). Whitespace is not trimmed.
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw)) = split_term(term) else {
                return Err(FieldSelectorError::Syntax {
                    selector: selector.to_owned(),
                    term: term.to_owned(),
                });
            };
            let value = unescape_value(raw)?;
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement::new(field, operator, value));
        }
        Ok(FieldSelector { requirements })
    }

    /// Validates this selector against a kind's supported fields and renames its fields to the
    /// names [`field_set`] uses, as the Kubernetes API server does before listing. The first
    /// unsupported field (in term order) is reported.
    pub fn for_kind(&self, group: &str, kind: &str) -> Result<FieldSelector, FieldSelectorError> {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for requirement in &self.requirements {
            let field = convert_field_label(group, kind, &requirement.field)?;
            if field.is_empty() && requirement.value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement::new(
                field,
                requirement.operator,
                requirement.value.clone(),
            ));
        }
        Ok(FieldSelector { requirements })
    }

    /// The terms, in selector order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether this selector places no restriction.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the fields, read through `get`, satisfy every term. A field `get` does not know
    /// counts as "".
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches(get(&r.field).as_deref()))
    }

    /// Whether a set of field values (such as [`field_set`] returns) satisfies every term.
    pub fn matches_set(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches(fields.get(&r.field).map(String::as_str)))
    }

    /// Whether an object of the given kind satisfies this (already converted) selector.
    pub fn matches_object(&self, group: &str, kind: &str, object: &Value) -> bool {
        self.is_empty() || self.matches_set(&field_set(group, kind, object))
    }

    /// If some `=` term pins `field`, its value. Berth uses it to serve `metadata.name=x`
    /// and `spec.nodeName=n` without scanning everything.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.operator == FieldOperator::Equals && r.field == field)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    /// The canonical form: terms joined by `,`, `==` written as `=`, values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Escapes a literal value for use in a field selector: `\` becomes `\\`, `,` becomes `\,` and
/// `=` becomes `\=`.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Removes the escapes [`escape_value`] adds; a bare `,` or `=`, or a backslash before anything
/// else (or at the end), is an error.
pub fn unescape_value(raw: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldSelectorError::InvalidEscape(format!("\\{c}")));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => return Err(FieldSelectorError::UnescapedCharacter(c)),
            c => out.push(c),
        }
    }
    if escaped {
        return Err(FieldSelectorError::InvalidEscape("\\".to_owned()));
    }
    Ok(out)
}

/// Splits at commas that are not escaped; the escapes stay in the pieces.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(selector.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    terms.push(selector.get(start..).unwrap_or_default());
    terms
}

/// Splits a term at the first operator; `!=` and `==` win over `=` at the same position.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] = [
        ("!=", FieldOperator::NotEquals),
        ("==", FieldOperator::Equals),
        ("=", FieldOperator::Equals),
    ];
    for (i, _) in term.char_indices() {
        let rest = term.get(i..)?;
        for (symbol, operator) in OPERATORS {
            if let Some(value) = rest.strip_prefix(symbol) {
                return Some((term.get(..i)?, operator, value));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The per-kind table.

/// How a kind words its refusal of an unsupported field.
#[derive(Clone, Copy)]
enum Refusal {
    /// `field label not supported: FIELD`
    Plain,
    /// `field label "FIELD" not supported for KIND`
    ForKind(&'static str),
    /// `"FIELD" is not a known field selector: only "metadata.name", "metadata.namespace"`,
    /// the wording of every kind without a table of its own.
    MetadataOnly,
}

struct KindFields {
    group: &'static str,
    kind: &'static str,
    /// The fields a client may name, as it names them.
    fields: &'static [&'static str],
    refusal: Refusal,
}

const METADATA_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

const KINDS: &[KindFields] = &[
    KindFields {
        group: "",
        kind: "Pod",
        fields: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            // Accepted, but no pod has a value for it: it never equals anything but "".
            "status.podIPs",
            "status.nominatedNodeName",
            // The name old clients used for spec.nodeName.
            "spec.host",
        ],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "Node",
        fields: &["metadata.name", "spec.unschedulable"],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "ReplicationController",
        fields: &["metadata.name", "metadata.namespace", "status.replicas"],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "Event",
        fields: &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "Namespace",
        fields: &["metadata.name", "status.phase"],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "Secret",
        fields: &["metadata.name", "metadata.namespace", "type"],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "",
        kind: "Service",
        fields: &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "batch",
        kind: "Job",
        fields: &["metadata.name", "metadata.namespace", "status.successful"],
        refusal: Refusal::ForKind("Job"),
    },
    KindFields {
        group: "certificates.k8s.io",
        kind: "CertificateSigningRequest",
        fields: &["metadata.name", "spec.signerName"],
        refusal: Refusal::Plain,
    },
    KindFields {
        group: "events.k8s.io",
        kind: "Event",
        fields: &[
            "metadata.name",
            "metadata.namespace",
            "reason",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reportingController",
            "type",
        ],
        refusal: Refusal::Plain,
    },
];

fn kind_fields(group: &str, kind: &str) -> Option<&'static KindFields> {
    KINDS.iter().find(|k| k.group == group && k.kind == kind)
}

/// The fields a kind accepts in a field selector, as clients write them. `group` is "" for the
/// core group, `kind` the Kubernetes kind (`Pod`). Kinds without special fields accept
/// `metadata.name` and `metadata.namespace`.
pub fn supported_fields(group: &str, kind: &str) -> &'static [&'static str] {
    kind_fields(group, kind).map_or(METADATA_FIELDS, |k| k.fields)
}

/// Checks that a kind supports `field` in selectors and returns the name its values are
/// known by in [`field_set`] (the same name, except for Kubernetes' legacy and cross-group
/// aliases), or the kind's exact refusal.
pub fn convert_field_label(
    group: &str,
    kind: &str,
    field: &str,
) -> Result<&'static str, FieldSelectorError> {
    let (fields, refusal) = match kind_fields(group, kind) {
        Some(k) => (k.fields, k.refusal),
        None => (METADATA_FIELDS, Refusal::MetadataOnly),
    };
    let Some(&known) = fields.iter().find(|&&f| f == field) else {
        let message = match refusal {
            Refusal::Plain => format!("field label not supported: {field}"),
            Refusal::ForKind(kind) => {
                format!("field label {} not supported for {kind}", quote(field))
            }
            Refusal::MetadataOnly => format!(
                "{} is not a known field selector: only \"metadata.name\", \
                 \"metadata.namespace\"",
                quote(field)
            ),
        };
        return Err(FieldSelectorError::UnsupportedField {
            field: field.to_owned(),
            message,
        });
    };
    Ok(match (group, kind, known) {
        ("", "Pod", "spec.host") => "spec.nodeName",
        ("events.k8s.io", "Event", "regarding.kind") => "involvedObject.kind",
        ("events.k8s.io", "Event", "regarding.namespace") => "involvedObject.namespace",
        ("events.k8s.io", "Event", "regarding.name") => "involvedObject.name",
        ("events.k8s.io", "Event", "regarding.uid") => "involvedObject.uid",
        ("events.k8s.io", "Event", "regarding.apiVersion") => "involvedObject.apiVersion",
        ("events.k8s.io", "Event", "regarding.resourceVersion") => "involvedObject.resourceVersion",
        ("events.k8s.io", "Event", "regarding.fieldPath") => "involvedObject.fieldPath",
        ("events.k8s.io", "Event", "reportingController") => "reportingComponent",
        _ => known,
    })
}

fn at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(object, |value, key| value.get(key))
}

fn string_at(object: &Value, path: &[&str]) -> String {
    at(object, path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A boolean as Kubernetes prints it; absent means false.
fn bool_at(object: &Value, path: &[&str]) -> String {
    let value = at(object, path).and_then(Value::as_bool).unwrap_or(false);
    value.to_string()
}

/// An integer as Kubernetes prints it; absent means 0.
fn int_at(object: &Value, path: &[&str]) -> String {
    at(object, path)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

/// The first non-empty string among `paths`, or "".
fn first_string_at(object: &Value, paths: &[&[&str]]) -> String {
    paths
        .iter()
        .map(|path| string_at(object, path))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

/// The selectable field values of an object (its JSON, in the shape of `group`/`kind`), keyed
/// by the names [`convert_field_label`] returns.
///
/// Values follow Kubernetes: strings as they are, booleans as `true`/`false`, integers in
/// decimal, and an absent field as its zero value ("", `false`, `0`). `metadata.namespace` is
/// "" for cluster-scoped objects.
pub fn field_set(group: &str, kind: &str, object: &Value) -> BTreeMap<String, String> {
    let mut set: Vec<(&str, String)> = vec![
        ("metadata.name", string_at(object, &["metadata", "name"])),
        (
            "metadata.namespace",
            string_at(object, &["metadata", "namespace"]),
        ),
    ];
    match (group, kind) {
        ("", "Pod") => {
            set.extend([
                ("spec.nodeName", string_at(object, &["spec", "nodeName"])),
                (
                    "spec.restartPolicy",
                    string_at(object, &["spec", "restartPolicy"]),
                ),
                (
                    "spec.schedulerName",
                    string_at(object, &["spec", "schedulerName"]),
                ),
                (
                    // The deprecated spec.serviceAccount stands in when the new field is empty.
                    "spec.serviceAccountName",
                    first_string_at(
                        object,
                        &[&["spec", "serviceAccountName"], &["spec", "serviceAccount"]],
                    ),
                ),
                (
                    "spec.hostNetwork",
                    bool_at(object, &["spec", "hostNetwork"]),
                ),
                ("status.phase", string_at(object, &["status", "phase"])),
                ("status.podIP", pod_ip(object)),
                (
                    "status.nominatedNodeName",
                    string_at(object, &["status", "nominatedNodeName"]),
                ),
            ]);
        }
        ("", "Node") => {
            set.push((
                "spec.unschedulable",
                bool_at(object, &["spec", "unschedulable"]),
            ));
        }
        ("", "ReplicationController") => {
            set.push(("status.replicas", int_at(object, &["status", "replicas"])));
        }
        ("", "Event") => {
            for (field, key) in INVOLVED_OBJECT_FIELDS {
                set.push((field, string_at(object, &["involvedObject", key])));
            }
            set.extend([
                ("reason", string_at(object, &["reason"])),
                (
                    "reportingComponent",
                    string_at(object, &["reportingComponent"]),
                ),
                (
                    "source",
                    first_string_at(object, &[&["source", "component"], &["reportingComponent"]]),
                ),
                ("type", string_at(object, &["type"])),
            ]);
        }
        ("events.k8s.io", "Event") => {
            for (field, key) in INVOLVED_OBJECT_FIELDS {
                set.push((field, string_at(object, &["regarding", key])));
            }
            set.extend([
                ("reason", string_at(object, &["reason"])),
                (
                    "reportingComponent",
                    string_at(object, &["reportingController"]),
                ),
                (
                    "source",
                    first_string_at(
                        object,
                        &[&["deprecatedSource", "component"], &["reportingController"]],
                    ),
                ),
                ("type", string_at(object, &["type"])),
            ]);
        }
        ("", "Namespace") => {
            set.push(("status.phase", string_at(object, &["status", "phase"])));
        }
        ("", "Secret") => {
            set.push(("type", string_at(object, &["type"])));
        }
        ("", "Service") => {
            set.extend([
                ("spec.clusterIP", string_at(object, &["spec", "clusterIP"])),
                ("spec.type", string_at(object, &["spec", "type"])),
            ]);
        }
        ("batch", "Job") => {
            set.push((
                "status.successful",
                int_at(object, &["status", "succeeded"]),
            ));
        }
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            set.push((
                "spec.signerName",
                string_at(object, &["spec", "signerName"]),
            ));
        }
        _ => {}
    }
    set.into_iter()
        .map(|(field, value)| (field.to_owned(), value))
        .collect()
}

/// A pod's primary IP: `status.podIP`, or else the first of `status.podIPs` (when both are set
/// and differ, Kubernetes keeps `podIP`).
fn pod_ip(object: &Value) -> String {
    let ip = string_at(object, &["status", "podIP"]);
    if !ip.is_empty() {
        return ip;
    }
    at(object, &["status", "podIPs"])
        .and_then(|ips| ips.get(0))
        .map(|ip| string_at(ip, &["ip"]))
        .unwrap_or_default()
}

/// Selector field name and JSON key of each part of an event's object reference.
const INVOLVED_OBJECT_FIELDS: [(&str, &str); 7] = [
    ("involvedObject.kind", "kind"),
    ("involvedObject.namespace", "namespace"),
    ("involvedObject.name", "name"),
    ("involvedObject.uid", "uid"),
    ("involvedObject.apiVersion", "apiVersion"),
    ("involvedObject.resourceVersion", "resourceVersion"),
    ("involvedObject.fieldPath", "fieldPath"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("", ""),
            (",", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a!=b", "a!=b"),
            ("a=", "a="),
            ("b=1,a=2", "a=2,b=1"),
            ("a=b,,c=d", "a=b,c=d"),
            ("a=x y", "a=x y"),
            (" a = b", " a = b"),
            ("a=b!c", "a=b!c"),
            ("a!b=c", "a!b=c"),
            ("a=b\\,c", "a=b\\,c"),
            ("a=b\\=c", "a=b\\=c"),
            ("a=b\\\\c", "a=b\\\\c"),
            ("=", ""),
            ("==", ""),
            ("!=", ""),
            ("=x", "=x"),
            (
                "spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed",
                "spec.nodeName=n1,status.phase!=Failed,status.phase!=Succeeded",
            ),
        ];
        for (input, want) in cases {
            let selector = FieldSelector::parse(input)
                .unwrap_or_else(|e| panic!("{input:?} should parse, got {e}"));
            assert_eq!(selector.to_string(), want, "input {input:?}");
            assert_eq!(
                FieldSelector::parse(want).as_ref(),
                Ok(&selector),
                "{want:?}"
            );
        }
    }

    #[test]
    fn unescapes_values() {
        let cases = [
            ("a=b\\,c", "b,c"),
            ("a=b\\=c", "b=c"),
            ("a=b\\\\c", "b\\c"),
            ("a==b", "b"),
            ("a=é", "é"),
        ];
        for (input, want) in cases {
            let selector = FieldSelector::parse(input).expect("parses");
            let values: Vec<&str> = selector.requirements().iter().map(|r| r.value()).collect();
            assert_eq!(values, vec![want], "{input:?}");
        }
        assert_eq!(escape_value("a\\b,c=d"), "a\\\\b\\,c\\=d");
    }

    #[test]
    fn rejects_bad_syntax_with_kubernetes_messages() {
        let cases = [
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
            (
                "a===b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a=b=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a=b\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
            (
                "a=\\x",
                "invalid field selector: invalid escape sequence: \\x",
            ),
        ];
        for (input, want) in cases {
            let err = FieldSelector::parse(input).expect_err(input);
            assert_eq!(err.to_string(), want, "input {input:?}");
            assert_eq!((err.code(), err.reason()), (400, "BadRequest"));
        }
    }

    #[test]
    fn matches_field_values() {
        let fields = set(&[("status.phase", "Running"), ("spec.nodeName", "n1")]);
        let cases = [
            ("", true),
            ("status.phase=Running", true),
            ("status.phase==Running", true),
            ("status.phase=Pending", false),
            ("status.phase!=Pending", true),
            ("status.phase!=Running", false),
            ("spec.nodeName=n1,status.phase!=Succeeded", true),
            ("spec.nodeName=n2,status.phase!=Succeeded", false),
            ("missing=", true),
            ("missing=x", false),
            ("missing!=x", true),
        ];
        for (input, want) in cases {
            let selector = FieldSelector::parse(input).expect("parses");
            assert_eq!(selector.matches_set(&fields), want, "{input:?}");
            assert_eq!(
                selector.matches(|f| fields.get(f).cloned()),
                want,
                "{input:?} through a getter"
            );
        }
    }

    #[test]
    fn exact_match() {
        let selector = FieldSelector::parse("metadata.name=web,status.phase!=Failed").expect("ok");
        assert_eq!(selector.requires_exact_match("metadata.name"), Some("web"));
        assert_eq!(selector.requires_exact_match("status.phase"), None);
        assert_eq!(selector.requires_exact_match("spec.nodeName"), None);
    }

    #[test]
    fn converts_for_kind() {
        let cases = [
            ("", "Pod", "spec.host=n1", "spec.nodeName=n1"),
            ("", "Pod", "status.podIPs=1.2.3.4", "status.podIPs=1.2.3.4"),
            (
                "",
                "Node",
                "spec.unschedulable=true",
                "spec.unschedulable=true",
            ),
            (
                "events.k8s.io",
                "Event",
                "regarding.name=web,reportingController=kubelet",
                "involvedObject.name=web,reportingComponent=kubelet",
            ),
            (
                "",
                "Event",
                "involvedObject.uid=u,involvedObject.name=web",
                "involvedObject.name=web,involvedObject.uid=u",
            ),
            (
                "apps",
                "Deployment",
                "metadata.name=web",
                "metadata.name=web",
            ),
            (
                "",
                "ConfigMap",
                "metadata.namespace=ns",
                "metadata.namespace=ns",
            ),
            ("batch", "Job", "status.successful=1", "status.successful=1"),
        ];
        for (group, kind, input, want) in cases {
            let selector = FieldSelector::parse(input).expect("parses");
            let converted = selector
                .for_kind(group, kind)
                .unwrap_or_else(|e| panic!("{kind} {input:?}: {e}"));
            assert_eq!(converted.to_string(), want, "{kind} {input:?}");
        }
    }

    #[test]
    fn refuses_unsupported_fields_with_kubernetes_messages() {
        let cases = [
            (
                "",
                "Pod",
                "spec.foo=1",
                "field label not supported: spec.foo",
            ),
            ("", "Pod", "z=1,b=2", "field label not supported: b"),
            (
                "",
                "Node",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            (
                "",
                "Namespace",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            ("", "Secret", "data=x", "field label not supported: data"),
            (
                "events.k8s.io",
                "Event",
                "involvedObject.name=x",
                "field label not supported: involvedObject.name",
            ),
            (
                "",
                "Event",
                "regarding.name=x",
                "field label not supported: regarding.name",
            ),
            (
                "batch",
                "Job",
                "spec.foo=1",
                "field label \"spec.foo\" not supported for Job",
            ),
            (
                "apps",
                "Deployment",
                "spec.replicas=1",
                "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \
                 \"metadata.namespace\"",
            ),
            (
                "apps",
                "ReplicaSet",
                "status.replicas=1",
                "\"status.replicas\" is not a known field selector: only \"metadata.name\", \
                 \"metadata.namespace\"",
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "spec.username=x",
                "field label not supported: spec.username",
            ),
            ("", "Pod", "=x", "field label not supported: "),
        ];
        for (group, kind, input, want) in cases {
            let selector = FieldSelector::parse(input).expect("parses");
            let err = selector.for_kind(group, kind).expect_err(input);
            assert_eq!(err.to_string(), want, "{kind} {input:?}");
            assert!(matches!(err, FieldSelectorError::UnsupportedField { .. }));
        }
    }

    #[test]
    fn supported_fields_per_kind() {
        let cases: [(&str, &str, &[&str], &[&str]); 6] = [
            (
                "",
                "Pod",
                &[
                    "spec.nodeName",
                    "status.phase",
                    "spec.host",
                    "status.podIPs",
                ],
                &["spec.containers"],
            ),
            (
                "",
                "Node",
                &["metadata.name", "spec.unschedulable"],
                &["metadata.namespace"],
            ),
            (
                "",
                "Service",
                &["spec.clusterIP", "spec.type"],
                &["spec.ports"],
            ),
            ("", "Secret", &["type"], &["data"]),
            (
                "apps",
                "Deployment",
                &["metadata.name", "metadata.namespace"],
                &["spec.replicas"],
            ),
            (
                "events.k8s.io",
                "Event",
                &["regarding.uid"],
                &["involvedObject.uid"],
            ),
        ];
        for (group, kind, present, absent) in cases {
            let fields = supported_fields(group, kind);
            for field in present {
                assert!(fields.contains(field), "{kind} should support {field}");
            }
            for field in absent {
                assert!(!fields.contains(field), "{kind} should not support {field}");
            }
        }
    }

    #[test]
    fn every_supported_field_converts_to_a_field_set_key() {
        let objects = [
            ("", "Pod"),
            ("", "Node"),
            ("", "ReplicationController"),
            ("", "Event"),
            ("", "Namespace"),
            ("", "Secret"),
            ("", "Service"),
            ("batch", "Job"),
            ("certificates.k8s.io", "CertificateSigningRequest"),
            ("events.k8s.io", "Event"),
            ("", "ConfigMap"),
        ];
        for (group, kind) in objects {
            let keys = field_set(group, kind, &json!({}));
            for field in supported_fields(group, kind) {
                let canonical = convert_field_label(group, kind, field).expect("supported");
                // status.podIPs is accepted but never produced, exactly as in Kubernetes.
                if canonical != "status.podIPs" {
                    assert!(keys.contains_key(canonical), "{kind}: {canonical} missing");
                }
            }
        }
    }

    #[test]
    fn pod_fields() {
        let cases = [
            (
                json!({
                    "metadata": {"name": "web", "namespace": "default"},
                    "spec": {
                        "nodeName": "n1", "restartPolicy": "Always",
                        "schedulerName": "default-scheduler", "serviceAccountName": "sa",
                        "hostNetwork": true
                    },
                    "status": {
                        "phase": "Running", "podIP": "10.0.0.5",
                        "podIPs": [{"ip": "10.0.0.9"}], "nominatedNodeName": "n2"
                    }
                }),
                vec![
                    ("metadata.name", "web"),
                    ("metadata.namespace", "default"),
                    ("spec.hostNetwork", "true"),
                    ("spec.nodeName", "n1"),
                    ("spec.restartPolicy", "Always"),
                    ("spec.schedulerName", "default-scheduler"),
                    ("spec.serviceAccountName", "sa"),
                    ("status.nominatedNodeName", "n2"),
                    ("status.phase", "Running"),
                    ("status.podIP", "10.0.0.5"),
                ],
            ),
            (
                json!({
                    "metadata": {"name": "p", "namespace": "ns"},
                    "spec": {"serviceAccount": "legacy"},
                    "status": {"podIPs": [{"ip": "fd00::1"}, {"ip": "10.1.1.1"}]}
                }),
                vec![
                    ("metadata.name", "p"),
                    ("metadata.namespace", "ns"),
                    ("spec.hostNetwork", "false"),
                    ("spec.nodeName", ""),
                    ("spec.restartPolicy", ""),
                    ("spec.schedulerName", ""),
                    ("spec.serviceAccountName", "legacy"),
                    ("status.nominatedNodeName", ""),
                    ("status.phase", ""),
                    ("status.podIP", "fd00::1"),
                ],
            ),
        ];
        for (pod, want) in cases {
            assert_eq!(field_set("", "Pod", &pod), set(&want));
        }
    }

    #[test]
    fn node_event_secret_and_other_fields() {
        let cases = [
            (
                "",
                "Node",
                json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}}),
                vec![
                    ("metadata.name", "n1"),
                    ("metadata.namespace", ""),
                    ("spec.unschedulable", "true"),
                ],
            ),
            (
                "",
                "Node",
                json!({"metadata": {"name": "n2"}, "spec": {}}),
                vec![
                    ("metadata.name", "n2"),
                    ("metadata.namespace", ""),
                    ("spec.unschedulable", "false"),
                ],
            ),
            (
                "",
                "Event",
                json!({
                    "metadata": {"name": "web.1", "namespace": "default"},
                    "involvedObject": {
                        "kind": "Pod", "namespace": "default", "name": "web", "uid": "u1",
                        "apiVersion": "v1", "resourceVersion": "42",
                        "fieldPath": "spec.containers{web}"
                    },
                    "reason": "Pulled", "type": "Normal",
                    "source": {"component": "kubelet"}, "reportingComponent": "kubelet-x"
                }),
                vec![
                    ("metadata.name", "web.1"),
                    ("metadata.namespace", "default"),
                    ("involvedObject.kind", "Pod"),
                    ("involvedObject.namespace", "default"),
                    ("involvedObject.name", "web"),
                    ("involvedObject.uid", "u1"),
                    ("involvedObject.apiVersion", "v1"),
                    ("involvedObject.resourceVersion", "42"),
                    ("involvedObject.fieldPath", "spec.containers{web}"),
                    ("reason", "Pulled"),
                    ("reportingComponent", "kubelet-x"),
                    ("source", "kubelet"),
                    ("type", "Normal"),
                ],
            ),
            (
                "",
                "Event",
                json!({
                    "metadata": {"name": "e", "namespace": "ns"},
                    "involvedObject": {"kind": "Node", "name": "n1"},
                    "reportingComponent": "node-controller"
                }),
                vec![
                    ("metadata.name", "e"),
                    ("metadata.namespace", "ns"),
                    ("involvedObject.kind", "Node"),
                    ("involvedObject.namespace", ""),
                    ("involvedObject.name", "n1"),
                    ("involvedObject.uid", ""),
                    ("involvedObject.apiVersion", ""),
                    ("involvedObject.resourceVersion", ""),
                    ("involvedObject.fieldPath", ""),
                    ("reason", ""),
                    ("reportingComponent", "node-controller"),
                    ("source", "node-controller"),
                    ("type", ""),
                ],
            ),
            (
                "events.k8s.io",
                "Event",
                json!({
                    "metadata": {"name": "e", "namespace": "ns"},
                    "regarding": {"kind": "Pod", "name": "web", "uid": "u1"},
                    "reason": "Scheduled", "type": "Normal",
                    "reportingController": "default-scheduler"
                }),
                vec![
                    ("metadata.name", "e"),
                    ("metadata.namespace", "ns"),
                    ("involvedObject.kind", "Pod"),
                    ("involvedObject.namespace", ""),
                    ("involvedObject.name", "web"),
                    ("involvedObject.uid", "u1"),
                    ("involvedObject.apiVersion", ""),
                    ("involvedObject.resourceVersion", ""),
                    ("involvedObject.fieldPath", ""),
                    ("reason", "Scheduled"),
                    ("reportingComponent", "default-scheduler"),
                    ("source", "default-scheduler"),
                    ("type", "Normal"),
                ],
            ),
            (
                "",
                "Secret",
                json!({"metadata": {"name": "s", "namespace": "ns"}, "type": "kubernetes.io/tls"}),
                vec![
                    ("metadata.name", "s"),
                    ("metadata.namespace", "ns"),
                    ("type", "kubernetes.io/tls"),
                ],
            ),
            (
                "",
                "Namespace",
                json!({"metadata": {"name": "ns"}, "status": {"phase": "Active"}}),
                vec![
                    ("metadata.name", "ns"),
                    ("metadata.namespace", ""),
                    ("status.phase", "Active"),
                ],
            ),
            (
                "",
                "Service",
                json!({"metadata": {"name": "s", "namespace": "ns"},
                       "spec": {"clusterIP": "None", "type": "ClusterIP"}}),
                vec![
                    ("metadata.name", "s"),
                    ("metadata.namespace", "ns"),
                    ("spec.clusterIP", "None"),
                    ("spec.type", "ClusterIP"),
                ],
            ),
            (
                "batch",
                "Job",
                json!({"metadata": {"name": "j", "namespace": "ns"}, "status": {"succeeded": 3}}),
                vec![
                    ("metadata.name", "j"),
                    ("metadata.namespace", "ns"),
                    ("status.successful", "3"),
                ],
            ),
            (
                "",
                "ReplicationController",
                json!({"metadata": {"name": "rc", "namespace": "ns"}}),
                vec![
                    ("metadata.name", "rc"),
                    ("metadata.namespace", "ns"),
                    ("status.replicas", "0"),
                ],
            ),
            (
                "",
                "ConfigMap",
                json!({"metadata": {"name": "cm", "namespace": "ns"}, "data": {"a": "b"}}),
                vec![("metadata.name", "cm"), ("metadata.namespace", "ns")],
            ),
        ];
        for (group, kind, object, want) in cases {
            assert_eq!(
                field_set(group, kind, &object),
                set(&want),
                "{group}/{kind}"
            );
        }
    }

    #[test]
    fn matches_objects_end_to_end() {
        let pod = json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running"}
        });
        let cases = [
            (
                "spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed",
                true,
            ),
            ("spec.host=n1", true),
            ("spec.host=n2", false),
            ("metadata.name=web,metadata.namespace=default", true),
            ("spec.hostNetwork=false", true),
            ("status.podIPs=", true),
            ("status.podIPs=10.0.0.1", false),
        ];
        for (input, want) in cases {
            let selector = FieldSelector::parse(input)
                .and_then(|s| s.for_kind("", "Pod"))
                .expect("valid for pods");
            assert_eq!(selector.matches_object("", "Pod", &pod), want, "{input:?}");
        }
    }
}
