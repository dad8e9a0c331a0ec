//! A pod's status from what the runtime shows: phase, conditions, addresses and container
//! statuses, written the way upstream writes them. Pure: the worker gathers
//! [`Observation`]s and decides the waiting reasons; this module only renders.

use berth_api_types::k8s::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::Time;
use berth_api_types::k8s::jiff::Timestamp;
use std::collections::HashMap;

/// The state of one container start as the runtime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited,
    /// The runtime does not know.
    Unknown,
}

/// One start of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerObs {
    /// The runtime's container id.
    pub id: String,
    /// The restart attempt.
    pub attempt: u32,
    /// Its state.
    pub state: RunState,
    /// Start time, nanoseconds since the epoch (0 if not started).
    pub started_at: i64,
    /// Exit time, nanoseconds since the epoch (0 if still running).
    pub finished_at: i64,
    /// Exit code.
    pub exit_code: i32,
    /// The runtime's reason (`Completed`, `Error`, `OOMKilled`).
    pub reason: String,
    /// The termination message.
    pub message: String,
    /// The image's id in the runtime.
    pub image_ref: String,
}

/// What the worker saw of the pod in the runtime.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Whether a sandbox is ready, and its addresses.
    pub sandbox_ready: bool,
    /// The pod's addresses, primary first.
    pub pod_ips: Vec<String>,
    /// Starts of each container by name, newest first.
    pub containers: HashMap<String, Vec<ContainerObs>>,
    /// Why a container that is not running waits: (reason, message), from the worker.
    pub waiting: HashMap<String, (String, String)>,
    /// Container names that are ready (running and passing any readiness check).
    pub ready: Vec<String>,
    /// Running containers whose startup probe has not succeeded yet.
    pub unstarted: Vec<String>,
}

/// `<runtime>://<id>`.
pub fn container_id(runtime: &str, id: &str) -> String {
    format!("{runtime}://{id}")
}

fn time_of(nanos: i64) -> Option<Time> {
    if nanos <= 0 {
        return None;
    }
    Timestamp::from_nanosecond(i128::from(nanos)).ok().map(Time)
}

fn terminated(runtime: &str, c: &ContainerObs) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: c.exit_code,
            reason: Some(if c.reason.is_empty() {
                if c.exit_code == 0 {
                    "Completed"
                } else {
                    "Error"
                }
                .to_string()
            } else {
                c.reason.clone()
            }),
            message: Some(c.message.clone()).filter(|m| !m.is_empty()),
            started_at: time_of(c.started_at),
            finished_at: time_of(c.finished_at),
            container_id: Some(container_id(runtime, &c.id)),
            signal: None,
        }),
        ..ContainerState::default()
    }
}

fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message: Some(message.to_string()).filter(|m| !m.is_empty()),
        }),
        ..ContainerState::default()
    }
}

/// One container's status.
pub fn container_status(
    runtime: &str,
    name: &str,
    image: &str,
    obs: &Observation,
    default_waiting: &str,
) -> ContainerStatus {
    let starts = obs.containers.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let latest = starts.first();
    let previous = starts.get(1);
    let waiting_reason = obs.waiting.get(name);
    let (state, last) = match (latest, waiting_reason) {
        (Some(l), Some((reason, message))) if l.state == RunState::Exited => {
            (waiting(reason, message), Some(terminated(runtime, l)))
        }
        (Some(l), _) => {
            let state = match l.state {
                RunState::Running => ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: time_of(l.started_at),
                    }),
                    ..ContainerState::default()
                },
                RunState::Exited => terminated(runtime, l),
                RunState::Created | RunState::Unknown => waiting("ContainerCreating", ""),
            };
            (state, previous.map(|p| terminated(runtime, p)))
        }
        (None, Some((reason, message))) => (waiting(reason, message), None),
        (None, None) => (waiting(default_waiting, ""), None),
    };
    let running = latest.is_some_and(|l| l.state == RunState::Running);
    ContainerStatus {
        name: name.to_string(),
        state: Some(state),
        last_state: Some(last.unwrap_or_default()),
        ready: running && obs.ready.iter().any(|r| r == name),
        restart_count: latest.map(|l| l.attempt as i32).unwrap_or(0),
        image: image.to_string(),
        image_id: latest.map(|l| l.image_ref.clone()).unwrap_or_default(),
        container_id: latest.map(|l| container_id(runtime, &l.id)),
        started: Some(running && !obs.unstarted.iter().any(|n| n == name)),
        ..ContainerStatus::default()
    }
}

fn is_terminal(phase: Option<&str>) -> bool {
    matches!(phase, Some("Succeeded") | Some("Failed"))
}

