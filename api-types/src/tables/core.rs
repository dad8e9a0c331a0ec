//! Core-group kinds other than pods and ReplicationControllers: Services, Endpoints,
//! EndpointSlices, ConfigMaps, Secrets, Namespaces, Nodes, ServiceAccounts, ResourceQuotas,
//! Events (both API groups) and Status.

use std::collections::BTreeSet;

use serde_json::Value;

use super::format::{format_labels, list_with_more};
use super::time::{age, since, time_at};
use super::value::{
    bool_at, int_at, is_set, list_at, map_at, map_len, opt_int_at, opt_str_at, str_at,
};
use super::{age_column, column, name_column, wide, ColumnDefinition};
use crate::defaults::quantity::canonical_quantity;
use crate::k8s::jiff::Timestamp;

/// The object's name.
fn name(object: &Value) -> Value {
    Value::from(str_at(object, &["metadata", "name"]))
}

/// The strings of the list at `path`; entries that are not strings are skipped.
fn strings<'a>(object: &'a Value, path: &[&str]) -> Vec<&'a str> {
    list_at(object, path)
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

pub(super) static SERVICE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Type", "string", "How the service is exposed."),
    column(
        "Cluster-IP",
        "string",
        "The service's virtual IP inside the cluster.",
    ),
    column(
        "External-IP",
        "string",
        "Addresses the service is reachable on from outside.",
    ),
    column(
        "Port(s)",
        "string",
        "The service's ports, with node ports and protocols.",
    ),
    age_column(),
    wide(
        "Selector",
        "string",
        "Labels of the pods the service sends traffic to.",
    ),
];

/// The load-balancer addresses of a status (IPs, else hostnames), sorted, deduplicated and
/// joined by commas.
fn load_balancer_addresses(object: &Value) -> String {
    list_at(object, &["status", "loadBalancer", "ingress"])
        .iter()
        .map(|ingress| match str_at(ingress, &["ip"]) {
            "" => str_at(ingress, &["hostname"]),
            ip => ip,
        })
        .filter(|address| !address.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",")
}

/// The External-IP cell: external IPs, load-balancer addresses, `<pending>` for a load
/// balancer without an address, the external name, or `<none>`/`<unknown>`.
fn service_external_ip(service: &Value) -> String {
    let external_ips = strings(service, &["spec", "externalIPs"]);
    match str_at(service, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_owned()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let balancer = load_balancer_addresses(service);
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = Vec::new();
                if !balancer.is_empty() {
                    all.extend(balancer.split(','));
                }
                all.extend(external_ips);
                all.join(",")
            } else if !balancer.is_empty() {
                balancer
            } else {
                "<pending>".to_owned()
            }
        }
        "ExternalName" => str_at(service, &["spec", "externalName"]).to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

pub(super) fn service_cells(service: &Value, now: Timestamp) -> Vec<Value> {
    let cluster_ip = match str_at(service, &["spec", "clusterIP"]) {
        "" => match list_at(service, &["spec", "clusterIPs"]).first() {
            Some(ip) => ip.as_str().unwrap_or(""),
            None => "<none>",
        },
        ip => ip,
    };
    let ports = list_at(service, &["spec", "ports"])
        .iter()
        .map(|port| {
            let number = int_at(port, &["port"]);
            let protocol = str_at(port, &["protocol"]);
            match int_at(port, &["nodePort"]) {
                node_port if node_port > 0 => format!("{number}:{node_port}/{protocol}"),
                _ => format!("{number}/{protocol}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    vec![
        name(service),
        Value::from(str_at(service, &["spec", "type"])),
        Value::from(cluster_ip),
        Value::from(service_external_ip(service)),
        Value::from(if ports.is_empty() {
            "<none>".to_owned()
        } else {
            ports
        }),
        Value::from(age(service, now)),
        Value::from(format_labels(service, &["spec", "selector"])),
    ]
}

pub(super) static ENDPOINTS_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Endpoints",
        "string",
        "Addresses and ports behind the service.",
    ),
    age_column(),
];

/// `ip:port`, with the IP in brackets when it is IPv6.
fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The first three endpoints (`ip:port`, or the bare IP for a subset without ports) and how
/// many more there are.
fn format_endpoints(object: &Value) -> String {
    const SHOWN: usize = 3;
    let subsets = list_at(object, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    let mut shown: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for subset in subsets {
        let addresses = list_at(subset, &["addresses"]);
        let ports = list_at(subset, &["ports"]);
        if ports.is_empty() {
            // Headless services may have addresses without ports.
            count += addresses.len();
            for address in addresses {
                if shown.len() == SHOWN {
                    more = true;
                    break;
                }
                shown.push(str_at(address, &["ip"]).to_owned());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for address in addresses {
                if shown.len() == SHOWN {
                    more = true;
                    break;
                }
                shown.push(host_port(str_at(address, &["ip"]), int_at(port, &["port"])));
            }
        }
    }
    let text = shown.join(",");
    if more {
        format!("{text} + {} more...", count.saturating_sub(SHOWN))
    } else {
        text
    }
}

pub(super) fn endpoints_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(format_endpoints(object)),
        Value::from(age(object, now)),
    ]
}

pub(super) static ENDPOINT_SLICE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "AddressType",
        "string",
        "The kind of addresses in the slice.",
    ),
    column("Ports", "string", "Ports of the endpoints."),
    column("Endpoints", "string", "Addresses of the endpoints."),
    age_column(),
];

