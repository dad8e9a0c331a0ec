//! Admission that reads other objects, per kind: the generic registry calls
//! [`admit_create`] for every new object after namespace lifecycle and before defaulting.
//! Today that is pod priority: a new pod's `priorityClassName` (or the cluster's global
//! default class) resolved into `spec.priority` and `spec.preemptionPolicy`.

use crate::registry::{meta, ListOptions, Registry};
use crate::request::ResourceRequest;
use crate::status::{ApiError, ApiResult};
use berth_store::keys;
use serde_json::{json, Value};

/// The built-in PriorityClasses every cluster has.
pub const SYSTEM_PRIORITY_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// The built-in PriorityClass called `name`, as an object.
pub fn system_priority_class(name: &str) -> Option<Value> {
    let (name, value, description) = SYSTEM_PRIORITY_CLASSES
        .iter()
        .find(|(n, _, _)| *n == name)?;
    Some(
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": name}, "value": value, "description": description,
        "preemptionPolicy": "PreemptLowerPriority"}),
    )
}

/// What admission reads of a PriorityClass.
struct Class {
    name: Option<String>,
    value: i64,
    global_default: bool,
    preemption_policy: String,
}

impl Class {
    /// Reads a class from a decoded object; missing fields and fields of another type take
    /// their defaults (a class or metadata that is not a JSON object is refused).
    fn of(c: &Value) -> ApiResult<Class> {
        Self::from_stored(serde::Deserialize::deserialize(c))
    }

    /// Reads a class from its stored JSON, decoding only the fields admission reads.
    fn read(bytes: &[u8]) -> ApiResult<Class> {
        Self::from_stored(serde_json::from_slice(bytes))
    }

    fn from_stored(stored: Result<StoredClass, serde_json::Error>) -> ApiResult<Class> {
        let c =
            stored.map_err(|e| ApiError::internal(format!("a PriorityClass is not valid: {e}")))?;
        Ok(Class {
            name: c
                .metadata
                .and_then(|m| m.name)
                .and_then(|n| n.as_str().map(str::to_owned)),
            value: c.value.and_then(|v| v.as_i64()).unwrap_or(0),
            global_default: c.global_default.and_then(|v| v.as_bool()) == Some(true),
            preemption_policy: c
                .preemption_policy
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "PreemptLowerPriority".to_owned()),
        })
    }
}

/// The fields of a PriorityClass that admission reads, each as found (odd types included).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredClass {
    metadata: Option<StoredClassMeta>,
    value: Option<Value>,
    global_default: Option<Value>,
    preemption_policy: Option<Value>,
}

#[derive(serde::Deserialize)]
struct StoredClassMeta {
    name: Option<Value>,
}

/// Admission of a new object of the request's resource.
pub async fn admit_create(
    registry: &Registry,
    r: &ResourceRequest,
    obj: &mut Value,
) -> ApiResult<()> {
    let res = r.resource;
    if res.group.is_empty() && res.plural == "pods" && r.subresource.is_none() {
        admit_pod_priority(registry, obj).await?;
    }
    Ok(())
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).get(field).and_then(Value::as_str)
}

/// Resolves a new pod's `priorityClassName` (or the global default class) into
/// `spec.priority` and `spec.preemptionPolicy`, refusing unknown classes and values that
/// contradict the class.
pub async fn admit_pod_priority(registry: &Registry, obj: &mut Value) -> ApiResult<()> {
    let pod_name = meta_str(obj, "name")
        .or_else(|| meta_str(obj, "generateName"))
        .unwrap_or_default()
        .to_owned();
    let forbidden = |msg: String| {
        ApiError::forbidden(format!("pods \"{pod_name}\" is forbidden: {msg}"))
            .with_details("", "pods", &pod_name)
    };
    let class_name = obj
        .pointer("/spec/priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let Some(classes) = berth_api_types::catalog::find("scheduling.k8s.io", "priorityclasses")
    else {
        return Ok(());
    };
    let class: Option<Class> = if class_name.is_empty() {
        // The classes come from the watch cache when it is ready, as an admission lister
        // would read them (no consistent read on every pod create); the store otherwise.
        let prefix = keys::collection_prefix(classes, None);
        let cached = registry
            .cache()
            .and_then(|c| c.list(&prefix, None, None, 0, |_| true));
        let items = match cached {
            Some(page) => page
                .items
                .iter()
                .map(|e| Class::read(&e.bytes))
                .collect::<ApiResult<Vec<Class>>>()?,
            None => {
                let r = ResourceRequest {
                    resource: classes,
                    namespace: None,
                    name: None,
                    subresource: None,
                    verb: "list",
                };
                registry
                    .list(&r, &ListOptions::default())
                    .await?
                    .items
                    .iter()
                    .map(Class::of)
                    .collect::<ApiResult<Vec<Class>>>()?
            }
        };
        // With several global defaults, the lowest value wins.
        items
            .into_iter()
            .filter(|c| c.global_default)
            .min_by_key(|c| c.value)
    } else {
        let key = keys::object_key(classes, None, &class_name);
        match registry.store().get(&key).await? {
            (Some(kv), _) => Some(Class::read(&kv.value)?),
            (None, _) => match system_priority_class(&class_name) {
                Some(c) => Some(Class::of(&c)?),
                None => {
                    return Err(forbidden(format!(
                        "no PriorityClass with name {class_name} was found"
                    )))
                }
            },
        }
    };
    let (value, policy) = match &class {
        Some(c) => (c.value, c.preemption_policy.clone()),
        None => (0, "PreemptLowerPriority".to_owned()),
    };
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
        if given != value {
            return Err(forbidden(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; \
                 priority admission controller computed {value} from the given PriorityClass name"
            )));
        }
    }
    if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str) {
        if given != policy {
            return Err(forbidden(format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod \
                 spec; priority admission controller computed {policy} from the given \
                 PriorityClass name"
            )));
        }
    }
    if let Some(c) = &class {
        if class_name.is_empty() {
            if let Some(n) = &c.name {
                spec.insert("priorityClassName".into(), json!(n));
            }
        }
    }
    spec.insert("priority".into(), json!(value));
    spec.insert("preemptionPolicy".into(), json!(policy));
    Ok(())
}
