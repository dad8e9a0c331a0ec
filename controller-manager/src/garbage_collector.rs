//! The `garbage-collector` controller: objects whose owners are gone are deleted, and owners
//! deleted with the `Foreground` or `Orphan` policy are finished once their dependents are
//! dealt with.
//!
//! A graph of ownerReferences (uid → kind, name, owners, deletion state; owner uid → dependent
//! uids) is kept in memory from a list and watch of every resource in [`WATCHED`]. Watch events
//! only queue uids; a sync decides from the graph and, for an owner the graph does not know,
//! from a live read of the owner, so an owner created a moment ago is never mistaken for a
//! missing one:
//!
//! - a dependent whose owners are all gone (not found, or found with another uid) is deleted
//!   in the background; one with a live owner keeps it and only loses references to missing
//!   owners and to owners waiting for their dependents;
//! - a dependent whose owners are being deleted in the foreground is deleted (in the foreground
//!   itself when it has dependents of its own);
//! - an owner carrying the `foregroundDeletion` finalizer loses it once no dependent with
//!   `blockOwnerDeletion` remains;
//! - an owner carrying the `orphan` finalizer has its references removed from every dependent,
//!   then loses the finalizer.

use crate::hints::{is_status, list_then_watch, Change};
use crate::informer::{MetaObject, SlimPod};
use crate::intern::{self, OwnerRefs};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
    Preconditions, PropagationPolicy,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The finalizer that holds an owner until its blocking dependents are gone.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer that holds an owner until its dependents no longer reference it.
pub const ORPHAN: &str = "orphan";

/// A resource the collector watches: group, version, kind, plural, namespaced.
type Watched = (&'static str, &'static str, &'static str, &'static str, bool);

/// A namespaced v1 resource of `group`.
const fn namespaced(group: &'static str, kind: &'static str, plural: &'static str) -> Watched {
    (group, "v1", kind, plural, true)
}

/// A cluster-scoped v1 resource of `group`.
const fn cluster(group: &'static str, kind: &'static str, plural: &'static str) -> Watched {
    (group, "v1", kind, plural, false)
}