pub(super) fn endpoint_slice_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let ports = list_at(object, &["ports"]);
    let port_texts: Vec<String> = ports
        .iter()
        .map(|port| match opt_int_at(port, &["port"]) {
            Some(number) => number.to_string(),
            None => opt_str_at(port, &["name"]).unwrap_or("*").to_owned(),
        })
        .collect();
    let addresses: Vec<String> = list_at(object, &["endpoints"])
        .iter()
        .flat_map(|endpoint| list_at(endpoint, &["addresses"]))
        .map(|address| address.as_str().unwrap_or("").to_owned())
        .collect();
    vec![
        name(object),
        Value::from(str_at(object, &["addressType"])),
        Value::from(list_with_more(&port_texts, port_texts.len())),
        Value::from(list_with_more(&addresses, addresses.len())),
        Value::from(age(object, now)),
    ]
}

pub(super) static CONFIG_MAP_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Data", "string", "Number of keys, text and binary."),
    age_column(),
];

pub(super) fn config_map_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let keys = map_len(object, &["data"]) + map_len(object, &["binaryData"]);
    vec![
        name(object),
        Value::from(keys),
        Value::from(age(object, now)),
    ]
}

pub(super) static SECRET_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Type", "string", "The type of the secret."),
    column("Data", "string", "Number of keys."),
    age_column(),
];

pub(super) fn secret_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(str_at(object, &["type"])),
        Value::from(map_len(object, &["data"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static NAMESPACE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Status",
        "string",
        "Whether the namespace is active or terminating.",
    ),
    age_column(),
];

pub(super) fn namespace_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(str_at(object, &["status", "phase"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static SERVICE_ACCOUNT_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Secrets",
        "string",
        "Number of secrets listed in the account.",
    ),
    age_column(),
];

pub(super) fn service_account_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(list_at(object, &["secrets"]).len()),
        Value::from(age(object, now)),
    ]
}

pub(super) static NODE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Status",
        "string",
        "Readiness of the node, and whether it takes new pods.",
    ),
    column("Roles", "string", "Roles the node's labels give it."),
    age_column(),
    column("Version", "string", "Version of the node's kubelet."),
    wide(
        "Internal-IP",
        "string",
        "The node's first internal address.",
    ),
    wide(
        "External-IP",
        "string",
        "The node's first external address.",
    ),
    wide("OS-Image", "string", "Operating system the node reports."),
    wide(
        "Kernel-Version",
        "string",
        "Kernel version the node reports.",
    ),
    wide(
        "Container-Runtime",
        "string",
        "Container runtime and version the node reports.",
    ),
];

/// Label prefix whose suffix names a node role (`node-role.kubernetes.io/control-plane`).
const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
/// Older label whose value names a node role.
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

/// The node's roles, sorted and deduplicated.
fn node_roles(node: &Value) -> Vec<String> {
    let mut roles = BTreeSet::new();
    for (key, value) in map_at(node, &["metadata", "labels"]).into_iter().flatten() {
        if let Some(role) = key.strip_prefix(NODE_ROLE_PREFIX) {
            if !role.is_empty() {
                roles.insert(role.to_owned());
            }
        } else if key == NODE_ROLE_LABEL {
            match value.as_str() {
                Some(role) if !role.is_empty() => {
                    roles.insert(role.to_owned());
                }
                _ => {}
            }
        }
    }
    roles.into_iter().collect()
}

