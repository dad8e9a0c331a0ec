//! The running scheduler: watches feed the node cache and the pod queue, one task owns both
//! and schedules one pod per cycle, bindings and events go out on their own tasks and report
//! back.
//!
//! Everything the cycle reads is owned by that one task, so a cycle sees a consistent cache
//! without locks; watch events are applied between cycles. A pod is assumed in the cache
//! before its binding is posted and forgotten if the binding fails.

use crate::algorithm::{Algorithm, ScheduleError};
use crate::cache::Cache;
use crate::framework::PdbInfo;
use crate::node_info::NodeInfo;
use crate::plugins::default_profile;
use crate::pod_info::{LabelSets, PodInfo};
use crate::queue::{Entry, Queue};
use crate::wire::{WireNode, WirePod};
use anyhow::Context;
use berth_api_types::k8s::api::apps::v1::{ReplicaSet, StatefulSet};
use berth_api_types::k8s::api::core::v1::{
    Binding, Event, EventSource, Namespace, Node, ObjectReference, Pod, ReplicationController,
    Service,
};
use berth_api_types::k8s::api::policy::v1::PodDisruptionBudget;
use berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use berth_api_types::k8s::jiff::Timestamp;
use berth_api_types::labels::LabelSelector;
use berth_component_base::leader_election::{LeaderElector, LeaseConfig};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Resource, ResourceExt};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The scheduler name pods get by default.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Command-line options of `berth-scheduler` (and `berth scheduler`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The kubeconfig to reach the API server with.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Run only while holding the Lease `kube-system/<scheduler name>`.
    #[arg(long)]
    pub leader_elect: bool,
    /// The `spec.schedulerName` this scheduler serves.
    #[arg(long, default_value = DEFAULT_SCHEDULER_NAME)]
    pub scheduler_name: String,
}

