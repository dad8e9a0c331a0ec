//! Defaults for storage classes and CSI drivers.

use super::default_absent;
use crate::k8s::api::storage::v1::{CSIDriver, StorageClass};

/// Volumes of a storage class are deleted with their claim and bound as soon as they are
/// claimed, unless the class says otherwise.
pub fn default_storage_class(class: &mut StorageClass) {
    default_absent(&mut class.reclaim_policy, "Delete".to_owned());
    default_absent(&mut class.volume_binding_mode, "Immediate".to_owned());
}

/// Defaults a CSI driver's capabilities to the conservative choices: attach required, no pod
/// information on mount, no capacity tracking, no republishing, persistent volumes only,
/// ownership changes only for read-write-once volumes with a filesystem type, and no
/// SELinux mount option.
pub fn default_csi_driver(driver: &mut CSIDriver) {
    let spec = &mut driver.spec;
    default_absent(&mut spec.attach_required, true);
    default_absent(&mut spec.pod_info_on_mount, false);
    default_absent(&mut spec.storage_capacity, false);
    default_absent(
        &mut spec.fs_group_policy,
        "ReadWriteOnceWithFSType".to_owned(),
    );
    if spec
        .volume_lifecycle_modes
        .as_ref()
        .is_none_or(Vec::is_empty)
    {
        spec.volume_lifecycle_modes = Some(vec!["Persistent".to_owned()]);
    }
    default_absent(&mut spec.requires_republish, false);
    default_absent(&mut spec.se_linux_mount, false);
}
