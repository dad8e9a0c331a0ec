//! Rules every object shares: `metadata` on create and update, labels, annotations, label
//! selectors and immutable fields.
//!
//! Kubernetes prints some bad values as Go literals (`map[string]string{"app":"web"}`,
//! `v1.LabelSelector{...}`); the helpers here build those texts so Berth's messages match.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use serde_json::Value;

use super::field_error::{go_quote, ErrorList, FieldError, Path};
use super::names::{is_dns1123_label, is_label_value, is_qualified_name, NameRule};

/// The message Kubernetes uses for a field that may not change.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// The message Kubernetes uses for a negative number where none is allowed.
pub const IS_NEGATIVE: &str = "must be greater than or equal to 0";
/// Largest total size of an object's annotations, keys plus values (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// The text of an optional string field, empty when unset.
pub(crate) fn s(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// The items of an optional list, empty when unset.
pub(crate) fn items<T>(value: &Option<Vec<T>>) -> &[T] {
    value.as_deref().unwrap_or(&[])
}

/// How Go prints a `map[string]string` with `%#v`.
pub fn go_string_map(map: Option<&BTreeMap<String, String>>) -> String {
    match map {
        None => "map[string]string(nil)".to_owned(),
        Some(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
    }
}

/// How Go prints a `[]string` with `%#v`.
pub fn go_string_slice(list: Option<&[String]>) -> String {
    match list {
        None => "[]string(nil)".to_owned(),
        Some(l) => {
            let parts: Vec<String> = l.iter().map(|v| go_quote(v)).collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
    }
}

/// How Kubernetes prints a label selector in messages (`v1.LabelSelector{...}`, or `null`).
pub fn go_label_selector(selector: Option<&LabelSelector>) -> String {
    let Some(sel) = selector else {
        return "null".to_owned();
    };
    let exprs = match &sel.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
        Some(list) => {
            let parts: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(&r.key),
                        go_quote(&r.operator),
                        go_string_slice(r.values.as_deref())
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", parts.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map(sel.match_labels.as_ref()),
        exprs
    )
}

/// How Go prints a timestamp (`2024-01-02 03:04:05 +0000 UTC`).
pub fn go_time(time: &Time) -> String {
    let ts = time.0;
    let nanos = ts.subsec_nanosecond();
    let base = ts.strftime("%Y-%m-%d %H:%M:%S").to_string();
    if nanos == 0 {
        format!("{base} +0000 UTC")
    } else {
        let frac = format!("{:09}", nanos);
        format!("{base}.{} +0000 UTC", frac.trim_end_matches('0'))
    }
}

/// Any serializable value as JSON, `null` when it cannot be serialized.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Errors for `value` at `path` when it is negative.
pub fn validate_nonnegative(value: i64, path: &Path) -> ErrorList {
    if value < 0 {
        vec![FieldError::invalid(path, value, IS_NEGATIVE)]
    } else {
        Vec::new()
    }
}

/// Errors for a field that changed when it may not: `<path>: Invalid value: <new>: field is
/// immutable`. `render` prints the new value the way Kubernetes does.
pub fn validate_immutable<T: PartialEq + serde::Serialize>(
    new: &T,
    old: &T,
    path: &Path,
    render: Option<String>,
) -> ErrorList {
    if new == old {
        return Vec::new();
    }
    let mut err = FieldError::invalid(path, to_json(new), FIELD_IMMUTABLE);
    if let Some(text) = render {
        err = err.with_value_text(text);
    }
    vec![err]
}

/// Errors for an immutable optional string field: `null` when the new value is unset.
pub fn validate_immutable_str(
    new: &Option<String>,
    old: &Option<String>,
    path: &Path,
) -> ErrorList {
    if s(new) == s(old) {
        return Vec::new();
    }
    vec![FieldError::invalid(path, s(new), FIELD_IMMUTABLE)]
}

/// Errors for a label key.
pub fn validate_label_name(name: &str, path: &Path) -> ErrorList {
    is_qualified_name(name)
        .into_iter()
        .map(|msg| FieldError::invalid(path, name, &msg))
        .collect()
}

/// Errors for a qualified name (the same rule as a label key).
pub fn validate_qualified_name(name: &str, path: &Path) -> ErrorList {
    validate_label_name(name, path)
}

/// Errors for a DNS-1123 label.
pub fn validate_dns1123_label(value: &str, path: &Path) -> ErrorList {
    is_dns1123_label(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path, value, &msg))
        .collect()
}

/// Errors for a DNS-1123 subdomain.
pub fn validate_dns1123_subdomain(value: &str, path: &Path) -> ErrorList {
    super::names::is_dns1123_subdomain(value)
        .into_iter()
        .map(|msg| FieldError::invalid(path, value, &msg))
        .collect()
}

/// Errors for a name under `rule`.
pub fn validate_name(rule: NameRule, value: &str, path: &Path) -> ErrorList {
    rule.check(value, false)
        .into_iter()
        .map(|msg| FieldError::invalid(path, value, &msg))
        .collect()
}

/// Errors for a set of labels: keys must be qualified names, values label values. Errors name
/// the whole map's path, as Kubernetes does.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        errs.extend(validate_label_name(k, path));
        for msg in is_label_value(v) {
            errs.push(FieldError::invalid(path, v.as_str(), &msg));
        }
    }
    errs
}

