//! Per-resource behaviour: the small hooks the generic registry calls.
//!
//! Each hook is a match on the resource, so a new kind's special cases are all in one place
//! and the generic path stays free of kind-specific code.

use berth_api_types::catalog::ResourceInfo;
use serde_json::{json, Value};

/// Whether spec changes bump `metadata.generation` for this resource.
pub fn uses_generation(r: &ResourceInfo) -> bool {
    matches!(
        (r.group, r.plural),
        ("apps", _)
            | ("batch", _)
            | ("", "replicationcontrollers")
            | ("networking.k8s.io", "ingresses" | "networkpolicies")
            | ("policy", "poddisruptionbudgets")
    )
}

/// Whether a PUT of a missing object creates it (as Kubernetes allows for these kinds).
pub fn allow_create_on_update(r: &ResourceInfo) -> bool {
    matches!(
        (r.group, r.plural),
        ("", "endpoints")
            | ("", "events")
            | ("events.k8s.io", "events")
            | ("coordination.k8s.io", "leases")
            | ("rbac.authorization.k8s.io", _)
            | ("", "limitranges")
    )
}

/// Whether objects of this resource hold ClusterIPs and NodePorts from the allocator.
pub fn allocates_service_addresses(r: &ResourceInfo) -> bool {
    r.group.is_empty() && r.plural == "services"
}

/// Whether a write through `subresource` is checked against the kind's update rules
/// (immutable fields). A binding is the one sanctioned change of a pod's spec, its node.
pub fn checks_update_rules(subresource: Option<&str>) -> bool {
    subresource != Some("binding")
}

pub(crate) fn has_status(r: &ResourceInfo) -> bool {
    r.subresource("status").is_some()
}

/// Defaults a new object gets before its creator's fields are recorded (they belong to the
/// creator): a namespace's `kubernetes.io/metadata.name` label.
pub fn default_on_create(r: &ResourceInfo, obj: &mut Value) {
    if (r.group, r.plural) == ("", "namespaces") {
        label_namespace_name(obj);
    }
}

fn label_namespace_name(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let (Some(name), Some(meta)) = (name, obj.get_mut("metadata")) {
        if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        } else {
            meta["labels"] = json!({"kubernetes.io/metadata.name": name});
        }
    }
}

/// Server-side fields of a new object.
pub fn prepare_for_create(r: &ResourceInfo, obj: &mut Value) {
    match (r.group, r.plural) {
        ("", "namespaces") => {
            obj["status"] = json!({"phase": "Active"});
            let finalizers = obj.pointer("/spec/finalizers").cloned();
            if finalizers.is_none() {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
            }
            // A generated name is known only now.
            label_namespace_name(obj);
        }
        ("", "pods") => {
            obj["status"] = json!({"phase": "Pending", "qosClass": qos_class(obj)});
            add_default_tolerations(obj);
            merge_affinity_label_keys(obj);
        }
        ("batch", "jobs") => {
            generate_job_selector(obj);
            if let Some(map) = obj.as_object_mut() {
                map.remove("status");
            }
        }
        _ if has_status(r) => {
            if let Some(map) = obj.as_object_mut() {
                map.remove("status");
            }
        }
        _ => {}
    }
}

/// How long a pod stays on a node that is not ready or unreachable before it is evicted,
/// unless it says otherwise.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Merges the pod's own label values into its pod (anti-)affinity terms, as a new pod is
/// stored: each `matchLabelKeys` key the pod has a label for becomes `key In (value)` in the
/// term's labelSelector, each `mismatchLabelKeys` key `key NotIn (value)`. Keys the pod has
/// no label for, and terms without a labelSelector (which select nothing), are left alone.
fn merge_affinity_label_keys(pod: &mut Value) {
    let labels = pod
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(affinity) = pod
        .pointer_mut("/spec/affinity")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(kind) = affinity.get_mut(kind).and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(terms) = kind
            .get_mut("requiredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array_mut)
        {
            for term in terms {
                merge_term_label_keys(term, &labels);
            }
        }
        if let Some(weighted) = kind
            .get_mut("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array_mut)
        {
            for w in weighted {
                if let Some(term) = w.get_mut("podAffinityTerm") {
                    merge_term_label_keys(term, &labels);
                }
            }
        }
    }
}

fn merge_term_label_keys(term: &mut Value, labels: &serde_json::Map<String, Value>) {
    let mut added = Vec::new();
    for (field, operator) in [("matchLabelKeys", "In"), ("mismatchLabelKeys", "NotIn")] {
        for key in term
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(value) = labels.get(key).and_then(Value::as_str) {
                added.push(json!({"key": key, "operator": operator, "values": [value]}));
            }
        }
    }
    let Some(selector) = term.get_mut("labelSelector").and_then(Value::as_object_mut) else {
        return;
    };
    if added.is_empty() {
        return;
    }
    match selector
        .get_mut("matchExpressions")
        .and_then(Value::as_array_mut)
    {
        Some(expressions) => expressions.extend(added),
        None => {
            selector.insert("matchExpressions".into(), Value::Array(added));
        }
    }
}

