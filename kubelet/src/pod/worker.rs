//! One worker task per pod. Each pass is level-triggered: it reads what the runtime has for
//! the pod (found by the pod uid label, so a restarted kubelet adopts what is running),
//! compares it with the pod's spec and does the next steps (volumes, sandbox, image, init
//! containers in order, then the containers, restarts after back-off), then posts the status
//! if it changed. A pod with a deletionTimestamp is stopped within its grace period and then
//! deleted for good; a pod gone from the API is stopped and its leftovers removed.
//!
//! The worker wakes when the pod changes, when the runtime shows a change for the pod
//! (see [`super::manager`]), when a back-off ends, and at least every [`RESYNC`].

use super::backoff::Backoff;
use super::container::{self, ContainerInputs, ImageUser};
use super::env::{self, PodFacts, Sources};
use super::events::{Kind, Recorder};
use super::naming;
use super::probe::{Outcome, ProbeKind, ProbeState, Timing};
use super::prober::{self, Action};
use super::sandbox;
use super::status::{self, ContainerObs, Observation, RunState};
use super::volumes::{self, VolumeSources};
use super::NodeConfig;
use crate::cri::Cri;
use berth_api_types::k8s::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use berth_api_types::k8s::api::core::v1::{
    ConfigMap, Container, Pod, PodStatus, Secret, ServiceAccount,
};
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::Time;
use berth_api_types::k8s::jiff::Timestamp;
use k8s_cri::v1::{
    ContainerFilter, ContainerState, ContainerStatusRequest, CreateContainerRequest, ImageSpec,
    ImageStatusRequest, ListContainersRequest, ListPodSandboxRequest, Mount, PodSandboxFilter,
    PodSandboxState, PodSandboxStatusRequest, PullImageRequest, RemoveContainerRequest,
    RemovePodSandboxRequest, RunPodSandboxRequest, StartContainerRequest, StopContainerRequest,
    StopPodSandboxRequest,
};
use kube::api::Preconditions;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::Client;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{watch, Notify};

/// The longest a worker sleeps without looking at its pod again.
pub const RESYNC: Duration = Duration::from_secs(10);

/// How soon a pass that could not finish (a volume, the runtime) is retried.
const RETRY: Duration = Duration::from_secs(2);

/// The grace period of a pod that vanished from the API without one.
const GONE_GRACE_SECONDS: i64 = 2;

/// Termination messages are cut to this size, as upstream does.
const MAX_TERMINATION_MESSAGE: usize = 4096;

/// What the manager wants for a pod.
#[derive(Debug, Clone)]
pub enum Desired {
    /// The pod as the API has it.
    Pod(Arc<Pod>),
    /// The pod is no longer in the API.
    Gone,
}

/// Every start of each container by name, newest first, with its log path and annotations.
type Observed = HashMap<String, Vec<(ContainerObs, String, HashMap<String, String>)>>;

/// What every worker shares.
pub struct Shared {
    /// The API client.
    pub client: Client,
    /// The runtime.
    pub cri: Cri,
    /// Node-wide settings.
    pub node: NodeConfig,
    /// The runtime's name, the scheme of container ids (`containerd`).
    pub runtime_name: String,
    /// Event recorder.
    pub events: Recorder,
    /// Node memory capacity in bytes.
    pub memory_capacity: i64,
    /// Node allocatable CPU (millicores), memory and ephemeral storage (bytes).
    pub allocatable: BTreeMap<String, i64>,
}

/// A service-account token and when to fetch a new one.
struct CachedToken {
    token: String,
    refresh_at: Instant,
}

/// A worker's own memory: back-off, what it posted last, tokens.
#[derive(Default)]
struct State {
    backoff: Backoff,
    posted: Option<PodStatus>,
    tokens: HashMap<(String, i64), CachedToken>,
    /// Reasons containers wait for, set by this pass.
    waiting: HashMap<String, (String, String)>,
    /// The last FailedMount message, so it is recorded once per change.
    mount_error: Option<String>,
    /// When each image pull last failed.
    pull_failures: HashMap<String, SystemTime>,
    /// Probe state per container name, for its current start.
    probes: HashMap<String, ProbeTrack>,
}

/// The probes of one start of a container.
#[derive(Default)]
struct ProbeTrack {
    /// The runtime id of the start they belong to.
    id: String,
    startup: Option<ProbeState>,
    liveness: Option<ProbeState>,
    readiness: Option<ProbeState>,
}

impl ProbeTrack {
    fn started(&self) -> bool {
        self.startup.as_ref().is_none_or(|p| p.result == Some(true))
    }

    fn ready(&self) -> bool {
        self.started()
            && self
                .readiness
                .as_ref()
                .is_none_or(|p| p.result == Some(true))
    }
}

