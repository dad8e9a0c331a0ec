//! A watch-fed local copy of one resource, shared by the controllers that read it.
//!
//! [`Informer::run`] lists the resource (in pages, each converted to the stored form before the
//! next is read, so a large cluster's objects are never all held in their parsed form), then
//! watches from the listed version, and lists again every resync period or after any watch
//! failure. Each change first updates the store and then calls every subscriber with the old
//! and new object, so a subscriber that queues a key is sure the sync it triggers reads at
//! least that state. A listing reports what changed against the store: objects that appeared,
//! changed or vanished while nobody watched.
//!
//! The store keeps a compact form of each object ([`Dependent`]): pods are kept as
//! [`SlimPod`]s, parsed from the API's answers into only the fields controllers read (neither
//! managedFields nor whole specs are ever allocated), with the values that repeat across pods
//! (namespace, labels, owner references, node name, phase) shared through [`crate::intern`].

use crate::hints::{list_then_watch, Change};
use crate::intern::{self, Labels, OwnerRefs};
use crate::ownership::Dependent;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams};
use kube::Resource;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Objects per page of a listing.
const PAGE: u32 = 500;

/// Called with `(old, new)` for every change: `(None, Some)` an object appeared, `(Some,
/// Some)` it changed, `(Some, None)` it is gone. An object replaced by another of the same
/// name (another uid) is reported gone, then appeared. A listing reports every object it
/// finds, so the periodic relist reaches every subscriber: one that did not change comes
/// with the same resourceVersion in `old` and `new`.
pub type Handler<K> = Box<dyn Fn(Option<&K>, Option<&K>) + Send + Sync>;

/// A stored object, found by its name.
struct ByName<K>(Arc<K>);

impl<K: Dependent> Borrow<str> for ByName<K> {
    fn borrow(&self) -> &str {
        self.0.name()
    }
}

impl<K: Dependent> Hash for ByName<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As the name itself hashes, so a `&str` finds it.
        self.0.name().hash(state);
    }
}

impl<K: Dependent> PartialEq for ByName<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl<K: Dependent> Eq for ByName<K> {}

impl<K> Clone for ByName<K> {
    fn clone(&self) -> Self {
        ByName(Arc::clone(&self.0))
    }
}

/// Namespace → objects by name.
type Store<K> = HashMap<String, HashSet<ByName<K>>>;

/// The objects, by namespace and name and by controller.
struct Maps<K> {
    /// Namespace → objects by name.
    names: Store<K>,
    /// `namespace/controller uid` (`namespace/` for objects without a controller) → objects
    /// by name.
    controlled: HashMap<String, HashSet<ByName<K>>>,
}

impl<K> Default for Maps<K> {
    fn default() -> Self {
        Maps {
            names: HashMap::new(),
            controlled: HashMap::new(),
        }
    }
}

/// The key of the controller index for objects of namespace `ns` controlled by `uid`.
fn controller_key(ns: &str, uid: &str) -> String {
    format!("{ns}/{uid}")
}

fn controller_key_of<K: Dependent>(obj: &K) -> String {
    let uid = crate::ownership::controller_in(obj.owner_references()).map_or("", |o| &o.uid);
    controller_key(obj.namespace(), uid)
}

impl<K: Dependent> Maps<K> {
    /// Stores `obj`, returning what it replaced.
    fn insert(&mut self, obj: Arc<K>) -> Option<Arc<K>> {
        let old = self
            .names
            .entry(obj.namespace().to_owned())
            .or_default()
            .replace(ByName(Arc::clone(&obj)));
        if let Some(old) = &old {
            self.unindex(&old.0);
        }
        self.controlled
            .entry(controller_key_of(obj.as_ref()))
            .or_default()
            .insert(ByName(obj));
        old.map(|o| o.0)
    }

    /// Forgets `ns/name`, returning it.
    fn take(&mut self, ns: &str, name: &str) -> Option<Arc<K>> {
        let old = self.names.get_mut(ns).and_then(|m| m.take(name));
        if self.names.get(ns).is_some_and(HashSet::is_empty) {
            self.names.remove(ns);
        }
        let old = old?.0;
        self.unindex(&old);
        Some(old)
    }

