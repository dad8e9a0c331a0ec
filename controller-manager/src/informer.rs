//! A watch-fed local copy of one resource, shared by the controllers that read it.
//!
//! [`Informer::run`] lists the resource (in pages, so a large cluster's objects are never all
//! held twice at once), then watches from the listed version, and lists again every resync
//! period or after any watch failure. Each change first updates the store and then calls every
//! subscriber with the old and new object, so a subscriber that queues a key is sure the sync
//! it triggers reads at least that state. A listing reports what changed against the store:
//! objects that appeared, changed or vanished while nobody watched.
//!
//! The store keeps what it is given: controllers give it slim types (such as [`SlimPod`]) that
//! deserialize only the fields they read, so neither managedFields nor whole specs are ever
//! allocated for the copy.

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Objects per page of a listing.
const PAGE: u32 = 500;
/// How long to wait before listing again after a failed list or watch.
const RETRY: Duration = Duration::from_secs(1);

/// Called with `(old, new)` for every change: `(None, Some)` an object appeared, `(Some,
/// Some)` it changed, `(Some, None)` it is gone. An object replaced by another of the same
/// name (another uid) is reported gone, then appeared. A listing reports every object it
/// finds, so the periodic relist reaches every subscriber: one that did not change comes
/// with the same resourceVersion in `old` and `new`.
pub type Handler<K> = Box<dyn Fn(Option<&K>, Option<&K>) + Send + Sync>;

/// Namespace → name → object.
type Store<K> = HashMap<String, HashMap<String, Arc<K>>>;

/// A shared, watch-fed copy of every object of kind `K`.
pub struct Informer<K> {
    store: RwLock<Store<K>>,
    handlers: Mutex<Vec<Arc<Handler<K>>>>,
    synced: tokio::sync::watch::Sender<bool>,
}

impl<K> Default for Informer<K> {
    fn default() -> Self {
        Informer {
            store: RwLock::new(HashMap::new()),
            handlers: Mutex::new(Vec::new()),
            synced: tokio::sync::watch::channel(false).0,
        }
    }
}

