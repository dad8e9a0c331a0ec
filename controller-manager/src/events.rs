//! Recording core/v1 Events about the objects controllers act on, so `kubectl describe` shows
//! what happened. Best effort: a failed write is logged and never fails a sync.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, PostParams};

/// Event type of routine actions.
pub const NORMAL: &str = "Normal";
/// Event type of failures.
pub const WARNING: &str = "Warning";

/// Writes one Event about `object` from `component`.
pub async fn record(
    client: &kube::Client,
    component: &str,
    object: &ObjectReference,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let ns = object.namespace.clone().unwrap_or_else(|| "default".into());
    let now = Timestamp::now();
    let mut event = Event {
        involved_object: object.clone(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some(type_.to_owned()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        reporting_component: Some(component.to_owned()),
        reporting_instance: Some(component.to_owned()),
        action: Some(reason.to_owned()),
        ..Event::default()
    };
    // Named as Kubernetes names them: the object's name and the time in hex nanoseconds.
    event.metadata.name = Some(format!(
        "{}.{:x}",
        object.name.as_deref().unwrap_or("object"),
        now.as_nanosecond().max(0)
    ));
    event.metadata.namespace = Some(ns.clone());
    let api: Api<Event> = Api::namespaced(client.clone(), &ns);
    if let Err(err) = api.create(&PostParams::default(), &event).await {
        tracing::debug!(component, reason, error = %err, "recording an event failed");
    }
}