/// Runs the worker of the pod `uid` until the pod is gone and cleaned up.
pub async fn run(
    shared: Arc<Shared>,
    uid: String,
    mut desired: watch::Receiver<Desired>,
    poke: Arc<Notify>,
) {
    let mut state = State::default();
    loop {
        let current = desired.borrow_and_update().clone();
        let wait = match current {
            Desired::Pod(pod) => {
                let span =
                    tracing::info_span!("pod_sync", object = %naming::pod_key(&pod), uid = %uid);
                let _enter = span.enter();
                if pod.metadata.deletion_timestamp.is_some() {
                    drop(_enter);
                    if terminate(&shared, &pod, &mut state).await {
                        return;
                    }
                    RETRY
                } else {
                    drop(_enter);
                    match sync(&shared, &pod, &mut state).await {
                        Ok(wait) => wait,
                        Err(e) => {
                            tracing::warn!(object = %naming::pod_key(&pod), error = %e, "pod sync failed");
                            RETRY
                        }
                    }
                }
            }
            Desired::Gone => {
                kill_everything(&shared, &uid, GONE_GRACE_SECONDS).await;
                clean_up_files(&shared.node, &uid, None);
                return;
            }
        };
        tokio::select! {
            changed = desired.changed() => {
                if changed.is_err() {
                    // The manager is gone (the kubelet is stopping): leave the pod running.
                    return;
                }
            }
            _ = poke.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

type CriResult<T> = Result<T, tonic::Status>;

/// The pod's sandboxes, newest first.
async fn sandboxes(cri: &Cri, uid: &str) -> CriResult<Vec<k8s_cri::v1::PodSandbox>> {
    let mut rt = cri.runtime.clone();
    let mut items = rt
        .list_pod_sandbox(ListPodSandboxRequest {
            filter: Some(PodSandboxFilter {
                label_selector: naming::uid_selector(uid),
                ..PodSandboxFilter::default()
            }),
        })
        .await?
        .into_inner()
        .items;
    items.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    Ok(items)
}

/// Every container of the pod by name, newest attempt first, with their full status.
async fn observe_containers(cri: &Cri, uid: &str) -> CriResult<Observed> {
    let mut rt = cri.runtime.clone();
    let list = rt
        .list_containers(ListContainersRequest {
            filter: Some(ContainerFilter {
                label_selector: naming::uid_selector(uid),
                ..ContainerFilter::default()
            }),
        })
        .await?
        .into_inner()
        .containers;
    let mut by_name: Observed = HashMap::new();
    for c in list {
        let name = c
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let st = match rt
            .container_status(ContainerStatusRequest {
                container_id: c.id.clone(),
                verbose: false,
            })
            .await
        {
            Ok(r) => r.into_inner().status,
            Err(_) => None,
        };
        let Some(st) = st else { continue };
        let state = match ContainerState::try_from(st.state) {
            Ok(ContainerState::ContainerCreated) => RunState::Created,
            Ok(ContainerState::ContainerRunning) => RunState::Running,
            Ok(ContainerState::ContainerExited) => RunState::Exited,
            _ => RunState::Unknown,
        };
        let mut message = st.message.clone();
        if state == RunState::Exited {
            if let Some(file) = st.annotations.get(naming::TERMINATION_MESSAGE_ANNOTATION) {
                if let Ok(bytes) = std::fs::read(file) {
                    if !bytes.is_empty() {
                        let cut = &bytes[..bytes.len().min(MAX_TERMINATION_MESSAGE)];
                        message = String::from_utf8_lossy(cut).into_owned();
                    }
                }
            }
        }
        let obs = ContainerObs {
            id: st.id.clone(),
            attempt: st.metadata.as_ref().map(|m| m.attempt).unwrap_or(0),
            state,
            started_at: st.started_at,
            finished_at: st.finished_at,
            exit_code: st.exit_code,
            reason: st.reason.clone(),
            message,
            image_ref: st.image_ref.clone(),
        };
        by_name
            .entry(name)
            .or_default()
            .push((obs, st.log_path.clone(), st.annotations.clone()));
    }
    for v in by_name.values_mut() {
        v.sort_by_key(|(o, _, _)| std::cmp::Reverse(o.attempt));
    }
    Ok(by_name)
}

/// The tail of a log file in CRI format, without the CRI prefixes: at most 80 lines and
/// 2048 bytes, as upstream falls back to for a failed container without a message.
fn log_tail(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(80);
    let mut out: String = lines[start..]
        .iter()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    if out.len() > 2048 {
        let mut cut = out.len() - 2048;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    out
}

/// Fetches the ConfigMaps and Secrets the pod names (env and volumes).
async fn fetch_sources(client: &Client, pod: &Pod) -> kube::Result<Sources> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let spec = pod.spec.clone().unwrap_or_default();
    let (mut cms, mut secrets) = volumes::references(pod);
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let (a, b) = env::references(c);
        cms.extend(a);
        secrets.extend(b);
    }
    let mut out = Sources::default();
    let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for name in cms {
        out.config_maps
            .insert(name.clone(), cm_api.get_opt(&name).await?);
    }
    let secret_api: Api<Secret> = Api::namespaced(client.clone(), ns);
    for name in secrets {
        out.secrets
            .insert(name.clone(), secret_api.get_opt(&name).await?);
    }
    Ok(out)
}

/// Service-account tokens for projected volumes, requested through TokenRequest and renewed
/// after 80% of their life.
async fn tokens(client: &Client, pod: &Pod, state: &mut State) -> HashMap<(String, i64), String> {
    let wanted = volumes::token_requests(pod);
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let sa = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    for key in wanted {
        if let Some(c) = state
            .tokens
            .get(&key)
            .filter(|c| c.refresh_at > Instant::now())
        {
            out.insert(key, c.token.clone());
            continue;
        }
        let (name, uid) = (pod.metadata.name.clone(), pod.metadata.uid.clone());
        let req = TokenRequest {
            spec: TokenRequestSpec {
                audiences: if key.0.is_empty() {
                    Vec::new()
                } else {
                    vec![key.0.clone()]
                },
                expiration_seconds: Some(key.1),
                bound_object_ref: Some(
                    berth_api_types::k8s::api::authentication::v1::BoundObjectReference {
                        api_version: Some("v1".into()),
                        kind: Some("Pod".into()),
                        name,
                        uid,
                    },
                ),
            },
            ..TokenRequest::default()
        };
        match api
            .create_subresource::<TokenRequest, TokenRequest>(
                "token",
                &sa,
                &PostParams::default(),
                &req,
            )
            .await
        {
            Ok(resp) => {
                if let Some(status) = resp.status {
                    let life = Duration::from_secs(key.1.max(60) as u64);
                    state.tokens.insert(
                        key.clone(),
                        CachedToken {
                            token: status.token.clone(),
                            refresh_at: Instant::now() + life.mul_f64(0.8),
                        },
                    );
                    out.insert(key, status.token);
                }
            }
            Err(e) => {
                tracing::warn!(object = %naming::pod_key(pod), error = %e, "requesting a service account token failed")
            }
        }
    }
    out
}

/// The facts env vars and downward API files can name.
fn facts(shared: &Shared, pod_ips: &[String]) -> PodFacts {
    PodFacts {
        host_ip: shared.node.node_ip.to_string(),
        pod_ips: pod_ips.to_vec(),
        allocatable: shared.allocatable.clone(),
    }
}

/// The pull policy upstream defaults to: `Always` for `:latest` or untagged images.
pub fn pull_policy(c: &Container) -> String {
    if let Some(p) = &c.image_pull_policy {
        return p.clone();
    }
    let image = c.image.as_deref().unwrap_or("");
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    let tagged = last.contains(':');
    if image.contains('@') || (tagged && !last.ends_with(":latest")) {
        "IfNotPresent".into()
    } else {
        "Always".into()
    }
}

/// Makes sure the container's image is present; pulls per policy. Returns the image's user
/// or the waiting (reason, message).
async fn ensure_image(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    state: &mut State,
) -> Result<ImageUser, (String, String)> {
    let image = c.image.clone().unwrap_or_default();
    let spec = ImageSpec {
        image: image.clone(),
        user_specified_image: image.clone(),
        ..ImageSpec::default()
    };
    let mut images = shared.cri.images.clone();
    let present = images
        .image_status(ImageStatusRequest {
            image: Some(spec.clone()),
            verbose: false,
        })
        .await
        .map_err(|e| ("ErrImageInspect".to_string(), e.message().to_string()))?
        .into_inner()
        .image;
    let policy = pull_policy(c);
    let user = |img: &k8s_cri::v1::Image| ImageUser {
        uid: img.uid.as_ref().map(|u| u.value),
        username: img.username.clone(),
    };
    match (&present, policy.as_str()) {
        (Some(img), p) if p != "Always" => {
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Normal,
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
            );
            return Ok(user(img));
        }
        (None, "Never") => {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            shared
                .events
                .record(pod, Some(&c.name), Kind::Warning, "ErrImageNeverPull", &msg);
            return Err(("ErrImageNeverPull".into(), msg));
        }
        _ => {}
    }
    let key = format!("pull:{}", c.name);
    if let Some(last) = state.backoff_failure(&key) {
        if state
            .backoff
            .wait_or_record(&key, last, SystemTime::now())
            .is_some()
        {
            let msg = format!("Back-off pulling image \"{image}\"");
            shared
                .events
                .record(pod, Some(&c.name), Kind::Normal, "BackOff", &msg);
            return Err(("ImagePullBackOff".into(), msg));
        }
    }
    shared.events.record(
        pod,
        Some(&c.name),
        Kind::Normal,
        "Pulling",
        &format!("Pulling image \"{image}\""),
    );
    let started = Instant::now();
    let pulled = tokio::time::timeout(
        Duration::from_secs(120),
        images.pull_image(PullImageRequest {
            image: Some(spec.clone()),
            auth: None,
            sandbox_config: None,
        }),
    )
    .await;
    match pulled {
        Ok(Ok(_)) => {
            state.backoff.reset(&key);
            state.pull_failures.remove(&key);
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Normal,
                "Pulled",
                &format!(
                    "Successfully pulled image \"{image}\" in {:?}",
                    started.elapsed()
                ),
            );
            let img = images
                .image_status(ImageStatusRequest {
                    image: Some(spec),
                    verbose: false,
                })
                .await
                .ok()
                .and_then(|r| r.into_inner().image);
            Ok(img.as_ref().map(user).unwrap_or_default())
        }
        Ok(Err(e)) => {
            let msg = format!("Failed to pull image \"{image}\": {}", e.message());
            Err(pull_failed(shared, pod, c, state, key, msg))
        }
        Err(_) => {
            let msg = format!("Failed to pull image \"{image}\": the pull did not finish in 2m0s");
            Err(pull_failed(shared, pod, c, state, key, msg))
        }
    }
}

