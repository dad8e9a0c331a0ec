//! The embedded store writer's view of changes that are durable but not yet in SQLite.
//!
//! The writer acknowledges a batch once its commit-log frames are synced and leaves applying it
//! to SQLite to the applier thread. Until the applier has committed a batch, SQLite does not
//! show it, but the writer's next checks (create-if-absent, mod-revision conditions) and the
//! previous values it returns must. The overlay holds, for every key written by such a batch,
//! its latest value or a tombstone; the writer consults it before SQLite and drops an entry
//! once the applier has committed the revision that wrote it (and no later one wrote the key
//! again).
//!
//! It also knows every live key (a few dozen bytes per key), so a create of a new key, the most
//! common write, is checked without reading SQLite at all.
//!
//! A batch's changes are first staged: they become part of the overlay only when the batch
//! reached the commit log, and are discarded if checking the batch failed.

use crate::types::{KeyValue, Revision};
use std::collections::{HashMap, HashSet, VecDeque};

/// What the overlay knows about a key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// Written by an unapplied batch and live: this is its value.
    Live(&'a KeyValue),
    /// The key does not exist (never written, or deleted).
    Absent,
    /// The key exists and no unapplied batch wrote it: SQLite has its current value.
    InSqlite,
}

#[derive(Debug)]
struct Entry {
    /// The revision of the latest write of the key.
    rev: Revision,
    /// The value after it; `None` for a deletion.
    kv: Option<KeyValue>,
}

/// Keys written by batches the applier has not committed yet.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    entries: HashMap<String, Entry>,
    /// `(revision, key)` of every write in the overlay, oldest first.
    order: VecDeque<(Revision, String)>,
    /// Changes of the batch being checked.
    staged: HashMap<String, Entry>,
    staged_order: Vec<(Revision, String)>,
    /// Every live key, staged changes not counted.
    live: HashSet<Box<str>>,
}

impl Overlay {
    /// An overlay over a store whose live keys are `live`.
    pub(crate) fn new(live: impl IntoIterator<Item = String>) -> Self {
        Overlay {
            live: live.into_iter().map(String::into_boxed_str).collect(),
            ..Default::default()
        }
    }

