//! Networking, coordination, access-control, scheduling, node and certificate kinds:
//! Ingresses, IngressClasses, NetworkPolicies, Leases, RoleBindings, ClusterRoleBindings,
//! PriorityClasses, RuntimeClasses and CertificateSigningRequests.

use std::collections::BTreeSet;

use serde_json::Value;

use super::format::format_label_selector;
use super::time::{age, human_duration};
use super::value::{bool_at, int_at, is_set, list_at, opt_int_at, opt_str_at, str_at};
use super::{age_column, column, name_column, wide, ColumnDefinition};
use crate::k8s::jiff::Timestamp;

/// The object's name.
fn name(object: &Value) -> Value {
    Value::from(str_at(object, &["metadata", "name"]))
}

pub(super) static INGRESS_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Class",
        "string",
        "The IngressClass that handles the ingress.",
    ),
    column("Hosts", "string", "Host names the rules match."),
    column(
        "Address",
        "string",
        "Addresses of the load balancer serving the ingress.",
    ),
    column("Ports", "string", "Ports the ingress listens on."),
    age_column(),
];

/// The first three rule hosts, `*` when no rule names a host.
fn format_hosts(rules: &[Value]) -> String {
    const SHOWN: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == SHOWN {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return "*".to_owned();
    }
    let text = hosts.join(",");
    if more {
        // The count is of rules, not hosts, as Kubernetes prints it.
        format!("{text} + {} more...", rules.len().saturating_sub(SHOWN))
    } else {
        text
    }
}

pub(super) fn ingress_cells(ingress: &Value, now: Timestamp) -> Vec<Value> {
    let class = opt_str_at(ingress, &["spec", "ingressClassName"]).unwrap_or("<none>");
    let address = list_at(ingress, &["status", "loadBalancer", "ingress"])
        .iter()
        .map(|entry| match str_at(entry, &["ip"]) {
            "" => str_at(entry, &["hostname"]),
            ip => ip,
        })
        .filter(|address| !address.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",");
    let ports = if list_at(ingress, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(ingress),
        Value::from(class),
        Value::from(format_hosts(list_at(ingress, &["spec", "rules"]))),
        Value::from(address),
        Value::from(ports),
        Value::from(age(ingress, now)),
    ]
}

pub(super) static INGRESS_CLASS_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Controller",
        "string",
        "The controller that implements the class.",
    ),
    column(
        "Parameters",
        "string",
        "The object holding the class's extra settings.",
    ),
    age_column(),
];

pub(super) fn ingress_class_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let parameters = if is_set(object, &["spec", "parameters"]) {
        let kind = str_at(object, &["spec", "parameters", "kind"]);
        let target = str_at(object, &["spec", "parameters", "name"]);
        match opt_str_at(object, &["spec", "parameters", "apiGroup"]) {
            Some(group) => format!("{kind}.{group}/{target}"),
            None => format!("{kind}/{target}"),
        }
    } else {
        "<none>".to_owned()
    };
    vec![
        name(object),
        Value::from(str_at(object, &["spec", "controller"])),
        Value::from(parameters),
        Value::from(age(object, now)),
    ]
}

pub(super) static NETWORK_POLICY_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Pod-Selector",
        "string",
        "Labels of the pods the policy applies to.",
    ),
    age_column(),
];

pub(super) fn network_policy_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(format_label_selector(object, &["spec", "podSelector"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static LEASE_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Holder",
        "string",
        "Identity of the current holder of the lease.",
    ),
    age_column(),
];

pub(super) fn lease_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(str_at(object, &["spec", "holderIdentity"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static ROLE_BINDING_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Role",
        "string",
        "The role the binding grants, as kind/name.",
    ),
    age_column(),
    wide("Users", "string", "Users the binding grants the role to."),
    wide("Groups", "string", "Groups the binding grants the role to."),
    wide(
        "ServiceAccounts",
        "string",
        "Service accounts the binding grants the role to.",
    ),
];

pub(super) static CLUSTER_ROLE_BINDING_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Role",
        "string",
        "The cluster role the binding grants, as kind/name.",
    ),
    age_column(),
    wide("Users", "string", "Users the binding grants the role to."),
    wide("Groups", "string", "Groups the binding grants the role to."),
    wide(
        "ServiceAccounts",
        "string",
        "Service accounts the binding grants the role to.",
    ),
];

pub(super) fn role_binding_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for subject in list_at(object, &["subjects"]) {
        let subject_name = str_at(subject, &["name"]);
        match str_at(subject, &["kind"]) {
            "ServiceAccount" => service_accounts.push(format!(
                "{}/{subject_name}",
                str_at(subject, &["namespace"])
            )),
            "User" => users.push(subject_name.to_owned()),
            "Group" => groups.push(subject_name.to_owned()),
            _ => {}
        }
    }
    let role = format!(
        "{}/{}",
        str_at(object, &["roleRef", "kind"]),
        str_at(object, &["roleRef", "name"])
    );
    vec![
        name(object),
        Value::from(role),
        Value::from(age(object, now)),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(service_accounts.join(", ")),
    ]
}

pub(super) static PRIORITY_CLASS_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column("Value", "integer", "Priority of the pods using the class."),
    column(
        "Global-Default",
        "boolean",
        "Whether pods without a class get this one.",
    ),
    age_column(),
    column(
        "PreemptionPolicy",
        "string",
        "Whether the pods may preempt lower-priority ones.",
    ),
];

pub(super) fn priority_class_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(int_at(object, &["value"])),
        Value::from(bool_at(object, &["globalDefault"])),
        Value::from(age(object, now)),
        Value::from(str_at(object, &["preemptionPolicy"])),
    ]
}

pub(super) static RUNTIME_CLASS_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    column(
        "Handler",
        "string",
        "The container runtime handler the class selects.",
    ),
    age_column(),
];

pub(super) fn runtime_class_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(object),
        Value::from(str_at(object, &["handler"])),
        Value::from(age(object, now)),
    ]
}

pub(super) static CSR_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    age_column(),
    column(
        "SignerName",
        "string",
        "The signer asked to sign the certificate.",
    ),
    column("Requestor", "string", "The user who made the request."),
    column(
        "RequestedDuration",
        "string",
        "The validity period asked for.",
    ),
    column(
        "Condition",
        "string",
        "Approved, Denied or Pending, and whether it was issued.",
    ),
];

/// `Approved`, `Denied` or `Pending`, then `,Failed` and `,Issued` when they apply.
fn csr_condition(object: &Value) -> String {
    let conditions = list_at(object, &["status", "conditions"]);
    let has = |type_: &str| conditions.iter().any(|c| str_at(c, &["type"]) == type_);
    let mut condition = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_owned();
    if has("Failed") {
        condition.push_str(",Failed");
    }
    if !str_at(object, &["status", "certificate"]).is_empty() {
        condition.push_str(",Issued");
    }
    condition
}

pub(super) fn csr_cells(object: &Value, now: Timestamp) -> Vec<Value> {
    let signer = match str_at(object, &["spec", "signerName"]) {
        "" => "<none>",
        signer => signer,
    };
    let duration = opt_int_at(object, &["spec", "expirationSeconds"])
        .map_or_else(|| "<none>".to_owned(), human_duration);
    vec![
        name(object),
        Value::from(age(object, now)),
        Value::from(signer),
        Value::from(str_at(object, &["spec", "username"])),
        Value::from(duration),
        Value::from(csr_condition(object)),
    ]
}
