//! Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` shows.
//!
//! kubectl does not format objects itself. It asks for
//! `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the cells it gets back, so the
//! columns, their order and every cell's text (`1/1`, `CrashLoopBackOff`, `3 (5m ago)`,
//! `80:30080/TCP`, `<none>`) must be exactly what a Kubernetes v1.33 API server sends, or
//! kubectl against Berth would not look like kubectl against Kubernetes.
//!
//! Each kind with its own columns has one entry in a static registry: its column
//! definitions and a function from the object (held as JSON) to its cells. Kinds without an
//! entry get the generic columns `Name` and `Created At`, as Kubernetes gives them.
//!
//! Like Kubernetes, Berth always fills the wide (`-o wide`, priority 1) columns too; kubectl
//! hides them unless asked. Cells are strings, integers or booleans, as in Kubernetes: the
//! JSON type of a cell follows what Kubernetes puts in it, not the column's declared type
//! (the `Data` column of Secrets is declared a string but holds a count).
//!
//! Reading is forgiving: a missing field, or a field of the wrong type, prints the placeholder
//! Kubernetes prints for an absent value. Nothing here panics or fails.
//!
//! Time comes from the caller as seconds since the Unix epoch, so the module stays pure and
//! ages in tests are exact.

mod cluster;
mod core;
mod format;
mod time;
mod value;
mod workloads;

use serde_json::{json, Map, Value};

use crate::k8s::jiff::Timestamp;

pub use time::human_duration;

/// One column of a table, as `columnDefinitions` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDefinition {
    /// Header text; kubectl prints it upper-cased (`Nominated Node` → `NOMINATED NODE`).
    pub name: &'static str,
    /// OpenAPI type of the column: `string`, `integer`, `boolean` or `date`.
    pub type_: &'static str,
    /// `name` for the column holding the object's name, otherwise empty.
    pub format: &'static str,
    /// What the column shows, for clients that display descriptions.
    pub description: &'static str,
    /// 0 for the default columns, 1 for those kubectl shows only with `-o wide`.
    pub priority: i32,
}

