//! Strategic-merge-patch metadata for the kinds Berth serves.
//!
//! A strategic merge patch (the default of `kubectl apply`, `edit`, `patch`, `set` and
//! `rollout restart`) merges some lists element by element, keyed by a field such as `name`,
//! and replaces the others whole. Which lists merge, on which key, and which objects keep only
//! the keys a patch lists (`retainKeys`) is fixed per field by Kubernetes' API types. The
//! generated Rust types carry none of it, so this module holds that table.
//!
//! The table is a tree of named object types. Each type lists the fields a patch engine needs
//! to know about: lists (with their strategy and merge key), nested objects that lead to such
//! lists or carry a strategy themselves, and maps. A field that is not listed behaves as an
//! untagged field does in Kubernetes: an object or map merges key by key, a list is replaced
//! whole. A caller starts at [`root_type`] for a kind and walks down with [`TypeRef::field`],
//! or looks a whole path up with [`lookup`].
//!
//! Lists Kubernetes marks atomic, or leaves untagged, are listed too where users commonly patch
//! them (tolerations, taints, rules, ...), so that their replace semantics is explicit and
//! tested rather than implied.

use std::fmt;

/// How a strategic merge patch combines a field, from Kubernetes' `patchStrategy` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PatchStrategy {
    /// No strategy: a list is replaced whole (atomic); an object or map merges key by key.
    #[default]
    Replace,
    /// A list merges element by element: on the merge key for objects, as a set for scalars.
    Merge,
    /// An object keeps only the keys the patch names (`$retainKeys`), after merging.
    RetainKeys,
    /// A list merges by key, and each element keeps only the keys the patch names.
    MergeRetainKeys,
}

impl PatchStrategy {
    /// Whether a list with this strategy merges element by element.
    pub fn merges(self) -> bool {
        matches!(self, Self::Merge | Self::MergeRetainKeys)
    }

    /// Whether `$retainKeys` applies to the object (or to each list element).
    pub fn retains_keys(self) -> bool {
        matches!(self, Self::RetainKeys | Self::MergeRetainKeys)
    }

    /// The value Kubernetes publishes as `x-kubernetes-patch-strategy`, or `None` when the
    /// field has no strategy.
    pub fn tag(self) -> Option<&'static str> {
        match self {
            Self::Replace => None,
            Self::Merge => Some("merge"),
            Self::RetainKeys => Some("retainKeys"),
            Self::MergeRetainKeys => Some("merge,retainKeys"),
        }
    }

    /// Parses a `patchStrategy` / `x-kubernetes-patch-strategy` value: a comma-separated set of
    /// `merge` and `retainKeys`, empty meaning no strategy.
    pub fn parse(tag: &str) -> Result<Self, PatchMetaError> {
        let mut merge = false;
        let mut retain = false;
        if !tag.is_empty() {
            for part in tag.split(',') {
                let seen = match part {
                    "merge" => &mut merge,
                    "retainKeys" => &mut retain,
                    _ => return Err(PatchMetaError::UnknownStrategy(tag.to_string())),
                };
                if *seen {
                    return Err(PatchMetaError::UnknownStrategy(tag.to_string()));
                }
                *seen = true;
            }
        }
        Ok(match (merge, retain) {
            (false, false) => Self::Replace,
            (true, false) => Self::Merge,
            (false, true) => Self::RetainKeys,
            (true, true) => Self::MergeRetainKeys,
        })
    }
}

/// Errors from reading patch metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchMetaError {
    /// A patch strategy tag that is not a set of `merge` and `retainKeys`.
    #[error("unknown patch strategy {0:?}: expected \"merge\", \"retainKeys\" or both")]
    UnknownStrategy(String),
}

/// The JSON shape of a described field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldShape {
    /// A nested object with named fields.
    Object,
    /// A list.
    List,
    /// A map from free-form string keys to values (labels, resource quantities, ...). The
    /// values of the maps in the served kinds are scalars, quantities or string lists, so a
    /// walk never continues past a map.
    Map,
}

/// How a strategic merge patch treats one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ListMeta {
    /// The list's strategy; [`PatchStrategy::Replace`] for atomic or untagged lists.
    pub strategy: PatchStrategy,
    /// The element field that identifies an element when the list merges; `None` for atomic
    /// lists and for merged lists of scalars (which merge as sets).
    pub merge_key: Option<&'static str>,
}

/// What the patch engine needs to know about one field of an object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMeta {
    /// JSON field name.
    pub name: &'static str,
    /// Whether the field holds an object, a list or a map.
    pub shape: FieldShape,
    /// The field's patch strategy.
    pub strategy: PatchStrategy,
    /// For a merged list of objects, the element field that identifies an element.
    pub merge_key: Option<&'static str>,
    /// The type of the object (for an object field) or of each element (for a list), when it
    /// has described fields of its own; `None` for scalars and for types with nothing to
    /// describe.
    pub child: Option<TypeRef>,
}

impl FieldMeta {
    /// The list strategy and merge key, if the field is a list.
    pub fn list_meta(&self) -> Option<ListMeta> {
        (self.shape == FieldShape::List).then_some(ListMeta {
            strategy: self.strategy,
            merge_key: self.merge_key,
        })
    }
}

/// A named object type in the patch-metadata tree, such as `PodSpec`.
#[derive(Clone, Copy)]
pub struct TypeRef(&'static TypeDef);

/// The static description behind a [`TypeRef`].
struct TypeDef {
    name: &'static str,
    fields: &'static [FieldMeta],
}

impl TypeRef {
    /// The type's name, as Kubernetes' API types call it (`PodSpec`, `Container`, ...).
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// The described field `name`; `None` when the field is not described (it then follows
    /// the untagged rules: objects and maps merge, lists are replaced).
    pub fn field(&self, name: &str) -> Option<FieldMeta> {
        self.0.fields.iter().find(|f| f.name == name).copied()
    }

    /// All described fields of the type.
    pub fn fields(&self) -> impl Iterator<Item = FieldMeta> {
        self.0.fields.iter().copied()
    }
}

impl PartialEq for TypeRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for TypeRef {}

impl fmt::Debug for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeRef({})", self.0.name)
    }
}

