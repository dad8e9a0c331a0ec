//! Defaults for priority classes.

use super::default_absent;
use crate::k8s::api::scheduling::v1::PriorityClass;

/// Pods of a priority class may preempt lower-priority pods unless the class says otherwise.
pub fn default_priority_class(class: &mut PriorityClass) {
    default_absent(
        &mut class.preemption_policy,
        "PreemptLowerPriority".to_owned(),
    );
}
