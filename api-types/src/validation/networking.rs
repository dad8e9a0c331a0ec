//! Rules for the networking group: Ingress, IngressClass and NetworkPolicy.

use std::net::IpAddr;

use k8s_openapi::api::networking::v1 as net;
use serde_json::Value;

use super::field_error::{ErrorList, FieldError, Path};
use super::meta::{
    items, s, to_json, validate_label_selector, validate_object_meta, validate_object_meta_update,
};
use super::names::{
    cidr_error, is_dns1035_label, is_dns1123_subdomain, is_domain_prefixed_path,
    is_valid_port_name, is_valid_port_num, is_wildcard_dns1123_subdomain, parse_ip_sloppy,
    NameRule,
};
use super::pod::validate_protocol;

fn validate_host(host: &str, path: &Path) -> ErrorList {
    let msgs = if host.contains('*') {
        is_wildcard_dns1123_subdomain(host)
    } else {
        is_dns1123_subdomain(host)
    };
    msgs.into_iter()
        .map(|m| FieldError::invalid(path, host, &m))
        .collect()
}

fn validate_backend(backend: &net::IngressBackend, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    match (&backend.resource, &backend.service) {
        (Some(_), Some(_)) => errs.push(FieldError::invalid(
            path,
            "",
            "cannot set both resource and service backends",
        )),
        (Some(r), None) => {
            let rp = path.child("resource");
            if r.kind.is_empty() {
                errs.push(FieldError::required(&rp.child("kind"), ""));
            }
            if r.name.is_empty() {
                errs.push(FieldError::required(&rp.child("name"), ""));
            }
            let group = s(&r.api_group);
            if !group.is_empty() {
                for m in is_dns1123_subdomain(group) {
                    errs.push(FieldError::invalid(&rp.child("apiGroup"), group, &m));
                }
            }
        }
        (None, Some(svc)) => {
            let sp = path.child("service");
            if svc.name.is_empty() {
                errs.push(FieldError::required(&sp.child("name"), ""));
            } else {
                for m in is_dns1035_label(&svc.name) {
                    errs.push(FieldError::invalid(
                        &sp.child("name"),
                        svc.name.as_str(),
                        &m,
                    ));
                }
            }
            let port = svc.port.clone().unwrap_or_default();
            let name = s(&port.name);
            let number = port.number.unwrap_or(0);
            if !name.is_empty() && number != 0 {
                errs.push(FieldError::invalid(
                    path,
                    "",
                    "cannot set both port name & port number",
                ));
            } else if !name.is_empty() {
                for m in is_valid_port_name(name) {
                    errs.push(FieldError::invalid(
                        &sp.child("port").child("name"),
                        name,
                        &m,
                    ));
                }
            } else if number != 0 {
                for m in is_valid_port_num(i64::from(number)) {
                    errs.push(FieldError::invalid(
                        &sp.child("port").child("number"),
                        number,
                        &m,
                    ));
                }
            } else {
                errs.push(FieldError::required(
                    path,
                    "port name or number is required",
                ));
            }
        }
        (None, None) => errs.push(FieldError::invalid(
            path,
            "",
            "resource or service backend is required",
        )),
    }
    errs
}

