//! Defaults for pods, pod templates and everything nested in a pod spec.
//!
//! The pod spec defaults apply wherever a pod spec appears: in pods, pod templates,
//! replication controllers and every workload of the apps and batch groups. A few defaults
//! apply to pods only and never to templates, as in Kubernetes: `enableServiceLinks`,
//! requests copied from limits, and host ports for host-network pods. Keeping them out of
//! templates means a workload's stored template is what the user wrote plus the shared
//! defaults, so `kubectl apply` does not see spurious differences.

use std::collections::BTreeMap;

use super::quantity::canonicalize_resource_list;
use super::volume::default_volume;
use super::{default_absent, default_number, default_string, image, is_unset};
use crate::k8s::api::core::v1::{
    Container, ContainerPort, EnvVar, EphemeralContainer, HTTPGetAction, Lifecycle, Pod,
    PodSecurityContext, PodSpec, PodStatus, PodTemplate, PodTemplateSpec, Probe,
    ReplicationController, ResourceRequirements,
};
use crate::k8s::apimachinery::pkg::api::resource::Quantity;

/// Where a container's termination message is read from, when the pod does not say.
const TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// Grace period a pod gets on deletion, when it does not say.
const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

/// Defaults a pod: the pod-only defaults, then those of its spec.
pub fn default_pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    for container in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if let Some(resources) = &mut container.resources {
            copy_limits_to_requests(resources);
        }
    }
    default_absent(&mut spec.enable_service_links, true);
    if spec.host_network == Some(true) {
        for container in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            for port in container.ports.iter_mut().flatten() {
                default_host_port(port);
            }
        }
    }
    default_pod_spec(spec);
    if let Some(status) = &mut pod.status {
        canonicalize_pod_status(status);
    }
}

/// Defaults a pod spec and everything in it: volumes, containers, probes, ports.
///
/// This is what every pod template gets; [`default_pod`] adds the pod-only defaults.
pub fn default_pod_spec(spec: &mut PodSpec) {
    default_string(&mut spec.dns_policy, "ClusterFirst");
    default_string(&mut spec.restart_policy, "Always");
    default_absent(&mut spec.security_context, PodSecurityContext::default());
    default_absent(
        &mut spec.termination_grace_period_seconds,
        TERMINATION_GRACE_PERIOD_SECONDS,
    );
    default_string(&mut spec.scheduler_name, "default-scheduler");
    for volume in spec.volumes.iter_mut().flatten() {
        default_volume(volume);
    }
    for container in spec.init_containers.iter_mut().flatten() {
        default_container(container);
    }
    for container in &mut spec.containers {
        default_container(container);
    }
    for container in spec.ephemeral_containers.iter_mut().flatten() {
        default_ephemeral_container(container);
    }
    canonicalize_resource_list(&mut spec.overhead);
    if let Some(resources) = &mut spec.resources {
        canonicalize_resource_list(&mut resources.limits);
        canonicalize_resource_list(&mut resources.requests);
    }
}

/// Defaults a pod template spec, creating its spec when it has none.
pub fn default_pod_template_spec(template: &mut PodTemplateSpec) {
    default_pod_spec(template.spec.get_or_insert_with(Default::default));
}

/// Defaults a PodTemplate object.
pub fn default_pod_template(template: &mut PodTemplate) {
    default_pod_template_spec(template.template.get_or_insert_with(Default::default));
}

/// Defaults a replication controller: replicas, selector and labels taken from its
/// template's labels when it has none, and the template's pod spec.
pub fn default_replication_controller(controller: &mut ReplicationController) {
    let spec = controller.spec.get_or_insert_with(Default::default);
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|template| template.metadata.as_ref())
        .and_then(|metadata| metadata.labels.as_ref())
        .filter(|labels| !labels.is_empty());
    if let Some(labels) = template_labels {
        if spec.selector.as_ref().is_none_or(BTreeMap::is_empty) {
            spec.selector = Some(labels.clone());
        }
        if controller
            .metadata
            .labels
            .as_ref()
            .is_none_or(BTreeMap::is_empty)
        {
            controller.metadata.labels = Some(labels.clone());
        }
    }
    default_absent(&mut spec.replicas, 1);
    if let Some(template) = &mut spec.template {
        default_pod_template_spec(template);
    }
}

