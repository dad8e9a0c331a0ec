//! Pod rules: the pod spec (containers, volumes, probes, resources, scheduling fields) shared
//! by pods, pod templates and every workload, plus the narrow set of changes a pod update may
//! make.
//!
//! Fields that Berth's defaulting always fills (restart policy, DNS policy, pull policy,
//! protocols, probe timings) are only checked when present: an absent value means defaulting
//! has not run, and the default is valid.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::field_error::{go_quote, ErrorList, FieldError, Path};
use super::meta::{
    items, s, to_json, validate_annotations, validate_dns1123_label, validate_dns1123_subdomain,
    validate_label_name, validate_label_selector, validate_labels, validate_nonnegative,
    validate_object_meta, validate_object_meta_update, validate_qualified_name,
};
use super::names::{
    cidr_error, inclusive_range_error, ip_error, is_config_map_key, is_dns1123_subdomain,
    is_env_var_name, is_http_header_name, is_label_value, is_valid_port_name, is_valid_port_num,
    max_len_error, regex_error, NameRule,
};
use super::quantity::{Quantity, QUANTITY_FORMAT_ERROR};

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MAX_INT32: i64 = i32::MAX as i64;

/// Where a pod spec lives, which changes a few rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecContext {
    /// The spec of a Pod object.
    Pod,
    /// The spec inside a template (PodTemplate, workloads).
    Template,
}

/// Errors for a port given as a number or a name.
pub fn validate_port_num_or_name(port: &IntOrString, path: &Path) -> ErrorList {
    match port {
        IntOrString::Int(n) => is_valid_port_num(i64::from(*n))
            .into_iter()
            .map(|m| FieldError::invalid(path, *n, &m))
            .collect(),
        IntOrString::String(name) => is_valid_port_name(name)
            .into_iter()
            .map(|m| FieldError::invalid(path, name.as_str(), &m))
            .collect(),
    }
}

fn validate_path_no_backsteps(target: &str, path: &Path) -> ErrorList {
    if target.replace('\\', "/").split('/').any(|p| p == "..") {
        vec![FieldError::invalid(path, target, "must not contain '..'")]
    } else {
        Vec::new()
    }
}

fn validate_local_descending_path(target: &str, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(target, path));
    errs
}

fn validate_local_non_reserved_path(target: &str, path: &Path) -> ErrorList {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(
            path,
            target,
            "must not start with '..'",
        ));
    }
    errs
}

fn validate_mode(mode: Option<i32>, path: &Path) -> ErrorList {
    match mode {
        Some(m) if !(0..=0o777).contains(&m) => vec![FieldError::invalid(path, m, FILE_MODE_ERROR)],
        _ => Vec::new(),
    }
}

fn validate_key_to_path(kp: &core::KeyToPath, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if kp.key.is_empty() {
        errs.push(FieldError::required(&path.child("key"), ""));
    }
    if kp.path.is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(
        &kp.path,
        &path.child("path"),
    ));
    errs.extend(validate_mode(kp.mode, &path.child("mode")));
    errs
}

const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];
const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn validate_object_field_selector(
    fs: &core::ObjectFieldSelector,
    allowed: &[&str],
    path: &Path,
) -> ErrorList {
    let api_version = s(&fs.api_version);
    if fs.api_version.is_some() && api_version.is_empty() {
        return vec![FieldError::required(&path.child("apiVersion"), "")];
    }
    if fs.field_path.is_empty() {
        return vec![FieldError::required(&path.child("fieldPath"), "")];
    }
    let fp = fs.field_path.as_str();
    if let Some(open) = fp.find('[') {
        let base = &fp[..open];
        let subscript = fp[open + 1..]
            .trim_end_matches(']')
            .trim_matches(|c| c == '\'' || c == '"');
        return match base {
            "metadata.annotations" => validate_qualified_name(&subscript.to_lowercase(), path),
            "metadata.labels" => validate_qualified_name(subscript, path),
            _ => vec![FieldError::invalid(
                path,
                base,
                "does not support subscript",
            )],
        };
    }
    if !allowed.contains(&fp) {
        return vec![FieldError::not_supported(
            &path.child("fieldPath"),
            fp,
            allowed,
        )];
    }
    Vec::new()
}

fn validate_resource_field_selector(
    fs: &core::ResourceFieldSelector,
    volume: bool,
    path: &Path,
) -> ErrorList {
    if volume && s(&fs.container_name).is_empty() {
        return vec![FieldError::required(&path.child("containerName"), "")];
    }
    if fs.resource.is_empty() {
        return vec![FieldError::required(&path.child("resource"), "")];
    }
    let r = fs.resource.as_str();
    if !RESOURCE_FIELD_PATHS.contains(&r)
        && !r.starts_with("requests.hugepages-")
        && !r.starts_with("limits.hugepages-")
    {
        return vec![FieldError::not_supported(
            &path.child("resource"),
            r,
            &RESOURCE_FIELD_PATHS,
        )];
    }
    Vec::new()
}

fn validate_downward_api_file(file: &core::DownwardAPIVolumeFile, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if file.path.is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(
        &file.path,
        &path.child("path"),
    ));
    match (&file.field_ref, &file.resource_field_ref) {
        (Some(fr), rfr) => {
            errs.extend(validate_object_field_selector(
                fr,
                &VOLUME_FIELD_PATHS,
                &path.child("fieldRef"),
            ));
            if rfr.is_some() {
                errs.push(FieldError::invalid(
                    path,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                ));
            }
        }
        (None, Some(rfr)) => errs.extend(validate_resource_field_selector(
            rfr,
            true,
            &path.child("resourceFieldRef"),
        )),
        (None, None) => errs.push(FieldError::required(
            path,
            "one of fieldRef and resourceFieldRef is required",
        )),
    }
    errs.extend(validate_mode(file.mode, &path.child("mode")));
    errs
}

