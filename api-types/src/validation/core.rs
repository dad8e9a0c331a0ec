//! Rules for the core kinds other than pods and services: ConfigMap, Secret, Namespace, Node,
//! ServiceAccount, Endpoints, LimitRange, ResourceQuota, PodTemplate, ReplicationController
//! and Event.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use super::field_error::{ErrorList, FieldError, Path};
use super::meta::{
    go_string_map, items, s, to_json, validate_dns1123_label, validate_kube_finalizer_name,
    validate_label_name, validate_nonnegative, validate_object_meta, validate_object_meta_update,
    validate_qualified_name, FIELD_IMMUTABLE,
};
use super::names::{
    is_config_map_key, is_dns1123_subdomain, is_label_value, is_qualified_name, NameRule,
};
use super::pod::{
    cidr_errors, validate_container_resource_name, validate_pod_template_spec, validate_protocol,
    validate_resource_name, validate_resource_quantity, validate_taint_effect,
};
use super::quantity::Quantity;
use super::service::validate_endpoint_ip;

/// Largest total size of a Secret's or ConfigMap's data (1 MiB).
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn validate_config_map_data(cm: &core::ConfigMap) -> ErrorList {
    let mut errs = Vec::new();
    let mut total = 0usize;
    let binary = cm.binary_data.clone().unwrap_or_default();
    for (key, value) in cm.data.iter().flatten() {
        let p = Path::new("data").key(key);
        for m in is_config_map_key(key) {
            errs.push(FieldError::invalid(&p, key.as_str(), &m));
        }
        if binary.contains_key(key) {
            errs.push(FieldError::invalid(
                &p,
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total = total.saturating_add(value.len());
    }
    for (key, value) in &binary {
        for m in is_config_map_key(key) {
            errs.push(FieldError::invalid(
                &Path::new("binaryData").key(key),
                key.as_str(),
                &m,
            ));
        }
        total = total.saturating_add(value.0.len());
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&Path::root(), MAX_SECRET_SIZE));
    }
    errs
}

/// Errors for a ConfigMap on create.
pub fn validate_config_map(cm: &core::ConfigMap) -> ErrorList {
    let mut errs = validate_object_meta(&cm.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_config_map_data(cm));
    errs
}

/// Errors for a ConfigMap update: nothing but metadata may change once `immutable` is true.
pub fn validate_config_map_update(new: &core::ConfigMap, old: &core::ConfigMap) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    if old.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if new.immutable != Some(true) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), msg));
        }
        if new.data.clone().unwrap_or_default() != old.data.clone().unwrap_or_default() {
            errs.push(FieldError::forbidden(&Path::new("data"), msg));
        }
        if new.binary_data.clone().unwrap_or_default()
            != old.binary_data.clone().unwrap_or_default()
        {
            errs.push(FieldError::forbidden(&Path::new("binaryData"), msg));
        }
    }
    errs.extend(validate_config_map(new));
    errs
}

/// A Secret's data with `stringData` merged in, as Kubernetes sees it when validating.
fn secret_data(secret: &core::Secret) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        data.insert(k.clone(), v.clone().into_bytes());
    }
    data
}

/// Errors for a Secret on create: valid keys, at most 1 MiB, and the keys its type requires.
pub fn validate_secret(secret: &core::Secret) -> ErrorList {
    let mut errs = validate_object_meta(&secret.metadata, true, NameRule::Dns1123Subdomain);
    let data_path = Path::new("data");
    let data = secret_data(secret);
    let mut total = 0usize;
    for (key, value) in &data {
        for m in is_config_map_key(key) {
            errs.push(FieldError::invalid(&data_path.key(key), key.as_str(), &m));
        }
        total = total.saturating_add(value.len());
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
    }
    let require = |key: &str, errs: &mut ErrorList| {
        if !data.contains_key(key) {
            errs.push(FieldError::required(&data_path.key(key), ""));
            false
        } else {
            true
        }
    };
    match s(&secret.type_) {
        "kubernetes.io/service-account-token" => {
            let name = secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .map(String::as_str)
                .unwrap_or("");
            if name.is_empty() {
                errs.push(FieldError::required(
                    &Path::new("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if s(&secret.type_) == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            if require(key, &mut errs) {
                let bytes = data.get(key).cloned().unwrap_or_default();
                if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
                    errs.push(FieldError::invalid(
                        &data_path.key(key),
                        "<secret contents redacted>",
                        &e.to_string(),
                    ));
                }
            }
        }
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            errs.push(FieldError::required(&data_path.key("username"), ""));
            errs.push(FieldError::required(&data_path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(Vec::is_empty) => {
            errs.push(FieldError::required(&data_path.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            require("tls.crt", &mut errs);
            require("tls.key", &mut errs);
        }
        _ => {}
    }
    errs
}

/// Errors for a Secret update: type fixed, data fixed once `immutable` is true.
pub fn validate_secret_update(new: &core::Secret, old: &core::Secret) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let type_of = |sec: &core::Secret| match s(&sec.type_) {
        "" => "Opaque".to_owned(),
        t => t.to_owned(),
    };
    if type_of(new) != type_of(old) {
        errs.push(FieldError::invalid(
            &Path::new("type"),
            type_of(new),
            FIELD_IMMUTABLE,
        ));
    }
    if old.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if new.immutable != Some(true) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), msg));
        }
        if secret_data(new) != secret_data(old) {
            errs.push(FieldError::forbidden(&Path::new("data"), msg));
        }
    }
    errs.extend(validate_secret(new));
    errs
}