fn pull_failed(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    state: &mut State,
    key: String,
    msg: String,
) -> (String, String) {
    let now = SystemTime::now();
    state.backoff.wait_or_record(&key, now, now);
    state.pull_failures.insert(key, now);
    shared
        .events
        .record(pod, Some(&c.name), Kind::Warning, "Failed", &msg);
    shared.events.record(
        pod,
        Some(&c.name),
        Kind::Warning,
        "Failed",
        "Error: ErrImagePull",
    );
    ("ErrImagePull".into(), msg)
}

impl State {
    fn backoff_failure(&self, key: &str) -> Option<SystemTime> {
        self.pull_failures.get(key).copied()
    }
}

/// The sandbox the pod runs in: its id, addresses and configuration.
struct SandboxInfo {
    id: String,
    ips: Vec<String>,
    config: k8s_cri::v1::PodSandboxConfig,
}

/// Finds the ready sandbox or makes one (volumes first).
async fn ensure_sandbox(
    shared: &Shared,
    pod: &Pod,
    state: &mut State,
    sources: &VolumeSources,
) -> Result<Option<SandboxInfo>, String> {
    let (_, _, uid) = naming::pod_ids(pod);
    let mut rt = shared.cri.runtime.clone();
    let existing = sandboxes(&shared.cri, uid)
        .await
        .map_err(|e| e.message().to_string())?;
    let ready = existing
        .iter()
        .find(|s| s.state == PodSandboxState::SandboxReady as i32);
    let attempt = existing
        .iter()
        .filter_map(|s| s.metadata.as_ref().map(|m| m.attempt + 1))
        .max()
        .unwrap_or(0);
    let (id, attempt) = match ready {
        Some(s) => (
            s.id.clone(),
            s.metadata.as_ref().map(|m| m.attempt).unwrap_or(0),
        ),
        None => {
            // Volumes first: a pod whose volumes cannot be set up does not start.
            setup_volumes(shared, pod, state, sources, &[])?;
            for old in &existing {
                let _ = rt
                    .stop_pod_sandbox(StopPodSandboxRequest {
                        pod_sandbox_id: old.id.clone(),
                    })
                    .await;
            }
            if !existing.is_empty() {
                shared.events.record(
                    pod,
                    None,
                    Kind::Normal,
                    "SandboxChanged",
                    "Pod sandbox changed, it will be killed and re-created.",
                );
            }
            let config = sandbox::sandbox_config(pod, &shared.node, attempt);
            if let Err(e) = std::fs::create_dir_all(&config.log_directory) {
                return Err(format!("creating the pod log directory: {e}"));
            }
            let id = rt
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(config),
                    runtime_handler: String::new(),
                })
                .await
                .map_err(|e| {
                    let msg = format!("Failed to create pod sandbox: {}", e.message());
                    shared
                        .events
                        .record(pod, None, Kind::Warning, "FailedCreatePodSandBox", &msg);
                    msg
                })?
                .into_inner()
                .pod_sandbox_id;
            (id, attempt)
        }
    };
    let status = rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: false,
        })
        .await
        .map_err(|e| e.message().to_string())?
        .into_inner()
        .status;
    let ips = status
        .and_then(|s| s.network)
        .map(|n| {
            std::iter::once(n.ip)
                .chain(n.additional_ips.into_iter().map(|i| i.ip))
                .filter(|ip| !ip.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // A host-network pod has no address of its own: its IP is the node's, for probes, hooks,
    // the downward API and the status alike.
    let host_network = pod
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    let ips = if host_network {
        vec![shared.node.node_ip.to_string()]
    } else {
        ips
    };
    Ok(Some(SandboxInfo {
        id,
        ips,
        config: sandbox::sandbox_config(pod, &shared.node, attempt),
    }))
}

/// Sets up (or refreshes) the pod's volumes; records FailedMount once per new message.
fn setup_volumes(
    shared: &Shared,
    pod: &Pod,
    state: &mut State,
    sources: &VolumeSources,
    pod_ips: &[String],
) -> Result<HashMap<String, PathBuf>, String> {
    match volumes::setup(&shared.node.root_dir, pod, sources, &facts(shared, pod_ips)) {
        Ok(paths) => {
            state.mount_error = None;
            Ok(paths)
        }
        Err(e) => {
            let msg = e.to_string();
            if state.mount_error.as_deref() != Some(msg.as_str()) {
                shared
                    .events
                    .record(pod, None, Kind::Warning, "FailedMount", &msg);
                state.mount_error = Some(msg.clone());
            }
            Err(msg)
        }
    }
}

/// The mounts of a container: its volume mounts and the termination message file.
fn mounts(
    c: &Container,
    volumes: &HashMap<String, PathBuf>,
    termination_file: &std::path::Path,
) -> Result<Vec<Mount>, String> {
    let mut out = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(base) = volumes.get(&m.name) else {
            return Err(format!(
                "cannot find volume \"{}\" to mount into container \"{}\"",
                m.name, c.name
            ));
        };
        let mut host = base.clone();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if !super::atomic_writer::valid_path(sub) {
                return Err(format!("invalid subPath {sub:?}"));
            }
            host = host.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host).map_err(|e| e.to_string())?;
            }
        }
        out.push(Mount {
            container_path: m.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: m.read_only.unwrap_or(false),
            ..Mount::default()
        });
    }
    out.push(Mount {
        container_path: c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into()),
        host_path: termination_file.to_string_lossy().into_owned(),
        readonly: false,
        ..Mount::default()
    });
    Ok(out)
}

