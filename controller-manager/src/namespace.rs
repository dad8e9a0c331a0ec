//! The `namespace` controller: empties a namespace that is being deleted, then releases it.
//!
//! For a namespace with a deletionTimestamp whose `spec.finalizers` still holds `kubernetes`,
//! a sync discovers every namespaced resource the API serves (listable and deletable), deletes
//! the namespace's objects of each, counts what remains and which finalizers hold it, reports
//! that in the namespace's conditions, and once nothing remains removes `kubernetes` through
//! the `finalize` subresource; the API server then removes the namespace. Objects that take
//! time to go (pods on a node, objects with finalizers) make the sync look again shortly.

use crate::hints::{self, is_status};
use crate::queue::{self, Outcome, WorkQueue};
use crate::{Context, SyncError};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResource, Time};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// How soon to look again while content remains.
const RECHECK: Duration = Duration::from_secs(1);

/// What one pass over a namespace's content found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Group versions whose resources could not be discovered, with the error.
    pub discovery_failures: Vec<String>,
    /// Resources (`plural.group`) whose content could not be deleted or listed.
    pub delete_failures: Vec<String>,
    /// Objects left per resource (`plural.group`).
    pub remaining: BTreeMap<String, usize>,
    /// Objects left per finalizer.
    pub finalizers: BTreeMap<String, usize>,
}

impl Report {
    /// Whether the namespace is empty and nothing failed.
    pub fn finished(&self) -> bool {
        self.discovery_failures.is_empty()
            && self.delete_failures.is_empty()
            && self.remaining.is_empty()
    }
}

fn condition(kind: &str, failing: bool, reason: &str, message: String) -> NamespaceCondition {
    NamespaceCondition {
        type_: kind.to_owned(),
        status: if failing { "True" } else { "False" }.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: None,
    }
}

