//! Batch rules: Job and CronJob, including the five-field cron schedule syntax Kubernetes
//! accepts.

use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::field_error::{ErrorList, FieldError, Path};
use super::meta::{
    go_label_selector, go_string_map, s, selector_is_empty, selector_is_well_formed,
    selector_matches, to_json, validate_immutable, validate_label_selector, validate_nonnegative,
    validate_object_meta, validate_object_meta_update, FIELD_IMMUTABLE,
};
use super::names::NameRule;
use super::pod::validate_pod_template_spec;

const MAX_INDEXED_COMPLETIONS: i32 = 100_000;

fn restart_policy(template: &PodTemplateSpec) -> String {
    match template
        .spec
        .as_ref()
        .map(|sp| s(&sp.restart_policy))
        .unwrap_or("")
    {
        // Pod specs default to Always, which a Job then rejects.
        "" => "Always".to_owned(),
        rp => rp.to_owned(),
    }
}

/// Rules for a job spec shared by Jobs and CronJob job templates.
fn validate_job_spec_common(spec: &batch::JobSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (field, value) in [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            spec.ttl_seconds_after_finished.map(i64::from),
        ),
    ] {
        if let Some(v) = value {
            errs.extend(validate_nonnegative(v, &path.child(field)));
        }
    }
    let mode = s(&spec.completion_mode);
    match mode {
        "" | "NonIndexed" => {}
        "Indexed" => {
            match spec.completions {
                None => errs.push(FieldError::required(
                    &path.child("completions"),
                    "when completion mode is Indexed",
                )),
                Some(c) if c > MAX_INDEXED_COMPLETIONS => errs.push(FieldError::invalid(
                    &path.child("completions"),
                    c,
                    "must be less than or equal to 100000 when completion mode is Indexed",
                )),
                _ => {}
            }
            if let Some(p) = spec.parallelism.filter(|p| *p > MAX_INDEXED_COMPLETIONS) {
                errs.push(FieldError::invalid(
                    &path.child("parallelism"),
                    p,
                    "must be less than or equal to 100000 when completion mode is Indexed",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &path.child("completionMode"),
            other,
            &["NonIndexed", "Indexed"],
        )),
    }
    if let Some(p) = &spec.pod_replacement_policy {
        if p != "TerminatingOrFailed" && p != "Failed" {
            errs.push(FieldError::not_supported(
                &path.child("podReplacementPolicy"),
                p.as_str(),
                &["TerminatingOrFailed", "Failed"],
            ));
        }
    }
    let tp = path.child("template");
    errs.extend(validate_pod_template_spec(&spec.template, &tp));
    let rp = restart_policy(&spec.template);
    if rp != "OnFailure" && rp != "Never" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["OnFailure", "Never"],
        ));
    }
    errs
}

fn validate_job_spec(spec: &batch::JobSpec, path: &Path) -> ErrorList {
    let mut errs = validate_job_spec_common(spec, path);
    let selector = spec.selector.as_ref();
    match selector {
        None => errs.push(FieldError::required(&path.child("selector"), "")),
        Some(sel) => errs.extend(validate_label_selector(Some(sel), &path.child("selector"))),
    }
    let labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref());
    let matches = match selector {
        None => false,
        Some(sel) if !selector_is_well_formed(sel) => true,
        Some(sel) => selector_is_empty(sel) || selector_matches(sel, labels),
    };
    if !matches {
        errs.push(
            FieldError::invalid(
                &path.child("template").child("metadata").child("labels"),
                to_json(&labels),
                "`selector` does not match template `labels`",
            )
            .with_value_text(go_string_map(labels)),
        );
    }
    errs
}

/// Errors for a Job on create. The selector must already be set: Berth's job strategy
/// generates it from the job's uid before validating, as Kubernetes does.
pub fn validate_job(job: &batch::Job) -> ErrorList {
    let mut errs = validate_object_meta(&job.metadata, true, NameRule::Dns1123Subdomain);
    let spec = job.spec.clone().unwrap_or_default();
    errs.extend(validate_job_spec(&spec, &Path::new("spec")));
    if s(&spec.completion_mode) == "Indexed" {
        if let Some(c) = spec.completions.filter(|c| *c > 0) {
            let name = s(&job.metadata.name);
            let host = format!("{name}-{}", c - 1);
            if !super::names::is_dns1123_label(&host).is_empty() {
                errs.push(FieldError::invalid(
                    &Path::new("metadata").child("name"),
                    name,
                    &format!("will not able to create pod with invalid DNS label: {host}"),
                ));
            }
        }
    }
    errs
}

