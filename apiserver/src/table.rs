//! Server-side Tables for `kubectl get`: the columns come from `berth_api_types::tables`.

use berth_api_types::catalog::ResourceInfo;
use serde_json::{json, Value};

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The full object.
    Object,
}

/// Parses `includeObject`.
pub fn include_object(value: Option<&str>) -> IncludeObject {
    match value {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A Table of `items`.
pub fn build(
    resource: &ResourceInfo,
    items: &[Value],
    include: IncludeObject,
    resource_version: &str,
    continue_token: &str,
) -> Value {
    let now = now_seconds();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut row = json!({"cells": berth_api_types::tables::row_cells(resource.group, resource.kind, obj, now)});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = berth_api_types::tables::partial_object_metadata(obj),
                IncludeObject::Object => row["object"] = obj.clone(),
            }
            row
        })
        .collect();
    let columns: Vec<Value> = berth_api_types::tables::columns(resource.group, resource.kind)
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.type_,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let mut metadata = json!({"resourceVersion": resource_version});
    if !continue_token.is_empty() {
        metadata["continue"] = json!(continue_token);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}