/// The resources whose objects have owners, or own others, in a Berth cluster.
pub const WATCHED: &[Watched] = &[
    namespaced("", "Pod", "pods"),
    namespaced("", "ConfigMap", "configmaps"),
    namespaced("", "Secret", "secrets"),
    namespaced("", "Service", "services"),
    namespaced("", "Endpoints", "endpoints"),
    namespaced("", "ServiceAccount", "serviceaccounts"),
    namespaced("", "ReplicationController", "replicationcontrollers"),
    namespaced("", "PodTemplate", "podtemplates"),
    namespaced("apps", "ReplicaSet", "replicasets"),
    namespaced("apps", "Deployment", "deployments"),
    namespaced("apps", "DaemonSet", "daemonsets"),
    namespaced("apps", "StatefulSet", "statefulsets"),
    namespaced("apps", "ControllerRevision", "controllerrevisions"),
    namespaced("batch", "Job", "jobs"),
    namespaced("batch", "CronJob", "cronjobs"),
    namespaced("discovery.k8s.io", "EndpointSlice", "endpointslices"),
    namespaced("coordination.k8s.io", "Lease", "leases"),
    namespaced("policy", "PodDisruptionBudget", "poddisruptionbudgets"),
    namespaced("networking.k8s.io", "Ingress", "ingresses"),
    namespaced("rbac.authorization.k8s.io", "Role", "roles"),
    namespaced("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    cluster("rbac.authorization.k8s.io", "ClusterRole", "clusterroles"),
    cluster(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
    ),
    cluster("", "Node", "nodes"),
];

fn api_resource(w: &Watched) -> ApiResource {
    let (group, version, kind, plural, _) = *w;
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Where objects are served: the resource and whether it is namespaced.
pub type Served = (ApiResource, bool);

/// One object as the graph knows it. Namespace, owner references and finalizers are shared
/// copies ([`crate::intern`]): every pod of a ReplicaSet points at the same ones, which the
/// shared pod copy holds as well.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Where it is served: an [`ApiResource`] and whether it is namespaced (shared by every
    /// item of the resource).
    pub resource: Arc<Served>,
    /// Its namespace (empty when cluster-scoped).
    pub namespace: Arc<str>,
    /// Its name.
    pub name: Box<str>,
    /// Its ownerReferences.
    pub owners: Arc<OwnerRefs>,
    /// Whether it carries a deletionTimestamp.
    pub deleting: bool,
    /// Its finalizers.
    pub finalizers: Arc<[String]>,
}

impl Item {
    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Its ownerReferences.
    pub fn owner_references(&self) -> &[OwnerReference] {
        &self.owners.0
    }
}

/// A uid, shared between the graph's maps (and with the pod copy for pods).
pub type Uid = Arc<str>;

/// The ownerReferences graph.
#[derive(Default)]
pub struct Graph {
    items: HashMap<Uid, Item>,
    /// Owner uid → uids of objects naming it.
    dependents: HashMap<Uid, HashSet<Uid>>,
}

impl Graph {
    /// Records `item` under `uid` and returns the uids worth a sync because of the change:
    /// nothing when only what the graph does not keep changed (a pod's status, an owner's
    /// replica count); else the item itself and its old and new owners, and its dependents
    /// when it is new or its deletion state or finalizers changed.
    pub fn upsert(&mut self, uid: &Uid, item: Item) -> Vec<Uid> {
        let old = self.items.remove(uid);
        if old.as_ref() == Some(&item) {
            self.items.insert(Arc::clone(uid), item);
            return Vec::new();
        }
        let mut touched = vec![Arc::clone(uid)];
        let mut owner_state_changed = true;
        if let Some(old) = old {
            owner_state_changed =
                old.deleting != item.deleting || old.finalizers != item.finalizers;
            self.unlink(uid, &old, &mut touched);
        }
        for o in item.owner_references() {
            let owner = intern::string(&o.uid);
            self.dependents
                .entry(Arc::clone(&owner))
                .or_default()
                .insert(Arc::clone(uid));
            touched.push(owner);
        }
        if owner_state_changed {
            touched.extend(self.dependents.get(uid).into_iter().flatten().cloned());
        }
        self.items.insert(Arc::clone(uid), item);
        touched
    }

    /// Takes `uid` off the dependents of `item`'s owners, adding the owners to `touched`.
    fn unlink(&mut self, uid: &str, item: &Item, touched: &mut Vec<Uid>) {
        for o in item.owner_references() {
            let owner = o.uid.as_str();
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
            touched.push(intern::string(owner));
        }
    }

    /// Forgets `uid` and returns the uids worth a sync: its dependents and its owners.
    pub fn remove(&mut self, uid: &str) -> Vec<Uid> {
        let mut touched: Vec<Uid> = self
            .dependents
            .get(uid)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(old) = self.items.remove(uid) {
            self.unlink(uid, &old, &mut touched);
        }
        touched
    }

    /// The item under `uid`.
    pub fn get(&self, uid: &str) -> Option<Item> {
        self.items.get(uid).cloned()
    }

    /// Whether any object names `uid` as an owner.
    pub fn has_dependents(&self, uid: &str) -> bool {
        self.dependents.get(uid).is_some_and(|d| !d.is_empty())
    }

    /// The uids of the objects naming `uid` as an owner, with their items.
    pub fn dependents_of(&self, uid: &str) -> Vec<(Uid, Item)> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.items.get(d).map(|i| (d.clone(), i.clone())))
            .collect()
    }

    /// How many objects the graph holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the graph holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The uids of the items of `resource` (its plural and group).
    fn uids_of(&self, group: &str, plural: &str) -> Vec<Uid> {
        self.items
            .iter()
            .filter(|(_, i)| i.resource.0.group == group && i.resource.0.plural == plural)
            .map(|(u, _)| u.clone())
            .collect()
    }
}

fn item_of(meta: ObjectMeta, resource: &Arc<Served>) -> Option<(Uid, Item)> {
    let uid = Arc::from(meta.uid?);
    Some((
        uid,
        Item {
            resource: Arc::clone(resource),
            namespace: intern::string(meta.namespace.as_deref().unwrap_or_default()),
            name: meta.name.unwrap_or_default().into_boxed_str(),
            owners: intern::owners(meta.owner_references.unwrap_or_default()),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: intern::strings(meta.finalizers.as_deref().unwrap_or_default()),
        },
    ))
}

