//! Pods and the workload kinds that manage them: PodTemplates, ReplicationControllers,
//! Deployments, ReplicaSets, DaemonSets, StatefulSets, ControllerRevisions, Jobs, CronJobs
//! and PodDisruptionBudgets.

use serde_json::{json, Value};

use super::format::{
    bool_ptr, containers_and_images, deployment_selector, format_label_selector, format_labels,
};
use super::time::{age, human_duration, seconds_between, since, time_at};
use super::value::{
    at, bool_at, int_at, int_or_string_at, is_set, list_at, opt_int_at, opt_str_at, str_at,
};
use super::{
    age_column, column, containers_column, images_column, name_column, selector_column, wide,
    ColumnDefinition,
};
use crate::k8s::jiff::Timestamp;

/// The object's name.
fn name(object: &Value) -> Value {
    Value::from(str_at(object, &["metadata", "name"]))
}

/// Whether the object is being deleted (`metadata.deletionTimestamp` is set).
fn is_deleting(object: &Value) -> bool {
    !matches!(
        at(object, &["metadata", "deletionTimestamp"]),
        None | Some(Value::Null)
    )
}

/// The status of the first condition of `type_`, if any.
fn first_condition_status<'a>(conditions: &'a [Value], type_: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| str_at(c, &["type"]) == type_)
        .map(|c| str_at(c, &["status"]))
}

pub(super) static POD_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Ready",
        "string",
        "Ready containers out of all containers of the pod.",
    ),
    column(
        "Status",
        "string",
        "Summary of the pod's phase and its containers' states.",
    ),
    column(
        "Restarts",
        "string",
        "Container restarts, and how long ago the last one was.",
    ),
    age_column(),
    wide("IP", "string", "The pod's IP address."),
    wide("Node", "string", "The node the pod is bound to."),
    wide(
        "Nominated Node",
        "string",
        "The node the scheduler nominated after preemption.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "Readiness gates that are true, out of all gates.",
    ),
];

/// The last container restart seen so far: the latest `lastState.terminated.finishedAt`.
fn later(current: Option<Timestamp>, status: &Value) -> Option<Timestamp> {
    current.max(time_at(status, &["lastState", "terminated", "finishedAt"]))
}

/// `Signal:9` or `ExitCode:1` for a container that terminated without a reason.
fn exit_description(status: &Value) -> String {
    let signal = int_at(status, &["state", "terminated", "signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        let code = int_at(status, &["state", "terminated", "exitCode"]);
        format!("ExitCode:{code}")
    }
}

pub(super) fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let init_specs = list_at(pod, &["spec", "initContainers"]);
    // A name that appears twice takes the last definition, as a map keyed by name would.
    let is_sidecar = |name: &str| {
        init_specs
            .iter()
            .rev()
            .find(|c| str_at(c, &["name"]) == name)
            .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
    };
    let sidecar_count = init_specs
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();
    let total = list_at(pod, &["spec", "containers"]).len() + sidecar_count;
    let conditions = list_at(pod, &["status", "conditions"]);

    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = if status_reason.is_empty() {
        phase.to_owned()
    } else {
        status_reason.to_owned()
    };
    if conditions.iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated".to_owned();
    }

    let mut ready = 0usize;
    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;
    let mut initializing = false;
    for (index, status) in list_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let count = int_at(status, &["restartCount"]);
        restarts = restarts.saturating_add(count);
        last_restart = later(last_restart, status);
        let sidecar = is_sidecar(str_at(status, &["name"]));
        if sidecar {
            sidecar_restarts = sidecar_restarts.saturating_add(count);
            last_sidecar_restart = later(last_sidecar_restart, status);
        }
        let terminated = is_set(status, &["state", "terminated"]);
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        if terminated && int_at(status, &["state", "terminated", "exitCode"]) == 0 {
            continue;
        }
        if sidecar && bool_at(status, &["started"]) {
            if bool_at(status, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated {
            match str_at(status, &["state", "terminated", "reason"]) {
                "" => format!("Init:{}", exit_description(status)),
                terminated_reason => format!("Init:{terminated_reason}"),
            }
        } else if is_set(status, &["state", "waiting"])
            && !waiting_reason.is_empty()
            && waiting_reason != "PodInitializing"
        {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || first_condition_status(conditions, "Initialized") == Some("True") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in list_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts = restarts.saturating_add(int_at(status, &["restartCount"]));
            last_restart = later(last_restart, status);
            let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
            let terminated = is_set(status, &["state", "terminated"]);
            let terminated_reason = str_at(status, &["state", "terminated", "reason"]);
            if is_set(status, &["state", "waiting"]) && !waiting_reason.is_empty() {
                reason = waiting_reason.to_owned();
            } else if terminated && !terminated_reason.is_empty() {
                reason = terminated_reason.to_owned();
            } else if terminated {
                reason = exit_description(status);
            } else if bool_at(status, &["ready"]) && is_set(status, &["state", "running"]) {
                has_running = true;
                ready += 1;
            }
        }
        // A container that completed while another still runs does not finish the pod.
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_owned();
        }
    }

    if is_deleting(pod) && status_reason == "NodeLost" {
        reason = "Unknown".to_owned();
    } else if is_deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_owned();
    }

    let restarts_text = match last_restart {
        Some(last) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(last), now)),
        _ => restarts.to_string(),
    };

    let pod_ip = match str_at(pod, &["status", "podIP"]) {
        "" => list_at(pod, &["status", "podIPs"])
            .first()
            .map_or("", |ip| str_at(ip, &["ip"])),
        ip => ip,
    };
    let gates = list_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let true_gates = gates
            .iter()
            .filter(|gate| {
                first_condition_status(conditions, str_at(gate, &["conditionType"])) == Some("True")
            })
            .count();
        format!("{true_gates}/{}", gates.len())
    };

    vec![
        name(pod),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_text),
        Value::from(age(pod, now)),
        Value::from(or_none(pod_ip)),
        Value::from(or_none(str_at(pod, &["spec", "nodeName"]))),
        Value::from(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        Value::from(readiness_gates),
    ]
}

