//! In-process fan-out of committed changes to watchers.
//!
//! The writer of an embedded backend publishes each committed batch here, under one lock, so
//! every watcher sees changes in revision order. Delivery never blocks the writer: each watcher
//! has a bounded queue, and a watcher whose queue is full is cut off (it later reads
//! [`StoreError::Compacted`] and must resync by listing). Cutting one slow watcher off keeps
//! writers and every other watcher at full speed.

use crate::types::{Revision, WatchEvent};
use crate::{Result, StoreError, WatchSource};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many undelivered events a watcher may queue before it is cut off.
pub(crate) const WATCH_QUEUE: usize = 10_000;

struct Subscriber {
    prefix: String,
    tx: mpsc::Sender<Arc<WatchEvent>>,
    cut: Arc<AtomicBool>,
}

struct HubState {
    committed: Revision,
    subscribers: Vec<Subscriber>,
    closed: bool,
}

/// The watcher registry of one embedded store.
pub(crate) struct Hub {
    state: Mutex<HubState>,
}

/// A fresh subscription: the revision it starts after, and its queue.
pub(crate) struct Subscription {
    /// Events with revisions above this one arrive on `rx`; older ones must be replayed from
    /// history by the caller.
    pub(crate) committed: Revision,
    rx: mpsc::Receiver<Arc<WatchEvent>>,
    cut: Arc<AtomicBool>,
}

impl Hub {
    /// A hub whose last committed revision is `committed`.
    pub(crate) fn new(committed: Revision) -> Self {
        Hub {
            state: Mutex::new(HubState {
                committed,
                subscribers: Vec::new(),
                closed: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // A panic while holding the lock cannot leave the state inconsistent (every update is
        // a single assignment or push), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest revision published.
    pub(crate) fn committed(&self) -> Revision {
        self.lock().committed
    }

    /// Registers a watcher of `prefix`; it receives every change published from now on.
    pub(crate) fn subscribe(&self, prefix: &str) -> Result<Subscription> {
        let mut state = self.lock();
        if state.closed {
            return Err(StoreError::Closed);
        }
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        let cut = Arc::new(AtomicBool::new(false));
        state.subscribers.push(Subscriber {
            prefix: prefix.to_owned(),
            tx,
            cut: cut.clone(),
        });
        Ok(Subscription {
            committed: state.committed,
            rx,
            cut,
        })
    }

    /// Publishes the changes of one committed batch and advances the committed revision.
    pub(crate) fn publish(&self, events: &[Arc<WatchEvent>], committed: Revision) {
        let mut state = self.lock();
        if committed > state.committed {
            state.committed = committed;
        }
        if events.is_empty() {
            return;
        }
        state.subscribers.retain(|sub| {
            for event in events {
                if !event.kv.key.starts_with(&sub.prefix) {
                    continue;
                }
                match sub.tx.try_send(event.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(prefix = %sub.prefix, "watcher too slow, cutting it off");
                        sub.cut.store(true, Ordering::Release);
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }

    /// Ends every watch; later subscriptions fail with [`StoreError::Closed`].
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.subscribers.clear();
    }
}

/// A watch served from replayed history followed by live events from a [`Hub`].
pub(crate) struct HubWatch {
    pending: VecDeque<WatchEvent>,
    rx: mpsc::Receiver<Arc<WatchEvent>>,
    cut: Arc<AtomicBool>,
    /// Only events above this revision are delivered.
    after: Revision,
    /// The revision of the last event delivered, to report where a cut-off watcher stopped.
    last: Revision,
    done: bool,
}

impl HubWatch {
    /// A watch that first yields `history` (events in `(after, sub.committed]`), then live
    /// events above `after`.
    pub(crate) fn new(sub: Subscription, history: Vec<WatchEvent>, after: Revision) -> Self {
        HubWatch {
            pending: history.into(),
            rx: sub.rx,
            cut: sub.cut,
            after,
            last: after,
            done: false,
        }
    }
}

#[async_trait]
impl WatchSource for HubWatch {
    async fn next(&mut self) -> Option<Result<WatchEvent>> {
        if self.done {
            return None;
        }
        if let Some(event) = self.pending.pop_front() {
            self.last = event.revision();
            return Some(Ok(event));
        }
        loop {
            match self.rx.recv().await {
                Some(event) => {
                    if event.revision() <= self.after {
                        continue;
                    }
                    self.last = event.revision();
                    return Some(Ok(Arc::unwrap_or_clone(event)));
                }
                None => {
                    self.done = true;
                    if self.cut.load(Ordering::Acquire) {
                        return Some(Err(StoreError::Compacted {
                            requested: self.last + 1,
                            compacted: self.last + 1,
                        }));
                    }
                    return None;
                }
            }
        }
    }
}