fn validate_finalizer_name(name: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, &m))
        .collect();
    errs.extend(validate_kube_finalizer_name(name, path));
    errs
}

/// Errors for a Namespace on create.
pub fn validate_namespace(ns: &core::Namespace) -> ErrorList {
    let mut errs = validate_object_meta(&ns.metadata, false, NameRule::Dns1123Label);
    let fp = Path::new("spec").child("finalizers");
    for f in ns
        .spec
        .as_ref()
        .map(|sp| items(&sp.finalizers))
        .unwrap_or(&[])
    {
        errs.extend(validate_finalizer_name(f, &fp));
    }
    errs
}

/// Errors for a Namespace update: the metadata rules, and a phase that changes must match the
/// deletionTimestamp (Active while there is none, Terminating once there is), as Kubernetes'
/// status validation has it; a live namespace marked Terminating would refuse all new content.
pub fn validate_namespace_update(new: &core::Namespace, old: &core::Namespace) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let phase = |ns: &core::Namespace| ns.status.as_ref().and_then(|st| st.phase.clone());
    let new_phase = phase(new);
    if new_phase != phase(old) {
        let new_phase = new_phase.unwrap_or_default();
        let (want, detail) = if new.metadata.deletion_timestamp.is_none() {
            (
                "Active",
                "may only be 'Active' if `deletionTimestamp` is empty",
            )
        } else {
            (
                "Terminating",
                "may only be 'Terminating' if `deletionTimestamp` is not empty",
            )
        };
        if new_phase != want {
            errs.push(FieldError::invalid(
                &Path::new("status").child("Phase"),
                new_phase.as_str(),
                detail,
            ));
        }
    }
    errs
}

fn validate_taints(taints: &[core::Taint], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let mut unique: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, t) in taints.iter().enumerate() {
        let p = path.index(i);
        errs.extend(validate_label_name(&t.key, &p.child("key")));
        let value = s(&t.value);
        let msgs = is_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &p.child("value"),
                value,
                &msgs.join(";"),
            ));
        }
        if t.effect.is_empty() {
            errs.push(FieldError::required(&p.child("effect"), ""));
        } else {
            errs.extend(validate_taint_effect(&t.effect, &p.child("effect")));
        }
        if !unique.insert((t.effect.clone(), t.key.clone())) {
            let mut e = FieldError::duplicate(&p, to_json(t)).with_value_text(format!(
                "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:<nil>}}",
                super::field_error::go_quote(&t.key),
                super::field_error::go_quote(value),
                super::field_error::go_quote(&t.effect)
            ));
            e.detail = "taints must be unique by key and effect pair".to_owned();
            errs.push(e);
        }
    }
    errs
}

fn validate_node_common(node: &core::Node) -> ErrorList {
    let mut errs = Vec::new();
    let spec = node.spec.clone().unwrap_or_default();
    // Kubernetes reports node taints under `metadata.taints`; Berth keeps the same path.
    errs.extend(validate_taints(
        items(&spec.taints),
        &Path::new("metadata").child("taints"),
    ));
    if let Some(status) = &node.status {
        for (field, list) in [
            ("capacity", &status.capacity),
            ("allocatable", &status.allocatable),
        ] {
            for (k, v) in list.iter().flatten() {
                let p = Path::new("status").child(field).child(k);
                errs.extend(validate_resource_quantity(k, v, &p).1);
            }
        }
    }
    errs
}