/// The type at the root of objects of `kind` in `group` (empty for core), for every kind
/// Berth serves (and the `autoscaling/v1` `Scale` of the scale subresources).
pub fn root_type(group: &str, kind: &str) -> Option<TypeRef> {
    ROOTS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, t)| TypeRef(t))
}

/// The field at `path` below the root of `kind` in `group`, such as
/// `["spec", "template", "spec", "containers"]` in a Deployment.
///
/// Each segment names a field. List elements are walked implicitly: after a list field, the
/// next segment names a field of the list's element type (`spec.containers.ports` reaches
/// the ports of every container). `None` when the kind is not served, the path is empty, or a
/// segment is not described.
pub fn lookup(group: &str, kind: &str, path: &[&str]) -> Option<FieldMeta> {
    lookup_in(root_type(group, kind)?, path)
}

/// The field at `path` below the type `root`, walked as [`lookup`] does.
pub fn lookup_in(root: TypeRef, path: &[&str]) -> Option<FieldMeta> {
    let (first, rest) = path.split_first()?;
    let mut field = root.field(first)?;
    for segment in rest {
        field = field.child?.field(segment)?;
    }
    Some(field)
}

// ---- field constructors ----

/// A nested object with its own described fields; merged key by key.
const fn object(name: &'static str, ty: &'static TypeDef) -> FieldMeta {
    FieldMeta {
        name,
        shape: FieldShape::Object,
        strategy: PatchStrategy::Replace,
        merge_key: None,
        child: Some(TypeRef(ty)),
    }
}

/// A nested object whose merge keeps only the keys the patch names.
const fn retain_keys_object(name: &'static str) -> FieldMeta {
    FieldMeta {
        name,
        shape: FieldShape::Object,
        strategy: PatchStrategy::RetainKeys,
        merge_key: None,
        child: None,
    }
}

/// A list of objects merged on `key`.
const fn merge_list(
    name: &'static str,
    key: &'static str,
    element: Option<&'static TypeDef>,
) -> FieldMeta {
    list(name, PatchStrategy::Merge, Some(key), element)
}

/// A list of objects merged on `key`, each element keeping only the keys the patch names.
const fn merge_retain_list(
    name: &'static str,
    key: &'static str,
    element: Option<&'static TypeDef>,
) -> FieldMeta {
    list(name, PatchStrategy::MergeRetainKeys, Some(key), element)
}

/// A list of scalars merged as a set.
const fn set_list(name: &'static str) -> FieldMeta {
    list(name, PatchStrategy::Merge, None, None)
}

/// A list replaced whole.
const fn atomic_list(name: &'static str) -> FieldMeta {
    list(name, PatchStrategy::Replace, None, None)
}

const fn list(
    name: &'static str,
    strategy: PatchStrategy,
    merge_key: Option<&'static str>,
    element: Option<&'static TypeDef>,
) -> FieldMeta {
    let child = match element {
        Some(t) => Some(TypeRef(t)),
        None => None,
    };
    FieldMeta {
        name,
        shape: FieldShape::List,
        strategy,
        merge_key,
        child,
    }
}

/// A map merged key by key.
const fn map(name: &'static str) -> FieldMeta {
    FieldMeta {
        name,
        shape: FieldShape::Map,
        strategy: PatchStrategy::Replace,
        merge_key: None,
        child: None,
    }
}

/// The `metadata` field every kind has.
const fn metadata() -> FieldMeta {
    object("metadata", &OBJECT_META)
}

/// Shorthand for a `conditions` list merged on `type`, as most status types declare it.
const fn conditions() -> FieldMeta {
    merge_list("conditions", "type", None)
}

// ---- shared types ----

static OBJECT_META: TypeDef = TypeDef {
    name: "ObjectMeta",
    fields: &[
        map("labels"),
        map("annotations"),
        set_list("finalizers"),
        merge_list("ownerReferences", "uid", None),
        atomic_list("managedFields"),
    ],
};

static LABEL_SELECTOR: TypeDef = TypeDef {
    name: "LabelSelector",
    fields: &[map("matchLabels"), atomic_list("matchExpressions")],
};

static RESOURCE_REQUIREMENTS: TypeDef = TypeDef {
    name: "ResourceRequirements",
    fields: &[map("limits"), map("requests"), atomic_list("claims")],
};

/// The described fields of a container, shared by regular, init and ephemeral containers.
static CONTAINER_FIELDS: [FieldMeta; 9] = [
    atomic_list("command"),
    atomic_list("args"),
    merge_list("ports", "containerPort", None),
    atomic_list("envFrom"),
    merge_list("env", "name", None),
    object("resources", &RESOURCE_REQUIREMENTS),
    atomic_list("resizePolicy"),
    merge_list("volumeMounts", "mountPath", None),
    merge_list("volumeDevices", "devicePath", None),
];

static CONTAINER: TypeDef = TypeDef {
    name: "Container",
    fields: &CONTAINER_FIELDS,
};

static EPHEMERAL_CONTAINER: TypeDef = TypeDef {
    name: "EphemeralContainer",
    fields: &CONTAINER_FIELDS,
};

static PVC_TEMPLATE: TypeDef = TypeDef {
    name: "PersistentVolumeClaimTemplate",
    fields: &[metadata()],
};

static EPHEMERAL_VOLUME_SOURCE: TypeDef = TypeDef {
    name: "EphemeralVolumeSource",
    fields: &[object("volumeClaimTemplate", &PVC_TEMPLATE)],
};

static VOLUME: TypeDef = TypeDef {
    name: "Volume",
    fields: &[object("ephemeral", &EPHEMERAL_VOLUME_SOURCE)],
};

