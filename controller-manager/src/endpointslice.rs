//! The `endpointslice` controller: every Service with a selector has EndpointSlices
//! (`discovery.k8s.io/v1`) listing the pods it selects, at most 100 endpoints each, one group
//! of slices per distinct set of resolved ports.
//!
//! Each endpoint carries the pod's address, its conditions (`serving`: the pod is ready;
//! `terminating`: it is being deleted; `ready`: serving and not terminating, or always when
//! the Service publishes not-ready addresses), the node name and the node's
//! `topology.kubernetes.io/zone`, and a reference to the pod. Slices are named
//! `<service>-<random>`, labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, and owned by the
//! Service; a Service with no endpoints keeps one empty slice. Slices of other managers are
//! never touched.

use crate::endpoints::{find_port, pod_in_endpoints, pod_ready, service_key, HEADLESS_LABEL};
use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The label naming a slice's manager.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's name in that label.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// The label naming a slice's Service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The node label holding its zone.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// Most endpoints in one slice.
pub const MAX_ENDPOINTS: usize = 100;

/// The name part of the key meaning "a pod changed in this namespace".
const PODS: &str = "*";

/// One slice's content: address type, ports, endpoints.
pub type Desired = (String, Vec<EndpointPort>, Vec<Endpoint>);

fn address_type(svc: &Service) -> String {
    svc.spec
        .as_ref()
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first().cloned())
        .unwrap_or_else(|| "IPv4".into())
}