/// Errors for a Node on create.
pub fn validate_node(node: &core::Node) -> ErrorList {
    let mut errs = validate_object_meta(&node.metadata, false, NameRule::Dns1123Subdomain);
    errs.extend(validate_node_common(node));
    let cidrs = node
        .spec
        .as_ref()
        .map(|sp| items(&sp.pod_cidrs))
        .unwrap_or(&[]);
    let cp = Path::new("spec").child("podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        errs.extend(cidr_errors(c, &cp.index(i)));
    }
    if cidrs.len() > 2 {
        errs.push(FieldError::invalid(
            &cp,
            to_json(&cidrs),
            "may specify no more than one CIDR for each IP family",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, c) in cidrs.iter().enumerate() {
        if !seen.insert(c) {
            errs.push(FieldError::duplicate(&cp.index(i), c.as_str()));
        }
    }
    errs
}

/// Errors for a Node update: pod CIDRs and provider ID only go from unset to set.
pub fn validate_node_update(new: &core::Node, old: &core::Node) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_node_common(new));
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (i, a) in new
        .status
        .as_ref()
        .map(|st| items(&st.addresses))
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if !seen.insert((a.type_.clone(), a.address.clone())) {
            errs.push(FieldError::duplicate(
                &Path::new("status").child("addresses").index(i),
                to_json(a),
            ));
        }
    }
    let (nc, oc) = (items(&ns.pod_cidrs), items(&os.pod_cidrs));
    if !oc.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        if nc.len() != oc.len() {
            errs.push(FieldError::forbidden(
                &Path::new("spec").child("podCIDRs"),
                msg,
            ));
        } else {
            for (o, n) in oc.iter().zip(nc) {
                if o != n {
                    errs.push(FieldError::forbidden(
                        &Path::new("spec").child("podCIDRs"),
                        msg,
                    ));
                }
            }
        }
    }
    let old_provider = s(&os.provider_id);
    if !old_provider.is_empty() && old_provider != s(&ns.provider_id) {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    if ns.external_id != os.external_id {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("externalID"),
            "may not be updated",
        ));
    }
    errs
}

/// Errors for a ServiceAccount on create.
pub fn validate_service_account(sa: &core::ServiceAccount) -> ErrorList {
    validate_object_meta(&sa.metadata, true, NameRule::Dns1123Subdomain)
}

/// Errors for a ServiceAccount update.
pub fn validate_service_account_update(
    new: &core::ServiceAccount,
    old: &core::ServiceAccount,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_service_account(new));
    errs
}

fn validate_endpoint_address(addr: &core::EndpointAddress, path: &Path) -> ErrorList {
    let mut errs = validate_endpoint_ip(&addr.ip, &path.child("ip"));
    let hostname = s(&addr.hostname);
    if !hostname.is_empty() {
        errs.extend(validate_dns1123_label(hostname, &path.child("hostname")));
    }
    if let Some(node) = &addr.node_name {
        for m in is_dns1123_subdomain(node) {
            errs.push(FieldError::invalid(
                &path.child("nodeName"),
                node.as_str(),
                &m,
            ));
        }
    }
    errs
}

/// Errors for an Endpoints object (create and update use the same rules).
pub fn validate_endpoints(ep: &core::Endpoints) -> ErrorList {
    let mut errs = validate_object_meta(&ep.metadata, true, NameRule::Dns1123Subdomain);
    for (i, ss) in items(&ep.subsets).iter().enumerate() {
        let p = Path::new("subsets").index(i);
        if items(&ss.addresses).is_empty() && items(&ss.not_ready_addresses).is_empty() {
            errs.push(FieldError::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (j, a) in items(&ss.addresses).iter().enumerate() {
            errs.extend(validate_endpoint_address(a, &p.child("addresses").index(j)));
        }
        for (j, a) in items(&ss.not_ready_addresses).iter().enumerate() {
            errs.extend(validate_endpoint_address(
                a,
                &p.child("notReadyAddresses").index(j),
            ));
        }
        let ports = items(&ss.ports);
        for (j, port) in ports.iter().enumerate() {
            let pp = p.child("ports").index(j);
            let name = s(&port.name);
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(&pp.child("name"), ""));
            } else if !name.is_empty() {
                errs.extend(validate_dns1123_label(name, &pp.child("name")));
            }
            for m in super::names::is_valid_port_num(i64::from(port.port)) {
                errs.push(FieldError::invalid(&pp.child("port"), port.port, &m));
            }
            errs.extend(validate_protocol(&port.protocol, &pp.child("protocol")));
            if let Some(ap) = &port.app_protocol {
                errs.extend(validate_qualified_name(ap, &pp.child("appProtocol")));
            }
        }
    }
    errs
}

