//! Defaults for the batch group: jobs and cron jobs.
//!
//! A cron job's job template only gets its pod template defaulted; the job defaults
//! (completions, back-off limit, ...) apply when the cron job controller creates the job.

use std::collections::BTreeMap;

use super::pod::default_pod_template_spec;
use super::{default_absent, default_string};
use crate::k8s::api::batch::v1::{CronJob, Job};

/// Retries a job gets before it is marked failed.
const BACKOFF_LIMIT: i32 = 6;

/// Defaults a job: one completion at a time, six retries, non-indexed completion, not
/// suspended, replacement pods once old ones are gone, and its pod template.
///
/// A job without labels takes its pod template's labels. The selector and the
/// controller-uid labels are added by the job's create strategy, after defaulting.
pub fn default_job(job: &mut Job) {
    let spec = job.spec.get_or_insert_with(Default::default);
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    default_absent(&mut spec.parallelism, 1);
    if spec.backoff_limit.is_none() {
        // With a per-index limit, the overall limit no longer applies.
        let limit = if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            BACKOFF_LIMIT
        };
        spec.backoff_limit = Some(limit);
    }
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.labels.as_ref())
        .filter(|labels| !labels.is_empty());
    if let Some(labels) = template_labels {
        if job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
            job.metadata.labels = Some(labels.clone());
        }
    }
    default_absent(&mut spec.completion_mode, "NonIndexed".to_owned());
    default_absent(&mut spec.suspend, false);
    let patterns = spec
        .pod_failure_policy
        .iter_mut()
        .flat_map(|policy| policy.rules.iter_mut())
        .flat_map(|rule| rule.on_pod_conditions.iter_mut().flatten());
    for pattern in patterns {
        if pattern.status.is_empty() {
            pattern.status = "True".to_owned();
        }
    }
    if spec.pod_replacement_policy.is_none() {
        // A pod failure policy needs to see pods fail for good before replacing them.
        let policy = if spec.pod_failure_policy.is_some() {
            "Failed"
        } else {
            "TerminatingOrFailed"
        };
        spec.pod_replacement_policy = Some(policy.to_owned());
    }
    default_absent(&mut spec.manual_selector, false);
    default_pod_template_spec(&mut spec.template);
}

/// Defaults a cron job: concurrent runs allowed, not suspended, three successful and one
/// failed job kept, and the pod template of its job template.
pub fn default_cron_job(cron_job: &mut CronJob) {
    let spec = cron_job.spec.get_or_insert_with(Default::default);
    default_string(&mut spec.concurrency_policy, "Allow");
    default_absent(&mut spec.suspend, false);
    default_absent(&mut spec.successful_jobs_history_limit, 3);
    default_absent(&mut spec.failed_jobs_history_limit, 1);
    let job_spec = spec.job_template.spec.get_or_insert_with(Default::default);
    default_pod_template_spec(&mut job_spec.template);
}
