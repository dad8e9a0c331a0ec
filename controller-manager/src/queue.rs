//! The work queue every controller drains: keys (a namespace name, `namespace/name`) that need
//! a sync.
//!
//! Events only add keys, so a burst of events for one object costs one sync. A key is never
//! handed to two workers at once: a key added while it is being synced is marked dirty and
//! queued again when that sync ends. Failed keys come back after an exponential backoff.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// First retry delay after a failed sync; doubles per consecutive failure.
const BACKOFF_BASE: Duration = Duration::from_millis(50);
/// Longest retry delay after failures.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    active: HashSet<String>,
    dirty: HashSet<String>,
    failures: HashMap<String, u32>,
}

/// A coalescing queue of keys.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    ready: Notify,
}

/// What a sync asks of the queue when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more to do until the next event or resync.
    Done,
    /// Look again after this long (waiting on something no event announces).
    RequeueAfter(Duration),
}

impl WorkQueue {
    /// An empty queue.
    pub fn new() -> Arc<WorkQueue> {
        Arc::new(WorkQueue::default())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks for a sync of `key`.
    pub fn add(&self, key: &str) {
        let mut s = self.state();
        if s.queued.contains(key) {
            return;
        }
        if s.active.contains(key) {
            s.dirty.insert(key.to_owned());
            return;
        }
        s.queued.insert(key.to_owned());
        s.queue.push_back(key.to_owned());
        drop(s);
        self.ready.notify_one();
    }

    /// Asks for a sync of `key` after `delay`.
    pub fn add_after(self: &Arc<Self>, key: &str, delay: Duration) {
        let queue = Arc::clone(self);
        let key = key.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(&key);
        });
    }

    fn try_take(&self) -> Option<String> {
        let mut s = self.state();
        let key = s.queue.pop_front()?;
        s.queued.remove(&key);
        s.active.insert(key.clone());
        Some(key)
    }

    /// Waits for the next key; the caller must call [`WorkQueue::done`] with it.
    pub async fn next(&self) -> String {
        loop {
            let notified = self.ready.notified();
            if let Some(key) = self.try_take() {
                return key;
            }
            notified.await;
        }
    }

    /// Ends the sync of `key`; a key added meanwhile is queued again.
    pub fn done(&self, key: &str) {
        let again = {
            let mut s = self.state();
            s.active.remove(key);
            s.dirty.remove(key)
        };
        if again {
            self.add(key);
        }
    }

    /// Records a successful sync: the key's backoff starts over.
    pub fn forget(&self, key: &str) {
        self.state().failures.remove(key);
    }

    /// Records a failed sync and returns how long to wait before the retry.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut s = self.state();
        let n = s.failures.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        let factor = 1u32
            .checked_shl(n.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
    }

    /// Number of keys waiting (not counting those being synced).
    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    /// Whether no key is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `workers` loops that take keys from `queue` and sync them with `sync`; never returns.
///
/// A failed sync is logged once here and retried after a backoff.
pub async fn run_workers<S, Fut, E>(
    controller: &'static str,
    queue: Arc<WorkQueue>,
    workers: usize,
    sync: S,
) where
    S: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Outcome, E>> + Send,
    E: std::fmt::Display,
{
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let queue = Arc::clone(&queue);
        let sync = sync.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let key = queue.next().await;
                match sync(key.clone()).await {
                    Ok(outcome) => {
                        queue.forget(&key);
                        if let Outcome::RequeueAfter(d) = outcome {
                            queue.add_after(&key, d);
                        }
                    }
                    Err(err) => {
                        let delay = queue.backoff(&key);
                        tracing::warn!(controller, object = %key, error = %err, retry_in = ?delay, "sync failed");
                        queue.add_after(&key, delay);
                    }
                }
                queue.done(&key);
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn repeated_adds_coalesce() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await, "a");
        assert_eq!(q.next().await, "b");
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_key_is_never_synced_twice_at_once() {
        let q = WorkQueue::new();
        q.add("a");
        let key = q.next().await;
        // Added while its sync runs: held back, not handed to another worker.
        q.add("a");
        assert!(q.is_empty());
        q.done(&key);
        assert_eq!(q.len(), 1);
        assert_eq!(q.next().await, "a");
        q.done("a");
        assert!(q.is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_a_ceiling_and_resets() {
        let q = WorkQueue::default();
        assert_eq!(q.backoff("a"), Duration::from_millis(50));
        assert_eq!(q.backoff("a"), Duration::from_millis(100));
        assert_eq!(q.backoff("a"), Duration::from_millis(200));
        for _ in 0..40 {
            q.backoff("a");
        }
        assert_eq!(q.backoff("a"), BACKOFF_MAX);
        q.forget("a");
        assert_eq!(q.backoff("a"), Duration::from_millis(50));
    }
}
