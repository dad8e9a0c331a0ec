//! Recording core/v1 Events about the objects controllers act on, so `kubectl describe` shows
//! what happened, without ever slowing a sync down.
//!
//! [`record`] only hands the Event to a background writer through a bounded queue
//! ([`QUEUED`]); when the queue is full the Event is dropped, as Events are best effort. The
//! writer correlates Events the way Kubernetes' recorder does before anything is written:
//!
//! - spam filter: each component may record [`SPAM_BURST`] Events about one object at once,
//!   then one more per [`SPAM_REFILL`]; the rest are dropped;
//! - aggregation: once an object has [`AGGREGATE_AFTER`] Events of the same component, type
//!   and reason with different messages within [`AGGREGATE_WINDOW`], further ones go into one
//!   Event whose message starts with `(combined from similar events): `;
//! - counting: a repeat of an Event already written (same object, component, type, reason and
//!   message) raises the `count` and `lastTimestamp` of the existing Event instead of writing a
//!   new one.
//!
//! The writer takes whatever is queued at once, so several repeats of one Event waiting
//! together become a single patch with the final count. The memory of recent Events is
//! bounded ([`REMEMBERED`]).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events waiting for the writer at most; more are dropped.
pub const QUEUED: usize = 1000;
/// Events a component may record about one object at once.
pub const SPAM_BURST: u32 = 25;
/// How long until one more Event about that object is allowed after the burst.
pub const SPAM_REFILL: Duration = Duration::from_secs(300);
/// Distinct messages of one reason about one object before they are combined.
pub const AGGREGATE_AFTER: usize = 10;
/// How long similar Events are remembered for aggregation.
pub const AGGREGATE_WINDOW: Duration = Duration::from_secs(600);
/// Most keys each memory of the writer holds; it starts over beyond that.
const REMEMBERED: usize = 4096;
/// The message prefix of a combined Event.
pub const COMBINED: &str = "(combined from similar events): ";

/// Event type of routine actions.
pub const NORMAL: &str = "Normal";
/// Event type of failures.
pub const WARNING: &str = "Warning";

/// One Event as a controller reports it.
#[derive(Debug, Clone)]
pub struct Pending {
    component: String,
    object: ObjectReference,
    type_: String,
    reason: String,
    message: String,
    at: Timestamp,
}

/// What the writer does with an Event that passed the filters.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write a new Event.
    Create(Box<Event>),
    /// Raise the count of the Event `namespace/name` (and set its message and last time).
    Patch {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The new count.
        count: i32,
        /// The message now.
        message: String,
        /// The time of this repeat.
        last: Timestamp,
    },
}