fn validate_http_path(p: &net::HTTPIngressPath, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let value = s(&p.path);
    match p.path_type.as_str() {
        "" => {
            return vec![FieldError::required(
                &path.child("pathType"),
                "pathType must be specified",
            )]
        }
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &path.child("path"),
                    value,
                    "must be an absolute path",
                ));
            }
            if !value.is_empty() {
                for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                    if value.contains(seq) {
                        errs.push(FieldError::invalid(
                            &path.child("path"),
                            value,
                            &format!("must not contain '{seq}'"),
                        ));
                    }
                }
                for suffix in ["/..", "/."] {
                    if value.ends_with(suffix) {
                        errs.push(FieldError::invalid(
                            &path.child("path"),
                            value,
                            &format!("cannot end with '{suffix}'"),
                        ));
                    }
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(FieldError::invalid(
                    &path.child("path"),
                    value,
                    "must be an absolute path",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &path.child("pathType"),
            other,
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    errs.extend(validate_backend(&p.backend, &path.child("backend")));
    errs
}

fn validate_ingress_spec(spec: &net::IngressSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    let rules = items(&spec.rules);
    if rules.is_empty() && spec.default_backend.is_none() {
        errs.push(
            FieldError::invalid(
                &sp,
                to_json(&spec.rules),
                "either `defaultBackend` or `rules` must be specified",
            )
            .with_value_text("[]networking.IngressRule(nil)"),
        );
    }
    if let Some(b) = &spec.default_backend {
        errs.extend(validate_backend(b, &sp.child("defaultBackend")));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = sp.child("rules").index(i);
        let host = s(&rule.host);
        if !host.is_empty() {
            if parse_ip_sloppy(host).is_some() {
                errs.push(FieldError::invalid(
                    &rp.child("host"),
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
            errs.extend(validate_host(host, &rp.child("host")));
        }
        if let Some(http) = &rule.http {
            let hp = rp.child("http");
            if http.paths.is_empty() {
                errs.push(FieldError::required(&hp.child("paths"), ""));
            }
            for (j, p) in http.paths.iter().enumerate() {
                errs.extend(validate_http_path(p, &hp.child("paths").index(j)));
            }
        }
    }
    for (i, tls) in items(&spec.tls).iter().enumerate() {
        for host in items(&tls.hosts) {
            errs.extend(validate_host(
                host,
                &sp.child("tls").index(i).child("hosts"),
            ));
        }
    }
    if let Some(class) = &spec.ingress_class_name {
        for m in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid(
                &sp.child("ingressClassName"),
                class.as_str(),
                &m,
            ));
        }
    }
    errs
}

/// Errors for an Ingress on create.
pub fn validate_ingress(ing: &net::Ingress) -> ErrorList {
    let mut errs = validate_object_meta(&ing.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_ingress_spec(&ing.spec.clone().unwrap_or_default()));
    errs
}

/// Errors for an Ingress update.
pub fn validate_ingress_update(new: &net::Ingress, old: &net::Ingress) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_ingress_spec(&new.spec.clone().unwrap_or_default()));
    errs
}

fn validate_ingress_class_spec(spec: &net::IngressClassSpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    let controller = s(&spec.controller);
    let cp = sp.child("controller");
    if controller.len() > 250 {
        errs.push(FieldError::too_long(&cp, 250));
    }
    if controller.is_empty() {
        errs.push(FieldError::required(&cp, ""));
    } else {
        for (value, msg) in is_domain_prefixed_path(controller) {
            errs.push(FieldError::invalid(&cp, value, &msg));
        }
    }
    if let Some(params) = &spec.parameters {
        let pp = sp.child("parameters");
        if params.kind.is_empty() {
            errs.push(FieldError::required(&pp.child("kind"), ""));
        }
        if params.name.is_empty() {
            errs.push(FieldError::required(&pp.child("name"), ""));
        }
        let ns = s(&params.namespace);
        match s(&params.scope) {
            "" => {}
            "Cluster" => {
                if !ns.is_empty() {
                    errs.push(FieldError::forbidden(
                        &pp.child("namespace"),
                        "`parameters.scope` is set to 'Cluster'",
                    ));
                }
            }
            "Namespace" => {
                if ns.is_empty() {
                    errs.push(FieldError::required(
                        &pp.child("namespace"),
                        "`parameters.scope` is set to 'Namespace'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &pp.child("scope"),
                other,
                &["Cluster", "Namespace"],
            )),
        }
    }
    errs
}

/// Errors for an IngressClass on create.
pub fn validate_ingress_class(ic: &net::IngressClass) -> ErrorList {
    let mut errs = validate_object_meta(&ic.metadata, false, NameRule::Dns1123Subdomain);
    errs.extend(validate_ingress_class_spec(
        &ic.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for an IngressClass update: the controller never changes.
pub fn validate_ingress_class_update(
    new: &net::IngressClass,
    old: &net::IngressClass,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let ns = new.spec.clone().unwrap_or_default();
    let os = old.spec.clone().unwrap_or_default();
    errs.extend(validate_ingress_class_spec(&ns));
    errs.extend(super::meta::validate_immutable_str(
        &ns.controller,
        &os.controller,
        &Path::new("spec").child("controller"),
    ));
    errs
}

fn parse_cidr(value: &str) -> Option<(IpAddr, u32)> {
    let (ip, bits) = value.split_once('/')?;
    Some((parse_ip_sloppy(ip)?, bits.parse().ok()?))
}

fn network_of(ip: IpAddr, bits: u32) -> u128 {
    let (value, width) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let host_bits = width.saturating_sub(bits);
    if host_bits >= 128 {
        0
    } else {
        value >> host_bits
    }
}

fn validate_ip_block(block: &net::IPBlock, path: &Path) -> ErrorList {
    if block.cidr.is_empty() {
        return vec![FieldError::required(&path.child("cidr"), "")];
    }
    let mut errs = Vec::new();
    if let Some(m) = cidr_error(&block.cidr) {
        errs.push(FieldError::invalid(
            &path.child("cidr"),
            block.cidr.as_str(),
            m,
        ));
    }
    let Some((net_ip, net_bits)) =
        parse_cidr(&block.cidr).filter(|_| cidr_error(&block.cidr).is_none())
    else {
        return errs;
    };
    for (i, except) in items(&block.except).iter().enumerate() {
        let ep = path.child("except").index(i);
        if let Some(m) = cidr_error(except) {
            errs.push(FieldError::invalid(&ep, except.as_str(), m));
            continue;
        }
        let Some((ex_ip, ex_bits)) = parse_cidr(except) else {
            continue;
        };
        let same_family = net_ip.is_ipv4() == ex_ip.is_ipv4();
        let contained = same_family && network_of(ex_ip, net_bits) == network_of(net_ip, net_bits);
        if !contained || net_bits >= ex_bits {
            errs.push(FieldError::invalid(
                &ep,
                except.as_str(),
                "must be a strict subset of `cidr`",
            ));
        }
    }
    errs
}

fn validate_policy_port(port: &net::NetworkPolicyPort, path: &Path) -> ErrorList {
    let mut errs = validate_protocol(&port.protocol, &path.child("protocol"));
    match &port.port {
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => {
            for m in is_valid_port_num(i64::from(*n)) {
                errs.push(FieldError::invalid(&path.child("port"), *n, &m));
            }
            if let Some(end) = port.end_port {
                if end < *n {
                    errs.push(FieldError::invalid(
                        &path.child("endPort"),
                        *n,
                        "must be greater than or equal to `port`",
                    ));
                }
                for m in is_valid_port_num(i64::from(end)) {
                    errs.push(FieldError::invalid(&path.child("endPort"), end, &m));
                }
            }
        }
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name)) => {
            if let Some(end) = port.end_port {
                errs.push(FieldError::invalid(
                    &path.child("endPort"),
                    end,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            for m in is_valid_port_name(name) {
                errs.push(FieldError::invalid(&path.child("port"), name.as_str(), &m));
            }
        }
        None => {
            if let Some(end) = port.end_port {
                errs.push(FieldError::invalid(
                    &path.child("endPort"),
                    end,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn validate_peer(peer: &net::NetworkPolicyPeer, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let mut n = 0;
    if let Some(sel) = &peer.pod_selector {
        n += 1;
        errs.extend(validate_label_selector(
            Some(sel),
            &path.child("podSelector"),
        ));
    }
    if let Some(sel) = &peer.namespace_selector {
        n += 1;
        errs.extend(validate_label_selector(
            Some(sel),
            &path.child("namespaceSelector"),
        ));
    }
    if let Some(block) = &peer.ip_block {
        n += 1;
        errs.extend(validate_ip_block(block, &path.child("ipBlock")));
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a peer"));
    } else if n > 1 && peer.ip_block.is_some() {
        errs.push(FieldError::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
    errs
}

fn validate_network_policy_spec(spec: &net::NetworkPolicySpec) -> ErrorList {
    let sp = Path::new("spec");
    let mut errs = validate_label_selector(spec.pod_selector.as_ref(), &sp.child("podSelector"));
    for (i, rule) in items(&spec.ingress).iter().enumerate() {
        let rp = sp.child("ingress").index(i);
        for (j, port) in items(&rule.ports).iter().enumerate() {
            errs.extend(validate_policy_port(port, &rp.child("ports").index(j)));
        }
        for (j, peer) in items(&rule.from).iter().enumerate() {
            errs.extend(validate_peer(peer, &rp.child("from").index(j)));
        }
    }
    for (i, rule) in items(&spec.egress).iter().enumerate() {
        let rp = sp.child("egress").index(i);
        for (j, port) in items(&rule.ports).iter().enumerate() {
            errs.extend(validate_policy_port(port, &rp.child("ports").index(j)));
        }
        for (j, peer) in items(&rule.to).iter().enumerate() {
            errs.extend(validate_peer(peer, &rp.child("to").index(j)));
        }
    }
    let types = items(&spec.policy_types);
    if types.len() > 2 {
        errs.push(FieldError::invalid(
            &sp.child("policyTypes"),
            Value::from(types.to_vec()),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(
                &sp.child("policyTypes").index(i),
                t.as_str(),
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

/// Errors for a NetworkPolicy on create.
pub fn validate_network_policy(np: &net::NetworkPolicy) -> ErrorList {
    let mut errs = validate_object_meta(&np.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_network_policy_spec(
        &np.spec.clone().unwrap_or_default(),
    ));
    errs
}

/// Errors for a NetworkPolicy update.
pub fn validate_network_policy_update(
    new: &net::NetworkPolicy,
    old: &net::NetworkPolicy,
) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_network_policy_spec(
        &new.spec.clone().unwrap_or_default(),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    const G: &str = "networking.k8s.io";

    fn ingress() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {"rules": [{"host": "example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
            ]}}]}
        })
    }

    fn with_path(p: Value) -> Value {
        with(
            &ingress(),
            json!({"spec": {"rules": [{"host": "example.com", "http": {"paths": [p]}}]}}),
        )
    }

    #[test]
    fn ingress_rules() {
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", ingress(), vec![]),
            ("wildcard host", with(&ingress(), json!({"spec": {"rules": [{"host": "*.example.com"}]}})), vec![]),
            (
                "no rules or backend",
                with(&ingress(), json!({"spec": {"rules": null}})),
                vec!["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified".into()],
            ),
            (
                "missing path type",
                with_path(json!({"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}})),
                vec!["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified".into()],
            ),
            (
                "relative prefix",
                with_path(json!({"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}})),
                vec!["spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path".into()],
            ),
            (
                "unknown path type",
                with_path(json!({"path": "/", "pathType": "Regex", "backend": {"service": {"name": "web", "port": {"number": 80}}}})),
                vec!["spec.rules[0].http.paths[0].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"".into()],
            ),
            (
                "backend without port",
                with_path(json!({"path": "/", "pathType": "Exact", "backend": {"service": {"name": "web"}}})),
                vec!["spec.rules[0].http.paths[0].backend: Required value: port name or number is required".into()],
            ),
            (
                "empty backend",
                with_path(json!({"path": "/", "pathType": "Exact", "backend": {}})),
                vec!["spec.rules[0].http.paths[0].backend: Invalid value: \"\": resource or service backend is required".into()],
            ),
            (
                "ip host",
                with(&ingress(), json!({"spec": {"rules": [{"host": "10.0.0.1"}]}})),
                vec!["spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address".into()],
            ),
            ("no paths", with(&ingress(), json!({"spec": {"rules": [{"http": {"paths": []}}]}})), vec!["spec.rules[0].http.paths: Required value".into()]),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create(G, "Ingress", &obj), want, "{name}");
        }
    }

    #[test]
    fn ingress_class_rules() {
        let ic = json!({"metadata": {"name": "nginx", "resourceVersion": "1"}, "spec": {"controller": "k8s.io/ingress-nginx"}});
        assert!(create(G, "IngressClass", &ic).is_empty());
        assert_eq!(
            create(G, "IngressClass", &with(&ic, json!({"spec": {"controller": "nginx"}}))),
            vec!["spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")".to_owned()]
        );
        assert_eq!(
            update(
                G,
                "IngressClass",
                &with(&ic, json!({"spec": {"controller": "example.com/other"}})),
                &ic
            ),
            vec![
                "spec.controller: Invalid value: \"example.com/other\": field is immutable"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn network_policy_rules() {
        let np = json!({"metadata": {"name": "deny", "namespace": "default"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", np.clone(), vec![]),
            ("bad type", with(&np, json!({"spec": {"policyTypes": ["Sideways"]}})), vec!["spec.policyTypes[0]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"".into()]),
            (
                "peer and ports",
                with(&np, json!({"spec": {"ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "podSelector": {}}], "ports": [{"port": 80, "endPort": 70}]}]}})),
                vec![
                    "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`".into(),
                    "spec.ingress[0].from[0]: Required value: must specify a peer".into(),
                    "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`".into(),
                    "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer".into(),
                ],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create(G, "NetworkPolicy", &obj), want, "{name}");
        }
    }
}