/// A pod's item, sharing the pod copy's uid, namespace, owner references and finalizers.
fn pod_item(pod: &SlimPod, resource: &Arc<Served>) -> Option<(Uid, Item)> {
    if pod.uid.is_empty() {
        return None;
    }
    Some((
        Arc::clone(&pod.uid),
        Item {
            resource: Arc::clone(resource),
            namespace: Arc::clone(&pod.namespace),
            name: pod.name.clone(),
            owners: Arc::clone(&pod.owners),
            deleting: pod.deleted.is_some(),
            finalizers: Arc::clone(&pod.finalizers),
        },
    ))
}

/// What the collector shares between its watchers and workers.
struct Collector {
    client: kube::Client,
    graph: Mutex<Graph>,
    queue: Arc<WorkQueue>,
    /// Resources found by discovery for owner kinds outside [`WATCHED`].
    discovered: Mutex<HashMap<(String, String), Option<Served>>>,
}

impl Collector {
    fn graph(&self) -> std::sync::MutexGuard<'_, Graph> {
        self.graph
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn queue_all(&self, uids: Vec<Uid>) {
        for u in uids {
            self.queue.add(&u);
        }
    }

    /// Where objects of `api_version`/`kind` are served, if anywhere.
    async fn resource_for(&self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        if let Some(w) = WATCHED
            .iter()
            .find(|w| w.0 == group && w.1 == version && w.2 == kind)
        {
            return Some((api_resource(w), w.4));
        }
        let key = (api_version.to_owned(), kind.to_owned());
        if let Some(found) = self
            .discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return found.clone();
        }
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .ok()
            .map(|(ar, caps)| (ar, caps.scope == kube::discovery::Scope::Namespaced));
        self.discovered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, found.clone());
        found
    }

    fn api(&self, resource: &(ApiResource, bool), namespace: &str) -> Api<DynamicObject> {
        if resource.1 {
            Api::namespaced_with(self.client.clone(), namespace, &resource.0)
        } else {
            Api::all_with(self.client.clone(), &resource.0)
        }
    }
}

/// What became of an owner reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and is not waiting for its dependents.
    Solid,
    /// The owner is missing, or another object now has its name.
    Dangling,
    /// The owner is being deleted in the foreground.
    WaitingForDependents,
}

/// What to do with a dependent, given the state of each of its owner references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing.
    Keep,
    /// Remove these owner uids from its references (it still has a live owner).
    DropReferences(Vec<String>),
    /// Delete it with this policy.
    Delete(PropagationPolicyName),
}

/// A propagation policy by name (comparable, unlike the client's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropagationPolicyName {
    /// Dependents go in the background.
    Background,
    /// Dependents go first.
    Foreground,
    /// Dependents stay.
    Orphan,
}

/// Decides what to do with a dependent from its owners' states (as the garbage collector of
/// Kubernetes decides): keep it while a live owner remains, dropping references to gone or
/// waiting owners; otherwise delete it, in the foreground when an owner waits for it and it
/// has dependents of its own, else with the policy its own finalizers ask for.
pub fn verdict(item: &Item, states: &[(String, OwnerState)], has_dependents: bool) -> Verdict {
    let solid = states.iter().any(|(_, s)| *s == OwnerState::Solid);
    if solid {
        let drop: Vec<String> = states
            .iter()
            .filter(|(_, s)| *s != OwnerState::Solid)
            .map(|(u, _)| u.clone())
            .collect();
        return if drop.is_empty() {
            Verdict::Keep
        } else {
            Verdict::DropReferences(drop)
        };
    }
    let waiting = states
        .iter()
        .any(|(_, s)| *s == OwnerState::WaitingForDependents);
    if waiting && has_dependents {
        return Verdict::Delete(PropagationPolicyName::Foreground);
    }
    if item.has_finalizer(ORPHAN) {
        Verdict::Delete(PropagationPolicyName::Orphan)
    } else if item.has_finalizer(FOREGROUND) {
        Verdict::Delete(PropagationPolicyName::Foreground)
    } else {
        Verdict::Delete(PropagationPolicyName::Background)
    }
}

fn delete_params(uid: &str, policy: PropagationPolicyName) -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(match policy {
            PropagationPolicyName::Background => PropagationPolicy::Background,
            PropagationPolicyName::Foreground => PropagationPolicy::Foreground,
            PropagationPolicyName::Orphan => PropagationPolicy::Orphan,
        }),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_owned()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    }
}