static POD_SPEC: TypeDef = TypeDef {
    name: "PodSpec",
    fields: &[
        merge_retain_list("volumes", "name", Some(&VOLUME)),
        merge_list("initContainers", "name", Some(&CONTAINER)),
        merge_list("containers", "name", Some(&CONTAINER)),
        merge_list("ephemeralContainers", "name", Some(&EPHEMERAL_CONTAINER)),
        map("nodeSelector"),
        merge_list("imagePullSecrets", "name", None),
        atomic_list("tolerations"),
        merge_list("hostAliases", "ip", None),
        atomic_list("readinessGates"),
        map("overhead"),
        merge_list("topologySpreadConstraints", "topologyKey", None),
        merge_list("schedulingGates", "name", None),
        merge_retain_list("resourceClaims", "name", None),
        object("resources", &RESOURCE_REQUIREMENTS),
    ],
};

static POD_STATUS: TypeDef = TypeDef {
    name: "PodStatus",
    fields: &[
        conditions(),
        merge_list("hostIPs", "ip", None),
        merge_list("podIPs", "ip", None),
        atomic_list("initContainerStatuses"),
        atomic_list("containerStatuses"),
        atomic_list("ephemeralContainerStatuses"),
        merge_retain_list("resourceClaimStatuses", "name", None),
    ],
};

static POD_TEMPLATE_SPEC: TypeDef = TypeDef {
    name: "PodTemplateSpec",
    fields: &[metadata(), object("spec", &POD_SPEC)],
};

/// Selector and pod template, the part of a workload spec that holds tagged lists.
static WORKLOAD_SPEC_FIELDS: [FieldMeta; 2] = [
    object("selector", &LABEL_SELECTOR),
    object("template", &POD_TEMPLATE_SPEC),
];

/// A status whose only tagged list is `conditions`, merged on `type`.
static CONDITIONS_STATUS_FIELDS: [FieldMeta; 1] = [conditions()];

// ---- core/v1 ----

