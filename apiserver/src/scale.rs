//! The `scale` subresource: an `autoscaling/v1` Scale view of a workload's replica count.

use crate::registry::meta;
use crate::status::{ApiError, ApiResult};
use berth_api_types::labels::LabelSelector;
use serde_json::{json, Value};

/// The Scale view of a deployment, replicaset, statefulset or replicationcontroller.
pub fn to_scale(obj: &Value) -> Value {
    let m = meta(obj);
    let mut metadata = json!({});
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = m.get(field) {
            metadata[field] = v.clone();
        }
    }
    let spec_replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let status_replicas = obj
        .pointer("/status/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut status = json!({"replicas": status_replicas});
    if let Some(selector) = selector_string(obj) {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": spec_replicas},
        "status": status,
    })
}

/// The workload's selector in label-selector string form, as Scale reports it.
fn selector_string(obj: &Value) -> Option<String> {
    let selector = obj.pointer("/spec/selector")?;
    // ReplicationControllers have a plain map; the apps kinds a LabelSelector.
    let parsed =
        if selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some() {
            let api: berth_api_types::k8s::apimachinery::pkg::apis::meta::v1::LabelSelector =
                serde_json::from_value(selector.clone()).ok()?;
            LabelSelector::from_api(&api).ok()?
        } else {
            let map: std::collections::BTreeMap<String, String> =
                serde_json::from_value(selector.clone()).ok()?;
            LabelSelector::from_map(&map)
        };
    Some(parsed.to_string())
}

/// Writes the replica count of `scale` into the workload, checking the Scale's own rules.
pub fn apply_scale(obj: &Value, scale: &Value) -> ApiResult<Value> {
    if let Some(k) = scale.get("kind").and_then(Value::as_str) {
        if k != "Scale" {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind (Scale)"
            )));
        }
    }
    let name = meta(obj)
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // As for any update, the body names the object of the URL (a missing name included).
    crate::registry::check_name(scale, &name)?;
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(i64::from)
            .ok_or_else(|| {
                // Not an int32 at all: Kubernetes fails the Scale at decoding.
                ApiError::bad_request(format!(
                    "Scale in version \"v1\" cannot be handled as a Scale: spec.replicas: expected an int32, got {v}"
                ))
            })?,
    };
    if replicas < 0 {
        let err = berth_api_types::validation::FieldError::invalid(
            &berth_api_types::validation::Path::new("spec").child("replicas"),
            json!(replicas),
            "must be greater than or equal to 0",
        );
        return Err(ApiError::invalid("autoscaling", "Scale", &name, &[err]));
    }
    let mut new = obj.clone();
    new["spec"]["replicas"] = json!(replicas);
    // A resourceVersion in the Scale is a precondition on the workload.
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        if !rv.is_empty() {
            new["metadata"]["resourceVersion"] = json!(rv);
        }
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view_of_a_deployment() {
        let deploy = json!({
            "metadata": {"name": "web", "namespace": "d", "uid": "u", "resourceVersion": "7"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 2},
        });
        let scale = to_scale(&deploy);
        assert_eq!(scale["spec"]["replicas"], 3);
        assert_eq!(
            scale["status"],
            json!({"replicas": 2, "selector": "app=web"})
        );
        assert_eq!(scale["metadata"]["resourceVersion"], "7");
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"replicas": 1, "selector": {"b": "2", "a": "1"}}});
        assert_eq!(to_scale(&rc)["status"]["selector"], "a=1,b=2");
    }

    #[test]
    fn applying_a_scale() {
        let deploy = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3}});
        let out = apply_scale(
            &deploy,
            &json!({"metadata": {"name": "web"}, "spec": {"replicas": 5}}),
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 5);
        assert_eq!(
            apply_scale(
                &deploy,
                &json!({"metadata": {"name": "web"}, "spec": {"replicas": -1}})
            )
            .unwrap_err()
            .code,
            422
        );
        assert_eq!(
            apply_scale(
                &deploy,
                &json!({"metadata": {"name": "web"}, "spec": {"replicas": "x"}})
            )
            .unwrap_err()
            .code,
            400
        );
        for other in [json!({"name": "db"}), json!({})] {
            let err = apply_scale(
                &deploy,
                &json!({"metadata": other, "spec": {"replicas": 5}}),
            )
            .unwrap_err();
            assert_eq!((err.code, err.reason), (400, "BadRequest"));
        }
        for replicas in [
            json!(2_147_483_648_i64),
            json!(-2_147_483_649_i64),
            json!(1.5),
        ] {
            let err = apply_scale(
                &deploy,
                &json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas}}),
            )
            .unwrap_err();
            assert_eq!((err.code, err.reason), (400, "BadRequest"), "{replicas}");
        }
        assert_eq!(
            apply_scale(&deploy, &json!({"kind": "Pod"}))
                .unwrap_err()
                .code,
            400
        );
    }
}
