//! Server-side Tables for `kubectl get`; the columns and cells come from
//! `berth_api_types::tables`.

use berth_api_types::catalog::ResourceInfo;
pub use berth_api_types::tables::IncludeObject;
use berth_api_types::tables::TableMeta;
use serde_json::Value;

/// Parses `includeObject` (default: metadata only).
pub fn include_object(value: Option<&str>) -> IncludeObject {
    value
        .and_then(IncludeObject::parse)
        .unwrap_or(IncludeObject::Metadata)
}

pub(crate) fn now_seconds() -> i64 {
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
    let meta = TableMeta {
        resource_version,
        continue_token,
        remaining_item_count: None,
    };
    berth_api_types::tables::build_table(
        resource.group,
        resource.kind,
        items,
        include,
        &meta,
        now_seconds(),
    )
}
