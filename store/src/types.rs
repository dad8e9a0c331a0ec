//! The values that cross the store contract.

/// A store revision. Revision 0 means "none"; the first write gets revision 1 or higher.
pub type Revision = i64;

/// One key with its value and revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key.
    pub key: String,
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The revision at which the key was created (the latest creation, if it was deleted and
    /// created again).
    pub create_revision: Revision,
    /// The revision of the latest change of the key; for a deleted value, of the deletion.
    pub mod_revision: Revision,
}

/// A prefix read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// Only keys that start with this prefix.
    pub prefix: String,
    /// Only keys strictly after this one (a continuation point from an earlier page).
    pub start_after: Option<String>,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read at this revision; 0 means the current one.
    pub revision: Revision,
}

impl RangeRequest {
    /// A read of every key under `prefix` at the current revision.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        RangeRequest {
            prefix: prefix.into(),
            ..Default::default()
        }
    }

    /// Limits the page to `limit` keys.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after `key`.
    pub fn start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// Reads at `revision`.
    pub fn at_revision(mut self, revision: Revision) -> Self {
        self.revision = revision;
        self
    }
}

/// The answer to a prefix read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeResult {
    /// The keys found, in key order.
    pub kvs: Vec<KeyValue>,
    /// Whether more keys follow the last one returned.
    pub more: bool,
    /// The revision the read was served at.
    pub revision: Revision,
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created or its value replaced.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change delivered to a watcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// Put or delete.
    pub kind: EventKind,
    /// For a put, the new value; for a delete, the deleted value with `mod_revision` set to the
    /// revision of the deletion.
    pub kv: KeyValue,
    /// The value before the change, if there was one and it is still known.
    pub prev: Option<KeyValue>,
}

impl WatchEvent {
    /// The revision at which the change was committed.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// The end of the key range covered by `prefix`: the smallest key greater than every key that
/// starts with `prefix`, or `None` when the range is unbounded.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"/registry/pods/", Some(b"/registry/pods0")),
            (b"a", Some(b"b")),
            (b"a\xff", Some(b"b")),
            (b"\xff\xff", None),
            (b"", None),
        ];
        for (prefix, want) in cases {
            assert_eq!(prefix_end(prefix).as_deref(), *want, "prefix {prefix:?}");
        }
    }
}