/// Errors for a set of annotations: keys must be qualified names (case-insensitive) and all
/// keys and values together may not exceed 256 KiB.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k.as_str(), &msg));
        }
        total = total.saturating_add(k.len()).saturating_add(v.len());
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

/// Errors for a label selector: valid labels, operators and keys.
pub fn validate_label_selector(selector: Option<&LabelSelector>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let Some(sel) = selector else {
        return errs;
    };
    errs.extend(validate_labels(
        sel.match_labels.as_ref(),
        &path.child("matchLabels"),
    ));
    for (i, req) in items(&sel.match_expressions).iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = items(&req.values);
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(&req.key, &p.child("key")));
        for (j, v) in values.iter().enumerate() {
            for msg in is_label_value(v) {
                errs.push(FieldError::invalid(
                    &p.child("values").index(j),
                    v.as_str(),
                    &msg,
                ));
            }
        }
    }
    errs
}

/// Whether `selector` selects objects carrying `labels`. A selector that cannot be evaluated
/// (unknown operator) matches nothing.
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    for (k, v) in selector.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for req in items(&selector.match_expressions) {
        let values = items(&req.values);
        let have = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" => have.is_some_and(|h| values.contains(h)),
            "NotIn" => have.is_none_or(|h| !values.contains(h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Whether a selector has no requirements at all (and so selects everything).
pub fn selector_is_empty(selector: &LabelSelector) -> bool {
    items(&selector.match_expressions).is_empty()
        && selector
            .match_labels
            .as_ref()
            .is_none_or(BTreeMap::is_empty)
}

/// Whether a selector can be evaluated (every operator is known and every value valid).
pub(crate) fn selector_is_well_formed(selector: &LabelSelector) -> bool {
    items(&selector.match_expressions).iter().all(|r| {
        let n = items(&r.values).len();
        match r.operator.as_str() {
            "In" | "NotIn" => n > 0,
            "Exists" | "DoesNotExist" => n == 0,
            _ => false,
        }
    })
}

fn validate_owner_references(meta: &ObjectMeta, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let refs = items(&meta.owner_references);
    let mut first_controller: Option<String> = None;
    for r in refs {
        let (group, version) = parse_api_version(&r.api_version);
        if version.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("apiVersion"),
                r.api_version.as_str(),
                "version must not be empty",
            ));
        }
        if r.kind.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("kind"),
                "",
                "must not be empty",
            ));
        }
        if r.name.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("name"),
                "",
                "must not be empty",
            ));
        }
        if r.uid.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("uid"),
                "",
                "must not be empty",
            ));
        }
        if group.is_empty() && version == "v1" && r.kind == "Event" {
            errs.push(
                FieldError::invalid(
                    path,
                    to_json(r),
                    "/v1, Kind=Event is disallowed from being an owner",
                )
                .with_value_text(format!(
                    "v1.OwnerReference{{APIVersion:{}, Kind:{}, Name:{}, UID:{}}}",
                    go_quote(&r.api_version),
                    go_quote(&r.kind),
                    go_quote(&r.name),
                    go_quote(&r.uid)
                )),
            );
        }
        if r.controller == Some(true) {
            let current = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    to_json(&meta.owner_references),
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// Splits an `apiVersion` into group and version the way Kubernetes does; an unparsable one
/// gives an empty version.
fn parse_api_version(api_version: &str) -> (String, String) {
    let parts: Vec<&str> = api_version.split('/').collect();
    match parts.as_slice() {
        [""] => (String::new(), String::new()),
        [version] => (String::new(), (*version).to_owned()),
        [group, version] => ((*group).to_owned(), (*version).to_owned()),
        _ => (String::new(), String::new()),
    }
}

fn validate_finalizers(finalizers: &[String], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for f in finalizers {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, f.as_str(), &msg));
        }
    }
    if finalizers.iter().any(|f| f == "orphan")
        && finalizers.iter().any(|f| f == "foregroundDeletion")
    {
        errs.push(
            FieldError::invalid(
                path,
                to_json(&finalizers),
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
            .with_value_text(go_string_slice(Some(finalizers))),
        );
    }
    errs
}

