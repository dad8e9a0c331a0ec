//! The CRI container configuration built from a pod's container: command and arguments with
//! `$(VAR)` expansion, environment, mounts, resources as Linux cgroup settings and the
//! security context. Pure.

use super::env::expand;
use super::naming;
use berth_api_types::k8s::api::core::v1::{Container, Pod, ResourceRequirements};
use berth_api_types::validation::quantity::Quantity;
use k8s_cri::v1::{
    security_profile::ProfileType, Capability, ContainerConfig, ContainerMetadata, ImageSpec,
    Int64Value, KeyValue, LinuxContainerConfig, LinuxContainerResources,
    LinuxContainerSecurityContext, Mount, SecurityProfile,
};
use std::collections::HashMap;

/// CPU period of the CFS quota, in microseconds.
const CPU_PERIOD: i64 = 100_000;

/// The user an image runs as, from CRI `ImageStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageUser {
    /// A numeric uid.
    pub uid: Option<i64>,
    /// A user name, when the image names one.
    pub username: String,
}

/// Everything besides the pod that goes into one container's configuration.
#[derive(Debug, Clone, Default)]
pub struct ContainerInputs {
    /// The restart attempt (0 for the first start).
    pub attempt: u32,
    /// The resolved environment.
    pub env: Vec<(String, String)>,
    /// Volume and termination-message mounts.
    pub mounts: Vec<Mount>,
    /// The image's user.
    pub image_user: ImageUser,
    /// Host path of the termination message file.
    pub termination_message_file: String,
    /// Whether this is an init container.
    pub init: bool,
    /// The node's memory capacity in bytes, for the OOM score.
    pub memory_capacity: i64,
}

fn amount(r: Option<&ResourceRequirements>, list: &str, name: &str, milli: bool) -> Option<i64> {
    let r = r?;
    let map = if list == "limits" {
        r.limits.as_ref()
    } else {
        r.requests.as_ref()
    }?;
    let q = Quantity::parse(&map.get(name)?.0)?;
    Some(if milli { q.milli_value() } else { q.value() })
}

/// Limits and requests as cgroup settings: shares from the CPU request, a CFS quota from the
/// CPU limit, the memory limit, and the OOM score of the pod's QoS class.
pub fn linux_resources(c: &Container, qos: &str, memory_capacity: i64) -> LinuxContainerResources {
    let r = c.resources.as_ref();
    let cpu_request = amount(r, "requests", "cpu", true).or(amount(r, "limits", "cpu", true));
    let cpu_limit = amount(r, "limits", "cpu", true);
    let memory_limit = amount(r, "limits", "memory", false).unwrap_or(0);
    let memory_request =
        amount(r, "requests", "memory", false).or(amount(r, "limits", "memory", false));
    let shares = match cpu_request {
        Some(m) if m > 0 => (m * 1024 / 1000).max(2),
        _ => 2,
    };
    let quota = cpu_limit
        .map(|m| (m * CPU_PERIOD / 1000).max(1000))
        .unwrap_or(0);
    let oom_score_adj = match qos {
        "Guaranteed" => -997,
        "BestEffort" => 1000,
        _ => {
            let req = memory_request.unwrap_or(0);
            let adj = if memory_capacity > 0 {
                1000 - 1000 * req / memory_capacity
            } else {
                1000
            };
            adj.clamp(2, 999)
        }
    };
    LinuxContainerResources {
        cpu_period: if quota > 0 { CPU_PERIOD } else { 0 },
        cpu_quota: quota,
        cpu_shares: shares,
        memory_limit_in_bytes: memory_limit,
        oom_score_adj,
        ..LinuxContainerResources::default()
    }
}

/// The container's security settings, its own overriding the pod's. Fails the way upstream
/// does when `runAsNonRoot` cannot be honoured.
pub fn security_context(
    pod: &Pod,
    c: &Container,
    image_user: &ImageUser,
) -> Result<LinuxContainerSecurityContext, String> {
    let psc = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let run_as_user = sc.run_as_user.or(psc.run_as_user);
    let run_as_group = sc.run_as_group.or(psc.run_as_group);
    let non_root = sc.run_as_non_root.or(psc.run_as_non_root).unwrap_or(false);
    let (ns, name, _) = naming::pod_ids(pod);
    if non_root {
        match run_as_user {
            Some(0) => {
                return Err(format!(
                    "container's runAsUser breaks non-root policy (pod: \"{name}_{ns}\", container: {})",
                    c.name
                ))
            }
            Some(_) => {}
            None => match (image_user.uid, image_user.username.as_str()) {
                (Some(0), _) | (None, "") | (None, "root") => {
                    return Err(format!(
                        "container has runAsNonRoot and image will run as root (pod: \"{name}_{ns}\", container: {})",
                        c.name
                    ))
                }
                (None, user) => {
                    return Err(format!(
                        "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: \"{name}_{ns}\", container: {})",
                        c.name
                    ))
                }
                _ => {}
            },
        }
    }
    let privileged = sc.privileged.unwrap_or(false);
    let caps = sc.capabilities.clone().unwrap_or_default();
    let seccomp = sc
        .seccomp_profile
        .clone()
        .or(psc.seccomp_profile.clone())
        .map(|p| match p.type_.as_str() {
            "RuntimeDefault" => SecurityProfile {
                profile_type: ProfileType::RuntimeDefault as i32,
                localhost_ref: String::new(),
            },
            "Localhost" => SecurityProfile {
                profile_type: ProfileType::Localhost as i32,
                localhost_ref: p.localhost_profile.unwrap_or_default(),
            },
            _ => SecurityProfile {
                profile_type: ProfileType::Unconfined as i32,
                localhost_ref: String::new(),
            },
        })
        .unwrap_or(SecurityProfile {
            profile_type: ProfileType::Unconfined as i32,
            localhost_ref: String::new(),
        });
    Ok(LinuxContainerSecurityContext {
        capabilities: Some(Capability {
            add_capabilities: caps.add.unwrap_or_default(),
            drop_capabilities: caps.drop.unwrap_or_default(),
            add_ambient_capabilities: Vec::new(),
        }),
        privileged,
        run_as_user: run_as_user.map(|value| Int64Value { value }),
        run_as_group: run_as_group.map(|value| Int64Value { value }),
        readonly_rootfs: sc.read_only_root_filesystem.unwrap_or(false),
        supplemental_groups: psc.supplemental_groups.clone().unwrap_or_default(),
        no_new_privs: !privileged && sc.allow_privilege_escalation == Some(false),
        seccomp: Some(seccomp),
        ..LinuxContainerSecurityContext::default()
    })
}

