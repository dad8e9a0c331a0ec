//! Rules for the smaller kinds: Lease, PriorityClass, PodDisruptionBudget, RuntimeClass,
//! EndpointSlice, CertificateSigningRequest and events.k8s.io Event.

use std::collections::BTreeSet;

use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::api::node::v1 as node;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::scheduling::v1 as scheduling;

use super::apps::{is_not_more_than_100_percent, validate_positive_int_or_percent};
use super::field_error::{ErrorList, FieldError, Path};
use super::meta::{
    items, s, to_json, validate_dns1123_label, validate_immutable_str, validate_label_selector,
    validate_labels, validate_object_meta, validate_object_meta_update, validate_qualified_name,
    IS_NEGATIVE,
};
use super::names::{is_dns1123_label, is_dns1123_subdomain, parse_ip_sloppy, NameRule};
use super::pod::{validate_protocol, validate_resource_requirements};
use super::service::validate_endpoint_ip;

/// Errors for a Lease (create and update).
pub fn validate_lease(lease: &coordination::Lease) -> ErrorList {
    let mut errs = validate_object_meta(&lease.metadata, true, NameRule::Dns1123Subdomain);
    if let Some(spec) = &lease.spec {
        let sp = Path::new("spec");
        if let Some(d) = spec.lease_duration_seconds {
            if d <= 0 {
                errs.push(FieldError::invalid(
                    &sp.child("leaseDurationSeconds"),
                    d,
                    "must be greater than 0",
                ));
            }
        }
        if let Some(t) = spec.lease_transitions {
            if t < 0 {
                errs.push(FieldError::invalid(
                    &sp.child("leaseTransitions"),
                    t,
                    IS_NEGATIVE,
                ));
            }
        }
        if spec.preferred_holder.is_some() && spec.strategy.is_none() {
            errs.push(FieldError::forbidden(
                &sp.child("preferredHolder"),
                "may only be specified if `strategy` is defined",
            ));
        }
    }
    errs
}

/// Errors for a Lease update.
pub fn validate_lease_update(new: &coordination::Lease, old: &coordination::Lease) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_lease(new));
    errs
}

