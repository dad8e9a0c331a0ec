//! An in-memory backend with the full store contract, for unit tests of other crates.
//!
//! It keeps every value since the last compaction, so reads at older revisions and watch replay
//! behave exactly like the durable backends. Nothing survives the process.

use crate::hub::{Hub, HubWatch};
use crate::types::{
    prefix_end, EventKind, KeyValue, RangeRequest, RangeResult, Revision, WatchEvent,
};
use crate::{Result, Store, StoreError, Watch};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct State {
    revision: Revision,
    compacted: Revision,
    current: BTreeMap<String, KeyValue>,
    /// Every change above `compacted`, by revision.
    log: BTreeMap<Revision, WatchEvent>,
}

/// The in-memory store.
pub struct MemoryStore {
    state: Mutex<State>,
    hub: Hub,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store at revision 0.
    pub fn new() -> Self {
        MemoryStore {
            state: Mutex::new(State::default()),
            hub: Hub::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a change and publishes it; the caller holds the state lock so revisions are
    /// published in order.
    fn commit(&self, state: &mut State, event: WatchEvent) {
        let revision = event.revision();
        state.revision = revision;
        match event.kind {
            EventKind::Put => {
                state.current.insert(event.kv.key.clone(), event.kv.clone());
            }
            EventKind::Delete => {
                state.current.remove(&event.kv.key);
            }
        }
        state.log.insert(revision, event.clone());
        self.hub.publish(&[Arc::new(event)], revision);
    }
}

fn in_range(key: &str, prefix: &str, end: Option<&[u8]>) -> bool {
    key.starts_with(prefix) && end.is_none_or(|e| key.as_bytes() < e)
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let mut state = self.lock();
        if state.current.contains_key(key) {
            return Err(StoreError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        };
        let event = WatchEvent {
            kind: EventKind::Put,
            kv: kv.clone(),
            prev: None,
        };
        self.commit(&mut state, event);
        Ok(kv)
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: Revision,
    ) -> Result<KeyValue> {
        let mut state = self.lock();
        let Some(old) = state.current.get(key).cloned() else {
            return Err(StoreError::NotFound {
                key: key.to_owned(),
            });
        };
        if old.mod_revision != expected_mod_revision {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                expected: expected_mod_revision,
                current: Some(Box::new(old)),
            });
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: old.create_revision,
            mod_revision: revision,
        };
        let event = WatchEvent {
            kind: EventKind::Put,
            kv: kv.clone(),
            prev: Some(old),
        };
        self.commit(&mut state, event);
        Ok(kv)
    }

    async fn delete(&self, key: &str, expected_mod_revision: Option<Revision>) -> Result<KeyValue> {
        let mut state = self.lock();
        let Some(old) = state.current.get(key).cloned() else {
            return Err(StoreError::NotFound {
                key: key.to_owned(),
            });
        };
        if let Some(expected) = expected_mod_revision {
            if old.mod_revision != expected {
                return Err(StoreError::Conflict {
                    key: key.to_owned(),
                    expected,
                    current: Some(Box::new(old)),
                });
            }
        }
        let revision = state.revision + 1;
        let kv = KeyValue {
            mod_revision: revision,
            ..old.clone()
        };
        let event = WatchEvent {
            kind: EventKind::Delete,
            kv: kv.clone(),
            prev: Some(old),
        };
        self.commit(&mut state, event);
        Ok(kv)
    }

    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)> {
        let state = self.lock();
        Ok((state.current.get(key).cloned(), state.revision))
    }

    async fn range(&self, request: RangeRequest) -> Result<RangeResult> {
        let state = self.lock();
        let revision = if request.revision == 0 {
            state.revision
        } else {
            request.revision
        };
        if revision > state.revision {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        if revision < state.compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted: state.compacted,
            });
        }
        let end = prefix_end(request.prefix.as_bytes());
        // Start from the current values and undo every change made after `revision`.
        let mut view: BTreeMap<String, KeyValue> = state
            .current
            .range::<str, _>((Bound::Included(request.prefix.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| in_range(k, &request.prefix, end.as_deref()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for event in state.log.range(revision + 1..).rev().map(|(_, e)| e) {
            if !in_range(&event.kv.key, &request.prefix, end.as_deref()) {
                continue;
            }
            match &event.prev {
                Some(prev) => view.insert(prev.key.clone(), prev.clone()),
                None => view.remove(&event.kv.key),
            };
        }
        let start = match &request.start_after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let mut kvs: Vec<KeyValue> = view
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(_, v)| v.clone())
            .take(if request.limit == 0 {
                usize::MAX
            } else {
                request.limit + 1
            })
            .collect();
        let more = request.limit != 0 && kvs.len() > request.limit;
        kvs.truncate(if request.limit == 0 {
            kvs.len()
        } else {
            request.limit
        });
        Ok(RangeResult {
            kvs,
            more,
            revision,
        })
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch> {
        let state = self.lock();
        let sub = self.hub.subscribe(prefix)?;
        if after + 1 < state.compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted: state.compacted,
            });
        }
        let history = if sub.committed > after {
            state
                .log
                .range(after + 1..=sub.committed)
                .map(|(_, e)| e)
                .filter(|e| e.kv.key.starts_with(prefix))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        Ok(Watch::new(Box::new(HubWatch::new(sub, history, after))))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut state = self.lock();
        if revision > state.revision {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: state.revision,
            });
        }
        if revision <= state.compacted {
            return Ok(());
        }
        state.compacted = revision;
        state.log = state.log.split_off(&revision);
        Ok(())
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.lock().revision)
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}