/// Gives a new pod tolerations of `node.kubernetes.io/not-ready` and
/// `node.kubernetes.io/unreachable` (NoExecute, for [`DEFAULT_TOLERATION_SECONDS`]) unless it
/// already tolerates them, so the node lifecycle controller evicts it from a failed node after
/// that time rather than at once.
fn add_default_tolerations(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    let Some(list) = tolerations.as_array_mut() else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = list.iter().any(|t| {
            let field = |name| t.get(name).and_then(Value::as_str).unwrap_or_default();
            (field("key") == key || field("key").is_empty())
                && (field("effect") == "NoExecute" || field("effect").is_empty())
        });
        if !tolerated {
            list.push(json!({
                "key": key,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}

/// Gives a Job without `manualSelector: true` the selector and pod labels Kubernetes
/// generates from its uid, so its pods are its own even if names repeat.
fn generate_job_selector(job: &mut Value) {
    if job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let uid = job
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(spec) = job.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    if spec.get("selector").is_some_and(|s| !s.is_null()) {
        // A selector the user set without manualSelector is validated (and refused) later.
        return;
    }
    spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    let template = &mut spec["template"];
    if !template.is_object() {
        *template = json!({});
    }
    let meta = &mut template["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    let labels = &mut meta["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[k] = json!(v);
    }
}

/// Carries over what an update of the main resource (or of `subresource`) may not change.
pub fn prepare_for_update(
    r: &ResourceInfo,
    subresource: Option<&str>,
    new: &mut Value,
    old: &Value,
) {
    if r.group.is_empty() && r.plural == "services" && subresource.is_none() {
        carry_service_allocations(new, old);
    }
    if r.group.is_empty() && r.plural == "namespaces" && subresource.is_none() {
        keep_namespace_finalizers(new, old);
    }
    if !has_status(r) {
        return;
    }
    match subresource {
        // The main resource ignores status; the status subresource ignores everything else.
        None => match old.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => {
                if let Some(map) = new.as_object_mut() {
                    map.remove("status");
                }
            }
        },
        Some("status") => {
            let status = new.get("status").cloned();
            let mut merged = old.clone();
            if let Some(m) = merged.get_mut("metadata") {
                m["resourceVersion"] = new
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                if m["resourceVersion"].is_null() {
                    if let Some(map) = m.as_object_mut() {
                        map.remove("resourceVersion");
                    }
                }
            }
            match status {
                Some(s) => merged["status"] = s,
                None => {
                    if let Some(map) = merged.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            *new = merged;
        }
        Some("finalize") if r.plural == "namespaces" => {
            let finalizers = new.pointer("/spec/finalizers").cloned();
            let mut merged = old.clone();
            merged["spec"] = json!({"finalizers": finalizers.unwrap_or(json!([]))});
            *new = merged;
        }
        Some(_) => {}
    }
}

/// Keeps a namespace's `spec.finalizers` on updates of the main resource: they guard the
/// deletion of the namespace's content and only the `finalize` subresource changes them.
fn keep_namespace_finalizers(new: &mut Value, old: &Value) {
    let kept = old.pointer("/spec/finalizers").cloned();
    if !new.get("spec").is_some_and(Value::is_object) {
        new["spec"] = json!({});
    }
    match kept {
        Some(f) => new["spec"]["finalizers"] = f,
        None => {
            if let Some(spec) = new["spec"].as_object_mut() {
                spec.remove("finalizers");
            }
        }
    }
}

/// Keeps a Service's allocated addresses and node ports when an update leaves them out, as
/// `kubectl apply` and `replace` of a manifest without them do.
fn carry_service_allocations(new: &mut Value, old: &Value) {
    let Some(old_spec) = old.get("spec") else {
        return;
    };
    if new.get("spec").is_none_or(|s| !s.is_object()) {
        return;
    }
    let same_type = new
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        == old_spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP");
    let unset = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    if unset(new.pointer("/spec/clusterIP"))
        && new.pointer("/spec/type").and_then(Value::as_str) != Some("ExternalName")
    {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if let Some(v) = old_spec.get(field) {
                if unset(new.pointer(&format!("/spec/{field}"))) {
                    new["spec"][field] = v.clone();
                }
            }
        }
    }
    if !same_type {
        return;
    }
    let old_ports: Vec<&Value> = old_spec
        .get("ports")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for p in ports {
            if p.get("nodePort")
                .is_some_and(|n| n.as_i64().unwrap_or(0) != 0)
            {
                continue;
            }
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_owned();
            let held = old_ports.iter().find(|o| {
                o.get("port") == p.get("port")
                    && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == proto
            });
            if let Some(n) = held.and_then(|o| o.get("nodePort")) {
                p["nodePort"] = n.clone();
            }
        }
    }
}

/// Whether a kind-specific finalizer (a namespace's `spec.finalizers`) still holds the object.
pub fn finalizers_done(r: &ResourceInfo, obj: &Value) -> bool {
    if r.group.is_empty() && r.plural == "namespaces" {
        return obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
    }
    true
}

/// Adds the finalizers a deletion with `propagation` asks for; returns whether the object must
/// wait for finalizers instead of being removed at once.
pub fn finalizers_on_delete(r: &ResourceInfo, obj: &mut Value, propagation: Option<&str>) -> bool {
    let extra = match propagation {
        Some("Orphan") => Some("orphan"),
        Some("Foreground") => Some("foregroundDeletion"),
        _ => None,
    };
    if let Some(f) = extra {
        let meta = &mut obj["metadata"];
        match meta.get_mut("finalizers").and_then(Value::as_array_mut) {
            Some(list) => {
                if !list.iter().any(|v| v == f) {
                    list.push(json!(f));
                }
            }
            None => meta["finalizers"] = json!([f]),
        }
    }
    let has_meta_finalizers = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    has_meta_finalizers || !finalizers_done(r, obj)
}

/// How long a deletion waits for the object's owner to finish it: only pods that a node may be
/// running wait (their kubelet stops the containers, then deletes with grace 0).
pub fn grace_period(r: &ResourceInfo, obj: &Value, requested: Option<i64>) -> i64 {
    if !(r.group.is_empty() && r.plural == "pods") {
        return 0;
    }
    let scheduled = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !scheduled || finished {
        return 0;
    }
    let default = obj
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(30);
    // A negative request means "use the default"; zero means "now".
    match requested {
        Some(g) if g >= 0 => g,
        _ => default.max(0),
    }
}

/// Kind-specific marks of an object that starts terminating.
pub fn prepare_for_delete(r: &ResourceInfo, obj: &mut Value) {
    if r.group.is_empty() && r.plural == "namespaces" {
        obj["status"] = json!({"phase": "Terminating"});
    }
}

/// The QoS class of a pod, from its containers' requests and limits.
pub fn qos_class(pod: &Value) -> &'static str {
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array))
        .flatten();
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = c.pointer("/resources/requests").and_then(Value::as_object);
        let limits = c.pointer("/resources/limits").and_then(Value::as_object);
        for res in ["cpu", "memory"] {
            let req = requests.and_then(|m| m.get(res));
            let lim = limits.and_then(|m| m.get(res));
            if req.is_some() || lim.is_some() {
                any = true;
            }
            match (req, lim) {
                (_, None) => guaranteed = false,
                (Some(q), Some(l)) if q != l => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_label_keys_are_merged_into_the_selector_of_a_new_pod() {
        let mut pod = json!({
            "metadata": {"labels": {"app": "web", "pod-template-hash": "abc", "tenant": "t1"}},
            "spec": {"affinity": {
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"app": "web"}},
                    "matchLabelKeys": ["pod-template-hash", "missing"],
                    "topologyKey": "zone",
                }]},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "podAffinityTerm": {
                        "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                        "mismatchLabelKeys": ["tenant"],
                        "topologyKey": "host",
                    }},
                    {"weight": 2, "podAffinityTerm": {
                        "matchLabelKeys": ["app"],
                        "topologyKey": "host",
                    }},
                ]},
            }},
        });
        merge_affinity_label_keys(&mut pod);
        let affinity = &pod["spec"]["affinity"];
        assert_eq!(
            affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
                ["labelSelector"],
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "pod-template-hash", "operator": "In", "values": ["abc"]},
            ]})
        );
        let preferred =
            &affinity["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
        assert_eq!(
            preferred[0]["podAffinityTerm"]["labelSelector"]["matchExpressions"],
            json!([
                {"key": "app", "operator": "Exists"},
                {"key": "tenant", "operator": "NotIn", "values": ["t1"]},
            ])
        );
        // No labelSelector: the term selects nothing and stays as it is.
        assert!(preferred[1]["podAffinityTerm"]
            .get("labelSelector")
            .is_none());
        // The keys themselves are kept.
        assert_eq!(
            affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
                ["matchLabelKeys"],
            json!(["pod-template-hash", "missing"])
        );
    }

    #[test]
    fn new_pods_tolerate_failed_nodes_for_five_minutes_unless_they_say_otherwise() {
        let mut plain = json!({"spec": {"containers": [{"name": "a"}]}});
        add_default_tolerations(&mut plain);
        assert_eq!(
            plain["spec"]["tolerations"],
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        );
        let own = json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2});
        let mut custom = json!({"spec": {"tolerations": [own.clone()]}});
        add_default_tolerations(&mut custom);
        let list = custom["spec"]["tolerations"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], own);
        assert_eq!(list[1]["key"], "node.kubernetes.io/not-ready");
        // A toleration of every taint covers both.
        let mut all = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        add_default_tolerations(&mut all);
        assert_eq!(all["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn qos_classes() {
        let cases = [
            (
                json!({"spec": {"containers": [{"name": "a"}]}}),
                "BestEffort",
            ),
            (
                json!({"spec": {"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]}}),
                "Guaranteed",
            ),
            (
                json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}}),
                "Burstable",
            ),
        ];
        for (pod, want) in cases {
            assert_eq!(qos_class(&pod), want, "{pod}");
        }
    }

    #[test]
    fn jobs_get_a_generated_selector() {
        let jobs = berth_api_types::catalog::find("batch", "jobs").unwrap();
        let mut job =
            json!({"metadata": {"name": "j", "uid": "u-1"}, "spec": {"template": {"spec": {}}}});
        prepare_for_create(jobs, &mut job);
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["job-name"],
            "j"
        );
        let mut manual = json!({"metadata": {"name": "m", "uid": "u"}, "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}}}});
        prepare_for_create(jobs, &mut manual);
        assert_eq!(
            manual["spec"]["selector"],
            json!({"matchLabels": {"a": "b"}})
        );
    }

    #[test]
    fn status_updates_keep_everything_but_status() {
        let pods = berth_api_types::catalog::find("", "pods").unwrap();
        let old = json!({"metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"phase": "Pending"}});
        let mut new = json!({"metadata": {"name": "p", "labels": {"a": "2"}, "resourceVersion": "5"}, "spec": {"x": 2}, "status": {"phase": "Running"}});
        prepare_for_update(pods, Some("status"), &mut new, &old);
        assert_eq!(new["spec"], json!({"x": 1}));
        assert_eq!(new["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(new["status"], json!({"phase": "Running"}));
        let mut main =
            json!({"metadata": {"name": "p"}, "spec": {"x": 3}, "status": {"phase": "Failed"}});
        prepare_for_update(pods, None, &mut main, &old);
        assert_eq!(main["status"], json!({"phase": "Pending"}));
        assert_eq!(main["spec"], json!({"x": 3}));
    }
}