/// The largest priority a user-defined PriorityClass may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
const SYSTEM_PRIORITY_CLASSES: [(&str, i32); 2] = [
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// Errors for a PriorityClass on create.
pub fn validate_priority_class(pc: &scheduling::PriorityClass) -> ErrorList {
    let mut errs = validate_object_meta(&pc.metadata, false, NameRule::Dns1123Subdomain);
    let name = s(&pc.metadata.name);
    if name.starts_with("system-") {
        let known = SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name);
        let problem = match known {
            None => Some(format!("{name} is not a known system priority class")),
            Some((_, v)) if *v != pc.value => {
                Some(format!("value of {name} PriorityClass must be {v}"))
            }
            Some(_) if pc.global_default == Some(true) => Some(format!(
                "globalDefault of {name} PriorityClass must be false"
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            errs.push(FieldError::forbidden(
                &Path::new("metadata").child("name"),
                &format!("priority class names with 'system-' prefix are reserved for system use only. error: {p}"),
            ));
        }
    } else if pc.value > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.push(FieldError::forbidden(&Path::new("value"), &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}")));
    }
    if let Some(pp) = &pc.preemption_policy {
        if pp != "PreemptLowerPriority" && pp != "Never" {
            errs.push(FieldError::not_supported(
                &Path::new("preemptionPolicy"),
                pp.as_str(),
                &["PreemptLowerPriority", "Never"],
            ));
        }
    }
    errs
}

/// Errors for a PriorityClass update: value and preemption policy never change.
pub fn validate_priority_class_update(
    new: &scheduling::PriorityClass,
    old: &scheduling::PriorityClass,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    if new.value != old.value {
        errs.push(FieldError::forbidden(
            &Path::new("value"),
            "may not be changed in an update.",
        ));
    }
    errs.extend(validate_immutable_str(
        &new.preemption_policy,
        &old.preemption_policy,
        &Path::new("preemptionPolicy"),
    ));
    errs
}

/// Errors for a PodDisruptionBudget (create and update).
pub fn validate_pod_disruption_budget(pdb: &policy::PodDisruptionBudget) -> ErrorList {
    let mut errs = validate_object_meta(&pdb.metadata, true, NameRule::Dns1123Subdomain);
    let spec = pdb.spec.clone().unwrap_or_default();
    let sp = Path::new("spec");
    if spec.min_available.is_some() && spec.max_unavailable.is_some() {
        errs.push(FieldError::invalid(
            &sp,
            to_json(&spec),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (field, value) in [
        ("minAvailable", &spec.min_available),
        ("maxUnavailable", &spec.max_unavailable),
    ] {
        if let Some(v) = value {
            errs.extend(validate_positive_int_or_percent(v, &sp.child(field)));
            errs.extend(is_not_more_than_100_percent(v, &sp.child(field)));
        }
    }
    errs.extend(validate_label_selector(
        spec.selector.as_ref(),
        &sp.child("selector"),
    ));
    if let Some(p) = &spec.unhealthy_pod_eviction_policy {
        if p != "AlwaysAllow" && p != "IfHealthyBudget" {
            errs.push(FieldError::not_supported(
                &sp.child("unhealthyPodEvictionPolicy"),
                p.as_str(),
                &["AlwaysAllow", "IfHealthyBudget"],
            ));
        }
    }
    errs
}

/// Errors for a PodDisruptionBudget update.
pub fn validate_pod_disruption_budget_update(
    new: &policy::PodDisruptionBudget,
    old: &policy::PodDisruptionBudget,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_pod_disruption_budget(new));
    errs
}

/// Errors for a RuntimeClass on create: the handler must be a DNS label.
pub fn validate_runtime_class(rc: &node::RuntimeClass) -> ErrorList {
    let mut errs = validate_object_meta(&rc.metadata, false, NameRule::Dns1123Subdomain);
    for m in is_dns1123_label(&rc.handler) {
        errs.push(FieldError::invalid(
            &Path::new("handler"),
            rc.handler.as_str(),
            &m,
        ));
    }
    if let Some(fixed) = rc.overhead.as_ref().and_then(|o| o.pod_fixed.as_ref()) {
        let req = k8s_openapi::api::core::v1::ResourceRequirements {
            limits: Some(fixed.clone()),
            ..Default::default()
        };
        errs.extend(validate_resource_requirements(
            &req,
            &BTreeSet::new(),
            &Path::new("overhead").child("podFixed"),
        ));
    }
    if let Some(sched) = &rc.scheduling {
        errs.extend(validate_labels(
            sched.node_selector.as_ref(),
            &Path::new("scheduling").child("nodeSelector"),
        ));
    }
    errs
}

/// Errors for a RuntimeClass update: the handler never changes.
pub fn validate_runtime_class_update(
    new: &node::RuntimeClass,
    old: &node::RuntimeClass,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_runtime_class(new));
    if new.handler != old.handler {
        errs.push(FieldError::invalid(
            &Path::new("handler"),
            new.handler.as_str(),
            super::meta::FIELD_IMMUTABLE,
        ));
    }
    errs
}

fn validate_fqdn(value: &str, path: &Path) -> ErrorList {
    if value.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    let msgs = is_dns1123_subdomain(name);
    if !msgs.is_empty() {
        return vec![FieldError::invalid(path, name, &msgs.join(","))];
    }
    if name.split('.').count() < 2 {
        return vec![FieldError::invalid(
            path,
            name,
            "should be a domain with at least two segments separated by dots",
        )];
    }
    for label in name.split('.') {
        let msgs = is_dns1123_label(label);
        if !msgs.is_empty() {
            return vec![FieldError::invalid(path, label, &msgs.join(","))];
        }
    }
    Vec::new()
}

fn validate_slice_endpoints(slice: &discovery::EndpointSlice) -> ErrorList {
    let mut errs = Vec::new();
    let ep = Path::new("endpoints");
    if slice.endpoints.len() > 1000 {
        errs.push(FieldError::too_many(&ep, slice.endpoints.len(), 1000));
    }
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        let p = ep.index(i);
        let ap = p.child("addresses");
        if endpoint.addresses.is_empty() {
            errs.push(FieldError::required(&ap, "must contain at least 1 address"));
        } else if endpoint.addresses.len() > 100 {
            errs.push(FieldError::too_many(&ap, endpoint.addresses.len(), 100));
        }
        for (j, addr) in endpoint.addresses.iter().enumerate() {
            let aip = ap.index(j);
            match slice.address_type.as_str() {
                "IPv4" => match parse_ip_sloppy(addr) {
                    Some(ip) if ip.is_ipv4() => errs.extend(validate_endpoint_ip(addr, &aip)),
                    _ => errs.push(FieldError::invalid(
                        &aip,
                        addr.as_str(),
                        "must be a valid IPv4 address",
                    )),
                },
                "IPv6" => match parse_ip_sloppy(addr) {
                    Some(ip) if ip.is_ipv6() => errs.extend(validate_endpoint_ip(addr, &aip)),
                    _ => errs.push(FieldError::invalid(
                        &aip,
                        addr.as_str(),
                        "must be a valid IPv6 address",
                    )),
                },
                "FQDN" => errs.extend(validate_fqdn(addr, &aip)),
                _ => {}
            }
        }
        if let Some(node) = &endpoint.node_name {
            for m in is_dns1123_subdomain(node) {
                errs.push(FieldError::invalid(&p.child("nodeName"), node.as_str(), &m));
            }
        }
        if let Some(host) = &endpoint.hostname {
            errs.extend(validate_dns1123_label(host, &p.child("hostname")));
        }
        if endpoint.deprecated_topology.is_some() {
            errs.extend(validate_labels(
                endpoint.deprecated_topology.as_ref(),
                &p.child("deprecatedTopology"),
            ));
        }
    }
    let pp = Path::new("ports");
    let ports = items(&slice.ports);
    if ports.len() > 20000 {
        errs.push(FieldError::too_many(&pp, ports.len(), 20000));
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = pp.index(i);
        let name = s(&port.name);
        if !name.is_empty() {
            errs.extend(validate_dns1123_label(name, &p.child("name")));
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&p.child("name"), name));
        }
        errs.extend(validate_protocol(&port.protocol, &p.child("protocol")));
        if let Some(ap) = &port.app_protocol {
            errs.extend(validate_qualified_name(ap, &p.child("appProtocol")));
        }
    }
    errs
}

