//! Shared copies of values that repeat across many cached objects.
//!
//! The replicas of one controller carry the same labels, namespace and owner references, and
//! most pods share a node name and a phase. The controller manager's pod copy and the
//! scheduler's queue and cache keep one reference-counted copy of each distinct value instead
//! of one per object. A set hands out that copy; values nobody holds any more are dropped
//! from it when an insertion finds it doubled in size since the last sweep, so it holds at
//! most twice the number of values in use at that sweep (or [`SWEEP_FLOOR`]); after many
//! values fall out of use, they stay until the set has doubled again.
//!
//! [`InternSet`] is for one owner (the scheduler's single scheduling task: no lock);
//! [`Interner`] is the same set behind a mutex, for values shared across tasks.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Sizes below which no sweep happens: sweeping a small set would cost more than the unused
/// values it holds.
pub const SWEEP_FLOOR: usize = 256;

/// A set of shared values, owned by one task.
pub struct InternSet<T: ?Sized> {
    values: HashSet<Arc<T>>,
    /// Size after the last sweep.
    kept: usize,
}

impl<T: ?Sized> Default for InternSet<T> {
    fn default() -> Self {
        InternSet {
            values: HashSet::new(),
            kept: 0,
        }
    }
}

impl<T: ?Sized> std::fmt::Debug for InternSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternSet")
            .field("len", &self.values.len())
            .field("kept", &self.kept)
            .finish()
    }
}

impl<T: ?Sized + Hash + Eq> InternSet<T> {
    /// Records `made`, a value not held yet, first dropping the values nobody else holds if
    /// the set has doubled since the last sweep.
    fn insert(&mut self, made: Arc<T>) -> Arc<T> {
        if self.values.len() >= SWEEP_FLOOR.max(self.kept * 2) {
            self.values.retain(|v| Arc::strong_count(v) > 1);
            self.kept = self.values.len();
        }
        self.values.insert(Arc::clone(&made));
        made
    }

    /// The shared copy of `value`, copied into the set if it is new.
    pub fn shared(&mut self, value: &T) -> Arc<T>
    where
        for<'a> Arc<T>: From<&'a T>,
    {
        match self.values.get(value) {
            Some(found) => Arc::clone(found),
            None => self.insert(Arc::from(value)),
        }
    }

    /// Points `value` at the shared copy of what it holds; a new value is recorded as it is,
    /// without a copy.
    pub fn share(&mut self, value: &mut Arc<T>) {
        match self.values.get(&**value) {
            Some(found) => *value = Arc::clone(found),
            None => {
                self.insert(Arc::clone(value));
            }
        }
    }

    /// How many values are held (in use, or unused and not swept yet).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<T: Hash + Eq> InternSet<T> {
    /// The shared copy of `value` (dropped when an equal copy exists).
    pub fn owned(&mut self, value: T) -> Arc<T> {
        match self.values.get(&value) {
            Some(found) => Arc::clone(found),
            None => self.insert(Arc::new(value)),
        }
    }
}

/// An [`InternSet`] shared between tasks.
pub struct Interner<T: ?Sized> {
    inner: Mutex<InternSet<T>>,
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            inner: Mutex::new(InternSet::default()),
        }
    }
}

impl<T: ?Sized + Hash + Eq> Interner<T> {
    fn set(&self) -> MutexGuard<'_, InternSet<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared copy of `value`, copied into the set if it is new.
    pub fn shared(&self, value: &T) -> Arc<T>
    where
        for<'a> Arc<T>: From<&'a T>,
    {
        self.set().shared(value)
    }

    /// How many values are held (in use, or unused and not swept yet).
    pub fn len(&self) -> usize {
        self.set().len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// The shared copy of `value` (dropped when an equal copy exists).
    pub fn owned(&self, value: T) -> Arc<T> {
        self.set().owned(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn equal_values_share_one_copy_and_unused_ones_are_swept() {
        let interner: Interner<str> = Interner::default();
        let a = interner.shared("default");
        let b = interner.shared("default");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &interner.shared("kube-system")));
        // Many values nobody keeps: the set is swept as it grows, and what is in use stays.
        for i in 0..10 * SWEEP_FLOOR {
            drop(interner.shared(&format!("node-{i}")));
        }
        assert!(interner.len() <= 2 * SWEEP_FLOOR, "{}", interner.len());
        assert!(Arc::ptr_eq(&a, &interner.shared("default")));

        type Labels = BTreeMap<String, String>;
        let labels: Interner<Labels> = Interner::default();
        let l1 = labels.owned(Labels::from([("app".into(), "web".into())]));
        let l2 = labels.owned(Labels::from([("app".into(), "web".into())]));
        assert!(Arc::ptr_eq(&l1, &l2));
        let l3 = labels.owned(Labels::from([("app".into(), "db".into())]));
        assert!(!Arc::ptr_eq(&l1, &l3));
    }

    #[test]
    fn share_points_at_the_first_copy_and_keeps_a_new_one_as_it_is() {
        let mut set: InternSet<[u32]> = InternSet::default();
        let mut a: Arc<[u32]> = Arc::from(&[1, 2][..]);
        let first = Arc::clone(&a);
        set.share(&mut a);
        assert!(
            Arc::ptr_eq(&a, &first),
            "a new value is recorded without a copy"
        );
        let mut b: Arc<[u32]> = Arc::from(&[1, 2][..]);
        set.share(&mut b);
        assert!(Arc::ptr_eq(&b, &first));
        let mut c: Arc<[u32]> = Arc::from(&[3][..]);
        set.share(&mut c);
        assert!(!Arc::ptr_eq(&c, &first));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn a_sweep_keeps_what_is_in_use_and_waits_for_the_set_to_double() {
        let mut set: InternSet<u64> = InternSet::default();
        let kept: Vec<Arc<u64>> = (0..SWEEP_FLOOR as u64).map(|i| set.owned(i)).collect();
        // Full at the floor, all in use: the sweep drops nothing, the next waits for 2x.
        for i in 0..SWEEP_FLOOR as u64 {
            drop(set.owned(1_000_000 + i));
        }
        assert_eq!(set.len(), 2 * SWEEP_FLOOR);
        // Doubled: the unused values go, those in use stay shared.
        drop(set.owned(u64::MAX));
        assert_eq!(set.len(), SWEEP_FLOOR + 1);
        assert!(Arc::ptr_eq(&kept[7], &set.owned(7)));
    }
}
