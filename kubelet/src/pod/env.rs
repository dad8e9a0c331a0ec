//! A container's environment: literal values with `$(VAR)` expansion, ConfigMap and Secret
//! keys (one by one or whole with `envFrom`), the pod's own fields and the container's
//! resources. Pure: the worker fetches the referenced ConfigMaps and Secrets first
//! ([`references`]) and hands them in as [`Sources`].

use berth_api_types::k8s::api::core::v1::{
    ConfigMap, Container, Pod, ResourceRequirements, Secret,
};
use berth_api_types::validation::quantity::Quantity;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// ConfigMaps and Secrets of the pod's namespace by name; `None` for one that does not exist.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// ConfigMaps by name.
    pub config_maps: HashMap<String, Option<ConfigMap>>,
    /// Secrets by name.
    pub secrets: HashMap<String, Option<Secret>>,
}

/// Facts about the running pod its environment can name.
#[derive(Debug, Default, Clone)]
pub struct PodFacts {
    /// The node's address.
    pub host_ip: String,
    /// The pod's addresses, first the primary one.
    pub pod_ips: Vec<String>,
    /// Node allocatable CPU in millicores and memory and ephemeral storage in bytes: what a
    /// container without limits is limited by.
    pub allocatable: BTreeMap<String, i64>,
}

/// Why an environment could not be built; the text is the container's waiting message
/// (reason `CreateContainerConfigError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

/// The ConfigMaps and Secrets a container's environment names, in that order.
pub fn references(c: &Container) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for e in c.env.iter().flatten() {
        if let Some(src) = &e.value_from {
            if let Some(r) = &src.config_map_key_ref {
                cms.insert(r.name.clone());
            }
            if let Some(r) = &src.secret_key_ref {
                secrets.insert(r.name.clone());
            }
        }
    }
    for f in c.env_from.iter().flatten() {
        if let Some(r) = &f.config_map_ref {
            cms.insert(r.name.clone());
        }
        if let Some(r) = &f.secret_ref {
            secrets.insert(r.name.clone());
        }
    }
    (cms, secrets)
}

/// Expands `$(NAME)` references to defined variables; `$$` is a literal `$`; undefined
/// references stay as written.
pub fn expand(input: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            if bytes[i + 1] == b'$' {
                out.push('$');
                i += 2;
                continue;
            }
            if bytes[i + 1] == b'(' {
                if let Some(end) = input[i + 2..].find(')') {
                    let name = &input[i + 2..i + 2 + end];
                    if let Some(v) = vars(name) {
                        out.push_str(&v);
                    } else {
                        out.push_str(&input[i..i + 3 + end]);
                    }
                    i += 3 + end;
                    continue;
                }
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn secret_value(s: &Secret, key: &str) -> Option<String> {
    if let Some(v) = s.data.as_ref().and_then(|d| d.get(key)) {
        return Some(String::from_utf8_lossy(&v.0).into_owned());
    }
    s.string_data.as_ref().and_then(|d| d.get(key)).cloned()
}

/// The value of a `fieldRef` path.
pub fn field_value(pod: &Pod, facts: &PodFacts, path: &str) -> Result<String, EnvError> {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let keyed = |prefix: &str, map: &Option<BTreeMap<String, String>>| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(
            map.as_ref()
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or_default(),
        )
    };
    if let Some(v) = keyed("metadata.labels['", &meta.labels) {
        return Ok(v);
    }
    if let Some(v) = keyed("metadata.annotations['", &meta.annotations) {
        return Ok(v);
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.node_name.unwrap_or_default(),
        "spec.serviceAccountName" => spec.service_account_name.unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone(),
        "status.podIP" => facts.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => facts.pod_ips.join(","),
        other => return Err(EnvError(format!("unsupported fieldRef path {other:?}"))),
    })
}