fn ns_name<K: Resource>(obj: &K) -> Option<(String, String)> {
    Some((obj.meta().namespace.clone()?, obj.meta().name.clone()?))
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    /// An empty informer; nothing is read until [`Informer::run`] runs.
    pub fn new() -> Arc<Informer<K>> {
        Arc::new(Informer::default())
    }

    /// Adds a subscriber; it is called at once for every object already stored (as appeared).
    pub fn subscribe(&self, handler: Handler<K>) {
        let handler = Arc::new(handler);
        // Registered under the store's read lock, so no change slips between replay and
        // registration.
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
        self.handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handler.clone());
        let existing: Vec<Arc<K>> = store.values().flat_map(|m| m.values().cloned()).collect();
        drop(store);
        for obj in existing {
            handler(None, Some(&obj));
        }
    }

    /// Waits until the first listing is stored.
    pub async fn synced(&self) {
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// The objects of namespace `ns`.
    pub fn namespace(&self, ns: &str) -> Vec<Arc<K>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ns)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The object `ns/name`, if stored.
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ns)?
            .get(name)
            .cloned()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn notify(&self, old: Option<&K>, new: Option<&K>) {
        let handlers: Vec<Arc<Handler<K>>> = self
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let replaced = match (old, new) {
            (Some(o), Some(n)) => o.meta().uid != n.meta().uid,
            _ => false,
        };
        for h in handlers {
            if replaced {
                h(old, None);
                h(None, new);
            } else {
                h(old, new);
            }
        }
    }

    /// Stores `obj` (an add or an update) and tells the subscribers.
    fn upsert(&self, obj: K) {
        let Some((ns, name)) = ns_name(&obj) else {
            return;
        };
        let obj = Arc::new(obj);
        let old = self
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(ns)
            .or_default()
            .insert(name, obj.clone());
        self.notify(old.as_deref(), Some(&obj));
    }

    /// Forgets `obj` and tells the subscribers.
    fn remove(&self, obj: &K) {
        let Some((ns, name)) = ns_name(obj) else {
            return;
        };
        let old = {
            let mut store = self.store.write().unwrap_or_else(PoisonError::into_inner);
            let old = store.get_mut(&ns).and_then(|m| m.remove(&name));
            if store.get(&ns).is_some_and(HashMap::is_empty) {
                store.remove(&ns);
            }
            old
        };
        // The last state known is the one subscribers see go.
        self.notify(old.as_deref().or(Some(obj)), None);
    }

    /// Replaces the store with a listing, telling the subscribers what changed.
    fn replace(&self, listed: Vec<K>) {
        let mut fresh: Store<K> = HashMap::new();
        for obj in listed {
            if let Some((ns, name)) = ns_name(&obj) {
                fresh.entry(ns).or_default().insert(name, Arc::new(obj));
            }
        }
        let old = std::mem::replace(
            &mut *self.store.write().unwrap_or_else(PoisonError::into_inner),
            fresh.clone(),
        );
        for (ns, objs) in &fresh {
            for (name, obj) in objs {
                let before = old.get(ns).and_then(|m| m.get(name));
                self.notify(before.map(Arc::as_ref), Some(obj));
            }
        }
        for (ns, objs) in &old {
            for (name, obj) in objs {
                if fresh.get(ns).is_none_or(|m| !m.contains_key(name)) {
                    self.notify(Some(obj), None);
                }
            }
        }
    }

    /// Lists and watches every `K` in the cluster forever, keeping the store current; lists
    /// again every `resync`.
    pub async fn run(self: Arc<Self>, what: &'static str, client: kube::Client, resync: Duration) {
        let api: Api<K> = Api::all(client);
        let wp = WatchParams::default().timeout(resync.as_secs().clamp(1, 290) as u32);
        loop {
            let (items, mut version) = match list_in_pages(&api).await {
                Ok(listed) => listed,
                Err(err) => {
                    tracing::warn!(resource = what, error = %err, "listing failed");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            self.replace(items);
            self.synced.send_replace(true);
            let deadline = tokio::time::Instant::now() + resync;
            'watch: while tokio::time::Instant::now() < deadline {
                let stream = match api.watch(&wp, &version).await {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::warn!(resource = what, error = %err, "watching failed");
                        tokio::time::sleep(RETRY).await;
                        break 'watch;
                    }
                };
                let mut stream = std::pin::pin!(stream);
                loop {
                    let event = match tokio::time::timeout_at(deadline, stream.next()).await {
                        Err(_) => break 'watch,
                        Ok(None) => continue 'watch,
                        Ok(Some(Ok(event))) => event,
                        Ok(Some(Err(err))) => {
                            tracing::warn!(resource = what, error = %err, "watch stream failed");
                            break 'watch;
                        }
                    };
                    match event {
                        WatchEvent::Added(obj) | WatchEvent::Modified(obj) => {
                            if let Some(v) = obj.meta().resource_version.clone() {
                                version = v;
                            }
                            self.upsert(obj);
                        }
                        WatchEvent::Deleted(obj) => {
                            if let Some(v) = obj.meta().resource_version.clone() {
                                version = v;
                            }
                            self.remove(&obj);
                        }
                        WatchEvent::Bookmark(mark) => version = mark.metadata.resource_version,
                        WatchEvent::Error(status) => {
                            tracing::debug!(resource = what, code = status.code, message = %status.message, "watch ended with an error; listing again");
                            break 'watch;
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// SlimPod: the parts of a Pod the replica controllers read.

/// The metadata fields controllers read; everything else (managedFields, annotations, …) is
/// skipped while parsing.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    finalizers: Option<Vec<String>>,
}

fn slim_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = SlimMeta::deserialize(d)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        generation: m.generation,
        labels: m.labels,
        owner_references: m.owner_references,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        finalizers: m.finalizers,
        ..ObjectMeta::default()
    })
}

/// Any object as the garbage collector reads it: only its identity, owner references,
/// deletion timestamp and finalizers are parsed, whatever else it carries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetaObject {
    /// Name, namespace, uid, resourceVersion, labels, ownerReferences, timestamps and
    /// finalizers.
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
}

impl Resource for MetaObject {
    type DynamicType = kube::api::ApiResource;
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &kube::api::ApiResource) -> std::borrow::Cow<'_, str> {
        dt.kind.as_str().into()
    }

    fn group(dt: &kube::api::ApiResource) -> std::borrow::Cow<'_, str> {
        dt.group.as_str().into()
    }

    fn version(dt: &kube::api::ApiResource) -> std::borrow::Cow<'_, str> {
        dt.version.as_str().into()
    }

    fn api_version(dt: &kube::api::ApiResource) -> std::borrow::Cow<'_, str> {
        dt.api_version.as_str().into()
    }

    fn plural(dt: &kube::api::ApiResource) -> std::borrow::Cow<'_, str> {
        dt.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The pod spec fields controllers read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimPodSpec {
    /// The node the pod is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

/// A pod condition without its reason and message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimCondition {
    /// `Ready`, `PodScheduled`, …
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

fn ready_only<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<SlimCondition>>, D::Error> {
    let all: Option<Vec<SlimCondition>> = Option::deserialize(d)?;
    Ok(all.map(|cs| cs.into_iter().filter(|c| c.type_ == "Ready").collect()))
}

/// The pod status fields controllers read: the phase and the `Ready` condition (the only
/// condition kept).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimPodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The `Ready` condition, when reported.
    #[serde(
        default,
        deserialize_with = "ready_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub conditions: Option<Vec<SlimCondition>>,
}