/// Where a container of the pod starts: its sandbox, volume paths and the objects its
/// environment reads.
struct Target<'a> {
    sandbox: &'a SandboxInfo,
    volumes: &'a HashMap<String, PathBuf>,
    sources: &'a Sources,
}

/// Carries out `next` for container `c` (an init container when `init`): starts it, keeping
/// a failure as its waiting reason, or records the back-off. Returns whether it started one
/// and how soon the worker should look again (`Duration::MAX` when nothing is due).
async fn carry_out(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    init: bool,
    next: Next,
    target: &Target<'_>,
    state: &mut State,
) -> (bool, Duration) {
    match next {
        Next::Start(attempt) => {
            let started = start_container(
                shared,
                pod,
                c,
                init,
                attempt,
                target.sandbox,
                target.volumes,
                target.sources,
                state,
            )
            .await;
            match started {
                Ok(()) => (true, Duration::MAX),
                Err(w) => {
                    state.waiting.insert(c.name.clone(), w);
                    (true, RETRY)
                }
            }
        }
        Next::Wait(d) => {
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Warning,
                "BackOff",
                &format!(
                    "Back-off restarting failed container {} in pod {}",
                    c.name,
                    pod_ref(pod)
                ),
            );
            (false, d)
        }
        Next::Nothing => (false, Duration::MAX),
    }
}