/// Errors for a finalizer name that has no domain prefix and is not one Kubernetes defines.
pub fn validate_kube_finalizer_name(name: &str, path: &Path) -> ErrorList {
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        return vec![FieldError::invalid(
            path,
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        )];
    }
    Vec::new()
}

fn validate_managed_fields(meta: &ObjectMeta, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (i, entry) in items(&meta.managed_fields).iter().enumerate() {
        let p = path.index(i);
        let op = s(&entry.operation);
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(
                &p.child("operation"),
                op,
                "must be `Apply` or `Update`",
            ));
        }
        let ft = s(&entry.fields_type);
        if !ft.is_empty() && ft != "FieldsV1" {
            errs.push(FieldError::invalid(
                &p.child("fieldsType"),
                ft,
                "must be `FieldsV1`",
            ));
        }
    }
    errs
}

fn validate_meta_common(meta: &ObjectMeta, namespaced: bool, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let ns = s(&meta.namespace);
    if namespaced {
        if ns.is_empty() {
            errs.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            for msg in NameRule::Dns1123Label.check(ns, false) {
                errs.push(FieldError::invalid(&path.child("namespace"), ns, &msg));
            }
        }
    } else if !ns.is_empty() {
        errs.push(FieldError::forbidden(
            &path.child("namespace"),
            "not allowed on this type",
        ));
    }
    errs.extend(validate_nonnegative(
        meta.generation.unwrap_or(0),
        &path.child("generation"),
    ));
    errs.extend(validate_labels(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        meta.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        meta,
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        items(&meta.finalizers),
        &path.child("finalizers"),
    ));
    errs.extend(validate_managed_fields(meta, &path.child("managedFields")));
    errs
}

