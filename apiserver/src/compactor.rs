//! The store's history is compacted periodically, so that it does not grow without bound.
//!
//! Every `--etcd-compaction-interval` (five minutes by default; zero turns it off) the server
//! compacts the store to the revision that was current at the previous tick: history younger
//! than one interval is always kept, so a client that lists and then watches within an
//! interval never sees its resourceVersion expire, while older versions answer 410 Expired.
//!
//! Several API servers on one store need no coordination: each compacts only to a revision
//! it saw at least one interval earlier, and compacting to a revision at or below one already
//! compacted is harmless in every backend, so whichever server compacts last the history of
//! the last interval survives. The trade-off is that a store shared by N servers may be
//! compacted N times per interval, each a cheap no-op when nothing was written.

use berth_store::{DynStore, Revision, StoreError};
use std::time::{Duration, Instant};

/// The default `--etcd-compaction-interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The compaction state of one server: the revision seen at the previous tick and the
/// revision this server last compacted to.
pub struct Compactor {
    store: DynStore,
    previous: Option<Revision>,
    compacted: Revision,
}

impl Compactor {
    /// A compactor of `store` that has not ticked yet.
    pub fn new(store: DynStore) -> Self {
        Compactor {
            store,
            previous: None,
            compacted: 0,
        }
    }

    /// One tick: compacts to the revision seen at the previous tick (when history grew since
    /// the last compaction) and remembers the current revision for the next one. Returns the
    /// revision compacted to, if any.
    pub async fn tick(&mut self) -> Result<Option<Revision>, StoreError> {
        let current = self.store.current_revision().await?;
        let target = self.previous.replace(current);
        match target {
            Some(target) if target > self.compacted => {
                self.store.compact(target).await?;
                self.compacted = target;
                Ok(Some(target))
            }
            _ => Ok(None),
        }
    }
}

/// Compacts `store` every `interval` until the process stops; a zero interval does nothing.
pub async fn run(store: DynStore, interval: Duration) {
    if interval.is_zero() {
        tracing::info!("store compaction is disabled");
        return;
    }
    let mut compactor = Compactor::new(store);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let started = Instant::now();
        match compactor.tick().await {
            Ok(Some(revision)) => tracing::info!(
                revision,
                took_ms = started.elapsed().as_millis() as u64,
                "compacted the store's history"
            ),
            Ok(None) => {}
            // The next tick tries again, with a newer revision.
            Err(err) => tracing::warn!(error = %err, "compacting the store failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_store::memory::MemoryStore;
    use std::sync::Arc;

    /// Creates `n` keys; returns the store's revision afterwards.
    async fn write(store: &DynStore, n: usize) -> Revision {
        let base = store.current_revision().await.unwrap();
        for i in 0..n {
            store
                .create(&format!("/k/{base}-{i}"), b"v".to_vec())
                .await
                .unwrap();
        }
        store.current_revision().await.unwrap()
    }

    #[test]
    fn the_flag_default_is_the_default_interval() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            options: crate::Options,
        }
        let cli = Cli::try_parse_from(["berth-apiserver", "--data-dir", "/tmp/x"]).unwrap();
        assert_eq!(cli.options.etcd_compaction_interval, DEFAULT_INTERVAL);
    }

    #[tokio::test]
    async fn each_tick_compacts_to_the_revision_of_the_tick_before() {
        let store: DynStore = Arc::new(MemoryStore::new());
        let mut compactor = Compactor::new(store.clone());
        let first = write(&store, 3).await;
        // The first tick only remembers where the store is.
        assert_eq!(compactor.tick().await.unwrap(), None);
        assert!(store.watch("/", 0).await.is_ok());
        let second = write(&store, 3).await;
        assert_eq!(compactor.tick().await.unwrap(), Some(first));
        // Older history is gone; everything since the previous tick is kept.
        assert!(matches!(
            store.watch("/", 1).await.err(),
            Some(StoreError::Compacted { .. })
        ));
        let mut kept = store.watch("/", first).await.unwrap();
        assert_eq!(kept.next().await.unwrap().unwrap().revision(), first + 1);
        // Nothing written since: nothing more to compact than the second tick's revision.
        assert_eq!(compactor.tick().await.unwrap(), Some(second));
        assert_eq!(compactor.tick().await.unwrap(), None);
    }

    #[tokio::test]
    async fn compacting_behind_another_server_is_harmless() {
        let store: DynStore = Arc::new(MemoryStore::new());
        let mut ours = Compactor::new(store.clone());
        let seen = write(&store, 2).await;
        ours.tick().await.unwrap();
        let newer = write(&store, 2).await;
        // Another server sharing the store compacted further meanwhile.
        store.compact(newer).await.unwrap();
        assert_eq!(ours.tick().await.unwrap(), Some(seen));
        let mut kept = store.watch("/", newer - 1).await.unwrap();
        assert_eq!(kept.next().await.unwrap().unwrap().revision(), newer);
    }
}