fn normalized(sel: &Option<LabelSelector>) -> Option<LabelSelector> {
    sel.as_ref().map(|s| LabelSelector {
        match_labels: s.match_labels.clone().filter(|m| !m.is_empty()),
        match_expressions: s.match_expressions.clone().filter(|e| !e.is_empty()),
    })
}

/// Errors for a Job update: completions (outside elastic indexed jobs), selector, completion
/// mode, failure policy and the pod template are fixed; a suspended job that never started
/// may still change its template's scheduling directives, labels and annotations.
pub fn validate_job_update(new: &batch::Job, old: &batch::Job) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let sp = Path::new("spec");
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_job_spec(&ns, &sp));
    let elastic = s(&ns.completion_mode) == "Indexed"
        && ns.completions == ns.parallelism
        && s(&os.completion_mode) == "Indexed";
    if !elastic {
        errs.extend(validate_immutable(
            &ns.completions,
            &os.completions,
            &sp.child("completions"),
            None,
        ));
    }
    let (nsel, osel) = (normalized(&ns.selector), normalized(&os.selector));
    errs.extend(validate_immutable(
        &nsel,
        &osel,
        &sp.child("selector"),
        Some(go_label_selector(ns.selector.as_ref())),
    ));
    let never_started = old.status.as_ref().is_none_or(|st| st.start_time.is_none());
    let mut old_template = os.template.clone();
    if os.suspend == Some(true) && never_started {
        let mut om = old_template.metadata.clone().unwrap_or_default();
        let nm = ns.template.metadata.clone().unwrap_or_default();
        om.labels = nm.labels;
        om.annotations = nm.annotations;
        old_template.metadata = Some(om);
        if let (Some(o), Some(n)) = (old_template.spec.as_mut(), ns.template.spec.as_ref()) {
            o.node_selector = n.node_selector.clone();
            o.tolerations = n.tolerations.clone();
            o.scheduling_gates = n.scheduling_gates.clone();
            match (o.affinity.as_mut(), &n.affinity) {
                (Some(oa), Some(na)) => oa.node_affinity = na.node_affinity.clone(),
                (None, Some(na)) if na.pod_affinity.is_none() && na.pod_anti_affinity.is_none() => {
                    o.affinity = Some(na.clone())
                }
                _ => {}
            }
        }
    }
    if ns.template != old_template {
        errs.push(FieldError::invalid(
            &sp.child("template"),
            to_json(&ns.template),
            FIELD_IMMUTABLE,
        ));
    }
    errs.extend(validate_immutable(
        &ns.completion_mode,
        &os.completion_mode,
        &sp.child("completionMode"),
        None,
    ));
    errs.extend(validate_immutable(
        &ns.pod_failure_policy,
        &os.pod_failure_policy,
        &sp.child("podFailurePolicy"),
        None,
    ));
    errs.extend(validate_immutable(
        &ns.backoff_limit_per_index,
        &os.backoff_limit_per_index,
        &sp.child("backoffLimitPerIndex"),
        None,
    ));
    errs
}

/// Errors for a CronJob on create.
pub fn validate_cron_job(cj: &batch::CronJob) -> ErrorList {
    let mut errs = validate_object_meta(&cj.metadata, true, NameRule::Dns1123Subdomain);
    let name = s(&cj.metadata.name);
    if name.len() > 52 {
        errs.push(FieldError::invalid(
            &Path::new("metadata").child("name"),
            name,
            "must be no more than 52 characters",
        ));
    }
    errs.extend(validate_cron_job_spec(&cj.spec.clone().unwrap_or_default()));
    errs
}

/// Errors for a CronJob update (the spec stays mutable).
pub fn validate_cron_job_update(new: &batch::CronJob, old: &batch::CronJob) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_cron_job_spec(
        &new.spec.clone().unwrap_or_default(),
    ));
    errs
}