/// The fields [`Container`] and [`EphemeralContainer`] share, defaulted the same way.
macro_rules! default_container_fields {
    ($container:expr) => {{
        let container = $container;
        if is_unset(&container.image_pull_policy) {
            let image = container.image.as_deref().unwrap_or_default();
            container.image_pull_policy = Some(image::default_pull_policy(image).to_owned());
        }
        default_string(
            &mut container.termination_message_path,
            TERMINATION_MESSAGE_PATH,
        );
        default_string(&mut container.termination_message_policy, "File");
        for port in container.ports.iter_mut().flatten() {
            default_string(&mut port.protocol, "TCP");
        }
        for var in container.env.iter_mut().flatten() {
            default_env_var(var);
        }
        // Kubernetes always writes a container's resources, as `{}` when empty.
        let resources = container.resources.get_or_insert_with(Default::default);
        canonicalize_resource_list(&mut resources.limits);
        canonicalize_resource_list(&mut resources.requests);
        for probe in [
            &mut container.liveness_probe,
            &mut container.readiness_probe,
            &mut container.startup_probe,
        ] {
            if let Some(probe) = probe {
                default_probe(probe);
            }
        }
        if let Some(lifecycle) = &mut container.lifecycle {
            default_lifecycle(lifecycle);
        }
    }};
}

/// Defaults a container of a pod spec (regular or init).
pub fn default_container(container: &mut Container) {
    default_container_fields!(container);
}

/// Defaults an ephemeral (debug) container exactly like a regular one.
pub fn default_ephemeral_container(container: &mut EphemeralContainer) {
    default_container_fields!(container);
}

/// Defaults a liveness, readiness or startup probe and its HTTP or gRPC action.
pub fn default_probe(probe: &mut Probe) {
    default_number(&mut probe.timeout_seconds, 1);
    default_number(&mut probe.period_seconds, 10);
    default_number(&mut probe.success_threshold, 1);
    default_number(&mut probe.failure_threshold, 3);
    if let Some(action) = &mut probe.http_get {
        default_http_get(action);
    }
    if let Some(action) = &mut probe.grpc {
        default_absent(&mut action.service, String::new());
    }
}

fn default_lifecycle(lifecycle: &mut Lifecycle) {
    for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop]
        .into_iter()
        .flatten()
    {
        if let Some(action) = &mut handler.http_get {
            default_http_get(action);
        }
    }
}

fn default_http_get(action: &mut HTTPGetAction) {
    default_string(&mut action.path, "/");
    default_string(&mut action.scheme, "HTTP");
}

fn default_env_var(var: &mut EnvVar) {
    let field_ref = var
        .value_from
        .as_mut()
        .and_then(|source| source.field_ref.as_mut());
    if let Some(selector) = field_ref {
        default_string(&mut selector.api_version, "v1");
    }
}

/// A host-network pod listens on the host, so each container port is also its host port.
fn default_host_port(port: &mut ContainerPort) {
    if port.host_port.is_none_or(|host_port| host_port == 0) {
        port.host_port = Some(port.container_port);
    }
}

/// A pod's containers request what they are limited to unless they say otherwise.
fn copy_limits_to_requests(resources: &mut ResourceRequirements) {
    let Some(limits) = &resources.limits else {
        return;
    };
    let missing: Vec<(String, Quantity)> = limits
        .iter()
        .filter(|(name, _)| {
            resources
                .requests
                .as_ref()
                .is_none_or(|requests| !requests.contains_key(*name))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if !missing.is_empty() {
        resources
            .requests
            .get_or_insert_with(BTreeMap::new)
            .extend(missing);
    }
}

fn canonicalize_pod_status(status: &mut PodStatus) {
    let statuses = [
        &mut status.init_container_statuses,
        &mut status.container_statuses,
        &mut status.ephemeral_container_statuses,
    ];
    for container in statuses.into_iter().flatten().flatten() {
        canonicalize_resource_list(&mut container.allocated_resources);
        if let Some(resources) = &mut container.resources {
            canonicalize_resource_list(&mut resources.limits);
            canonicalize_resource_list(&mut resources.requests);
        }
    }
}