    fn unindex(&mut self, obj: &K) {
        let key = controller_key_of(obj);
        if let Some(set) = self.controlled.get_mut(&key) {
            set.remove(obj.name());
            if set.is_empty() {
                self.controlled.remove(&key);
            }
        }
    }
}

/// A shared, watch-fed copy of every object of kind `K`.
pub struct Informer<K> {
    store: RwLock<Maps<K>>,
    handlers: Mutex<Vec<Arc<Handler<K>>>>,
    synced: tokio::sync::watch::Sender<bool>,
}

impl<K> Default for Informer<K> {
    fn default() -> Self {
        Informer {
            store: RwLock::new(Maps::default()),
            handlers: Mutex::new(Vec::new()),
            synced: tokio::sync::watch::channel(false).0,
        }
    }
}

impl<K> Informer<K>
where
    K: Dependent,
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
        let existing: Vec<Arc<K>> = store
            .names
            .values()
            .flat_map(|m| m.iter().map(|o| Arc::clone(&o.0)))
            .collect();
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
            .names
            .get(ns)
            .map(|m| m.iter().map(|o| Arc::clone(&o.0)).collect())
            .unwrap_or_default()
    }

    /// The objects of namespace `ns` whose controller reference names `uid`, and those
    /// without a controller: the ones an owner with that uid may own or adopt.
    pub fn controlled_by_or_orphaned(&self, ns: &str, uid: &str) -> Vec<Arc<K>> {
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
        let mut keys = vec![controller_key(ns, "")];
        if !uid.is_empty() {
            keys.push(controller_key(ns, uid));
        }
        keys.iter()
            .filter_map(|k| store.controlled.get(k))
            .flat_map(|set| set.iter().map(|o| Arc::clone(&o.0)))
            .collect()
    }

    /// Every object `keep` accepts.
    pub fn matching(&self, keep: impl Fn(&Arc<K>) -> bool) -> Vec<Arc<K>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .names
            .values()
            .flat_map(|m| m.iter().map(|o| &o.0))
            .filter(|o| keep(o))
            .cloned()
            .collect()
    }

    /// The object `ns/name`, if stored.
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .names
            .get(ns)?
            .get(name)
            .map(|o| Arc::clone(&o.0))
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .names
            .values()
            .map(HashSet::len)
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
            (Some(o), Some(n)) => o.uid() != n.uid(),
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
        if obj.name().is_empty() || obj.namespace().is_empty() {
            return;
        }
        let obj = Arc::new(obj);
        let old = self
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Arc::clone(&obj));
        self.notify(old.as_deref(), Some(&obj));
    }

    /// Forgets `obj` and tells the subscribers.
    fn remove(&self, obj: &K) {
        let old = self
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take(obj.namespace(), obj.name());
        // The last state known is the one subscribers see go.
        self.notify(old.as_deref().or(Some(obj)), None);
    }

    /// Replaces the store with a listing, telling the subscribers what changed.
    fn replace(&self, listed: Vec<K>) {
        let mut fresh: Maps<K> = Maps::default();
        for obj in listed {
            if !obj.name().is_empty() && !obj.namespace().is_empty() {
                fresh.insert(Arc::new(obj));
            }
        }
        let listed = fresh.names.clone();
        let old = std::mem::replace(
            &mut *self.store.write().unwrap_or_else(PoisonError::into_inner),
            fresh,
        )
        .names;
        for (ns, objs) in &listed {
            for obj in objs {
                let before = old.get(ns).and_then(|m| m.get(obj.0.name()));
                self.notify(before.map(|o| o.0.as_ref()), Some(&obj.0));
            }
        }
        for (ns, objs) in &old {
            for obj in objs {
                if listed.get(ns).is_none_or(|m| !m.contains(obj.0.name())) {
                    self.notify(Some(&obj.0), None);
                }
            }
        }
    }

    /// Lists and watches every `K` in the cluster forever, keeping the store current; lists
    /// again every `resync`.
    pub async fn run(self: Arc<Self>, what: &'static str, client: kube::Client, resync: Duration) {
        let api: Api<K::Wire> = Api::all(client);
        list_then_watch(
            what,
            &api,
            None,
            resync,
            |obj| Some(K::from_wire(obj)),
            |items| {
                self.replace(items);
                self.synced.send_replace(true);
            },
            |change| match change {
                Change::Applied(obj) => self.upsert(obj),
                Change::Deleted(obj) => self.remove(&obj),
            },
        )
        .await;
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
    /// Why the pod is in this phase (`Evicted`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The `Ready` condition, when reported.
    #[serde(
        default,
        deserialize_with = "ready_only",
        skip_serializing_if = "Option::is_none"
    )]
    pub conditions: Option<Vec<SlimCondition>>,
}