/// Upstream's phase rule over the container statuses.
pub fn phase(
    restart_policy: &str,
    init: &[ContainerStatus],
    containers: &[ContainerStatus],
) -> &'static str {
    for s in init {
        let state = s.state.clone().unwrap_or_default();
        let done = state.terminated.as_ref().is_some_and(|t| t.exit_code == 0);
        if done {
            continue;
        }
        let failed = state.terminated.as_ref().is_some_and(|t| t.exit_code != 0)
            || (state.waiting.is_some()
                && s.last_state
                    .as_ref()
                    .and_then(|l| l.terminated.as_ref())
                    .is_some_and(|t| t.exit_code != 0));
        if failed && restart_policy == "Never" {
            return "Failed";
        }
        return "Pending";
    }
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    for s in containers {
        let state = s.state.clone().unwrap_or_default();
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = &state.terminated {
            if t.exit_code == 0 {
                succeeded += 1
            } else {
                failed += 1
            }
        } else if let Some(t) = s.last_state.as_ref().and_then(|l| l.terminated.as_ref()) {
            if t.exit_code == 0 {
                succeeded += 1
            } else {
                failed += 1
            }
        } else {
            waiting += 1;
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if succeeded + failed == 0 {
        return "Pending";
    }
    match restart_policy {
        "Always" => "Running",
        "OnFailure" if failed > 0 => "Running",
        "Never" if failed > 0 => "Failed",
        _ => "Succeeded",
    }
}

fn condition(
    previous: Option<&PodStatus>,
    now: &Time,
    type_: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let kept = previous
        .and_then(|p| p.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.clone());
    PodCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: if ok { None } else { reason.map(String::from) },
        message: if ok { None } else { message },
        last_transition_time: Some(kept.unwrap_or_else(|| now.clone())),
        last_probe_time: None,
        observed_generation: None,
    }
}