/// Syncs the object with `uid`.
async fn sync(c: Arc<Collector>, uid: String) -> Result<Outcome, SyncError> {
    let Some(item) = c.graph().get(&uid) else {
        return Ok(Outcome::Done);
    };
    let object = format!("{}/{}", item.namespace, item.name);
    if item.deleting {
        if item.has_finalizer(ORPHAN) {
            return orphan_dependents(&c, &uid, &item).await;
        }
        if item.has_finalizer(FOREGROUND) {
            return delete_dependents(&c, &uid, &item).await;
        }
        return Ok(Outcome::Done);
    }
    if item.owner_references().is_empty() {
        return Ok(Outcome::Done);
    }
    let mut states = Vec::new();
    for owner in item.owner_references() {
        states.push((owner.uid.clone(), owner_state(&c, &item, owner).await?));
    }
    let has_dependents = c.graph().has_dependents(&uid);
    let api = c.api(&item.resource, &item.namespace);
    match verdict(&item, &states, has_dependents) {
        Verdict::Keep => {}
        Verdict::DropReferences(gone) => {
            patch_fresh_metadata(
                &api,
                &item.name,
                &uid,
                "dropping owner references of",
                &object,
                |meta| references_without(meta, |o| gone.iter().any(|g| g == o)),
            )
            .await?;
        }
        Verdict::Delete(policy) => {
            tracing::info!(object = %object, kind = %item.resource.0.kind, ?policy, "deleting an object whose owners are gone");
            match api.delete(&item.name, &delete_params(&uid, policy)).await {
                Ok(_) => {}
                // Gone already, or replaced by another object of that name.
                Err(err) if is_status(&err, 404) || is_status(&err, 409) => {}
                Err(err) => return Err(SyncError::api("deleting dependent", &object)(err)),
            }
        }
    }
    Ok(Outcome::Done)
}

/// The state of `owner` as `item` references it: from the graph, else from a live read.
async fn owner_state(
    c: &Collector,
    item: &Item,
    owner: &OwnerReference,
) -> Result<OwnerState, SyncError> {
    let judge = |deleting: bool, finalizers: &[String]| {
        if deleting && finalizers.iter().any(|f| f == FOREGROUND) {
            OwnerState::WaitingForDependents
        } else {
            OwnerState::Solid
        }
    };
    if let Some(known) = c.graph().get(&owner.uid) {
        if *known.name == *owner.name && known.resource.0.kind == owner.kind {
            return Ok(judge(known.deleting, &known.finalizers));
        }
    }
    let Some(resource) = c.resource_for(&owner.api_version, &owner.kind).await else {
        // A kind nobody serves cannot have a live object.
        return Ok(OwnerState::Dangling);
    };
    // An owner is in the dependent's namespace, or cluster-scoped; a namespaced owner of a
    // cluster-scoped object cannot exist.
    if resource.1 && item.namespace.is_empty() {
        return Ok(OwnerState::Dangling);
    }
    let api = c.api(&resource, &item.namespace);
    match api.get_opt(&owner.name).await {
        Ok(Some(o)) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => Ok(judge(
            o.metadata.deletion_timestamp.is_some(),
            o.metadata.finalizers.as_deref().unwrap_or_default(),
        )),
        Ok(_) => Ok(OwnerState::Dangling),
        Err(err) => Err(SyncError::api("reading owner", &owner.name)(err)),
    }
}

/// Reads the object `name` fresh and, if it still has `uid`, merge-patches its metadata with
/// what `edit` makes of the fresh metadata, guarded by the version read. Gone or replaced
/// objects are left alone.
async fn patch_fresh_metadata(
    api: &Api<DynamicObject>,
    name: &str,
    uid: &str,
    action: &'static str,
    object: &str,
    edit: impl FnOnce(ObjectMeta) -> serde_json::Value,
) -> Result<(), SyncError> {
    let fresh = match api.get_opt(name).await {
        Ok(Some(o)) if o.metadata.uid.as_deref() == Some(uid) => o,
        Ok(_) => return Ok(()),
        Err(err) => return Err(SyncError::api(action, object)(err)),
    };
    let version = fresh.metadata.resource_version.clone();
    let mut metadata = edit(fresh.metadata);
    metadata["resourceVersion"] = serde_json::json!(version);
    let patch = serde_json::json!({ "metadata": metadata });
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if is_status(&err, 404) => Ok(()),
        Err(err) => Err(SyncError::api(action, object)(err)),
    }
}