fn counted(map: &BTreeMap<String, usize>, joiner: &str) -> String {
    map.iter()
        .map(|(what, n)| format!("{what} {joiner} {n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The deletion conditions a namespace reports for `report`, keeping the transition time of
/// each condition whose status did not change since `previous`.
pub fn conditions(
    report: &Report,
    previous: &[NamespaceCondition],
    now: Timestamp,
) -> Vec<NamespaceCondition> {
    let mut out = vec![
        if report.discovery_failures.is_empty() {
            condition(
                "NamespaceDeletionDiscoveryFailure",
                false,
                "ResourcesDiscovered",
                "All resources successfully discovered".into(),
            )
        } else {
            condition(
                "NamespaceDeletionDiscoveryFailure",
                true,
                "DiscoveryFailed",
                format!(
                    "Discovery failed for some groups, {} failing: {}",
                    report.discovery_failures.len(),
                    report.discovery_failures.join(", ")
                ),
            )
        },
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ),
        if report.delete_failures.is_empty() {
            condition(
                "NamespaceDeletionContentFailure",
                false,
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".into(),
            )
        } else {
            condition(
                "NamespaceDeletionContentFailure",
                true,
                "ContentDeletionFailed",
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    report.delete_failures.len(),
                    report.delete_failures.join(", ")
                ),
            )
        },
        if report.remaining.is_empty() {
            condition(
                "NamespaceContentRemaining",
                false,
                "ContentRemoved",
                "All content successfully removed".into(),
            )
        } else {
            condition(
                "NamespaceContentRemaining",
                true,
                "SomeResourcesRemain",
                format!(
                    "Some resources are remaining: {}",
                    counted(&report.remaining, "has")
                ),
            )
        },
        if report.finalizers.is_empty() {
            condition(
                "NamespaceFinalizersRemaining",
                false,
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        } else {
            condition(
                "NamespaceFinalizersRemaining",
                true,
                "SomeFinalizersRemain",
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    counted(&report.finalizers, "in")
                ),
            )
        },
    ];
    for c in &mut out {
        let before = previous.iter().find(|p| p.type_ == c.type_);
        c.last_transition_time = match before {
            Some(p) if p.status == c.status && p.last_transition_time.is_some() => {
                p.last_transition_time.clone()
            }
            _ => Some(Time(now)),
        };
    }
    out
}

/// Whether two condition lists say the same (transition times aside).
fn same_conditions(a: &[NamespaceCondition], b: &[NamespaceCondition]) -> bool {
    let key = |c: &NamespaceCondition| {
        (
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// A discovered resource to empty, with the verbs it supports.
struct Target {
    resource: ApiResource,
    deletecollection: bool,
}

/// `plural.group` as Kubernetes names a group resource in these messages (`pods.` for core).
fn group_resource(r: &ApiResource) -> String {
    format!("{}.{}", r.plural, r.group)
}

fn target(group: &str, version: &str, r: &APIResource) -> Option<Target> {
    let verbs = |v: &str| r.verbs.iter().any(|x| x == v);
    if !r.namespaced || r.name.contains('/') || !verbs("list") || !verbs("delete") {
        return None;
    }
    let api_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(Target {
        resource: ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version,
            kind: r.kind.clone(),
            plural: r.name.clone(),
        },
        deletecollection: verbs("deletecollection"),
    })
}

/// Every namespaced, listable and deletable resource the API serves (the preferred version of
/// each group), plus the group versions that failed.
async fn discover(client: &kube::Client) -> Result<(Vec<Target>, Vec<String>), kube::Error> {
    let mut targets = Vec::new();
    let mut failures = Vec::new();
    let core = client.list_core_api_versions().await?;
    for version in &core.versions {
        match client.list_core_api_resources(version).await {
            Ok(list) => {
                targets.extend(list.resources.iter().filter_map(|r| target("", version, r)))
            }
            Err(err) => failures.push(format!("{version}: {err}")),
        }
    }
    let groups = client.list_api_groups().await?;
    for group in &groups.groups {
        let Some(preferred) = group
            .preferred_version
            .as_ref()
            .or_else(|| group.versions.first())
        else {
            continue;
        };
        match client
            .list_api_group_resources(&preferred.group_version)
            .await
        {
            Ok(list) => targets.extend(
                list.resources
                    .iter()
                    .filter_map(|r| target(&group.name, &preferred.version, r)),
            ),
            Err(err) => failures.push(format!("{}: {err}", preferred.group_version)),
        }
    }
    Ok((targets, failures))
}

/// Deletes `ns`'s objects of every target and reports what is left.
async fn delete_content(client: &kube::Client, ns: &str, targets: &[Target], report: &mut Report) {
    let dp = DeleteParams::background();
    let lp = ListParams::default();
    for t in targets {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &t.resource);
        let name = group_resource(&t.resource);
        let deleted = if t.deletecollection {
            api.delete_collection(&dp, &lp).await.map(|_| ())
        } else {
            delete_one_by_one(&api, &dp).await
        };
        if let Err(err) = deleted {
            // Gone or refusing the verb: the listing below says whether anything is left.
            if !(is_status(&err, 404) || is_status(&err, 405)) {
                tracing::debug!(namespace = ns, resource = %name, error = %err, "deleting content failed");
                report.delete_failures.push(name.clone());
                continue;
            }
        }
        match api.list(&lp).await {
            Ok(list) if list.items.is_empty() => {}
            Ok(list) => {
                report.remaining.insert(name, list.items.len());
                for obj in &list.items {
                    for f in obj.metadata.finalizers.iter().flatten() {
                        *report.finalizers.entry(f.clone()).or_default() += 1;
                    }
                }
            }
            Err(err) if is_status(&err, 404) => {}
            Err(err) => {
                tracing::debug!(namespace = ns, resource = %name, error = %err, "listing content failed");
                report.delete_failures.push(name);
            }
        }
    }
}

async fn delete_one_by_one(api: &Api<DynamicObject>, dp: &DeleteParams) -> Result<(), kube::Error> {
    for obj in api.list(&ListParams::default()).await?.items {
        let Some(name) = obj.metadata.name.as_deref() else {
            continue;
        };
        match api.delete(name, dp).await {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Syncs namespace `ns`: nothing unless it is being deleted and still holds [`FINALIZER`].
pub async fn sync(client: kube::Client, ns: String) -> Result<Outcome, SyncError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let Some(namespace) = namespaces
        .get_opt(&ns)
        .await
        .map_err(SyncError::api("reading namespace", &ns))?
    else {
        return Ok(Outcome::Done);
    };
    let holds = |n: &Namespace| {
        n.spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
    };
    if namespace.metadata.deletion_timestamp.is_none() || !holds(&namespace) {
        return Ok(Outcome::Done);
    }
    let mut report = Report::default();
    match discover(&client).await {
        Ok((targets, failures)) => {
            report.discovery_failures = failures;
            delete_content(&client, &ns, &targets, &mut report).await;
        }
        Err(err) => report.discovery_failures.push(err.to_string()),
    }

    let previous = namespace
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let wanted = conditions(&report, &previous, Timestamp::now());
    if !same_conditions(&previous, &wanted) {
        let patch = serde_json::json!({"status": {"phase": "Terminating", "conditions": wanted}});
        match namespaces
            .patch_status(&ns, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(err) if is_status(&err, 404) => return Ok(Outcome::Done),
            Err(err) => return Err(SyncError::api("reporting namespace conditions", &ns)(err)),
        }
    }
    if !report.finished() {
        if !report.delete_failures.is_empty() || !report.discovery_failures.is_empty() {
            return Err(SyncError::Incomplete {
                namespace: ns,
                detail: wanted
                    .iter()
                    .filter(|c| c.status == "True")
                    .filter_map(|c| c.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        return Ok(Outcome::RequeueAfter(RECHECK));
    }

    // Empty: give up the finalizer. Read again so the write carries the current version.
    let Some(mut latest) = namespaces
        .get_opt(&ns)
        .await
        .map_err(SyncError::api("reading namespace", &ns))?
    else {
        return Ok(Outcome::Done);
    };
    if !holds(&latest) {
        return Ok(Outcome::Done);
    }
    if let Some(f) = latest.spec.as_mut().and_then(|s| s.finalizers.as_mut()) {
        f.retain(|x| x != FINALIZER);
    }
    match namespaces
        .replace_subresource("finalize", &ns, &PostParams::default(), &latest)
        .await
    {
        Ok(_) => {
            tracing::info!(controller = "namespace", object = %ns, "namespace emptied; finalizer removed");
            Ok(Outcome::Done)
        }
        Err(err) if is_status(&err, 404) => Ok(Outcome::Done),
        Err(err) => Err(SyncError::api("finalizing namespace", &ns)(err)),
    }
}

/// Runs the controller until the process stops.
pub async fn run(ctx: Arc<Context>) {
    let queue = WorkQueue::new();
    let client = ctx.client.clone();
    tokio::join!(
        hints::feed(
            "namespaces",
            Api::<Namespace>::all(client.clone()),
            None,
            queue.clone(),
            hints::name_of,
            ctx.resync,
        ),
        queue::run_workers(
            "namespace",
            queue.clone(),
            ctx.namespace_workers,
            move |ns| { sync(client.clone(), ns) }
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn by_type<'a>(cs: &'a [NamespaceCondition], t: &str) -> &'a NamespaceCondition {
        cs.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn an_empty_namespace_reports_every_condition_false() {
        let cs = conditions(&Report::default(), &[], now());
        assert_eq!(cs.len(), 5);
        assert!(cs.iter().all(|c| c.status == "False"));
        assert_eq!(
            by_type(&cs, "NamespaceContentRemaining").reason.as_deref(),
            Some("ContentRemoved")
        );
        assert!(Report::default().finished());
    }

    #[test]
    fn remaining_content_and_finalizers_are_counted() {
        let report = Report {
            remaining: BTreeMap::from([("configmaps.".into(), 1), ("pods.".into(), 2)]),
            finalizers: BTreeMap::from([("example.com/keep".into(), 1)]),
            ..Report::default()
        };
        assert!(!report.finished());
        let cs = conditions(&report, &[], now());
        let remaining = by_type(&cs, "NamespaceContentRemaining");
        assert_eq!(remaining.status, "True");
        assert_eq!(
            remaining.message.as_deref(),
            Some("Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances")
        );
        let finalizers = by_type(&cs, "NamespaceFinalizersRemaining");
        assert_eq!(finalizers.reason.as_deref(), Some("SomeFinalizersRemain"));
        assert_eq!(
            finalizers.message.as_deref(),
            Some("Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances")
        );
    }

    #[test]
    fn failures_are_reported() {
        let report = Report {
            discovery_failures: vec!["example.com/v1: boom".into()],
            delete_failures: vec!["widgets.example.com".into()],
            ..Report::default()
        };
        let cs = conditions(&report, &[], now());
        assert_eq!(
            by_type(&cs, "NamespaceDeletionDiscoveryFailure").status,
            "True"
        );
        let content = by_type(&cs, "NamespaceDeletionContentFailure");
        assert_eq!(content.reason.as_deref(), Some("ContentDeletionFailed"));
        assert_eq!(
            content.message.as_deref(),
            Some("Failed to delete all resource types, 1 remaining: widgets.example.com")
        );
        assert!(!report.finished());
    }

    #[test]
    fn transition_times_move_only_when_status_changes() {
        let earlier: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        let first = conditions(&Report::default(), &[], earlier);
        let same = conditions(&Report::default(), &first, now());
        assert!(same_conditions(&first, &same));
        assert!(same
            .iter()
            .all(|c| c.last_transition_time == Some(Time(earlier))));
        let report = Report {
            remaining: BTreeMap::from([("pods.".into(), 1)]),
            ..Report::default()
        };
        let changed = conditions(&report, &first, now());
        assert!(!same_conditions(&first, &changed));
        assert_eq!(
            by_type(&changed, "NamespaceContentRemaining").last_transition_time,
            Some(Time(now()))
        );
        assert_eq!(
            by_type(&changed, "NamespaceFinalizersRemaining").last_transition_time,
            Some(Time(earlier))
        );
    }

    #[test]
    fn only_namespaced_listable_deletable_resources_are_targets() {
        let r = |name: &str, namespaced: bool, verbs: &[&str]| APIResource {
            name: name.into(),
            kind: "K".into(),
            namespaced,
            singular_name: String::new(),
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            ..APIResource::default()
        };
        let all = ["list", "delete", "deletecollection"];
        let t = target("apps", "v1", &r("deployments", true, &all)).unwrap();
        assert_eq!(t.resource.api_version, "apps/v1");
        assert!(t.deletecollection);
        assert_eq!(group_resource(&t.resource), "deployments.apps");
        let core = target("", "v1", &r("pods", true, &["list", "delete"])).unwrap();
        assert_eq!(core.resource.api_version, "v1");
        assert!(!core.deletecollection);
        assert!(target("", "v1", &r("nodes", false, &all)).is_none());
        assert!(target("", "v1", &r("pods/status", true, &all)).is_none());
        assert!(target("", "v1", &r("bindings", true, &["create"])).is_none());
    }
}