/// Errors for an object's `metadata` on create: name (or generateName) present and valid
/// under `rule`, namespace required for namespaced kinds and forbidden otherwise, labels,
/// annotations, owner references, finalizers.
///
/// Kubernetes clears the namespace of cluster-scoped objects before validating; a caller that
/// does the same never sees the `not allowed on this type` error.
pub fn validate_object_meta(meta: &ObjectMeta, namespaced: bool, rule: NameRule) -> ErrorList {
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    let generate_name = s(&meta.generate_name);
    if !generate_name.is_empty() {
        for msg in rule.check(generate_name, true) {
            errs.push(FieldError::invalid(
                &path.child("generateName"),
                generate_name,
                &msg,
            ));
        }
    }
    let name = s(&meta.name);
    if name.is_empty() {
        errs.push(FieldError::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        for msg in rule.check(name, false) {
            errs.push(FieldError::invalid(&path.child("name"), name, &msg));
        }
    }
    errs.extend(validate_meta_common(meta, namespaced, &path));
    for (i, f) in items(&meta.finalizers).iter().enumerate() {
        errs.extend(validate_kube_finalizer_name(
            f,
            &path.child("finalizers").index(i),
        ));
    }
    errs
}

/// Errors for `metadata` on update: name, namespace, uid, creation and deletion stamps
/// unchanged, generation not decremented, no finalizer added once deletion started, and the
/// new labels, annotations and references valid.
///
/// The resourceVersion check lives apart in [`validate_resource_version_for_update`] because
/// Berth's store fills the version in for unconditional updates before validating.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> ErrorList {
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    if old.deletion_timestamp.is_some() {
        let old_set: BTreeSet<&String> = items(&old.finalizers).iter().collect();
        let extra: BTreeSet<&String> = items(&new.finalizers)
            .iter()
            .filter(|f| !old_set.contains(f))
            .collect();
        if !extra.is_empty() {
            let list: Vec<String> = extra.into_iter().cloned().collect();
            errs.push(FieldError::forbidden(
                &path.child("finalizers"),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    go_string_slice(Some(&list))
                ),
            ));
        }
    }
    let (new_gen, old_gen) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if new_gen < old_gen {
        errs.push(FieldError::invalid(
            &path.child("generation"),
            new_gen,
            "must not be decremented",
        ));
    }
    errs.extend(validate_immutable_str(
        &new.name,
        &old.name,
        &path.child("name"),
    ));
    errs.extend(validate_immutable_str(
        &new.namespace,
        &old.namespace,
        &path.child("namespace"),
    ));
    errs.extend(validate_immutable_str(
        &new.uid,
        &old.uid,
        &path.child("uid"),
    ));
    let zero_time = "0001-01-01 00:00:00 +0000 UTC".to_owned();
    errs.extend(validate_immutable(
        &new.creation_timestamp,
        &old.creation_timestamp,
        &path.child("creationTimestamp"),
        Some(
            new.creation_timestamp
                .as_ref()
                .map(go_time)
                .unwrap_or(zero_time),
        ),
    ));
    errs.extend(validate_immutable(
        &new.deletion_timestamp,
        &old.deletion_timestamp,
        &path.child("deletionTimestamp"),
        Some(
            new.deletion_timestamp
                .as_ref()
                .map(go_time)
                .unwrap_or_else(|| "null".to_owned()),
        ),
    ));
    errs.extend(validate_immutable(
        &new.deletion_grace_period_seconds,
        &old.deletion_grace_period_seconds,
        &path.child("deletionGracePeriodSeconds"),
        None,
    ));
    errs.extend(validate_labels(new.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(
        new.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        new,
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_managed_fields(new, &path.child("managedFields")));
    for (i, f) in items(&new.finalizers).iter().enumerate() {
        errs.extend(validate_kube_finalizer_name(
            f,
            &path.child("finalizers").index(i),
        ));
    }
    errs
}

/// Errors when an update does not carry the resourceVersion it was based on, as Kubernetes
/// reports them for kinds that refuse unconditional updates.
pub fn validate_resource_version_for_update(meta: &ObjectMeta) -> ErrorList {
    if s(&meta.resource_version).is_empty() {
        vec![FieldError::invalid(
            &Path::new("metadata").child("resourceVersion"),
            "",
            "must be specified for an update",
        )]
    } else {
        Vec::new()
    }
}

/// Errors for the metadata of an embedded template (pod templates in workloads): only labels
/// and annotations are checked.
pub fn validate_template_meta(meta: Option<&ObjectMeta>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if let Some(m) = meta {
        errs.extend(validate_labels(m.labels.as_ref(), &path.child("labels")));
        errs.extend(validate_annotations(
            m.annotations.as_ref(),
            &path.child("annotations"),
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelectorRequirement, OwnerReference,
    };

    fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: ns.map(str::to_owned),
            ..Default::default()
        }
    }

    fn msgs(errs: &ErrorList) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn object_meta_on_create() {
        let sub = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        let mut labelled = meta("web", Some("default"));
        labelled.labels = Some(BTreeMap::from([("app".to_owned(), "bad value".to_owned())]));
        let mut annotated = meta("web", Some("default"));
        annotated.annotations = Some(BTreeMap::from([(
            "big".to_owned(),
            "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT),
        )]));
        let mut finalized = meta("web", Some("default"));
        finalized.finalizers = Some(vec!["custom".to_owned()]);
        let mut owned = meta("web", Some("default"));
        owned.owner_references = Some(vec![OwnerReference {
            api_version: String::new(),
            kind: "ReplicaSet".into(),
            name: "rs".into(),
            uid: "u".into(),
            ..Default::default()
        }]);
        let cases: Vec<(ObjectMeta, bool, Vec<String>)> = vec![
            (meta("web", Some("default")), true, vec![]),
            (meta("web", None), false, vec![]),
            (ObjectMeta { namespace: Some("default".into()), ..Default::default() }, true, vec!["metadata.name: Required value: name or generateName is required".into()]),
            (meta("Bad_Name", Some("default")), true, vec![format!("metadata.name: Invalid value: \"Bad_Name\": {sub}")]),
            (meta("web", None), true, vec!["metadata.namespace: Required value".into()]),
            (meta("web", Some("default")), false, vec!["metadata.namespace: Forbidden: not allowed on this type".into()]),
            (labelled, true, vec!["metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".into()]),
            (annotated, true, vec!["metadata.annotations: Too long: must have at most 262144 bytes".into()]),
            (finalized, true, vec!["metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".into()]),
            (owned, true, vec!["metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty".into()]),
        ];
        for (m, namespaced, want) in cases {
            assert_eq!(
                msgs(&validate_object_meta(
                    &m,
                    namespaced,
                    NameRule::Dns1123Subdomain
                )),
                want
            );
        }
    }

    #[test]
    fn generate_name_is_checked_as_prefix() {
        let m = ObjectMeta {
            generate_name: Some("web-".into()),
            name: Some("web-abcde".into()),
            ..Default::default()
        };
        assert!(validate_object_meta(&m, false, NameRule::Dns1123Subdomain).is_empty());
        let bad = ObjectMeta {
            generate_name: Some("Web-".into()),
            name: Some("web-abcde".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_object_meta(&bad, false, NameRule::Dns1123Subdomain).len(),
            1
        );
    }

    #[test]
    fn object_meta_on_update() {
        let old = ObjectMeta {
            uid: Some("1".into()),
            generation: Some(2),
            ..meta("a", Some("ns"))
        };
        let cases: Vec<(ObjectMeta, Vec<&str>)> = vec![
            (old.clone(), vec![]),
            (
                ObjectMeta {
                    name: Some("x".into()),
                    ..old.clone()
                },
                vec!["metadata.name: Invalid value: \"x\": field is immutable"],
            ),
            (
                ObjectMeta {
                    namespace: Some("other".into()),
                    ..old.clone()
                },
                vec!["metadata.namespace: Invalid value: \"other\": field is immutable"],
            ),
            (
                ObjectMeta {
                    uid: Some("2".into()),
                    ..old.clone()
                },
                vec!["metadata.uid: Invalid value: \"2\": field is immutable"],
            ),
            (
                ObjectMeta {
                    generation: Some(1),
                    ..old.clone()
                },
                vec!["metadata.generation: Invalid value: 1: must not be decremented"],
            ),
        ];
        for (new, want) in cases {
            assert_eq!(msgs(&validate_object_meta_update(&new, &old)), want);
        }
        assert_eq!(
            msgs(&validate_resource_version_for_update(&old)),
            vec!["metadata.resourceVersion: Invalid value: \"\": must be specified for an update"]
        );
        let mut with_rv = old.clone();
        with_rv.resource_version = Some("5".into());
        assert!(validate_resource_version_for_update(&with_rv).is_empty());
    }

    #[test]
    fn no_new_finalizers_while_deleting() {
        let ts: k8s_openapi::jiff::Timestamp = "2024-01-02T03:04:05Z".parse().unwrap_or_default();
        let old = ObjectMeta {
            deletion_timestamp: Some(Time(ts)),
            ..meta("a", None)
        };
        let new = ObjectMeta {
            finalizers: Some(vec!["example.com/f".into()]),
            ..old.clone()
        };
        assert_eq!(
            msgs(&validate_object_meta_update(&new, &old)),
            vec!["metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/f\"}"]
        );
        assert_eq!(go_time(&Time(ts)), "2024-01-02 03:04:05 +0000 UTC");
    }

    #[test]
    fn selectors() {
        let sel = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["a".into()]),
            }]),
        };
        let labels = BTreeMap::from([
            ("app".to_owned(), "web".to_owned()),
            ("tier".to_owned(), "a".to_owned()),
        ]);
        assert!(selector_matches(&sel, Some(&labels)));
        assert!(!selector_matches(&sel, None));
        assert_eq!(
            go_label_selector(Some(&sel)),
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"tier\", Operator:\"In\", Values:[]string{\"a\"}}}}"
        );
        let bad = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "k".into(),
                    operator: "In".into(),
                    values: None,
                },
                LabelSelectorRequirement {
                    key: "k".into(),
                    operator: "Near".into(),
                    values: None,
                },
            ]),
        };
        assert_eq!(
            msgs(&validate_label_selector(Some(&bad), &Path::new("spec").child("selector"))),
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].operator: Invalid value: \"Near\": not a valid selector operator",
            ]
        );
    }
}