/// The object part of the keys: component, kind, namespace, name, uid, apiVersion.
fn object_key(p: &Pending) -> String {
    let o = &p.object;
    [
        p.component.as_str(),
        o.kind.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default(),
        o.uid.as_deref().unwrap_or_default(),
        o.api_version.as_deref().unwrap_or_default(),
    ]
    .join("\u{0}")
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Similar {
    messages: HashSet<String>,
    last: Instant,
}

/// The writer's memory: spam buckets, similar messages, Events written.
#[derive(Default)]
pub struct Correlator {
    buckets: HashMap<String, Bucket>,
    similar: HashMap<String, Similar>,
    /// Event key → (namespace, name, count).
    written: HashMap<String, (String, String, i32)>,
}

fn bounded<K, V>(map: &mut HashMap<K, V>) {
    if map.len() >= REMEMBERED {
        map.clear();
    }
}

impl Correlator {
    /// Whether the spam filter lets one more Event about this object through at `now`.
    fn allow(&mut self, object: &str, now: Instant) -> bool {
        bounded(&mut self.buckets);
        let bucket = self.buckets.entry(object.to_owned()).or_insert(Bucket {
            tokens: f64::from(SPAM_BURST),
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(SPAM_BURST));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Decides what to write for `p` at `now`, or nothing when the spam filter drops it.
    pub fn correlate(&mut self, p: Pending, now: Instant) -> Option<Action> {
        let object = object_key(&p);
        if !self.allow(&object, now) {
            return None;
        }
        let aggregate = [object.as_str(), &p.type_, &p.reason].join("\u{0}");
        bounded(&mut self.similar);
        let similar = self.similar.entry(aggregate.clone()).or_insert(Similar {
            messages: HashSet::new(),
            last: now,
        });
        if now.duration_since(similar.last) > AGGREGATE_WINDOW {
            similar.messages.clear();
        }
        similar.last = now;
        similar.messages.insert(p.message.clone());
        let (key, message) = if similar.messages.len() < AGGREGATE_AFTER {
            ([aggregate.as_str(), &p.message].join("\u{0}"), p.message)
        } else {
            // Keep the set from growing past the threshold.
            if let Some(any) = similar.messages.iter().next().cloned() {
                similar.messages.remove(&any);
            }
            (aggregate, format!("{COMBINED}{}", p.message))
        };
        if let Some((namespace, name, count)) = self.written.get_mut(&key) {
            *count += 1;
            return Some(Action::Patch {
                namespace: namespace.clone(),
                name: name.clone(),
                count: *count,
                message,
                last: p.at,
            });
        }
        let ns = p
            .object
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let mut event = Event {
            involved_object: p.object.clone(),
            reason: Some(p.reason.clone()),
            message: Some(message),
            type_: Some(p.type_.clone()),
            count: Some(1),
            first_timestamp: Some(Time(p.at)),
            last_timestamp: Some(Time(p.at)),
            event_time: Some(MicroTime(p.at)),
            source: Some(EventSource {
                component: Some(p.component.clone()),
                host: None,
            }),
            reporting_component: Some(p.component.clone()),
            reporting_instance: Some(p.component.clone()),
            action: Some(p.reason.clone()),
            ..Event::default()
        };
        // Named as Kubernetes names them: the object's name and the time in hex nanoseconds.
        let name = format!(
            "{}.{:x}",
            p.object.name.as_deref().unwrap_or("object"),
            p.at.as_nanosecond().max(0)
        );
        event.metadata.name = Some(name.clone());
        event.metadata.namespace = Some(ns.clone());
        bounded(&mut self.written);
        self.written.insert(key, (ns, name, 1));
        Some(Action::Create(Box::new(event)))
    }

    /// Forgets the Event `namespace/name` (it could not be patched: gone), so its next repeat
    /// is written anew.
    fn forget(&mut self, namespace: &str, name: &str) {
        self.written
            .retain(|_, (ns, n, _)| !(ns == namespace && n == name));
    }
}

/// Merges the patches of one Event in `actions` into the last one, keeping the order of
/// first appearance.
fn coalesce(actions: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::with_capacity(actions.len());
    let mut patch_at: HashMap<(String, String), usize> = HashMap::new();
    for action in actions {
        if let Action::Patch {
            namespace, name, ..
        } = &action
        {
            let id = (namespace.clone(), name.clone());
            if let Some(i) = patch_at.get(&id) {
                out[*i] = action;
                continue;
            }
            patch_at.insert(id, out.len());
        }
        out.push(action);
    }
    out
}

async fn write(client: &kube::Client, correlator: &Mutex<Correlator>, action: Action) {
    match action {
        Action::Create(event) => {
            let ns = event.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Event> = Api::namespaced(client.clone(), &ns);
            if let Err(err) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(reason = ?event.reason, error = %err, "recording an event failed");
            }
        }
        Action::Patch {
            namespace,
            name,
            count,
            message,
            last,
        } => {
            let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
            let patch = serde_json::json!({"count": count, "message": message, "lastTimestamp": Time(last)});
            if let Err(err) = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::debug!(event = %name, error = %err, "updating an event failed");
                correlator
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .forget(&namespace, &name);
            }
        }
    }
}

/// Writes what arrives on `rx` until every sender is gone.
async fn writer(client: kube::Client, mut rx: mpsc::Receiver<Pending>) {
    let correlator = Mutex::new(Correlator::default());
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let now = Instant::now();
        let actions: Vec<Action> = {
            let mut c = correlator
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            batch
                .into_iter()
                .filter_map(|p| c.correlate(p, now))
                .collect()
        };
        for action in coalesce(actions) {
            write(&client, &correlator, action).await;
        }
    }
}

static SINK: Mutex<Option<mpsc::Sender<Pending>>> = Mutex::new(None);

