//! What every owning controller (deployment, replicaset, replicationcontroller) shares: the
//! controller reference, claiming dependents (adopting matching orphans, releasing owned
//! objects that stopped matching) and the run wiring that watches owners and dependents and
//! queues the owner a change concerns.

use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::Resource;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

/// An API kind a controller can own or be watched through: a namespaced built-in type.
pub trait Kind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + k8s_openapi::Resource
    + Clone
    + serde::de::DeserializeOwned
    + serde::Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Kind for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + k8s_openapi::Resource
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// The name part of the key meaning "an object no controller owns changed in this namespace":
/// every owner there looks at adopting it.
pub const ORPHANS: &str = "*";

/// The queue key of a namespaced object.
pub fn key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

/// An object as an owning controller reads it: a full API object, or a compact stored form of
/// one (such as the pod copy's [`crate::informer::SlimPod`]) that what the API sends converts
/// into.
pub trait Dependent: Sized + Send + Sync + 'static {
    /// The API type read, watched and patched.
    type Wire: Kind;
    /// The stored form of what the API sent.
    fn from_wire(wire: Self::Wire) -> Self;
    /// Its namespace (empty when unset).
    fn namespace(&self) -> &str;
    /// Its name (empty when unset).
    fn name(&self) -> &str;
    /// Its uid (empty when unset).
    fn uid(&self) -> &str;
    /// Its resourceVersion (empty when unset).
    fn resource_version(&self) -> &str;
    /// Its ownerReferences.
    fn owner_references(&self) -> &[OwnerReference];
    /// Whether it carries a deletionTimestamp.
    fn deleting(&self) -> bool;
}

impl<K: Kind> Dependent for K {
    type Wire = K;

    fn from_wire(wire: K) -> K {
        wire
    }

    fn namespace(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    fn uid(&self) -> &str {
        self.meta().uid.as_deref().unwrap_or_default()
    }

    fn resource_version(&self) -> &str {
        self.meta().resource_version.as_deref().unwrap_or_default()
    }

    fn owner_references(&self) -> &[OwnerReference] {
        self.meta().owner_references.as_deref().unwrap_or_default()
    }

    fn deleting(&self) -> bool {
        self.meta().deletion_timestamp.is_some()
    }
}

/// The owner reference marked as the controller, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    controller_in(meta.owner_references.as_deref().unwrap_or_default())
}

/// The reference of `refs` marked as the controller, if any.
pub fn controller_in(refs: &[OwnerReference]) -> Option<&OwnerReference> {
    refs.iter().find(|o| o.controller == Some(true))
}

