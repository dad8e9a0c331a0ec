//! The scheduling queue: pods waiting for a node, highest priority first, oldest first
//! within a priority.
//!
//! A pod that did not fit waits among the unschedulable until a cluster change could make it
//! fit (a node added or changed, a pod removed); it then returns through a backoff that
//! doubles with each failed attempt (1 s up to 10 s), so a pod that keeps failing cannot
//! starve the others. Unschedulable pods are retried anyway after five minutes. The clock is
//! passed in, so the queue is pure.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// The first backoff after a failed attempt.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long an unschedulable pod waits for a cluster change before it is retried anyway.
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

/// A queued pod's identity and ordering facts; the payload is the caller's.
#[derive(Clone, Debug)]
pub struct Entry<T> {
    /// The payload (the pod).
    pub item: T,
    /// `spec.priority`.
    pub priority: i32,
    /// Failed attempts so far.
    pub attempts: u32,
    seq: u64,
    since: Instant,
}

enum Place {
    Active,
    Backoff(Instant),
    Unschedulable,
}

/// Pods waiting to be scheduled, keyed by `namespace/name`.
pub struct Queue<T> {
    entries: HashMap<String, (Entry<T>, Place)>,
    active: BTreeSet<(Reverse<i32>, u64, String)>,
    seq: u64,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            entries: HashMap::new(),
            active: BTreeSet::new(),
            seq: 0,
        }
    }
}

/// How long a pod waits after `attempts` failures.
pub fn backoff(attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(16);
    (INITIAL_BACKOFF * (1u32 << shift)).min(MAX_BACKOFF)
}

impl<T> Queue<T> {
    /// An empty queue.
    pub fn new() -> Queue<T> {
        Queue::default()
    }

    fn activate(&mut self, key: &str) {
        if let Some((e, place)) = self.entries.get_mut(key) {
            if !matches!(place, Place::Active) {
                *place = Place::Active;
                self.active
                    .insert((Reverse(e.priority), e.seq, key.to_owned()));
            }
        }
    }

    /// Adds a new pod, or replaces a queued one. A changed unschedulable pod may fit now, so
    /// it moves on (through its backoff if that has not passed).
    pub fn add(&mut self, key: &str, item: T, priority: i32, now: Instant) {
        if let Some((e, place)) = self.entries.get_mut(key) {
            e.item = item;
            if matches!(place, Place::Unschedulable) {
                *place = Place::Backoff(e.since + backoff(e.attempts));
            }
            return;
        }
        self.seq += 1;
        let e = Entry {
            item,
            priority,
            attempts: 0,
            seq: self.seq,
            since: now,
        };
        self.entries
            .insert(key.to_owned(), (e, Place::Backoff(now)));
        self.activate(key);
    }

    /// The payload queued under `key`.
    pub fn item(&self, key: &str) -> Option<&T> {
        self.entries.get(key).map(|(e, _)| &e.item)
    }

    /// Replaces the payload under `key` without moving it (a change that cannot make the pod
    /// fit, such as its status). Returns whether the key was queued.
    pub fn refresh(&mut self, key: &str, item: T) -> bool {
        match self.entries.get_mut(key) {
            Some((e, _)) => {
                e.item = item;
                true
            }
            None => false,
        }
    }

    /// Removes a pod (deleted, or bound by someone else).
    pub fn remove(&mut self, key: &str) {
        if let Some((e, Place::Active)) = self.entries.remove(key) {
            self.active
                .remove(&(Reverse(e.priority), e.seq, key.to_owned()));
        }
    }