/// What the watches and binding tasks tell the scheduling task.
enum Update {
    /// A part of a full list of nodes: once the last part arrived, every node not in the
    /// list is gone.
    NodesListed(Vec<NodeInfo>, ListPart),
    NodeApplied(Box<NodeInfo>),
    NodeDeleted(String),
    /// A part of a full list of pods: once the last part arrived, every pod not in the list
    /// is gone.
    PodsListed(Vec<PodEvent>, ListPart),
    PodApplied(Box<PodEvent>),
    PodDeleted(String),
    NamespacesListed(Vec<Namespace>),
    NamespaceApplied(Box<Namespace>),
    NamespaceDeleted(String),
    PdbsListed(Vec<PodDisruptionBudget>),
    PdbApplied(Box<PodDisruptionBudget>),
    PdbDeleted(String),
    /// A full list of one kind of pod-grouping object.
    OwnersListed(&'static str, Vec<Owner>),
    OwnerApplied(&'static str, Owner),
    OwnerDeleted(&'static str, Owner),
    /// A binding failed; the pod's assumption must be forgotten and the pod retried, unless
    /// the API answered that the pod no longer exists (`gone`) or its deletion was seen
    /// meanwhile.
    BindFailed {
        key: String,
        entry: Entry<Arc<PodInfo>>,
        gone: bool,
    },
}

/// A pod as a list or watch reports it, already turned into its scheduling facts by the
/// watching task, so the scheduling task neither decodes nor holds more than those.
struct PodEvent {
    /// The facts; without [`crate::pod_info::Wants`] when the pod is bound.
    info: PodInfo,
    /// `spec.nodeName`, when set.
    node: Option<String>,
    /// Whether the pod finished (`Succeeded` or `Failed`).
    terminal: bool,
    /// `spec.schedulerName`, when set.
    scheduler_name: Option<String>,
}

fn pod_event(pod: WirePod) -> PodEvent {
    let spec = pod.spec.as_ref();
    let node = spec
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    let scheduler_name = spec.and_then(|s| s.scheduler_name.clone());
    let terminal = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    let mut info = PodInfo::from_wire(pod);
    if node.is_some() {
        info = info.into_placed();
    }
    PodEvent {
        info,
        node,
        terminal,
        scheduler_name,
    }
}

fn pdb_key(pdb: &PodDisruptionBudget) -> String {
    format!(
        "{}/{}",
        pdb.metadata.namespace.as_deref().unwrap_or("default"),
        pdb.metadata.name.as_deref().unwrap_or("")
    )
}

/// What preemption needs of a budget. A budget with an empty selector protects no pod from
/// preemption, as upstream treats it.
fn pdb_info(pdb: &PodDisruptionBudget) -> PdbInfo {
    let selector = LabelSelector::from_api_opt(pdb.spec.as_ref().and_then(|s| s.selector.as_ref()))
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(LabelSelector::nothing);
    PdbInfo {
        namespace: pdb.metadata.namespace.clone().unwrap_or_default(),
        selector,
        disruptions_allowed: pdb.status.as_ref().map_or(0, |s| s.disruptions_allowed),
    }
}

/// A Service or controller as default spreading needs it.
struct Owner {
    namespace: String,
    name: String,
    /// A Service's selector map, or a controller's selector.
    selector: Result<BTreeMap<String, String>, LabelSelector>,
}

fn owner_of<K: kube::Resource>(
    o: &K,
    selector: Result<BTreeMap<String, String>, LabelSelector>,
) -> Owner {
    Owner {
        namespace: o.meta().namespace.clone().unwrap_or_default(),
        name: o.meta().name.clone().unwrap_or_default(),
        selector,
    }
}

fn service_owner(s: &Service) -> Owner {
    let sel = s
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    owner_of(s, Ok(sel))
}

fn rc_owner(rc: &ReplicationController) -> Owner {
    let sel = rc
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    owner_of(rc, Err(LabelSelector::from_map(&sel)))
}

fn rs_owner(rs: &ReplicaSet) -> Owner {
    let sel = rs
        .spec
        .as_ref()
        .and_then(|s| LabelSelector::from_api(&s.selector).ok())
        .unwrap_or_else(LabelSelector::nothing);
    owner_of(rs, Err(sel))
}

fn ss_owner(ss: &StatefulSet) -> Owner {
    let sel = ss
        .spec
        .as_ref()
        .and_then(|s| LabelSelector::from_api(&s.selector).ok())
        .unwrap_or_else(LabelSelector::nothing);
    owner_of(ss, Err(sel))
}

/// Starts a list/watch of one pod-grouping kind.
fn reflect_owners<K>(
    api: Api<K>,
    tx: &mpsc::Sender<Update>,
    listed: fn(Vec<K>, ListPart) -> Update,
    kind: &'static str,
    convert: fn(&K) -> Owner,
) where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug + kube::Resource + Send + 'static,
{
    tokio::spawn(reflect(
        api,
        tx.clone(),
        std::convert::identity,
        listed,
        Batches::Whole,
        move |deleted, o: K| {
            if deleted {
                Update::OwnerDeleted(kind, convert(&o))
            } else {
                Update::OwnerApplied(kind, convert(&o))
            }
        },
    ));
}

/// Connects with `--kubeconfig` and runs until shutdown or lost leadership.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let kubeconfig = Kubeconfig::read_from(&options.kubeconfig)
        .with_context(|| format!("reading {}", options.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading the kubeconfig")?;
    let client = Client::try_from(config).context("building the API client")?;
    let name = options.scheduler_name.clone();
    let work = schedule_forever(client.clone(), name.clone());
    if options.leader_elect {
        let identity = format!(
            "{}_{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "berth".into()),
            uuid_like()
        );
        let elector = LeaderElector::new(client, LeaseConfig::new("kube-system", &name, &identity));
        let mut outcome = None;
        elector
            .run(async {
                outcome = Some(work.await);
            })
            .await?;
        if let Some(result) = outcome {
            result?;
        }
    } else {
        work.await?;
    }
    Ok(())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// How many objects one page of a list asks for: the whole list is never one response, and a
/// page's response body stays small enough for the allocator to reuse its memory for the next
/// page instead of mapping fresh memory for each (which it returns only after a delay).
const LIST_PAGE: u32 = 200;

/// Which part of a full list a batch of listed objects is.
#[derive(Clone, Copy, Debug)]
struct ListPart {
    /// The batch starts a new list.
    first: bool,
    /// The batch ends the list.
    last: bool,
}

/// How a list reaches the scheduling task: page by page (nodes and pods, the bulk, so the
/// whole list is never held at once), or as one batch (the small kinds, applied as a whole).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Batches {
    Pages,
    Whole,
}

/// Lists every object of `api` page by page, turning each into what the scheduler keeps with
/// `convert` as its page arrives, and sends them through `listed` in `batches`. Returns the
/// list's resourceVersion, or `None` when the scheduling task is gone.
async fn list_into<K, T>(
    api: &Api<K>,
    convert: &impl Fn(K) -> T,
    listed: fn(Vec<T>, ListPart) -> Update,
    batches: Batches,
    tx: &mpsc::Sender<Update>,
) -> Result<Option<String>, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(LIST_PAGE);
    let mut first = true;
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items.into_iter().map(convert));
        let next = page.metadata.continue_.filter(|c| !c.is_empty());
        let last = next.is_none();
        if batches == Batches::Pages || last {
            let part = ListPart { first, last };
            first = false;
            if tx
                .send(listed(std::mem::take(&mut items), part))
                .await
                .is_err()
            {
                return Ok(None);
            }
        }
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(Some(page.metadata.resource_version.unwrap_or_default())),
        }
    }
}