/// Errors for an Endpoints update.
pub fn validate_endpoints_update(new: &core::Endpoints, old: &core::Endpoints) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_endpoints(new));
    errs
}

const STANDARD_LIMIT_TYPES: [&str; 3] = ["Pod", "Container", "PersistentVolumeClaim"];

/// Errors for a LimitRange (create and update).
pub fn validate_limit_range(lr: &core::LimitRange) -> ErrorList {
    let mut errs = validate_object_meta(&lr.metadata, true, NameRule::Dns1123Subdomain);
    let fp = Path::new("spec").child("limits");
    let mut types = BTreeSet::new();
    let limits = lr
        .spec
        .as_ref()
        .map(|sp| sp.limits.as_slice())
        .unwrap_or(&[]);
    for (i, limit) in limits.iter().enumerate() {
        let p = fp.index(i);
        let ty = limit.type_.as_str();
        let tp = p.child("type");
        let mut type_errs: ErrorList = is_qualified_name(ty)
            .into_iter()
            .map(|m| FieldError::invalid(&tp, ty, &m))
            .collect();
        if type_errs.is_empty() && !ty.contains('/') && !STANDARD_LIMIT_TYPES.contains(&ty) {
            type_errs.push(FieldError::invalid(
                &tp,
                ty,
                "must be a standard limit type or fully qualified",
            ));
        }
        errs.extend(type_errs);
        if !types.insert(ty) {
            errs.push(FieldError::duplicate(&tp, ty));
        }
        let name_check = |name: &str, path: &Path| {
            if ty == "Pod" || ty == "Container" {
                validate_container_resource_name(name, path)
            } else {
                validate_resource_name(name, path)
            }
        };
        let mut parsed: BTreeMap<&str, BTreeMap<String, Quantity>> = BTreeMap::new();
        let groups: [(
            &str,
            &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
        ); 5] = [
            ("max", &limit.max),
            ("min", &limit.min),
            ("default", &limit.default),
            ("defaultRequest", &limit.default_request),
            ("maxLimitRequestRatio", &limit.max_limit_request_ratio),
        ];
        for (field, values) in groups {
            if ty == "Pod" && (field == "default" || field == "defaultRequest") {
                if values.as_ref().is_some_and(|v| !v.is_empty()) {
                    errs.push(FieldError::forbidden(
                        &p.child(field),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                continue;
            }
            for (k, q) in values.iter().flatten() {
                errs.extend(name_check(k, &p.child(field).key(k)));
                if let Some(parsed_q) = Quantity::parse(&q.0) {
                    parsed.entry(field).or_default().insert(k.clone(), parsed_q);
                }
            }
        }
        if ty == "PersistentVolumeClaim" {
            let has = |f: &str| limit_has(f == "min", limit, "storage");
            if !has("min") && !has("max") {
                errs.push(FieldError::required(
                    &p.child("limits"),
                    "either minimum or maximum storage value is required, but neither was provided",
                ));
            }
        }
        let get = |field: &str, k: &str| parsed.get(field).and_then(|m| m.get(k)).copied();
        let keys: BTreeSet<String> = parsed.values().flat_map(|m| m.keys().cloned()).collect();
        for k in &keys {
            let (min, max, def, def_req, ratio) = (
                get("min", k),
                get("max", k),
                get("default", k),
                get("defaultRequest", k),
                get("maxLimitRequestRatio", k),
            );
            let gt = |a: Quantity, b: Quantity| a.cmp_value(&b) == std::cmp::Ordering::Greater;
            if let (Some(mn), Some(mx)) = (min, max) {
                if gt(mn, mx) {
                    errs.push(FieldError::invalid(
                        &p.child("min").key(k),
                        mn.canonical(),
                        &format!(
                            "min value {} is greater than max value {}",
                            mn.canonical(),
                            mx.canonical()
                        ),
                    ));
                }
            }
            if let (Some(dr), Some(mn)) = (def_req, min) {
                if gt(mn, dr) {
                    errs.push(FieldError::invalid(
                        &p.child("defaultRequest").key(k),
                        dr.canonical(),
                        &format!(
                            "min value {} is greater than default request value {}",
                            mn.canonical(),
                            dr.canonical()
                        ),
                    ));
                }
            }
            if let (Some(dr), Some(mx)) = (def_req, max) {
                if gt(dr, mx) {
                    errs.push(FieldError::invalid(
                        &p.child("defaultRequest").key(k),
                        dr.canonical(),
                        &format!(
                            "default request value {} is greater than max value {}",
                            dr.canonical(),
                            mx.canonical()
                        ),
                    ));
                }
            }
            if let (Some(dr), Some(d)) = (def_req, def) {
                if gt(dr, d) {
                    errs.push(FieldError::invalid(
                        &p.child("defaultRequest").key(k),
                        dr.canonical(),
                        &format!(
                            "default request value {} is greater than default limit value {}",
                            dr.canonical(),
                            d.canonical()
                        ),
                    ));
                }
            }
            if let (Some(d), Some(mn)) = (def, min) {
                if gt(mn, d) {
                    errs.push(FieldError::invalid(
                        &p.child("default").key(k),
                        mn.canonical(),
                        &format!(
                            "min value {} is greater than default value {}",
                            mn.canonical(),
                            d.canonical()
                        ),
                    ));
                }
            }
            if let (Some(d), Some(mx)) = (def, max) {
                if gt(d, mx) {
                    errs.push(FieldError::invalid(
                        &p.child("default").key(k),
                        mx.canonical(),
                        &format!(
                            "default value {} is greater than max value {}",
                            d.canonical(),
                            mx.canonical()
                        ),
                    ));
                }
            }
            if let Some(r) = ratio {
                if Quantity::parse("1")
                    .is_some_and(|one| r.cmp_value(&one) == std::cmp::Ordering::Less)
                {
                    errs.push(FieldError::invalid(
                        &p.child("maxLimitRequestRatio").key(k),
                        r.canonical(),
                        &format!("ratio {} is less than 1", r.canonical()),
                    ));
                }
            }
        }
    }
    errs
}

fn limit_has(min: bool, limit: &core::LimitRangeItem, key: &str) -> bool {
    let map = if min { &limit.min } else { &limit.max };
    map.as_ref().is_some_and(|m| m.contains_key(key))
}

const STANDARD_QUOTA_RESOURCES: [&str; 19] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];
const QUOTA_SCOPES: [&str; 6] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
];

fn validate_quota_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/')
        && !STANDARD_QUOTA_RESOURCES.contains(&name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for quota",
        ));
    }
    errs
}

