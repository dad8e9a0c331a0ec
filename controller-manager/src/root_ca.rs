//! The `root-ca-cert-publisher` controller: every active namespace has a ConfigMap
//! `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so pods can verify the API server.
//!
//! Synced per namespace; a ConfigMap edited by hand is put back.

use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::serviceaccount::is_active;
use crate::{Context, SyncError};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Name of the published ConfigMap.
pub const CONFIG_MAP: &str = "kube-root-ca.crt";
/// The key holding the CA bundle.
pub const CA_KEY: &str = "ca.crt";
/// Annotation key describing the ConfigMap.
pub const DESCRIPTION_KEY: &str = "kubernetes.io/description";
/// What the ConfigMap is for.
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver \
    when using internal endpoints such as the internal service IP or kubernetes.default.svc. No \
    other usage is guaranteed across distributions of Kubernetes clusters.";

/// Sets `cm`'s data and description to what is published; returns whether anything changed.
pub fn make_current(cm: &mut ConfigMap, ca_pem: &str) -> bool {
    let data = BTreeMap::from([(CA_KEY.to_owned(), ca_pem.to_owned())]);
    let mut changed = false;
    if cm.data.as_ref() != Some(&data) || cm.binary_data.is_some() {
        cm.data = Some(data);
        cm.binary_data = None;
        changed = true;
    }
    let annotations = cm.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(DESCRIPTION_KEY).map(String::as_str) != Some(DESCRIPTION) {
        annotations.insert(DESCRIPTION_KEY.to_owned(), DESCRIPTION.to_owned());
        changed = true;
    }
    changed
}

/// Makes namespace `ns`'s `kube-root-ca.crt` hold `ca_pem`.
pub async fn sync(
    client: kube::Client,
    ca_pem: Arc<str>,
    ns: String,
) -> Result<Outcome, SyncError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let Some(namespace) = namespaces
        .get_opt(&ns)
        .await
        .map_err(SyncError::api("reading namespace", &ns))?
    else {
        return Ok(Outcome::Done);
    };
    if !is_active(&namespace) {
        return Ok(Outcome::Done);
    }
    let maps: Api<ConfigMap> = Api::namespaced(client, &ns);
    let object = format!("{ns}/{CONFIG_MAP}");
    let current = maps
        .get_opt(CONFIG_MAP)
        .await
        .map_err(SyncError::api("reading configmap", &object))?;
    let result = match current {
        Some(mut cm) => {
            if !make_current(&mut cm, &ca_pem) {
                return Ok(Outcome::Done);
            }
            maps.replace(CONFIG_MAP, &PostParams::default(), &cm)
                .await
                .map(|_| "updated")
        }
        None => {
            let mut cm = ConfigMap::default();
            cm.metadata.name = Some(CONFIG_MAP.to_owned());
            make_current(&mut cm, &ca_pem);
            maps.create(&PostParams::default(), &cm)
                .await
                .map(|_| "created")
        }
    };
    match result {
        Ok(what) => {
            tracing::info!(controller = "root-ca-cert-publisher", object = %object, "{what}");
            Ok(Outcome::Done)
        }
        // The namespace started terminating meanwhile.
        Err(err) if is_status(&err, 403) => Ok(Outcome::Done),
        // A conflict or a concurrent create: the retry reads the new state.
        Err(err) => Err(SyncError::api("writing configmap", &object)(err)),
    }
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
    let ca: Arc<str> = Arc::from(ctx.root_ca_pem.as_str());
    tokio::join!(
        hints::feed(
            "namespaces",
            Api::<Namespace>::all(client.clone()),
            None,
            queue.clone(),
            hints::name_of,
            ctx.resync,
        ),
        hints::feed(
            "configmaps",
            Api::<ConfigMap>::all(client.clone()),
            Some(format!("metadata.name={CONFIG_MAP}")),
            queue.clone(),
            hints::namespace_of,
            ctx.resync,
        ),
        queue::run_workers("root-ca-cert-publisher", queue.clone(), 2, move |ns| {
            sync(client.clone(), ca.clone(), ns)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_maps_are_put_back_and_current_ones_left_alone() {
        let mut cm = ConfigMap::default();
        assert!(make_current(&mut cm, "CA"));
        assert_eq!(cm.data.as_ref().unwrap()[CA_KEY], "CA");
        assert!(!make_current(&mut cm, "CA"));
        cm.data.as_mut().unwrap().insert("extra".into(), "x".into());
        assert!(make_current(&mut cm, "CA"));
        assert_eq!(cm.data.as_ref().unwrap().len(), 1);
        assert!(make_current(&mut cm, "NEW CA"));
        assert_eq!(cm.data.as_ref().unwrap()[CA_KEY], "NEW CA");
        cm.metadata.annotations = None;
        assert!(make_current(&mut cm, "NEW CA"));
        assert_eq!(
            cm.metadata.annotations.as_ref().unwrap()[DESCRIPTION_KEY],
            DESCRIPTION
        );
    }
}
