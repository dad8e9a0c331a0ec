//! Shared copies of values that repeat across many cached objects.
//!
//! Every pod of a ReplicaSet carries the same namespace, labels and owner references, and most
//! pods share a node name and a phase. The pod copy ([`crate::informer`]) and the garbage
//! collector's graph keep one reference-counted copy of each distinct value instead of one per
//! object. An [`Interner`] hands out that copy; values nobody holds any more are dropped from
//! it whenever it has doubled in size since the last sweep, so it never outgrows twice the
//! number of distinct values in use.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// Sizes below which no sweep happens.
const SWEEP_FLOOR: usize = 256;

/// A set of shared values.
pub struct Interner<T: ?Sized> {
    inner: Mutex<Set<T>>,
}

struct Set<T: ?Sized> {
    values: HashSet<Arc<T>>,
    /// Size after the last sweep.
    kept: usize,
}

impl<T: ?Sized + Hash + Eq> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            inner: Mutex::new(Set {
                values: HashSet::new(),
                kept: 0,
            }),
        }
    }
}

impl<T: ?Sized> Set<T> {
    /// Drops the values nobody else holds once the set has doubled since the last sweep.
    fn sweep_if_grown(&mut self) {
        if self.values.len() >= SWEEP_FLOOR.max(self.kept * 2) {
            self.values.retain(|v| Arc::strong_count(v) > 1);
            self.kept = self.values.len();
        }
    }
}

impl<T: ?Sized + Hash + Eq> Interner<T> {
    fn set(&self) -> std::sync::MutexGuard<'_, Set<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared copy of `value`.
    pub fn shared(&self, value: &T) -> Arc<T>
    where
        for<'a> Arc<T>: From<&'a T>,
    {
        let mut set = self.set();
        if let Some(found) = set.values.get(value) {
            return Arc::clone(found);
        }
        set.sweep_if_grown();
        let made: Arc<T> = Arc::from(value);
        set.values.insert(Arc::clone(&made));
        made
    }

    /// How many values are held (in use, or unused and not swept yet).
    pub fn len(&self) -> usize {
        self.set().values.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// The shared copy of `value` (dropped when an equal copy exists).
    pub fn owned(&self, value: T) -> Arc<T> {
        let mut set = self.set();
        if let Some(found) = set.values.get(&value) {
            return Arc::clone(found);
        }
        set.sweep_if_grown();
        let made = Arc::new(value);
        set.values.insert(Arc::clone(&made));
        made
    }
}

/// A label map.
pub type Labels = BTreeMap<String, String>;

/// A list of owner references, comparable and hashable field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnerRefs(pub Vec<OwnerReference>);

impl Eq for OwnerRefs {}

impl Hash for OwnerRefs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.len().hash(state);
        for o in &self.0 {
            o.api_version.hash(state);
            o.kind.hash(state);
            o.name.hash(state);
            o.uid.hash(state);
            o.controller.hash(state);
            o.block_owner_deletion.hash(state);
        }
    }
}

static STRINGS: LazyLock<Interner<str>> = LazyLock::new(Interner::default);
static LABELS: LazyLock<Interner<Labels>> = LazyLock::new(Interner::default);
static OWNERS: LazyLock<Interner<OwnerRefs>> = LazyLock::new(Interner::default);
static LISTS: LazyLock<Interner<[String]>> = LazyLock::new(Interner::default);

/// The shared copy of a short string that repeats (a namespace, node name, phase, owner uid).
pub fn string(s: &str) -> Arc<str> {
    STRINGS.shared(s)
}

/// The shared copy of a label map.
pub fn labels(labels: Labels) -> Arc<Labels> {
    LABELS.owned(labels)
}

/// The shared copy of a list of owner references.
pub fn owners(refs: Vec<OwnerReference>) -> Arc<OwnerRefs> {
    OWNERS.owned(OwnerRefs(refs))
}

/// The shared copy of a list of strings (finalizers).
pub fn strings(list: &[String]) -> Arc<[String]> {
    LISTS.shared(list)
}

#[cfg(test)]
mod tests {
    use super::*;

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

        let labels: Interner<Labels> = Interner::default();
        let l1 = labels.owned(Labels::from([("app".into(), "web".into())]));
        let l2 = labels.owned(Labels::from([("app".into(), "web".into())]));
        assert!(Arc::ptr_eq(&l1, &l2));
        let l3 = labels.owned(Labels::from([("app".into(), "db".into())]));
        assert!(!Arc::ptr_eq(&l1, &l3));
    }

    #[test]
    fn owner_lists_differ_in_any_field() {
        let r = |uid: &str, controller| OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller,
            block_owner_deletion: Some(true),
        };
        let interner: Interner<OwnerRefs> = Interner::default();
        let a = interner.owned(OwnerRefs(vec![r("u1", Some(true))]));
        assert!(Arc::ptr_eq(
            &a,
            &interner.owned(OwnerRefs(vec![r("u1", Some(true))]))
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &interner.owned(OwnerRefs(vec![r("u1", None)]))
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &interner.owned(OwnerRefs(vec![r("u2", Some(true))]))
        ));
    }
}
