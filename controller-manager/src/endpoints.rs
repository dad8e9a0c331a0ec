//! The `endpoint` controller: every Service with a selector has an Endpoints object of the
//! same name listing the addresses of the pods it selects, ready ones under `addresses` and
//! the others under `notReadyAddresses`, with the ports resolved per pod (a named target port
//! is looked up among the pod's container ports).
//!
//! A Service without a selector is left alone (its Endpoints are someone else's, like the
//! `kubernetes` Service's); a deleted Service's Endpoints are deleted. Pods without an IP,
//! terminating pods (unless the Service publishes not-ready addresses) and pods that will not
//! run again are left out, as in Kubernetes.

use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Resource;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The label Kubernetes puts on the Endpoints of a headless Service.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The name part of the key meaning "a pod changed in this namespace".
pub const PODS: &str = "*";

/// Whether `pod` belongs in a Service's endpoints (`include_terminating`: whether a pod marked
/// for deletion still does).
pub fn pod_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let status = pod.status.as_ref();
    let has_ip = status.is_some_and(|s| {
        s.pod_ip.as_deref().is_some_and(|ip| !ip.is_empty())
            || s.pod_ips.as_ref().is_some_and(|ips| !ips.is_empty())
    });
    if !has_ip {
        return false;
    }
    if !include_terminating && pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let phase = status.and_then(|s| s.phase.as_deref());
    match pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) {
        Some("Never") => !matches!(phase, Some("Failed" | "Succeeded")),
        Some("OnFailure") => phase != Some("Succeeded"),
        _ => true,
    }
}

/// Whether the pod's Ready condition is True.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod's IP (the first of its IPs).
pub fn pod_ip(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    status
        .pod_ip
        .clone()
        .filter(|ip| !ip.is_empty())
        .or_else(|| status.pod_ips.as_ref()?.first().map(|p| p.ip.clone()))
}

