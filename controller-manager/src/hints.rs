//! Turns a resource's list and watch into keys on a [`WorkQueue`].
//!
//! Events are only hints: each listing queues every object's key, which is the periodic full
//! resync, and any watch failure (an error event, a dropped stream, a refused watch) leads to a
//! new listing, so nothing missed while disconnected stays missed.

use crate::queue::WorkQueue;
use futures::StreamExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait before listing again after a failed list or watch.
const RETRY: Duration = Duration::from_secs(1);

/// Lists and watches `api` (optionally restricted by a field selector) forever, adding
/// `key_of(object)` to `queue` for every listed object and every event; lists again every
/// `resync`.
pub async fn feed<K, F>(
    what: &'static str,
    api: Api<K>,
    field_selector: Option<String>,
    queue: Arc<WorkQueue>,
    key_of: F,
    resync: Duration,
) where
    K: Resource + Clone + serde::de::DeserializeOwned + Debug + Send + 'static,
    F: Fn(&K) -> Option<String>,
{
    let mut lp = ListParams::default();
    let mut wp = WatchParams::default().timeout(resync.as_secs().clamp(1, 290) as u32);
    if let Some(fields) = &field_selector {
        lp = lp.fields(fields);
        wp = wp.fields(fields);
    }
    loop {
        let list = match api.list(&lp).await {
            Ok(list) => list,
            Err(err) => {
                tracing::warn!(resource = what, error = %err, "listing failed");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        for obj in &list.items {
            if let Some(key) = key_of(obj) {
                queue.add(&key);
            }
        }
        let mut version = list.metadata.resource_version.unwrap_or_default();
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
                    // Time for the periodic full resync.
                    Err(_) => break 'watch,
                    // The server ended the watch; carry on from the last version seen.
                    Ok(None) => continue 'watch,
                    Ok(Some(Ok(event))) => event,
                    Ok(Some(Err(err))) => {
                        tracing::warn!(resource = what, error = %err, "watch stream failed");
                        break 'watch;
                    }
                };
                match event {
                    WatchEvent::Added(obj)
                    | WatchEvent::Modified(obj)
                    | WatchEvent::Deleted(obj) => {
                        if let Some(v) = obj.meta().resource_version.clone() {
                            version = v;
                        }
                        if let Some(key) = key_of(&obj) {
                            queue.add(&key);
                        }
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

/// The key of a namespaced object's namespace; used by controllers that sync per namespace.
pub fn namespace_of<K: Resource>(obj: &K) -> Option<String> {
    obj.meta().namespace.clone()
}

/// The key of a cluster-scoped object: its name.
pub fn name_of<K: Resource>(obj: &K) -> Option<String> {
    obj.meta().name.clone()
}

/// Whether a `kube` error is the API's answer with HTTP `code`.
pub fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == code)
}
