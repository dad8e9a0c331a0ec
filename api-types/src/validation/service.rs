//! Service rules: ports, cluster IPs, types and the fields each type allows, and which of them
//! an update may change.
//!
//! Berth keeps `clusterIP` and `clusterIPs` in step the way Kubernetes does: when only
//! `clusterIP` is given, it stands for a one-element `clusterIPs`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::field_error::{go_quote, ErrorList, FieldError, Path};
use super::meta::go_string_slice;
use super::meta::{
    items, s, to_json, validate_dns1123_label, validate_dns1123_subdomain, validate_labels,
    validate_object_meta, validate_object_meta_update, validate_qualified_name,
};
use super::names::{ip_error, is_valid_port_num, parse_ip_sloppy, NameRule};
use super::pod::{cidr_errors, validate_port_num_or_name, validate_protocol};

/// The cluster IPs a service effectively has: `clusterIPs`, or `clusterIP` alone.
fn cluster_ips(spec: &ServiceSpec) -> Vec<String> {
    let ips = items(&spec.cluster_ips);
    if !ips.is_empty() {
        return ips.to_vec();
    }
    match s(&spec.cluster_ip) {
        "" => Vec::new(),
        ip => vec![ip.to_owned()],
    }
}

fn is_headless(spec: &ServiceSpec) -> bool {
    let ips = cluster_ips(spec);
    ips.len() == 1 && ips.first().is_some_and(|ip| ip == "None")
}

fn service_type(spec: &ServiceSpec) -> &str {
    match s(&spec.type_) {
        "" => "ClusterIP",
        t => t,
    }
}

fn go_service_port_key(protocol: &str, port: i32) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        go_quote(protocol)
    )
}

fn validate_service_port(
    sp: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    let name = s(&sp.name);
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(validate_dns1123_label(name, &path.child("name")));
        if !names.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(&path.child("name"), name));
        }
    }
    for m in is_valid_port_num(i64::from(sp.port)) {
        errs.push(FieldError::invalid(&path.child("port"), sp.port, &m));
    }
    errs.extend(validate_protocol(&sp.protocol, &path.child("protocol")));
    match &sp.target_port {
        None | Some(IntOrString::Int(0)) => {}
        Some(tp) => errs.extend(validate_port_num_or_name(tp, &path.child("targetPort"))),
    }
    if let Some(ap) = &sp.app_protocol {
        errs.extend(validate_qualified_name(ap, &path.child("appProtocol")));
    }
    errs
}