/// A Pod as the replica controllers keep it: read through the pods API, parsed into only the
/// fields they use.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SlimPod {
    /// Name, namespace, uid, resourceVersion, labels, ownerReferences, creation and deletion
    /// timestamps.
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    /// The node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SlimPodSpec>,
    /// Phase and readiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SlimPodStatus>,
}

impl k8s_openapi::Resource for SlimPod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = NamespaceResourceScope;
}

impl k8s_openapi::Metadata for SlimPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl SlimPod {
    /// The node the pod is bound to, if any.
    pub fn node_name(&self) -> Option<&str> {
        self.spec
            .as_ref()?
            .node_name
            .as_deref()
            .filter(|n| !n.is_empty())
    }

    /// The phase, if reported.
    pub fn phase(&self) -> Option<&str> {
        self.status.as_ref()?.phase.as_deref()
    }

    /// When the pod's Ready condition turned True, if it is ready.
    pub fn ready_since(&self) -> Option<Option<jiff::Timestamp>> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready" && c.status == "True")
            .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
    }
}

/// Lists every object of `api` in pages; returns them and the version to watch from (the
/// first page's: watching from it replays anything the later pages might have missed).
pub async fn list_in_pages<K>(api: &Api<K>) -> Result<(Vec<K>, String), kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut lp = ListParams::default().limit(PAGE);
    let mut version = None;
    loop {
        let page = api.list(&lp).await?;
        if version.is_none() {
            version = page.metadata.resource_version.clone();
        }
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
    }
    Ok((items, version.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slim_pod_keeps_only_what_controllers_read() {
        let pod: SlimPod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "web-1", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "labels": {"app": "web"},
                "annotations": {"big": "x".repeat(1000)},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web", "uid": "rs", "controller": true}],
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True",
                    "lastTransitionTime": "2026-01-01T00:00:05Z"},
            ]},
        }))
        .unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("web-1"));
        assert_eq!(pod.metadata.annotations, None);
        assert_eq!(pod.metadata.managed_fields, None);
        assert_eq!(pod.metadata.owner_references.as_ref().unwrap()[0].uid, "rs");
        assert_eq!(pod.node_name(), Some("n1"));
        assert_eq!(pod.phase(), Some("Running"));
        assert_eq!(
            pod.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            pod.ready_since(),
            Some(Some("2026-01-01T00:00:05Z".parse().unwrap()))
        );
        // The round trip the API client makes for a patch answer parses the same way.
        let again: SlimPod = serde_json::from_value(serde_json::to_value(&pod).unwrap()).unwrap();
        assert_eq!(again.ready_since(), pod.ready_since());
        assert_eq!(again.metadata.labels, pod.metadata.labels);
    }

    fn pod(ns: &str, name: &str, rv: &str) -> SlimPod {
        let mut p = SlimPod::default();
        p.metadata.namespace = Some(ns.into());
        p.metadata.name = Some(name.into());
        p.metadata.resource_version = Some(rv.into());
        p
    }

    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

    fn recorder(informer: &Informer<SlimPod>) -> Seen {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        informer.subscribe(Box::new(move |old, new| {
            let rv = |p: Option<&SlimPod>| p.and_then(|p| p.metadata.resource_version.clone());
            s.lock().unwrap().push((rv(old), rv(new)));
        }));
        seen
    }

    #[test]
    fn subscribers_see_the_store_change_and_a_listing_reports_the_difference() {
        let informer: Informer<SlimPod> = Informer::default();
        informer.upsert(pod("a", "x", "1"));
        // A late subscriber is told about what is stored already.
        let seen = recorder(&informer);
        assert_eq!(*seen.lock().unwrap(), [(None, Some("1".into()))]);
        seen.lock().unwrap().clear();
        informer.upsert(pod("a", "x", "2"));
        informer.upsert(pod("b", "y", "3"));
        assert_eq!(informer.len(), 2);
        assert_eq!(informer.namespace("a").len(), 1);
        informer.remove(&pod("b", "y", "4"));
        assert!(informer.get("b", "y").is_none());
        assert_eq!(
            *seen.lock().unwrap(),
            [
                (Some("1".into()), Some("2".into())),
                (None, Some("3".into())),
                (Some("3".into()), None),
            ]
        );
        seen.lock().unwrap().clear();
        // Another pod of the same name (a delete missed): gone, then appeared.
        let mut other = pod("a", "x", "9");
        other.metadata.uid = Some("another".into());
        informer.upsert(other);
        assert_eq!(
            seen.lock().unwrap()[..],
            [(Some("2".into()), None), (None, Some("9".into()))]
        );
        informer.upsert(pod("a", "x", "2"));
        seen.lock().unwrap().clear();
        // A listing without x and with z: x vanished, z appeared.
        informer.replace(vec![pod("c", "z", "5")]);
        assert_eq!(informer.len(), 1);
        let mut changes = seen.lock().unwrap().clone();
        changes.sort();
        assert_eq!(
            changes,
            [(None, Some("5".into())), (Some("2".into()), None)]
        );
    }
}