/// Creates and starts one container. Returns the waiting (reason, message) on failure.
#[allow(clippy::too_many_arguments)]
async fn start_container(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    init: bool,
    attempt: u32,
    sandbox: &SandboxInfo,
    volumes: &HashMap<String, PathBuf>,
    sources: &Sources,
    state: &mut State,
) -> Result<(), (String, String)> {
    let (_, _, uid) = naming::pod_ids(pod);
    let image_user = ensure_image(shared, pod, c, state).await?;
    let config_error = |msg: String| {
        shared.events.record(
            pod,
            Some(&c.name),
            Kind::Warning,
            "Failed",
            &format!("Error: {msg}"),
        );
        ("CreateContainerConfigError".to_string(), msg)
    };
    let env = env::resolve(pod, c, sources, &facts(shared, &sandbox.ips))
        .map_err(|e| config_error(e.0))?;
    let term_file = naming::termination_message_file(&shared.node.root_dir, uid, &c.name, attempt);
    if let Some(dir) = term_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| config_error(e.to_string()))?;
    }
    std::fs::write(&term_file, b"").map_err(|e| config_error(e.to_string()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&term_file, std::fs::Permissions::from_mode(0o666));
    }
    let mounts = mounts(c, volumes, &term_file).map_err(config_error)?;
    let qos = sandbox::qos_class(pod);
    let inputs = ContainerInputs {
        attempt,
        env,
        mounts,
        image_user,
        termination_message_file: term_file.to_string_lossy().into_owned(),
        init,
        memory_capacity: shared.memory_capacity,
    };
    let config = container::container_config(pod, c, &qos, &inputs).map_err(config_error)?;
    let mut rt = shared.cri.runtime.clone();
    let id = match rt
        .create_container(CreateContainerRequest {
            pod_sandbox_id: sandbox.id.clone(),
            config: Some(config),
            sandbox_config: Some(sandbox.config.clone()),
        })
        .await
    {
        Ok(r) => r.into_inner().container_id,
        Err(e) => {
            let msg = e.message().to_string();
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Warning,
                "Failed",
                &format!("Error: {msg}"),
            );
            return Err(("CreateContainerError".into(), msg));
        }
    };
    shared.events.record(
        pod,
        Some(&c.name),
        Kind::Normal,
        "Created",
        &format!("Created container: {}", c.name),
    );
    if let Err(e) = rt
        .start_container(StartContainerRequest {
            container_id: id.clone(),
        })
        .await
    {
        let msg = e.message().to_string();
        shared.events.record(
            pod,
            Some(&c.name),
            Kind::Warning,
            "Failed",
            &format!("Error: {msg}"),
        );
        return Err(("RunContainerError".into(), msg));
    }
    shared.events.record(
        pod,
        Some(&c.name),
        Kind::Normal,
        "Started",
        &format!("Started container {}", c.name),
    );
    if let Some(hook) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) {
        let action = Action::of_handler(hook);
        let ip = sandbox.ips.first().cloned().unwrap_or_default();
        if let Err(msg) = prober::run(&shared.cri, c, &id, &ip, &action, HOOK_TIMEOUT).await {
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Warning,
                "FailedPostStartHook",
                &msg,
            );
            let _ = rt
                .stop_container(StopContainerRequest {
                    container_id: id,
                    timeout: grace_of(pod),
                })
                .await;
            return Err(("PostStartHookError".into(), msg));
        }
    }
    Ok(())
}

/// How long a postStart hook may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// The pod's grace period in seconds.
fn grace_of(pod: &Pod) -> i64 {
    pod.metadata
        .deletion_grace_period_seconds
        .or(pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30)
        .max(0)
}