fn validate_projected(src: &core::ProjectedVolumeSource, path: &Path) -> ErrorList {
    let mut errs = validate_mode(src.default_mode, &path.child("defaultMode"));
    let mut all_paths: BTreeSet<String> = BTreeSet::new();
    for (i, source) in items(&src.sources).iter().enumerate() {
        let sp = path.child("sources").index(i);
        let mut n = 0;
        // Secret and ConfigMap projections share their rules: a name, valid items, and no
        // path projected twice.
        let named = [
            source
                .secret
                .as_ref()
                .map(|s| ("secret", &s.name, &s.items)),
            source
                .config_map
                .as_ref()
                .map(|c| ("configMap", &c.name, &c.items)),
        ];
        for (field, name, key_paths) in named.into_iter().flatten() {
            n += 1;
            let pp = sp.child(field);
            if name.is_empty() {
                errs.push(FieldError::required(&pp.child("name"), ""));
            }
            for (j, kp) in items(key_paths).iter().enumerate() {
                errs.extend(validate_key_to_path(kp, &pp.child("items").index(j)));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        name.as_str(),
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(da) = &source.downward_api {
            n += 1;
            let pp = sp.child("downwardAPI");
            for file in items(&da.items) {
                errs.extend(validate_downward_api_file(file, &pp));
                if !file.path.is_empty() && !all_paths.insert(file.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        file.path.as_str(),
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(tok) = &source.service_account_token {
            n += 1;
            let pp = sp.child("serviceAccountToken");
            if let Some(exp) = tok.expiration_seconds {
                if exp < 600 {
                    errs.push(FieldError::invalid(
                        &pp.child("expirationSeconds"),
                        exp,
                        "may not specify a duration less than 10 minutes",
                    ));
                }
                if exp > 1 << 32 {
                    errs.push(FieldError::invalid(
                        &pp.child("expirationSeconds"),
                        exp,
                        "may not specify a duration larger than 2^32 seconds",
                    ));
                }
            }
            if tok.path.is_empty() {
                errs.push(FieldError::required(&path.child("path"), ""));
            } else {
                errs.extend(validate_local_non_reserved_path(
                    &tok.path,
                    &path.child("path"),
                ));
            }
        }
        if source.cluster_trust_bundle.is_some() {
            n += 1;
        }
        if n > 1 {
            errs.push(FieldError::forbidden(
                &sp,
                "may not specify more than 1 volume type per source",
            ));
        }
    }
    errs
}

/// The volume source fields of a volume, in the order Kubernetes checks them, with a flag
/// for whether each is set.
fn volume_sources(v: &core::Volume) -> [(&'static str, bool); 30] {
    [
        ("emptyDir", v.empty_dir.is_some()),
        ("hostPath", v.host_path.is_some()),
        ("gitRepo", v.git_repo.is_some()),
        ("gcePersistentDisk", v.gce_persistent_disk.is_some()),
        ("awsElasticBlockStore", v.aws_elastic_block_store.is_some()),
        ("secret", v.secret.is_some()),
        ("nfs", v.nfs.is_some()),
        ("iscsi", v.iscsi.is_some()),
        ("glusterfs", v.glusterfs.is_some()),
        ("flocker", v.flocker.is_some()),
        ("persistentVolumeClaim", v.persistent_volume_claim.is_some()),
        ("rbd", v.rbd.is_some()),
        ("cinder", v.cinder.is_some()),
        ("cephFS", v.cephfs.is_some()),
        ("quobyte", v.quobyte.is_some()),
        ("downwarAPI", v.downward_api.is_some()),
        ("fc", v.fc.is_some()),
        ("flexVolume", v.flex_volume.is_some()),
        ("configMap", v.config_map.is_some()),
        ("azureFile", v.azure_file.is_some()),
        ("vsphereVolume", v.vsphere_volume.is_some()),
        ("photonPersistentDisk", v.photon_persistent_disk.is_some()),
        ("portworxVolume", v.portworx_volume.is_some()),
        ("azureDisk", v.azure_disk.is_some()),
        ("storageos", v.storageos.is_some()),
        ("projected", v.projected.is_some()),
        ("scaleIO", v.scale_io.is_some()),
        ("csi", v.csi.is_some()),
        ("ephemeral", v.ephemeral.is_some()),
        ("image", v.image.is_some()),
    ]
}

fn validate_volume_source(
    v: &core::Volume,
    path: &Path,
    pod_name: Option<&str>,
    is_pod: bool,
) -> ErrorList {
    let mut errs = Vec::new();
    let mut count = 0;
    for (name, set) in volume_sources(v) {
        if !set {
            continue;
        }
        if count > 0 {
            errs.push(FieldError::forbidden(
                &path.child(name),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        match name {
            "emptyDir" => {
                if let Some(limit) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) {
                    if Quantity::parse(&limit.0).is_some_and(|q| q.is_negative()) {
                        errs.push(FieldError::forbidden(
                            &path.child("emptyDir").child("sizeLimit"),
                            "SizeLimit field must be a valid resource quantity",
                        ));
                    }
                }
            }
            "hostPath" => {
                if let Some(hp) = &v.host_path {
                    let p = path.child("hostPath");
                    if hp.path.is_empty() {
                        errs.push(FieldError::required(&p.child("path"), ""));
                    } else {
                        errs.extend(validate_path_no_backsteps(&hp.path, &p.child("path")));
                        let supported = [
                            "",
                            "BlockDevice",
                            "CharDevice",
                            "Directory",
                            "DirectoryOrCreate",
                            "File",
                            "FileOrCreate",
                            "Socket",
                        ];
                        if let Some(t) = &hp.type_ {
                            if !supported.contains(&t.as_str()) {
                                errs.push(FieldError::not_supported(
                                    &p.child("type"),
                                    t.as_str(),
                                    &supported,
                                ));
                            }
                        }
                    }
                }
            }
            "secret" => {
                if let Some(sec) = &v.secret {
                    let p = path.child("secret");
                    if s(&sec.secret_name).is_empty() {
                        errs.push(FieldError::required(&p.child("secretName"), ""));
                    }
                    errs.extend(validate_mode(sec.default_mode, &p.child("defaultMode")));
                    for (i, kp) in items(&sec.items).iter().enumerate() {
                        errs.extend(validate_key_to_path(kp, &p.child("items").index(i)));
                    }
                }
            }
            "configMap" => {
                if let Some(cm) = &v.config_map {
                    let p = path.child("configMap");
                    if cm.name.is_empty() {
                        errs.push(FieldError::required(&p.child("name"), ""));
                    }
                    errs.extend(validate_mode(cm.default_mode, &p.child("defaultMode")));
                    for (i, kp) in items(&cm.items).iter().enumerate() {
                        errs.extend(validate_key_to_path(kp, &p.child("items").index(i)));
                    }
                }
            }
            "persistentVolumeClaim"
                if v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name.is_empty()) =>
            {
                errs.push(FieldError::required(
                    &path.child("persistentVolumeClaim").child("claimName"),
                    "",
                ));
            }
            "nfs" => {
                if let Some(nfs) = &v.nfs {
                    let p = path.child("nfs");
                    if nfs.server.is_empty() {
                        errs.push(FieldError::required(&p.child("server"), ""));
                    }
                    if nfs.path.is_empty() {
                        errs.push(FieldError::required(&p.child("path"), ""));
                    }
                    if !nfs.path.starts_with('/') {
                        errs.push(FieldError::invalid(
                            &p.child("path"),
                            nfs.path.as_str(),
                            "must be an absolute path",
                        ));
                    }
                }
            }
            "downwarAPI" => {
                if let Some(da) = &v.downward_api {
                    let p = path.child("downwardAPI");
                    errs.extend(validate_mode(da.default_mode, &p.child("defaultMode")));
                    for file in items(&da.items) {
                        errs.extend(validate_downward_api_file(file, &p));
                    }
                }
            }
            "projected" => {
                if let Some(pr) = &v.projected {
                    errs.extend(validate_projected(pr, &path.child("projected")));
                }
            }
            "csi" => {
                if let Some(csi) = &v.csi {
                    let p = path.child("csi").child("driver");
                    if csi.driver.is_empty() {
                        errs.push(FieldError::required(&p, ""));
                    }
                    if csi.driver.len() > 63 {
                        errs.push(FieldError::too_long(&p, 63));
                    }
                    for msg in is_dns1123_subdomain(&csi.driver.to_lowercase()) {
                        errs.push(FieldError::invalid(&p, csi.driver.as_str(), &msg));
                    }
                }
            }
            "ephemeral" => {
                if let Some(eph) = &v.ephemeral {
                    if eph.volume_claim_template.is_none() {
                        errs.push(FieldError::required(
                            &path.child("ephemeral").child("volumeClaimTemplate"),
                            "",
                        ));
                    } else if let Some(pod) =
                        pod_name.filter(|n| !n.is_empty() && !v.name.is_empty())
                    {
                        let pvc = format!("{pod}-{}", v.name);
                        for msg in is_dns1123_subdomain(&pvc) {
                            errs.push(FieldError::invalid(
                                &path.child("name"),
                                v.name.as_str(),
                                &format!("PVC name {}: {msg}", go_quote(&pvc)),
                            ));
                        }
                    }
                }
            }
            "image" => {
                if let Some(img) = &v.image {
                    if is_pod && s(&img.reference).is_empty() {
                        errs.push(FieldError::required(
                            &path.child("image").child("reference"),
                            "",
                        ));
                    }
                    errs.extend(validate_pull_policy(
                        &img.pull_policy,
                        &path.child("image").child("pullPolicy"),
                    ));
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

/// Validated volumes by name, with whether each is claim-backed (usable as a block device).
type VolumeIndex = BTreeMap<String, bool>;

fn validate_volumes(
    volumes: &[core::Volume],
    pod_name: Option<&str>,
    path: &Path,
    is_pod: bool,
) -> (VolumeIndex, ErrorList) {
    let mut errs = Vec::new();
    let mut index = VolumeIndex::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        let name_path = p.child("name");
        let mut el = validate_volume_source(v, &p, pod_name, is_pod);
        if v.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            el.extend(validate_dns1123_label(&v.name, &name_path));
        }
        if index.contains_key(&v.name) {
            el.push(FieldError::duplicate(&name_path, v.name.as_str()));
        }
        if el.is_empty() {
            index.insert(
                v.name.clone(),
                v.persistent_volume_claim.is_some() || v.ephemeral.is_some(),
            );
        } else {
            errs.extend(el);
        }
    }
    (index, errs)
}

fn validate_pull_policy(policy: &Option<String>, path: &Path) -> ErrorList {
    match s(policy) {
        "" | "Always" | "IfNotPresent" | "Never" => Vec::new(),
        other => vec![FieldError::not_supported(
            path,
            other,
            &["Always", "IfNotPresent", "Never"],
        )],
    }
}

fn validate_container_ports(ports: &[core::ContainerPort], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(&port.name);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(&p.child("name"), name, &m));
                }
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(&p.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(&p.child("containerPort"), ""));
        } else {
            for m in is_valid_port_num(i64::from(port.container_port)) {
                errs.push(FieldError::invalid(
                    &p.child("containerPort"),
                    port.container_port,
                    &m,
                ));
            }
        }
        let host_port = port.host_port.unwrap_or(0);
        if host_port != 0 {
            for m in is_valid_port_num(i64::from(host_port)) {
                errs.push(FieldError::invalid(&p.child("hostPort"), host_port, &m));
            }
        }
        errs.extend(validate_protocol(&port.protocol, &p.child("protocol")));
    }
    errs
}

/// Errors for a port protocol other than TCP, UDP or SCTP (unset is the TCP default).
pub(crate) fn validate_protocol(protocol: &Option<String>, path: &Path) -> ErrorList {
    match protocol.as_deref() {
        None | Some("TCP") | Some("UDP") | Some("SCTP") => Vec::new(),
        Some("") => vec![FieldError::required(path, "")],
        Some(other) => vec![FieldError::not_supported(
            path,
            other,
            &["SCTP", "TCP", "UDP"],
        )],
    }
}

fn validate_env(vars: &[core::EnvVar], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = path.index(i);
        if ev.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        } else {
            for m in is_env_var_name(&ev.name) {
                errs.push(FieldError::invalid(&p.child("name"), ev.name.as_str(), &m));
            }
        }
        if let Some(from) = &ev.value_from {
            let vp = p.child("valueFrom");
            let mut n = 0;
            if let Some(fr) = &from.field_ref {
                n += 1;
                errs.extend(validate_object_field_selector(
                    fr,
                    &ENV_FIELD_PATHS,
                    &vp.child("fieldRef"),
                ));
            }
            if let Some(rfr) = &from.resource_field_ref {
                n += 1;
                errs.extend(validate_resource_field_selector(
                    rfr,
                    false,
                    &vp.child("resourceFieldRef"),
                ));
            }
            if let Some(cm) = &from.config_map_key_ref {
                n += 1;
                errs.extend(validate_key_selector(
                    &cm.name,
                    &cm.key,
                    &vp.child("configMapKeyRef"),
                ));
            }
            if let Some(sec) = &from.secret_key_ref {
                n += 1;
                errs.extend(validate_key_selector(
                    &sec.name,
                    &sec.key,
                    &vp.child("secretKeyRef"),
                ));
            }
            if n == 0 {
                errs.push(FieldError::invalid(&vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
            } else if !s(&ev.value).is_empty() {
                errs.push(FieldError::invalid(
                    &vp,
                    "",
                    "may not be specified when `value` is not empty",
                ));
            } else if n > 1 {
                errs.push(FieldError::invalid(
                    &vp,
                    "",
                    "may not have more than one field specified at a time",
                ));
            }
        }
    }
    errs
}

fn validate_key_selector(name: &str, key: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = is_dns1123_subdomain(name)
        .into_iter()
        .map(|m| FieldError::invalid(&path.child("name"), name, &m))
        .collect();
    if key.is_empty() {
        errs.push(FieldError::required(&path.child("key"), ""));
    } else {
        for m in is_config_map_key(key) {
            errs.push(FieldError::invalid(&path.child("key"), key, &m));
        }
    }
    errs
}

fn validate_env_from(sources: &[core::EnvFromSource], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (i, ev) in sources.iter().enumerate() {
        let p = path.index(i);
        let prefix = s(&ev.prefix);
        if !prefix.is_empty() {
            for m in is_env_var_name(prefix) {
                errs.push(FieldError::invalid(&p.child("prefix"), prefix, &m));
            }
        }
        let mut n = 0;
        for (field, name) in [
            (
                "configMapRef",
                ev.config_map_ref.as_ref().map(|r| r.name.as_str()),
            ),
            ("secretRef", ev.secret_ref.as_ref().map(|r| r.name.as_str())),
        ] {
            if let Some(name) = name {
                n += 1;
                let np = p.child(field).child("name");
                if name.is_empty() {
                    errs.push(FieldError::required(&np, ""));
                } else {
                    for m in NameRule::Dns1123Subdomain.check(name, true) {
                        errs.push(FieldError::invalid(&np, name, &m));
                    }
                }
            }
        }
        if n == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

fn validate_volume_mounts(ctr: &core::Container, volumes: &VolumeIndex, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let devices: BTreeMap<&str, &str> = items(&ctr.volume_devices)
        .iter()
        .map(|d| (d.name.as_str(), d.device_path.as_str()))
        .collect();
    let mut mount_points = BTreeSet::new();
    let privileged = ctr.security_context.as_ref().and_then(|sc| sc.privileged) == Some(true);
    for (i, m) in items(&ctr.volume_mounts).iter().enumerate() {
        let p = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        }
        if !volumes.contains_key(&m.name) {
            errs.push(FieldError::not_found(&p.child("name"), m.name.as_str()));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&p.child("mountPath"), ""));
        }
        if !mount_points.insert(m.mount_path.as_str()) {
            errs.push(FieldError::invalid(
                &p.child("mountPath"),
                m.mount_path.as_str(),
                "must be unique",
            ));
        }
        if devices.contains_key(m.name.as_str()) {
            errs.push(FieldError::invalid(
                &p.child("name"),
                m.name.as_str(),
                "must not already exist in volumeDevices",
            ));
        }
        if devices.values().any(|d| *d == m.mount_path) {
            errs.push(FieldError::invalid(
                &p.child("mountPath"),
                m.mount_path.as_str(),
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub_path = s(&m.sub_path);
        if !sub_path.is_empty() {
            errs.extend(validate_local_descending_path(
                sub_path,
                &path.child("subPath"),
            ));
        }
        let expr = s(&m.sub_path_expr);
        if !expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    &p.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(
                expr,
                &path.child("subPathExpr"),
            ));
        }
        if let Some(prop) = &m.mount_propagation {
            let pp = path.child("mountPropagation");
            let supported = ["Bidirectional", "HostToContainer", "None"];
            if !supported.contains(&prop.as_str()) {
                errs.push(FieldError::not_supported(&pp, prop.as_str(), &supported));
            }
            if prop == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(rro) = &m.recursive_read_only {
            let rp = path.child("recursiveReadOnly");
            match rro.as_str() {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if m.read_only != Some(true) {
                        errs.push(FieldError::forbidden(
                            &rp,
                            "may only be specified when readOnly is true",
                        ));
                    }
                    if m.mount_propagation.as_deref().is_some_and(|p| p != "None") {
                        errs.push(FieldError::forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(FieldError::not_supported(
                    &rp,
                    other,
                    &["Disabled", "Enabled", "IfPossible"],
                )),
            }
        }
    }
    errs
}

fn validate_volume_devices(ctr: &core::Container, volumes: &VolumeIndex, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let mounts: BTreeMap<&str, &str> = items(&ctr.volume_mounts)
        .iter()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    let mut names = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for (i, d) in items(&ctr.volume_devices).iter().enumerate() {
        let p = path.index(i);
        if d.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        }
        if names.contains(d.name.as_str()) {
            errs.push(FieldError::invalid(
                &p.child("name"),
                d.name.as_str(),
                "must be unique",
            ));
        }
        match volumes.get(&d.name) {
            Some(false) => errs.push(FieldError::invalid(&p.child("name"), d.name.as_str(), "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode")),
            None => errs.push(FieldError::not_found(&p.child("name"), d.name.as_str())),
            Some(true) => {}
        }
        if d.device_path.is_empty() {
            errs.push(FieldError::required(&p.child("devicePath"), ""));
        }
        if paths.contains(d.device_path.as_str()) {
            errs.push(FieldError::invalid(
                &p.child("devicePath"),
                d.device_path.as_str(),
                "must be unique",
            ));
        }
        if !d.device_path.is_empty() && !validate_path_no_backsteps(&d.device_path, &p).is_empty() {
            errs.push(FieldError::invalid(
                &p.child("devicePath"),
                d.device_path.as_str(),
                "can not contain backsteps ('..')",
            ));
        } else {
            paths.insert(d.device_path.as_str());
        }
        if mounts.contains_key(d.name.as_str()) {
            errs.push(FieldError::invalid(
                &p.child("name"),
                d.name.as_str(),
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.values().any(|m| *m == d.device_path) {
            errs.push(FieldError::invalid(
                &p.child("devicePath"),
                d.device_path.as_str(),
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !d.name.is_empty() {
            names.insert(d.name.as_str());
        }
    }
    errs
}

const STANDARD_CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "configmaps",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Whether a resource name belongs to Kubernetes itself (no domain, or a kubernetes.io one).
pub(crate) fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_extended_resource(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    super::names::is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !is_hugepages(name)
}

/// Whether a resource may only hold whole numbers.
pub(crate) fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended_resource(name)
}

/// Errors for a compute resource name in general (quota, limit ranges, node capacity).
pub(crate) fn validate_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs: ErrorList = super::names::is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, &m))
        .collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/')
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepages(name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource type or fully qualified",
        ));
    }
    errs
}

/// Errors for a resource name in a container's requests or limits.
pub(crate) fn validate_container_resource_name(name: &str, path: &Path) -> ErrorList {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_hugepages(name) {
            errs.push(FieldError::invalid(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native_resource(name) && !is_extended_resource(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

/// Errors for a quantity of `resource`: parsable, not negative, whole when it must be.
pub(crate) fn validate_resource_quantity(
    resource: &str,
    q: &K8sQuantity,
    path: &Path,
) -> (Option<Quantity>, ErrorList) {
    let Some(parsed) = Quantity::parse(&q.0) else {
        return (
            None,
            vec![FieldError::invalid(
                path,
                q.0.as_str(),
                QUANTITY_FORMAT_ERROR,
            )],
        );
    };
    let mut errs = Vec::new();
    if parsed.is_negative() {
        errs.push(FieldError::invalid(
            path,
            parsed.canonical(),
            super::meta::IS_NEGATIVE,
        ));
    }
    if is_integer_resource(resource) && !parsed.is_integer() {
        errs.push(FieldError::invalid(
            path,
            parsed.canonical(),
            "must be an integer",
        ));
    }
    (Some(parsed), errs)
}

/// Errors for a container's (or a pod overhead's) resource requirements: known names, valid
/// quantities, requests not above limits.
pub fn validate_resource_requirements(
    req: &core::ResourceRequirements,
    claims: &BTreeSet<String>,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let empty = BTreeMap::new();
    let limits = req.limits.as_ref().unwrap_or(&empty);
    let requests = req.requests.as_ref().unwrap_or(&empty);
    let mut lim_cpu_mem = false;
    let mut req_cpu_mem = false;
    let mut huge = false;
    let mut parsed_limits = BTreeMap::new();
    for (name, q) in limits {
        let p = lim_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        let (parsed, e) = validate_resource_quantity(name, q, &p);
        errs.extend(e);
        if let Some(parsed) = parsed {
            parsed_limits.insert(name.as_str(), parsed);
        }
        huge |= is_hugepages(name);
        lim_cpu_mem |= name == "cpu" || name == "memory";
    }
    for (name, q) in requests {
        let p = req_path.key(name);
        errs.extend(validate_container_resource_name(name, &p));
        let (parsed, e) = validate_resource_quantity(name, q, &p);
        errs.extend(e);
        if let Some(parsed) = parsed {
            if let Some(limit) = parsed_limits.get(name.as_str()) {
                let ord = parsed.cmp_value(limit);
                if ord != std::cmp::Ordering::Equal && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &req_path,
                        parsed.canonical(),
                        &format!("must be equal to {name} limit of {}", limit.canonical()),
                    ));
                } else if ord == std::cmp::Ordering::Greater {
                    errs.push(FieldError::invalid(
                        &req_path,
                        parsed.canonical(),
                        &format!(
                            "must be less than or equal to {name} limit of {}",
                            limit.canonical()
                        ),
                    ));
                }
            } else if !limits.contains_key(name) && !is_overcommit_allowed(name) {
                errs.push(FieldError::required(
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ));
            }
        }
        huge |= is_hugepages(name);
        req_cpu_mem |= name == "cpu" || name == "memory";
    }
    if huge && !lim_cpu_mem && !req_cpu_mem {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, claim) in items(&req.claims).iter().enumerate() {
        let p = path.child("claims").index(i);
        if claim.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
            continue;
        }
        let key = match s(&claim.request) {
            "" => claim.name.clone(),
            r => format!("{}/{r}", claim.name),
        };
        if !seen.insert(key.clone()) {
            errs.push(FieldError::duplicate(&p, key.as_str()));
        }
        if !claims.contains(&claim.name) {
            let mut e = FieldError::not_found(&p, claim.name.as_str());
            e.detail = if claims.is_empty() {
                "must be one of the names in pod.spec.resourceClaims which is empty".to_owned()
            } else {
                let names: Vec<&str> = claims.iter().map(String::as_str).collect();
                format!(
                    "must be one of the names in pod.spec.resourceClaims: {}",
                    names.join(", ")
                )
            };
            errs.push(e);
        }
    }
    errs
}

fn validate_handler(
    exec: Option<&core::ExecAction>,
    http: Option<&core::HTTPGetAction>,
    tcp: Option<&core::TCPSocketAction>,
    grpc: Option<&core::GRPCAction>,
    sleep: Option<&core::SleepAction>,
    grace: Option<i64>,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    let mut n = 0;
    let mut more = |name: &str, errs: &mut ErrorList| {
        if n > 0 {
            errs.push(FieldError::forbidden(
                &path.child(name),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            n += 1;
            true
        }
    };
    if let Some(e) = exec {
        if more("exec", &mut errs) && items(&e.command).is_empty() {
            errs.push(FieldError::required(
                &path.child("exec").child("command"),
                "",
            ));
        }
    }
    if let Some(h) = http {
        if more("httpGet", &mut errs) {
            let p = path.child("httpGet");
            if h.path.as_deref() == Some("") {
                errs.push(FieldError::required(&p.child("path"), ""));
            }
            errs.extend(validate_port_num_or_name(&h.port, &p.child("port")));
            if let Some(scheme) = &h.scheme {
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errs.push(FieldError::not_supported(
                        &p.child("scheme"),
                        scheme.as_str(),
                        &["HTTP", "HTTPS"],
                    ));
                }
            }
            for header in items(&h.http_headers) {
                for m in is_http_header_name(&header.name) {
                    errs.push(FieldError::invalid(
                        &p.child("httpHeaders"),
                        header.name.as_str(),
                        &m,
                    ));
                }
            }
        }
    }
    if let Some(t) = tcp {
        if more("tcpSocket", &mut errs) {
            errs.extend(validate_port_num_or_name(
                &t.port,
                &path.child("tcpSocket").child("port"),
            ));
        }
    }
    if let Some(g) = grpc {
        if more("grpc", &mut errs) {
            errs.extend(validate_port_num_or_name(
                &IntOrString::Int(g.port),
                &path.child("grpc").child("port"),
            ));
        }
    }
    if let Some(sl) = sleep {
        if more("sleep", &mut errs) {
            if let Some(g) = grace {
                if sl.seconds < 0 || sl.seconds > g {
                    errs.push(FieldError::invalid(
                        &path.child("sleep"),
                        sl.seconds,
                        &format!("must be non-negative and less than terminationGracePeriodSeconds ({g})"),
                    ));
                }
            }
        }
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

fn validate_probe(
    probe: Option<&core::Probe>,
    kind: ProbeKind,
    grace: Option<i64>,
    path: &Path,
) -> ErrorList {
    let Some(pr) = probe else {
        return Vec::new();
    };
    let mut errs = validate_handler(
        pr.exec.as_ref(),
        pr.http_get.as_ref(),
        pr.tcp_socket.as_ref(),
        pr.grpc.as_ref(),
        None,
        grace,
        path,
    );
    for (field, value) in [
        ("initialDelaySeconds", pr.initial_delay_seconds),
        ("timeoutSeconds", pr.timeout_seconds),
        ("periodSeconds", pr.period_seconds),
        ("successThreshold", pr.success_threshold),
        ("failureThreshold", pr.failure_threshold),
    ] {
        errs.extend(validate_nonnegative(
            i64::from(value.unwrap_or(0)),
            &path.child(field),
        ));
    }
    if let Some(t) = pr.termination_grace_period_seconds {
        if t <= 0 {
            errs.push(FieldError::invalid(
                &path.child("terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            ));
        }
    }
    match kind {
        ProbeKind::Liveness | ProbeKind::Startup => {
            if let Some(st) = pr.success_threshold {
                if st != 1 {
                    errs.push(FieldError::invalid(
                        &path.child("successThreshold"),
                        st,
                        "must be 1",
                    ));
                }
            }
        }
        ProbeKind::Readiness => {
            if let Some(t) = pr.termination_grace_period_seconds {
                errs.push(FieldError::invalid(
                    &path.child("terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        }
    }
    errs
}

fn validate_lifecycle(lc: &core::Lifecycle, grace: Option<i64>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (name, h) in [("postStart", &lc.post_start), ("preStop", &lc.pre_stop)] {
        if let Some(h) = h {
            errs.extend(validate_handler(
                h.exec.as_ref(),
                h.http_get.as_ref(),
                h.tcp_socket.as_ref(),
                None,
                h.sleep.as_ref(),
                grace,
                &path.child(name),
            ));
        }
    }
    errs
}

fn validate_security_context(sc: Option<&core::SecurityContext>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let Some(sc) = sc else {
        return errs;
    };
    let range = inclusive_range_error(0, 4_294_967_295);
    for (field, v) in [
        ("runAsUser", sc.run_as_user),
        ("runAsGroup", sc.run_as_group),
    ] {
        if let Some(v) = v {
            if !(0..=4_294_967_295).contains(&v) {
                errs.push(FieldError::invalid(&path.child(field), v, &range));
            }
        }
    }
    if let Some(pm) = &sc.proc_mount {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(
                &path.child("procMount"),
                pm.as_str(),
                &["Default", "Unmasked"],
            ));
        }
    }
    errs.extend(validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    ));
    if sc.allow_privilege_escalation == Some(false) {
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                path,
                to_json(sc),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let adds_sys_admin = sc
            .capabilities
            .as_ref()
            .is_some_and(|c| items(&c.add).iter().any(|a| a == "CAP_SYS_ADMIN"));
        if adds_sys_admin {
            errs.push(FieldError::invalid(path, to_json(sc), "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
        }
    }
    errs
}

fn validate_seccomp_profile(sp: Option<&core::SeccompProfile>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let Some(sp) = sp else {
        return errs;
    };
    match sp.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(
            &path.child("type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            &path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    if sp.type_ == "Localhost" {
        match &sp.localhost_profile {
            None => errs.push(FieldError::required(
                &path.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(p) => errs.extend(validate_local_descending_path(
                p,
                &path.child("localhostProfile"),
            )),
        }
    } else if sp.localhost_profile.is_some() {
        errs.push(FieldError::invalid(
            &path.child("localhostProfile"),
            to_json(sp),
            "can only be set when seccomp type is Localhost",
        ));
    }
    errs
}

fn validate_container_common(
    ctr: &core::Container,
    volumes: &VolumeIndex,
    claims: &BTreeSet<String>,
    path: &Path,
    restart_policy: &str,
) -> ErrorList {
    let mut errs = Vec::new();
    let name_path = path.child("name");
    if ctr.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        errs.extend(validate_dns1123_label(&ctr.name, &name_path));
    }
    if s(&ctr.image).is_empty() {
        errs.push(FieldError::required(&path.child("image"), ""));
    }
    match s(&ctr.termination_message_policy) {
        "" | "File" | "FallbackToLogsOnError" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_container_ports(
        items(&ctr.ports),
        &path.child("ports"),
    ));
    errs.extend(validate_env(items(&ctr.env), &path.child("env")));
    errs.extend(validate_env_from(
        items(&ctr.env_from),
        &path.child("envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        ctr,
        volumes,
        &path.child("volumeMounts"),
    ));
    errs.extend(validate_volume_devices(
        ctr,
        volumes,
        &path.child("volumeDevices"),
    ));
    errs.extend(validate_pull_policy(
        &ctr.image_pull_policy,
        &path.child("imagePullPolicy"),
    ));
    if let Some(res) = &ctr.resources {
        errs.extend(validate_resource_requirements(
            res,
            claims,
            &path.child("resources"),
        ));
    }
    let rp = path.child("resizePolicy");
    let mut seen = BTreeSet::new();
    for (i, pol) in items(&ctr.resize_policy).iter().enumerate() {
        if !seen.insert(pol.resource_name.as_str()) {
            errs.push(FieldError::duplicate(
                &rp.index(i),
                pol.resource_name.as_str(),
            ));
        }
        match pol.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(&rp, "")),
            other => errs.push(FieldError::not_supported(&rp, other, &["cpu", "memory"])),
        }
        match pol.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(&rp, "")),
            other => errs.push(FieldError::not_supported(
                &rp,
                other,
                &["NotRequired", "RestartContainer"],
            )),
        }
        if restart_policy == "Never" && pol.restart_policy != "NotRequired" {
            errs.push(FieldError::invalid(
                &rp,
                pol.restart_policy.as_str(),
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    errs.extend(validate_security_context(
        ctr.security_context.as_ref(),
        &path.child("securityContext"),
    ));
    errs
}

fn check_host_port_conflicts(
    containers: &[&core::Container],
    path: &Path,
    indexes: &[usize],
) -> ErrorList {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (ctr, ci) in containers.iter().zip(indexes) {
        for (pi, port) in items(&ctr.ports).iter().enumerate() {
            let hp = port.host_port.unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{hp}",
                port.protocol.as_deref().unwrap_or("TCP"),
                s(&port.host_ip)
            );
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    &path.index(*ci).child("ports").index(pi).child("hostPort"),
                    key,
                ));
            }
        }
    }
    errs
}

fn validate_tolerations(tolerations: &[core::Toleration], path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        let key = s(&t.key);
        let op = s(&t.operator);
        let effect = s(&t.effect);
        let value = s(&t.value);
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &p.child("key")));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(&p.child("operator"), op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &p.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "" | "Equal" => {
                let msgs = is_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        &p.child("operator"),
                        value,
                        &msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        &p.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &p.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &p.child("effect")));
        }
    }
    errs
}

/// Errors for a taint effect other than NoSchedule, PreferNoSchedule or NoExecute.
pub(crate) fn validate_taint_effect(effect: &str, path: &Path) -> ErrorList {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        other => vec![FieldError::not_supported(
            path,
            other,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

fn validate_node_selector_requirement(
    rq: &core::NodeSelectorRequirement,
    check_values: bool,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    let values = items(&rq.values);
    match rq.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(FieldError::required(
                    &path.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(FieldError::forbidden(
                    &path.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        "Gt" | "Lt" => {
            if values.len() != 1 {
                errs.push(FieldError::required(
                    &path.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        other => errs.push(FieldError::invalid(
            &path.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    errs.extend(validate_label_name(&rq.key, &path.child("key")));
    if check_values {
        for (i, v) in values.iter().enumerate() {
            for m in is_label_value(v) {
                errs.push(FieldError::invalid(
                    &path.child("values").index(i),
                    v.as_str(),
                    &m,
                ));
            }
        }
    }
    errs
}

fn validate_node_selector_term(
    term: &core::NodeSelectorTerm,
    check_values: bool,
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    for (j, rq) in items(&term.match_expressions).iter().enumerate() {
        errs.extend(validate_node_selector_requirement(
            rq,
            check_values,
            &path.child("matchExpressions").index(j),
        ));
    }
    for (j, rq) in items(&term.match_fields).iter().enumerate() {
        let p = path.child("matchFields").index(j);
        match rq.operator.as_str() {
            "In" | "NotIn" => {
                if items(&rq.values).len() != 1 {
                    errs.push(FieldError::required(&p.child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
                }
            }
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        if rq.key != "metadata.name" {
            errs.push(FieldError::invalid(
                &p.child("key"),
                rq.key.as_str(),
                "not a valid field selector key",
            ));
        } else {
            for (i, v) in items(&rq.values).iter().enumerate() {
                for m in is_dns1123_subdomain(v) {
                    errs.push(FieldError::invalid(
                        &p.child("values").index(i),
                        v.as_str(),
                        &m,
                    ));
                }
            }
        }
    }
    errs
}

fn validate_pod_affinity_term(term: &core::PodAffinityTerm, path: &Path) -> ErrorList {
    let mut errs =
        validate_label_selector(term.label_selector.as_ref(), &path.child("labelSelector"));
    errs.extend(validate_label_selector(
        term.namespace_selector.as_ref(),
        &path.child("namespaceSelector"),
    ));
    for ns in items(&term.namespaces) {
        for m in NameRule::Dns1123Label.check(ns, false) {
            errs.push(FieldError::invalid(
                &path.child("namespace"),
                ns.as_str(),
                &m,
            ));
        }
    }
    for (field, keys) in [
        ("matchLabelKeys", &term.match_label_keys),
        ("mismatchLabelKeys", &term.mismatch_label_keys),
    ] {
        let keys = items(keys);
        if keys.is_empty() {
            continue;
        }
        if term.label_selector.is_none() {
            errs.push(FieldError::forbidden(
                &path.child(field),
                "must not be specified when labelSelector is not set",
            ));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            errs.extend(validate_label_name(k, &path.child(field).index(i)));
        }
    }
    if term.topology_key.is_empty() {
        errs.push(FieldError::required(
            &path.child("topologyKey"),
            "can not be empty",
        ));
    }
    errs.extend(validate_label_name(
        &term.topology_key,
        &path.child("topologyKey"),
    ));
    errs
}

fn validate_affinity(aff: Option<&core::Affinity>, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let Some(aff) = aff else {
        return errs;
    };
    if let Some(na) = &aff.node_affinity {
        let p = path.child("nodeAffinity");
        if let Some(req) = &na.required_during_scheduling_ignored_during_execution {
            let tp = p
                .child("requiredDuringSchedulingIgnoredDuringExecution")
                .child("nodeSelectorTerms");
            if req.node_selector_terms.is_empty() {
                errs.push(FieldError::required(
                    &tp,
                    "must have at least one node selector term",
                ));
            }
            for (i, term) in req.node_selector_terms.iter().enumerate() {
                errs.extend(validate_node_selector_term(term, true, &tp.index(i)));
            }
        }
        for (i, term) in items(&na.preferred_during_scheduling_ignored_during_execution)
            .iter()
            .enumerate()
        {
            let tp = p
                .child("preferredDuringSchedulingIgnoredDuringExecution")
                .index(i);
            if term.weight <= 0 || term.weight > 100 {
                errs.push(FieldError::invalid(
                    &tp.child("weight"),
                    term.weight,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_node_selector_term(
                &term.preference,
                false,
                &tp.child("preference"),
            ));
        }
    }
    let pod_affinities = [
        (
            "podAffinity",
            aff.pod_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            aff.pod_anti_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ];
    for (name, terms) in pod_affinities {
        let Some((required, preferred)) = terms else {
            continue;
        };
        let p = path.child(name);
        for (i, term) in items(required).iter().enumerate() {
            errs.extend(validate_pod_affinity_term(
                term,
                &p.child("requiredDuringSchedulingIgnoredDuringExecution")
                    .index(i),
            ));
        }
        for (i, wt) in items(preferred).iter().enumerate() {
            let wp = p
                .child("preferredDuringSchedulingIgnoredDuringExecution")
                .index(i);
            if wt.weight <= 0 || wt.weight > 100 {
                errs.push(FieldError::invalid(
                    &wp.child("weight"),
                    wt.weight,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_pod_affinity_term(
                &wt.pod_affinity_term,
                &wp.child("podAffinityTerm"),
            ));
        }
    }
    errs
}

fn is_dns1123_subdomain_with_underscore(value: &str) -> Vec<String> {
    let label_ok = |l: &str| {
        let l = l.strip_prefix('_').unwrap_or(l);
        let b = l.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(e)) => {
                (f.is_ascii_lowercase() || f.is_ascii_digit())
                    && (e.is_ascii_lowercase() || e.is_ascii_digit())
                    && b.iter().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_'
                    })
            }
            _ => false,
        }
    };
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if value.is_empty() || !value.split('.').all(label_ok) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character",
            "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errs
}

fn validate_dns_config(spec: &core::PodSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    if s(&spec.dns_policy) == "None" {
        match &spec.dns_config {
            None => {
                return vec![FieldError::required(
                    path,
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                )]
            }
            Some(c) if items(&c.nameservers).is_empty() => {
                return vec![FieldError::required(
                    &path.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )];
            }
            _ => {}
        }
    }
    let Some(cfg) = &spec.dns_config else {
        return errs;
    };
    let ns = items(&cfg.nameservers);
    if ns.len() > 3 {
        errs.push(FieldError::invalid(
            &path.child("nameservers"),
            to_json(&cfg.nameservers),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        if let Some(m) = ip_error(n) {
            errs.push(FieldError::invalid(
                &path.child("nameservers").index(i),
                n.as_str(),
                m,
            ));
        }
    }
    let searches = items(&cfg.searches);
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            to_json(&cfg.searches),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            to_json(&cfg.searches),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        if search != "." {
            let trimmed = search.strip_suffix('.').unwrap_or(search);
            for m in is_dns1123_subdomain_with_underscore(trimmed) {
                errs.push(FieldError::invalid(
                    &path.child("searches").index(i),
                    trimmed,
                    &m,
                ));
            }
        }
    }
    for (i, opt) in items(&cfg.options).iter().enumerate() {
        if s(&opt.name).is_empty() {
            errs.push(FieldError::required(
                &path.child("options").index(i),
                "must not be empty",
            ));
        }
    }
    errs
}

fn validate_pod_security_context(spec: &core::PodSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let Some(sc) = &spec.security_context else {
        return errs;
    };
    let range = inclusive_range_error(0, 4_294_967_295);
    let ok = |v: i64| (0..=4_294_967_295).contains(&v);
    for (field, v) in [
        ("fsGroup", sc.fs_group),
        ("runAsUser", sc.run_as_user),
        ("runAsGroup", sc.run_as_group),
    ] {
        if let Some(v) = v.filter(|v| !ok(*v)) {
            errs.push(FieldError::invalid(&path.child(field), v, &range));
        }
    }
    for (i, g) in items(&sc.supplemental_groups).iter().enumerate() {
        if !ok(*g) {
            errs.push(FieldError::invalid(
                &path.child("supplementalGroups").index(i),
                *g,
                &range,
            ));
        }
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            &path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut names = BTreeSet::new();
    for (i, sysctl) in items(&sc.sysctls).iter().enumerate() {
        let p = path.child("sysctls").index(i).child("name");
        if sysctl.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if !is_valid_sysctl_name(&sysctl.name) {
            errs.push(FieldError::invalid(&p, sysctl.name.as_str(), "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"));
        } else if !names.insert(sysctl.name.as_str()) {
            errs.push(FieldError::duplicate(&p, sysctl.name.as_str()));
        }
    }
    if let Some(pol) = &sc.fs_group_change_policy {
        if pol != "OnRootMismatch" && pol != "Always" {
            errs.push(FieldError::not_supported(
                &path.child("fsGroupChangePolicy"),
                pol.as_str(),
                &["Always", "OnRootMismatch"],
            ));
        }
    }
    errs.extend(validate_seccomp_profile(
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    ));
    if let Some(pol) = &sc.supplemental_groups_policy {
        if pol != "Merge" && pol != "Strict" {
            errs.push(FieldError::not_supported(
                &path.child("supplementalGroupsPolicy"),
                pol.as_str(),
                &["Merge", "Strict"],
            ));
        }
    }
    if let Some(pol) = &sc.se_linux_change_policy {
        if pol != "Recursive" && pol != "MountOption" {
            errs.push(FieldError::not_supported(
                &path.child("seLinuxChangePolicy"),
                pol.as_str(),
                &["MountOption", "Recursive"],
            ));
        }
    }
    errs
}

fn is_valid_sysctl_name(name: &str) -> bool {
    if name.len() > 253 {
        return false;
    }
    name.split(['.', '/']).all(|seg| {
        let b = seg.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                (f.is_ascii_lowercase() || f.is_ascii_digit())
                    && (l.is_ascii_lowercase() || l.is_ascii_digit())
                    && b.iter().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_'
                    })
            }
            _ => false,
        }
    })
}

fn validate_topology_spread(
    constraints: &[core::TopologySpreadConstraint],
    path: &Path,
) -> ErrorList {
    let mut errs = Vec::new();
    for (i, c) in constraints.iter().enumerate() {
        let p = path.index(i);
        if c.max_skew <= 0 {
            errs.push(FieldError::invalid(
                &p.child("maxSkew"),
                c.max_skew,
                "must be greater than zero",
            ));
        }
        if c.topology_key.is_empty() {
            errs.push(FieldError::required(
                &p.child("topologyKey"),
                "can not be empty",
            ));
        }
        if c.when_unsatisfiable != "DoNotSchedule" && c.when_unsatisfiable != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(
                &p.child("whenUnsatisfiable"),
                c.when_unsatisfiable.as_str(),
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if constraints.iter().skip(i + 1).any(|o| {
            o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable
        }) {
            errs.push(FieldError::duplicate(
                &p.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable),
            ));
        }
        if let Some(md) = c.min_domains {
            if md <= 0 {
                errs.push(FieldError::invalid(
                    &p.child("minDomains"),
                    md,
                    "must be greater than zero",
                ));
            }
            if c.when_unsatisfiable != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    &p.child("minDomains"),
                    md,
                    &format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}",
                        c.when_unsatisfiable
                    ),
                ));
            }
        }
        for (field, pol) in [
            ("nodeAffinityPolicy", &c.node_affinity_policy),
            ("nodeTaintsPolicy", &c.node_taints_policy),
        ] {
            if let Some(pol) = pol {
                if pol != "Honor" && pol != "Ignore" {
                    errs.push(FieldError::not_supported(
                        &p.child(field),
                        pol.as_str(),
                        &["Honor", "Ignore"],
                    ));
                }
            }
        }
        let keys = items(&c.match_label_keys);
        if !keys.is_empty() && c.label_selector.is_none() {
            errs.push(FieldError::forbidden(
                &p.child("matchLabelKeys"),
                "must not be specified when labelSelector is not set",
            ));
        }
        for (j, k) in keys.iter().enumerate() {
            errs.extend(validate_label_name(k, &p.child("matchLabelKeys").index(j)));
        }
        errs.extend(validate_label_selector(
            c.label_selector.as_ref(),
            &p.child("labelSelector"),
        ));
    }
    errs
}

/// Errors for a pod spec at `path` (`spec` for a pod, `spec.template.spec` for a workload).
pub fn validate_pod_spec(
    spec: &core::PodSpec,
    pod_meta: Option<&ObjectMeta>,
    path: &Path,
    ctx: SpecContext,
) -> ErrorList {
    let mut errs = Vec::new();
    let is_pod = ctx == SpecContext::Pod;
    let grace = spec.termination_grace_period_seconds;
    let restart_policy = s(&spec.restart_policy);
    let pod_name = pod_meta.and_then(|m| m.name.as_deref());
    let (volumes, verrs) = validate_volumes(
        items(&spec.volumes),
        pod_name,
        &path.child("volumes"),
        is_pod,
    );
    errs.extend(verrs);

    let mut claim_names = BTreeSet::new();
    for (i, claim) in items(&spec.resource_claims).iter().enumerate() {
        let p = path.child("resourceClaims").index(i);
        if claim.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        } else if !claim_names.insert(claim.name.clone()) {
            errs.push(FieldError::duplicate(&p.child("name"), claim.name.as_str()));
        } else {
            errs.extend(validate_dns1123_label(&claim.name, &p.child("name")));
        }
        match (&claim.resource_claim_name, &claim.resource_claim_template_name) {
            (Some(_), Some(_)) => errs.push(FieldError::invalid(&p, to_json(claim), "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified")),
            (None, None) => errs.push(FieldError::invalid(&p, to_json(claim), "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`")),
            _ => {}
        }
    }

    // Regular containers.
    let cpath = path.child("containers");
    if spec.containers.is_empty() {
        errs.push(FieldError::required(&cpath, ""));
    } else {
        let mut names = BTreeSet::new();
        for (i, ctr) in spec.containers.iter().enumerate() {
            let p = cpath.index(i);
            errs.extend(validate_container_common(
                ctr,
                &volumes,
                &claim_names,
                &p,
                restart_policy,
            ));
            if !names.insert(ctr.name.as_str()) {
                errs.push(FieldError::duplicate(&p.child("name"), ctr.name.as_str()));
            }
            if let Some(lc) = &ctr.lifecycle {
                errs.extend(validate_lifecycle(lc, grace, &p.child("lifecycle")));
            }
            errs.extend(validate_probe(
                ctr.liveness_probe.as_ref(),
                ProbeKind::Liveness,
                grace,
                &p.child("livenessProbe"),
            ));
            errs.extend(validate_probe(
                ctr.readiness_probe.as_ref(),
                ProbeKind::Readiness,
                grace,
                &p.child("readinessProbe"),
            ));
            errs.extend(validate_probe(
                ctr.startup_probe.as_ref(),
                ProbeKind::Startup,
                grace,
                &p.child("startupProbe"),
            ));
            if ctr.restart_policy.is_some() {
                errs.push(FieldError::forbidden(
                    &p.child("restartPolicy"),
                    "may not be set for non-init containers",
                ));
            }
        }
        let all: Vec<&core::Container> = spec.containers.iter().collect();
        let idx: Vec<usize> = (0..all.len()).collect();
        errs.extend(check_host_port_conflicts(&all, &cpath, &idx));
    }

    // Init containers.
    let ipath = path.child("initContainers");
    let mut all_names: BTreeSet<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    for (i, ctr) in items(&spec.init_containers).iter().enumerate() {
        let p = ipath.index(i);
        errs.extend(validate_container_common(
            ctr,
            &volumes,
            &claim_names,
            &p,
            restart_policy,
        ));
        let mut restart_always = false;
        if let Some(rp) = &ctr.restart_policy {
            if rp == "Always" {
                restart_always = true;
            } else {
                errs.push(FieldError::not_supported(
                    &p.child("restartPolicy"),
                    rp.as_str(),
                    &["Always"],
                ));
            }
        }
        if all_names.contains(ctr.name.as_str()) {
            errs.push(FieldError::duplicate(&p.child("name"), ctr.name.as_str()));
        } else if !ctr.name.is_empty() {
            all_names.insert(ctr.name.as_str());
        }
        errs.extend(check_host_port_conflicts(&[ctr], &ipath, &[i]));
        if restart_always {
            if let Some(lc) = &ctr.lifecycle {
                errs.extend(validate_lifecycle(lc, grace, &p.child("lifecycle")));
            }
            errs.extend(validate_probe(
                ctr.liveness_probe.as_ref(),
                ProbeKind::Liveness,
                grace,
                &p.child("livenessProbe"),
            ));
            errs.extend(validate_probe(
                ctr.readiness_probe.as_ref(),
                ProbeKind::Readiness,
                grace,
                &p.child("readinessProbe"),
            ));
            errs.extend(validate_probe(
                ctr.startup_probe.as_ref(),
                ProbeKind::Startup,
                grace,
                &p.child("startupProbe"),
            ));
        } else {
            let forbidden = "may not be set for init containers without restartPolicy=Always";
            if ctr.lifecycle.is_some() {
                errs.push(FieldError::forbidden(&p.child("lifecycle"), forbidden));
            }
            if ctr.liveness_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("livenessProbe"), forbidden));
            }
            if ctr.readiness_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("readinessProbe"), forbidden));
            }
            if ctr.startup_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("startupProbe"), forbidden));
            }
        }
    }

    // Host network: host ports must equal container ports.
    if spec.host_network == Some(true) {
        for (i, ctr) in spec.containers.iter().enumerate() {
            for (j, port) in items(&ctr.ports).iter().enumerate() {
                let hp = port.host_port.unwrap_or(0);
                if (is_pod || hp != 0) && hp != port.container_port {
                    errs.push(FieldError::invalid(
                        &cpath.index(i).child("ports").index(j).child("hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }

    match restart_policy {
        "" | "Always" | "OnFailure" | "Never" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match s(&spec.dns_policy) {
        "" | "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(
        spec.node_selector.as_ref(),
        &path.child("nodeSelector"),
    ));
    errs.extend(validate_pod_security_context(
        spec,
        &path.child("securityContext"),
    ));
    errs.extend(validate_affinity(
        spec.affinity.as_ref(),
        &path.child("affinity"),
    ));
    errs.extend(validate_dns_config(spec, &path.child("dnsConfig")));
    for (i, g) in items(&spec.readiness_gates).iter().enumerate() {
        errs.extend(validate_qualified_name(
            &g.condition_type,
            &path.child("readinessGates").index(i).child("conditionType"),
        ));
    }
    let mut gates = BTreeSet::new();
    for (i, g) in items(&spec.scheduling_gates).iter().enumerate() {
        let p = path.child("schedulingGates").index(i);
        errs.extend(validate_qualified_name(&g.name, &p));
        if !gates.insert(g.name.as_str()) {
            errs.push(FieldError::duplicate(&p, g.name.as_str()));
        }
    }
    errs.extend(validate_topology_spread(
        items(&spec.topology_spread_constraints),
        &path.child("topologySpreadConstraints"),
    ));
    if spec.host_users == Some(false) {
        for (flag, field) in [
            (spec.host_network, "hostNetwork"),
            (spec.host_pid, "HostPID"),
            (spec.host_ipc, "HostIPC"),
        ] {
            if flag == Some(true) {
                errs.push(FieldError::forbidden(
                    &path.child(field),
                    "when `pod.Spec.HostUsers` is false",
                ));
            }
        }
    }
    for (field, value) in [
        ("serviceAccountName", &spec.service_account_name),
        ("nodeName", &spec.node_name),
    ] {
        let v = s(value);
        if !v.is_empty() {
            for m in is_dns1123_subdomain(v) {
                errs.push(FieldError::invalid(&path.child(field), v, &m));
            }
        }
    }
    if let Some(ads) = spec.active_deadline_seconds {
        if !(1..=MAX_INT32).contains(&ads) {
            errs.push(FieldError::invalid(
                &path.child("activeDeadlineSeconds"),
                ads,
                &inclusive_range_error(1, MAX_INT32),
            ));
        }
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        let v = s(value);
        if !v.is_empty() {
            errs.extend(validate_dns1123_label(v, &path.child(field)));
        }
    }
    errs.extend(validate_tolerations(
        items(&spec.tolerations),
        &path.child("tolerations"),
    ));
    for (i, ha) in items(&spec.host_aliases).iter().enumerate() {
        let p = path.child("hostAliases").index(i);
        if let Some(m) = ip_error(&ha.ip) {
            errs.push(FieldError::invalid(&p.child("ip"), ha.ip.as_str(), m));
        }
        for (j, h) in items(&ha.hostnames).iter().enumerate() {
            errs.extend(validate_dns1123_subdomain(
                h,
                &p.child("hostnames").index(j),
            ));
        }
    }
    for (field, value) in [
        ("priorityClassName", &spec.priority_class_name),
        ("runtimeClassName", &spec.runtime_class_name),
    ] {
        if let Some(v) = value {
            if field == "runtimeClassName" || !v.is_empty() {
                for m in is_dns1123_subdomain(v) {
                    errs.push(FieldError::invalid(&path.child(field), v.as_str(), &m));
                }
            }
        }
    }
    if let Some(pp) = &spec.preemption_policy {
        match pp.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(&path.child("preemptionPolicy"), "")),
            other => errs.push(FieldError::not_supported(
                &path.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(overhead) = &spec.overhead {
        let req = core::ResourceRequirements {
            limits: Some(overhead.clone()),
            ..Default::default()
        };
        errs.extend(validate_resource_requirements(
            &req,
            &BTreeSet::new(),
            &path.child("overhead"),
        ));
    }
    if let Some(os) = &spec.os {
        if os.name.is_empty() {
            errs.push(FieldError::required(
                &path.child("os").child("name"),
                "cannot be empty",
            ));
        } else if os.name != "linux" && os.name != "windows" {
            errs.push(FieldError::not_supported(
                &path.child("os"),
                os.name.as_str(),
                &["linux", "windows"],
            ));
        }
    }
    errs
}

/// Errors for a pod template (`spec.template` of a workload, `template` of a PodTemplate).
/// As in Kubernetes, template labels and annotations are reported at `<path>.labels` and
/// `<path>.annotations`.
pub fn validate_pod_template_spec(template: &core::PodTemplateSpec, path: &Path) -> ErrorList {
    let mut errs = Vec::new();
    let meta = template.metadata.as_ref();
    errs.extend(validate_labels(
        meta.and_then(|m| m.labels.as_ref()),
        &path.child("labels"),
    ));
    errs.extend(validate_annotations(
        meta.and_then(|m| m.annotations.as_ref()),
        &path.child("annotations"),
    ));
    let default_spec = core::PodSpec::default();
    let spec = template.spec.as_ref().unwrap_or(&default_spec);
    errs.extend(validate_pod_spec(
        spec,
        None,
        &path.child("spec"),
        SpecContext::Template,
    ));
    if !items(&spec.ephemeral_containers).is_empty() {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

fn validate_pod_metadata_and_spec(pod: &core::Pod) -> ErrorList {
    let spec_path = Path::new("spec");
    let mut errs = validate_object_meta(&pod.metadata, true, NameRule::Dns1123Subdomain);
    let annotations = pod.metadata.annotations.as_ref();
    let default_spec = core::PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    if let Some(mirror) = annotations.and_then(|a| a.get("kubernetes.io/config.mirror")) {
        if s(&spec.node_name).is_empty() {
            errs.push(FieldError::invalid(
                &Path::new("metadata")
                    .child("annotations")
                    .key("kubernetes.io/config.mirror"),
                mirror.as_str(),
                "must set spec.nodeName if mirror pod annotation is set",
            ));
        }
    }
    if let Some(cost) =
        annotations.and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
    {
        if cost.parse::<i32>().is_err() {
            errs.push(FieldError::invalid(
                &Path::new("metadata")
                    .child("annotations")
                    .key("controller.kubernetes.io/pod-deletion-cost"),
                cost.as_str(),
                "must be a 32bit integer",
            ));
        }
    }
    errs.extend(validate_pod_spec(
        spec,
        Some(&pod.metadata),
        &spec_path,
        SpecContext::Pod,
    ));
    if s(&spec.service_account_name).is_empty() {
        for (vi, v) in items(&spec.volumes).iter().enumerate() {
            if let Some(pr) = &v.projected {
                for (si, src) in items(&pr.sources).iter().enumerate() {
                    if src.service_account_token.is_some() {
                        errs.push(FieldError::forbidden(
                            &spec_path
                                .child("volumes")
                                .index(vi)
                                .child("projected")
                                .child("sources")
                                .index(si)
                                .child("serviceAccountToken"),
                            "must not be specified when serviceAccountName is not set",
                        ));
                    }
                }
            }
        }
    }
    for (field, list) in [
        ("containers", &spec.containers[..]),
        ("initContainers", items(&spec.init_containers)),
    ] {
        for (i, ctr) in list.iter().enumerate() {
            let image = s(&ctr.image);
            if image.len() != image.trim().len() {
                errs.push(FieldError::invalid(
                    &spec_path.child(field).index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    errs
}

/// Errors for a Pod on create.
pub fn validate_pod(pod: &core::Pod) -> ErrorList {
    let mut errs = validate_pod_metadata_and_spec(pod);
    let spec_path = Path::new("spec");
    if let Some(spec) = &pod.spec {
        if !items(&spec.ephemeral_containers).is_empty() {
            errs.push(FieldError::forbidden(
                &spec_path.child("ephemeralContainers"),
                "cannot be set on create",
            ));
        }
        if !s(&spec.node_name).is_empty() && !items(&spec.scheduling_gates).is_empty() {
            errs.push(FieldError::forbidden(
                &spec_path.child("nodeName"),
                "cannot be set until all schedulingGates have been cleared",
            ));
        }
    }
    errs
}

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn container_update_errors(
    new: &[core::Container],
    old: &[core::Container],
    path: &Path,
) -> (ErrorList, bool) {
    if new.len() != old.len() {
        return (
            vec![FieldError::forbidden(
                path,
                "pod updates may not add or remove containers",
            )],
            true,
        );
    }
    let mut errs = Vec::new();
    for (i, c) in new.iter().enumerate() {
        let image = s(&c.image);
        if image.is_empty() {
            errs.push(FieldError::required(&path.index(i).child("image"), ""));
        }
        if image.trim().len() != image.len() {
            errs.push(FieldError::invalid(
                &path.index(i).child("image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

fn toleration_matches_ignoring_seconds(old: &core::Toleration, new: &core::Toleration) -> bool {
    old.key == new.key
        && old.operator == new.operator
        && old.value == new.value
        && old.effect == new.effect
}

/// Drops null values and empty lists and maps so a field left out and a field given as `[]`
/// compare equal, as they do once Kubernetes has stored them.
fn prune(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(a) => {
            let items: Vec<Value> = a
                .into_iter()
                .map(|v| prune(v).unwrap_or(Value::Null))
                .collect();
            if items.is_empty() {
                None
            } else {
                Some(Value::Array(items))
            }
        }
        Value::Object(m) => {
            let map: serde_json::Map<String, Value> = m
                .into_iter()
                .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
                .collect();
            if map.is_empty() {
                None
            } else {
                Some(Value::Object(map))
            }
        }
        other => Some(other),
    }
}

fn diff_lines(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_lines(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    &p,
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_lines(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => {
            out.push(format!("- \t{path}: {a}"));
            out.push(format!("+ \t{path}: {b}"));
        }
        _ => {}
    }
}

/// Errors for a Pod update: valid new pod, and only images, active deadline, added
/// tolerations, removed scheduling gates (and, for gated pods, added node selectors) changed
/// in the spec.
pub fn validate_pod_update(new: &core::Pod, old: &core::Pod) -> ErrorList {
    let spec_path = Path::new("spec");
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata);
    errs.extend(validate_pod_metadata_and_spec(new));
    let ann_path = Path::new("metadata").child("annotations");
    let mirror = "kubernetes.io/config.mirror";
    let new_ann = new.metadata.annotations.clone().unwrap_or_default();
    let old_ann = old.metadata.annotations.clone().unwrap_or_default();
    match (old_ann.get(mirror), new_ann.get(mirror)) {
        (Some(o), n) if n != Some(o) => errs.push(FieldError::forbidden(
            &ann_path.key(mirror),
            "may not remove or update mirror pod annotation",
        )),
        (None, Some(_)) => errs.push(FieldError::forbidden(
            &ann_path.key(mirror),
            "may not add mirror pod annotation",
        )),
        _ => {}
    }
    let default_spec = core::PodSpec::default();
    let new_spec = new.spec.as_ref().unwrap_or(&default_spec);
    let old_spec = old.spec.as_ref().unwrap_or(&default_spec);

    let (e, stop) = container_update_errors(
        &new_spec.containers,
        &old_spec.containers,
        &spec_path.child("containers"),
    );
    errs.extend(e);
    if stop {
        return errs;
    }
    let (e, stop) = container_update_errors(
        items(&new_spec.init_containers),
        items(&old_spec.init_containers),
        &spec_path.child("initContainers"),
    );
    errs.extend(e);
    if stop {
        return errs;
    }
    let ads_path = spec_path.child("activeDeadlineSeconds");
    match (
        new_spec.active_deadline_seconds,
        old_spec.active_deadline_seconds,
    ) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            errs.push(FieldError::invalid(
                &ads_path,
                n,
                &inclusive_range_error(0, MAX_INT32),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                &ads_path,
                n,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            &ads_path,
            Value::Null,
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    let tol_path = spec_path.child("tolerations");
    let new_tol = items(&new_spec.tolerations);
    let all_kept = items(&old_spec.tolerations).iter().all(|o| {
        new_tol
            .iter()
            .any(|n| toleration_matches_ignoring_seconds(o, n))
    });
    if all_kept {
        errs.extend(validate_tolerations(new_tol, &tol_path));
    } else {
        errs.push(FieldError::forbidden(
            &tol_path,
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
    let old_gates: BTreeSet<&str> = items(&old_spec.scheduling_gates)
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    if !items(&new_spec.scheduling_gates).is_empty() {
        for (i, g) in items(&new_spec.scheduling_gates).iter().enumerate() {
            if !old_gates.contains(g.name.as_str()) {
                errs.push(FieldError::forbidden(
                    &spec_path.child("schedulingGates").index(i).child("name"),
                    &format!(
                        "only deletion is allowed, but found new scheduling gate '{}'",
                        g.name
                    ),
                ));
            }
        }
    }

    let mut munged = new_spec.clone();
    for (c, o) in munged.containers.iter_mut().zip(&old_spec.containers) {
        c.image = o.image.clone();
    }
    if let (Some(inits), Some(old_inits)) = (
        munged.init_containers.as_mut(),
        old_spec.init_containers.as_ref(),
    ) {
        for (c, o) in inits.iter_mut().zip(old_inits) {
            c.image = o.image.clone();
        }
    }
    munged.active_deadline_seconds = old_spec.active_deadline_seconds;
    munged.scheduling_gates = old_spec.scheduling_gates.clone();
    munged.tolerations = old_spec.tolerations.clone();
    if old_spec
        .termination_grace_period_seconds
        .is_some_and(|g| g < 0)
        && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = old_spec.termination_grace_period_seconds;
    }
    if !old_gates.is_empty() && munged.node_selector != old_spec.node_selector {
        let new_sel = munged.node_selector.clone().unwrap_or_default();
        let only_added = old_spec
            .node_selector
            .iter()
            .flatten()
            .all(|(k, v)| new_sel.get(k) == Some(v));
        if only_added {
            munged.node_selector = old_spec.node_selector.clone();
        } else {
            errs.push(FieldError::invalid(
                &spec_path.child("nodeSelector"),
                to_json(&new_spec.node_selector),
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            ));
            munged.node_selector = old_spec.node_selector.clone();
        }
    }
    let munged_json = prune(to_json(&munged)).unwrap_or(Value::Null);
    let old_json = prune(to_json(old_spec)).unwrap_or(Value::Null);
    if munged_json != old_json {
        let mut lines = Vec::new();
        diff_lines(&old_json, &munged_json, "", &mut lines);
        let diff = format!("  core.PodSpec{{\n{}\n  }}\n", lines.join("\n"));
        errs.push(FieldError::forbidden(
            &spec_path,
            &format!("pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{diff}"),
        ));
    }
    errs
}

/// Errors for a `cidr` field value, for callers outside the pod rules.
pub(crate) fn cidr_errors(value: &str, path: &Path) -> ErrorList {
    cidr_error(value)
        .map(|m| vec![FieldError::invalid(path, value, m)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{create, update, with};
    use serde_json::{json, Value};

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}
        })
    }

    fn pod_with_containers(containers: Value) -> Value {
        with(&pod(), json!({"spec": {"containers": containers}}))
    }

    const LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    #[test]
    fn pod_create_rules() {
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("valid", pod(), vec![]),
            ("no containers", with(&pod(), json!({"spec": {"containers": []}})), vec!["spec.containers: Required value".into()]),
            ("missing image", pod_with_containers(json!([{"name": "app"}])), vec!["spec.containers[0].image: Required value".into()]),
            ("missing name", pod_with_containers(json!([{"image": "nginx"}])), vec!["spec.containers[0].name: Required value".into()]),
            ("bad container name", pod_with_containers(json!([{"name": "App", "image": "nginx"}])), vec![format!("spec.containers[0].name: Invalid value: \"App\": {LABEL_ERR}")]),
            (
                "duplicate across init",
                with(&pod(), json!({"spec": {"initContainers": [{"name": "app", "image": "busybox"}]}})),
                vec!["spec.initContainers[0].name: Duplicate value: \"app\"".into()],
            ),
            (
                "duplicate containers",
                pod_with_containers(json!([{"name": "a", "image": "x"}, {"name": "a", "image": "x"}])),
                vec!["spec.containers[1].name: Duplicate value: \"a\"".into()],
            ),
            (
                "image whitespace",
                pod_with_containers(json!([{"name": "app", "image": " nginx"}])),
                vec!["spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace".into()],
            ),
            (
                "ports",
                pod_with_containers(json!([{"name": "app", "image": "x", "ports": [
                    {"containerPort": 0},
                    {"containerPort": 70000, "protocol": "ICMP"},
                    {"name": "http", "containerPort": 80},
                    {"name": "http", "containerPort": 81},
                    {"name": "HTTP", "containerPort": 82}
                ]}])),
                vec![
                    "spec.containers[0].ports[0].containerPort: Required value".into(),
                    "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".into(),
                    "spec.containers[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"".into(),
                    "spec.containers[0].ports[3].name: Duplicate value: \"http\"".into(),
                    "spec.containers[0].ports[4].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into(),
                    "spec.containers[0].ports[4].name: Invalid value: \"HTTP\": must contain at least one letter (a-z)".into(),
                ],
            ),
            (
                "env",
                pod_with_containers(json!([{"name": "app", "image": "x", "env": [
                    {"name": "OK_NAME", "value": "1"},
                    {"name": ""},
                    {"name": "A=B"},
                    {"name": "C", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}
                ]}])),
                vec![
                    "spec.containers[0].env[1].name: Required value".into(),
                    "spec.containers[0].env[2].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='".into(),
                    "spec.containers[0].env[3].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty".into(),
                    "spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.bogus\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"".into(),
                ],
            ),
            (
                "volumes and mounts",
                with(&pod(), json!({"spec": {
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}, {"name": "none"}],
                    "containers": [{"name": "app", "image": "x", "volumeMounts": [
                        {"name": "data", "mountPath": "/data"},
                        {"name": "missing", "mountPath": "/data"}
                    ]}]
                }})),
                vec![
                    "spec.volumes[1].name: Duplicate value: \"data\"".into(),
                    "spec.volumes[2]: Required value: must specify a volume type".into(),
                    "spec.containers[0].volumeMounts[1].name: Not found: \"missing\"".into(),
                    "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/data\": must be unique".into(),
                ],
            ),
            (
                "two volume sources",
                with(&pod(), json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]}})),
                vec!["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type".into()],
            ),
            (
                "policies",
                with(&pod(), json!({"spec": {"restartPolicy": "Sometimes", "dnsPolicy": "Weird"}})),
                vec![
                    "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".into(),
                    "spec.dnsPolicy: Unsupported value: \"Weird\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"".into(),
                ],
            ),
            (
                "resources",
                pod_with_containers(json!([{"name": "app", "image": "x", "resources": {
                    "requests": {"cpu": "2", "memory": "-1"},
                    "limits": {"cpu": "1", "bogus": "1"}
                }}])),
                vec![
                    "spec.containers[0].resources.limits[bogus]: Invalid value: \"bogus\": must be a standard resource type or fully qualified".into(),
                    "spec.containers[0].resources.limits[bogus]: Invalid value: \"bogus\": must be a standard resource for containers".into(),
                    "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1".into(),
                    "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0".into(),
                ],
            ),
            (
                "extended resources",
                pod_with_containers(json!([{"name": "app", "image": "x", "resources": {
                    "requests": {"example.com/gpu": "1"}
                }}])),
                vec!["spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources".into()],
            ),
            (
                "probes",
                pod_with_containers(json!([{"name": "app", "image": "x",
                    "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 0}},
                    "readinessProbe": {},
                    "startupProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": -1}
                }])),
                vec![
                    "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive".into(),
                    "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1".into(),
                    "spec.containers[0].readinessProbe: Required value: must specify a handler type".into(),
                    "spec.containers[0].startupProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0".into(),
                ],
            ),
            (
                "scheduling fields",
                with(&pod(), json!({"spec": {
                    "nodeName": "Node_1", "hostname": "a.b", "activeDeadlineSeconds": 0,
                    "tolerations": [{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v"}, {"key": "k", "effect": "Sometimes"}]
                }})),
                vec![
                    "spec.nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
                    "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive".into(),
                    "spec.hostname: Invalid value: \"a.b\": must not contain dots".into(),
                    "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"".into(),
                    "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'".into(),
                    "spec.tolerations[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"".into(),
                ],
            ),
            (
                "ephemeral containers on create",
                with(&pod(), json!({"spec": {"ephemeralContainers": [{"name": "debug", "image": "busybox"}]}})),
                vec!["spec.ephemeralContainers: Forbidden: cannot be set on create".into()],
            ),
            (
                "metadata",
                with(&pod(), json!({"metadata": {"name": "Bad_Name", "namespace": null}})),
                vec![
                    "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
                    "metadata.namespace: Required value".into(),
                ],
            ),
        ];
        for (name, obj, want) in cases {
            assert_eq!(create("", "Pod", &obj), want, "{name}");
        }
    }

    #[test]
    fn pod_update_rules() {
        let old = with(
            &pod(),
            json!({"metadata": {"resourceVersion": "1"}, "spec": {"activeDeadlineSeconds": 30}}),
        );
        let forbidden_prefix = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";
        let cases: Vec<(&str, Value, Vec<String>)> = vec![
            ("unchanged", old.clone(), vec![]),
            ("new image", with(&old, json!({"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}})), vec![]),
            ("shorter deadline", with(&old, json!({"spec": {"activeDeadlineSeconds": 10}})), vec![]),
            ("added toleration", with(&old, json!({"spec": {"tolerations": [{"operator": "Exists"}]}})), vec![]),
            (
                "longer deadline",
                with(&old, json!({"spec": {"activeDeadlineSeconds": 60}})),
                vec!["spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value".into()],
            ),
            (
                "added container",
                with(&old, json!({"spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "b", "image": "x"}]}})),
                vec!["spec.containers: Forbidden: pod updates may not add or remove containers".into()],
            ),
            (
                "renamed namespace",
                with(&old, json!({"metadata": {"namespace": "other"}})),
                vec!["metadata.namespace: Invalid value: \"other\": field is immutable".into()],
            ),
        ];
        for (name, new, want) in cases {
            assert_eq!(update("", "Pod", &new, &old), want, "{name}");
        }
        let changed = with(&old, json!({"spec": {"nodeName": "n1"}}));
        let errs = update("", "Pod", &changed, &old);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with(forbidden_prefix), "{}", errs[0]);
        assert!(errs[0].contains("nodeName"), "{}", errs[0]);
    }

    #[test]
    fn pod_templates_in_workloads_skip_pod_only_rules() {
        let pt = json!({
            "metadata": {"name": "t", "namespace": "default"},
            "template": {"metadata": {"labels": {"a": "b c"}}, "spec": {"containers": [{"name": "app", "image": " x"}]}}
        });
        assert_eq!(
            create("", "PodTemplate", &pt),
            vec!["template.labels: Invalid value: \"b c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_owned()]
        );
    }
}