    /// The newest state of `key` among staged and unapplied changes, or where to find it.
    pub(crate) fn get(&self, key: &str) -> Lookup<'_> {
        match self.staged.get(key).or_else(|| self.entries.get(key)) {
            Some(Entry { kv: Some(kv), .. }) => Lookup::Live(kv),
            Some(Entry { kv: None, .. }) => Lookup::Absent,
            None if self.live.contains(key) => Lookup::InSqlite,
            None => Lookup::Absent,
        }
    }

    /// Stages a put of `kv` at its mod revision.
    pub(crate) fn stage_put(&mut self, kv: KeyValue) {
        let rev = kv.mod_revision;
        self.staged_order.push((rev, kv.key.clone()));
        self.staged
            .insert(kv.key.clone(), Entry { rev, kv: Some(kv) });
    }

    /// Stages the deletion of `key` at `rev`.
    pub(crate) fn stage_delete(&mut self, key: &str, rev: Revision) {
        self.staged_order.push((rev, key.to_owned()));
        self.staged.insert(key.to_owned(), Entry { rev, kv: None });
    }

    /// Makes the staged changes part of the overlay (their batch is in the commit log).
    pub(crate) fn commit_staged(&mut self) {
        for (key, entry) in &self.staged {
            if entry.kv.is_some() {
                if !self.live.contains(key.as_str()) {
                    self.live.insert(key.as_str().into());
                }
            } else {
                self.live.remove(key.as_str());
            }
        }
        self.entries.extend(self.staged.drain());
        self.order.extend(self.staged_order.drain(..));
    }

    /// Forgets the staged changes (their batch was never written).
    pub(crate) fn discard_staged(&mut self) {
        self.staged.clear();
        self.staged_order.clear();
    }

    /// Drops what SQLite now shows: every write at or below `applied`, unless the key was
    /// written again by a later, still unapplied, revision.
    pub(crate) fn prune(&mut self, applied: Revision) {
        while let Some((rev, _)) = self.order.front() {
            if *rev > applied {
                break;
            }
            let Some((rev, key)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.rev == rev) {
                self.entries.remove(&key);
            }
        }
    }

    /// Keys in the overlay (staged changes not counted).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, create: Revision, rev: Revision, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            create_revision: create,
            mod_revision: rev,
        }
    }

    #[test]
    fn staged_changes_are_seen_and_kept_or_discarded_whole() {
        let mut o = Overlay::new(["/in-sqlite".to_string()]);
        assert_eq!(o.get("/a"), Lookup::Absent);
        assert_eq!(o.get("/in-sqlite"), Lookup::InSqlite);
        o.stage_put(kv("/a", 1, 1, "one"));
        o.stage_put(kv("/a", 1, 2, "two"));
        o.stage_delete("/b", 3);
        // Later changes of the same batch win, and the batch sees its own changes.
        assert_eq!(o.get("/a"), Lookup::Live(&kv("/a", 1, 2, "two")));
        assert_eq!(o.get("/b"), Lookup::Absent);
        o.stage_delete("/in-sqlite", 3);
        assert_eq!(o.get("/in-sqlite"), Lookup::Absent);
        o.discard_staged();
        assert_eq!(o.get("/a"), Lookup::Absent);
        assert_eq!(o.get("/b"), Lookup::Absent);
        assert_eq!(o.get("/in-sqlite"), Lookup::InSqlite);
        assert_eq!(o.len(), 0);

        o.stage_put(kv("/a", 4, 4, "four"));
        o.stage_delete("/b", 5);
        o.stage_delete("/in-sqlite", 6);
        o.commit_staged();
        assert_eq!(o.len(), 3);
        assert_eq!(o.get("/a"), Lookup::Live(&kv("/a", 4, 4, "four")));
        assert_eq!(o.get("/b"), Lookup::Absent);
        // A staged change shadows a committed one until it is discarded.
        o.stage_delete("/a", 7);
        assert_eq!(o.get("/a"), Lookup::Absent);
        o.discard_staged();
        assert_eq!(o.get("/a"), Lookup::Live(&kv("/a", 4, 4, "four")));
        // Once applied, a live key is found in SQLite and a deleted one is known absent.
        o.prune(6);
        assert_eq!(o.len(), 0);
        assert_eq!(o.get("/a"), Lookup::InSqlite);
        assert_eq!(o.get("/in-sqlite"), Lookup::Absent);
    }

    #[test]
    fn prune_drops_applied_writes_but_keeps_keys_written_again_later() {
        let mut o = Overlay::new([]);
        o.stage_put(kv("/a", 1, 1, "a1"));
        o.stage_put(kv("/b", 2, 2, "b2"));
        o.commit_staged();
        o.stage_put(kv("/a", 1, 3, "a3"));
        o.stage_delete("/b", 4);
        o.stage_put(kv("/c", 5, 5, "c5"));
        o.commit_staged();

        o.prune(0);
        assert_eq!(o.len(), 3);
        // Revisions 1 and 2 are in SQLite, but /a and /b were written again after them.
        o.prune(2);
        assert_eq!(o.get("/a"), Lookup::Live(&kv("/a", 1, 3, "a3")));
        assert_eq!(o.get("/b"), Lookup::Absent);
        assert_eq!(o.len(), 3);
        o.prune(4);
        assert_eq!(o.get("/a"), Lookup::InSqlite);
        assert_eq!(o.get("/b"), Lookup::Absent);
        assert_eq!(o.get("/c"), Lookup::Live(&kv("/c", 5, 5, "c5")));
        assert_eq!(o.len(), 1);
        o.prune(100);
        assert_eq!(o.len(), 0);
        assert!(o.order.is_empty());
    }
}
