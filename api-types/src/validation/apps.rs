//! Workload rules for the apps group: Deployment, ReplicaSet, DaemonSet, StatefulSet and
//! ControllerRevision.
//!
//! Every workload's selector must select its own pod template, and in apps/v1 the selector
//! never changes after creation.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::field_error::{go_quote, ErrorList, FieldError, Path};
use super::meta::{
    go_label_selector, go_string_map, s, selector_is_empty, selector_is_well_formed,
    selector_matches, to_json, validate_annotations, validate_immutable, validate_label_selector,
    validate_labels, validate_nonnegative, validate_object_meta, validate_object_meta_update,
    FIELD_IMMUTABLE,
};
use super::names::{is_valid_percent, NameRule};
use super::pod::validate_pod_template_spec;

/// How Go prints an IntOrString with `%#v`.
pub(crate) fn go_int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => format!("intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:\"\"}}"),
        IntOrString::String(st) => format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            go_quote(st)
        ),
    }
}

fn int_or_string_json(v: &IntOrString) -> serde_json::Value {
    match v {
        IntOrString::Int(n) => serde_json::Value::from(*n),
        IntOrString::String(st) => serde_json::Value::from(st.as_str()),
    }
}

/// Errors for a non-negative whole number or a percentage.
pub(crate) fn validate_positive_int_or_percent(v: &IntOrString, path: &Path) -> ErrorList {
    match v {
        IntOrString::String(st) => is_valid_percent(st)
            .into_iter()
            .map(|m| {
                FieldError::invalid(path, int_or_string_json(v), &m)
                    .with_value_text(go_int_or_string(v))
            })
            .collect(),
        IntOrString::Int(n) => validate_nonnegative(i64::from(*n), path),
    }
}

fn percent_value(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(st) if is_valid_percent(st).is_empty() => {
            st.trim_end_matches('%').parse().ok()
        }
        _ => None,
    }
}

/// The number an IntOrString stands for, as Kubernetes reads it for the zero checks.
fn int_or_percent_value(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(st) => percent_value(v).unwrap_or_else(|| st.parse().unwrap_or(0)),
    }
}

/// Errors for a percentage above 100%.
pub(crate) fn is_not_more_than_100_percent(v: &IntOrString, path: &Path) -> ErrorList {
    match percent_value(v) {
        Some(p) if p > 100 => {
            vec![
                FieldError::invalid(path, int_or_string_json(v), "must not be greater than 100%")
                    .with_value_text(go_int_or_string(v)),
            ]
        }
        _ => Vec::new(),
    }
}

/// A selector as Kubernetes sees it: missing when neither part was given.
fn given_selector(sel: &LabelSelector) -> Option<&LabelSelector> {
    if sel.match_labels.is_none() && sel.match_expressions.is_none() {
        None
    } else {
        Some(sel)
    }
}

fn selector_mismatch(template: &PodTemplateSpec, path: &Path) -> FieldError {
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    FieldError::invalid(
        &path.child("metadata").child("labels"),
        to_json(&labels),
        "`selector` does not match template `labels`",
    )
    .with_value_text(go_string_map(labels))
}

/// Whether the template fails the selector: a missing selector selects nothing, an empty one
/// everything.
fn template_mismatch(selector: Option<&LabelSelector>, template: &PodTemplateSpec) -> bool {
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    match selector {
        None => true,
        Some(sel) if selector_is_empty(sel) => false,
        Some(sel) => !selector_matches(sel, labels),
    }
}

/// Selector rules shared by Deployment, ReplicaSet and StatefulSet: required, valid,
/// non-empty.
fn validate_required_selector(
    selector: Option<&LabelSelector>,
    kind: &str,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    match selector {
        None => errs.push(FieldError::required(path, "")),
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), path));
            if selector_is_empty(sel) {
                errs.push(
                    FieldError::invalid(
                        path,
                        to_json(sel),
                        &format!("empty selector is invalid for {kind}"),
                    )
                    .with_value_text(go_label_selector(Some(sel))),
                );
            }
        }
    }
    errs
}