    /// Takes the next pod to schedule, first moving pods whose backoff or wait is over.
    pub fn pop(&mut self, now: Instant) -> Option<(String, Entry<T>)> {
        let due: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, (e, place))| match place {
                Place::Backoff(at) => *at <= now,
                Place::Unschedulable => now >= e.since + MAX_UNSCHEDULABLE,
                Place::Active => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.activate(&k);
        }
        let first = self.active.pop_first()?;
        let (e, _) = self.entries.remove(&first.2)?;
        Some((first.2, e))
    }

    /// Puts back a pod whose attempt failed; it waits for a cluster change.
    pub fn requeue_unschedulable(&mut self, key: &str, mut entry: Entry<T>, now: Instant) {
        entry.attempts += 1;
        entry.since = now;
        self.entries
            .insert(key.to_owned(), (entry, Place::Unschedulable));
    }

    /// Puts back a pod whose attempt failed for a passing reason (an API error); it is
    /// retried after its backoff without waiting for a cluster change.
    pub fn requeue_backoff(&mut self, key: &str, mut entry: Entry<T>, now: Instant) {
        entry.attempts += 1;
        entry.since = now;
        let at = now + backoff(entry.attempts);
        self.entries
            .insert(key.to_owned(), (entry, Place::Backoff(at)));
    }

    /// A cluster change happened: every unschedulable pod moves on once its backoff ends.
    pub fn cluster_changed(&mut self) {
        for (e, place) in self.entries.values_mut() {
            if matches!(place, Place::Unschedulable) {
                *place = Place::Backoff(e.since + backoff(e.attempts));
            }
        }
    }

    /// When the earliest waiting pod becomes due, if any pod waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|(e, place)| match place {
                Place::Backoff(at) => Some(*at),
                Place::Unschedulable => Some(e.since + MAX_UNSCHEDULABLE),
                Place::Active => None,
            })
            .min()
    }

    /// Whether a pod is ready to pop now.
    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    /// The keys of every queued pod, in any state.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// How many pods are queued in any state.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no pod is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_age() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.add("a", (), 0, t);
        q.add("b", (), 10, t);
        q.add("c", (), 0, t);
        let order: Vec<String> = std::iter::from_fn(|| q.pop(t).map(|(k, _)| k)).collect();
        assert_eq!(order, ["b", "a", "c"]);
    }

    #[test]
    fn a_refreshed_payload_keeps_its_place_and_an_added_one_moves() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.add("a", 1, 0, t);
        let (k, e) = q.pop(t).unwrap();
        q.requeue_unschedulable(&k, e, t);
        assert!(q.refresh("a", 2));
        assert_eq!(q.item("a"), Some(&2));
        assert!(q.pop(t + Duration::from_secs(60)).is_none(), "still waits");
        assert!(!q.refresh("b", 3), "nothing to refresh");
        q.add("a", 4, 0, t);
        let (_, e) = q.pop(t + Duration::from_secs(60)).unwrap();
        assert_eq!(e.item, 4);
    }

    #[test]
    fn unschedulable_pods_wait_for_a_change_then_their_backoff() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.add("a", 1, 0, t);
        let (k, e) = q.pop(t).unwrap();
        q.requeue_unschedulable(&k, e, t);
        assert!(
            q.pop(t + Duration::from_secs(60)).is_none(),
            "waits for a change"
        );
        q.cluster_changed();
        assert!(
            q.pop(t + Duration::from_millis(500)).is_none(),
            "still backing off"
        );
        assert_eq!(q.next_due(), Some(t + INITIAL_BACKOFF));
        let (k, e) = q.pop(t + INITIAL_BACKOFF).unwrap();
        assert_eq!(e.attempts, 1);
        let t2 = t + INITIAL_BACKOFF;
        q.requeue_unschedulable(&k, e, t2);
        assert!(q
            .pop(t2 + MAX_UNSCHEDULABLE - Duration::from_secs(1))
            .is_none());
        assert!(
            q.pop(t2 + MAX_UNSCHEDULABLE).is_some(),
            "retried after the long wait"
        );
    }

    #[test]
    fn updates_and_removal() {
        let t = Instant::now();
        let mut q = Queue::new();
        q.add("a", 1, 0, t);
        q.add("a", 2, 0, t);
        assert_eq!(q.len(), 1);
        let (k, e) = q.pop(t).unwrap();
        assert_eq!(e.item, 2, "latest object wins");
        q.requeue_unschedulable(&k, e, t);
        q.add("a", 3, 0, t);
        assert_eq!(
            q.pop(t + INITIAL_BACKOFF).unwrap().1.item,
            3,
            "a changed pod moves on"
        );
        q.add("b", 1, 0, t);
        q.remove("b");
        assert!(q.is_empty() && !q.has_active());
        q.add("c", 1, 0, t);
        let (k, e) = q.pop(t).unwrap();
        q.requeue_backoff(&k, e, t);
        assert!(q.pop(t).is_none());
        assert!(
            q.pop(t + INITIAL_BACKOFF).is_some(),
            "API errors retry after backoff alone"
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        let got: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 10, 10]);
    }
}