/// Runs the due probes of a running container; returns when the next one is due.
async fn run_probes(
    shared: &Shared,
    pod: &Pod,
    c: &Container,
    latest: &ContainerObs,
    pod_ip: &str,
    state: &mut State,
) -> Option<Duration> {
    let track = state.probes.entry(c.name.clone()).or_default();
    if track.id != latest.id {
        let since_start = SystemTime::now()
            .duration_since(
                SystemTime::UNIX_EPOCH + Duration::from_nanos(latest.started_at.max(0) as u64),
            )
            .unwrap_or_default();
        let started = Instant::now()
            .checked_sub(since_start)
            .unwrap_or_else(Instant::now);
        let make = |p: &Option<berth_api_types::k8s::api::core::v1::Probe>| {
            p.as_ref().map(|p| ProbeState::new(Timing::of(p), started))
        };
        *track = ProbeTrack {
            id: latest.id.clone(),
            startup: make(&c.startup_probe),
            liveness: make(&c.liveness_probe),
            readiness: make(&c.readiness_probe),
        };
    }
    let now = Instant::now();
    let kinds: Vec<ProbeKind> = if track.started() {
        vec![ProbeKind::Liveness, ProbeKind::Readiness]
    } else {
        vec![ProbeKind::Startup]
    };
    let mut kill: Option<String> = None;
    for kind in kinds {
        let (probe, spec) = match kind {
            ProbeKind::Startup => (track.startup.as_mut(), c.startup_probe.as_ref()),
            ProbeKind::Liveness => (track.liveness.as_mut(), c.liveness_probe.as_ref()),
            ProbeKind::Readiness => (track.readiness.as_mut(), c.readiness_probe.as_ref()),
        };
        let (Some(probe), Some(spec)) = (probe, spec) else {
            continue;
        };
        if !probe.due(now) {
            continue;
        }
        let action = Action::of_probe(spec);
        let result = prober::run(
            &shared.cri,
            c,
            &latest.id,
            pod_ip,
            &action,
            probe.timing.timeout,
        )
        .await;
        if let Err(msg) = &result {
            shared.events.record(
                pod,
                Some(&c.name),
                Kind::Warning,
                "Unhealthy",
                &format!("{} probe failed: {msg}", kind.word()),
            );
        }
        let outcome = probe.record(result.is_ok(), Instant::now());
        if outcome == Outcome::Failed && kind != ProbeKind::Readiness {
            kill = Some(format!(
                "Container {} failed {} probe, will be restarted",
                c.name,
                kind.word().to_lowercase()
            ));
        }
    }
    if let Some(msg) = kill {
        shared
            .events
            .record(pod, Some(&c.name), Kind::Normal, "Killing", &msg);
        let _ = shared
            .cri
            .runtime
            .clone()
            .stop_container(StopContainerRequest {
                container_id: latest.id.clone(),
                timeout: grace_of(pod),
            })
            .await;
        state.probes.remove(&c.name);
        return Some(Duration::ZERO);
    }
    let now = Instant::now();
    [&track.startup, &track.liveness, &track.readiness]
        .into_iter()
        .flatten()
        .filter_map(|p| p.next)
        .map(|n| n.saturating_duration_since(now))
        .min()
}

/// What to do about a container's latest start.
enum Next {
    /// Nothing: it runs, or it finished and stays finished.
    Nothing,
    /// Start attempt N now.
    Start(u32),
    /// Wait for a back-off to end.
    Wait(Duration),
}

fn latest_of(observed: &Observed, name: &str) -> Option<ContainerObs> {
    observed
        .get(name)
        .and_then(|v| v.first())
        .map(|(o, _, _)| o.clone())
}

/// Decides about container `name` per the restart policy and back-off.
fn decide(
    state: &mut State,
    pod: &Pod,
    name: &str,
    latest: Option<&ContainerObs>,
    restart: bool,
) -> Next {
    let Some(l) = latest else {
        return Next::Start(0);
    };
    if l.state != RunState::Exited {
        return Next::Nothing;
    }
    if !restart {
        return Next::Nothing;
    }
    let finished = SystemTime::UNIX_EPOCH + Duration::from_nanos(l.finished_at.max(0) as u64);
    match state
        .backoff
        .wait_or_record(name, finished, SystemTime::now())
    {
        None => Next::Start(l.attempt + 1),
        Some(wait) => {
            let (ns, pod_name, uid) = naming::pod_ids(pod);
            let delay = state.backoff.delay(name).unwrap_or(wait);
            state.waiting.insert(
                name.to_string(),
                (
                    "CrashLoopBackOff".into(),
                    format!(
                        "back-off {} restarting failed container={name} pod={pod_name}_{ns}({uid})",
                        go_duration(delay)
                    ),
                ),
            );
            Next::Wait(wait)
        }
    }
}