/// The first address of `type_`, or `<none>`.
fn node_address<'a>(node: &'a Value, type_: &str) -> &'a str {
    list_at(node, &["status", "addresses"])
        .iter()
        .find(|address| str_at(address, &["type"]) == type_)
        .map_or("<none>", |address| str_at(address, &["address"]))
}

pub(super) fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    // The last Ready condition wins, as when conditions are collected into a map by type.
    let ready = list_at(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(condition) if str_at(condition, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(node).join(",");
    let info = |field: &str| match str_at(node, &["status", "nodeInfo", field]) {
        "" => "<unknown>",
        text => text,
    };
    vec![
        name(node),
        Value::from(status.join(",")),
        Value::from(if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles
        }),
        Value::from(age(node, now)),
        Value::from(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        Value::from(node_address(node, "InternalIP")),
        Value::from(node_address(node, "ExternalIP")),
        Value::from(info("osImage")),
        Value::from(info("kernelVersion")),
        Value::from(info("containerRuntimeVersion")),
    ]
}

pub(super) static RESOURCE_QUOTA_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Request",
        "string",
        "Used and hard amounts of the quota's request resources.",
    ),
    column(
        "Limit",
        "string",
        "Used and hard amounts of the quota's limit resources.",
    ),
    age_column(),
];

/// A quantity in the canonical form Kubernetes prints; `0` when missing, the text as
/// written when it cannot be read.
fn quantity_text(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => return "0".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    canonical_quantity(&text, false).unwrap_or(text)
}

pub(super) fn resource_quota_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let used = map_at(object, &["status", "used"]);
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    let mut hard: Vec<(&String, &Value)> = map_at(object, &["status", "hard"])
        .into_iter()
        .flatten()
        .collect();
    hard.sort_by(|a, b| a.0.cmp(b.0));
    for (resource, hard) in hard {
        let entry = format!(
            "{resource}: {}/{}",
            quantity_text(used.and_then(|used| used.get(resource))),
            quantity_text(Some(hard)),
        );
        match resource.split_once('.') {
            Some(("limits", _)) => limits.push(entry),
            _ => requests.push(entry),
        }
    }
    vec![
        name(object),
        Value::from(requests.join(", ")),
        Value::from(limits.join(", ")),
        Value::from(age(object, now)),
    ]
}

pub(super) static EVENT_COLUMNS: &[ColumnDefinition] = &[
    column("Last Seen", "string", "Time since the event was last seen."),
    column("Type", "string", "Normal or Warning."),
    column(
        "Reason",
        "string",
        "Short machine-readable reason for the event.",
    ),
    column("Object", "string", "The object the event is about."),
    wide(
        "Subobject",
        "string",
        "The part of the object the event is about.",
    ),
    wide("Source", "string", "The component that reported the event."),
    column("Message", "string", "What happened."),
    wide(
        "First Seen",
        "string",
        "Time since the event was first seen.",
    ),
    wide("Count", "string", "How many times the event happened."),
    ColumnDefinition {
        name: "Name",
        type_: "string",
        format: "name",
        description: "Name of the event object.",
        priority: 1,
    },
];

/// The fields an event row needs, read from either API version of Event.
struct EventFields<'a> {
    first_timestamp: Option<Timestamp>,
    last_timestamp: Option<Timestamp>,
    event_time: Option<Timestamp>,
    count: i64,
    /// `(count, lastObservedTime)` of a series, when the event has one.
    series: Option<(i64, Option<Timestamp>)>,
    kind: &'a str,
    object_name: &'a str,
    field_path: &'a str,
    component: &'a str,
    host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
    type_: &'a str,
    reason: &'a str,
    message: &'a str,
    name: &'a str,
}

/// The series of an event, if it has one.
fn event_series(event: &Value) -> Option<(i64, Option<Timestamp>)> {
    is_set(event, &["series"]).then(|| {
        (
            int_at(event, &["series", "count"]),
            time_at(event, &["series", "lastObservedTime"]),
        )
    })
}