/// `<none>` for an empty string.
fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "<none>"
    } else {
        text
    }
}

/// The row conditions of a finished pod: `Completed`, with the phase as the reason.
pub(super) fn pod_row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match str_at(pod, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{
        "type": "Completed",
        "status": "True",
        "reason": reason,
        "message": message,
    }]))
}

pub(super) static POD_TEMPLATE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Containers",
        "string",
        "Names of the containers in the template.",
    ),
    column(
        "Images",
        "string",
        "Images of the containers in the template.",
    ),
    column(
        "Pod Labels",
        "string",
        "Labels of the pods made from the template.",
    ),
];

pub(super) fn pod_template_cells(object: &Value, _now: Timestamp) -> Vec<Value> {
    let (names, images) = containers_and_images(object, &["template", "spec", "containers"]);
    vec![
        name(object),
        Value::from(names),
        Value::from(images),
        Value::from(format_labels(object, &["template", "metadata", "labels"])),
    ]
}

pub(super) static REPLICATION_CONTROLLER_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Desired", "integer", "Number of pods wanted."),
    column("Current", "integer", "Number of pods that exist."),
    column("Ready", "integer", "Number of pods that are ready."),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn replication_controller_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    vec![
        name(object),
        Value::from(int_at(object, &["spec", "replicas"])),
        Value::from(int_at(object, &["status", "replicas"])),
        Value::from(int_at(object, &["status", "readyReplicas"])),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(format_labels(object, &["spec", "selector"])),
    ]
}

pub(super) static REPLICA_SET_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Desired", "integer", "Number of pods wanted."),
    column("Current", "integer", "Number of pods that exist."),
    column("Ready", "integer", "Number of pods that are ready."),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn replica_set_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    vec![
        name(object),
        Value::from(int_at(object, &["spec", "replicas"])),
        Value::from(int_at(object, &["status", "replicas"])),
        Value::from(int_at(object, &["status", "readyReplicas"])),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(object, &["spec", "selector"])),
    ]
}

pub(super) static DEPLOYMENT_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Ready", "string", "Ready pods out of the pods wanted."),
    column(
        "Up-to-date",
        "string",
        "Pods running the latest pod template.",
    ),
    column("Available", "string", "Pods available to serve."),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn deployment_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    let ready = int_at(object, &["status", "readyReplicas"]);
    let desired = int_at(object, &["spec", "replicas"]);
    vec![
        name(object),
        Value::from(format!("{ready}/{desired}")),
        Value::from(int_at(object, &["status", "updatedReplicas"])),
        Value::from(int_at(object, &["status", "availableReplicas"])),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(deployment_selector(object, &["spec", "selector"])),
    ]
}

pub(super) static DAEMON_SET_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Desired",
        "integer",
        "Number of nodes that should run the daemon pod.",
    ),
    column(
        "Current",
        "integer",
        "Number of nodes running the daemon pod.",
    ),
    column(
        "Ready",
        "integer",
        "Number of nodes whose daemon pod is ready.",
    ),
    column(
        "Up-to-date",
        "integer",
        "Number of nodes running the latest daemon pod.",
    ),
    column(
        "Available",
        "integer",
        "Number of nodes whose daemon pod is available.",
    ),
    column(
        "Node Selector",
        "string",
        "Labels a node needs to run the daemon pod.",
    ),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn daemon_set_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    let status = |field: &str| Value::from(int_at(object, &["status", field]));
    vec![
        name(object),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        Value::from(format_labels(
            object,
            &["spec", "template", "spec", "nodeSelector"],
        )),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(object, &["spec", "selector"])),
    ]
}

pub(super) static STATEFUL_SET_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Ready", "string", "Ready pods out of the pods wanted."),
    age_column(),
    containers_column(),
    images_column(),
];