fn validate_quota_spec(spec: &core::ResourceQuotaSpec) -> ErrorList {
    let mut errs = Vec::new();
    let sp = Path::new("spec");
    for (k, v) in spec.hard.iter().flatten() {
        let p = sp.child("hard").key(k);
        errs.extend(validate_quota_resource_name(k, &p));
        errs.extend(validate_resource_quantity(k, v, &p).1);
    }
    let scopes = items(&spec.scopes);
    let scope_path = sp.child("scopes");
    for scope in scopes {
        if !QUOTA_SCOPES.contains(&scope.as_str()) {
            errs.push(FieldError::invalid(
                &scope_path,
                to_json(&spec.scopes),
                "unsupported scope",
            ));
        }
    }
    let has = |a: &str| scopes.iter().any(|s| s == a);
    if (has("BestEffort") && has("NotBestEffort")) || (has("Terminating") && has("NotTerminating"))
    {
        errs.push(FieldError::invalid(
            &scope_path,
            to_json(&spec.scopes),
            "conflicting scopes",
        ));
    }
    if let Some(sel) = &spec.scope_selector {
        let mp = sp.child("scopeSelector").child("matchExpressions");
        for req in items(&sel.match_expressions) {
            if !QUOTA_SCOPES.contains(&req.scope_name.as_str()) {
                errs.push(FieldError::invalid(
                    &mp.child("scopeName"),
                    req.scope_name.as_str(),
                    "unsupported scope",
                ));
            }
            let values = items(&req.values);
            match req.operator.as_str() {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        errs.push(FieldError::required(&mp.child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        errs.push(FieldError::invalid(&mp.child("values"), to_json(&req.values), "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
                    }
                }
                other => errs.push(FieldError::invalid(
                    &mp.child("operator"),
                    other,
                    "not a valid selector operator",
                )),
            }
        }
    }
    errs
}

/// Errors for a ResourceQuota on create.
pub fn validate_resource_quota(rq: &core::ResourceQuota) -> ErrorList {
    let mut errs = validate_object_meta(&rq.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_quota_spec(&rq.spec.clone().unwrap_or_default()));
    errs
}

/// Errors for a ResourceQuota update: scopes may not change.
pub fn validate_resource_quota_update(
    new: &core::ResourceQuota,
    old: &core::ResourceQuota,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_quota_spec(&ns));
    let a: BTreeSet<&String> = items(&ns.scopes).iter().collect();
    let b: BTreeSet<&String> = items(&os.scopes).iter().collect();
    if a != b {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("scopes"),
            to_json(&ns.scopes),
            FIELD_IMMUTABLE,
        ));
    }
    errs
}

