//! The three patch types kubectl sends, applied to a stored object.

use crate::status::{ApiError, ApiResult};
use berth_api_types::catalog::ResourceInfo;
use serde_json::Value;

/// A parsed patch body.
pub enum Patch {
    /// RFC 6902 JSON patch (`application/json-patch+json`).
    Json(json_patch::Patch),
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge(Value),
    /// Strategic merge patch (`application/strategic-merge-patch+json`).
    Strategic(Value),
}

impl Patch {
    /// Parses a patch body of the given media type.
    pub fn parse(content_type: &str, body: &[u8]) -> ApiResult<Self> {
        let json = |what: &str| -> ApiResult<Value> {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding {what} patch: {e}")))
        };
        match content_type {
            "application/json-patch+json" => {
                let v = json("JSON")?;
                let p: json_patch::Patch = serde_json::from_value(v)
                    .map_err(|e| ApiError::bad_request(format!("the JSON patch is invalid: {e}")))?;
                Ok(Patch::Json(p))
            }
            "application/merge-patch+json" => Ok(Patch::Merge(object(json("merge")?)?)),
            "application/strategic-merge-patch+json" => Ok(Patch::Strategic(object(json("strategic merge")?)?)),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Err(ApiError::unsupported_media_type(
                content_type,
                &[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                ],
            )
            .with_message(
                "server-side apply is not supported by this Berth server yet; use client-side `kubectl apply` \
                 (without --server-side). Supported patch types: application/json-patch+json, \
                 application/merge-patch+json, application/strategic-merge-patch+json",
            )),
            other => Err(ApiError::unsupported_media_type(
                other,
                &[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/strategic-merge-patch+json",
                    "application/apply-patch+yaml",
                ],
            )),
        }
    }

    /// Applies the patch to the current object of `resource`.
    pub fn apply(&self, resource: &ResourceInfo, current: &Value) -> ApiResult<Value> {
        self.apply_kind(resource.group, resource.kind, current)
    }

    /// Applies the patch to an object of the given group and kind.
    pub fn apply_kind(&self, group: &str, kind: &str, current: &Value) -> ApiResult<Value> {
        match self {
            Patch::Json(p) => {
                let mut doc = current.clone();
                json_patch::patch(&mut doc, p).map_err(|e| {
                    ApiError::invalid_message(format!(
                        "the server rejected our request due to an error in our request: {e}"
                    ))
                })?;
                Ok(doc)
            }
            Patch::Merge(p) => {
                let mut doc = current.clone();
                json_patch::merge(&mut doc, p);
                Ok(doc)
            }
            Patch::Strategic(p) => berth_api_types::strategic_merge::apply(group, kind, current, p)
                .map_err(|e| match e.http_status() {
                    400 => ApiError::bad_request(e.to_string()),
                    422 => ApiError::invalid_message(e.to_string()),
                    _ => ApiError::unknown(e.to_string()),
                }),
        }
    }
}

fn object(v: Value) -> ApiResult<Value> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::bad_request("the patch must be a JSON object"))
    }
}