/// The cells of an event in either API version.
fn event_row(event: &EventFields<'_>, now: Timestamp) -> Vec<Value> {
    let first_seen = match event.first_timestamp {
        Some(first) => since(Some(first), now),
        None => since(event.event_time, now),
    };
    let mut last_seen = match event.last_timestamp {
        Some(last) => since(Some(last), now),
        None => first_seen.clone(),
    };
    let mut count = event.count;
    if let Some((series_count, last_observed)) = event.series {
        last_seen = since(last_observed, now);
        count = series_count;
    } else if count == 0 {
        // Events recorded once through the newer API carry no count.
        count = 1;
    }
    let kind = event.kind.to_lowercase();
    let target = if event.object_name.is_empty() {
        kind
    } else {
        format!("{kind}/{}", event.object_name)
    };
    let component = first_non_empty(event.component, event.reporting_controller);
    let instance = first_non_empty(event.host, event.reporting_instance);
    let source = if instance.is_empty() {
        component.to_owned()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        Value::from(last_seen),
        Value::from(event.type_),
        Value::from(event.reason),
        Value::from(target),
        Value::from(event.field_path),
        Value::from(source),
        Value::from(event.message.trim()),
        Value::from(first_seen),
        Value::from(count),
        Value::from(event.name),
    ]
}

/// `first` unless it is empty, then `second`.
fn first_non_empty<'a>(first: &'a str, second: &'a str) -> &'a str {
    if first.is_empty() {
        second
    } else {
        first
    }
}

pub(super) fn event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    let fields = EventFields {
        first_timestamp: time_at(event, &["firstTimestamp"]),
        last_timestamp: time_at(event, &["lastTimestamp"]),
        event_time: time_at(event, &["eventTime"]),
        count: int_at(event, &["count"]),
        series: event_series(event),
        kind: str_at(event, &["involvedObject", "kind"]),
        object_name: str_at(event, &["involvedObject", "name"]),
        field_path: str_at(event, &["involvedObject", "fieldPath"]),
        component: str_at(event, &["source", "component"]),
        host: str_at(event, &["source", "host"]),
        reporting_controller: str_at(event, &["reportingComponent"]),
        reporting_instance: str_at(event, &["reportingInstance"]),
        type_: str_at(event, &["type"]),
        reason: str_at(event, &["reason"]),
        message: str_at(event, &["message"]),
        name: str_at(event, &["metadata", "name"]),
    };
    event_row(&fields, now)
}

/// An `events.k8s.io/v1` Event, whose fields map onto the core ones (`regarding` is the
/// involved object, `note` the message, the `deprecated*` fields the old timestamps).
pub(super) fn events_v1_event_cells(event: &Value, now: Timestamp) -> Vec<Value> {
    let fields = EventFields {
        first_timestamp: time_at(event, &["deprecatedFirstTimestamp"]),
        last_timestamp: time_at(event, &["deprecatedLastTimestamp"]),
        event_time: time_at(event, &["eventTime"]),
        count: int_at(event, &["deprecatedCount"]),
        series: event_series(event),
        kind: str_at(event, &["regarding", "kind"]),
        object_name: str_at(event, &["regarding", "name"]),
        field_path: str_at(event, &["regarding", "fieldPath"]),
        component: str_at(event, &["deprecatedSource", "component"]),
        host: str_at(event, &["deprecatedSource", "host"]),
        reporting_controller: str_at(event, &["reportingController"]),
        reporting_instance: str_at(event, &["reportingInstance"]),
        type_: str_at(event, &["type"]),
        reason: str_at(event, &["reason"]),
        message: str_at(event, &["note"]),
        name: str_at(event, &["metadata", "name"]),
    };
    event_row(&fields, now)
}

pub(super) static STATUS_COLUMNS: &[ColumnDefinition] = &[
    column("Status", "string", "Success or Failure."),
    column(
        "Reason",
        "string",
        "Machine-readable reason for the failure.",
    ),
    column("Message", "string", "What went wrong."),
];

pub(super) fn status_cells(status: &Value, _now: Timestamp) -> Vec<Value> {
    vec![
        Value::from(str_at(status, &["status"])),
        Value::from(str_at(status, &["reason"])),
        Value::from(str_at(status, &["message"])),
    ]
}