/// A whole-second duration the way Go prints it (`10s`, `1m20s`, `5m0s`).
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One pass over a live pod. Returns how long the worker may sleep.
async fn sync(shared: &Shared, pod: &Pod, state: &mut State) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let (_, _, uid) = naming::pod_ids(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    state.waiting.clear();
    // The API copy may lag behind what this worker posted itself (its own status writes do
    // not wake it).
    let terminal = [pod.status.as_ref(), state.posted.as_ref()]
        .into_iter()
        .flatten()
        .any(is_terminal);
    let objects = fetch_sources(&shared.client, pod).await?;
    let sources = VolumeSources {
        objects: objects.clone(),
        tokens: tokens(&shared.client, pod, state).await,
    };
    let mut wake = RESYNC;
    let mut obs = Observation::default();
    if terminal {
        // A finished pod keeps its containers for their logs but gives up its sandbox.
        for s in sandboxes(&shared.cri, uid).await? {
            if s.state == PodSandboxState::SandboxReady as i32 {
                let _ = shared
                    .cri
                    .runtime
                    .clone()
                    .stop_pod_sandbox(StopPodSandboxRequest {
                        pod_sandbox_id: s.id,
                    })
                    .await;
            }
        }
        return Ok(RESYNC);
    }
    let sandbox = match ensure_sandbox(shared, pod, state, &sources).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(RETRY),
        Err(msg) => {
            tracing::debug!(object = %naming::pod_key(pod), %msg, "sandbox not ready");
            post_status(shared, pod, state, &obs).await;
            return Ok(RETRY);
        }
    };
    tracing::debug!(object = %naming::pod_key(pod), after = ?began.elapsed(), "sandbox ready");
    obs.sandbox_ready = true;
    obs.pod_ips = sandbox.ips.clone();
    let volume_paths = match setup_volumes(shared, pod, state, &sources, &sandbox.ips) {
        Ok(p) => p,
        Err(_) => {
            post_status(shared, pod, state, &obs).await;
            return Ok(RETRY);
        }
    };
    let mut observed = observe_containers(&shared.cri, uid).await?;
    // A container left created but not started (its start failed, or a kubelet stopped in
    // between) is removed and made again.
    let stale: Vec<String> = observed
        .values()
        .filter_map(|v| v.first())
        .filter(|(o, _, _)| o.state == RunState::Created)
        .map(|(o, _, _)| o.id.clone())
        .collect();
    if !stale.is_empty() {
        let mut rt = shared.cri.runtime.clone();
        for id in stale {
            let _ = rt
                .remove_container(RemoveContainerRequest { container_id: id })
                .await;
        }
        observed = observe_containers(&shared.cri, uid).await?;
    }
    let mut started_any = false;
    // Init containers, one at a time in order.
    let mut initialized = true;
    for c in spec.init_containers.iter().flatten() {
        let latest = latest_of(&observed, &c.name);
        match &latest {
            Some(l) if l.state == RunState::Exited && l.exit_code == 0 => continue,
            _ => {}
        }
        initialized = false;
        let next = decide(state, pod, &c.name, latest.as_ref(), policy != "Never");
        let target = Target {
            sandbox: &sandbox,
            volumes: &volume_paths,
            sources: &objects,
        };
        let (started, again) = carry_out(shared, pod, c, true, next, &target, state).await;
        started_any |= started;
        wake = wake.min(again);
        break;
    }
    if initialized {
        for c in &spec.containers {
            let latest = latest_of(&observed, &c.name);
            let restart = match policy.as_str() {
                "Never" => false,
                "OnFailure" => latest.as_ref().is_some_and(|l| l.exit_code != 0),
                _ => true,
            };
            let next = decide(state, pod, &c.name, latest.as_ref(), restart);
            let target = Target {
                sandbox: &sandbox,
                volumes: &volume_paths,
                sources: &objects,
            };
            let (started, again) = carry_out(shared, pod, c, false, next, &target, state).await;
            started_any |= started;
            wake = wake.min(again);
        }
    }
    let observed = if started_any {
        observe_containers(&shared.cri, uid).await?
    } else {
        observed
    };
    for (name, starts) in &observed {
        let mut list: Vec<ContainerObs> = Vec::new();
        for (o, log_path, annotations) in starts {
            let mut o = o.clone();
            if o.state == RunState::Exited && o.exit_code != 0 && o.message.is_empty() {
                let fallback = spec
                    .containers
                    .iter()
                    .chain(spec.init_containers.iter().flatten())
                    .find(|c| &c.name == name)
                    .and_then(|c| c.termination_message_policy.clone())
                    .is_some_and(|p| p == "FallbackToLogsOnError");
                if fallback {
                    o.message = log_tail(log_path);
                }
            }
            let _ = annotations;
            list.push(o);
        }
        // Only the latest start and the one before it matter to the status.
        list.truncate(2);
        obs.containers.insert(name.clone(), list);
    }
    let pod_ip = sandbox.ips.first().cloned().unwrap_or_default();
    for c in &spec.containers {
        let Some(latest) = obs.containers.get(&c.name).and_then(|v| v.first()).cloned() else {
            continue;
        };
        if latest.state != RunState::Running {
            state.probes.remove(&c.name);
            continue;
        }
        if let Some(next) = run_probes(shared, pod, c, &latest, &pod_ip, state).await {
            wake = wake.min(next.max(Duration::from_millis(50)));
        }
        let track = state.probes.get(&c.name);
        if track.is_none_or(ProbeTrack::ready) {
            obs.ready.push(c.name.clone());
        }
        if track.is_some_and(|t| !t.started()) {
            obs.unstarted.push(c.name.clone());
        }
    }
    obs.waiting = state.waiting.clone();
    tracing::debug!(object = %naming::pod_key(pod), after = ?began.elapsed(), started_any, "containers synced");
    let posted = post_status(shared, pod, state, &obs).await;
    tracing::debug!(object = %naming::pod_key(pod), after = ?began.elapsed(), "pod sync done");
    if posted.as_ref().is_some_and(is_terminal) {
        // Finished: give up the sandbox on the next pass, at once.
        return Ok(Duration::ZERO);
    }
    Ok(wake)
}

/// Whether a status says the pod has finished for good.
fn is_terminal(status: &PodStatus) -> bool {
    matches!(status.phase.as_deref(), Some("Succeeded") | Some("Failed"))
}

fn pod_ref(pod: &Pod) -> String {
    let (ns, name, uid) = naming::pod_ids(pod);
    format!("{name}_{ns}({uid})")
}

/// Posts the status for `obs` through the status subresource when it differs from what the
/// API has and from what this worker posted last.
async fn post_status(
    shared: &Shared,
    pod: &Pod,
    state: &mut State,
    obs: &Observation,
) -> Option<PodStatus> {
    let qos = sandbox::qos_class(pod);
    let mut base = pod.clone();
    // Transition times carry over from what was posted last when the API copy is older.
    if let Some(posted) = &state.posted {
        if pod.status.as_ref() != Some(posted) {
            base.status = Some(posted.clone()).map(|mut p| {
                // Keep conditions set by others (PodScheduled) from the API copy.
                if let Some(api) = pod.status.as_ref().and_then(|s| s.conditions.as_ref()) {
                    let ours = p.conditions.get_or_insert_with(Vec::new);
                    for c in api {
                        if !ours.iter().any(|o| o.type_ == c.type_) {
                            ours.push(c.clone());
                        }
                    }
                }
                p
            });
        }
    }
    let status = status::pod_status(
        &base,
        &shared.runtime_name,
        &shared.node.node_ip.to_string(),
        &qos,
        obs,
        Time(
            Timestamp::from_second(Timestamp::now().as_second())
                .unwrap_or_else(|_| Timestamp::now()),
        ),
    );
    if pod.status.as_ref() == Some(&status) || state.posted.as_ref() == Some(&status) {
        return Some(status);
    }
    let (ns, name, _) = naming::pod_ids(pod);
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            state.posted = Some(status.clone());
            Some(status)
        }
        Err(e) => {
            tracing::warn!(object = %naming::pod_key(pod), error = %e, "posting the pod status failed");
            None
        }
    }
}

