//! The `serviceaccount` controller: every active namespace has a ServiceAccount named
//! `default`, created again when deleted.
//!
//! Synced per namespace. Namespaces being deleted are left alone: the namespace controller is
//! emptying them.

use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use std::sync::Arc;

/// The ServiceAccount every namespace gets.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// Whether a namespace accepts new content: it exists, is not being deleted and is Active.
pub fn is_active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none()
        && ns
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|p| p == "Active")
}

/// Makes sure namespace `ns` has its `default` ServiceAccount.
pub async fn sync(client: kube::Client, ns: String) -> Result<Outcome, SyncError> {
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
    let accounts: Api<ServiceAccount> = Api::namespaced(client, &ns);
    let object = format!("{ns}/{DEFAULT_SERVICE_ACCOUNT}");
    if accounts
        .get_opt(DEFAULT_SERVICE_ACCOUNT)
        .await
        .map_err(SyncError::api("reading serviceaccount", &object))?
        .is_some()
    {
        return Ok(Outcome::Done);
    }
    let mut account = ServiceAccount::default();
    account.metadata.name = Some(DEFAULT_SERVICE_ACCOUNT.to_owned());
    match accounts.create(&PostParams::default(), &account).await {
        Ok(_) => {
            tracing::info!(controller = "serviceaccount", object = %object, "created");
            Ok(Outcome::Done)
        }
        // Someone else created it, or the namespace started terminating meanwhile.
        Err(err) if is_status(&err, 409) || is_status(&err, 403) => Ok(Outcome::Done),
        Err(err) => Err(SyncError::api("creating serviceaccount", &object)(err)),
    }
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
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
            "serviceaccounts",
            Api::<ServiceAccount>::all(client.clone()),
            Some(format!("metadata.name={DEFAULT_SERVICE_ACCOUNT}")),
            queue.clone(),
            hints::namespace_of,
            ctx.resync,
        ),
        queue::run_workers("serviceaccount", queue.clone(), 2, move |ns| {
            sync(client.clone(), ns)
        }),
    );
}