fn validate_cron_job_spec(spec: &batch::CronJobSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    let sched_path = sp.child("schedule");
    if spec.schedule.is_empty() {
        errs.push(FieldError::required(&sched_path, ""));
    } else {
        if let Err(e) = parse_cron_schedule(&spec.schedule) {
            errs.push(FieldError::invalid(&sched_path, spec.schedule.as_str(), &e));
        }
        if spec.schedule.contains("TZ") {
            errs.push(FieldError::invalid(
                &sched_path,
                spec.schedule.as_str(),
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    if let Some(tz) = &spec.time_zone {
        if tz.is_empty() {
            errs.push(FieldError::invalid(
                &sp.child("timeZone"),
                tz.as_str(),
                "timeZone must be nil or non-empty string",
            ));
        } else if tz.contains(' ') || tz.starts_with('/') || tz.contains("..") {
            errs.push(FieldError::invalid(
                &sp.child("timeZone"),
                tz.as_str(),
                &format!("unknown time zone {tz}"),
            ));
        }
    }
    if let Some(d) = spec.starting_deadline_seconds {
        errs.extend(validate_nonnegative(
            d,
            &sp.child("startingDeadlineSeconds"),
        ));
    }
    match s(&spec.concurrency_policy) {
        "" | "Allow" | "Forbid" | "Replace" => {}
        other => errs.push(FieldError::not_supported(
            &sp.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    for (field, value) in [
        (
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit,
        ),
        ("failedJobsHistoryLimit", spec.failed_jobs_history_limit),
    ] {
        if let Some(v) = value {
            errs.extend(validate_nonnegative(i64::from(v), &sp.child(field)));
        }
    }
    let jp = sp.child("jobTemplate").child("spec");
    let job_spec = spec.job_template.spec.clone().unwrap_or_default();
    errs.extend(validate_job_spec_common(&job_spec, &jp));
    if let Some(sel) = &job_spec.selector {
        errs.push(
            FieldError::invalid(
                &jp.child("selector"),
                to_json(sel),
                "`selector` will be auto-generated",
            )
            .with_value_text(go_label_selector(Some(sel))),
        );
    }
    if job_spec.manual_selector == Some(true) {
        errs.push(FieldError::not_supported(
            &jp.child("manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
    errs
}

struct CronField {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn parse_cron_int(expr: &str) -> Result<u32, String> {
    let n: i64 = expr.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax",
            super::field_error::go_quote(expr)
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    u32::try_from(n).map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range",
            super::field_error::go_quote(expr)
        )
    })
}

fn parse_cron_int_or_name(expr: &str, field: &CronField) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    if let Some(pos) = field.names.iter().position(|n| *n == lower) {
        let base = if field.min == 1 { 1 } else { 0 };
        return Ok(pos as u32 + base);
    }
    parse_cron_int(expr)
}

fn parse_cron_range(expr: &str, field: &CronField) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step
        .first()
        .copied()
        .unwrap_or("")
        .split('-')
        .collect();
    let first = low_high.first().copied().unwrap_or("");
    let (start, mut end) = if first == "*" || first == "?" {
        (field.min, field.max)
    } else {
        let start = parse_cron_int_or_name(first, field)?;
        let end = match low_high.as_slice() {
            [_] => start,
            [_, high] => parse_cron_int_or_name(high, field)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.as_slice() {
        [_] => 1,
        [_, st] => {
            let step = parse_cron_int(st)?;
            if low_high.len() == 1 && first != "*" && first != "?" {
                end = field.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < field.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            field.min
        ));
    }
    if end > field.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            field.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

/// Checks a standard cron schedule (five fields, or a descriptor such as `@hourly`) and
/// returns the reason it cannot be parsed, worded as Kubernetes reports it.
pub fn parse_cron_schedule(spec: &str) -> Result<(), String> {
    let mut spec = spec.trim();
    if spec.is_empty() {
        return Err("empty spec string".to_owned());
    }
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let (_, rest) = spec.split_once(' ').unwrap_or((spec, ""));
        spec = rest.trim();
    }
    if let Some(descriptor) = spec.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d if d.starts_with("every ") => {
                let dur = d.trim_start_matches("every ").trim();
                let ok = !dur.is_empty()
                    && dur.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && dur.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "failed to parse duration {spec}: time: invalid duration {}",
                        super::field_error::go_quote(dur)
                    ))
                }
            }
            _ => Err(format!("unrecognized descriptor: {spec}")),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let specs = [
        CronField {
            min: 0,
            max: 59,
            names: &[],
        },
        CronField {
            min: 0,
            max: 23,
            names: &[],
        },
        CronField {
            min: 1,
            max: 31,
            names: &[],
        },
        CronField {
            min: 1,
            max: 12,
            names: &MONTHS,
        },
        CronField {
            min: 0,
            max: 6,
            names: &DAYS,
        },
    ];
    for (text, field) in fields.iter().zip(specs.iter()) {
        for part in text.split(',') {
            parse_cron_range(part, field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use super::parse_cron_schedule;
    use serde_json::{json, Value};

    fn job() -> Value {
        json!({
            "metadata": {"name": "pi", "namespace": "default", "resourceVersion": "1"},
            "spec": {
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                "template": {
                    "metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}
                }
            }
        })
    }

    fn cron() -> Value {
        json!({
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}
            }
        })
    }

    #[test]
    fn job_rules() {
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", job(), vec![]),
            (
                "default restart policy",
                with(&job(), json!({"spec": {"template": {"spec": {"restartPolicy": null}}}})),
                vec!["spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"".into()],
            ),
            (
                "no selector",
                with(&job(), json!({"spec": {"selector": null}})),
                vec![
                    "spec.selector: Required value".into(),
                    "spec.template.metadata.labels: Invalid value: map[string]string{\"batch.kubernetes.io/controller-uid\":\"u\"}: `selector` does not match template `labels`".into(),
                ],
            ),
            (
                "negative counts",
                with(&job(), json!({"spec": {"parallelism": -1, "backoffLimit": -2}})),
                vec![
                    "spec.parallelism: Invalid value: -1: must be greater than or equal to 0".into(),
                    "spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0".into(),
                ],
            ),
            (
                "indexed needs completions",
                with(&job(), json!({"spec": {"completionMode": "Indexed"}})),
                vec!["spec.completions: Required value: when completion mode is Indexed".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("batch", "Job", &obj), want, "{name}");
        }
    }

    #[test]
    fn job_update_rules() {
        let old = job();
        assert!(update(
            "batch",
            "Job",
            &with(&old, json!({"spec": {"parallelism": 3}})),
            &old
        )
        .is_empty());
        let changed = with(
            &old,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl:2"}]}}}}),
        );
        let errs = update("batch", "Job", &changed, &old);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("spec.template: Invalid value: "),
            "{}",
            errs[0]
        );
        assert!(errs[0].ends_with(": field is immutable"), "{}", errs[0]);
        let suspended = with(&old, json!({"spec": {"suspend": true}}));
        let relabelled = with(
            &suspended,
            json!({"spec": {"template": {"spec": {"nodeSelector": {"zone": "a"}}}}}),
        );
        assert!(update("batch", "Job", &relabelled, &suspended).is_empty());
        assert_eq!(
            update(
                "batch",
                "Job",
                &with(&old, json!({"spec": {"completions": 4}})),
                &old
            ),
            vec!["spec.completions: Invalid value: 4: field is immutable".to_owned()]
        );
    }

    #[test]
    fn cron_job_rules() {
        let long = "a".repeat(53);
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", cron(), vec![]),
            ("descriptor", with(&cron(), json!({"spec": {"schedule": "@hourly"}})), vec![]),
            ("missing schedule", with(&cron(), json!({"spec": {"schedule": ""}})), vec!["spec.schedule: Required value".into()]),
            (
                "four fields",
                with(&cron(), json!({"spec": {"schedule": "* * * *"}})),
                vec!["spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]".into()],
            ),
            (
                "minute out of range",
                with(&cron(), json!({"spec": {"schedule": "61 * * * *"}})),
                vec!["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61".into()],
            ),
            (
                "time zone in schedule",
                with(&cron(), json!({"spec": {"schedule": "TZ=UTC 0 * * * *"}})),
                vec!["spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into()],
            ),
            (
                "long name",
                with(&cron(), json!({"metadata": {"name": long}})),
                vec![format!("metadata.name: Invalid value: \"{long}\": must be no more than 52 characters")],
            ),
            (
                "job restart policy",
                with(&cron(), json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Always"}}}}}})),
                vec!["spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"".into()],
            ),
            (
                "concurrency policy",
                with(&cron(), json!({"spec": {"concurrencyPolicy": "Sometimes"}})),
                vec!["spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("batch", "CronJob", &obj), want, "{name}");
        }
    }

    #[test]
    fn cron_syntax() {
        let cases = [
            ("0 0 * * 0", Ok(())),
            ("*/15 9-17 * jan-mar mon-fri", Ok(())),
            ("0 0 1,15 * ?", Ok(())),
            ("@every 1h", Ok(())),
            (
                "@sometimes",
                Err("unrecognized descriptor: @sometimes".to_owned()),
            ),
            (
                "0 0 0 * *",
                Err("beginning of range (0) below minimum (1): 0".to_owned()),
            ),
            (
                "0 5-1 * * *",
                Err("beginning of range (5) beyond end of range (1): 5-1".to_owned()),
            ),
            (
                "x * * * *",
                Err(
                    "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
                        .to_owned(),
                ),
            ),
            (
                "*/0 * * * *",
                Err("step of range should be a positive number: */0".to_owned()),
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(parse_cron_schedule(spec), want, "{spec}");
        }
    }
}