fn validate_template_for_replica_set(
    template: &PodTemplateSpec,
    selector: Option<&LabelSelector>,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    if template_mismatch(selector, template) {
        errs.push(selector_mismatch(template, path));
    }
    errs.extend(validate_pod_template_spec(template, path));
    let spec = template.spec.clone().unwrap_or_default();
    let rp = s(&spec.restart_policy);
    if !rp.is_empty() && rp != "Always" {
        errs.push(FieldError::not_supported(
            &path.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
    errs
}

fn selector_template_errors(
    sel: &LabelSelector,
    selector: Option<&LabelSelector>,
    template: &PodTemplateSpec,
    sp: &Path,
    bad_selector_detail: &str,
) -> ErrorList {
    if selector.is_some() && !selector_is_well_formed(sel) {
        return vec![
            FieldError::invalid(&sp.child("selector"), to_json(sel), bad_selector_detail)
                .with_value_text(go_label_selector(Some(sel))),
        ];
    }
    validate_template_for_replica_set(template, selector, &sp.child("template"))
}

fn validate_deployment_spec(spec: &apps::DeploymentSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs =
        validate_nonnegative(i64::from(spec.replicas.unwrap_or(1)), &sp.child("replicas"));
    let selector = given_selector(&spec.selector);
    errs.extend(validate_required_selector(
        selector,
        "deployment",
        &sp.child("selector"),
    ));
    errs.extend(selector_template_errors(
        &spec.selector,
        selector,
        &spec.template,
        &sp,
        "invalid label selector",
    ));
    if let Some(strategy) = &spec.strategy {
        let stp = sp.child("strategy");
        match s(&strategy.type_) {
            "Recreate" => {
                if strategy.rolling_update.is_some() {
                    errs.push(FieldError::forbidden(&stp.child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"));
                }
            }
            "" | "RollingUpdate" => {
                let ru = strategy.rolling_update.clone().unwrap_or_default();
                let rp = stp.child("rollingUpdate");
                let quarter = IntOrString::String("25%".to_owned());
                let unavailable = ru.max_unavailable.unwrap_or_else(|| quarter.clone());
                let surge = ru.max_surge.unwrap_or(quarter);
                errs.extend(validate_positive_int_or_percent(&unavailable, &rp.child("maxUnavailable")));
                errs.extend(validate_positive_int_or_percent(&surge, &rp.child("maxSurge")));
                if int_or_percent_value(&unavailable) == 0 && int_or_percent_value(&surge) == 0 {
                    errs.push(
                        FieldError::invalid(&rp.child("maxUnavailable"), int_or_string_json(&unavailable), "may not be 0 when `maxSurge` is 0")
                            .with_value_text(go_int_or_string(&unavailable)),
                    );
                }
                errs.extend(is_not_more_than_100_percent(&unavailable, &rp.child("maxUnavailable")));
            }
            other => errs.push(
                FieldError::not_supported(&stp, to_json(strategy), &["Recreate", "RollingUpdate"]).with_value_text(format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}",
                    go_quote(other)
                )),
            ),
        }
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    errs.extend(validate_nonnegative(
        i64::from(min_ready),
        &sp.child("minReadySeconds"),
    ));
    if let Some(r) = spec.revision_history_limit {
        errs.extend(validate_nonnegative(
            i64::from(r),
            &sp.child("revisionHistoryLimit"),
        ));
    }
    if let Some(p) = spec.progress_deadline_seconds {
        errs.extend(validate_nonnegative(
            i64::from(p),
            &sp.child("progressDeadlineSeconds"),
        ));
        if p <= min_ready {
            errs.push(FieldError::invalid(
                &sp.child("progressDeadlineSeconds"),
                p,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// Normalizes a selector so that `[]` and a missing list compare equal.
fn normalized_selector(sel: &LabelSelector) -> LabelSelector {
    LabelSelector {
        match_labels: sel.match_labels.clone().filter(|m| !m.is_empty()),
        match_expressions: sel.match_expressions.clone().filter(|e| !e.is_empty()),
    }
}

fn selector_immutable(new: &LabelSelector, old: &LabelSelector) -> ErrorList {
    let (n, o) = (normalized_selector(new), normalized_selector(old));
    validate_immutable(
        &n,
        &o,
        &Path::new("spec").child("selector"),
        Some(go_label_selector(given_selector(new))),
    )
}

/// Errors for a Deployment on create.
pub fn validate_deployment(d: &apps::Deployment) -> ErrorList {
    let mut errs = validate_object_meta(&d.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_deployment_spec(
        &d.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for a Deployment update: a valid new deployment whose selector is unchanged.
pub fn validate_deployment_update(new: &apps::Deployment, old: &apps::Deployment) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_deployment_spec(&ns));
    errs.extend(selector_immutable(&ns.selector, &os.selector));
    errs
}

fn validate_replica_set_spec(spec: &apps::ReplicaSetSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs =
        validate_nonnegative(i64::from(spec.replicas.unwrap_or(1)), &sp.child("replicas"));
    errs.extend(validate_nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &sp.child("minReadySeconds"),
    ));
    let selector = given_selector(&spec.selector);
    errs.extend(validate_required_selector(
        selector,
        "deployment",
        &sp.child("selector"),
    ));
    let template = spec.template.clone().unwrap_or_default();
    errs.extend(selector_template_errors(
        &spec.selector,
        selector,
        &template,
        &sp,
        "invalid label selector",
    ));
    errs
}

/// Errors for a ReplicaSet on create.
pub fn validate_replica_set(rs: &apps::ReplicaSet) -> ErrorList {
    let mut errs = validate_object_meta(&rs.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_replica_set_spec(
        &rs.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for a ReplicaSet update: a valid new replica set whose selector is unchanged.
pub fn validate_replica_set_update(new: &apps::ReplicaSet, old: &apps::ReplicaSet) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_replica_set_spec(&ns));
    errs.extend(selector_immutable(&ns.selector, &os.selector));
    errs
}

fn validate_daemon_set_spec(spec: &apps::DaemonSetSpec) -> ErrorList {
    let sp = Path::new("spec");
    let selector = given_selector(&spec.selector);
    let mut errs = validate_label_selector(selector, &sp.child("selector"));
    let well_formed = selector.is_none_or(selector_is_well_formed);
    if well_formed && template_mismatch(selector, &spec.template) {
        errs.push(selector_mismatch(&spec.template, &sp.child("template")));
    }
    if let Some(sel) = selector.filter(|sel| selector_is_empty(sel)) {
        errs.push(
            FieldError::invalid(
                &sp.child("selector"),
                to_json(sel),
                "empty selector is invalid for daemonset",
            )
            .with_value_text(go_label_selector(Some(sel))),
        );
    }
    let tp = sp.child("template");
    errs.extend(validate_pod_template_spec(&spec.template, &tp));
    let ps = spec.template.spec.clone().unwrap_or_default();
    let rp = s(&ps.restart_policy);
    if !rp.is_empty() && rp != "Always" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if ps.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    errs.extend(validate_nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &sp.child("minReadySeconds"),
    ));
    if let Some(strategy) = &spec.update_strategy {
        let up = sp.child("updateStrategy");
        match s(&strategy.type_) {
            "OnDelete" => {}
            "" | "RollingUpdate" => {
                let ru = strategy.rolling_update.clone().unwrap_or_default();
                let rp = up.child("rollingUpdate");
                let unavailable = ru.max_unavailable.unwrap_or(IntOrString::Int(1));
                let surge = ru.max_surge.unwrap_or(IntOrString::Int(0));
                errs.extend(validate_positive_int_or_percent(&unavailable, &rp.child("maxUnavailable")));
                errs.extend(validate_positive_int_or_percent(&surge, &rp.child("maxSurge")));
                errs.extend(is_not_more_than_100_percent(&unavailable, &rp.child("maxUnavailable")));
                errs.extend(is_not_more_than_100_percent(&surge, &rp.child("maxSurge")));
                let has_unavailable = int_or_percent_value(&unavailable) != 0;
                let has_surge = int_or_percent_value(&surge) != 0;
                if has_unavailable && has_surge {
                    errs.push(FieldError::invalid(&rp.child("maxSurge"), int_or_string_json(&surge), "may not be set when maxUnavailable is non-zero").with_value_text(go_int_or_string(&surge)));
                } else if !has_unavailable && !has_surge {
                    errs.push(FieldError::required(&rp.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
                }
            }
            other => errs.push(FieldError::not_supported(&up, to_json(strategy), &["RollingUpdate", "OnDelete"]).with_value_text(format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}",
                go_quote(other)
            ))),
        }
    }
    if let Some(r) = spec.revision_history_limit {
        errs.extend(validate_nonnegative(
            i64::from(r),
            &sp.child("revisionHistoryLimit"),
        ));
    }
    errs
}

/// Errors for a DaemonSet on create.
pub fn validate_daemon_set(ds: &apps::DaemonSet) -> ErrorList {
    let mut errs = validate_object_meta(&ds.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_daemon_set_spec(
        &ds.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for a DaemonSet update: a valid new daemon set whose selector is unchanged.
pub fn validate_daemon_set_update(new: &apps::DaemonSet, old: &apps::DaemonSet) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_daemon_set_spec(&ns));
    errs.extend(selector_immutable(&ns.selector, &os.selector));
    errs
}

fn validate_stateful_set_spec(spec: &apps::StatefulSetSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    let pmp = s(&spec.pod_management_policy);
    if !pmp.is_empty() && pmp != "OrderedReady" && pmp != "Parallel" {
        errs.push(FieldError::invalid(
            &sp.child("podManagementPolicy"),
            pmp,
            "must be 'OrderedReady' or 'Parallel'",
        ));
    }
    if let Some(strategy) = &spec.update_strategy {
        let up = sp.child("updateStrategy");
        match s(&strategy.type_) {
            "OnDelete" => {
                if let Some(ru) = &strategy.rolling_update {
                    errs.push(FieldError::invalid(
                        &up.child("rollingUpdate"),
                        to_json(ru),
                        "only allowed for updateStrategy 'RollingUpdate'",
                    ));
                }
            }
            "" | "RollingUpdate" => {
                if let Some(ru) = &strategy.rolling_update {
                    let rp = up.child("rollingUpdate");
                    errs.extend(validate_nonnegative(
                        i64::from(ru.partition.unwrap_or(0)),
                        &rp.child("partition"),
                    ));
                    if let Some(mu) = &ru.max_unavailable {
                        let mp = rp.child("maxUnavailable");
                        errs.extend(validate_positive_int_or_percent(mu, &mp));
                        if int_or_percent_value(mu) == 0 {
                            errs.push(
                                FieldError::invalid(&mp, int_or_string_json(mu), "cannot be 0")
                                    .with_value_text(go_int_or_string(mu)),
                            );
                        }
                        errs.extend(is_not_more_than_100_percent(mu, &mp));
                    }
                }
            }
            _ => errs.push(FieldError::invalid(
                &up,
                to_json(strategy),
                "must be 'RollingUpdate' or 'OnDelete'",
            )),
        }
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let pp = sp.child("persistentVolumeClaimRetentionPolicy");
        for (field, value) in [
            ("whenDeleted", &policy.when_deleted),
            ("whenScaled", &policy.when_scaled),
        ] {
            let v = s(value);
            if !v.is_empty() && v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    &pp.child(field),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(validate_nonnegative(
        i64::from(spec.replicas.unwrap_or(1)),
        &sp.child("replicas"),
    ));
    errs.extend(validate_nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &sp.child("minReadySeconds"),
    ));
    if let Some(ord) = &spec.ordinals {
        errs.extend(validate_nonnegative(
            i64::from(ord.start.unwrap_or(0)),
            &sp.child("ordinals.start"),
        ));
    }
    let selector = given_selector(&spec.selector);
    errs.extend(validate_required_selector(
        selector,
        "statefulset",
        &sp.child("selector"),
    ));
    let tp = sp.child("template");
    if selector.is_some() && !selector_is_well_formed(&spec.selector) {
        errs.push(
            FieldError::invalid(&sp.child("selector"), to_json(&spec.selector), "")
                .with_value_text(go_label_selector(selector)),
        );
    } else {
        if template_mismatch(selector, &spec.template) {
            errs.push(selector_mismatch(&spec.template, &tp));
        }
        let meta = spec.template.metadata.as_ref();
        errs.extend(validate_labels(
            meta.and_then(|m| m.labels.as_ref()),
            &tp.child("labels"),
        ));
        errs.extend(validate_annotations(
            meta.and_then(|m| m.annotations.as_ref()),
            &tp.child("annotations"),
        ));
    }
    let ps = spec.template.spec.clone().unwrap_or_default();
    let rp = s(&ps.restart_policy);
    if !rp.is_empty() && rp != "Always" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if ps.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

/// Errors for a StatefulSet on create. StatefulSet names must be DNS labels because they
/// become pod host names.
pub fn validate_stateful_set(ss: &apps::StatefulSet) -> ErrorList {
    let mut errs = validate_object_meta(&ss.metadata, true, NameRule::Dns1123Label);
    errs.extend(validate_stateful_set_spec(
        &ss.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for a StatefulSet update: only replicas, ordinals, template, update strategy,
/// claim retention policy and minReadySeconds may change.
pub fn validate_stateful_set_update(new: &apps::StatefulSet, old: &apps::StatefulSet) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_stateful_set_spec(&ns));
    let mut clone = ns.clone();
    clone.replicas = os.replicas;
    clone.template = os.template.clone();
    clone.update_strategy = os.update_strategy.clone();
    clone.min_ready_seconds = os.min_ready_seconds;
    clone.ordinals = os.ordinals.clone();
    clone.persistent_volume_claim_retention_policy =
        os.persistent_volume_claim_retention_policy.clone();
    clone.selector = normalized_selector(&clone.selector);
    let mut old_norm = os.clone();
    old_norm.selector = normalized_selector(&old_norm.selector);
    if clone != old_norm {
        errs.push(FieldError::forbidden(
            &Path::new("spec"),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
    errs
}

/// Errors for a ControllerRevision on create.
pub fn validate_controller_revision(cr: &apps::ControllerRevision) -> ErrorList {
    let mut errs = validate_object_meta(&cr.metadata, true, NameRule::Dns1123Subdomain);
    if cr.data.is_none() {
        errs.push(FieldError::required(
            &Path::new("data"),
            "data is mandatory",
        ));
    }
    errs.extend(validate_nonnegative(cr.revision, &Path::new("revision")));
    errs
}

/// Errors for a ControllerRevision update: its data never changes.
pub fn validate_controller_revision_update(
    new: &apps::ControllerRevision,
    old: &apps::ControllerRevision,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_controller_revision(new));
    if new.data != old.data {
        errs.push(FieldError::invalid(
            &Path::new("data"),
            to_json(&new.data),
            FIELD_IMMUTABLE,
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    fn deploy() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
            }
        })
    }

    const MISMATCH: &str = "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`";

    #[test]
    fn deployment_and_replica_set_rules() {
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", deploy(), vec![]),
            ("selector mismatch", with(&deploy(), json!({"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}})), vec![MISMATCH.into()]),
            (
                "selector missing",
                with(&deploy(), json!({"spec": {"selector": null}})),
                vec![
                    "spec.selector: Required value".into(),
                    "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".into(),
                ],
            ),
            (
                "selector empty",
                with(&with(&deploy(), json!({"spec": {"selector": null}})), json!({"spec": {"selector": {"matchLabels": {}}}})),
                vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment".into()],
            ),
            ("negative replicas", with(&deploy(), json!({"spec": {"replicas": -1}})), vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0".into()]),
            (
                "zero surge and unavailable",
                with(&deploy(), json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}}})),
                vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0".into()],
            ),
            (
                "bad percent",
                with(&deploy(), json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": "x"}}}})),
                vec!["spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"x\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')".into()],
            ),
            (
                "recreate with rolling update",
                with(&deploy(), json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": {}}}})),
                vec!["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'".into()],
            ),
            (
                "restart policy",
                with(&deploy(), json!({"spec": {"template": {"spec": {"restartPolicy": "Never"}}}})),
                vec!["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"".into()],
            ),
            (
                "progress deadline",
                with(&deploy(), json!({"spec": {"minReadySeconds": 10, "progressDeadlineSeconds": 10}})),
                vec!["spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds".into()],
            ),
            (
                "template needs containers",
                with(&deploy(), json!({"spec": {"template": {"spec": {"containers": []}}}})),
                vec!["spec.template.spec.containers: Required value".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(
                create("apps", "Deployment", &obj),
                want,
                "deployment {name}"
            );
            let rs_want: Vec<String> = want
                .iter()
                .filter(|m| !m.starts_with("spec.strategy") && !m.starts_with("spec.progress"))
                .cloned()
                .collect();
            let mut rs = obj.clone();
            if let Some(spec) = rs.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("strategy");
                spec.remove("progressDeadlineSeconds");
            }
            assert_eq!(
                create("apps", "ReplicaSet", &rs),
                rs_want,
                "replicaset {name}"
            );
        }
    }

    #[test]
    fn selectors_are_immutable() {
        let old = deploy();
        let new = with(
            &old,
            json!({"spec": {"selector": {"matchLabels": {"app": "web2"}}, "template": {"metadata": {"labels": {"app": "web2"}}}}}),
        );
        let want = vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable".to_owned()];
        for kind in ["Deployment", "ReplicaSet", "DaemonSet"] {
            assert_eq!(update("apps", kind, &new, &old), want, "{kind}");
            assert!(
                update(
                    "apps",
                    kind,
                    &with(&old, json!({"spec": {"replicas": 5}})),
                    &old
                )
                .is_empty(),
                "{kind}"
            );
        }
    }

    #[test]
    fn daemon_set_rules() {
        let ds = with(&deploy(), json!({"spec": {"replicas": null}}));
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", ds.clone(), vec![]),
            ("mismatch", with(&ds, json!({"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}})), vec![MISMATCH.into()]),
            (
                "both surge and unavailable",
                with(&ds, json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}}})),
                vec!["spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("apps", "DaemonSet", &obj), want, "{name}");
        }
    }

    #[test]
    fn stateful_set_rules() {
        let ss = with(&deploy(), json!({"spec": {"serviceName": "web"}}));
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", ss.clone(), vec![]),
            ("dotted name", with(&ss, json!({"metadata": {"name": "web.v1"}})), vec!["metadata.name: Invalid value: \"web.v1\": must not contain dots".into()]),
            ("mismatch", with(&ss, json!({"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}})), vec![MISMATCH.into()]),
            (
                "policy",
                with(&ss, json!({"spec": {"podManagementPolicy": "Random"}})),
                vec!["spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("apps", "StatefulSet", &obj), want, "{name}");
        }
        let changed = with(&ss, json!({"spec": {"serviceName": "other"}}));
        assert_eq!(
            update("apps", "StatefulSet", &changed, &ss),
            vec!["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".to_owned()]
        );
        assert!(update(
            "apps",
            "StatefulSet",
            &with(&ss, json!({"spec": {"replicas": 9}})),
            &ss
        )
        .is_empty());
    }

    #[test]
    fn controller_revisions() {
        let cr = json!({"metadata": {"name": "r", "namespace": "d", "resourceVersion": "1"}, "data": {"a": 1}, "revision": 1});
        assert!(create("apps", "ControllerRevision", &cr).is_empty());
        assert_eq!(
            create(
                "apps",
                "ControllerRevision",
                &with(&cr, json!({"data": null}))
            ),
            vec!["data: Required value: data is mandatory".to_owned()]
        );
        let changed = with(&cr, json!({"data": {"a": 2}}));
        assert_eq!(
            update("apps", "ControllerRevision", &changed, &cr),
            vec!["data: Invalid value: {\"a\":2}: field is immutable".to_owned()]
        );
    }
}