/// The value of a `resourceFieldRef` of `container`: its limit (else the node's allocatable)
/// or request, divided by `divisor` and rounded up.
pub fn resource_value(
    resources: Option<&ResourceRequirements>,
    facts: &PodFacts,
    resource: &str,
    divisor: Option<&str>,
) -> Result<String, EnvError> {
    let (kind, name) = resource
        .split_once('.')
        .ok_or_else(|| EnvError(format!("unsupported resourceFieldRef {resource:?}")))?;
    let cpu = name == "cpu";
    let quantity = |list: Option<&BTreeMap<String, _>>| -> Option<i64> {
        let q: &berth_api_types::k8s::apimachinery::pkg::api::resource::Quantity =
            list?.get(name)?;
        let q = Quantity::parse(&q.0)?;
        Some(if cpu { q.milli_value() } else { q.value() })
    };
    let value = match kind {
        "limits" => quantity(resources.and_then(|r| r.limits.as_ref())),
        "requests" => quantity(resources.and_then(|r| r.requests.as_ref())),
        _ => {
            return Err(EnvError(format!(
                "unsupported resourceFieldRef {resource:?}"
            )))
        }
    };
    let value = match (kind, value) {
        (_, Some(v)) => v,
        ("limits", None) => facts.allocatable.get(name).copied().unwrap_or(0),
        _ => 0,
    };
    let divisor = divisor
        .and_then(Quantity::parse)
        .map(|q| if cpu { q.milli_value() } else { q.value() })
        .filter(|d| *d > 0)
        .unwrap_or(if cpu { 1000 } else { 1 });
    // Upstream rounds up and never reports less than one unit for a non-zero amount.
    let n = (value + divisor - 1) / divisor;
    Ok(n.to_string())
}