/// Owner references of `meta` without those to `gone` owners.
fn references_without(meta: ObjectMeta, gone: impl Fn(&str) -> bool) -> serde_json::Value {
    let refs: Vec<OwnerReference> = meta
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .filter(|o| !gone(&o.uid))
        .collect();
    serde_json::json!({ "ownerReferences": refs })
}

/// Removes `finalizer` from the object `uid`, read fresh and written with its version.
async fn remove_finalizer(
    c: &Collector,
    uid: &str,
    item: &Item,
    finalizer: &str,
) -> Result<(), SyncError> {
    let object = format!("{}/{}", item.namespace, item.name);
    let api = c.api(&item.resource, &item.namespace);
    patch_fresh_metadata(
        &api,
        &item.name,
        uid,
        "removing a finalizer of",
        &object,
        |meta| {
            let finalizers: Vec<String> = meta
                .finalizers
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f != finalizer)
                .collect();
            serde_json::json!({ "finalizers": finalizers })
        },
    )
    .await
}

/// Removes the owner's references from every dependent, then its `orphan` finalizer.
async fn orphan_dependents(c: &Collector, uid: &str, item: &Item) -> Result<Outcome, SyncError> {
    let dependents = c.graph().dependents_of(uid);
    for (dep_uid, dep) in dependents {
        let object = format!("{}/{}", dep.namespace, dep.name);
        let api = c.api(&dep.resource, &dep.namespace);
        patch_fresh_metadata(
            &api,
            &dep.name,
            &dep_uid,
            "orphaning dependent",
            &object,
            |meta| references_without(meta, |o| o == uid),
        )
        .await?;
    }
    remove_finalizer(c, uid, item, ORPHAN).await?;
    Ok(Outcome::Done)
}

/// Deletes the owner's dependents; once none that blocks it remains, removes its
/// `foregroundDeletion` finalizer.
async fn delete_dependents(c: &Collector, uid: &str, item: &Item) -> Result<Outcome, SyncError> {
    let dependents = c.graph().dependents_of(uid);
    let mut blocking = 0;
    for (dep_uid, dep) in &dependents {
        let blocks = dep
            .owner_references()
            .iter()
            .any(|o| o.uid == uid && o.block_owner_deletion == Some(true));
        if blocks {
            blocking += 1;
        }
        // Each dependent decides for itself (it may have another, live owner).
        if !dep.deleting {
            c.queue.add(dep_uid);
        }
    }
    if blocking == 0 {
        remove_finalizer(c, uid, item, FOREGROUND).await?;
        return Ok(Outcome::Done);
    }
    // The dependents' deletions queue this owner again; the periodic check is a backstop.
    Ok(Outcome::RequeueAfter(Duration::from_secs(5)))
}

/// Lists and watches one resource forever, keeping the graph current and queueing the uids
/// each change concerns.
async fn reflect(c: Arc<Collector>, watched: &'static Watched, resync: Duration) {
    let resource = Arc::new((api_resource(watched), watched.4));
    let api: Api<MetaObject> = Api::all_with(c.client.clone(), &resource.0);
    list_then_watch(
        watched.3,
        &api,
        None,
        resync,
        |o: MetaObject| item_of(o.metadata, &resource),
        |items| {
            let listed: HashSet<Uid> = items.iter().map(|(uid, _)| Arc::clone(uid)).collect();
            let mut graph = c.graph();
            let mut touched = Vec::new();
            for gone in graph.uids_of(&resource.0.group, &resource.0.plural) {
                if !listed.contains(&gone) {
                    touched.extend(graph.remove(&gone));
                }
            }
            drop(listed);
            for (uid, item) in items {
                // The periodic full sync: every dependent is looked at again.
                if !item.owner_references().is_empty() {
                    touched.push(uid.clone());
                }
                touched.extend(graph.upsert(&uid, item));
            }
            drop(graph);
            c.queue_all(touched);
        },
        |change| {
            let touched = match change {
                Change::Applied((uid, item)) => c.graph().upsert(&uid, item),
                Change::Deleted((uid, _)) => c.graph().remove(&uid),
            };
            c.queue_all(touched);
        },
    )
    .await;
}

