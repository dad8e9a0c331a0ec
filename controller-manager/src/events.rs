//! Recording core/v1 Events about the objects controllers act on, so `kubectl describe` shows
//! what happened. Best effort: a failed write is logged and never fails a sync.
//!
//! A repeat of an Event this process recorded (same object, component, type, reason and
//! message) raises the `count` and `lastTimestamp` of the existing Event instead of writing a
//! new one, as Kubernetes' recorder does; the memory of recent Events is bounded.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::HashMap;
use std::sync::Mutex;

/// Most distinct Events remembered for aggregation; the memory starts over beyond it.
const REMEMBERED: usize = 4096;

/// What makes two Events the same.
type Identity = (String, String, String, String, String, String, String);

/// Recent Events: identity → (namespace, name, count).
type Recent = Option<HashMap<Identity, (String, String, i32)>>;

static RECENT: Mutex<Recent> = Mutex::new(None);

fn identity(
    object: &ObjectReference,
    component: &str,
    type_: &str,
    reason: &str,
    message: &str,
) -> Identity {
    (
        object.namespace.clone().unwrap_or_default(),
        object.kind.clone().unwrap_or_default(),
        object.name.clone().unwrap_or_default(),
        object.uid.clone().unwrap_or_default(),
        format!("{component}/{type_}"),
        reason.to_owned(),
        message.to_owned(),
    )
}

fn recent() -> std::sync::MutexGuard<'static, Recent> {
    RECENT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
    let id = identity(object, component, type_, reason, message);
    let seen = recent().as_ref().and_then(|m| m.get(&id).cloned());
    if let Some((seen_ns, name, count)) = seen {
        let api: Api<Event> = Api::namespaced(client.clone(), &seen_ns);
        let patch = serde_json::json!({"count": count + 1, "lastTimestamp": Time(now)});
        if api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .is_ok()
        {
            if let Some(m) = recent().as_mut() {
                m.insert(id, (seen_ns, name, count + 1));
            }
            return;
        }
        // Gone (expired or deleted): a new Event follows.
    }
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
    match api.create(&PostParams::default(), &event).await {
        Ok(created) => {
            let name = created.metadata.name.unwrap_or_default();
            let mut guard = recent();
            let m = guard.get_or_insert_with(HashMap::new);
            if m.len() >= REMEMBERED {
                m.clear();
            }
            m.insert(id, (ns, name, 1));
        }
        Err(err) => {
            tracing::debug!(component, reason, error = %err, "recording an event failed");
        }
    }
}