/// The container's environment in order, later definitions of a name replacing earlier ones
/// (`envFrom` first, then `env`), each value expanded against those before it.
pub fn resolve(
    pod: &Pod,
    c: &Container,
    sources: &Sources,
    facts: &PodFacts,
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out: Vec<(String, String)> = Vec::new();
    let set = |out: &mut Vec<(String, String)>, k: String, v: String| {
        if let Some(slot) = out.iter_mut().find(|(n, _)| *n == k) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    };
    for f in c.env_from.iter().flatten() {
        let prefix = f.prefix.clone().unwrap_or_default();
        if let Some(r) = &f.config_map_ref {
            match sources.config_maps.get(&r.name).cloned().flatten() {
                Some(cm) => {
                    for (k, v) in cm.data.unwrap_or_default() {
                        set(&mut out, format!("{prefix}{k}"), v);
                    }
                }
                None if r.optional.unwrap_or(false) => {}
                None => return Err(EnvError(format!("configmap \"{}\" not found", r.name))),
            }
        }
        if let Some(r) = &f.secret_ref {
            match sources.secrets.get(&r.name).cloned().flatten() {
                Some(s) => {
                    for (k, v) in s.data.unwrap_or_default() {
                        set(
                            &mut out,
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(&v.0).into_owned(),
                        );
                    }
                }
                None if r.optional.unwrap_or(false) => {}
                None => return Err(EnvError(format!("secret \"{}\" not found", r.name))),
            }
        }
    }
    for e in c.env.iter().flatten() {
        let value = if let Some(src) = &e.value_from {
            if let Some(r) = &src.config_map_key_ref {
                let optional = r.optional.unwrap_or(false);
                match sources.config_maps.get(&r.name).cloned().flatten() {
                    None if optional => continue,
                    None => return Err(EnvError(format!("configmap \"{}\" not found", r.name))),
                    Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(EnvError(format!(
                                "couldn't find key {} in ConfigMap {ns}/{}",
                                r.key, r.name
                            )))
                        }
                    },
                }
            } else if let Some(r) = &src.secret_key_ref {
                let optional = r.optional.unwrap_or(false);
                match sources.secrets.get(&r.name).cloned().flatten() {
                    None if optional => continue,
                    None => return Err(EnvError(format!("secret \"{}\" not found", r.name))),
                    Some(s) => match secret_value(&s, &r.key) {
                        Some(v) => v,
                        None if optional => continue,
                        None => {
                            return Err(EnvError(format!(
                                "couldn't find key {} in Secret {ns}/{}",
                                r.key, r.name
                            )))
                        }
                    },
                }
            } else if let Some(r) = &src.field_ref {
                field_value(pod, facts, &r.field_path)?
            } else if let Some(r) = &src.resource_field_ref {
                let target = match r.container_name.as_deref() {
                    Some(name) if !name.is_empty() && name != c.name => pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.containers.iter().find(|x| x.name == name))
                        .and_then(|x| x.resources.clone()),
                    _ => c.resources.clone(),
                };
                resource_value(
                    target.as_ref(),
                    facts,
                    &r.resource,
                    r.divisor.as_ref().map(|d| d.0.as_str()),
                )?
            } else {
                String::new()
            }
        } else {
            let raw = e.value.clone().unwrap_or_default();
            let snapshot = out.clone();
            expand(&raw, &|name| {
                snapshot
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        set(&mut out, e.name.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api_types::k8s::ByteString;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}]}
        }))
        .unwrap()
    }

    fn container(env: serde_json::Value) -> Container {
        let mut c = pod().spec.unwrap().containers.remove(0);
        let extra: Container =
            serde_json::from_value(serde_json::json!({"name": "c", "env": env})).unwrap();
        c.env = extra.env;
        c
    }

    fn sources() -> Sources {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "cfg"}, "data": {"color": "blue", "size": "L"}}))
        .unwrap();
        let secret = Secret {
            data: Some(BTreeMap::from([(
                "pw".to_string(),
                ByteString(b"hunter2".to_vec()),
            )])),
            ..Secret::default()
        };
        Sources {
            config_maps: HashMap::from([("cfg".into(), Some(cm)), ("gone".into(), None)]),
            secrets: HashMap::from([("s".into(), Some(secret))]),
        }
    }

    fn facts() -> PodFacts {
        PodFacts {
            host_ip: "10.250.0.11".into(),
            pod_ips: vec!["10.244.1.2".into()],
            allocatable: BTreeMap::from([("cpu".into(), 2000), ("memory".into(), 1 << 30)]),
        }
    }

    #[test]
    fn every_source_kind_resolves() {
        let c = container(serde_json::json!([
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$(MISSING)-$$(A)"},
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
            {"name": "CPULIM", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": true}}}
        ]));
        let env = resolve(&pod(), &c, &sources(), &facts()).unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("B"), Some("x-$(MISSING)-$(A)"));
        assert_eq!(get("COLOR"), Some("blue"));
        assert_eq!(get("PW"), Some("hunter2"));
        assert_eq!(get("NODE"), Some("n1"));
        assert_eq!(get("APP"), Some("web"));
        assert_eq!(get("IP"), Some("10.244.1.2"));
        assert_eq!(get("MEM"), Some("64"));
        assert_eq!(get("CPU"), Some("250"));
        assert_eq!(get("CPULIM"), Some("2"));
        assert_eq!(get("OPT"), None);
    }

    #[test]
    fn missing_required_sources_give_upstream_messages() {
        let c = container(serde_json::json!([
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]));
        assert_eq!(
            resolve(&pod(), &c, &sources(), &facts()).unwrap_err().0,
            "configmap \"gone\" not found"
        );
        let c = container(serde_json::json!([
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nokey"}}}]));
        assert_eq!(
            resolve(&pod(), &c, &sources(), &facts()).unwrap_err().0,
            "couldn't find key nokey in ConfigMap ns/cfg"
        );
    }

    #[test]
    fn env_from_applies_prefixes_and_env_wins() {
        let mut c = container(serde_json::json!([{"name": "P_color", "value": "red"}]));
        c.env_from = Some(vec![serde_json::from_value(serde_json::json!(
            {"prefix": "P_", "configMapRef": {"name": "cfg"}}))
        .unwrap()]);
        let env = resolve(&pod(), &c, &sources(), &facts()).unwrap();
        assert_eq!(
            env,
            vec![
                ("P_color".into(), "red".into()),
                ("P_size".into(), "L".into())
            ]
        );
        let (cms, secrets) = references(&c);
        assert!(cms.contains("cfg") && secrets.is_empty());
    }
}