/// The pod's whole status.
pub fn pod_status(
    pod: &Pod,
    runtime: &str,
    host_ip: &str,
    qos: &str,
    obs: &Observation,
    now: Time,
) -> PodStatus {
    let previous = pod.status.as_ref();
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let image =
        |c: &berth_api_types::k8s::api::core::v1::Container| c.image.clone().unwrap_or_default();
    let init: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(runtime, &c.name, &image(c), obs, "PodInitializing"))
        .map(|mut s| {
            s.ready = s
                .state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code == 0);
            s
        })
        .collect();
    let initialized = init.iter().all(|s| s.ready);
    let default_waiting = if initialized {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let containers: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(runtime, &c.name, &image(c), obs, default_waiting))
        .collect();
    let mut phase = phase(policy, &init, &containers).to_string();
    if let Some(p) = previous
        .and_then(|p| p.phase.as_deref())
        .filter(|p| is_terminal(Some(p)))
    {
        phase = p.to_string();
    }
    let terminal = is_terminal(Some(&phase));
    let unready: Vec<&str> = containers
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let incomplete: Vec<&str> = init
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let ready_reason = if terminal {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let mut conditions = vec![
        condition(
            previous,
            &now,
            "PodReadyToStartContainers",
            obs.sandbox_ready,
            None,
            None,
        ),
        condition(
            previous,
            &now,
            "Initialized",
            initialized,
            Some(if terminal {
                "PodCompleted"
            } else {
                "ContainersNotInitialized"
            }),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
        ),
        condition(
            previous,
            &now,
            "Ready",
            unready.is_empty() && !terminal,
            Some(ready_reason),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
        condition(
            previous,
            &now,
            "ContainersReady",
            unready.is_empty() && !terminal,
            Some(ready_reason),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
    ];
    if let Some(scheduled) = previous
        .and_then(|p| p.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
    {
        conditions.push(scheduled.clone());
    }
    let pod_ips = if spec.host_network.unwrap_or(false) {
        vec![host_ip.to_string()]
    } else {
        obs.pod_ips.clone()
    };
    PodStatus {
        phase: Some(phase),
        conditions: Some(conditions),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        pod_ip: pod_ips.first().cloned(),
        pod_ips: Some(pod_ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect())
            .filter(|v: &Vec<PodIP>| !v.is_empty()),
        start_time: previous
            .and_then(|p| p.start_time.clone())
            .or(Some(now.clone())),
        qos_class: Some(qos.to_string()),
        init_container_statuses: Some(init).filter(|v| !v.is_empty()),
        container_statuses: Some(containers),
        ..PodStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(policy: &str, init: bool) -> Pod {
        let mut spec = serde_json::json!({"restartPolicy": policy,
            "containers": [{"name": "app", "image": "busybox"}]});
        if init {
            spec["initContainers"] = serde_json::json!([{"name": "setup", "image": "busybox"}]);
        }
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"}, "spec": spec,
            "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}
        }))
        .unwrap()
    }

    fn start(attempt: u32, state: RunState, exit_code: i32) -> ContainerObs {
        ContainerObs {
            id: format!("id{attempt}"),
            attempt,
            state,
            started_at: 1_700_000_000_000_000_000,
            finished_at: if state == RunState::Exited {
                1_700_000_001_000_000_000
            } else {
                0
            },
            exit_code,
            reason: String::new(),
            message: String::new(),
            image_ref: "sha256:abc".into(),
        }
    }

    fn now() -> Time {
        Time(Timestamp::from_second(1_700_000_100).unwrap())
    }

    fn cond<'a>(s: &'a PodStatus, t: &str) -> &'a PodCondition {
        s.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
    }

    #[test]
    fn a_running_pod() {
        let mut obs = Observation {
            sandbox_ready: true,
            pod_ips: vec!["10.244.1.2".into()],
            ..Observation::default()
        };
        obs.containers
            .insert("app".into(), vec![start(0, RunState::Running, 0)]);
        obs.ready.push("app".into());
        let s = pod_status(
            &pod("Always", false),
            "containerd",
            "10.250.0.11",
            "BestEffort",
            &obs,
            now(),
        );
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(s.pod_ip.as_deref(), Some("10.244.1.2"));
        assert_eq!(cond(&s, "Ready").status, "True");
        assert_eq!(cond(&s, "PodScheduled").status, "True");
        let c = &s.container_statuses.as_ref().unwrap()[0];
        assert!(c.ready);
        assert_eq!(c.container_id.as_deref(), Some("containerd://id0"));
        assert_eq!(c.image_id, "sha256:abc");
        assert!(c.state.as_ref().unwrap().running.is_some());
    }

    #[test]
    fn crash_loops_show_waiting_with_the_last_termination() {
        let mut obs = Observation {
            sandbox_ready: true,
            ..Observation::default()
        };
        obs.containers.insert(
            "app".into(),
            vec![start(2, RunState::Exited, 3), start(1, RunState::Exited, 3)],
        );
        obs.waiting.insert(
            "app".into(),
            (
                "CrashLoopBackOff".into(),
                "back-off 20s restarting failed container".into(),
            ),
        );
        let s = pod_status(
            &pod("Always", false),
            "containerd",
            "h",
            "BestEffort",
            &obs,
            now(),
        );
        let c = &s.container_statuses.as_ref().unwrap()[0];
        assert_eq!(c.restart_count, 2);
        assert_eq!(
            c.state
                .as_ref()
                .unwrap()
                .waiting
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("CrashLoopBackOff")
        );
        let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(
            cond(&s, "Ready").reason.as_deref(),
            Some("ContainersNotReady")
        );
    }

    #[test]
    fn phases_per_restart_policy() {
        let done = |code| {
            let mut obs = Observation::default();
            obs.containers
                .insert("app".into(), vec![start(0, RunState::Exited, code)]);
            obs
        };
        let phase_of = |policy: &str, code| {
            pod_status(
                &pod(policy, false),
                "c",
                "h",
                "BestEffort",
                &done(code),
                now(),
            )
            .phase
            .unwrap()
        };
        assert_eq!(phase_of("Never", 0), "Succeeded");
        assert_eq!(phase_of("Never", 1), "Failed");
        assert_eq!(phase_of("OnFailure", 0), "Succeeded");
        assert_eq!(phase_of("OnFailure", 1), "Running");
        assert_eq!(phase_of("Always", 0), "Running");
        let s = pod_status(
            &pod("Never", false),
            "c",
            "h",
            "BestEffort",
            &done(0),
            now(),
        );
        assert_eq!(cond(&s, "Ready").reason.as_deref(), Some("PodCompleted"));
    }

    #[test]
    fn init_containers_gate_the_pod() {
        let mut obs = Observation {
            sandbox_ready: true,
            ..Observation::default()
        };
        obs.containers
            .insert("setup".into(), vec![start(0, RunState::Running, 0)]);
        let s = pod_status(&pod("Always", true), "c", "h", "BestEffort", &obs, now());
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        assert_eq!(
            cond(&s, "Initialized").message.as_deref(),
            Some("containers with incomplete status: [setup]")
        );
        let app = &s.container_statuses.as_ref().unwrap()[0];
        assert_eq!(
            app.state
                .as_ref()
                .unwrap()
                .waiting
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("PodInitializing")
        );
        obs.containers
            .insert("setup".into(), vec![start(0, RunState::Exited, 1)]);
        let s = pod_status(&pod("Never", true), "c", "h", "BestEffort", &obs, now());
        assert_eq!(s.phase.as_deref(), Some("Failed"));
    }

    #[test]
    fn transition_times_survive_unchanged_conditions() {
        let mut p = pod("Always", false);
        let obs = Observation::default();
        let first = pod_status(&p, "c", "h", "BestEffort", &obs, now());
        p.status = Some(first.clone());
        let later = Time(Timestamp::from_second(1_700_000_500).unwrap());
        let second = pod_status(&p, "c", "h", "BestEffort", &obs, later);
        assert_eq!(first, second);
    }
}