/// Errors for an EndpointSlice on create.
pub fn validate_endpoint_slice(slice: &discovery::EndpointSlice) -> ErrorList {
    let mut errs = validate_object_meta(&slice.metadata, true, NameRule::Dns1123Subdomain);
    let at = slice.address_type.as_str();
    if at.is_empty() {
        errs.push(FieldError::required(&Path::new("addressType"), ""));
    } else if !["FQDN", "IPv4", "IPv6"].contains(&at) {
        errs.push(FieldError::not_supported(
            &Path::new("addressType"),
            at,
            &["FQDN", "IPv4", "IPv6"],
        ));
    }
    errs.extend(validate_slice_endpoints(slice));
    errs
}

/// Errors for an EndpointSlice update: the address type never changes.
pub fn validate_endpoint_slice_update(
    new: &discovery::EndpointSlice,
    old: &discovery::EndpointSlice,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_endpoint_slice(new));
    if new.address_type != old.address_type {
        errs.push(FieldError::invalid(
            &Path::new("addressType"),
            new.address_type.as_str(),
            super::meta::FIELD_IMMUTABLE,
        ));
    }
    errs
}

const KEY_USAGES: [&str; 23] = [
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

fn go_bytes(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("0x{b:x}")).collect();
    format!("[]uint8{{{}}}", parts.join(", "))
}

fn validate_signer_name(name: &str, path: &Path) -> ErrorList {
    if name.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let segments: Vec<&str> = name.split('/').collect();
    let [domain, rest] = segments.as_slice() else {
        return vec![FieldError::invalid(
            path,
            name,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        )];
    };
    let mut errs = Vec::new();
    if domain.len() > 253 {
        errs.push(FieldError::too_long(path, 253));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        let msgs = is_dns1123_label(label);
        if !msgs.is_empty() {
            for m in msgs {
                errs.push(FieldError::invalid(
                    path,
                    *domain,
                    &format!(
                        "validating label {}: {m}",
                        super::field_error::go_quote(label)
                    ),
                ));
            }
            break;
        }
    }
    if labels.len() < 2 {
        errs.push(FieldError::invalid(
            path,
            *domain,
            "should be a domain with at least two segments separated by dots",
        ));
    }
    for component in rest.split('.') {
        let msgs = is_dns1123_subdomain(component);
        if !msgs.is_empty() {
            for m in msgs {
                errs.push(FieldError::invalid(
                    path,
                    *rest,
                    &format!(
                        "validating component {}: {m}",
                        super::field_error::go_quote(component)
                    ),
                ));
            }
            break;
        }
    }
    if rest.len() > 253 + 253 + 63 + 1 {
        errs.push(FieldError::too_long(path, 253 + 253 + 63 + 1));
    }
    errs
}