pub(super) fn stateful_set_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    let ready = int_at(object, &["status", "readyReplicas"]);
    let desired = int_at(object, &["spec", "replicas"]);
    vec![
        name(object),
        Value::from(format!("{ready}/{desired}")),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
    ]
}

pub(super) static CONTROLLER_REVISION_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Controller",
        "string",
        "The object that owns this revision.",
    ),
    column(
        "Revision",
        "string",
        "Revision number of the recorded state.",
    ),
    age_column(),
];

pub(super) fn controller_revision_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let owner = list_at(object, &["metadata", "ownerReferences"])
        .iter()
        .find(|reference| bool_at(reference, &["controller"]));
    let controller = match owner {
        None => "<none>".to_owned(),
        Some(reference) => {
            let api_version = str_at(reference, &["apiVersion"]);
            // `apps/v1` has the group `apps`; `v1` (and anything without a slash) has none.
            let group = api_version.split_once('/').map_or("", |(group, _)| group);
            let kind = str_at(reference, &["kind"]);
            let owner_name = str_at(reference, &["name"]);
            match (group, kind) {
                ("", "") => owner_name.to_owned(),
                ("", kind) => format!("{}/{owner_name}", kind.to_lowercase()),
                (group, kind) => format!(
                    "{}.{}/{owner_name}",
                    kind.to_lowercase(),
                    group.to_lowercase()
                ),
            }
        }
    };
    vec![
        name(object),
        Value::from(controller),
        Value::from(int_at(object, &["revision"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static JOB_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Status",
        "string",
        "Whether the job is running, complete, failed or suspended.",
    ),
    column(
        "Completions",
        "string",
        "Succeeded pods out of the completions wanted.",
    ),
    column(
        "Duration",
        "string",
        "How long the job ran, or has been running.",
    ),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn job_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int_at(object, &["status", "succeeded"]);
    let completions = match opt_int_at(object, &["spec", "completions"]) {
        Some(wanted) => format!("{succeeded}/{wanted}"),
        None => match int_at(object, &["spec", "parallelism"]) {
            parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        time_at(object, &["status", "startTime"]),
        time_at(object, &["status", "completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(seconds_between(start, now)),
        (Some(start), Some(end)) => human_duration(seconds_between(start, end)),
    };
    let conditions = list_at(object, &["status", "conditions"]);
    let holds = |type_: &str| first_condition_status(conditions, type_) == Some("True");
    let status = if holds("Complete") {
        "Complete"
    } else if holds("Failed") {
        "Failed"
    } else if is_deleting(object) {
        "Terminating"
    } else if holds("Suspended") {
        "Suspended"
    } else if holds("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) =
        containers_and_images(object, &["spec", "template", "spec", "containers"]);
    vec![
        name(object),
        Value::from(status),
        Value::from(completions),
        Value::from(duration),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(object, &["spec", "selector"])),
    ]
}

pub(super) static CRON_JOB_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Schedule", "string", "The cron schedule."),
    column("Timezone", "string", "Time zone of the schedule."),
    column("Suspend", "boolean", "Whether new runs are suspended."),
    column("Active", "integer", "Number of jobs running now."),
    column(
        "Last Schedule",
        "string",
        "Time since a job was last scheduled.",
    ),
    age_column(),
    containers_column(),
    images_column(),
    selector_column(),
];

pub(super) fn cron_job_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let last_schedule = match at(object, &["status", "lastScheduleTime"]) {
        None | Some(Value::Null) => "<none>".to_owned(),
        Some(_) => since(time_at(object, &["status", "lastScheduleTime"]), now),
    };
    let template = [
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
        "containers",
    ];
    let (names, images) = containers_and_images(object, &template);
    vec![
        name(object),
        Value::from(str_at(object, &["spec", "schedule"])),
        Value::from(opt_str_at(object, &["spec", "timeZone"]).unwrap_or("<none>")),
        Value::from(bool_ptr(super::value::opt_bool_at(
            object,
            &["spec", "suspend"],
        ))),
        Value::from(list_at(object, &["status", "active"]).len()),
        Value::from(last_schedule),
        Value::from(age(object, now)),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(
            object,
            &["spec", "jobTemplate", "spec", "selector"],
        )),
    ]
}

pub(super) static POD_DISRUPTION_BUDGET_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Min Available", "string", "Pods that must stay available."),
    column("Max Unavailable", "string", "Pods that may be unavailable."),
    column(
        "Allowed Disruptions",
        "integer",
        "Pods that may be disrupted right now.",
    ),
    age_column(),
];

pub(super) fn pod_disruption_budget_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let bound = |field: &str| {
        int_or_string_at(object, &["spec", field]).unwrap_or_else(|| "N/A".to_owned())
    };
    vec![
        name(object),
        Value::from(bound("minAvailable")),
        Value::from(bound("maxUnavailable")),
        Value::from(int_at(object, &["status", "disruptionsAllowed"])),
        Value::from(age(object, now)),
    ]
}