/// The slices a Service should have for `pods` (those its selector matches); `zones` maps
/// node names to zones.
pub fn desired_slices(
    svc: &Service,
    pods: &[&Pod],
    zones: &BTreeMap<String, String>,
) -> Vec<Desired> {
    let spec = svc.spec.clone().unwrap_or_default();
    let publish = spec.publish_not_ready_addresses.unwrap_or(false);
    let svc_name = svc.metadata.name.clone().unwrap_or_default();
    let family = address_type(svc);
    let ports = spec.ports.clone().unwrap_or_default();
    let mut groups: BTreeMap<String, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
    for pod in pods {
        if !pod_in_endpoints(pod, true) {
            continue;
        }
        let status = pod.status.clone().unwrap_or_default();
        let ips: Vec<String> = status
            .pod_ips
            .iter()
            .flatten()
            .map(|p| p.ip.clone())
            .chain(status.pod_ip.clone())
            .collect();
        let Some(ip) = ips
            .into_iter()
            .find(|ip| ip.contains(':') == (family == "IPv6"))
        else {
            continue;
        };
        let resolved: Vec<EndpointPort> = ports
            .iter()
            .filter_map(|p| {
                find_port(pod, p).map(|n| EndpointPort {
                    name: Some(p.name.clone().unwrap_or_default()),
                    port: Some(n),
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        if resolved.is_empty() && !ports.is_empty() {
            continue;
        }
        let pod_spec = pod.spec.clone().unwrap_or_default();
        let serving = pod_ready(pod);
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let node = pod_spec.node_name.clone().filter(|n| !n.is_empty());
        let endpoint = Endpoint {
            addresses: vec![ip],
            conditions: Some(EndpointConditions {
                ready: Some(publish || (serving && !terminating)),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname: pod_spec
                .hostname
                .clone()
                .filter(|h| !h.is_empty() && pod_spec.subdomain.as_deref() == Some(&svc_name)),
            zone: node.as_ref().and_then(|n| zones.get(n).cloned()),
            node_name: node,
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..ObjectReference::default()
            }),
            ..Endpoint::default()
        };
        let key = serde_json::to_string(&resolved).unwrap_or_default();
        groups
            .entry(key)
            .or_insert_with(|| (resolved, Vec::new()))
            .1
            .push(endpoint);
    }
    let mut slices = Vec::new();
    for (_, (ports, mut endpoints)) in groups {
        endpoints.sort_by(|a, b| a.addresses.cmp(&b.addresses));
        for chunk in endpoints.chunks(MAX_ENDPOINTS) {
            slices.push((family.clone(), ports.clone(), chunk.to_vec()));
        }
    }
    if slices.is_empty() {
        // A placeholder, so clients see the Service has no endpoints rather than no slices.
        slices.push((family, Vec::new(), Vec::new()));
    }
    slices
}

fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    let headless = svc
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .is_some_and(|ip| ip == "None");
    if headless {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels.insert(
        SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(MANAGED_BY.into(), CONTROLLER_NAME.into());
    labels
}

fn owner(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Syncs the EndpointSlices of Service `ns/name`.
pub async fn sync(client: kube::Client, key: String) -> Result<Outcome, SyncError> {
    let Some((ns, name)) = key.split_once('/') else {
        return Ok(Outcome::Done);
    };
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let slices_api: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    let svc = services
        .get_opt(name)
        .await
        .map_err(SyncError::api("reading service", &key))?;
    let ours = ListParams::default().labels(&format!(
        "{SERVICE_NAME}={name},{MANAGED_BY}={CONTROLLER_NAME}"
    ));
    let mut existing = slices_api
        .list(&ours)
        .await
        .map_err(SyncError::api("listing endpointslices", &key))?
        .items;
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let svc = match svc {
        Some(svc)
            if crate::endpoints::selector_of(&svc).is_some()
                && svc.metadata.deletion_timestamp.is_none() =>
        {
            svc
        }
        // Gone, or no longer selecting: our slices go.
        _ => {
            for s in existing {
                let slice_name = s.metadata.name.unwrap_or_default();
                match slices_api
                    .delete(&slice_name, &DeleteParams::default())
                    .await
                {
                    Ok(_) => {}
                    Err(err) if is_status(&err, 404) => {}
                    Err(err) => {
                        return Err(SyncError::api("deleting endpointslice", &slice_name)(err))
                    }
                }
            }
            return Ok(Outcome::Done);
        }
    };
    let pods = crate::endpoints::selected_pods(&client, &svc).await?;
    let selected: Vec<&Pod> = pods.iter().collect();
    // Zones of the nodes the pods run on.
    let mut zones = BTreeMap::new();
    let nodes: Api<Node> = Api::all(client.clone());
    let mut names: Vec<String> = selected
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect();
    names.sort();
    names.dedup();
    for n in names {
        if let Ok(Some(node)) = nodes.get_opt(&n).await {
            if let Some(zone) = node
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ZONE_LABEL))
            {
                zones.insert(n, zone.clone());
            }
        }
    }
    let desired = desired_slices(&svc, &selected, &zones);
    let labels = slice_labels(&svc);
    let mut existing = existing.into_iter();
    for (family, ports, endpoints) in desired {
        match existing.next() {
            Some(mut slice) if slice.address_type == family => {
                let ports = Some(ports);
                if slice.endpoints == endpoints
                    && slice.ports == ports
                    && slice.metadata.labels.as_ref() == Some(&labels)
                {
                    continue;
                }
                slice.endpoints = endpoints;
                slice.ports = ports;
                slice.metadata.labels = Some(labels.clone());
                let slice_name = slice.metadata.name.clone().unwrap_or_default();
                match slices_api
                    .replace(&slice_name, &PostParams::default(), &slice)
                    .await
                {
                    Ok(_) => {}
                    Err(err) if is_status(&err, 404) => {}
                    Err(err) => {
                        return Err(SyncError::api("updating endpointslice", &slice_name)(err))
                    }
                }
            }
            other => {
                if let Some(stale) = other {
                    // The address type cannot change in place.
                    let slice_name = stale.metadata.name.unwrap_or_default();
                    match slices_api
                        .delete(&slice_name, &DeleteParams::default())
                        .await
                    {
                        Ok(_) => {}
                        Err(err) if is_status(&err, 404) => {}
                        Err(err) => {
                            return Err(SyncError::api("deleting endpointslice", &slice_name)(err))
                        }
                    }
                }
                let mut slice = EndpointSlice {
                    address_type: family,
                    endpoints,
                    ports: Some(ports),
                    ..EndpointSlice::default()
                };
                slice.metadata.generate_name = Some(format!("{name}-"));
                slice.metadata.namespace = Some(ns.to_owned());
                slice.metadata.labels = Some(labels.clone());
                slice.metadata.owner_references = Some(vec![owner(&svc)]);
                match slices_api.create(&PostParams::default(), &slice).await {
                    Ok(_) => {}
                    Err(err) if is_status(&err, 403) => {}
                    Err(err) => return Err(SyncError::api("creating endpointslice", &key)(err)),
                }
            }
        }
    }
    for surplus in existing {
        let slice_name = surplus.metadata.name.unwrap_or_default();
        match slices_api
            .delete(&slice_name, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => {}
            Err(err) => return Err(SyncError::api("deleting endpointslice", &slice_name)(err)),
        }
    }
    Ok(Outcome::Done)
}

async fn fan_out(
    client: kube::Client,
    queue: Arc<WorkQueue>,
    ns: &str,
) -> Result<Outcome, SyncError> {
    crate::endpoints::fan_out(client, queue, ns).await
}

/// The key a slice event queues: its Service, when this controller manages it.
fn slice_key(slice: &EndpointSlice) -> Option<String> {
    let labels = slice.metadata.labels.as_ref()?;
    (labels.get(MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME)).then_some(())?;
    Some(format!(
        "{}/{}",
        slice.metadata.namespace.as_deref()?,
        labels.get(SERVICE_NAME)?
    ))
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    crate::endpoints::follow_pods(&ctx, &queue);
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
        hints::feed(
            "endpointslices",
            Api::<EndpointSlice>::all(client.clone()),
            None,
            queue.clone(),
            slice_key,
            ctx.resync,
        ),
        queue::run_workers("endpointslice", queue.clone(), ctx.endpoint_workers, {
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

    fn pod(name: &str, ip: &str, ready: bool, node: &str, deleting: bool) -> Pod {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("u-{name}")},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i",
                "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": ip, "phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        serde_json::from_value(v).unwrap()
    }

    fn service() -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "ns", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}))
        .unwrap()
    }

    #[test]
    fn endpoints_carry_conditions_zones_and_ports() {
        let zones = BTreeMap::from([("n1".to_owned(), "z1".to_owned())]);
        let a = pod("a", "10.0.0.1", true, "n1", false);
        let b = pod("b", "10.0.0.2", false, "n2", false);
        let c = pod("c", "10.0.0.3", true, "n1", true);
        let slices = desired_slices(&service(), &[&c, &b, &a], &zones);
        assert_eq!(slices.len(), 1);
        let (family, ports, endpoints) = &slices[0];
        assert_eq!(family, "IPv4");
        assert_eq!(ports[0].port, Some(8080));
        assert_eq!(ports[0].name.as_deref(), Some("web"));
        let conds: Vec<(bool, bool, bool)> = endpoints
            .iter()
            .map(|e| {
                let c = e.conditions.clone().unwrap();
                (c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
            })
            .collect();
        assert_eq!(
            conds,
            [
                (true, true, false),
                (false, false, false),
                (false, true, true)
            ]
        );
        assert_eq!(endpoints[0].zone.as_deref(), Some("z1"));
        assert_eq!(endpoints[1].zone, None);
        assert_eq!(endpoints[0].node_name.as_deref(), Some("n1"));
    }

    #[test]
    fn large_services_are_split_and_empty_ones_keep_a_placeholder() {
        let pods: Vec<Pod> = (0..250)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    &format!("10.0.{}.{}", i / 200, i % 200 + 1),
                    true,
                    "n",
                    false,
                )
            })
            .collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        let slices = desired_slices(&service(), &refs, &BTreeMap::new());
        let sizes: Vec<usize> = slices.iter().map(|s| s.2.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let empty = desired_slices(&service(), &[], &BTreeMap::new());
        assert_eq!(empty.len(), 1);
        assert!(empty[0].1.is_empty() && empty[0].2.is_empty());
    }

    #[test]
    fn labels_name_the_service_and_the_manager() {
        let l = slice_labels(&service());
        assert_eq!(l.get(SERVICE_NAME).map(String::as_str), Some("web"));
        assert_eq!(l.get(MANAGED_BY).map(String::as_str), Some(CONTROLLER_NAME));
        assert_eq!(l.get("team").map(String::as_str), Some("a"));
    }
}
