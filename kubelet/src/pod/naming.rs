//! Every name the kubelet generates for a pod: runtime labels and annotations, the cgroup
//! parent, log and volume paths. One function each, so that the code that creates a thing
//! and the code that finds it again (adoption, cleanup) cannot disagree.

use berth_api_types::k8s::api::core::v1::Pod;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Label with the pod's name, on sandboxes and containers.
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
/// Label with the pod's namespace.
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// Label with the pod's uid: what a restarted kubelet adopts sandboxes and containers by.
pub const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
/// Label with the container's name.
pub const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";
/// Label marking what this kubelet created, so it never touches anything else.
pub const MANAGED_LABEL: &str = "berth.io/managed-by";
/// The value of [`MANAGED_LABEL`].
pub const MANAGED_VALUE: &str = "berth-kubelet";
/// Annotation with the host path of the container's termination message file.
pub const TERMINATION_MESSAGE_ANNOTATION: &str = "berth.io/termination-message-file";
/// Annotation saying whether the container is an init container.
pub const INIT_ANNOTATION: &str = "berth.io/init-container";

/// The pod's namespace, name and uid.
pub fn pod_ids(pod: &Pod) -> (&str, &str, &str) {
    (
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or(""),
    )
}

/// `namespace/name`, for logs and errors.
pub fn pod_key(pod: &Pod) -> String {
    let (ns, name, _) = pod_ids(pod);
    format!("{ns}/{name}")
}

/// Labels of the pod's sandbox.
pub fn sandbox_labels(pod: &Pod) -> HashMap<String, String> {
    let (ns, name, uid) = pod_ids(pod);
    HashMap::from([
        (POD_NAME_LABEL.to_string(), name.to_string()),
        (POD_NAMESPACE_LABEL.to_string(), ns.to_string()),
        (POD_UID_LABEL.to_string(), uid.to_string()),
        (MANAGED_LABEL.to_string(), MANAGED_VALUE.to_string()),
    ])
}

/// Labels of one of the pod's containers.
pub fn container_labels(pod: &Pod, container: &str) -> HashMap<String, String> {
    let mut labels = sandbox_labels(pod);
    labels.insert(CONTAINER_NAME_LABEL.to_string(), container.to_string());
    labels
}

/// The label selector that finds everything this kubelet made for the pod `uid`.
pub fn uid_selector(uid: &str) -> HashMap<String, String> {
    HashMap::from([(POD_UID_LABEL.to_string(), uid.to_string())])
}

/// The label selector that finds everything this kubelet made.
pub fn managed_selector() -> HashMap<String, String> {
    HashMap::from([(MANAGED_LABEL.to_string(), MANAGED_VALUE.to_string())])
}

/// The cgroup of a pod of QoS class `qos`, under `cgroup_root` (cgroupfs path style):
/// Guaranteed pods sit directly under `kubepods`, the others under a directory per class.
pub fn cgroup_parent(cgroup_root: &str, qos: &str, uid: &str) -> String {
    let root = cgroup_root.trim_end_matches('/');
    match qos {
        "Guaranteed" => format!("{root}/kubepods/pod{uid}"),
        "Burstable" => format!("{root}/kubepods/burstable/pod{uid}"),
        _ => format!("{root}/kubepods/besteffort/pod{uid}"),
    }
}

/// The pod's log directory: `<logs>/<namespace>_<name>_<uid>`.
pub fn log_dir(logs_root: &Path, pod: &Pod) -> PathBuf {
    let (ns, name, uid) = pod_ids(pod);
    logs_root.join(format!("{ns}_{name}_{uid}"))
}

/// The uid part of a pod log directory name, for cleanup.
pub fn uid_of_log_dir(dir_name: &str) -> Option<&str> {
    dir_name.rsplit('_').next().filter(|u| !u.is_empty())
}

/// A container's log file, relative to the pod's log directory.
pub fn container_log_path(container: &str, attempt: u32) -> String {
    format!("{container}/{attempt}.log")
}

/// The pod's own directory under the kubelet root: volumes and termination messages.
pub fn pod_dir(root: &Path, uid: &str) -> PathBuf {
    root.join("pods").join(uid)
}

/// Where the volume `name` of kind `plugin` (`empty-dir`, `configmap`, ...) lives.
pub fn volume_dir(root: &Path, uid: &str, plugin: &str, name: &str) -> PathBuf {
    pod_dir(root, uid)
        .join("volumes")
        .join(format!("kubernetes.io~{plugin}"))
        .join(name)
}

/// The host file bind-mounted at a container's `terminationMessagePath`.
pub fn termination_message_file(root: &Path, uid: &str, container: &str, attempt: u32) -> PathBuf {
    pod_dir(root, uid)
        .join("containers")
        .join(container)
        .join(format!("termination-{attempt}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_parents_follow_the_qos_class() {
        assert_eq!(cgroup_parent("/", "Guaranteed", "u"), "/kubepods/podu");
        assert_eq!(
            cgroup_parent("/berth-t3", "Burstable", "u"),
            "/berth-t3/kubepods/burstable/podu"
        );
        assert_eq!(
            cgroup_parent("", "BestEffort", "u"),
            "/kubepods/besteffort/podu"
        );
    }

    #[test]
    fn log_dirs_name_the_pod_and_give_back_its_uid() {
        let mut pod = Pod::default();
        pod.metadata.namespace = Some("ns".into());
        pod.metadata.name = Some("web_1".into());
        pod.metadata.uid = Some("1234".into());
        let d = log_dir(Path::new("/logs"), &pod);
        assert_eq!(d, Path::new("/logs/ns_web_1_1234"));
        assert_eq!(uid_of_log_dir("ns_web_1_1234"), Some("1234"));
        assert_eq!(container_log_path("c", 2), "c/2.log");
    }
}