/// Errors for a PodTemplate on create.
pub fn validate_pod_template(pt: &core::PodTemplate) -> ErrorList {
    let mut errs = validate_object_meta(&pt.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pod_template_spec(
        &pt.template.clone().unwrap_or_default(),
        &Path::new("template"),
    ));
    errs
}

/// Errors for a PodTemplate update.
pub fn validate_pod_template_update(new: &core::PodTemplate, old: &core::PodTemplate) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_pod_template_spec(
        &new.template.clone().unwrap_or_default(),
        &Path::new("template"),
    ));
    errs
}

fn validate_rc_spec(spec: &core::ReplicationControllerSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = validate_nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &sp.child("minReadySeconds"),
    );
    let selector = spec.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        errs.push(FieldError::required(&sp.child("selector"), ""));
    }
    errs.extend(validate_nonnegative(
        i64::from(spec.replicas.unwrap_or(1)),
        &sp.child("replicas"),
    ));
    let tp = sp.child("template");
    match &spec.template {
        None => errs.push(FieldError::required(&tp, "")),
        Some(t) => {
            let labels = t.metadata.as_ref().and_then(|m| m.labels.as_ref());
            let matches = selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
            if !selector.is_empty() && !matches {
                errs.push(
                    FieldError::invalid(
                        &tp.child("metadata").child("labels"),
                        to_json(&labels),
                        "`selector` does not match template `labels`",
                    )
                    .with_value_text(go_string_map(labels)),
                );
            }
            errs.extend(validate_pod_template_spec(t, &tp));
            let ps = t.spec.clone().unwrap_or_default();
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
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                ));
            }
        }
    }
    errs
}

/// Errors for a ReplicationController on create.
pub fn validate_replication_controller(rc: &core::ReplicationController) -> ErrorList {
    let mut errs = validate_object_meta(&rc.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_rc_spec(&rc.spec.clone().unwrap_or_default()));
    errs
}

/// Errors for a ReplicationController update.
pub fn validate_replication_controller_update(
    new: &core::ReplicationController,
    old: &core::ReplicationController,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_rc_spec(&new.spec.clone().unwrap_or_default()));
    errs
}