/// Errors for a CertificateSigningRequest on create: a PEM request, a signer name of the form
/// `example.com/signer`, known key usages.
pub fn validate_certificate_signing_request(
    csr: &certificates::CertificateSigningRequest,
) -> ErrorList {
    let mut errs = validate_object_meta(&csr.metadata, false, NameRule::Dns1123Subdomain);
    let sp = Path::new("spec");
    let request = &csr.spec.request.0;
    let text = String::from_utf8_lossy(request);
    if !text.contains("-----BEGIN CERTIFICATE REQUEST-----")
        || !text.contains("-----END CERTIFICATE REQUEST-----")
    {
        errs.push(
            FieldError::invalid(
                &sp.child("request"),
                text.as_ref(),
                "PEM block type must be CERTIFICATE REQUEST",
            )
            .with_value_text(go_bytes(request)),
        );
    }
    let usages = items(&csr.spec.usages);
    if usages.is_empty() {
        errs.push(FieldError::required(
            &sp.child("usages"),
            "usages must be provided",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, u) in usages.iter().enumerate() {
        let up = sp.child("usages").index(i);
        if !KEY_USAGES.contains(&u.as_str()) {
            errs.push(FieldError::not_supported(&up, u.as_str(), &KEY_USAGES));
        }
        if !seen.insert(u.as_str()) {
            errs.push(FieldError::duplicate(&up, u.as_str()));
        }
    }
    errs.extend(validate_signer_name(
        &csr.spec.signer_name,
        &sp.child("signerName"),
    ));
    if let Some(exp) = csr.spec.expiration_seconds {
        if exp < 600 {
            errs.push(FieldError::invalid(
                &sp.child("expirationSeconds"),
                exp,
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
    }
    errs
}

/// Errors for a CertificateSigningRequest update.
pub fn validate_certificate_signing_request_update(
    new: &certificates::CertificateSigningRequest,
    old: &certificates::CertificateSigningRequest,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_certificate_signing_request(new));
    errs
}

/// Errors for an events.k8s.io Event on create: the reporting fields Kubernetes requires of
/// events written through this API.
pub fn validate_events_event(ev: &events::Event) -> ErrorList {
    let mut errs = validate_object_meta(&ev.metadata, true, NameRule::Dns1123Subdomain);
    if ev.event_time.is_none() {
        errs.push(FieldError::required(&Path::new("eventTime"), ""));
    }
    let controller = s(&ev.reporting_controller);
    if controller.is_empty() {
        errs.push(FieldError::required(&Path::new("reportingController"), ""));
    }
    errs.extend(validate_qualified_name(
        controller,
        &Path::new("reportingController"),
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
    if s(&ev.note).len() > 1024 {
        errs.push(FieldError::invalid(
            &Path::new("note"),
            "",
            "can have at most 1024 characters",
        ));
    }
    match s(&ev.type_) {
        "" => errs.push(FieldError::required(&Path::new("type"), "")),
        "Normal" | "Warning" => {}
        other => errs.push(FieldError::invalid(
            &Path::new("type"),
            "",
            &format!("has invalid value: {other}"),
        )),
    }
    errs
}

/// Errors for an events.k8s.io Event update: what happened and to what never changes.
pub fn validate_events_event_update(new: &events::Event, old: &events::Event) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_events_event(new));
    for (field, changed) in [
        ("regarding", new.regarding != old.regarding),
        ("reason", new.reason != old.reason),
        ("note", new.note != old.note),
        ("action", new.action != old.action),
        (
            "reportingController",
            new.reporting_controller != old.reporting_controller,
        ),
        (
            "reportingInstance",
            new.reporting_instance != old.reporting_instance,
        ),
        ("type", new.type_ != old.type_),
    ] {
        if changed {
            let value = match field {
                "regarding" => to_json(&new.regarding),
                "reason" => to_json(&new.reason),
                "note" => to_json(&new.note),
                "action" => to_json(&new.action),
                "reportingController" => to_json(&new.reporting_controller),
                "reportingInstance" => to_json(&new.reporting_instance),
                _ => to_json(&new.type_),
            };
            errs.push(FieldError::invalid(
                &Path::new(field),
                value,
                super::meta::FIELD_IMMUTABLE,
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    #[test]
    fn lease_priority_class_pdb_runtime_class() {
        let lease = json!({"metadata": {"name": "l", "namespace": "kube-system"}, "spec": {"leaseDurationSeconds": 0}});
        assert_eq!(
            create("coordination.k8s.io", "Lease", &lease),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0".to_owned()]
        );
        let pc = json!({"metadata": {"name": "high", "resourceVersion": "1"}, "value": 1000});
        assert!(create("scheduling.k8s.io", "PriorityClass", &pc).is_empty());
        let cases: Vec<(Value, Vec<String>)> = vec![
            (with(&pc, json!({"value": 2_000_000_000})), vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000".into()]),
            (
                with(&pc, json!({"metadata": {"name": "system-foo"}})),
                vec!["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class".into()],
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(create("scheduling.k8s.io", "PriorityClass", &obj), want);
        }
        assert_eq!(
            update(
                "scheduling.k8s.io",
                "PriorityClass",
                &with(&pc, json!({"value": 5})),
                &pc
            ),
            vec!["value: Forbidden: may not be changed in an update.".to_owned()]
        );
        let pdb = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "a"}}}});
        assert!(create("policy", "PodDisruptionBudget", &pdb).is_empty());
        let both = with(&pdb, json!({"spec": {"maxUnavailable": "150%"}}));
        let errs = create("policy", "PodDisruptionBudget", &both);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].starts_with("spec: Invalid value: ")
                && errs[0].ends_with(": minAvailable and maxUnavailable cannot be both set"),
            "{}",
            errs[0]
        );
        assert_eq!(errs[1], "spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%");
        let rc =
            json!({"metadata": {"name": "gvisor", "resourceVersion": "1"}, "handler": "runsc"});
        assert!(create("node.k8s.io", "RuntimeClass", &rc).is_empty());
        assert_eq!(
            update(
                "node.k8s.io",
                "RuntimeClass",
                &with(&rc, json!({"handler": "kata"})),
                &rc
            ),
            vec!["handler: Invalid value: \"kata\": field is immutable".to_owned()]
        );
    }

    #[test]
    fn endpoint_slices() {
        let slice = json!({
            "metadata": {"name": "web-abc", "namespace": "default", "resourceVersion": "1"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.2.3"]}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]
        });
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", slice.clone(), vec![]),
            ("no addresses", with(&slice, json!({"endpoints": [{"addresses": []}]})), vec!["endpoints[0].addresses: Required value: must contain at least 1 address".into()]),
            ("v6 in v4 slice", with(&slice, json!({"endpoints": [{"addresses": ["::1"]}]})), vec!["endpoints[0].addresses[0]: Invalid value: \"::1\": must be a valid IPv4 address".into()]),
            (
                "bad type",
                with(&slice, json!({"addressType": "IPv5"})),
                vec!["addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(
                create("discovery.k8s.io", "EndpointSlice", &obj),
                want,
                "{name}"
            );
        }
        let v6 = with(
            &slice,
            json!({"addressType": "IPv6", "endpoints": [{"addresses": ["2001:db8::1"]}]}),
        );
        assert_eq!(
            update("discovery.k8s.io", "EndpointSlice", &v6, &slice),
            vec!["addressType: Invalid value: \"IPv6\": field is immutable".to_owned()]
        );
    }

    #[test]
    fn certificate_signing_requests() {
        let pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
        let b64 = {
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let bytes = pem.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..4 {
                    if i <= chunk.len() {
                        out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        };
        let csr = json!({"metadata": {"name": "c"}, "spec": {"request": b64, "signerName": "example.com/signer", "usages": ["client auth"]}});
        assert_eq!(
            create("certificates.k8s.io", "CertificateSigningRequest", &csr),
            Vec::<String>::new()
        );
        let bad = with(
            &csr,
            json!({"spec": {"signerName": "signer", "usages": ["flying"]}}),
        );
        assert_eq!(
            create("certificates.k8s.io", "CertificateSigningRequest", &bad),
            vec![
                "spec.usages[0]: Unsupported value: \"flying\": supported values: \"any\", \"cert sign\", \"client auth\", \"code signing\", \"content commitment\", \"crl sign\", \"data encipherment\", \"decipher only\", \"digital signature\", \"email protection\", \"encipher only\", \"ipsec end system\", \"ipsec tunnel\", \"ipsec user\", \"key agreement\", \"key encipherment\", \"microsoft sgc\", \"netscape sgc\", \"ocsp signing\", \"s/mime\", \"server auth\", \"signing\", \"timestamping\"".to_owned(),
                "spec.signerName: Invalid value: \"signer\": must be a fully qualified domain and path of the form 'example.com/signer-name'".to_owned(),
            ]
        );
    }

    #[test]
    fn events_api_events() {
        let ev = json!({
            "metadata": {"name": "e", "namespace": "default"},
            "eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
            "action": "Start", "reason": "Started", "type": "Normal"
        });
        assert!(create("events.k8s.io", "Event", &ev).is_empty());
        assert_eq!(
            create(
                "events.k8s.io",
                "Event",
                &with(&ev, json!({"type": "Loud", "action": null}))
            ),
            vec![
                "action: Required value".to_owned(),
                "type: Invalid value: \"\": has invalid value: Loud".to_owned()
            ]
        );
    }
}