static POD: TypeDef = TypeDef {
    name: "Pod",
    fields: &[
        metadata(),
        object("spec", &POD_SPEC),
        object("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE: TypeDef = TypeDef {
    name: "PodTemplate",
    fields: &[metadata(), object("template", &POD_TEMPLATE_SPEC)],
};

static REPLICATION_CONTROLLER_SPEC: TypeDef = TypeDef {
    name: "ReplicationControllerSpec",
    fields: &[map("selector"), object("template", &POD_TEMPLATE_SPEC)],
};

static REPLICATION_CONTROLLER_STATUS: TypeDef = TypeDef {
    name: "ReplicationControllerStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static REPLICATION_CONTROLLER: TypeDef = TypeDef {
    name: "ReplicationController",
    fields: &[
        metadata(),
        object("spec", &REPLICATION_CONTROLLER_SPEC),
        object("status", &REPLICATION_CONTROLLER_STATUS),
    ],
};

static SERVICE_SPEC: TypeDef = TypeDef {
    name: "ServiceSpec",
    fields: &[
        merge_list("ports", "port", None),
        map("selector"),
        atomic_list("clusterIPs"),
        atomic_list("externalIPs"),
        atomic_list("loadBalancerSourceRanges"),
        atomic_list("ipFamilies"),
    ],
};

static LOAD_BALANCER_STATUS: TypeDef = TypeDef {
    name: "LoadBalancerStatus",
    fields: &[atomic_list("ingress")],
};

static SERVICE_STATUS: TypeDef = TypeDef {
    name: "ServiceStatus",
    fields: &[object("loadBalancer", &LOAD_BALANCER_STATUS), conditions()],
};

static SERVICE: TypeDef = TypeDef {
    name: "Service",
    fields: &[
        metadata(),
        object("spec", &SERVICE_SPEC),
        object("status", &SERVICE_STATUS),
    ],
};

static SERVICE_ACCOUNT: TypeDef = TypeDef {
    name: "ServiceAccount",
    fields: &[
        metadata(),
        merge_list("secrets", "name", None),
        atomic_list("imagePullSecrets"),
    ],
};

static ENDPOINTS: TypeDef = TypeDef {
    name: "Endpoints",
    fields: &[metadata(), atomic_list("subsets")],
};

static NODE_SPEC: TypeDef = TypeDef {
    name: "NodeSpec",
    fields: &[set_list("podCIDRs"), atomic_list("taints")],
};

static NODE_STATUS: TypeDef = TypeDef {
    name: "NodeStatus",
    fields: &[
        map("capacity"),
        map("allocatable"),
        conditions(),
        // Declared mergeable on `type` although addresses of one type may repeat; kept as
        // Kubernetes declares it so patches behave identically.
        merge_list("addresses", "type", None),
        atomic_list("images"),
        atomic_list("volumesInUse"),
        atomic_list("volumesAttached"),
    ],
};

static NODE: TypeDef = TypeDef {
    name: "Node",
    fields: &[
        metadata(),
        object("spec", &NODE_SPEC),
        object("status", &NODE_STATUS),
    ],
};

static NAMESPACE_SPEC: TypeDef = TypeDef {
    name: "NamespaceSpec",
    fields: &[atomic_list("finalizers")],
};

static NAMESPACE_STATUS: TypeDef = TypeDef {
    name: "NamespaceStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static NAMESPACE: TypeDef = TypeDef {
    name: "Namespace",
    fields: &[
        metadata(),
        object("spec", &NAMESPACE_SPEC),
        object("status", &NAMESPACE_STATUS),
    ],
};

static EVENT: TypeDef = TypeDef {
    name: "Event",
    fields: &[metadata()],
};

static LIMIT_RANGE_SPEC: TypeDef = TypeDef {
    name: "LimitRangeSpec",
    fields: &[atomic_list("limits")],
};

static LIMIT_RANGE: TypeDef = TypeDef {
    name: "LimitRange",
    fields: &[metadata(), object("spec", &LIMIT_RANGE_SPEC)],
};

static RESOURCE_QUOTA_SPEC: TypeDef = TypeDef {
    name: "ResourceQuotaSpec",
    fields: &[map("hard"), atomic_list("scopes")],
};

static RESOURCE_QUOTA_STATUS: TypeDef = TypeDef {
    name: "ResourceQuotaStatus",
    fields: &[map("hard"), map("used")],
};

static RESOURCE_QUOTA: TypeDef = TypeDef {
    name: "ResourceQuota",
    fields: &[
        metadata(),
        object("spec", &RESOURCE_QUOTA_SPEC),
        object("status", &RESOURCE_QUOTA_STATUS),
    ],
};

static CONFIG_MAP: TypeDef = TypeDef {
    name: "ConfigMap",
    fields: &[metadata(), map("data"), map("binaryData")],
};

static SECRET: TypeDef = TypeDef {
    name: "Secret",
    fields: &[metadata(), map("data"), map("stringData")],
};

// ---- apps/v1 ----

static DEPLOYMENT_SPEC: TypeDef = TypeDef {
    name: "DeploymentSpec",
    fields: &[
        object("selector", &LABEL_SELECTOR),
        object("template", &POD_TEMPLATE_SPEC),
        retain_keys_object("strategy"),
    ],
};

static DEPLOYMENT_STATUS: TypeDef = TypeDef {
    name: "DeploymentStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static DEPLOYMENT: TypeDef = TypeDef {
    name: "Deployment",
    fields: &[
        metadata(),
        object("spec", &DEPLOYMENT_SPEC),
        object("status", &DEPLOYMENT_STATUS),
    ],
};

static REPLICA_SET_SPEC: TypeDef = TypeDef {
    name: "ReplicaSetSpec",
    fields: &WORKLOAD_SPEC_FIELDS,
};

static REPLICA_SET_STATUS: TypeDef = TypeDef {
    name: "ReplicaSetStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static REPLICA_SET: TypeDef = TypeDef {
    name: "ReplicaSet",
    fields: &[
        metadata(),
        object("spec", &REPLICA_SET_SPEC),
        object("status", &REPLICA_SET_STATUS),
    ],
};

static DAEMON_SET_SPEC: TypeDef = TypeDef {
    name: "DaemonSetSpec",
    fields: &WORKLOAD_SPEC_FIELDS,
};

static DAEMON_SET_STATUS: TypeDef = TypeDef {
    name: "DaemonSetStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static DAEMON_SET: TypeDef = TypeDef {
    name: "DaemonSet",
    fields: &[
        metadata(),
        object("spec", &DAEMON_SET_SPEC),
        object("status", &DAEMON_SET_STATUS),
    ],
};

static STATEFUL_SET_SPEC: TypeDef = TypeDef {
    name: "StatefulSetSpec",
    fields: &[
        object("selector", &LABEL_SELECTOR),
        object("template", &POD_TEMPLATE_SPEC),
        atomic_list("volumeClaimTemplates"),
    ],
};

static STATEFUL_SET_STATUS: TypeDef = TypeDef {
    name: "StatefulSetStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static STATEFUL_SET: TypeDef = TypeDef {
    name: "StatefulSet",
    fields: &[
        metadata(),
        object("spec", &STATEFUL_SET_SPEC),
        object("status", &STATEFUL_SET_STATUS),
    ],
};

static CONTROLLER_REVISION: TypeDef = TypeDef {
    name: "ControllerRevision",
    fields: &[metadata()],
};

// ---- batch/v1 ----

static JOB_SPEC: TypeDef = TypeDef {
    name: "JobSpec",
    fields: &WORKLOAD_SPEC_FIELDS,
};

static JOB_STATUS: TypeDef = TypeDef {
    name: "JobStatus",
    fields: &CONDITIONS_STATUS_FIELDS,
};

static JOB: TypeDef = TypeDef {
    name: "Job",
    fields: &[
        metadata(),
        object("spec", &JOB_SPEC),
        object("status", &JOB_STATUS),
    ],
};

static JOB_TEMPLATE_SPEC: TypeDef = TypeDef {
    name: "JobTemplateSpec",
    fields: &[metadata(), object("spec", &JOB_SPEC)],
};

static CRON_JOB_SPEC: TypeDef = TypeDef {
    name: "CronJobSpec",
    fields: &[object("jobTemplate", &JOB_TEMPLATE_SPEC)],
};

static CRON_JOB_STATUS: TypeDef = TypeDef {
    name: "CronJobStatus",
    fields: &[atomic_list("active")],
};

static CRON_JOB: TypeDef = TypeDef {
    name: "CronJob",
    fields: &[
        metadata(),
        object("spec", &CRON_JOB_SPEC),
        object("status", &CRON_JOB_STATUS),
    ],
};

// ---- networking.k8s.io/v1 ----

static INGRESS_SPEC: TypeDef = TypeDef {
    name: "IngressSpec",
    fields: &[atomic_list("rules"), atomic_list("tls")],
};

static INGRESS_LOAD_BALANCER_STATUS: TypeDef = TypeDef {
    name: "IngressLoadBalancerStatus",
    fields: &[atomic_list("ingress")],
};

static INGRESS_STATUS: TypeDef = TypeDef {
    name: "IngressStatus",
    fields: &[object("loadBalancer", &INGRESS_LOAD_BALANCER_STATUS)],
};

static INGRESS: TypeDef = TypeDef {
    name: "Ingress",
    fields: &[
        metadata(),
        object("spec", &INGRESS_SPEC),
        object("status", &INGRESS_STATUS),
    ],
};

static INGRESS_CLASS: TypeDef = TypeDef {
    name: "IngressClass",
    fields: &[metadata()],
};

static NETWORK_POLICY_SPEC: TypeDef = TypeDef {
    name: "NetworkPolicySpec",
    fields: &[
        object("podSelector", &LABEL_SELECTOR),
        atomic_list("ingress"),
        atomic_list("egress"),
        atomic_list("policyTypes"),
    ],
};

static NETWORK_POLICY: TypeDef = TypeDef {
    name: "NetworkPolicy",
    fields: &[metadata(), object("spec", &NETWORK_POLICY_SPEC)],
};

// ---- discovery.k8s.io/v1 ----

static ENDPOINT_SLICE: TypeDef = TypeDef {
    name: "EndpointSlice",
    fields: &[metadata(), atomic_list("endpoints"), atomic_list("ports")],
};

// ---- coordination.k8s.io/v1 ----

static LEASE: TypeDef = TypeDef {
    name: "Lease",
    fields: &[metadata()],
};

// ---- rbac.authorization.k8s.io/v1 ----

static ROLE: TypeDef = TypeDef {
    name: "Role",
    fields: &[metadata(), atomic_list("rules")],
};

static AGGREGATION_RULE: TypeDef = TypeDef {
    name: "AggregationRule",
    fields: &[atomic_list("clusterRoleSelectors")],
};

static CLUSTER_ROLE: TypeDef = TypeDef {
    name: "ClusterRole",
    fields: &[
        metadata(),
        atomic_list("rules"),
        object("aggregationRule", &AGGREGATION_RULE),
    ],
};

static ROLE_BINDING: TypeDef = TypeDef {
    name: "RoleBinding",
    fields: &[metadata(), atomic_list("subjects")],
};

static CLUSTER_ROLE_BINDING: TypeDef = TypeDef {
    name: "ClusterRoleBinding",
    fields: &[metadata(), atomic_list("subjects")],
};

// ---- events.k8s.io/v1 ----

static EVENTS_V1_EVENT: TypeDef = TypeDef {
    name: "events.k8s.io/Event",
    fields: &[metadata()],
};

// ---- policy/v1 ----

static POD_DISRUPTION_BUDGET_SPEC: TypeDef = TypeDef {
    name: "PodDisruptionBudgetSpec",
    fields: &[object("selector", &LABEL_SELECTOR)],
};

static POD_DISRUPTION_BUDGET_STATUS: TypeDef = TypeDef {
    name: "PodDisruptionBudgetStatus",
    fields: &[conditions(), map("disruptedPods")],
};

static POD_DISRUPTION_BUDGET: TypeDef = TypeDef {
    name: "PodDisruptionBudget",
    fields: &[
        metadata(),
        object("spec", &POD_DISRUPTION_BUDGET_SPEC),
        object("status", &POD_DISRUPTION_BUDGET_STATUS),
    ],
};

// ---- scheduling.k8s.io/v1 ----

static PRIORITY_CLASS: TypeDef = TypeDef {
    name: "PriorityClass",
    fields: &[metadata()],
};

// ---- node.k8s.io/v1 ----

static RUNTIME_CLASS_OVERHEAD: TypeDef = TypeDef {
    name: "Overhead",
    fields: &[map("podFixed")],
};

static RUNTIME_CLASS_SCHEDULING: TypeDef = TypeDef {
    name: "Scheduling",
    fields: &[map("nodeSelector"), atomic_list("tolerations")],
};

static RUNTIME_CLASS: TypeDef = TypeDef {
    name: "RuntimeClass",
    fields: &[
        metadata(),
        object("overhead", &RUNTIME_CLASS_OVERHEAD),
        object("scheduling", &RUNTIME_CLASS_SCHEDULING),
    ],
};

// ---- certificates.k8s.io/v1 ----

static CSR_SPEC: TypeDef = TypeDef {
    name: "CertificateSigningRequestSpec",
    fields: &[atomic_list("usages"), atomic_list("groups"), map("extra")],
};

/// Unlike most status types, the CSR's conditions carry no patch strategy, so a patch
/// replaces them whole.
static CSR_STATUS: TypeDef = TypeDef {
    name: "CertificateSigningRequestStatus",
    fields: &[atomic_list("conditions")],
};

static CSR: TypeDef = TypeDef {
    name: "CertificateSigningRequest",
    fields: &[
        metadata(),
        object("spec", &CSR_SPEC),
        object("status", &CSR_STATUS),
    ],
};

// ---- autoscaling/v1 (the scale subresource) ----

static SCALE: TypeDef = TypeDef {
    name: "Scale",
    fields: &[metadata()],
};

/// Root type per (group, kind).
static ROOTS: &[(&str, &str, &TypeDef)] = &[
    ("", "ConfigMap", &CONFIG_MAP),
    ("", "Endpoints", &ENDPOINTS),
    ("", "Event", &EVENT),
    ("", "LimitRange", &LIMIT_RANGE),
    ("", "Namespace", &NAMESPACE),
    ("", "Node", &NODE),
    ("", "Pod", &POD),
    ("", "PodTemplate", &POD_TEMPLATE),
    ("", "ReplicationController", &REPLICATION_CONTROLLER),
    ("", "ResourceQuota", &RESOURCE_QUOTA),
    ("", "Secret", &SECRET),
    ("", "ServiceAccount", &SERVICE_ACCOUNT),
    ("", "Service", &SERVICE),
    ("apps", "ControllerRevision", &CONTROLLER_REVISION),
    ("apps", "DaemonSet", &DAEMON_SET),
    ("apps", "Deployment", &DEPLOYMENT),
    ("apps", "ReplicaSet", &REPLICA_SET),
    ("apps", "StatefulSet", &STATEFUL_SET),
    ("events.k8s.io", "Event", &EVENTS_V1_EVENT),
    ("batch", "CronJob", &CRON_JOB),
    ("batch", "Job", &JOB),
    ("certificates.k8s.io", "CertificateSigningRequest", &CSR),
    ("networking.k8s.io", "IngressClass", &INGRESS_CLASS),
    ("networking.k8s.io", "Ingress", &INGRESS),
    ("networking.k8s.io", "NetworkPolicy", &NETWORK_POLICY),
    ("policy", "PodDisruptionBudget", &POD_DISRUPTION_BUDGET),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        &CLUSTER_ROLE_BINDING,
    ),
    ("rbac.authorization.k8s.io", "ClusterRole", &CLUSTER_ROLE),
    ("rbac.authorization.k8s.io", "RoleBinding", &ROLE_BINDING),
    ("rbac.authorization.k8s.io", "Role", &ROLE),
    ("scheduling.k8s.io", "PriorityClass", &PRIORITY_CLASS),
    ("coordination.k8s.io", "Lease", &LEASE),
    ("node.k8s.io", "RuntimeClass", &RUNTIME_CLASS),
    ("discovery.k8s.io", "EndpointSlice", &ENDPOINT_SLICE),
    ("autoscaling", "Scale", &SCALE),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CATALOG;
    use std::collections::HashMap;

    use PatchStrategy::{Merge, MergeRetainKeys, Replace, RetainKeys};

    fn path(p: &str) -> Vec<&str> {
        p.split('.').collect()
    }

    fn get(group: &str, kind: &str, p: &str) -> FieldMeta {
        lookup(group, kind, &path(p)).unwrap_or_else(|| panic!("{group}/{kind} {p} not described"))
    }

    /// (group, kind, path, shape, strategy, merge key)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        FieldShape,
        PatchStrategy,
        Option<&'static str>,
    );

    const LIST: FieldShape = FieldShape::List;
    const OBJECT: FieldShape = FieldShape::Object;
    const MAP: FieldShape = FieldShape::Map;

    #[test]
    fn contract_entries() {
        let rows: &[Row] = &[
            ("", "Pod", "spec.containers", LIST, Merge, Some("name")),
            ("", "Pod", "spec.initContainers", LIST, Merge, Some("name")),
            (
                "",
                "Pod",
                "spec.ephemeralContainers",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "",
                "Pod",
                "spec.volumes",
                LIST,
                MergeRetainKeys,
                Some("name"),
            ),
            (
                "",
                "Pod",
                "spec.containers.ports",
                LIST,
                Merge,
                Some("containerPort"),
            ),
            ("", "Pod", "spec.containers.env", LIST, Merge, Some("name")),
            (
                "",
                "Pod",
                "spec.containers.volumeMounts",
                LIST,
                Merge,
                Some("mountPath"),
            ),
            (
                "",
                "Pod",
                "spec.containers.volumeDevices",
                LIST,
                Merge,
                Some("devicePath"),
            ),
            (
                "",
                "Pod",
                "spec.initContainers.env",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "",
                "Pod",
                "spec.ephemeralContainers.volumeMounts",
                LIST,
                Merge,
                Some("mountPath"),
            ),
            (
                "",
                "Pod",
                "spec.imagePullSecrets",
                LIST,
                Merge,
                Some("name"),
            ),
            ("", "Pod", "spec.tolerations", LIST, Replace, None),
            (
                "",
                "Pod",
                "spec.topologySpreadConstraints",
                LIST,
                Merge,
                Some("topologyKey"),
            ),
            ("", "Pod", "spec.hostAliases", LIST, Merge, Some("ip")),
            ("", "Pod", "spec.schedulingGates", LIST, Merge, Some("name")),
            (
                "",
                "Pod",
                "spec.resourceClaims",
                LIST,
                MergeRetainKeys,
                Some("name"),
            ),
            ("", "Pod", "spec.readinessGates", LIST, Replace, None),
            ("", "Pod", "spec.containers.command", LIST, Replace, None),
            ("", "Pod", "spec.containers.args", LIST, Replace, None),
            ("", "Pod", "spec.containers.envFrom", LIST, Replace, None),
            (
                "",
                "Pod",
                "spec.containers.resources.limits",
                MAP,
                Replace,
                None,
            ),
            ("", "Pod", "spec.nodeSelector", MAP, Replace, None),
            ("", "Pod", "status.conditions", LIST, Merge, Some("type")),
            ("", "Pod", "status.podIPs", LIST, Merge, Some("ip")),
            ("", "Pod", "status.hostIPs", LIST, Merge, Some("ip")),
            ("", "Pod", "status.containerStatuses", LIST, Replace, None),
            (
                "",
                "Pod",
                "status.resourceClaimStatuses",
                LIST,
                MergeRetainKeys,
                Some("name"),
            ),
            (
                "",
                "Pod",
                "metadata.ownerReferences",
                LIST,
                Merge,
                Some("uid"),
            ),
            ("", "Pod", "metadata.finalizers", LIST, Merge, None),
            ("", "Pod", "metadata.managedFields", LIST, Replace, None),
            ("", "Pod", "metadata.labels", MAP, Replace, None),
            ("", "Pod", "metadata.annotations", MAP, Replace, None),
            ("", "Service", "spec.ports", LIST, Merge, Some("port")),
            ("", "Service", "spec.selector", MAP, Replace, None),
            ("", "Service", "spec.externalIPs", LIST, Replace, None),
            (
                "",
                "Service",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "",
                "Service",
                "status.loadBalancer.ingress",
                LIST,
                Replace,
                None,
            ),
            ("", "ServiceAccount", "secrets", LIST, Merge, Some("name")),
            (
                "",
                "ServiceAccount",
                "imagePullSecrets",
                LIST,
                Replace,
                None,
            ),
            ("", "Endpoints", "subsets", LIST, Replace, None),
            ("", "Node", "spec.taints", LIST, Replace, None),
            ("", "Node", "spec.podCIDRs", LIST, Merge, None),
            ("", "Node", "status.conditions", LIST, Merge, Some("type")),
            ("", "Node", "status.addresses", LIST, Merge, Some("type")),
            ("", "Node", "status.images", LIST, Replace, None),
            ("", "Namespace", "spec.finalizers", LIST, Replace, None),
            (
                "",
                "Namespace",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            ("", "ConfigMap", "data", MAP, Replace, None),
            ("", "Secret", "stringData", MAP, Replace, None),
            ("", "LimitRange", "spec.limits", LIST, Replace, None),
            ("", "ResourceQuota", "spec.hard", MAP, Replace, None),
            (
                "",
                "ReplicationController",
                "spec.template.spec.containers",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "",
                "ReplicationController",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "",
                "PodTemplate",
                "template.spec.volumes",
                LIST,
                MergeRetainKeys,
                Some("name"),
            ),
            (
                "apps",
                "Deployment",
                "spec.strategy",
                OBJECT,
                RetainKeys,
                None,
            ),
            (
                "apps",
                "Deployment",
                "spec.selector.matchExpressions",
                LIST,
                Replace,
                None,
            ),
            (
                "apps",
                "Deployment",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "apps",
                "ReplicaSet",
                "spec.template.spec.containers",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "apps",
                "ReplicaSet",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "apps",
                "DaemonSet",
                "spec.template.spec.tolerations",
                LIST,
                Replace,
                None,
            ),
            (
                "apps",
                "DaemonSet",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "apps",
                "StatefulSet",
                "spec.volumeClaimTemplates",
                LIST,
                Replace,
                None,
            ),
            (
                "apps",
                "StatefulSet",
                "spec.template.spec.initContainers",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "apps",
                "StatefulSet",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "batch",
                "Job",
                "spec.template.spec.containers",
                LIST,
                Merge,
                Some("name"),
            ),
            (
                "batch",
                "Job",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            ("batch", "CronJob", "status.active", LIST, Replace, None),
            (
                "networking.k8s.io",
                "Ingress",
                "spec.rules",
                LIST,
                Replace,
                None,
            ),
            (
                "networking.k8s.io",
                "Ingress",
                "status.loadBalancer.ingress",
                LIST,
                Replace,
                None,
            ),
            (
                "networking.k8s.io",
                "NetworkPolicy",
                "spec.ingress",
                LIST,
                Replace,
                None,
            ),
            (
                "discovery.k8s.io",
                "EndpointSlice",
                "endpoints",
                LIST,
                Replace,
                None,
            ),
            (
                "rbac.authorization.k8s.io",
                "Role",
                "rules",
                LIST,
                Replace,
                None,
            ),
            (
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                "subjects",
                LIST,
                Replace,
                None,
            ),
            (
                "policy",
                "PodDisruptionBudget",
                "status.conditions",
                LIST,
                Merge,
                Some("type"),
            ),
            (
                "node.k8s.io",
                "RuntimeClass",
                "scheduling.tolerations",
                LIST,
                Replace,
                None,
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "status.conditions",
                LIST,
                Replace,
                None,
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "spec.usages",
                LIST,
                Replace,
                None,
            ),
        ];
        for (group, kind, p, shape, strategy, key) in rows {
            let f = get(group, kind, p);
            assert_eq!(
                (f.shape, f.strategy, f.merge_key),
                (*shape, *strategy, *key),
                "{group}/{kind} {p}"
            );
        }
    }

    #[test]
    fn walks_a_deployment() {
        let root = root_type("apps", "Deployment").expect("deployment");
        assert_eq!(root.name(), "Deployment");
        let spec = root.field("spec").expect("spec");
        assert_eq!(spec.shape, FieldShape::Object);
        let template = spec
            .child
            .and_then(|t| t.field("template"))
            .expect("template");
        assert_eq!(template.child.map(|t| t.name()), Some("PodTemplateSpec"));
        let pod_spec = template
            .child
            .and_then(|t| t.field("spec"))
            .and_then(|f| f.child);
        assert_eq!(pod_spec.map(|t| t.name()), Some("PodSpec"));
        let containers = pod_spec
            .and_then(|t| t.field("containers"))
            .expect("containers");
        assert_eq!(
            containers.list_meta(),
            Some(ListMeta {
                strategy: Merge,
                merge_key: Some("name")
            })
        );
        assert_eq!(containers.child.map(|t| t.name()), Some("Container"));
        let env = containers.child.and_then(|t| t.field("env")).expect("env");
        assert_eq!(
            env,
            get("apps", "Deployment", "spec.template.spec.containers.env")
        );
        assert_eq!(env.list_meta().and_then(|m| m.merge_key), Some("name"));
        let template_meta = get("apps", "Deployment", "spec.template.metadata.finalizers");
        assert_eq!(
            (template_meta.strategy, template_meta.merge_key),
            (Merge, None)
        );
    }

    #[test]
    fn walks_a_cronjob_to_its_containers() {
        let containers = get(
            "batch",
            "CronJob",
            "spec.jobTemplate.spec.template.spec.containers",
        );
        assert_eq!(
            (containers.shape, containers.strategy, containers.merge_key),
            (LIST, Merge, Some("name"))
        );
        let ports = get(
            "batch",
            "CronJob",
            "spec.jobTemplate.spec.template.spec.containers.ports",
        );
        assert_eq!(ports.merge_key, Some("containerPort"));
        let volumes = get(
            "batch",
            "CronJob",
            "spec.jobTemplate.spec.template.spec.volumes",
        );
        assert_eq!(
            (volumes.strategy, volumes.merge_key),
            (MergeRetainKeys, Some("name"))
        );
        let owners = get(
            "batch",
            "CronJob",
            "spec.jobTemplate.metadata.ownerReferences",
        );
        assert_eq!(owners.merge_key, Some("uid"));
        let job_template = get("batch", "CronJob", "spec.jobTemplate");
        assert_eq!(
            job_template.child.map(|t| t.name()),
            Some("JobTemplateSpec")
        );
    }

    #[test]
    fn volume_claim_templates_inside_ephemeral_volumes_reach_object_meta() {
        let f = get(
            "",
            "Pod",
            "spec.volumes.ephemeral.volumeClaimTemplate.metadata.finalizers",
        );
        assert_eq!((f.shape, f.strategy), (LIST, Merge));
    }

    #[test]
    fn undescribed_paths_give_none() {
        let misses: &[(&str, &str, &[&str])] = &[
            ("", "Pod", &[]),
            ("", "Pod", &["spec", "nope"]),
            ("", "Pod", &["spec", "containers", "image"]),
            ("", "Pod", &["metadata", "labels", "app"]),
            ("", "Pod", &["spec", "tolerations", "key"]),
            ("", "Pod", &["status", "containerStatuses", "state"]),
            ("apps", "Pod", &["spec"]),
            ("", "Deployment", &["spec"]),
            ("apps", "Deployment", &["spec", "strategy", "rollingUpdate"]),
            ("example.com", "Widget", &["spec"]),
        ];
        for (group, kind, p) in misses {
            assert_eq!(lookup(group, kind, p), None, "{group}/{kind} {p:?}");
        }
        assert!(root_type("apps", "deployment").is_none());
    }

    #[test]
    fn every_served_kind_has_a_root_with_object_meta() {
        for r in CATALOG {
            let root = root_type(r.group, r.kind)
                .unwrap_or_else(|| panic!("{}/{} has no root type", r.group, r.kind));
            let meta = root.field("metadata").expect("metadata");
            assert_eq!(
                meta.child.map(|t| t.name()),
                Some("ObjectMeta"),
                "{}",
                r.kind
            );
            assert_eq!(
                lookup(r.group, r.kind, &["metadata", "ownerReferences"]).and_then(|f| f.merge_key),
                Some("uid")
            );
        }
        assert_eq!(
            ROOTS.len(),
            CATALOG.len() + 1,
            "only Scale is rooted beyond the catalog"
        );
        assert!(root_type("autoscaling", "Scale").is_some());
    }

    /// Every type reachable from the roots, keyed by name.
    fn all_types() -> HashMap<&'static str, Vec<TypeRef>> {
        fn visit(t: TypeRef, depth: usize, out: &mut HashMap<&'static str, Vec<TypeRef>>) {
            assert!(depth < 16, "type tree deeper than expected at {}", t.name());
            let seen = out.entry(t.name()).or_default();
            if seen.contains(&t) {
                return;
            }
            seen.push(t);
            for f in t.fields() {
                if let Some(child) = f.child {
                    visit(child, depth + 1, out);
                }
            }
        }
        let mut out = HashMap::new();
        for (_, _, t) in ROOTS {
            visit(TypeRef(t), 0, &mut out);
        }
        out
    }

    #[test]
    fn tree_invariants_hold() {
        let types = all_types();
        assert!(types.len() > 60, "only {} types reached", types.len());
        for (name, defs) in &types {
            assert_eq!(defs.len(), 1, "two different types are both called {name}");
            let t = defs[0];
            let mut names: Vec<&str> = t.fields().map(|f| f.name).collect();
            names.sort_unstable();
            assert!(
                names.windows(2).all(|w| w[0] != w[1]),
                "{name} repeats a field"
            );
            for f in t.fields() {
                let at = format!("{name}.{}", f.name);
                match f.shape {
                    FieldShape::List => {
                        assert_ne!(
                            f.strategy, RetainKeys,
                            "{at}: retainKeys alone is for objects"
                        );
                        if f.merge_key.is_some() {
                            assert!(f.strategy.merges(), "{at}: key without merge");
                        }
                        if f.child.is_some() {
                            assert!(
                                f.merge_key.is_some(),
                                "{at}: element type of an unmerged list"
                            );
                        }
                    }
                    FieldShape::Object => {
                        assert!(f.merge_key.is_none(), "{at}");
                        assert!(!f.strategy.merges(), "{at}");
                        assert!(
                            f.child.is_some() || f.strategy == RetainKeys,
                            "{at}: an object with nothing to describe"
                        );
                    }
                    FieldShape::Map => {
                        assert_eq!(
                            (f.strategy, f.merge_key, f.child),
                            (Replace, None, None),
                            "{at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn conditions_merge_on_type_except_for_csrs() {
        let merged = [
            ("", "Pod"),
            ("", "ReplicationController"),
            ("", "Service"),
            ("", "Node"),
            ("", "Namespace"),
            ("apps", "Deployment"),
            ("apps", "ReplicaSet"),
            ("apps", "DaemonSet"),
            ("apps", "StatefulSet"),
            ("batch", "Job"),
            ("policy", "PodDisruptionBudget"),
        ];
        for (group, kind) in merged {
            let f = get(group, kind, "status.conditions");
            assert_eq!(
                f.list_meta(),
                Some(ListMeta {
                    strategy: Merge,
                    merge_key: Some("type")
                }),
                "{kind}"
            );
        }
        let csr = get(
            "certificates.k8s.io",
            "CertificateSigningRequest",
            "status.conditions",
        );
        assert_eq!(csr.list_meta(), Some(ListMeta::default()));
    }

    #[test]
    fn list_meta_only_for_lists() {
        assert_eq!(get("", "Pod", "spec").list_meta(), None);
        assert_eq!(get("", "Pod", "metadata.labels").list_meta(), None);
        assert_eq!(
            get("", "Pod", "spec.volumes").list_meta(),
            Some(ListMeta {
                strategy: MergeRetainKeys,
                merge_key: Some("name")
            })
        );
    }

    #[test]
    fn strategy_tags_round_trip() {
        let table = [
            (Replace, None, false, false),
            (Merge, Some("merge"), true, false),
            (RetainKeys, Some("retainKeys"), false, true),
            (MergeRetainKeys, Some("merge,retainKeys"), true, true),
        ];
        for (strategy, tag, merges, retains) in table {
            assert_eq!(strategy.tag(), tag);
            assert_eq!(PatchStrategy::parse(tag.unwrap_or("")), Ok(strategy));
            assert_eq!(
                (strategy.merges(), strategy.retains_keys()),
                (merges, retains)
            );
        }
        assert_eq!(
            PatchStrategy::parse("retainKeys,merge"),
            Ok(MergeRetainKeys)
        );
        for bad in [
            "replace",
            "Merge",
            "merge,",
            ",merge",
            "merge,merge",
            "merge;retainKeys",
        ] {
            assert_eq!(
                PatchStrategy::parse(bad),
                Err(PatchMetaError::UnknownStrategy(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            PatchMetaError::UnknownStrategy("x".into()).to_string(),
            "unknown patch strategy \"x\": expected \"merge\", \"retainKeys\" or both"
        );
    }
}