/// Stops the pod within its grace period, posts the final status and deletes it for good.
/// Returns whether the pod is finished with.
async fn terminate(shared: &Shared, pod: &Pod, state: &mut State) -> bool {
    let (ns, name, uid) = naming::pod_ids(pod);
    let grace = grace_of(pod);
    let observed = observe_containers(&shared.cri, uid)
        .await
        .unwrap_or_default();
    let running: Vec<(String, String)> = observed
        .iter()
        .filter_map(|(n, v)| v.first().map(|(o, _, _)| (n.clone(), o.clone())))
        .filter(|(_, o)| matches!(o.state, RunState::Running | RunState::Created))
        .map(|(n, o)| (n, o.id))
        .collect();
    // preStop hooks run first, together, within the grace period.
    let deadline = Instant::now() + Duration::from_secs(grace as u64);
    let spec = pod.spec.clone().unwrap_or_default();
    let pod_ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default();
    let hooks = running.iter().filter_map(|(cname, id)| {
        let c = spec.containers.iter().find(|c| &c.name == cname)?;
        let hook = c.lifecycle.as_ref()?.pre_stop.as_ref()?;
        let action = Action::of_handler(hook);
        let (c, id, ip) = (c.clone(), id.clone(), pod_ip.clone());
        let limit = Duration::from_secs(grace.max(1) as u64);
        Some(async move {
            let r = prober::run(&shared.cri, &c, &id, &ip, &action, limit).await;
            (c.name, r)
        })
    });
    for (cname, r) in futures::future::join_all(hooks).await {
        if let Err(msg) = r {
            shared.events.record(
                pod,
                Some(&cname),
                Kind::Warning,
                "FailedPreStopHook",
                &format!("PreStopHook failed: {msg}"),
            );
        }
    }
    let grace = deadline.saturating_duration_since(Instant::now()).as_secs() as i64;
    let mut stops = Vec::new();
    for (cname, id) in &running {
        shared.events.record(
            pod,
            Some(cname),
            Kind::Normal,
            "Killing",
            &format!("Stopping container {cname}"),
        );
        let mut rt = shared.cri.runtime.clone();
        let id = id.clone();
        stops.push(async move {
            rt.stop_container(StopContainerRequest {
                container_id: id,
                timeout: grace,
            })
            .await
        });
    }
    for r in futures::future::join_all(stops).await {
        if let Err(e) = r {
            tracing::warn!(object = %naming::pod_key(pod), error = %e.message(), "stopping a container failed");
        }
    }
    // The final status shows every container terminated.
    let mut obs = Observation::default();
    if let Ok(observed) = observe_containers(&shared.cri, uid).await {
        for (n, v) in observed {
            obs.containers
                .insert(n, v.into_iter().take(2).map(|(o, _, _)| o).collect());
        }
    }
    let mut rt = shared.cri.runtime.clone();
    for s in sandboxes(&shared.cri, uid).await.unwrap_or_default() {
        let _ = rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: s.id.clone(),
            })
            .await;
    }
    let _ = post_status(shared, pod, state, &obs).await;
    // Everything on the node goes before the API object does: once the pod is gone from
    // the API, nothing of it is left here.
    kill_everything(shared, uid, 0).await;
    clean_up_files(&shared.node, uid, Some(pod));
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), ns);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
        Err(e) => {
            tracing::warn!(object = %naming::pod_key(pod), error = %e, "deleting the pod failed");
            return false;
        }
    }
    true
}

/// Stops and removes every container and sandbox of the pod `uid`.
pub async fn kill_everything(shared: &Shared, uid: &str, grace: i64) {
    let mut rt = shared.cri.runtime.clone();
    if let Ok(list) = rt
        .list_containers(ListContainersRequest {
            filter: Some(ContainerFilter {
                label_selector: naming::uid_selector(uid),
                ..ContainerFilter::default()
            }),
        })
        .await
    {
        for c in list.into_inner().containers {
            if c.state == ContainerState::ContainerRunning as i32 {
                let _ = rt
                    .stop_container(StopContainerRequest {
                        container_id: c.id.clone(),
                        timeout: grace,
                    })
                    .await;
            }
            let _ = rt
                .remove_container(RemoveContainerRequest { container_id: c.id })
                .await;
        }
    }
    for s in sandboxes(&shared.cri, uid).await.unwrap_or_default() {
        let _ = rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: s.id.clone(),
            })
            .await;
        let _ = rt
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: s.id,
            })
            .await;
    }
}

/// Removes the pod's directory, cgroups and (when the pod is known) log directory.
pub fn clean_up_files(node: &NodeConfig, uid: &str, pod: Option<&Pod>) {
    if let Err(e) = volumes::tear_down(&node.root_dir, uid) {
        tracing::warn!(uid, error = %e, "removing the pod directory failed");
    }
    for qos in ["Guaranteed", "Burstable", "BestEffort"] {
        super::cleanup::remove_cgroup(&naming::cgroup_parent(&node.cgroup_root, qos, uid));
    }
    if let Some(pod) = pod {
        let _ = std::fs::remove_dir_all(naming::log_dir(&node.logs_dir, pod));
    } else {
        super::cleanup::remove_log_dirs_of(&node.logs_dir, uid);
    }
}
