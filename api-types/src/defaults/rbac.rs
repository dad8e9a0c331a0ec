//! Defaults for RBAC bindings: the API group of the role they bind and of their subjects.

use crate::k8s::api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject};

/// The RBAC API group, the home of roles, users and groups.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Defaults a role binding's role reference and subjects.
pub fn default_role_binding(binding: &mut RoleBinding) {
    default_role_ref(&mut binding.role_ref);
    for subject in binding.subjects.iter_mut().flatten() {
        default_subject(subject);
    }
}

/// Defaults a cluster role binding's role reference and subjects.
pub fn default_cluster_role_binding(binding: &mut ClusterRoleBinding) {
    default_role_ref(&mut binding.role_ref);
    for subject in binding.subjects.iter_mut().flatten() {
        default_subject(subject);
    }
}

fn default_role_ref(role_ref: &mut RoleRef) {
    if role_ref.api_group.is_empty() {
        role_ref.api_group = RBAC_GROUP.to_owned();
    }
}

/// Users and groups belong to the RBAC group. Service accounts belong to the core group,
/// whose name is empty; Kubernetes omits an empty group when it writes the subject, so an
/// absent group is left absent. Subjects of any other kind are left for validation.
fn default_subject(subject: &mut Subject) {
    if super::is_unset(&subject.api_group) && matches!(subject.kind.as_str(), "User" | "Group") {
        subject.api_group = Some(RBAC_GROUP.to_owned());
    }
}
