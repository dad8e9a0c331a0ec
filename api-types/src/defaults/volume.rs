//! Defaults for pod volumes, persistent volumes and persistent volume claims.
//!
//! A pod volume that names no source becomes an `emptyDir`. Projected files get the
//! permission bits `0644` (420), service-account tokens an hour of validity, and the legacy
//! in-tree block sources (iSCSI, RBD, Azure Disk, ScaleIO) the defaults Kubernetes still
//! applies to them. Claims and volumes default to filesystem mode and start `Pending`.

use super::quantity::{canonicalize, canonicalize_resource_list};
use super::{default_absent, default_string, image};
use crate::k8s::api::core::v1::{
    AzureDiskVolumeSource, EmptyDirVolumeSource, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, Volume,
};

/// File mode for projected, secret, config-map and downward-API volumes: octal 0644.
const DEFAULT_FILE_MODE: i32 = 0o644;
/// Lifetime of a projected service-account token, in seconds.
const TOKEN_EXPIRATION_SECONDS: i64 = 3600;
const VOLUME_MODE_FILESYSTEM: &str = "Filesystem";

/// Defaults one volume of a pod spec and its source.
pub fn default_volume(volume: &mut Volume) {
    if !has_source(volume) {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(source) = &mut volume.empty_dir {
        canonicalize(&mut source.size_limit);
    }
    if let Some(source) = &mut volume.image {
        if super::is_unset(&source.pull_policy) {
            let reference = source.reference.as_deref().unwrap_or_default();
            source.pull_policy = Some(image::default_pull_policy(reference).to_owned());
        }
    }
    if let Some(source) = &mut volume.host_path {
        default_absent(&mut source.type_, String::new());
    }
    if let Some(source) = &mut volume.secret {
        default_absent(&mut source.default_mode, DEFAULT_FILE_MODE);
    }
    if let Some(source) = &mut volume.config_map {
        default_absent(&mut source.default_mode, DEFAULT_FILE_MODE);
    }
    if let Some(source) = &mut volume.downward_api {
        default_absent(&mut source.default_mode, DEFAULT_FILE_MODE);
        for item in source.items.iter_mut().flatten() {
            if let Some(selector) = &mut item.field_ref {
                default_string(&mut selector.api_version, "v1");
            }
        }
    }
    if let Some(source) = &mut volume.projected {
        default_absent(&mut source.default_mode, DEFAULT_FILE_MODE);
        for projection in source.sources.iter_mut().flatten() {
            let items = projection
                .downward_api
                .iter_mut()
                .flat_map(|downward| downward.items.iter_mut().flatten());
            for item in items {
                if let Some(selector) = &mut item.field_ref {
                    default_string(&mut selector.api_version, "v1");
                }
            }
            if let Some(token) = &mut projection.service_account_token {
                default_absent(&mut token.expiration_seconds, TOKEN_EXPIRATION_SECONDS);
            }
        }
    }
    if let Some(source) = &mut volume.iscsi {
        default_string(&mut source.iscsi_interface, "default");
    }
    if let Some(source) = &mut volume.rbd {
        default_string(&mut source.pool, "rbd");
        default_string(&mut source.user, "admin");
        default_string(&mut source.keyring, "/etc/ceph/keyring");
    }
    if let Some(source) = &mut volume.azure_disk {
        default_azure_disk(source);
    }
    if let Some(source) = &mut volume.scale_io {
        default_string(&mut source.storage_mode, "ThinProvisioned");
        default_string(&mut source.fs_type, "xfs");
    }
    let claim_template = volume
        .ephemeral
        .as_mut()
        .and_then(|ephemeral| ephemeral.volume_claim_template.as_mut());
    if let Some(template) = claim_template {
        default_persistent_volume_claim_spec(&mut template.spec);
    }
}

/// Whether the volume names any source; one that names none becomes an `emptyDir`.
fn has_source(volume: &Volume) -> bool {
    let Volume {
        name: _,
        aws_elastic_block_store,
        azure_disk,
        azure_file,
        cephfs,
        cinder,
        config_map,
        csi,
        downward_api,
        empty_dir,
        ephemeral,
        fc,
        flex_volume,
        flocker,
        gce_persistent_disk,
        git_repo,
        glusterfs,
        host_path,
        image,
        iscsi,
        nfs,
        persistent_volume_claim,
        photon_persistent_disk,
        portworx_volume,
        projected,
        quobyte,
        rbd,
        scale_io,
        secret,
        storageos,
        vsphere_volume,
    } = volume;
    [
        aws_elastic_block_store.is_some(),
        azure_disk.is_some(),
        azure_file.is_some(),
        cephfs.is_some(),
        cinder.is_some(),
        config_map.is_some(),
        csi.is_some(),
        downward_api.is_some(),
        empty_dir.is_some(),
        ephemeral.is_some(),
        fc.is_some(),
        flex_volume.is_some(),
        flocker.is_some(),
        gce_persistent_disk.is_some(),
        git_repo.is_some(),
        glusterfs.is_some(),
        host_path.is_some(),
        image.is_some(),
        iscsi.is_some(),
        nfs.is_some(),
        persistent_volume_claim.is_some(),
        photon_persistent_disk.is_some(),
        portworx_volume.is_some(),
        projected.is_some(),
        quobyte.is_some(),
        rbd.is_some(),
        scale_io.is_some(),
        secret.is_some(),
        storageos.is_some(),
        vsphere_volume.is_some(),
    ]
    .into_iter()
    .any(|present| present)
}

fn default_azure_disk(source: &mut AzureDiskVolumeSource) {
    default_absent(&mut source.caching_mode, "ReadWrite".to_owned());
    default_absent(&mut source.kind, "Shared".to_owned());
    default_absent(&mut source.fs_type, "ext4".to_owned());
    default_absent(&mut source.read_only, false);
}

/// Defaults a claim spec wherever it appears (claims, claim templates, ephemeral volumes).
pub fn default_persistent_volume_claim_spec(spec: &mut PersistentVolumeClaimSpec) {
    default_absent(&mut spec.volume_mode, VOLUME_MODE_FILESYSTEM.to_owned());
    if let Some(resources) = &mut spec.resources {
        canonicalize_resource_list(&mut resources.limits);
        canonicalize_resource_list(&mut resources.requests);
    }
}

/// Defaults a persistent volume claim: filesystem mode and the `Pending` phase.
pub fn default_persistent_volume_claim(claim: &mut PersistentVolumeClaim) {
    let status = claim.status.get_or_insert_with(Default::default);
    default_string(&mut status.phase, "Pending");
    canonicalize_resource_list(&mut status.capacity);
    canonicalize_resource_list(&mut status.allocated_resources);
    default_persistent_volume_claim_spec(claim.spec.get_or_insert_with(Default::default));
}

/// Defaults a persistent volume: `Retain` reclaim policy, filesystem mode, `Pending` phase.
pub fn default_persistent_volume(volume: &mut PersistentVolume) {
    let status = volume.status.get_or_insert_with(Default::default);
    default_string(&mut status.phase, "Pending");
    let spec = volume.spec.get_or_insert_with(Default::default);
    default_string(&mut spec.persistent_volume_reclaim_policy, "Retain");
    default_absent(&mut spec.volume_mode, VOLUME_MODE_FILESYSTEM.to_owned());
    canonicalize_resource_list(&mut spec.capacity);
    if let Some(source) = &mut spec.host_path {
        default_absent(&mut source.type_, String::new());
    }
    if let Some(source) = &mut spec.iscsi {
        default_string(&mut source.iscsi_interface, "default");
    }
    if let Some(source) = &mut spec.rbd {
        default_string(&mut source.pool, "rbd");
        default_string(&mut source.user, "admin");
        default_string(&mut source.keyring, "/etc/ceph/keyring");
    }
    if let Some(source) = &mut spec.azure_disk {
        default_azure_disk(source);
    }
    if let Some(source) = &mut spec.scale_io {
        default_string(&mut source.storage_mode, "ThinProvisioned");
        default_string(&mut source.fs_type, "xfs");
    }
}