/// Errors for a core/v1 Event: its involved object must sit in the event's namespace, and
/// events written the new way (with `eventTime`) need reporting fields.
pub fn validate_event(ev: &core::Event) -> ErrorList {
    let mut errs = validate_object_meta(&ev.metadata, true, NameRule::Dns1123Subdomain);
    let ns = s(&ev.metadata.namespace);
    let obj_ns = s(&ev.involved_object.namespace);
    let ns_path = Path::new("involvedObject").child("namespace");
    if ev.event_time.is_none() {
        if obj_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(FieldError::invalid(
                    &ns_path,
                    obj_ns,
                    "does not match event.namespace",
                ));
            }
        } else if ns != obj_ns {
            errs.push(FieldError::invalid(
                &ns_path,
                obj_ns,
                "does not match event.namespace",
            ));
        }
    } else {
        if obj_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(FieldError::invalid(
                &ns_path,
                obj_ns,
                "does not match event.namespace",
            ));
        }
        let controller = s(&ev.reporting_component);
        if controller.is_empty() {
            errs.push(FieldError::required(&Path::new("reportingComponent"), ""));
        }
        errs.extend(validate_qualified_name(
            controller,
            &Path::new("reportingComponent"),
        ));
        for (field, value, limit) in [
            ("reportingInstance", &ev.reporting_instance, 128),
            ("action", &ev.action, 128),
            ("reason", &ev.reason, 128),
        ] {
            let v = s(value);
            if v.is_empty() {
                errs.push(FieldError::required(&Path::new(field), ""));
            }
            if v.len() > limit {
                errs.push(FieldError::invalid(
                    &Path::new(field),
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
        if s(&ev.message).len() > 1024 {
            errs.push(FieldError::invalid(
                &Path::new("message"),
                "",
                "can have at most 1024 characters",
            ));
        }
    }
    for m in is_dns1123_subdomain(ns) {
        errs.push(FieldError::invalid(&Path::new("namespace"), ns, &m));
    }
    errs
}

/// Errors for a core/v1 Event update.
pub fn validate_event_update(new: &core::Event, old: &core::Event) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_event(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "default", "resourceVersion": "1"})
    }

    const KEY_ERR: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    #[test]
    fn config_map_rules() {
        let cm = json!({"metadata": meta("cfg"), "data": {"app.properties": "x"}});
        let big = "x".repeat(super::MAX_SECRET_SIZE + 1);
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", cm.clone(), vec![]),
            ("bad key", with(&cm, json!({"data": {"a b": "x"}})), vec![format!("data[a b]: Invalid value: \"a b\": {KEY_ERR}")]),
            (
                "key in both",
                with(&cm, json!({"binaryData": {"app.properties": "eA=="}})),
                vec!["data[app.properties]: Invalid value: \"app.properties\": duplicate of key present in binaryData".into()],
            ),
            ("too big", with(&cm, json!({"data": {"big": big}})), vec![": Too long: must have at most 1048576 bytes".into()]),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("", "ConfigMap", &obj), want, "{name}");
        }
        let frozen = with(&cm, json!({"immutable": true}));
        assert_eq!(
            update(
                "",
                "ConfigMap",
                &with(&frozen, json!({"data": {"app.properties": "y"}})),
                &frozen
            ),
            vec!["data: Forbidden: field is immutable when `immutable` is set".to_owned()]
        );
        assert!(update(
            "",
            "ConfigMap",
            &with(&cm, json!({"data": {"app.properties": "y"}})),
            &cm
        )
        .is_empty());
    }

    #[test]
    fn secret_rules() {
        let secret =
            json!({"metadata": meta("s"), "type": "Opaque", "data": {"password": "cGFzcw=="}});
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", secret.clone(), vec![]),
            ("string data key", with(&secret, json!({"stringData": {"bad key": "v"}})), vec![format!("data[bad key]: Invalid value: \"bad key\": {KEY_ERR}")]),
            (
                "tls needs keys",
                with(&secret, json!({"type": "kubernetes.io/tls"})),
                vec!["data[tls.crt]: Required value".into(), "data[tls.key]: Required value".into()],
            ),
            (
                "dockerconfigjson must be json",
                with(&secret, json!({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "bm90IGpzb24="}})),
                vec!["data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": expected ident at line 1 column 2".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("", "Secret", &obj), want, "{name}");
        }
        assert_eq!(
            update(
                "",
                "Secret",
                &with(
                    &secret,
                    json!({"type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}})
                ),
                &secret
            ),
            vec![
                "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable".to_owned()
            ]
        );
    }

    #[test]
    fn namespace_and_node_rules() {
        let cases: Vec<(&str, &str, Value, Vec<String>)> = vec![
            ("namespace valid", "Namespace", json!({"metadata": {"name": "team-a"}}), vec![]),
            ("namespace dotted", "Namespace", json!({"metadata": {"name": "team.a"}}), vec!["metadata.name: Invalid value: \"team.a\": must not contain dots".into()]),
            ("namespace with namespace", "Namespace", json!({"metadata": {"name": "a", "namespace": "b"}}), vec!["metadata.namespace: Forbidden: not allowed on this type".into()]),
            (
                "namespace finalizer",
                "Namespace",
                json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["custom"]}}),
                vec!["spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".into()],
            ),
            ("node valid", "Node", json!({"metadata": {"name": "node-1.example.com"}}), vec![]),
            (
                "node taints",
                "Node",
                json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"}, {"key": "k2", "effect": ""}]}}),
                vec![
                    "metadata.taints[1]: Duplicate value: core.Taint{Key:\"k\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:<nil>}: taints must be unique by key and effect pair".into(),
                    "metadata.taints[2].effect: Required value".into(),
                ],
            ),
        ];
        for (name, kind, obj, want) in cases {
            assert_eq!(create("", kind, &obj), want, "{name}");
        }
        let ns = json!({"metadata": {"name": "a"}, "status": {"phase": "Active"}});
        assert_eq!(
            update("", "Namespace", &with(&ns, json!({"status": {"phase": "Terminating"}})), &ns),
            vec!["status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty".to_owned()]
        );
        let deleted = with(
            &ns,
            json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
        );
        assert_eq!(
            update(
                "",
                "Namespace",
                &with(&deleted, json!({"status": {"phase": "Terminating"}})),
                &deleted
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            update(
                "",
                "Namespace",
                &with(
                    &ns,
                    json!({"status": {"phase": "Active"}, "spec": {"finalizers": ["kubernetes"]}})
                ),
                &ns
            ),
            Vec::<String>::new()
        );
        let node = json!({"metadata": {"name": "n", "resourceVersion": "1"}, "spec": {"podCIDRs": ["10.0.0.0/24"], "providerID": "p1"}});
        assert_eq!(
            update("", "Node", &with(&node, json!({"spec": {"providerID": "p2", "podCIDRs": ["10.1.0.0/24"]}})), &node),
            vec![
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid".to_owned(),
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid".to_owned(),
            ]
        );
    }

    #[test]
    fn endpoints_rules() {
        let ep = json!({"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]});
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", ep.clone(), vec![]),
            ("no addresses", with(&ep, json!({"subsets": [{"ports": [{"port": 80}]}]})), vec!["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`".into()]),
            (
                "loopback",
                with(&ep, json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}]}]})),
                vec!["subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("", "Endpoints", &obj), want, "{name}");
        }
    }

    #[test]
    fn limit_range_and_quota_rules() {
        let lr = json!({"metadata": meta("lr"), "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]}});
        assert_eq!(
            create("", "LimitRange", &lr),
            vec!["spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1".to_owned()]
        );
        let pod_defaults = json!({"metadata": meta("lr"), "spec": {"limits": [{"type": "Pod", "default": {"cpu": "1"}}]}});
        assert_eq!(
            create("", "LimitRange", &pod_defaults),
            vec![
                "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"
                    .to_owned()
            ]
        );
        let rq = json!({"metadata": meta("rq"), "spec": {"hard": {"pods": "10", "cpu": "4"}}});
        assert!(create("", "ResourceQuota", &rq).is_empty());
        assert_eq!(
            create("", "ResourceQuota", &with(&rq, json!({"spec": {"hard": {"pods": "1.5", "widgets": "1"}}}))),
            vec![
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer".to_owned(),
                "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource type or fully qualified".to_owned(),
                "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota".to_owned(),
            ]
        );
        let scoped = with(&rq, json!({"spec": {"scopes": ["BestEffort"]}}));
        assert_eq!(
            update(
                "",
                "ResourceQuota",
                &with(&scoped, json!({"spec": {"scopes": ["NotBestEffort"]}})),
                &scoped
            ),
            vec![
                "spec.scopes: Invalid value: []string{\"NotBestEffort\"}: field is immutable"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn replication_controller_rules() {
        let rc = json!({"metadata": meta("rc"), "spec": {"selector": {"app": "a"}, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        assert_eq!(
            create("", "ReplicationController", &rc),
            vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`".to_owned()]
        );
        let fixed = with(
            &rc,
            json!({"spec": {"template": {"metadata": {"labels": {"app": "a"}}}}}),
        );
        assert!(create("", "ReplicationController", &fixed).is_empty());
    }

    #[test]
    fn event_rules() {
        let ev = json!({"metadata": meta("e1"), "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started"});
        assert!(create("", "Event", &ev).is_empty());
        assert_eq!(
            create("", "Event", &with(&ev, json!({"involvedObject": {"namespace": "other"}}))),
            vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace".to_owned()]
        );
        assert!(create("", "ServiceAccount", &json!({"metadata": meta("default")})).is_empty());
    }
}
