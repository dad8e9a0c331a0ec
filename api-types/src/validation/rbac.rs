//! RBAC rules: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
//!
//! RBAC object names only need to be usable as a URL path segment (so `system:admin` is
//! fine), and a binding's role reference never changes.

use k8s_openapi::api::rbac::v1 as rbac;

use super::field_error::{go_quote, ErrorList, FieldError, Path};
use super::meta::{
    items, s, to_json, validate_label_selector, validate_object_meta, validate_object_meta_update,
};
use super::names::{is_dns1123_subdomain, is_path_segment_name, NameRule};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

fn validate_policy_rule(rule: &rbac::PolicyRule, namespaced: bool, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if rule.verbs.is_empty() {
        errs.push(FieldError::required(
            &path.child("verbs"),
            "verbs must contain at least one value",
        ));
    }
    let urls = items(&rule.non_resource_urls);
    if !urls.is_empty() {
        let up = path.child("nonResourceURLs");
        if namespaced {
            errs.push(FieldError::invalid(
                &up,
                urls.to_vec(),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !items(&rule.api_groups).is_empty()
            || !items(&rule.resources).is_empty()
            || !items(&rule.resource_names).is_empty()
        {
            errs.push(FieldError::invalid(
                &up,
                urls.to_vec(),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if items(&rule.api_groups).is_empty() {
        errs.push(FieldError::required(
            &path.child("apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if items(&rule.resources).is_empty() {
        errs.push(FieldError::required(
            &path.child("resources"),
            "resource rules must supply at least one resource",
        ));
    }
    errs
}

/// Errors for a Role (create and update).
pub fn validate_role(role: &rbac::Role) -> ErrorList {
    let mut errs = validate_object_meta(&role.metadata, true, NameRule::PathSegment);
    for (i, rule) in items(&role.rules).iter().enumerate() {
        errs.extend(validate_policy_rule(
            rule,
            true,
            &Path::new("rules").index(i),
        ));
    }
    errs
}

/// Errors for a Role update.
pub fn validate_role_update(new: &rbac::Role, old: &rbac::Role) -> ErrorList {
    let mut errs = validate_role(new);
    errs.extend(validate_object_meta_update(&new.metadata, &old.metadata));
    errs
}

/// Errors for a ClusterRole (create and update).
pub fn validate_cluster_role(role: &rbac::ClusterRole) -> ErrorList {
    let mut errs = validate_object_meta(&role.metadata, false, NameRule::PathSegment);
    for (i, rule) in items(&role.rules).iter().enumerate() {
        errs.extend(validate_policy_rule(
            rule,
            false,
            &Path::new("rules").index(i),
        ));
    }
    if let Some(agg) = &role.aggregation_rule {
        let ap = Path::new("aggregationRule").child("clusterRoleSelectors");
        let selectors = items(&agg.cluster_role_selectors);
        if selectors.is_empty() {
            errs.push(FieldError::required(
                &ap,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, sel) in selectors.iter().enumerate() {
            errs.extend(validate_label_selector(Some(sel), &ap.index(i)));
        }
    }
    errs
}

/// Errors for a ClusterRole update.
pub fn validate_cluster_role_update(new: &rbac::ClusterRole, old: &rbac::ClusterRole) -> ErrorList {
    let mut errs = validate_cluster_role(new);
    errs.extend(validate_object_meta_update(&new.metadata, &old.metadata));
    errs
}

fn validate_subject(subject: &rbac::Subject, namespaced: bool, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if subject.name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    }
    let group = s(&subject.api_group);
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                for m in is_dns1123_subdomain(&subject.name) {
                    errs.push(FieldError::invalid(
                        &path.child("name"),
                        subject.name.as_str(),
                        &m,
                    ));
                }
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(
                    &path.child("apiGroup"),
                    group,
                    &[""],
                ));
            }
            if !namespaced && s(&subject.namespace).is_empty() {
                errs.push(FieldError::required(&path.child("namespace"), ""));
            }
        }
        "User" | "Group" => {
            if group != RBAC_GROUP {
                errs.push(FieldError::not_supported(
                    &path.child("apiGroup"),
                    group,
                    &[RBAC_GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &path.child("kind"),
            other,
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

fn validate_role_ref(role_ref: &rbac::RoleRef, kinds: &[&str]) -> ErrorList {
    let mut errs = Vec::new();
    let rp = Path::new("roleRef");
    if role_ref.api_group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            &rp.child("apiGroup"),
            role_ref.api_group.as_str(),
            &[RBAC_GROUP],
        ));
    }
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported(
            &rp.child("kind"),
            role_ref.kind.as_str(),
            kinds,
        ));
    }
    if role_ref.name.is_empty() {
        errs.push(FieldError::required(&rp.child("name"), ""));
    } else {
        for m in is_path_segment_name(&role_ref.name) {
            errs.push(FieldError::invalid(
                &rp.child("name"),
                role_ref.name.as_str(),
                &m,
            ));
        }
    }
    errs
}

fn role_ref_unchanged(new: &rbac::RoleRef, old: &rbac::RoleRef) -> ErrorList {
    if new == old {
        return Vec::new();
    }
    vec![
        FieldError::invalid(&Path::new("roleRef"), to_json(new), "cannot change roleRef")
            .with_value_text(format!(
                "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
                go_quote(&new.api_group),
                go_quote(&new.kind),
                go_quote(&new.name)
            )),
    ]
}

/// Errors for a RoleBinding on create.
pub fn validate_role_binding(rb: &rbac::RoleBinding) -> ErrorList {
    let mut errs = validate_object_meta(&rb.metadata, true, NameRule::PathSegment);
    errs.extend(validate_role_ref(&rb.role_ref, &["Role", "ClusterRole"]));
    for (i, subject) in items(&rb.subjects).iter().enumerate() {
        errs.extend(validate_subject(
            subject,
            true,
            &Path::new("subjects").index(i),
        ));
    }
    errs
}

/// Errors for a RoleBinding update: the role reference never changes.
pub fn validate_role_binding_update(new: &rbac::RoleBinding, old: &rbac::RoleBinding) -> ErrorList {
    let mut errs = validate_role_binding(new);
    errs.extend(validate_object_meta_update(&new.metadata, &old.metadata));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

/// Errors for a ClusterRoleBinding on create.
pub fn validate_cluster_role_binding(rb: &rbac::ClusterRoleBinding) -> ErrorList {
    let mut errs = validate_object_meta(&rb.metadata, false, NameRule::PathSegment);
    errs.extend(validate_role_ref(&rb.role_ref, &["ClusterRole"]));
    for (i, subject) in items(&rb.subjects).iter().enumerate() {
        errs.extend(validate_subject(
            subject,
            false,
            &Path::new("subjects").index(i),
        ));
    }
    errs
}

/// Errors for a ClusterRoleBinding update: the role reference never changes.
pub fn validate_cluster_role_binding_update(
    new: &rbac::ClusterRoleBinding,
    old: &rbac::ClusterRoleBinding,
) -> ErrorList {
    let mut errs = validate_cluster_role_binding(new);
    errs.extend(validate_object_meta_update(&new.metadata, &old.metadata));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    const G: &str = "rbac.authorization.k8s.io";

    #[test]
    fn role_rules() {
        let role = json!({"metadata": {"name": "system:reader", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", role.clone(), vec![]),
            ("no verbs", with(&role, json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": []}]})), vec!["rules[0].verbs: Required value: verbs must contain at least one value".into()]),
            (
                "no groups or resources",
                with(&role, json!({"rules": [{"verbs": ["get"]}]})),
                vec![
                    "rules[0].apiGroups: Required value: resource rules must supply at least one api group".into(),
                    "rules[0].resources: Required value: resource rules must supply at least one resource".into(),
                ],
            ),
            (
                "urls in a namespace",
                with(&role, json!({"rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]})),
                vec!["rules[0].nonResourceURLs: Invalid value: []string{\"/healthz\"}: namespaced rules cannot apply to non-resource URLs".into()],
            ),
            ("slash in name", with(&role, json!({"metadata": {"name": "a/b"}})), vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'".into()]),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create(G, "Role", &obj), want, "{name}");
        }
        let cr = json!({"metadata": {"name": "viewer"}, "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]});
        assert!(create(G, "ClusterRole", &cr).is_empty());
    }

    #[test]
    fn binding_rules() {
        let rb = json!({
            "metadata": {"name": "read", "namespace": "default", "resourceVersion": "1"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}, {"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]
        });
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", rb.clone(), vec![]),
            (
                "bad role ref",
                with(&rb, json!({"roleRef": {"kind": "Thing", "name": ""}})),
                vec!["roleRef.kind: Unsupported value: \"Thing\": supported values: \"Role\", \"ClusterRole\"".into(), "roleRef.name: Required value".into()],
            ),
            (
                "bad subject",
                with(&rb, json!({"subjects": [{"kind": "Robot", "name": "r"}, {"kind": "User", "name": "u"}]})),
                vec![
                    "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"".into(),
                    "subjects[1].apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\"".into(),
                ],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create(G, "RoleBinding", &obj), want, "{name}");
        }
        assert_eq!(
            update(G, "RoleBinding", &with(&rb, json!({"roleRef": {"name": "writer"}})), &rb),
            vec!["roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"writer\"}: cannot change roleRef".to_owned()]
        );
        let crb = json!({"metadata": {"name": "admins"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
        assert_eq!(
            create(G, "ClusterRoleBinding", &crb),
            vec![
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\""
                    .to_owned(),
                "subjects[0].namespace: Required value".to_owned(),
            ]
        );
    }
}