/// Keeps the pods in the graph from the controller manager's shared pod copy instead of a
/// watch of its own.
fn follow_pods(ctx: &Context, c: &Arc<Collector>, watched: &'static Watched) {
    let resource = Arc::new((api_resource(watched), watched.4));
    let c = Arc::clone(c);
    ctx.pods.subscribe(Box::new(move |old, new| {
        let touched = match (old, new) {
            (_, Some(pod)) => {
                let Some((uid, item)) = pod_item(pod, &resource) else {
                    return;
                };
                // The periodic relist repeats unchanged pods: every dependent is looked at
                // again.
                let relisted = old.is_some_and(|o| o.resource_version == pod.resource_version);
                let has_owners = !item.owner_references().is_empty();
                let mut touched = c.graph().upsert(&uid, item);
                if relisted && has_owners {
                    touched.push(uid);
                }
                touched
            }
            (Some(gone), None) => c.graph().remove(&gone.uid),
            (None, None) => return,
        };
        c.queue_all(touched);
    }));
}

/// Runs the collector until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let collector = Arc::new(Collector {
        client: ctx.client.clone(),
        graph: Mutex::new(Graph::default()),
        queue: WorkQueue::new(),
        discovered: Mutex::new(HashMap::new()),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for w in WATCHED {
        if (w.0, w.3) == ("", "pods") {
            follow_pods(&ctx, &collector, w);
        } else {
            tasks.spawn(reflect(collector.clone(), w, ctx.resync));
        }
    }
    let c = collector.clone();
    tasks.spawn(queue::run_workers(
        "garbage-collector",
        collector.queue.clone(),
        ctx.gc_workers,
        move |uid: String| sync(c.clone(), uid),
    ));
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(owners: &[&str], finalizers: &[&str]) -> Item {
        Item {
            resource: Arc::new((api_resource(&WATCHED[0]), true)),
            namespace: "ns".into(),
            name: "p".into(),
            owners: intern::owners(
                owners
                    .iter()
                    .map(|u| OwnerReference {
                        api_version: "apps/v1".into(),
                        kind: "ReplicaSet".into(),
                        name: format!("rs-{u}"),
                        uid: (*u).into(),
                        controller: None,
                        block_owner_deletion: Some(true),
                    })
                    .collect(),
            ),
            deleting: false,
            finalizers: finalizers.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    fn states(s: &[(&str, OwnerState)]) -> Vec<(String, OwnerState)> {
        s.iter().map(|(u, s)| ((*u).into(), *s)).collect()
    }

    #[test]
    fn a_live_owner_keeps_its_dependent() {
        let i = item(&["a"], &[]);
        assert_eq!(
            verdict(&i, &states(&[("a", OwnerState::Solid)]), false),
            Verdict::Keep
        );
    }

    #[test]
    fn references_to_gone_or_waiting_owners_are_dropped_while_one_lives() {
        let i = item(&["a", "b", "c"], &[]);
        let v = verdict(
            &i,
            &states(&[
                ("a", OwnerState::Solid),
                ("b", OwnerState::Dangling),
                ("c", OwnerState::WaitingForDependents),
            ]),
            false,
        );
        assert_eq!(v, Verdict::DropReferences(vec!["b".into(), "c".into()]));
    }

    #[test]
    fn a_dependent_without_live_owners_is_deleted_with_the_right_policy() {
        let dangling = states(&[("a", OwnerState::Dangling)]);
        assert_eq!(
            verdict(&item(&["a"], &[]), &dangling, true),
            Verdict::Delete(PropagationPolicyName::Background)
        );
        assert_eq!(
            verdict(&item(&["a"], &[ORPHAN]), &dangling, false),
            Verdict::Delete(PropagationPolicyName::Orphan)
        );
        let waiting = states(&[("a", OwnerState::WaitingForDependents)]);
        assert_eq!(
            verdict(&item(&["a"], &[]), &waiting, true),
            Verdict::Delete(PropagationPolicyName::Foreground)
        );
        assert_eq!(
            verdict(&item(&["a"], &[]), &waiting, false),
            Verdict::Delete(PropagationPolicyName::Background)
        );
    }

    fn uid(s: &str) -> Uid {
        Arc::from(s)
    }

    fn names(uids: Vec<Uid>) -> Vec<String> {
        let mut names: Vec<String> = uids.iter().map(|u| u.to_string()).collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn the_graph_tracks_dependents_and_reports_what_a_change_touches() {
        let mut g = Graph::default();
        g.upsert(&uid("rs"), item(&[], &[]));
        let touched = names(g.upsert(&uid("pod"), item(&["rs"], &[])));
        assert_eq!(touched, ["pod", "rs"]);
        assert_eq!(g.dependents_of("rs").len(), 1);
        assert!(g.has_dependents("rs"));
        assert_eq!(g.len(), 2);
        // A change the graph does not keep touches nothing; one of the owner's deletion state
        // touches its dependents.
        assert!(g.upsert(&uid("rs"), item(&[], &[])).is_empty());
        let mut deleting = item(&[], &["foregroundDeletion"]);
        deleting.deleting = true;
        assert!(names(g.upsert(&uid("rs"), deleting)).contains(&"pod".to_owned()));
        // The owner goes: its dependent is worth a look.
        assert_eq!(names(g.remove("rs")), ["pod"]);
        // The dependent drops its reference: the index follows.
        g.upsert(&uid("pod"), item(&[], &[]));
        assert!(g.dependents_of("rs").is_empty());
        assert!(!g.has_dependents("rs"));
        // The owner goes: nothing names it any more.
        assert!(g.remove("rs").is_empty());
        assert!(g.remove("pod").is_empty());
        assert!(g.is_empty());
    }

    #[test]
    fn a_pod_item_shares_the_pod_copys_values() {
        let wire: crate::informer::WirePod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "ns", "uid": "p1",
                "finalizers": ["example.com/hold"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web", "uid": "rs", "controller": true}]},
        }))
        .unwrap();
        let pod = <SlimPod as crate::ownership::Dependent>::from_wire(wire);
        let resource = Arc::new((api_resource(&WATCHED[0]), true));
        let (u, item) = pod_item(&pod, &resource).unwrap();
        assert!(Arc::ptr_eq(&u, &pod.uid));
        assert!(Arc::ptr_eq(&item.owners, &pod.owners));
        assert!(Arc::ptr_eq(&item.namespace, &pod.namespace));
        assert_eq!((&*item.name, item.deleting), ("web-1", false));
        assert!(item.has_finalizer("example.com/hold"));
        let mut g = Graph::default();
        g.upsert(&u, item);
        assert_eq!(g.dependents_of("rs")[0].0, u);
    }

    #[test]
    #[ignore = "a measurement: run alone and in release, with --ignored --nocapture"]
    fn memory_per_pod_in_the_graph() {
        use crate::informer::probe;
        use crate::ownership::Dependent;
        const N: usize = 100_000;
        let resource = Arc::new((api_resource(&WATCHED[0]), true));
        // The pod copy holds the pods either way; only the graph's own share is counted.
        let pods: Vec<SlimPod> = (0..N)
            .map(|i| SlimPod::from_wire(probe::wire_pod(i)))
            .collect();
        let before = probe::rss_kib();
        let mut g = Graph::default();
        for pod in &pods {
            if let Some((u, item)) = pod_item(pod, &resource) {
                g.upsert(&u, item);
            }
        }
        let shared = (probe::rss_kib() - before) * 1024 / N as u64;
        assert_eq!(g.len(), N);
        drop(g);
        // An entry of its own per pod, as the graph kept before: owned strings and copies of
        // the owner references, keyed by owned uids.
        #[allow(dead_code)]
        struct OwnItem(
            Arc<Served>,
            String,
            String,
            Vec<OwnerReference>,
            bool,
            Vec<String>,
        );
        let before = probe::rss_kib();
        let mut items: HashMap<String, OwnItem> = HashMap::new();
        let mut dependents: HashMap<String, HashSet<String>> = HashMap::new();
        for pod in &pods {
            let owners = pod.owner_references().to_vec();
            for o in &owners {
                dependents
                    .entry(o.uid.clone())
                    .or_default()
                    .insert(pod.uid.to_string());
            }
            let item = OwnItem(
                Arc::clone(&resource),
                pod.namespace.to_string(),
                pod.name.to_string(),
                owners,
                false,
                Vec::new(),
            );
            items.insert(pod.uid.to_string(), item);
        }
        let own = (probe::rss_kib() - before) * 1024 / N as u64;
        drop((items, dependents));
        println!("bytes per pod in the garbage collector's graph: shared {shared}, own {own}");
        assert!(shared < 300, "a pod costs the graph {shared} bytes");
    }
}