/// Queues one Event about `object` from `component` for the background writer (started on
/// first use, on the current Tokio runtime); never waits.
pub fn record(
    client: &kube::Client,
    component: &str,
    object: &ObjectReference,
    type_: &str,
    reason: &str,
    message: &str,
) {
    let pending = Pending {
        component: component.to_owned(),
        object: object.clone(),
        type_: type_.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        at: Timestamp::now(),
    };
    let mut sink = SINK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let pending = match sink.as_ref() {
        None => pending,
        Some(tx) => match tx.try_send(pending) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(p)) => {
                tracing::debug!(component, reason = %p.reason, "event queue full; dropping an event");
                return;
            }
            Err(mpsc::error::TrySendError::Closed(p)) => p,
        },
    };
    // No writer yet (or its runtime ended): start one here.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (tx, rx) = mpsc::channel(QUEUED);
    let _ = tx.try_send(pending);
    runtime.spawn(writer(client.clone(), rx));
    *sink = Some(tx);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(name: &str, reason: &str, message: &str) -> Pending {
        Pending {
            component: "replicaset-controller".into(),
            object: ObjectReference {
                kind: Some("ReplicaSet".into()),
                namespace: Some("ns".into()),
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                api_version: Some("apps/v1".into()),
                ..ObjectReference::default()
            },
            type_: NORMAL.into(),
            reason: reason.into(),
            message: message.into(),
            at: Timestamp::now(),
        }
    }

    fn message(a: &Action) -> String {
        match a {
            Action::Create(e) => e.message.clone().unwrap_or_default(),
            Action::Patch { message, .. } => message.clone(),
        }
    }

    #[test]
    fn repeats_count_up_and_many_messages_combine() {
        let mut c = Correlator::default();
        let now = Instant::now();
        let first = c.correlate(pending("web", "SuccessfulCreate", "Created pod: a"), now);
        assert!(matches!(first, Some(Action::Create(_))));
        // The same Event again raises the count of the one written.
        match c.correlate(pending("web", "SuccessfulCreate", "Created pod: a"), now) {
            Some(Action::Patch { count, .. }) => assert_eq!(count, 2),
            other => panic!("expected a patch, got {other:?}"),
        }
        for i in 1..AGGREGATE_AFTER - 1 {
            let a = c.correlate(
                pending("web", "SuccessfulCreate", &format!("Created pod: p{i}")),
                now,
            );
            assert!(matches!(a, Some(Action::Create(_))), "event {i}");
        }
        // The tenth distinct message starts the combined Event, the next ones count on it.
        let combined = c
            .correlate(pending("web", "SuccessfulCreate", "Created pod: x"), now)
            .unwrap();
        assert!(matches!(combined, Action::Create(_)));
        assert_eq!(message(&combined), format!("{COMBINED}Created pod: x"));
        match c.correlate(pending("web", "SuccessfulCreate", "Created pod: y"), now) {
            Some(Action::Patch { count, message, .. }) => {
                assert_eq!(count, 2);
                assert_eq!(message, format!("{COMBINED}Created pod: y"));
            }
            other => panic!("expected a patch, got {other:?}"),
        }
        // Another reason about the same object is not combined with these.
        let other = c
            .correlate(pending("web", "SuccessfulDelete", "Deleted pod: a"), now)
            .unwrap();
        assert_eq!(message(&other), "Deleted pod: a");
    }

    #[test]
    fn the_spam_filter_lets_a_burst_through_per_object_then_refills() {
        let mut c = Correlator::default();
        let now = Instant::now();
        let passed = (0..100)
            .filter(|i| {
                c.correlate(pending("web", "SuccessfulCreate", &format!("m{i}")), now)
                    .is_some()
            })
            .count();
        assert_eq!(passed, SPAM_BURST as usize);
        // Another object has its own burst.
        assert!(c
            .correlate(pending("api", "SuccessfulCreate", "m"), now)
            .is_some());
        // After one refill period, one more.
        let later = now + SPAM_REFILL;
        assert!(c
            .correlate(pending("web", "SuccessfulCreate", "n1"), later)
            .is_some());
        assert!(c
            .correlate(pending("web", "SuccessfulCreate", "n2"), later)
            .is_none());
    }

    #[test]
    fn waiting_patches_of_one_event_become_one() {
        let patch = |name: &str, count: i32| Action::Patch {
            namespace: "ns".into(),
            name: name.into(),
            count,
            message: "m".into(),
            last: Timestamp::UNIX_EPOCH,
        };
        let out = coalesce(vec![
            patch("a", 2),
            patch("b", 5),
            patch("a", 3),
            patch("a", 4),
        ]);
        assert_eq!(out, [patch("a", 4), patch("b", 5)]);
    }
}
