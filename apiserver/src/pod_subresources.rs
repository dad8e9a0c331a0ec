//! The pod subresources the scheduler and controllers write: `binding` (assign a pod to a
//! node) and `eviction` (delete a pod unless a disruption budget forbids it).

use crate::registry::{labels_of, meta, ListOptions, Registry};
use crate::request::ResourceRequest;
use crate::status::{ApiError, ApiResult};
use berth_api_types::labels::LabelSelector;
use serde_json::{json, Value};

/// Assigns the pod to the node the Binding names; a pod already assigned, being deleted, or
/// with another uid than the Binding's `metadata.uid` is a conflict.
pub async fn bind(
    registry: &Registry,
    r: &ResourceRequest,
    name: &str,
    binding: &Value,
    dry_run: bool,
) -> ApiResult<Value> {
    if let Some(k) = binding.get("kind").and_then(Value::as_str) {
        if k != "Binding" {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind (Binding)"
            )));
        }
    }
    if let Some(n) = binding.pointer("/metadata/name").and_then(Value::as_str) {
        if n != name {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
    }
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let target = berth_api_types::validation::Path::new("target");
    let mut errors = Vec::new();
    // A pod is bound to a node only (an empty kind means a node).
    match binding.pointer("/target/kind") {
        None | Some(Value::Null) => {}
        Some(Value::String(k)) if k.is_empty() || k == "Node" => {}
        Some(other) => errors.push(berth_api_types::validation::FieldError::not_supported(
            &target.child("kind"),
            other.clone(),
            &["Node", "<empty>"],
        )),
    }
    if node.is_empty() {
        errors.push(berth_api_types::validation::FieldError::required(
            &target.child("name"),
            "",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid("", "Binding", name, &errors));
    }
    // A Binding that names the pod's uid binds only that pod, not a new one of the same name.
    let uid = binding
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    registry
        .modify(r, name, dry_run, |pod| {
            if let Some(uid) = &uid {
                let current = meta(pod).get("uid").and_then(Value::as_str).unwrap_or("");
                if current != uid {
                    return Err(ApiError::conflict(
                        "",
                        "pods",
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {current}"
                        ),
                    ));
                }
            }
            if meta(pod)
                .get("deletionTimestamp")
                .is_some_and(|v| !v.is_null())
            {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    name,
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            match pod.pointer("/spec/nodeName").and_then(Value::as_str) {
                Some(current) if !current.is_empty() => Err(ApiError::conflict(
                    "",
                    "pods",
                    name,
                    &format!("pod {name} is already assigned to node \"{current}\""),
                )),
                _ => {
                    let mut new = pod.clone();
                    new["spec"]["nodeName"] = json!(node);
                    Ok(new)
                }
            }
        })
        .await?;
    // The status change goes through the status path so it is not discarded as a spec write.
    let mut status_request = r.clone();
    status_request.subresource = Some("status".into());
    if !dry_run {
        registry
            .modify(&status_request, name, false, |pod| {
                let mut new = pod.clone();
                let condition = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": crate::registry::now_rfc3339()});
                let conditions = new["status"]["conditions"].as_array().cloned().unwrap_or_default();
                let mut kept: Vec<Value> = conditions.into_iter().filter(|c| c["type"] != "PodScheduled").collect();
                kept.push(condition);
                new["status"]["conditions"] = Value::Array(kept);
                if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                Ok(new)
            })
            .await?;
    }
    Ok(crate::status::success_created())
}

/// Deletes the pod unless a PodDisruptionBudget covering it allows no disruption now.
pub async fn evict(
    registry: &Registry,
    r: &ResourceRequest,
    name: &str,
    eviction: &Value,
    dry_run: bool,
) -> ApiResult<Value> {
    if let Some(k) = eviction.get("kind").and_then(Value::as_str) {
        if k != "Eviction" {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind (Eviction)"
            )));
        }
    }
    if let Some(n) = eviction.pointer("/metadata/name").and_then(Value::as_str) {
        if n != name {
            return Err(ApiError::bad_request(
                "name in URL does not match name in Eviction object",
            ));
        }
    }
    let options = eviction
        .get("deleteOptions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    crate::registry::check_delete_options(&options)?;
    let mut pod_request = r.clone();
    pod_request.subresource = None;
    let pod = registry.get(&pod_request, name).await?;
    let terminal = matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !terminal {
        if let Some(pdbs) = berth_api_types::catalog::find("policy", "poddisruptionbudgets") {
            let pdb_request = ResourceRequest {
                resource: pdbs,
                namespace: r.namespace.clone(),
                name: None,
                subresource: None,
                verb: "list",
            };
            let page = registry.list(&pdb_request, &ListOptions::default()).await?;
            let labels = labels_of(&pod);
            for pdb in &page.items {
                let Some(selector) = pdb.pointer("/spec/selector") else {
                    continue;
                };
                let Ok(api) = serde_json::from_value(selector.clone()) else {
                    continue;
                };
                let Ok(selector) = LabelSelector::from_api(&api) else {
                    continue;
                };
                if selector.is_empty() || !selector.matches(&labels) {
                    continue;
                }
                let allowed = pdb
                    .pointer("/status/disruptionsAllowed")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if allowed < 1 {
                    let pdb_name = meta(pdb)
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    return Err(ApiError::too_many_requests(format!(
                        "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {pdb_name} needs more healthy pods"
                    )));
                }
            }
        }
    }
    registry
        .delete(&pod_request, name, &options, dry_run)
        .await?;
    Ok(crate::status::success_created())
}
