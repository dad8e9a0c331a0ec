//! The errors of the store contract, one variant per outcome the API server maps to a status.

use crate::types::KeyValue;
use crate::Revision;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create found the key already present.
    #[error("key {key} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// An update or get found no such key.
    #[error("key {key} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// A conditional write lost: the key changed since the caller read it.
    #[error("key {key} was modified: expected mod revision {expected}, found {}",
        current.as_ref().map_or(0, |kv| kv.mod_revision))]
    Conflict {
        /// The key.
        key: String,
        /// The mod revision the caller expected.
        expected: Revision,
        /// The value now stored, if the key still exists.
        current: Option<Box<KeyValue>>,
    },
    /// The requested revision was compacted away, or a watcher fell too far behind and was
    /// cut off; the caller must list again.
    #[error("revision {requested} has been compacted (oldest available is {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The oldest revision still available.
        compacted: Revision,
    },
    /// A read asked for a revision the store has not reached.
    #[error("revision {requested} is in the future (current is {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// The database file at `path` is damaged, or belongs to something else; Berth refuses to
    /// use or overwrite it.
    #[error("{path}: {reason}")]
    BadDatabase {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store is closed or its writer stopped.
    #[error("store is closed")]
    Closed,
    /// A failure of the backend itself (I/O, SQLite, the etcd connection).
    #[error("store backend error: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Backend(format!("sqlite: {err}"))
    }
}

impl From<etcd_client::Error> for StoreError {
    fn from(err: etcd_client::Error) -> Self {
        StoreError::Backend(format!("etcd: {err}"))
    }
}
