//! Shared copies of values that repeat across many cached objects.
//!
//! Every pod of a ReplicaSet carries the same namespace, labels and owner references, and most
//! pods share a node name and a phase. The pod copy ([`crate::informer`]) and the garbage
//! collector's graph keep one reference-counted copy of each distinct value instead of one per
//! object, from one process-wide [`Interner`] per kind of value (component-base's, which
//! also sweeps the values nobody holds any more).

use berth_component_base::intern::Interner;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

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
