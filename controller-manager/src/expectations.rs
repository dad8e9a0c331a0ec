//! What a controller expects to see after creating or deleting dependents, so it never acts
//! twice on one shortfall while its watch-fed copy lags behind its own writes.
//!
//! Before creating `n` pods an owner records that it expects `n` creations; before deleting
//! pods it records their names. The watch lowers the counts as it sees the pods appear or go
//! (or, for a deletion, get their deletion timestamp). Until both reach zero, a sync of that
//! owner only reports status and does not create or delete. A record older than
//! [`EXPECTATIONS_TIMEOUT`] counts as met, so a watch event lost for good delays the owner
//! but never stops it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an unmet expectation holds an owner back at most.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Record {
    adds: i64,
    deletes: HashSet<String>,
    since: Instant,
}

/// Owner key → expected creations and deletions.
#[derive(Debug, Default)]
pub struct Expectations {
    records: Mutex<HashMap<String, Record>>,
}

impl Expectations {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` may act: it expects nothing, everything expected was seen, or the record
    /// has timed out.
    pub fn satisfied(&self, key: &str) -> bool {
        self.satisfied_at(key, Instant::now())
    }

    fn satisfied_at(&self, key: &str, now: Instant) -> bool {
        match self.records().get(key) {
            None => true,
            Some(r) => {
                (r.adds <= 0 && r.deletes.is_empty())
                    || now.duration_since(r.since) > EXPECTATIONS_TIMEOUT
            }
        }
    }

    /// `key` is about to create `n` dependents (replacing any earlier record).
    pub fn expect_creations(&self, key: &str, n: usize) {
        self.records().insert(
            key.to_owned(),
            Record {
                adds: i64::try_from(n).unwrap_or(i64::MAX),
                deletes: HashSet::new(),
                since: Instant::now(),
            },
        );
    }

    /// `key` is about to delete the dependents named `names` (replacing any earlier record).
    pub fn expect_deletions(&self, key: &str, names: impl IntoIterator<Item = String>) {
        self.records().insert(
            key.to_owned(),
            Record {
                adds: 0,
                deletes: names.into_iter().collect(),
                since: Instant::now(),
            },
        );
    }

    /// One creation of `key`'s was seen (or will never happen: its request failed or was
    /// skipped).
    pub fn creation_observed(&self, key: &str) {
        if let Some(r) = self.records().get_mut(key) {
            r.adds -= 1;
        }
    }

    /// The deletion of `key`'s dependent `name` was seen (or its request failed).
    pub fn deletion_observed(&self, key: &str, name: &str) {
        if let Some(r) = self.records().get_mut(key) {
            r.deletes.remove(name);
        }
    }

    /// Forgets `key` (the owner is gone).
    pub fn forget(&self, key: &str) {
        self.records().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_waits_for_what_it_expects() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/a"));
        e.expect_creations("ns/a", 2);
        assert!(!e.satisfied("ns/a"));
        e.creation_observed("ns/a");
        assert!(!e.satisfied("ns/a"));
        e.creation_observed("ns/a");
        assert!(e.satisfied("ns/a"));
        // Another owner's events do not count.
        e.expect_deletions("ns/a", ["p1".to_owned(), "p2".to_owned()]);
        e.deletion_observed("ns/b", "p1");
        e.deletion_observed("ns/a", "p1");
        // Seeing one deletion twice counts once.
        e.deletion_observed("ns/a", "p1");
        assert!(!e.satisfied("ns/a"));
        e.deletion_observed("ns/a", "p2");
        assert!(e.satisfied("ns/a"));
        e.expect_creations("ns/a", 1);
        e.forget("ns/a");
        assert!(e.satisfied("ns/a"));
    }

    #[test]
    fn an_old_record_counts_as_met() {
        let e = Expectations::default();
        e.expect_creations("ns/a", 5);
        let later = Instant::now() + EXPECTATIONS_TIMEOUT + Duration::from_secs(1);
        assert!(e.satisfied_at("ns/a", later));
        assert!(!e.satisfied("ns/a"));
    }
}
