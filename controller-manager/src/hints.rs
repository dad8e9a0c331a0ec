//! The list-then-watch loop every watch-fed part of the controller manager runs, and its
//! simplest use: turning a resource's list and watch into keys on a [`WorkQueue`].
//!
//! [`list_then_watch`] lists in pages (each page converted before the next is read), hands the
//! listing over, then watches from the listed version and hands over each change; it lists
//! again every resync period and after any watch failure (an error event, a dropped stream, a
//! refused watch), so nothing missed while disconnected stays missed. Events are only hints
//! to [`feed`]: each listing queues every object's key, which is the periodic full resync,
//! and the key of every object that vanished since the previous listing (a delete missed
//! while disconnected), whose sync then finds it gone.

use crate::informer::list_in_pages;
use crate::queue::WorkQueue;
use futures::StreamExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long to wait before listing again after a failed list or watch.
const RETRY: Duration = Duration::from_secs(1);

/// A change a watch reports, converted.
pub enum Change<T> {
    /// Added or modified: the object as it is now.
    Applied(T),
    /// Deleted: the object as it was last.
    Deleted(T),
}

/// Lists and watches `api` (restricted by `fields`, a field selector, when given) forever:
/// `listed` gets every listing, converted object by object through `convert`, and `changed`
/// every watch event after it; lists again every `resync` and after any failure. A resource
/// the server does not serve (404) is tried again every `resync`, logged once.
pub async fn list_then_watch<K, T>(
    what: &'static str,
    api: &Api<K>,
    fields: Option<&str>,
    resync: Duration,
    mut convert: impl FnMut(K) -> Option<T>,
    mut listed: impl FnMut(Vec<T>),
    mut changed: impl FnMut(Change<T>),
) where
    K: Resource + Clone + serde::de::DeserializeOwned + Debug,
{
    let mut lp = ListParams::default();
    let mut wp = WatchParams::default().timeout(resync.as_secs().clamp(1, 290) as u32);
    if let Some(fields) = fields {
        lp = lp.fields(fields);
        wp = wp.fields(fields);
    }
    let mut missing_logged = false;
    loop {
        let (items, mut version) = match list_in_pages(api, &lp, &mut convert).await {
            Ok(listing) => listing,
            Err(err) if is_status(&err, 404) => {
                if !missing_logged {
                    tracing::info!(resource = what, "not served; looking again later");
                    missing_logged = true;
                }
                tokio::time::sleep(resync).await;
                continue;
            }
            Err(err) => {
                tracing::warn!(resource = what, error = %err, "listing failed");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        listed(items);
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
                let (obj, deleted) = match event {
                    WatchEvent::Added(obj) | WatchEvent::Modified(obj) => (obj, false),
                    WatchEvent::Deleted(obj) => (obj, true),
                    WatchEvent::Bookmark(mark) => {
                        version = mark.metadata.resource_version;
                        continue;
                    }
                    WatchEvent::Error(status) => {
                        tracing::debug!(resource = what, code = status.code, message = %status.message, "watch ended with an error; listing again");
                        break 'watch;
                    }
                };
                if let Some(v) = obj.meta().resource_version.clone() {
                    version = v;
                }
                if let Some(obj) = convert(obj) {
                    changed(if deleted {
                        Change::Deleted(obj)
                    } else {
                        Change::Applied(obj)
                    });
                }
            }
        }
    }
}

/// The keys a feed has seen since its last listing, so that the next listing can queue the
/// keys of objects deleted while no watch ran: a listing only shows what exists.
#[derive(Default)]
struct SeenKeys(HashSet<String>);

impl SeenKeys {
    /// Takes a listing's keys and returns the keys to queue: every listed one, then every
    /// one seen before that the listing lacks.
    fn listed(&mut self, keys: Vec<String>) -> Vec<String> {
        let listed: HashSet<String> = keys.into_iter().collect();
        let before = std::mem::replace(&mut self.0, listed);
        let mut queue: Vec<String> = self.0.iter().cloned().collect();
        queue.extend(before.into_iter().filter(|k| !self.0.contains(k)));
        queue
    }

    /// Notes a key a watch event reported. A deleted object's key stays: another object
    /// may share it (a namespace key), and one more sync of a key is harmless.
    fn seen(&mut self, key: &str) {
        if !self.0.contains(key) {
            self.0.insert(key.to_owned());
        }
    }
}

/// Lists and watches `api` (optionally restricted by a field selector) forever, adding
/// `key_of(object)` to `queue` for every listed object and every event; lists again every
/// `resync`. A listing also queues the keys of objects gone since the previous one.
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
    let seen = Mutex::new(SeenKeys::default());
    let seen = || seen.lock().unwrap_or_else(PoisonError::into_inner);
    list_then_watch(
        what,
        &api,
        field_selector.as_deref(),
        resync,
        |obj| key_of(&obj),
        |keys| {
            for key in seen().listed(keys) {
                queue.add(&key);
            }
        },
        |change| match change {
            Change::Applied(key) | Change::Deleted(key) => {
                seen().seen(&key);
                queue.add(&key);
            }
        },
    )
    .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    fn sorted(mut keys: Vec<String>) -> Vec<String> {
        keys.sort();
        keys
    }

    #[test]
    fn a_listing_queues_the_keys_of_objects_gone_since_the_last() {
        let mut seen = SeenKeys::default();
        assert_eq!(sorted(seen.listed(keys(&["a/x", "a/y"]))), ["a/x", "a/y"]);
        // Watched: z appeared, y was deleted.
        seen.seen("a/z");
        seen.seen("a/y");
        // Disconnected meanwhile: x and z were deleted, w created.
        assert_eq!(
            sorted(seen.listed(keys(&["a/w"]))),
            ["a/w", "a/x", "a/y", "a/z"]
        );
        // Queued once: the next listing only knows what the last one and the watch showed.
        assert_eq!(sorted(seen.listed(keys(&["a/w"]))), ["a/w"]);
        assert_eq!(sorted(seen.listed(Vec::new())), ["a/w"]);
        assert!(seen.listed(Vec::new()).is_empty());
    }
}
