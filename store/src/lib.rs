//! Berth's revisioned key-value store.
//!
//! All cluster state lives here, and only the API server talks to it. The contract is the one
//! an etcd cluster offers, so a multi-machine install can run on etcd while a single machine
//! runs on the embedded SQLite file:
//!
//! - one global revision, bumped by every successful write;
//! - per key a create revision and a mod revision;
//! - create-if-absent, and update and delete conditioned on the mod revision;
//! - prefix range with a limit and a continuation key, at the current or an older revision;
//! - watch of a prefix from a revision: every change after it, in order, none missed;
//! - compaction, after which reads and watches before the compacted revision fail with
//!   [`StoreError::Compacted`] (the API server answers those with 410 Gone).
//!
//! Backends: [`sqlite::SqliteStore`] (embedded default), [`etcd::EtcdStore`] and
//! [`memory::MemoryStore`] (for unit tests of other crates). One test suite
//! (`tests/suite.rs`) runs against all three.

mod commit_log;
pub mod crash_writer;
pub mod error;
pub mod etcd;
pub mod etcd_server;
mod hub;
pub mod keys;
pub mod memory;
mod overlay;
pub mod sqlite;
mod types;

pub use error::StoreError;
pub use types::{EventKind, KeyValue, RangeRequest, RangeResult, Revision, WatchEvent};

use async_trait::async_trait;
use std::sync::Arc;

/// The result type of every store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A stream of changes under one prefix, in revision order.
///
/// The stream ends with `Some(Err(StoreError::Compacted { .. }))` when the watcher fell too far
/// behind (it was cut off so that it never slows writers or other watchers) and the caller must
/// resync by listing again. It returns `None` once the store is closed.
pub struct Watch {
    inner: Box<dyn WatchSource>,
}

impl Watch {
    /// Wraps a backend's event source.
    pub(crate) fn new(inner: Box<dyn WatchSource>) -> Self {
        Watch { inner }
    }

    /// The next change, an error that ends the stream, or `None` when the stream is over.
    pub async fn next(&mut self) -> Option<Result<WatchEvent>> {
        self.inner.next().await
    }
}

/// What a backend supplies behind a [`Watch`].
#[async_trait]
pub(crate) trait WatchSource: Send {
    async fn next(&mut self) -> Option<Result<WatchEvent>>;
}

/// The store contract every backend implements.
///
/// Keys are UTF-8 paths such as `/registry/pods/default/web`; values are opaque bytes (the API
/// server stores JSON). Every successful write returns the revision it was committed at, and is
/// durable when the call returns.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates `key` with `value` if it does not exist.
    ///
    /// Fails with [`StoreError::AlreadyExists`] when it does.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;

    /// Replaces the value of `key` if its mod revision is still `expected_mod_revision`.
    ///
    /// Fails with [`StoreError::NotFound`] if the key is absent and with
    /// [`StoreError::Conflict`] (carrying the current value) if it changed since.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        expected_mod_revision: Revision,
    ) -> Result<KeyValue>;

    /// Deletes `key`, if `expected_mod_revision` is given only when it still matches.
    ///
    /// Returns the deleted value, with `mod_revision` set to the revision of the deletion.
    async fn delete(&self, key: &str, expected_mod_revision: Option<Revision>) -> Result<KeyValue>;

    /// Reads one key at the current revision; also returns that revision.
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)>;

    /// Reads keys under a prefix, in key order, at the current or an older revision.
    async fn range(&self, request: RangeRequest) -> Result<RangeResult>;

    /// Streams every change under `prefix` after revision `after` (exclusive), in order.
    ///
    /// Pass [`Store::current_revision`] (or the revision of a read) to see only later
    /// changes; `after == 0` replays all retained history. A revision already compacted away
    /// fails with [`StoreError::Compacted`]; one in the future waits for it.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<Watch>;

    /// Discards history older than `revision`; returns once the space is reclaimed.
    ///
    /// Afterwards reads at a revision below `revision` and watches that would need events
    /// below it fail with [`StoreError::Compacted`].
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// The newest committed revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Checks that the backend can serve requests (used by the API server's `/readyz`).
    async fn health(&self) -> Result<()>;
}

/// A shared handle to any backend.
pub type DynStore = Arc<dyn Store>;