/// The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the core group, empty).
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// The controller reference `owner` puts on the objects it creates or adopts.
pub fn owner_reference<O: Kind>(owner: &O) -> OwnerReference {
    OwnerReference {
        api_version: O::API_VERSION.into(),
        kind: O::KIND.into(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The reference Events about `object` carry.
pub fn object_reference<O: Kind>(object: &O) -> ObjectReference {
    let meta = object.meta();
    ObjectReference {
        api_version: Some(O::API_VERSION.into()),
        kind: Some(O::KIND.into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..ObjectReference::default()
    }
}

/// The key a dependent's event queues: its controller when that is an `O`, the namespace's
/// [`ORPHANS`] when it has no controller, nothing when another kind controls it.
pub fn owner_key<O: Kind, D: Dependent>(dependent: &D) -> Option<String> {
    let ns = Some(dependent.namespace()).filter(|ns| !ns.is_empty())?;
    match controller_in(dependent.owner_references()) {
        Some(o) => {
            (o.kind == O::KIND && group_of(&o.api_version) == O::GROUP).then(|| key(ns, &o.name))
        }
        None => Some(key(ns, ORPHANS)),
    }
}

/// Sorts `candidates` (the `D`s in the owner's namespace) into the ones `owner` controls,
/// adopting orphans `matches` accepts and releasing controlled ones it no longer accepts.
///
/// Each patch is guarded by the resource version read, so a dependent that changed meanwhile
/// is left to the next sync. An owner being deleted neither adopts nor releases.
pub async fn claim<O: Kind, D: Dependent>(
    api: &Api<D::Wire>,
    owner: &O,
    matches: impl Fn(&D) -> bool,
    candidates: impl IntoIterator<Item = Arc<D>>,
) -> Result<Vec<Arc<D>>, SyncError> {
    let uid = owner.meta().uid.clone().unwrap_or_default();
    let owner_deleting = owner.meta().deletion_timestamp.is_some();
    let mut owned = Vec::new();
    for obj in candidates {
        let name = obj.name().to_owned();
        let refs = match controller_in(obj.owner_references()) {
            Some(o) if o.uid == uid => {
                if matches(&obj) || owner_deleting {
                    owned.push(obj);
                    continue;
                }
                // Release: ours no longer.
                let refs: Vec<OwnerReference> = obj
                    .owner_references()
                    .iter()
                    .filter(|o| o.uid != uid)
                    .cloned()
                    .collect();
                refs
            }
            Some(_) => continue,
            None if matches(&obj) && !owner_deleting && !obj.deleting() => {
                let mut refs = obj.owner_references().to_vec();
                refs.push(owner_reference(owner));
                refs
            }
            None => continue,
        };
        let adopting = refs.iter().any(|o| o.uid == uid);
        let version = Some(obj.resource_version()).filter(|v| !v.is_empty());
        let patch = serde_json::json!({"metadata": {
            "ownerReferences": refs, "resourceVersion": version}});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(adopted) if adopting => owned.push(Arc::new(D::from_wire(adopted))),
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => {}
            Err(err) => {
                let action = if adopting { "adopting" } else { "releasing" };
                let object = key(obj.namespace(), &name);
                return Err(SyncError::api(action, &object)(err));
            }
        }
    }
    Ok(owned)
}

/// Queues every `O` of namespace `ns` (an orphan appeared there).
pub async fn fan_out<O: Kind>(
    client: kube::Client,
    queue: Arc<WorkQueue>,
    ns: &str,
) -> Result<Outcome, SyncError> {
    let owners: Api<O> = Api::namespaced(client, ns);
    let list = owners
        .list(&ListParams::default())
        .await
        .map_err(SyncError::api("listing owners", ns))?;
    for owner in &list.items {
        if let Some(name) = owner.meta().name.as_deref() {
            queue.add(&key(ns, name));
        }
    }
    Ok(Outcome::Done)
}

/// Runs an owning controller until the process stops: every `O` and every `D` is watched, an
/// `O` queues itself, a `D` queues the `O` controlling it (or, an orphan, every `O` of its
/// namespace), and `workers` workers run `sync(client, "ns/name")` per key.
pub async fn run<O, D, S, Fut>(controller: &'static str, ctx: &Context, workers: usize, sync: S)
where
    O: Kind,
    D: Kind,
    S: Fn(kube::Client, String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, SyncError>> + Send,
{
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            O::URL_PATH_SEGMENT,
            Api::<O>::all(client.clone()),
            None,
            queue.clone(),
            |o: &O| Some(key(
                o.meta().namespace.as_deref()?,
                o.meta().name.as_deref()?
            )),
            ctx.resync,
        ),
        hints::feed(
            D::URL_PATH_SEGMENT,
            Api::<D>::all(client.clone()),
            None,
            queue.clone(),
            owner_key::<O, D>,
            ctx.resync,
        ),
        queue::run_workers(controller, queue.clone(), workers, {
            let queue = queue.clone();
            move |k: String| {
                let (client, queue, sync) = (client.clone(), queue.clone(), sync.clone());
                async move {
                    match k.split_once('/') {
                        Some((ns, ORPHANS)) => fan_out::<O>(client, queue, ns).await,
                        _ => sync(client, k).await,
                    }
                }
            }
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    use k8s_openapi::api::core::v1::{Pod, ReplicationController};

    fn controlled_by(kind: &str, api_version: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.namespace = Some("ns".into());
        p.metadata.owner_references = Some(vec![OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: "web".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
        p
    }

    #[test]
    fn dependents_key_their_controller_of_the_right_kind_or_the_orphans() {
        let mut p = Pod::default();
        p.metadata.namespace = Some("ns".into());
        assert_eq!(owner_key::<ReplicaSet, Pod>(&p).as_deref(), Some("ns/*"));
        let rs_pod = controlled_by("ReplicaSet", "apps/v1");
        assert_eq!(
            owner_key::<ReplicaSet, Pod>(&rs_pod).as_deref(),
            Some("ns/web")
        );
        assert_eq!(owner_key::<ReplicationController, Pod>(&rs_pod), None);
        let rc_pod = controlled_by("ReplicationController", "v1");
        assert_eq!(
            owner_key::<ReplicationController, Pod>(&rc_pod).as_deref(),
            Some("ns/web")
        );
        assert_eq!(owner_key::<ReplicaSet, Pod>(&rc_pod), None);
        // Same kind name in another group is not ours.
        let other = controlled_by("ReplicaSet", "example.com/v1");
        assert_eq!(owner_key::<ReplicaSet, Pod>(&other), None);
        let mut not_controller = controlled_by("StatefulSet", "apps/v1");
        not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        assert_eq!(
            owner_key::<Deployment, Pod>(&not_controller).as_deref(),
            Some("ns/*")
        );
    }

    #[test]
    fn owner_references_name_the_kind_and_group() {
        let mut rc = ReplicationController::default();
        rc.metadata.name = Some("a".into());
        rc.metadata.uid = Some("u".into());
        let r = owner_reference(&rc);
        assert_eq!(
            (r.api_version.as_str(), r.kind.as_str(), r.controller),
            ("v1", "ReplicationController", Some(true))
        );
        let d = object_reference(&Deployment::default());
        assert_eq!(d.api_version.as_deref(), Some("apps/v1"));
        assert_eq!(d.kind.as_deref(), Some("Deployment"));
    }
}
