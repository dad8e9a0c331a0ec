//! Events about pods (`Pulling`, `Pulled`, `Created`, `Started`, `Killing`, `BackOff`,
//! `Failed`, `FailedMount`, ...), recorded as core/v1 Events from the component `kubelet` on
//! this host. Recording never blocks a worker: each Event is posted by its own task and a
//! failure is only logged.

use berth_api_types::k8s::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use berth_api_types::k8s::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;

/// Whether an Event reports something normal or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

/// Posts Events for the pods of one node.
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    node: String,
}

/// The Event for `pod` (and `container`, when it concerns one) at `now`.
pub fn event(
    node: &str,
    pod: &Pod,
    container: Option<&str>,
    kind: Kind,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Event {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let field_path = container.map(|c| {
        let init = pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.as_ref())
            .is_some_and(|ics| ics.iter().any(|i| i.name == c));
        if init {
            format!("spec.initContainers{{{c}}}")
        } else {
            format!("spec.containers{{{c}}}")
        }
    });
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(ns.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name),
            namespace: Some(ns),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path,
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(match kind {
            Kind::Normal => "Normal".into(),
            Kind::Warning => "Warning".into(),
        }),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some(node.into()),
        }),
        reporting_component: Some("kubelet".into()),
        reporting_instance: Some(node.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: None::<MicroTime>,
        count: Some(1),
        ..Event::default()
    }
}

impl Recorder {
    /// A recorder for `node`.
    pub fn new(client: Client, node: String) -> Recorder {
        Recorder { client, node }
    }

    /// Records one Event in the background.
    pub fn record(
        &self,
        pod: &Pod,
        container: Option<&str>,
        kind: Kind,
        reason: &str,
        message: &str,
    ) {
        let ev = event(
            &self.node,
            pod,
            container,
            kind,
            reason,
            message,
            Timestamp::now(),
        );
        let api: Api<Event> = Api::namespaced(
            self.client.clone(),
            ev.metadata.namespace.as_deref().unwrap_or("default"),
        );
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &ev).await {
                tracing::debug!(error = %e, reason = ?ev.reason, "recording an event failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_the_container_by_field_path() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]}
        }))
        .unwrap();
        let e = event(
            "n1",
            &pod,
            Some("i"),
            Kind::Normal,
            "Started",
            "Started container i",
            Timestamp::from_second(5).unwrap(),
        );
        assert_eq!(
            e.involved_object.field_path.as_deref(),
            Some("spec.initContainers{i}")
        );
        assert_eq!(e.source.unwrap().host.as_deref(), Some("n1"));
        let e = event(
            "n1",
            &pod,
            Some("c"),
            Kind::Warning,
            "BackOff",
            "m",
            Timestamp::from_second(5).unwrap(),
        );
        assert_eq!(
            e.involved_object.field_path.as_deref(),
            Some("spec.containers{c}")
        );
        assert_eq!(e.type_.as_deref(), Some("Warning"));
    }
}