/// Lists then watches `api`, sending every change (each object first turned into what the
/// scheduler keeps by `convert`); relists after any error.
async fn reflect<K, T, C, F>(
    api: Api<K>,
    tx: mpsc::Sender<Update>,
    convert: C,
    listed: fn(Vec<T>, ListPart) -> Update,
    batches: Batches,
    map: F,
) where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug + kube::Resource,
    C: Fn(K) -> T,
    F: Fn(bool, T) -> Update,
{
    loop {
        let mut version = match list_into(&api, &convert, listed, batches, &tx).await {
            Ok(Some(version)) => version,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "list failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        'watch: loop {
            let wp = WatchParams::default().timeout(290);
            let stream = match api.watch(&wp, &version).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "watch failed; relisting");
                    break 'watch;
                }
            };
            let mut stream = stream.boxed();
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        version = o.resource_version().unwrap_or(version);
                        if tx.send(map(false, convert(o))).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(WatchEvent::Deleted(o))) => {
                        version = o.resource_version().unwrap_or(version);
                        if tx.send(map(true, convert(o))).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    Ok(Some(WatchEvent::Error(e))) => {
                        tracing::info!(error = %e.message, "watch ended; relisting");
                        break 'watch;
                    }
                    // The server closed the watch at its timeout: continue from where it was.
                    Ok(None) => continue 'watch,
                    Err(e) => {
                        tracing::warn!(error = %e, "watch broke; relisting");
                        break 'watch;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The scheduling loop; returns only when the watches stop.
pub async fn schedule_forever(client: Client, scheduler_name: String) -> anyhow::Result<()> {
    let profile = default_profile(&scheduler_name)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let (tx, mut rx) = mpsc::channel::<Update>(4096);
    let mut state = State::new(Algorithm::new(profile, seed), &client, scheduler_name, &tx);
    tokio::spawn(reflect(
        Api::<WireNode>::all(client.clone()),
        tx.clone(),
        |n: WireNode| NodeInfo::new(&Node::from(n)),
        Update::NodesListed,
        Batches::Pages,
        |deleted, n: NodeInfo| {
            if deleted {
                Update::NodeDeleted(n.name)
            } else {
                Update::NodeApplied(Box::new(n))
            }
        },
    ));
    tokio::spawn(reflect(
        Api::<Namespace>::all(client.clone()),
        tx.clone(),
        std::convert::identity,
        |l, _| Update::NamespacesListed(l),
        Batches::Whole,
        |deleted, n: Namespace| {
            if deleted {
                Update::NamespaceDeleted(n.name_any())
            } else {
                Update::NamespaceApplied(Box::new(n))
            }
        },
    ));
    tokio::spawn(reflect(
        Api::<PodDisruptionBudget>::all(client.clone()),
        tx.clone(),
        std::convert::identity,
        |l, _| Update::PdbsListed(l),
        Batches::Whole,
        |deleted, p: PodDisruptionBudget| {
            if deleted {
                Update::PdbDeleted(pdb_key(&p))
            } else {
                Update::PdbApplied(Box::new(p))
            }
        },
    ));
    reflect_owners(
        Api::<Service>::all(client.clone()),
        &tx,
        |l, _| Update::OwnersListed("Service", l.iter().map(service_owner).collect()),
        "Service",
        service_owner,
    );
    reflect_owners(
        Api::<ReplicationController>::all(client.clone()),
        &tx,
        |l, _| Update::OwnersListed("ReplicationController", l.iter().map(rc_owner).collect()),
        "ReplicationController",
        rc_owner,
    );
    reflect_owners(
        Api::<ReplicaSet>::all(client.clone()),
        &tx,
        |l, _| Update::OwnersListed("ReplicaSet", l.iter().map(rs_owner).collect()),
        "ReplicaSet",
        rs_owner,
    );
    reflect_owners(
        Api::<StatefulSet>::all(client.clone()),
        &tx,
        |l, _| Update::OwnersListed("StatefulSet", l.iter().map(ss_owner).collect()),
        "StatefulSet",
        ss_owner,
    );
    tokio::spawn(reflect(
        Api::<WirePod>::all(client),
        tx,
        pod_event,
        Update::PodsListed,
        Batches::Pages,
        |deleted, p: PodEvent| {
            if deleted {
                Update::PodDeleted(p.info.key)
            } else {
                Update::PodApplied(Box::new(p))
            }
        },
    ));
    loop {
        // Apply every pending change before the next cycle, so it sees a current cache.
        while let Ok(u) = rx.try_recv() {
            state.apply(u);
        }
        if state.nodes_synced && state.pods_synced {
            if let Some((key, entry)) = state.queue.pop(Instant::now()) {
                state.schedule_one(key, entry);
                continue;
            }
        }
        let wait = state
            .queue
            .next_due()
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(60));
        tokio::select! {
            u = rx.recv() => match u {
                Some(u) => state.apply(u),
                None => return Ok(()),
            },
            () = tokio::time::sleep(wait) => {}
        }
    }
}

struct State {
    algo: Algorithm,
    cache: Cache,
    queue: Queue<Arc<PodInfo>>,
    client: Client,
    name: String,
    binds: mpsc::UnboundedSender<BindJob>,
    recorder: Recorder,
    /// Label sets shared between the pods that carry them.
    labels: LabelSets,
    /// The names in the node list being received.
    listed_nodes: HashSet<String>,
    /// The keys in the pod list being received.
    listed_pods: HashSet<String>,
    /// Pods deleted while assumed (their binding on its way): their failed binding must not
    /// queue them again, whatever the API answered (404, or 409 for a pod being deleted).
    deleted_while_binding: HashSet<String>,
    /// Whether a full list of nodes, and of pods, has been applied: no pod is scheduled
    /// before, so the first decisions see every node and every placed pod.
    nodes_synced: bool,
    pods_synced: bool,
}

/// How many bindings are posted at once. Later ones wait their turn; their pods are already
/// assumed in the cache, so scheduling goes on meanwhile.
const BIND_WORKERS: usize = 16;
/// How many events may wait to be posted. Beyond that new ones are dropped (events are best
/// effort), so a burst of decisions never holds memory without bound.
const EVENT_QUEUE: usize = 4096;
/// How many events are posted at once.
const EVENT_WORKERS: usize = 2;

/// A binding to post: the pod (assumed on `node`) and its queue entry, for a retry if the
/// binding fails.
struct BindJob {
    info: Arc<PodInfo>,
    node: String,
    entry: Entry<Arc<PodInfo>>,
}

/// The pod an event is about: only its identity, so a queued event holds no pod.
struct Subject {
    namespace: String,
    name: String,
    uid: String,
}

impl Subject {
    fn of(info: &PodInfo) -> Subject {
        Subject {
            namespace: info.namespace().to_owned(),
            name: info.name().to_owned(),
            uid: info.uid.clone(),
        }
    }
}

/// An event about a pod, waiting to be posted.
struct EventJob {
    subject: Subject,
    kind: &'static str,
    reason: &'static str,
    message: String,
}

/// Posts events in the background from a bounded queue.
#[derive(Clone)]
struct Recorder {
    tx: mpsc::Sender<EventJob>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts the posting tasks; `component` is the events' source.
    fn start(client: &Client, component: &str) -> Recorder {
        let (tx, rx) = mpsc::channel::<EventJob>(EVENT_QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..EVENT_WORKERS {
            let rx = rx.clone();
            let client = client.clone();
            let component = component.to_owned();
            tokio::spawn(async move {
                loop {
                    let job = rx.lock().await.recv().await;
                    let Some(job) = job else {
                        return;
                    };
                    post_event(
                        &client,
                        &component,
                        &job.subject,
                        job.kind,
                        job.reason,
                        &job.message,
                    )
                    .await;
                }
            });
        }
        Recorder {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues an event; drops it (counting, with a warning now and then) when the queue is
    /// full.
    fn record(
        &self,
        info: &Arc<PodInfo>,
        kind: &'static str,
        reason: &'static str,
        message: String,
    ) {
        let job = EventJob {
            subject: Subject::of(info),
            kind,
            reason,
            message,
        };
        if let Err(mpsc::error::TrySendError::Full(job)) = self.tx.try_send(job) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(namespace = %job.subject.namespace, name = %job.subject.name,
                    reason = job.reason, dropped = n,
                    "the event queue is full; dropping events");
            }
        }
    }
}

/// Starts the tasks that post bindings; a failed binding is reported back through `updates`.
fn start_binders(
    client: &Client,
    recorder: &Recorder,
    updates: &mpsc::Sender<Update>,
) -> mpsc::UnboundedSender<BindJob> {
    let (tx, rx) = mpsc::unbounded_channel::<BindJob>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..BIND_WORKERS {
        let rx = rx.clone();
        let client = client.clone();
        let recorder = recorder.clone();
        let updates = updates.clone();
        tokio::spawn(async move {
            loop {
                let job = rx.lock().await.recv().await;
                let Some(BindJob { info, node, entry }) = job else {
                    return;
                };
                match bind(&client, &info, &node).await {
                    Ok(()) => {
                        let msg = format!(
                            "Successfully assigned {}/{} to {node}",
                            info.namespace(),
                            info.name()
                        );
                        recorder.record(&info, "Normal", "Scheduled", msg);
                    }
                    Err(e) => {
                        let gone = binding_gone(&e);
                        tracing::warn!(object = %info.key, node = %node, error = %e, "binding failed");
                        if !gone {
                            recorder.record(
                                &info,
                                "Warning",
                                "FailedScheduling",
                                format!("Binding rejected: {e}"),
                            );
                        }
                        let failed = Update::BindFailed {
                            key: info.key.clone(),
                            entry,
                            gone,
                        };
                        if updates.send(failed).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    tx
}

/// Whether a refused binding says the pod no longer exists (404).
fn binding_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl State {
    /// A scheduler with nothing known yet, whose bindings and events go out through
    /// `client` and whose failed bindings come back through `updates`.
    fn new(
        algo: Algorithm,
        client: &Client,
        name: String,
        updates: &mpsc::Sender<Update>,
    ) -> State {
        let recorder = Recorder::start(client, &name);
        State {
            algo,
            cache: Cache::new(),
            queue: Queue::new(),
            client: client.clone(),
            name,
            binds: start_binders(client, &recorder, updates),
            recorder,
            labels: LabelSets::default(),
            listed_nodes: HashSet::new(),
            listed_pods: HashSet::new(),
            deleted_while_binding: HashSet::new(),
            nodes_synced: false,
            pods_synced: false,
        }
    }

    fn ours(&self, pod: &PodEvent) -> bool {
        pod.scheduler_name
            .as_deref()
            .unwrap_or(DEFAULT_SCHEDULER_NAME)
            == self.name
    }

    fn apply(&mut self, u: Update) {
        let now = Instant::now();
        match u {
            Update::NodesListed(nodes, part) => {
                if part.first {
                    self.listed_nodes.clear();
                }
                for n in nodes {
                    self.listed_nodes.insert(n.name.clone());
                    self.cache.upsert_node_info(n);
                }
                if part.last {
                    let listed = std::mem::take(&mut self.listed_nodes);
                    let gone: Vec<String> = self
                        .cache
                        .nodes()
                        .iter()
                        .filter(|n| !listed.contains(&n.name))
                        .map(|n| n.name.clone())
                        .collect();
                    for g in gone {
                        self.cache.remove_node(&g);
                    }
                    self.nodes_synced = true;
                }
                self.queue.cluster_changed();
            }
            Update::NodeApplied(n) => {
                self.cache.upsert_node_info(*n);
                self.queue.cluster_changed();
            }
            Update::NodeDeleted(name) => self.cache.remove_node(&name),
            Update::PodsListed(pods, part) => {
                if part.first {
                    self.listed_pods.clear();
                }
                for p in pods {
                    self.listed_pods.insert(p.info.key.clone());
                    self.apply_pod(p, now);
                }
                if part.last {
                    // A pod deleted while no watch ran is only seen missing from the list.
                    let listed = std::mem::take(&mut self.listed_pods);
                    let gone: HashSet<String> = self
                        .cache
                        .pod_keys()
                        .chain(self.queue.keys())
                        .filter(|k| !listed.contains(*k))
                        .map(str::to_owned)
                        .collect();
                    for key in gone {
                        self.forget_pod(&key);
                    }
                    self.queue.cluster_changed();
                    self.pods_synced = true;
                }
            }
            Update::PodApplied(p) => self.apply_pod(*p, now),
            Update::PodDeleted(key) => self.remove_pod(&key),
            Update::NamespacesListed(list) => {
                let names = list.iter().map(|n| n.name_any()).collect();
                self.cache.retain_namespaces(&names);
                for n in list {
                    self.cache
                        .set_namespace(&n.name_any(), Some(n.metadata.labels.unwrap_or_default()));
                }
                self.queue.cluster_changed();
            }
            Update::NamespaceApplied(n) => {
                self.cache
                    .set_namespace(&n.name_any(), Some(n.metadata.labels.unwrap_or_default()));
                self.queue.cluster_changed();
            }
            Update::NamespaceDeleted(name) => self.cache.set_namespace(&name, None),
            Update::PdbsListed(list) => {
                self.cache.clear_pdbs();
                for p in list {
                    self.cache.set_pdb(&pdb_key(&p), Some(pdb_info(&p)));
                }
            }
            Update::PdbApplied(p) => self.cache.set_pdb(&pdb_key(&p), Some(pdb_info(&p))),
            Update::PdbDeleted(key) => self.cache.set_pdb(&key, None),
            Update::OwnersListed(kind, list) => {
                let owners = self.cache.owners_mut();
                if kind == "Service" {
                    owners.services.clear();
                } else {
                    owners.controllers.retain(|(k, _, _), _| k != kind);
                }
                for o in list {
                    self.set_owner(kind, o, false);
                }
            }
            Update::OwnerApplied(kind, o) => self.set_owner(kind, o, false),
            Update::OwnerDeleted(kind, o) => self.set_owner(kind, o, true),
            Update::BindFailed { key, entry, gone } => {
                // Queueing a pod deleted while its binding was on its way would keep it forever.
                let deleted = self.deleted_while_binding.remove(&key);
                self.cache.forget(&key, &entry.item.uid);
                if !gone && !deleted {
                    self.queue.requeue_backoff(&key, entry, now);
                }
            }
        }
    }

    /// Forgets a pod that is gone: its place on a node, its nomination and its queue entry.
    /// Its room may let another pod fit.
    fn remove_pod(&mut self, key: &str) {
        self.forget_pod(key);
        self.queue.cluster_changed();
    }

    /// [`Self::remove_pod`] without telling the queue, for removing many pods at once.
    fn forget_pod(&mut self, key: &str) {
        if self.cache.is_assumed(key) {
            self.deleted_while_binding.insert(key.to_owned());
        }
        self.cache.remove_pod(key);
        self.cache.unnominate(key);
        self.queue.remove(key);
    }

    fn set_owner(&mut self, kind: &'static str, o: Owner, deleted: bool) {
        let owners = self.cache.owners_mut();
        match o.selector {
            Ok(map) => {
                let by_name = owners.services.entry(o.namespace.clone()).or_default();
                if deleted {
                    by_name.remove(&o.name);
                } else {
                    by_name.insert(o.name, map);
                }
                if by_name.is_empty() {
                    owners.services.remove(&o.namespace);
                }
            }
            Err(selector) => {
                let key = (kind.to_owned(), o.namespace, o.name);
                if deleted {
                    owners.controllers.remove(&key);
                } else {
                    owners.controllers.insert(key, selector);
                }
            }
        }
    }

    fn apply_pod(&mut self, pod: PodEvent, now: Instant) {
        let ours = self.ours(&pod);
        let PodEvent {
            mut info,
            node,
            terminal,
            ..
        } = pod;
        let key = info.key.clone();
        if terminal {
            // Finished pods hold no resources.
            self.remove_pod(&key);
            return;
        }
        info.share_labels(&mut self.labels);
        if node.is_none() && self.cache.is_bound(&key) {
            // A pod never goes from bound back to unbound: this is a new pod under the name of
            // one deleted while no watch ran. The old one's place on its node is freed.
            self.remove_pod(&key);
        }
        match node {
            Some(node) => {
                self.queue.remove(&key);
                self.cache.set_bound_pod(Arc::new(info), &node);
            }
            None if self.cache.is_assumed(&key) => {}
            None if ours && !info.terminating() => {
                let info = Arc::new(info);
                let nominated = info.nominated_node_name();
                if nominated.is_some() || self.cache.is_nominated(&key) {
                    self.cache.nominate(info.clone(), nominated);
                }
                // A change of status only (such as the condition this scheduler wrote) cannot
                // make the pod fit: it keeps its place and its backoff.
                let same = self
                    .queue
                    .item(&key)
                    .is_some_and(|old| old.same_for_scheduling(&info));
                if same {
                    self.queue.refresh(&key, info);
                    return;
                }
                let priority = info.priority;
                self.queue.add(&key, info, priority, now);
            }
            None => {
                self.queue.remove(&key);
                self.cache.unnominate(&key);
            }
        }
    }

    fn schedule_one(&mut self, key: String, entry: Entry<Arc<PodInfo>>) {
        let info = entry.item.clone();
        let span = tracing::info_span!("schedule", object = %key, uid = %info.uid);
        let _guard = span.enter();
        match self.algo.schedule_in(&info, &self.cache.snapshot()) {
            Ok(node) => {
                let reserved = self.algo.profile.run_reserve(&info, &node);
                if !reserved.is_success() {
                    let msg = reserved.reasons.join(", ");
                    tracing::info!(reason = %msg, "reserve failed");
                    self.queue.requeue_backoff(&key, entry, Instant::now());
                    self.report_unschedulable(&info, msg);
                    return;
                }
                if self.algo.profile.run_bind(&info, &node).is_none() {
                    tracing::warn!("no bind plugin took the pod");
                }
                // The assumed pod is the queued one (the binding backlog holds it anyway); the
                // bound version from the watch replaces it without its wants.
                self.cache.assume(info.clone(), &node);
                tracing::debug!(node = %node, "assumed");
                let job = BindJob { info, node, entry };
                if let Err(mpsc::error::SendError(job)) = self.binds.send(job) {
                    // The binding tasks are gone (shutting down): give the pod back.
                    self.cache.forget(&job.info.key, &job.info.uid);
                }
            }
            Err(err) => {
                let message = err.to_string();
                tracing::info!(reason = %message, "unschedulable");
                match err {
                    ScheduleError::Plugin(_) => {
                        self.queue.requeue_backoff(&key, entry, Instant::now())
                    }
                    ScheduleError::Unfit(fit) => {
                        self.queue
                            .requeue_unschedulable(&key, entry, Instant::now());
                        if let Some((node, victims)) = fit.nominated {
                            tracing::info!(node = %node, victims = victims.len(), "preempting");
                            // Counted on the node at once, before the API shows the nomination.
                            self.cache.nominate(info.clone(), Some(&node));
                            self.preempt(&info, node, victims);
                        }
                    }
                    ScheduleError::NoNodes => {
                        self.queue
                            .requeue_unschedulable(&key, entry, Instant::now())
                    }
                }
                self.report_unschedulable(&info, message);
            }
        }
    }

    /// Makes room for `info` on `node`: marks each victim with the `DisruptionTarget`
    /// condition, deletes it gracefully and records a `Preempted` event on it, then nominates
    /// the node in the preemptor's status. The preemptor is retried once the victims are gone.
    fn preempt(&self, info: &Arc<PodInfo>, node: String, victims: Vec<Arc<PodInfo>>) {
        let client = self.client.clone();
        let info = info.clone();
        let name = self.name.clone();
        tokio::spawn(async move {
            for victim in victims {
                let api: Api<Pod> = Api::namespaced(client.clone(), victim.namespace());
                let condition = serde_json::json!({"status": {"conditions": [{
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "PreemptionByScheduler",
                    "message": format!("{name}: preempting to accommodate a higher priority pod"),
                    "lastTransitionTime": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                }]}});
                if let Err(e) = api
                    .patch_status(
                        victim.name(),
                        &PatchParams::default(),
                        &Patch::Strategic(condition),
                    )
                    .await
                {
                    tracing::debug!(object = %victim.key, error = %e, "cannot mark the victim");
                }
                match api
                    .delete(victim.name(), &kube::api::DeleteParams::default())
                    .await
                {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 => continue,
                    Err(e) => {
                        tracing::warn!(object = %victim.key, error = %e, "cannot delete the victim");
                        continue;
                    }
                }
                let msg = format!("Preempted by pod {} on node {node}", info.uid);
                post_event(
                    &client,
                    &name,
                    &Subject::of(&victim),
                    "Normal",
                    "Preempted",
                    &msg,
                )
                .await;
            }
            let api: Api<Pod> = Api::namespaced(client, info.namespace());
            let patch = serde_json::json!({"status": {"nominatedNodeName": node}});
            if let Err(e) = api
                .patch_status(info.name(), &PatchParams::default(), &Patch::Merge(patch))
                .await
            {
                tracing::warn!(object = %info.key, error = %e, "cannot nominate the node");
            }
        });
    }

    fn report_unschedulable(&self, info: &Arc<PodInfo>, message: String) {
        let client = self.client.clone();
        let info = info.clone();
        self.recorder
            .record(&info, "Warning", "FailedScheduling", message.clone());
        tokio::spawn(async move {
            let patch = serde_json::json!({"status": {"conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": null,
                "lastTransitionTime": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            }]}});
            let api: Api<Pod> = Api::namespaced(client, info.namespace());
            if let Err(e) = api
                .patch_status(
                    info.name(),
                    &PatchParams::default(),
                    &Patch::Strategic(patch),
                )
                .await
            {
                tracing::warn!(object = %info.key, error = %e, "cannot set the PodScheduled condition");
            }
        });
    }
}

/// Posts the Binding that assigns the pod to `node`.
async fn bind(client: &Client, info: &PodInfo, node: &str) -> Result<(), kube::Error> {
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(info.name().to_owned()),
            namespace: Some(info.namespace().to_owned()),
            uid: (!info.uid.is_empty()).then(|| info.uid.clone()),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            api_version: Some("v1".into()),
            name: Some(node.to_owned()),
            ..ObjectReference::default()
        },
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), info.namespace());
    let _: serde_json::Value = api
        .create_subresource("binding", info.name(), &PostParams::default(), &binding)
        .await?;
    Ok(())
}

/// Records an event about the pod; failures are logged, never fatal.
async fn post_event(
    client: &Client,
    component: &str,
    subject: &Subject,
    kind: &str,
    reason: &str,
    message: &str,
) {
    let now = Timestamp::now();
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", subject.name, now.as_nanosecond())),
            namespace: Some(subject.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(Pod::api_version(&()).into_owned()),
            kind: Some("Pod".into()),
            name: Some(subject.name.clone()),
            namespace: Some(subject.namespace.clone()),
            uid: (!subject.uid.is_empty()).then(|| subject.uid.clone()),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some(kind.to_owned()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        reporting_component: Some(component.to_owned()),
        reporting_instance: Some(component.to_owned()),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &subject.namespace);
    if let Err(e) = api.create(&PostParams::default(), &event).await {
        tracing::warn!(namespace = %subject.namespace, name = %subject.name, reason, error = %e,
            "cannot post the event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scheduler state whose client points nowhere: applying updates sends nothing.
    fn state() -> (State, mpsc::Receiver<Update>) {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = Client::try_from(config).unwrap();
        let (tx, rx) = mpsc::channel(16);
        let algo = Algorithm::new(default_profile(DEFAULT_SCHEDULER_NAME).unwrap(), 1);
        let state = State::new(algo, &client, DEFAULT_SCHEDULER_NAME.to_owned(), &tx);
        (state, rx)
    }

    fn node(name: &str) -> NodeInfo {
        NodeInfo::new(
            &serde_json::from_value(json!({"metadata": {"name": name}, "status": {"allocatable":
                {"cpu": "4", "memory": "8Gi", "pods": "110"}}}))
            .unwrap(),
        )
    }

    fn pod(name: &str, spec: serde_json::Value, status: serde_json::Value) -> PodEvent {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": "1"}}}]);
        pod_event(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "default", "uid": name},
                "spec": spec, "status": status}))
            .unwrap(),
        )
    }

    fn part(first: bool, last: bool) -> ListPart {
        ListPart { first, last }
    }

    fn queued(state: &State) -> Vec<String> {
        let mut keys: Vec<String> = state.queue.keys().map(str::to_owned).collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn a_relist_forgets_pods_missing_from_it() {
        let (mut s, _rx) = state();
        s.apply(Update::NodesListed(vec![node("a")], part(true, true)));
        s.apply(Update::PodsListed(
            vec![
                pod(
                    "bound",
                    json!({"nodeName": "a"}),
                    json!({"phase": "Running"}),
                ),
                pod("pending", json!({}), json!({"phase": "Pending"})),
                pod(
                    "nominated",
                    json!({}),
                    json!({"phase": "Pending", "nominatedNodeName": "a"}),
                ),
            ],
            part(true, true),
        ));
        assert_eq!(s.cache.pod_count(), 1);
        assert_eq!(s.cache.node("a").unwrap().requested.milli_cpu, 1000);
        assert_eq!(queued(&s), ["default/nominated", "default/pending"]);
        assert!(s.cache.is_nominated("default/nominated"));

        // The watch broke and every one of those pods was deleted meanwhile; a new one came.
        // The relist arrives in two pages: nothing is dropped before the last.
        s.apply(Update::PodsListed(
            vec![pod("new", json!({}), json!({"phase": "Pending"}))],
            part(true, false),
        ));
        assert_eq!(s.cache.pod_count(), 1, "not dropped before the list ends");
        assert_eq!(
            queued(&s),
            ["default/new", "default/nominated", "default/pending"]
        );
        s.apply(Update::PodsListed(Vec::new(), part(false, true)));
        assert_eq!(
            s.cache.pod_count(),
            0,
            "the deleted bound pod is not counted"
        );
        assert_eq!(s.cache.node("a").unwrap().requested.milli_cpu, 0);
        assert_eq!(
            queued(&s),
            ["default/new"],
            "deleted pending pods are not queued"
        );
        assert!(!s.cache.is_nominated("default/nominated"));
    }

    #[tokio::test]
    async fn a_pod_deleted_while_its_binding_was_on_its_way_is_not_queued_again() {
        // Whatever the API answered for the deleted pod: 404, or 409 for a pod being deleted.
        for answered_404 in [true, false] {
            let (mut s, _rx) = state();
            s.apply(Update::NodesListed(vec![node("a")], part(true, true)));
            let pending = |name| pod(name, json!({}), json!({"phase": "Pending"}));
            s.apply(Update::PodsListed(
                vec![pending("gone"), pending("kept")],
                part(true, true),
            ));
            let mut bound = Vec::new();
            while let Some((key, entry)) = s.queue.pop(Instant::now()) {
                s.cache.assume(entry.item.clone(), "a");
                bound.push((key, entry));
            }
            assert_eq!(bound.len(), 2);
            s.apply(Update::PodDeleted("default/gone".into()));
            for (key, entry) in bound {
                let gone = answered_404 && key == "default/gone";
                s.apply(Update::BindFailed { key, entry, gone });
            }
            assert_eq!(queued(&s), ["default/kept"], "404: {answered_404}");
            assert_eq!(s.cache.pod_count(), 0);
            assert!(s.deleted_while_binding.is_empty());
        }
    }

    #[tokio::test]
    async fn a_pod_whose_node_went_away_while_binding_is_queued_again() {
        let (mut s, _rx) = state();
        s.apply(Update::NodesListed(vec![node("a")], part(true, true)));
        let pending = pod("p", json!({}), json!({"phase": "Pending"}));
        s.apply(Update::PodsListed(vec![pending], part(true, true)));
        let (key, entry) = s.queue.pop(Instant::now()).unwrap();
        s.cache.assume(entry.item.clone(), "a");
        // The node's removal drops the assumption; the pod itself still exists.
        s.apply(Update::NodeDeleted("a".into()));
        assert!(!s.cache.is_assumed(&key));
        s.apply(Update::BindFailed {
            key,
            entry,
            gone: false,
        });
        assert_eq!(queued(&s), ["default/p"]);
    }

    #[test]
    fn only_a_404_says_the_pod_is_gone() {
        let api = |code| {
            kube::Error::Api(
                kube::core::Status::failure("refused", "Conflict")
                    .with_code(code)
                    .boxed(),
            )
        };
        assert!(binding_gone(&api(404)));
        assert!(!binding_gone(&api(409)));
        assert!(!binding_gone(&api(500)));
    }

    #[tokio::test]
    async fn a_pod_recreated_unbound_under_a_bound_name_frees_the_old_place() {
        let (mut s, _rx) = state();
        s.apply(Update::NodesListed(vec![node("a")], part(true, true)));
        let bound = pod("p", json!({"nodeName": "a"}), json!({"phase": "Running"}));
        s.apply(Update::PodsListed(vec![bound], part(true, true)));
        assert_eq!(s.cache.node("a").unwrap().requested.milli_cpu, 1000);
        // The pod was deleted and created again while no watch ran: the relist shows it new.
        let new = pod("p", json!({}), json!({"phase": "Pending"}));
        s.apply(Update::PodsListed(vec![new], part(true, true)));
        assert_eq!(s.cache.pod_count(), 0);
        assert_eq!(s.cache.node("a").unwrap().requested.milli_cpu, 0);
        assert_eq!(queued(&s), ["default/p"]);
    }

    #[tokio::test]
    async fn a_relist_keeps_pods_listed_on_any_page() {
        let (mut s, _rx) = state();
        s.apply(Update::NodesListed(vec![node("a")], part(true, true)));
        let bound = || {
            pod(
                "bound",
                json!({"nodeName": "a"}),
                json!({"phase": "Running"}),
            )
        };
        let pending = || pod("pending", json!({}), json!({"phase": "Pending"}));
        s.apply(Update::PodsListed(
            vec![bound(), pending()],
            part(true, true),
        ));
        s.apply(Update::PodsListed(vec![pending()], part(true, false)));
        s.apply(Update::PodsListed(vec![bound()], part(false, true)));
        assert_eq!(s.cache.pod_count(), 1);
        assert_eq!(s.cache.node("a").unwrap().requested.milli_cpu, 1000);
        assert_eq!(queued(&s), ["default/pending"]);
        // Keys seen in an earlier, unfinished list do not count in the next one.
        s.apply(Update::PodsListed(
            vec![bound(), pending()],
            part(true, false),
        ));
        s.apply(Update::PodsListed(vec![pending()], part(true, true)));
        assert_eq!(s.cache.pod_count(), 0);
        assert_eq!(queued(&s), ["default/pending"]);
    }
}