/// A Pod as the API sends it, parsed into only the fields [`SlimPod`] keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WirePod {
    /// Name, namespace, uid, resourceVersion, labels, ownerReferences, creation and deletion
    /// timestamps, finalizers.
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    /// The node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SlimPodSpec>,
    /// Phase and readiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SlimPodStatus>,
}

impl k8s_openapi::Resource for WirePod {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = NamespaceResourceScope;
}

impl k8s_openapi::Metadata for WirePod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// A Pod as the controller manager keeps it: the fields controllers read, in a compact form
/// where every value that repeats across pods is one shared copy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlimPod {
    /// Its name.
    pub name: Box<str>,
    /// Its namespace (shared).
    pub namespace: Arc<str>,
    /// Its uid.
    pub uid: Arc<str>,
    /// Its resourceVersion.
    pub resource_version: Box<str>,
    /// Its labels (shared).
    pub labels: Arc<Labels>,
    /// Its ownerReferences (shared).
    pub owners: Arc<OwnerRefs>,
    /// Its finalizers (shared).
    pub finalizers: Arc<[String]>,
    /// Its creationTimestamp.
    pub created: Option<Timestamp>,
    /// Its deletionTimestamp.
    pub deleted: Option<Timestamp>,
    /// The node it is bound to (shared; `None` when unbound).
    pub node_name: Option<Arc<str>>,
    /// Its phase, if reported (shared).
    pub phase: Option<Arc<str>>,
    /// Its `status.reason` (`Evicted`, …), if reported (shared).
    pub status_reason: Option<Arc<str>>,
    /// `Some` when its Ready condition is True, with when it turned so if reported.
    pub ready_since: Option<Option<Timestamp>>,
}

impl Default for SlimPod {
    fn default() -> Self {
        SlimPod::from_wire(WirePod::default())
    }
}

impl Dependent for SlimPod {
    type Wire = WirePod;

    fn from_wire(wire: WirePod) -> SlimPod {
        let m = wire.metadata;
        let ready_since = wire
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Ready" && c.status == "True")
            .map(|c| c.last_transition_time.as_ref().map(|t| t.0));
        SlimPod {
            name: m.name.unwrap_or_default().into_boxed_str(),
            namespace: intern::string(m.namespace.as_deref().unwrap_or_default()),
            uid: Arc::from(m.uid.unwrap_or_default()),
            resource_version: m.resource_version.unwrap_or_default().into_boxed_str(),
            labels: intern::labels(m.labels.unwrap_or_default()),
            owners: intern::owners(m.owner_references.unwrap_or_default()),
            finalizers: intern::strings(m.finalizers.as_deref().unwrap_or_default()),
            created: m.creation_timestamp.map(|t| t.0),
            deleted: m.deletion_timestamp.map(|t| t.0),
            node_name: wire
                .spec
                .and_then(|s| s.node_name)
                .filter(|n| !n.is_empty())
                .map(|n| intern::string(&n)),
            status_reason: wire
                .status
                .as_ref()
                .and_then(|s| s.reason.as_deref())
                .map(intern::string),
            phase: wire
                .status
                .and_then(|s| s.phase)
                .map(|p| intern::string(&p)),
            ready_since,
        }
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn resource_version(&self) -> &str {
        &self.resource_version
    }

    fn owner_references(&self) -> &[OwnerReference] {
        &self.owners.0
    }

    fn deleting(&self) -> bool {
        self.deleted.is_some()
    }
}

impl SlimPod {
    /// The node the pod is bound to, if any.
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    /// The phase, if reported.
    pub fn phase(&self) -> Option<&str> {
        self.phase.as_deref()
    }