/// The whole configuration of one start of `c`.
pub fn container_config(
    pod: &Pod,
    c: &Container,
    qos: &str,
    inputs: &ContainerInputs,
) -> Result<ContainerConfig, String> {
    let vars: HashMap<&str, &str> = inputs
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let lookup = |n: &str| vars.get(n).map(|v| v.to_string());
    let expand_all = |list: &Option<Vec<String>>| -> Vec<String> {
        list.iter().flatten().map(|s| expand(s, &lookup)).collect()
    };
    let mut annotations = HashMap::from([
        (
            naming::TERMINATION_MESSAGE_ANNOTATION.to_string(),
            inputs.termination_message_file.clone(),
        ),
        (naming::INIT_ANNOTATION.to_string(), inputs.init.to_string()),
    ]);
    annotations.insert(
        "io.kubernetes.container.restartCount".to_string(),
        inputs.attempt.to_string(),
    );
    let image = c.image.clone().unwrap_or_default();
    Ok(ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: c.name.clone(),
            attempt: inputs.attempt,
        }),
        image: Some(ImageSpec {
            image: image.clone(),
            user_specified_image: image,
            ..ImageSpec::default()
        }),
        command: expand_all(&c.command),
        args: expand_all(&c.args),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        envs: inputs
            .env
            .iter()
            .map(|(key, value)| KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        mounts: inputs.mounts.clone(),
        labels: naming::container_labels(pod, &c.name),
        annotations,
        log_path: naming::container_log_path(&c.name, inputs.attempt),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        tty: c.tty.unwrap_or(false),
        linux: Some(LinuxContainerConfig {
            resources: Some(linux_resources(c, qos, inputs.memory_capacity)),
            security_context: Some(security_context(pod, c, &inputs.image_user)?),
        }),
        ..ContainerConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(container: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [container]}
        }))
        .unwrap()
    }

    #[test]
    fn resources_become_cgroup_settings() {
        let p = pod(serde_json::json!({"name": "c", "image": "busybox",
            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "32Mi"}}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let r = linux_resources(c, "Burstable", 1 << 30);
        assert_eq!(r.cpu_shares, 256);
        assert_eq!((r.cpu_quota, r.cpu_period), (50_000, 100_000));
        assert_eq!(r.memory_limit_in_bytes, 64 << 20);
        assert_eq!(r.oom_score_adj, 1000 - 1000 * (32 << 20) / (1 << 30));
        let none = linux_resources(c, "BestEffort", 1 << 30);
        assert_eq!(none.oom_score_adj, 1000);
    }

    #[test]
    fn command_args_env_and_metadata() {
        let p = pod(serde_json::json!({"name": "c", "image": "busybox",
            "command": ["sh", "-c"], "args": ["echo $(GREETING)"], "workingDir": "/tmp"}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let inputs = ContainerInputs {
            attempt: 2,
            env: vec![("GREETING".into(), "hi".into())],
            ..ContainerInputs::default()
        };
        let cfg = container_config(&p, c, "BestEffort", &inputs).unwrap();
        assert_eq!(cfg.args, vec!["echo hi"]);
        assert_eq!(cfg.command, vec!["sh", "-c"]);
        assert_eq!(cfg.working_dir, "/tmp");
        assert_eq!(cfg.log_path, "c/2.log");
        assert_eq!(cfg.metadata.unwrap().attempt, 2);
        assert_eq!(cfg.labels[naming::CONTAINER_NAME_LABEL], "c");
        let sc = cfg.linux.unwrap().security_context.unwrap();
        assert_eq!(
            sc.seccomp.unwrap().profile_type,
            ProfileType::Unconfined as i32
        );
    }

    #[test]
    fn security_context_fields_and_non_root_checks() {
        let p = pod(serde_json::json!({"name": "c", "image": "busybox",
            "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "readOnlyRootFilesystem": true,
                "allowPrivilegeEscalation": false, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let sc = security_context(&p, c, &ImageUser::default()).unwrap();
        assert_eq!(sc.run_as_user.unwrap().value, 1000);
        assert_eq!(sc.run_as_group.unwrap().value, 3000);
        assert!(sc.readonly_rootfs && sc.no_new_privs && !sc.privileged);
        let caps = sc.capabilities.unwrap();
        assert_eq!(caps.add_capabilities, vec!["NET_ADMIN"]);
        assert_eq!(caps.drop_capabilities, vec!["ALL"]);

        let p = pod(serde_json::json!({"name": "c", "image": "busybox",
            "securityContext": {"runAsNonRoot": true}}));
        let c = &p.spec.as_ref().unwrap().containers[0];
        let err = security_context(&p, c, &ImageUser::default()).unwrap_err();
        assert!(err.starts_with("container has runAsNonRoot and image will run as root"));
        let ok = ImageUser {
            uid: Some(1000),
            username: String::new(),
        };
        assert!(security_context(&p, c, &ok).is_ok());
    }
}