impl ColumnDefinition {
    /// The column as it appears in a Table's `columnDefinitions`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The `Name` column every object table starts with.
const fn name_column() -> ColumnDefinition {
    ColumnDefinition {
        name: "Name",
        type_: "string",
        format: "name",
        description: "Name of the object, unique within its namespace (or the cluster).",
        priority: 0,
    }
}

/// The `Age` column: the time since the object was created.
const fn age_column() -> ColumnDefinition {
    column("Age", "string", "Time since the object was created.")
}

/// A default (priority 0) column.
const fn column(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> ColumnDefinition {
    ColumnDefinition {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

/// A column shown only with `-o wide` (priority 1).
const fn wide(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> ColumnDefinition {
    ColumnDefinition {
        name,
        type_,
        format: "",
        description,
        priority: 1,
    }
}

/// The wide `Containers` column of the workload kinds.
const fn containers_column() -> ColumnDefinition {
    wide(
        "Containers",
        "string",
        "Names of the containers in the pod template.",
    )
}

/// The wide `Images` column of the workload kinds.
const fn images_column() -> ColumnDefinition {
    wide(
        "Images",
        "string",
        "Images of the containers in the pod template.",
    )
}

/// The wide `Selector` column of the workload kinds.
const fn selector_column() -> ColumnDefinition {
    wide(
        "Selector",
        "string",
        "Label selector of the pods this object manages.",
    )
}

/// Columns of kinds without their own printer.
static DEFAULT_COLUMNS: &[ColumnDefinition] = &[
    name_column(),
    ColumnDefinition {
        name: "Created At",
        type_: "date",
        format: "",
        description: "When the object was created (RFC 3339, UTC).",
        priority: 0,
    },
];

/// How one kind is printed: its columns and the cells of one object.
struct Printer {
    /// API group, empty for the core group.
    group: &'static str,
    /// Kind of the objects.
    kind: &'static str,
    /// Column definitions, default and wide, in order.
    columns: &'static [ColumnDefinition],
    /// The cells of one object, one per column, given the current time.
    cells: fn(&Value, Timestamp) -> Vec<Value>,
}

/// Every kind with its own columns.
static PRINTERS: &[Printer] = &[
    printer("", "Pod", workloads::POD_COLUMNS, workloads::pod_cells),
    printer(
        "",
        "PodTemplate",
        workloads::POD_TEMPLATE_COLUMNS,
        workloads::pod_template_cells,
    ),
    printer(
        "",
        "ReplicationController",
        workloads::REPLICATION_CONTROLLER_COLUMNS,
        workloads::replication_controller_cells,
    ),
    printer("", "Service", core::SERVICE_COLUMNS, core::service_cells),
    printer(
        "",
        "Endpoints",
        core::ENDPOINTS_COLUMNS,
        core::endpoints_cells,
    ),
    printer(
        "",
        "ConfigMap",
        core::CONFIG_MAP_COLUMNS,
        core::config_map_cells,
    ),
    printer("", "Secret", core::SECRET_COLUMNS, core::secret_cells),
    printer(
        "",
        "Namespace",
        core::NAMESPACE_COLUMNS,
        core::namespace_cells,
    ),
    printer("", "Node", core::NODE_COLUMNS, core::node_cells),
    printer(
        "",
        "ServiceAccount",
        core::SERVICE_ACCOUNT_COLUMNS,
        core::service_account_cells,
    ),
    printer(
        "",
        "ResourceQuota",
        core::RESOURCE_QUOTA_COLUMNS,
        core::resource_quota_cells,
    ),
    printer("", "Event", core::EVENT_COLUMNS, core::event_cells),
    printer(
        "events.k8s.io",
        "Event",
        core::EVENT_COLUMNS,
        core::events_v1_event_cells,
    ),
    printer("", "Status", core::STATUS_COLUMNS, core::status_cells),
    printer(
        "apps",
        "Deployment",
        workloads::DEPLOYMENT_COLUMNS,
        workloads::deployment_cells,
    ),
    printer(
        "apps",
        "ReplicaSet",
        workloads::REPLICA_SET_COLUMNS,
        workloads::replica_set_cells,
    ),
    printer(
        "apps",
        "DaemonSet",
        workloads::DAEMON_SET_COLUMNS,
        workloads::daemon_set_cells,
    ),
    printer(
        "apps",
        "StatefulSet",
        workloads::STATEFUL_SET_COLUMNS,
        workloads::stateful_set_cells,
    ),
    printer(
        "apps",
        "ControllerRevision",
        workloads::CONTROLLER_REVISION_COLUMNS,
        workloads::controller_revision_cells,
    ),
    printer("batch", "Job", workloads::JOB_COLUMNS, workloads::job_cells),
    printer(
        "batch",
        "CronJob",
        workloads::CRON_JOB_COLUMNS,
        workloads::cron_job_cells,
    ),
    printer(
        "policy",
        "PodDisruptionBudget",
        workloads::POD_DISRUPTION_BUDGET_COLUMNS,
        workloads::pod_disruption_budget_cells,
    ),
    printer(
        "discovery.k8s.io",
        "EndpointSlice",
        core::ENDPOINT_SLICE_COLUMNS,
        core::endpoint_slice_cells,
    ),
    printer(
        "networking.k8s.io",
        "Ingress",
        cluster::INGRESS_COLUMNS,
        cluster::ingress_cells,
    ),
    printer(
        "networking.k8s.io",
        "IngressClass",
        cluster::INGRESS_CLASS_COLUMNS,
        cluster::ingress_class_cells,
    ),
    printer(
        "networking.k8s.io",
        "NetworkPolicy",
        cluster::NETWORK_POLICY_COLUMNS,
        cluster::network_policy_cells,
    ),
    printer(
        "coordination.k8s.io",
        "Lease",
        cluster::LEASE_COLUMNS,
        cluster::lease_cells,
    ),
    printer(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        cluster::ROLE_BINDING_COLUMNS,
        cluster::role_binding_cells,
    ),
    printer(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        cluster::CLUSTER_ROLE_BINDING_COLUMNS,
        cluster::role_binding_cells,
    ),
    printer(
        "scheduling.k8s.io",
        "PriorityClass",
        cluster::PRIORITY_CLASS_COLUMNS,
        cluster::priority_class_cells,
    ),
    printer(
        "node.k8s.io",
        "RuntimeClass",
        cluster::RUNTIME_CLASS_COLUMNS,
        cluster::runtime_class_cells,
    ),
    printer(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        cluster::CSR_COLUMNS,
        cluster::csr_cells,
    ),
];

/// Builds a registry entry.
const fn printer(
    group: &'static str,
    kind: &'static str,
    columns: &'static [ColumnDefinition],
    cells: fn(&Value, Timestamp) -> Vec<Value>,
) -> Printer {
    Printer {
        group,
        kind,
        columns,
        cells,
    }
}

/// The registry entry of a kind, if it has its own columns.
fn find_printer(group: &str, kind: &str) -> Option<&'static Printer> {
    PRINTERS.iter().find(|p| p.group == group && p.kind == kind)
}

/// Whether `group`/`kind` has its own columns (otherwise it gets `Name` and `Created At`).
pub fn has_printer(group: &str, kind: &str) -> bool {
    find_printer(group, kind).is_some()
}

/// The column definitions Kubernetes v1.33 uses for `group`/`kind`, default and wide, in
/// order. Kinds without their own columns (Roles, ClusterRoles, LimitRanges, custom kinds)
/// get `Name` and `Created At`.
pub fn columns(group: &str, kind: &str) -> &'static [ColumnDefinition] {
    find_printer(group, kind).map_or(DEFAULT_COLUMNS, |p| p.columns)
}

/// The cells of one object, one per entry of [`columns`], formatted as Kubernetes v1.33
/// formats them at the moment `now_unix` (seconds since the Unix epoch).
pub fn row_cells(group: &str, kind: &str, object: &Value, now_unix: i64) -> Vec<Value> {
    let now = time::timestamp_from_unix(now_unix);
    match find_printer(group, kind) {
        Some(printer) => (printer.cells)(object, now),
        None => vec![
            Value::from(value::str_at(object, &["metadata", "name"])),
            Value::from(time::created_at(object)),
        ],
    }
}

/// What each row carries besides its cells: the `includeObject` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// `None`: rows carry no object (`"object": null`).
    None,
    /// `Metadata`, the default: rows carry a `PartialObjectMetadata` with the object's
    /// metadata, which kubectl reads for `-A`, `--show-labels` and `-L`.
    #[default]
    Metadata,
    /// `Object`: rows carry the whole object (kubectl asks for it with `--sort-by`).
    Object,
}

impl IncludeObject {
    /// Reads the `includeObject` query parameter; the empty string means the default,
    /// [`IncludeObject::Metadata`]. Any other value is not accepted and gives `None`.
    pub fn parse(value: &str) -> Option<IncludeObject> {
        match value {
            "" | "Metadata" => Some(IncludeObject::Metadata),
            "None" => Some(IncludeObject::None),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

/// The list metadata a Table carries; empty strings and `None` are left out of the JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableMeta<'a> {
    /// Resource version of the list, or of the object for a one-object Table.
    pub resource_version: &'a str,
    /// Token for the next page of a paginated list.
    pub continue_token: &'a str,
    /// How many items remain after this page, when known.
    pub remaining_item_count: Option<i64>,
}

/// The `PartialObjectMetadata` a row carries by default: the object's whole `metadata`
/// under `kind: PartialObjectMetadata`, `apiVersion: meta.k8s.io/v1`.
pub fn partial_object_metadata(object: &Value) -> Value {
    let metadata = match object.get("metadata") {
        Some(Value::Object(metadata)) => Value::Object(metadata.clone()),
        _ => Value::Object(Map::new()),
    };
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
    })
}

/// One row of a table: its cells, the object as `include` asks, and for finished pods the
/// `Completed` row condition Kubernetes adds.
pub fn table_row(
    group: &str,
    kind: &str,
    object: &Value,
    include: IncludeObject,
    now_unix: i64,
) -> Value {
    let mut row = Map::new();
    row.insert(
        "cells".to_owned(),
        Value::Array(row_cells(group, kind, object, now_unix)),
    );
    if group.is_empty() && kind == "Pod" {
        if let Some(conditions) = workloads::pod_row_conditions(object) {
            row.insert("conditions".to_owned(), conditions);
        }
    }
    let embedded = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => partial_object_metadata(object),
        IncludeObject::Object => object.clone(),
    };
    row.insert("object".to_owned(), embedded);
    Value::Object(row)
}

/// A whole `meta.k8s.io/v1` Table for `objects` of `group`/`kind`: a list (any number of
/// rows, zero included) or a single object (one row), with every column definition.
pub fn build_table(
    group: &str,
    kind: &str,
    objects: &[Value],
    include: IncludeObject,
    meta: &TableMeta<'_>,
    now_unix: i64,
) -> Value {
    let mut metadata = Map::new();
    if !meta.resource_version.is_empty() {
        metadata.insert("resourceVersion".to_owned(), meta.resource_version.into());
    }
    if !meta.continue_token.is_empty() {
        metadata.insert("continue".to_owned(), meta.continue_token.into());
    }
    if let Some(remaining) = meta.remaining_item_count {
        metadata.insert("remainingItemCount".to_owned(), remaining.into());
    }
    let column_definitions: Vec<Value> = columns(group, kind)
        .iter()
        .map(ColumnDefinition::to_json)
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| table_row(group, kind, object, include, now_unix))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests;