    /// When the pod's Ready condition turned True, if it is ready.
    pub fn ready_since(&self) -> Option<Option<Timestamp>> {
        self.ready_since
    }
}

/// Lists every object of `api` matching `params` (a field selector) in pages, keeping what
/// `keep` makes of each (page by page, so only one page is ever held in its parsed form);
/// returns them and the version to watch from (the first page's: watching from it replays
/// anything the later pages might have missed).
pub async fn list_in_pages<K, T>(
    api: &Api<K>,
    params: &ListParams,
    keep: &mut impl FnMut(K) -> Option<T>,
) -> Result<(Vec<T>, String), kube::Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut lp = params.clone().limit(PAGE);
    let mut version = None;
    loop {
        let page = api.list(&lp).await?;
        if version.is_none() {
            version = page.metadata.resource_version.clone();
        }
        items.extend(page.items.into_iter().filter_map(&mut *keep));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
    }
    Ok((items, version.unwrap_or_default()))
}

/// Helpers for measuring what the cached forms cost (used by the tests of this module and of
/// the garbage collector).
#[cfg(test)]
pub(crate) mod probe {
    use super::*;

    /// Resident memory of this process in KiB.
    pub fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Pod `i` of a Deployment's ReplicaSet as the API sends it: running and ready on one of
    /// 50 nodes; every 10 000 pods belong to another ReplicaSet.
    pub fn wire_pod(i: usize) -> WirePod {
        let rs = i / 10_000;
        let hash = format!("7d9f8c6b{rs}");
        let mut meta = ObjectMeta {
            name: Some(format!("bench-{hash}-{i:05x}")),
            namespace: Some("default".into()),
            uid: Some(format!("0d6a1f2e-5b7c-4e8a-9f3d-{i:012x}")),
            resource_version: Some(format!("{}", 100_000 + i)),
            labels: Some(BTreeMap::from([
                ("app".to_owned(), "bench".to_owned()),
                ("pod-template-hash".to_owned(), hash.clone()),
            ])),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: format!("bench-{hash}"),
                uid: format!("5e1b7c3a-0000-4000-8000-{rs:012x}"),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        };
        let at: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap_or_default();
        meta.creation_timestamp = Some(Time(at));
        WirePod {
            metadata: meta,
            spec: Some(SlimPodSpec {
                node_name: Some(format!("bench-{}", i % 50)),
            }),
            status: Some(SlimPodStatus {
                phase: Some("Running".into()),
                reason: None,
                conditions: Some(vec![SlimCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(at)),
                }]),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(value: serde_json::Value) -> WirePod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_slim_pod_keeps_only_what_controllers_read() {
        let json = serde_json::json!({
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
        });
        let w = wire(json.clone());
        assert_eq!(w.metadata.annotations, None);
        assert_eq!(w.metadata.managed_fields, None);
        assert_eq!(
            w.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .len(),
            1
        );
        let pod = SlimPod::from_wire(w.clone());
        assert_eq!(&*pod.name, "web-1");
        assert_eq!(&*pod.namespace, "ns");
        assert_eq!(&*pod.uid, "u1");
        assert_eq!(&*pod.resource_version, "7");
        assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(pod.owner_references()[0].uid, "rs");
        assert_eq!(pod.created, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(!pod.deleting());
        assert_eq!(pod.node_name(), Some("n1"));
        assert_eq!(pod.phase(), Some("Running"));
        assert_eq!(
            pod.ready_since(),
            Some(Some("2026-01-01T00:00:05Z".parse().unwrap()))
        );
        // The round trip the API client makes for a patch answer parses the same way.
        let again = SlimPod::from_wire(wire(serde_json::to_value(&w).unwrap()));
        assert_eq!(again, pod);
        // Another pod of the same owner shares namespace, labels, owners, node and phase.
        let mut other_json = json;
        other_json["metadata"]["name"] = "web-2".into();
        other_json["metadata"]["uid"] = "u2".into();
        let other = SlimPod::from_wire(wire(other_json));
        assert!(Arc::ptr_eq(&pod.namespace, &other.namespace));
        assert!(Arc::ptr_eq(&pod.labels, &other.labels));
        assert!(Arc::ptr_eq(&pod.owners, &other.owners));
        assert!(Arc::ptr_eq(
            pod.node_name.as_ref().unwrap(),
            other.node_name.as_ref().unwrap()
        ));
        // A pod not ready, not bound, without labels.
        let bare = SlimPod::from_wire(wire(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns",
                "deletionTimestamp": "2026-01-01T00:00:09Z"},
            "spec": {"nodeName": ""},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]},
        })));
        assert!(bare.deleting());
        assert_eq!(bare.node_name(), None);
        assert_eq!(bare.ready_since(), None);
        assert!(bare.labels.is_empty() && bare.owner_references().is_empty());
    }

    fn pod(ns: &str, name: &str, rv: &str) -> SlimPod {
        SlimPod {
            namespace: ns.into(),
            name: name.into(),
            resource_version: rv.into(),
            ..SlimPod::default()
        }
    }

    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

    fn recorder(informer: &Informer<SlimPod>) -> Seen {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        informer.subscribe(Box::new(move |old, new| {
            let rv = |p: Option<&SlimPod>| p.map(|p| p.resource_version.to_string());
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
        other.uid = "another".into();
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

    fn owned_by(ns: &str, name: &str, controller: Option<&str>) -> SlimPod {
        let refs = controller
            .map(|uid| OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: format!("rs-{uid}"),
                uid: uid.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            })
            .into_iter()
            .collect();
        SlimPod {
            owners: intern::owners(refs),
            ..pod(ns, name, "1")
        }
    }

    fn names(pods: Vec<Arc<SlimPod>>) -> Vec<String> {
        let mut names: Vec<String> = pods.iter().map(|p| p.name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_controller_index_follows_every_change() {
        let informer: Informer<SlimPod> = Informer::default();
        informer.upsert(owned_by("a", "a1", Some("rs1")));
        informer.upsert(owned_by("a", "a2", Some("rs2")));
        informer.upsert(owned_by("a", "orphan", None));
        // Same controller uid in another namespace is not found.
        informer.upsert(owned_by("b", "b1", Some("rs1")));
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs1")),
            ["a1", "orphan"]
        );
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "")),
            ["orphan"]
        );
        assert_eq!(
            names(informer.controlled_by_or_orphaned("b", "rs1")),
            ["b1"]
        );
        // Released: an orphan now; adopted by another owner: found under it only.
        informer.upsert(owned_by("a", "a1", None));
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs1")),
            ["a1", "orphan"]
        );
        informer.upsert(owned_by("a", "a1", Some("rs2")));
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs1")),
            ["orphan"]
        );
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs2")),
            ["a1", "a2", "orphan"]
        );
        informer.remove(&owned_by("a", "a2", Some("rs2")));
        informer.remove(&owned_by("a", "orphan", None));
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs2")),
            ["a1"]
        );
        // A listing rebuilds the index.
        informer.replace(vec![
            owned_by("a", "x", Some("rs1")),
            owned_by("a", "y", None),
        ]);
        assert_eq!(
            names(informer.controlled_by_or_orphaned("a", "rs1")),
            ["x", "y"]
        );
        assert!(informer.controlled_by_or_orphaned("a", "rs2").len() == 1);
        assert!(informer.controlled_by_or_orphaned("b", "rs1").is_empty());
        let store = informer.store.read().unwrap();
        assert_eq!(store.controlled.len(), 2, "empty index entries are dropped");
    }

    #[test]
    #[ignore = "a measurement: run alone and in release, with --ignored --nocapture"]
    fn memory_per_cached_pod() {
        const N: usize = 100_000;
        let before = probe::rss_kib();
        let informer: Informer<SlimPod> = Informer::default();
        for i in 0..N {
            informer.upsert(SlimPod::from_wire(probe::wire_pod(i)));
        }
        let compact = (probe::rss_kib() - before) * 1024 / N as u64;
        drop(informer);
        // The parsed form as it was kept before the compact one: namespace → name → object.
        let before = probe::rss_kib();
        let mut parsed: HashMap<String, HashMap<String, Arc<WirePod>>> = HashMap::new();
        for i in 0..N {
            let pod = probe::wire_pod(i);
            let name = pod.metadata.name.clone().unwrap_or_default();
            parsed
                .entry("default".into())
                .or_default()
                .insert(name, Arc::new(pod));
        }
        let wire = (probe::rss_kib() - before) * 1024 / N as u64;
        drop(parsed);
        println!("bytes per cached pod: compact {compact}, parsed form {wire}");
        assert!(compact < 600, "a cached pod costs {compact} bytes");
    }
}