fn validate_cluster_ips(spec: &ServiceSpec) -> ErrorList {
    let mut errs = Vec::new();
    let spec_path = Path::new("spec");
    let ips_path = spec_path.child("clusterIPs");
    let given = items(&spec.cluster_ips);
    let ip = s(&spec.cluster_ip);
    if !ip.is_empty() {
        if let Some(first) = given.first() {
            if first != ip {
                errs.push(FieldError::invalid(
                    &ips_path,
                    to_json(&spec.cluster_ips),
                    "first value must match `clusterIP`",
                ));
            }
        }
    } else if !given.is_empty() {
        errs.push(FieldError::invalid(
            &ips_path,
            to_json(&spec.cluster_ips),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let fam_path = spec_path.child("ipFamilies");
    let mut seen = BTreeSet::new();
    for (i, fam) in items(&spec.ip_families).iter().enumerate() {
        if fam != "IPv4" && fam != "IPv6" {
            errs.push(FieldError::not_supported(
                &fam_path.index(i),
                fam.as_str(),
                &["IPv4", "IPv6"],
            ));
        }
        if !seen.insert(fam.as_str()) {
            errs.push(FieldError::duplicate(&fam_path.index(i), fam.as_str()));
        }
    }
    if let Some(pol) = &spec.ip_family_policy {
        let supported = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !supported.contains(&pol.as_str()) {
            errs.push(FieldError::not_supported(
                &spec_path.child("ipFamilyPolicy"),
                pol.as_str(),
                &supported,
            ));
        }
    }
    let ips = cluster_ips(spec);
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                errs.push(FieldError::invalid(
                    &ips_path,
                    to_json(&ips),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if let Some(m) = ip_error(ip) {
            invalid = true;
            errs.push(FieldError::invalid(&ips_path.index(i), ip.as_str(), m));
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(
            &ips_path,
            to_json(&ips),
            "may only hold up to 2 values",
        ));
    }
    if invalid {
        return errs;
    }
    if ips.len() > 1 {
        let v6: Vec<bool> = ips
            .iter()
            .filter_map(|ip| parse_ip_sloppy(ip))
            .map(|a| a.is_ipv6())
            .collect();
        let dual = v6.len() == 2 && v6.first() != v6.get(1);
        if !dual {
            errs.push(FieldError::invalid(
                &ips_path,
                to_json(&ips),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !is_headless(spec) {
        for (i, (ip, fam)) in ips.iter().zip(items(&spec.ip_families)).enumerate() {
            let is_v6 = parse_ip_sloppy(ip).is_some_and(|a| a.is_ipv6());
            if fam == "IPv4" && is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip.as_str(),
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if fam == "IPv6" && !is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip.as_str(),
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

fn validate_non_special_ip(ip: &str, path: &Path) -> ErrorList {
    let Some(addr) = parse_ip_sloppy(ip) else {
        return vec![FieldError::invalid(path, ip, "must be a valid IP address")];
    };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(FieldError::invalid(
            path,
            ip,
            &format!("may not be unspecified ({ip})"),
        ));
    }
    if addr.is_loopback() {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    let link_local_unicast = match addr {
        std::net::IpAddr::V4(a) => a.is_link_local(),
        std::net::IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local_unicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    let link_local_multicast = match addr {
        std::net::IpAddr::V4(a) => a.octets()[0] == 224 && a.octets()[1] == 0 && a.octets()[2] == 0,
        std::net::IpAddr::V6(a) => (a.segments()[0] & 0xff0f) == 0xff02,
    };
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            ip,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

/// Errors for an IP address that is invalid, unspecified, loopback or link-local (external
/// IPs, endpoint addresses).
pub(crate) fn validate_endpoint_ip(ip: &str, path: &Path) -> ErrorList {
    if let Some(m) = ip_error(ip) {
        return vec![FieldError::invalid(path, ip, m)];
    }
    validate_non_special_ip(ip, path)
}

/// Errors for a Service on create.
pub fn validate_service(svc: &Service) -> ErrorList {
    let meta_path = Path::new("metadata");
    let mut errs = validate_object_meta(&svc.metadata, true, NameRule::Dns1035Label);
    let ann = svc.metadata.annotations.clone().unwrap_or_default();
    if let (Some(mode), Some(hints)) = (
        ann.get("service.kubernetes.io/topology-mode"),
        ann.get("service.kubernetes.io/topology-aware-hints"),
    ) {
        if mode != hints {
            errs.push(FieldError::invalid(
                &meta_path.child("annotations").key("service.kubernetes.io/topology-mode"),
                mode.as_str(),
                "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
            ));
        }
    }
    let default_spec = ServiceSpec::default();
    let spec = svc.spec.as_ref().unwrap_or(&default_spec);
    let sp = Path::new("spec");
    let ty = service_type(spec);
    let headless = is_headless(spec);
    let ports = items(&spec.ports);
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required(&sp.child("ports"), ""));
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => {
            errs.push(FieldError::invalid(
                &sp.child("clusterIPs").index(0),
                "None",
                &format!("may not be set to 'None' for {ty} services"),
            ));
        }
        "ExternalName" => {
            if !cluster_ips(spec).is_empty() {
                errs.push(FieldError::forbidden(
                    &sp.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if !items(&spec.ip_families).is_empty() {
                errs.push(FieldError::forbidden(
                    &sp.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden(
                    &sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let name = s(&spec.external_name);
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                errs.push(FieldError::required(&sp.child("externalName"), ""));
            } else {
                errs.extend(validate_dns1123_subdomain(cname, &sp.child("externalName")));
            }
        }
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(validate_service_port(
            port,
            ports.len() > 1,
            &mut names,
            &sp.child("ports").index(i),
        ));
    }
    if spec.selector.is_some() {
        errs.extend(validate_labels(
            spec.selector.as_ref(),
            &sp.child("selector"),
        ));
    }
    let affinity = s(&spec.session_affinity);
    match affinity {
        "" | "None" => {
            if !affinity.is_empty() && spec.session_affinity_config.is_some() {
                errs.push(FieldError::forbidden(
                    &sp.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                ));
            }
        }
        "ClientIP" => {
            let cp = sp.child("sessionAffinityConfig");
            match spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
            {
                Some(c) => {
                    if let Some(t) = c.timeout_seconds {
                        if t <= 0 || t > 86400 {
                            errs.push(FieldError::invalid(
                                &cp.child("clientIP").child("timeoutSeconds"),
                                t,
                                "must be greater than 0 and less than 86400",
                            ));
                        }
                    }
                }
                None if spec.session_affinity_config.is_none() => {}
                None => errs.push(FieldError::required(
                    &cp.child("clientIP"),
                    "when session affinity type is ClientIP",
                )),
            }
        }
        other => errs.push(FieldError::not_supported(
            &sp.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        )),
    }
    if ty != "ExternalName" {
        errs.extend(validate_cluster_ips(spec));
    }
    for (i, ip) in items(&spec.external_ips).iter().enumerate() {
        errs.extend(validate_endpoint_ip(ip, &sp.child("externalIPs").index(i)));
    }
    let supported = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !supported.contains(&ty) {
        errs.push(FieldError::not_supported(&sp.child("type"), ty, &supported));
    }
    if ty == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    &sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    let mut port_keys = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        let np = port.node_port.unwrap_or(0);
        if np != 0 && !node_ports.insert((protocol, np)) {
            errs.push(FieldError::duplicate(
                &sp.child("ports").index(i).child("nodePort"),
                np,
            ));
        }
        if !port_keys.insert((protocol, port.port)) {
            errs.push(
                FieldError::duplicate(
                    &sp.child("ports").index(i),
                    serde_json::json!({"protocol": protocol, "port": port.port}),
                )
                .with_value_text(go_service_port_key(protocol, port.port)),
            );
        }
    }
    let ranges = items(&spec.load_balancer_source_ranges);
    if !ranges.is_empty() {
        let fp = sp.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &fp,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(cidr_errors(r.trim(), &fp.index(i)));
        }
    } else if let Some(val) = ann.get("service.beta.kubernetes.io/load-balancer-source-ranges") {
        let fp = meta_path
            .child("annotations")
            .key("service.beta.kubernetes.io/load-balancer-source-ranges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &fp,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        let val = val.trim();
        if !val.is_empty() {
            for cidr in val.split(',') {
                errs.extend(cidr_errors(cidr.trim(), &fp));
            }
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && ty != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if let Some(class) = &spec.load_balancer_class {
        if ty == "LoadBalancer" {
            errs.extend(validate_qualified_name(
                class,
                &sp.child("loadBalancerClass"),
            ));
        } else {
            errs.push(FieldError::forbidden(
                &sp.child("loadBalancerClass"),
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    let externally_accessible = ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && !items(&spec.external_ips).is_empty());
    let etp = s(&spec.external_traffic_policy);
    if !externally_accessible {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                &sp.child("externalTrafficPolicy"),
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if !etp.is_empty() && etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(
            &sp.child("externalTrafficPolicy"),
            etp,
            &["Cluster", "Local"],
        ));
    }
    let needs_health_check = ty == "LoadBalancer" && etp == "Local";
    let hc = spec.health_check_node_port.unwrap_or(0);
    if !needs_health_check {
        if hc != 0 {
            errs.push(FieldError::invalid(&sp.child("healthCheckNodePort"), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
        }
    } else if hc != 0 {
        for m in is_valid_port_num(i64::from(hc)) {
            errs.push(FieldError::invalid(
                &sp.child("healthCheckNodePort"),
                hc,
                &m,
            ));
        }
    }
    if let Some(itp) = &spec.internal_traffic_policy {
        if itp != "Cluster" && itp != "Local" {
            errs.push(FieldError::not_supported(
                &sp.child("internalTrafficPolicy"),
                itp.as_str(),
                &["Cluster", "Local"],
            ));
        }
    }
    if let Some(td) = &spec.traffic_distribution {
        if td != "PreferClose" {
            errs.push(FieldError::not_supported(
                &sp.child("trafficDistribution"),
                td.as_str(),
                &["PreferClose"],
            ));
        }
    }
    errs
}

/// Errors for a Service update: cluster IPs and IP families keep their primary values,
/// `loadBalancerClass` and `healthCheckNodePort` stay, and the new service is valid.
pub fn validate_service_update(new: &Service, old: &Service) -> ErrorList {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    let default_spec = ServiceSpec::default();
    let ns = new.spec.as_ref().unwrap_or(&default_spec);
    let os = old.spec.as_ref().unwrap_or(&default_spec);
    let (nt, ot) = (service_type(ns), service_type(os));
    let ips_path = Path::new("spec").child("clusterIPs");
    let fam_path = Path::new("spec").child("ipFamilies");
    if nt != "ExternalName" && ot != "ExternalName" {
        let (new_ips, old_ips) = (cluster_ips(ns), cluster_ips(os));
        let new_ips_json = Value::from(new_ips.clone());
        let text = go_string_slice(Some(&new_ips));
        if !(is_headless(ns) && is_headless(os)) {
            if new_ips.len() == old_ips.len() {
                for (i, (o, n)) in old_ips.iter().zip(&new_ips).enumerate() {
                    if o != n {
                        errs.push(
                            FieldError::invalid(
                                &ips_path.index(i),
                                new_ips_json.clone(),
                                "may not change once set",
                            )
                            .with_value_text(text.clone()),
                        );
                    }
                }
            } else if old_ips.len() > new_ips.len() {
                if new_ips.is_empty() {
                    errs.push(
                        FieldError::invalid(
                            &ips_path.index(0),
                            new_ips_json.clone(),
                            "primary clusterIP can not be unset",
                        )
                        .with_value_text(text.clone()),
                    );
                }
                if let (Some(o), Some(n)) = (old_ips.first(), new_ips.first()) {
                    if o != n {
                        errs.push(
                            FieldError::invalid(
                                &ips_path.index(0),
                                new_ips_json.clone(),
                                "may not change once set",
                            )
                            .with_value_text(text.clone()),
                        );
                    }
                }
                if new_ips.len() == 1 && s(&ns.ip_family_policy) != "SingleStack" {
                    errs.push(FieldError::invalid(
                        &Path::new("spec").child("ipFamilyPolicy"),
                        to_json(&ns.ip_family_policy),
                        "must be set to 'SingleStack' when releasing the secondary clusterIP",
                    ));
                }
            } else if let (Some(o), Some(n)) = (old_ips.first(), new_ips.first()) {
                if o != n {
                    errs.push(
                        FieldError::invalid(
                            &ips_path.index(0),
                            new_ips_json.clone(),
                            "may not change once set",
                        )
                        .with_value_text(text.clone()),
                    );
                }
            }
        }
        if is_headless(ns) == is_headless(os) && !is_headless(ns) {
            let (nf, of) = (items(&ns.ip_families), items(&os.ip_families));
            let fam_text = go_string_slice(Some(nf));
            if nf.len() == of.len() {
                if nf != of {
                    errs.push(
                        FieldError::invalid(
                            &fam_path.index(0),
                            to_json(&ns.ip_families),
                            "may not change once set",
                        )
                        .with_value_text(fam_text),
                    );
                }
            } else if let (Some(o), Some(n)) = (of.first(), nf.first()) {
                if o != n {
                    errs.push(
                        FieldError::invalid(
                            &fam_path.index(0),
                            new_ips_json,
                            "may not change once set",
                        )
                        .with_value_text(text),
                    );
                }
            }
        }
    }
    if nt == "LoadBalancer"
        && ot == "LoadBalancer"
        && ns.load_balancer_class != os.load_balancer_class
    {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("loadBalancerClass"),
            to_json(&ns.load_balancer_class),
            "may not change once set",
        ));
    }
    let needs = |spec: &ServiceSpec| {
        service_type(spec) == "LoadBalancer" && s(&spec.external_traffic_policy) == "Local"
    };
    if needs(ns) && needs(os) && ns.health_check_node_port != os.health_check_node_port {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("healthCheckNodePort"),
            "field is immutable",
        ));
    }
    errs.extend(validate_service(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    fn svc() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
        })
    }

    #[test]
    fn service_create_rules() {
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", svc(), vec![]),
            ("headless without ports", with(&svc(), json!({"spec": {"ports": null, "clusterIP": "None"}})), vec![]),
            ("external name", json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {"type": "ExternalName", "externalName": "db.example.com."}}), vec![]),
            ("no ports", with(&svc(), json!({"spec": {"ports": []}})), vec!["spec.ports: Required value".into()]),
            (
                "name is a DNS-1035 label",
                with(&svc(), json!({"metadata": {"name": "1web"}})),
                vec!["metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".into()],
            ),
            (
                "several ports need names",
                with(&svc(), json!({"spec": {"ports": [{"port": 80}, {"name": "b", "port": 80}]}})),
                vec!["spec.ports[0].name: Required value".into(), "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}".into()],
            ),
            (
                "port range and target port",
                with(&svc(), json!({"spec": {"ports": [{"port": 0, "targetPort": "HTTP"}]}})),
                vec![
                    "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive".into(),
                    "spec.ports[0].targetPort: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into(),
                    "spec.ports[0].targetPort: Invalid value: \"HTTP\": must contain at least one letter (a-z)".into(),
                ],
            ),
            (
                "node port on cluster IP",
                with(&svc(), json!({"spec": {"ports": [{"port": 80, "nodePort": 30080}]}})),
                vec!["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'".into()],
            ),
            (
                "bad type and affinity",
                with(&svc(), json!({"spec": {"type": "Magic", "sessionAffinity": "Sticky"}})),
                vec![
                    "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"".into(),
                    "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"".into(),
                ],
            ),
            (
                "bad cluster IP",
                with(&svc(), json!({"spec": {"clusterIP": "10.0.0"}})),
                vec!["spec.clusterIPs[0]: Invalid value: \"10.0.0\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into()],
            ),
            (
                "headless node port",
                with(&svc(), json!({"spec": {"type": "NodePort", "clusterIP": "None"}})),
                vec!["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services".into()],
            ),
            (
                "external name required",
                json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {"type": "ExternalName"}}),
                vec!["spec.externalName: Required value".into()],
            ),
            (
                "source ranges need a load balancer",
                with(&svc(), json!({"spec": {"loadBalancerSourceRanges": ["10.0.0.0/8"]}})),
                vec!["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'".into()],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("", "Service", &obj), want, "{name}");
        }
    }

    #[test]
    fn service_update_rules() {
        let old = with(
            &svc(),
            json!({"spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}}),
        );
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("unchanged", old.clone(), vec![]),
            ("new port", with(&old, json!({"spec": {"ports": [{"port": 81}]}})), vec![]),
            (
                "cluster IP changed",
                with(&old, json!({"spec": {"clusterIP": "10.0.0.2", "clusterIPs": ["10.0.0.2"]}})),
                vec!["spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set".into()],
            ),
        ];
        for (name, new, want) in cases {
            assert_eq!(update("", "Service", &new, &old), want, "{name}");
        }
    }
}