/// The container port a Service port reaches on `pod`: a number as it is, a name looked up
/// among the pod's container ports of the same protocol; `None` when the pod has no such port.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match port.target_port.as_ref() {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            if let Ok(n) = name.parse::<i32>() {
                return Some(n);
            }
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// The Service's selector, when it has a non-empty one (a Service without is left alone).
pub fn selector_of(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

/// The pods of the Service's namespace its selector matches (none without a selector), read
/// fresh from the API.
pub async fn selected_pods(client: &kube::Client, svc: &Service) -> Result<Vec<Pod>, SyncError> {
    let Some(selector) = selector_of(svc) else {
        return Ok(Vec::new());
    };
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let listed = pods
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api(
            "listing pods for service",
            &format!("{ns}/{}", svc.metadata.name.as_deref().unwrap_or_default()),
        ))?;
    Ok(listed
        .items
        .into_iter()
        .filter(|p| {
            let labels = p.metadata.labels.as_ref();
            selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
        .collect())
}

fn is_headless(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .is_some_and(|ip| ip == "None")
}

/// The subsets of a Service's Endpoints for `pods` (already those its selector matches):
/// pods with the same resolved ports share a subset; addresses sorted by IP.
pub fn subsets_for(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let spec = svc.spec.clone().unwrap_or_default();
    let publish = spec.publish_not_ready_addresses.unwrap_or(false);
    let svc_name = svc.metadata.name.clone().unwrap_or_default();
    let ports = spec.ports.clone().unwrap_or_default();
    // Resolved port list (as JSON text, for grouping) → (ports, ready, not ready).
    type Group = (
        Vec<EndpointPort>,
        Vec<EndpointAddress>,
        Vec<EndpointAddress>,
    );
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods {
        if !pod_in_endpoints(pod, publish) {
            continue;
        }
        let Some(ip) = pod_ip(pod) else { continue };
        let pod_spec = pod.spec.clone().unwrap_or_default();
        let hostname = pod_spec
            .hostname
            .clone()
            .filter(|h| !h.is_empty() && pod_spec.subdomain.as_deref() == Some(svc_name.as_str()));
        let address = EndpointAddress {
            ip,
            hostname,
            node_name: pod_spec.node_name.clone().filter(|n| !n.is_empty()),
            target_ref: Some(target_ref(pod)),
        };
        let resolved: Vec<EndpointPort> = ports
            .iter()
            .filter_map(|p| {
                find_port(pod, p).map(|n| EndpointPort {
                    name: p.name.clone(),
                    port: n,
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        if resolved.is_empty() && !(ports.is_empty() && is_headless(svc)) {
            continue;
        }
        let key = serde_json::to_string(&resolved).unwrap_or_default();
        let group = groups
            .entry(key)
            .or_insert_with(|| (resolved, Vec::new(), Vec::new()));
        if publish || pod_ready(pod) {
            group.1.push(address);
        } else {
            group.2.push(address);
        }
    }
    let mut subsets: Vec<EndpointSubset> = groups
        .into_values()
        .map(|(mut ports, mut ready, mut not_ready)| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect();
    subsets.sort_by_key(|s| {
        s.addresses
            .iter()
            .chain(s.not_ready_addresses.iter())
            .flatten()
            .map(|a| a.ip.clone())
            .next()
    });
    subsets
}

/// Syncs the Endpoints of Service `ns/name`.
pub async fn sync(client: kube::Client, key: String) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), ns);
    let svc = services
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading service", &key))?;
    let Some(svc) = svc else {
        // The Service is gone: so are its Endpoints (unless they belong to another owner).
        match endpoints.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => {}
            Err(err) => return Err(SyncError::api("deleting endpoints", &key)(err)),
        }
        return Ok(Outcome::Done);
    };
    if selector_of(&svc).is_none() || svc.metadata.deletion_timestamp.is_some() {
        return Ok(Outcome::Done);
    }
    let pods = selected_pods(&client, &svc).await?;
    let selected: Vec<&Pod> = pods.iter().collect();
    let subsets = subsets_for(&svc, &selected);
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    if is_headless(&svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    let current = endpoints
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading endpoints", &key))?;
    let subsets = (!subsets.is_empty()).then_some(subsets);
    match current {
        Some(mut ep) => {
            let same_labels = ep.metadata.labels.clone().unwrap_or_default() == labels;
            if ep.subsets == subsets && same_labels {
                return Ok(Outcome::Done);
            }
            ep.subsets = subsets;
            ep.metadata.labels = Some(labels);
            match endpoints.replace(name, &PostParams::default(), &ep).await {
                Ok(_) => {}
                Err(err) if is_status(&err, 404) => {}
                Err(err) => return Err(SyncError::api("updating endpoints", &key)(err)),
            }
        }
        None => {
            let mut ep = Endpoints {
                subsets,
                ..Endpoints::default()
            };
            ep.metadata.name = Some(name.to_owned());
            ep.metadata.namespace = Some(ns.to_owned());
            ep.metadata.labels = Some(labels);
            match endpoints.create(&PostParams::default(), &ep).await {
                Ok(_) => {}
                // Created meanwhile; the next event brings another sync. A terminating
                // namespace refuses new objects, which is fine.
                Err(err) if is_status(&err, 409) || is_status(&err, 403) => {}
                Err(err) => return Err(SyncError::api("creating endpoints", &key)(err)),
            }
        }
    }
    Ok(Outcome::Done)
}

/// Queues every Service of namespace `ns` that has a selector.
pub async fn fan_out(
    client: kube::Client,
    queue: Arc<WorkQueue>,
    ns: &str,
) -> Result<Outcome, SyncError> {
    let services: Api<Service> = Api::namespaced(client, ns);
    let list = services
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing services", ns))?;
    for svc in &list.items {
        if selector_of(svc).is_some() {
            if let Some(name) = svc.metadata.name.as_deref() {
                queue.add(&format!("{ns}/{name}"));
            }
        }
    }
    Ok(Outcome::Done)
}

/// The key a Service event queues.
pub fn service_key(svc: &Service) -> Option<String> {
    Some(format!(
        "{}/{}",
        svc.meta().namespace.as_deref()?,
        svc.meta().name.as_deref()?
    ))
}

/// Queues `namespace/*` (every Service of the pod's namespace is looked at) for every pod
/// change the controller manager's shared pod copy reports (no watch of its own).
pub fn follow_pods(ctx: &Context, queue: &Arc<WorkQueue>) {
    let queue = queue.clone();
    ctx.pods.subscribe(Box::new(move |old, new| {
        if let Some(pod) = new.or(old) {
            queue.add(&format!("{}/{PODS}", pod.namespace));
        }
    }));
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    follow_pods(&ctx, &queue);
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            "services",
            Api::<Service>::all(client.clone()),
            None,
            queue.clone(),
            service_key,
            ctx.resync,
        ),
        queue::run_workers("endpoint", queue.clone(), ctx.endpoint_workers, {
            let queue = queue.clone();
            move |key: String| {
                let (client, queue) = (client.clone(), queue.clone());
                async move {
                    match key.split_once('/') {
                        Some((ns, PODS)) => fan_out(client, queue, ns).await,
                        _ => sync(client, key).await,
                    }
                }
            }
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ip: &str, ready: bool, extra: serde_json::Value) -> Pod {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("u-{name}"), "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": ip, "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        merge(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn service(spec: serde_json::Value) -> Service {
        serde_json::from_value(
            json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": spec}),
        )
        .unwrap()
    }

    #[test]
    fn ready_and_unready_pods_split_and_named_ports_resolve() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [
            {"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]}));
        let a = pod("a", "10.0.0.2", true, json!({}));
        let b = pod("b", "10.0.0.1", false, json!({}));
        let no_ip = pod("c", "", true, json!({}));
        let subsets = subsets_for(&svc, &[&a, &b, &no_ip]);
        assert_eq!(subsets.len(), 1);
        let s = &subsets[0];
        let ips = |v: &Option<Vec<EndpointAddress>>| {
            v.iter().flatten().map(|a| a.ip.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ips(&s.addresses), ["10.0.0.2"]);
        assert_eq!(ips(&s.not_ready_addresses), ["10.0.0.1"]);
        let ports = s.ports.as_ref().unwrap();
        assert_eq!(
            (ports[0].name.as_deref(), ports[0].port),
            (Some("web"), 8080)
        );
        let addr = &s.addresses.as_ref().unwrap()[0];
        assert_eq!(addr.node_name.as_deref(), Some("n1"));
        assert_eq!(
            addr.target_ref.as_ref().unwrap().uid.as_deref(),
            Some("u-a")
        );
    }

    #[test]
    fn publishing_not_ready_addresses_includes_terminating_pods_as_ready() {
        let svc = service(
            json!({"selector": {"app": "web"}, "publishNotReadyAddresses": true,
            "ports": [{"port": 80, "targetPort": 9000}]}),
        );
        let unready = pod("a", "10.0.0.1", false, json!({}));
        let going = pod(
            "b",
            "10.0.0.2",
            true,
            json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}),
        );
        let subsets = subsets_for(&svc, &[&unready, &going]);
        assert_eq!(subsets[0].addresses.as_ref().unwrap().len(), 2);
        assert!(subsets[0].not_ready_addresses.is_none());
        assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 9000);
        // Without publishing, the terminating pod is left out.
        let svc = service(
            json!({"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 9000}]}),
        );
        let subsets = subsets_for(&svc, &[&unready, &going]);
        assert!(subsets[0].addresses.is_none());
        assert_eq!(subsets[0].not_ready_addresses.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn pods_without_the_named_port_are_left_out_and_finished_pods_too() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [
            {"port": 80, "targetPort": "metrics"}]}));
        let a = pod("a", "10.0.0.1", true, json!({}));
        assert!(subsets_for(&svc, &[&a]).is_empty());
        let done = pod(
            "d",
            "10.0.0.3",
            true,
            json!({"spec": {"restartPolicy": "Never"}, "status": {"phase": "Succeeded"}}),
        );
        assert!(!pod_in_endpoints(&done, true));
    }

    #[test]
    fn headless_services_without_ports_list_addresses_and_hostnames() {
        let svc = service(json!({"selector": {"app": "web"}, "clusterIP": "None"}));
        let a = pod(
            "a",
            "10.0.0.1",
            true,
            json!({"spec": {"hostname": "a0", "subdomain": "web"}}),
        );
        let subsets = subsets_for(&svc, &[&a]);
        assert_eq!(subsets.len(), 1);
        assert!(subsets[0].ports.is_none());
        assert_eq!(
            subsets[0].addresses.as_ref().unwrap()[0]
                .hostname
                .as_deref(),
            Some("a0")
        );
    }
}
