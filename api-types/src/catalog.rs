//! The resource catalog: one entry per resource Berth serves.
//!
//! Discovery, the REST router, RBAC, `kubectl api-resources` and name resolution all need the
//! same facts about each resource (group, version, kind, plural and singular names, scope,
//! verbs, short names, categories and subresources). Keeping them in one static table means a
//! new built-in kind is one more entry here, and every consumer agrees on it.
//!
//! The entries match what a Kubernetes v1.33 API server reports in discovery, so stock kubectl
//! behaves against Berth as it does against Kubernetes. The table is ordered the way discovery
//! orders it: groups by their discovery priority (core first, then `apps`, `events.k8s.io`,
//! `batch`, ...), and resources alphabetically by plural within a group, which is also the order
//! `kubectl api-resources` prints.

use std::fmt;

/// The verbs of an ordinary read-write resource, in the order discovery lists them.
const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Namespaces cannot be deleted as a collection: each one goes through its own finalization.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// Verbs of the `status`-like subresources that read and write a slice of the parent object.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];

/// Verbs of the proxy subresources of pods, nodes and services.
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

/// Verbs of the streaming subresources (attach, exec, portforward): a websocket upgrade comes in
/// as GET, SPDY as POST.
const CREATE_GET: &[&str] = &["create", "get"];

const CREATE: &[&str] = &["create"];
const GET: &[&str] = &["get"];
const UPDATE: &[&str] = &["update"];

/// Membership in the `all` category, which `kubectl get all` expands.
const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];
const NO_SUBRESOURCES: &[Subresource] = &[];

/// One resource served by Berth, as discovery reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core (legacy) group.
    pub group: &'static str,
    /// API version within the group, such as `v1`.
    pub version: &'static str,
    /// Kind of the objects, such as `Pod`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, such as `pods`.
    pub plural: &'static str,
    /// Singular resource name, such as `pod`.
    pub singular: &'static str,
    /// Whether objects live in a namespace (`true`) or are cluster-scoped.
    pub namespaced: bool,
    /// Verbs the resource supports, sorted as discovery lists them.
    pub verbs: &'static [&'static str],
    /// Short names kubectl accepts, such as `po`.
    pub short_names: &'static [&'static str],
    /// Categories the resource belongs to, such as `all`.
    pub categories: &'static [&'static str],
    /// Subresources, sorted by name as discovery lists them.
    pub subresources: &'static [Subresource],
}

/// A subresource of a served resource, such as `pods/status` or `deployments/scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// Name after the slash, such as `status`.
    pub name: &'static str,
    /// Kind of the object the subresource reads and writes, such as `Scale`.
    pub kind: &'static str,
    /// Group of that kind. Together with an empty [`version`](Self::version) this means "the
    /// parent's group", as discovery reports it.
    pub group: &'static str,
    /// Version of that kind; empty means "the parent's group and version", as discovery reports
    /// it.
    pub version: &'static str,
    /// Verbs the subresource supports.
    pub verbs: &'static [&'static str],
}

impl Subresource {
    /// The group and version of the kind this subresource works with, resolving "same as the
    /// parent" to the parent's group and version.
    pub fn group_version(&self, parent: &ResourceInfo) -> GroupVersion {
        if self.version.is_empty() {
            parent.group_version()
        } else {
            GroupVersion {
                group: self.group,
                version: self.version,
            }
        }
    }

    /// Whether the subresource supports `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

/// An API group and version, such as `apps/v1` (or `v1` for the core group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupVersion {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// Version within the group.
    pub version: &'static str,
}

impl GroupVersion {
    /// The `apiVersion` string objects of this group-version carry: `v1` for core, `apps/v1`
    /// otherwise.
    pub fn api_version(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.version)
        } else {
            write!(f, "{}/{}", self.group, self.version)
        }
    }
}

impl ResourceInfo {
    /// The `apiVersion` objects of this resource carry, such as `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        self.group_version().api_version()
    }

    /// The group and version this resource is served at.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion {
            group: self.group,
            version: self.version,
        }
    }

    /// The kind of a list of these objects, such as `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// `Namespaced` or `Cluster`, the scope names aggregated discovery uses.
    pub fn scope(&self) -> &'static str {
        if self.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }
    }

    /// Whether the resource itself (not a subresource) supports `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// The subresource called `name`, such as `status`.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether `name` (already lower-case) is the plural, the singular or the lower-cased kind
    /// of this resource: the names kubectl accepts in every qualified form.
    fn has_name(&self, name: &str) -> bool {
        self.plural == name || self.singular == name || self.kind.eq_ignore_ascii_case(name)
    }

    /// Whether `name` (already lower-case) is one of this resource's short names.
    fn has_short_name(&self, name: &str) -> bool {
        self.short_names.contains(&name)
    }
}

/// Builds a subresource of the parent's own group and version.
const fn sub(
    name: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        kind,
        group: "",
        version: "",
        verbs,
    }
}

/// `status`, reading and writing the parent's kind.
const fn status(kind: &'static str) -> Subresource {
    sub("status", kind, GET_PATCH_UPDATE)
}

/// `scale`, which works with `autoscaling/v1` `Scale` whatever the parent's group.
const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group: "autoscaling",
    version: "v1",
    verbs: GET_PATCH_UPDATE,
};

/// Builds an ordinary resource with the standard verbs, no short names, no categories and no
/// subresources; entries override what differs.
const fn resource(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
) -> ResourceInfo {
    ResourceInfo {
        group,
        version: "v1",
        kind,
        plural,
        singular,
        namespaced,
        verbs: STANDARD_VERBS,
        short_names: NONE,
        categories: NONE,
        subresources: NO_SUBRESOURCES,
    }
}

/// Every resource Berth serves, in discovery order.
pub static CATALOG: &[ResourceInfo] = &[
    // ---- core/v1 ----
    ResourceInfo {
        short_names: &["cm"],
        ..resource("", "ConfigMap", "configmaps", "configmap", true)
    },
    ResourceInfo {
        short_names: &["ep"],
        ..resource("", "Endpoints", "endpoints", "endpoints", true)
    },
    ResourceInfo {
        short_names: &["ev"],
        ..resource("", "Event", "events", "event", true)
    },
    ResourceInfo {
        short_names: &["limits"],
        ..resource("", "LimitRange", "limitranges", "limitrange", true)
    },
    ResourceInfo {
        verbs: NAMESPACE_VERBS,
        short_names: &["ns"],
        subresources: &[sub("finalize", "Namespace", UPDATE), status("Namespace")],
        ..resource("", "Namespace", "namespaces", "namespace", false)
    },
    ResourceInfo {
        short_names: &["no"],
        subresources: &[
            sub("proxy", "NodeProxyOptions", PROXY_VERBS),
            status("Node"),
        ],
        ..resource("", "Node", "nodes", "node", false)
    },
    ResourceInfo {
        short_names: &["po"],
        categories: ALL,
        subresources: &[
            sub("attach", "PodAttachOptions", CREATE_GET),
            sub("binding", "Binding", CREATE),
            sub("ephemeralcontainers", "Pod", GET_PATCH_UPDATE),
            Subresource {
                name: "eviction",
                kind: "Eviction",
                group: "policy",
                version: "v1",
                verbs: CREATE,
            },
            sub("exec", "PodExecOptions", CREATE_GET),
            sub("log", "Pod", GET),
            sub("portforward", "PodPortForwardOptions", CREATE_GET),
            sub("proxy", "PodProxyOptions", PROXY_VERBS),
            sub("resize", "Pod", GET_PATCH_UPDATE),
            status("Pod"),
        ],
        ..resource("", "Pod", "pods", "pod", true)
    },
    resource("", "PodTemplate", "podtemplates", "podtemplate", true),
    ResourceInfo {
        short_names: &["rc"],
        categories: ALL,
        subresources: &[SCALE, status("ReplicationController")],
        ..resource(
            "",
            "ReplicationController",
            "replicationcontrollers",
            "replicationcontroller",
            true,
        )
    },
    ResourceInfo {
        short_names: &["quota"],
        subresources: &[status("ResourceQuota")],
        ..resource("", "ResourceQuota", "resourcequotas", "resourcequota", true)
    },
    resource("", "Secret", "secrets", "secret", true),
    ResourceInfo {
        short_names: &["sa"],
        subresources: &[Subresource {
            name: "token",
            kind: "TokenRequest",
            group: "authentication.k8s.io",
            version: "v1",
            verbs: CREATE,
        }],
        ..resource(
            "",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            true,
        )
    },
    ResourceInfo {
        short_names: &["svc"],
        categories: ALL,
        subresources: &[
            sub("proxy", "ServiceProxyOptions", PROXY_VERBS),
            status("Service"),
        ],
        ..resource("", "Service", "services", "service", true)
    },
    // ---- apps/v1 ----
    resource(
        "apps",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        true,
    ),
    ResourceInfo {
        short_names: &["ds"],
        categories: ALL,
        subresources: &[status("DaemonSet")],
        ..resource("apps", "DaemonSet", "daemonsets", "daemonset", true)
    },
    ResourceInfo {
        short_names: &["deploy"],
        categories: ALL,
        subresources: &[SCALE, status("Deployment")],
        ..resource("apps", "Deployment", "deployments", "deployment", true)
    },
    ResourceInfo {
        short_names: &["rs"],
        categories: ALL,
        subresources: &[SCALE, status("ReplicaSet")],
        ..resource("apps", "ReplicaSet", "replicasets", "replicaset", true)
    },
    ResourceInfo {
        short_names: &["sts"],
        categories: ALL,
        subresources: &[SCALE, status("StatefulSet")],
        ..resource("apps", "StatefulSet", "statefulsets", "statefulset", true)
    },
    // ---- events.k8s.io/v1 ----
    ResourceInfo {
        short_names: &["ev"],
        ..resource("events.k8s.io", "Event", "events", "event", true)
    },
    // ---- batch/v1 ----
    ResourceInfo {
        short_names: &["cj"],
        categories: ALL,
        subresources: &[status("CronJob")],
        ..resource("batch", "CronJob", "cronjobs", "cronjob", true)
    },
    ResourceInfo {
        categories: ALL,
        subresources: &[status("Job")],
        ..resource("batch", "Job", "jobs", "job", true)
    },
    // ---- certificates.k8s.io/v1 ----
    ResourceInfo {
        short_names: &["csr"],
        subresources: &[
            sub("approval", "CertificateSigningRequest", GET_PATCH_UPDATE),
            status("CertificateSigningRequest"),
        ],
        ..resource(
            "certificates.k8s.io",
            "CertificateSigningRequest",
            "certificatesigningrequests",
            "certificatesigningrequest",
            false,
        )
    },
    // ---- networking.k8s.io/v1 ----
    resource(
        "networking.k8s.io",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        false,
    ),
    ResourceInfo {
        short_names: &["ing"],
        subresources: &[status("Ingress")],
        ..resource("networking.k8s.io", "Ingress", "ingresses", "ingress", true)
    },
    ResourceInfo {
        short_names: &["netpol"],
        ..resource(
            "networking.k8s.io",
            "NetworkPolicy",
            "networkpolicies",
            "networkpolicy",
            true,
        )
    },
    // ---- policy/v1 ----
    ResourceInfo {
        short_names: &["pdb"],
        subresources: &[status("PodDisruptionBudget")],
        ..resource(
            "policy",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            true,
        )
    },
    // ---- rbac.authorization.k8s.io/v1 ----
    resource(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
    ),
    resource(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
    ),
    resource(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        true,
    ),
    resource("rbac.authorization.k8s.io", "Role", "roles", "role", true),
    // ---- scheduling.k8s.io/v1 ----
    ResourceInfo {
        short_names: &["pc"],
        ..resource(
            "scheduling.k8s.io",
            "PriorityClass",
            "priorityclasses",
            "priorityclass",
            false,
        )
    },
    // ---- coordination.k8s.io/v1 ----
    resource("coordination.k8s.io", "Lease", "leases", "lease", true),
    // ---- node.k8s.io/v1 ----
    resource(
        "node.k8s.io",
        "RuntimeClass",
        "runtimeclasses",
        "runtimeclass",
        false,
    ),
    // ---- discovery.k8s.io/v1 ----
    resource(
        "discovery.k8s.io",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
    ),
];

/// Discovery priority of each served group, as Kubernetes assigns it: higher comes first, and
/// groups of equal priority sort by name. The core group is always first.
const GROUP_PRIORITIES: &[(&str, u32)] = &[
    ("", 18000),
    ("apps", 17800),
    ("events.k8s.io", 17750),
    ("authentication.k8s.io", 17700),
    ("authorization.k8s.io", 17600),
    ("autoscaling", 17500),
    ("batch", 17400),
    ("certificates.k8s.io", 17300),
    ("networking.k8s.io", 17200),
    ("policy", 17100),
    ("rbac.authorization.k8s.io", 17000),
    ("storage.k8s.io", 16800),
    ("admissionregistration.k8s.io", 16700),
    ("apiextensions.k8s.io", 16700),
    ("scheduling.k8s.io", 16600),
    ("coordination.k8s.io", 16500),
    ("node.k8s.io", 16300),
    ("discovery.k8s.io", 16200),
    ("flowcontrol.apiserver.k8s.io", 16100),
];

/// Discovery priority of `group`; groups Berth does not know sort last.
fn group_priority(group: &str) -> u32 {
    GROUP_PRIORITIES
        .iter()
        .find(|(g, _)| *g == group)
        .map_or(0, |(_, p)| *p)
}

/// The resource `plural` in `group` (empty for core), if Berth serves it.
pub fn find(group: &str, plural: &str) -> Option<&'static ResourceInfo> {
    CATALOG
        .iter()
        .find(|r| r.group == group && r.plural == plural)
}

/// The resource whose objects are of `kind` in `group` (empty for core), if Berth serves it.
pub fn find_by_kind(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    CATALOG.iter().find(|r| r.group == group && r.kind == kind)
}

/// The resources served at `group`/`version`, in discovery order.
pub fn by_group_version(group: &str, version: &str) -> Vec<&'static ResourceInfo> {
    CATALOG
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect()
}

/// The resources in `category` (such as `all`), in discovery order.
pub fn by_category(category: &str) -> Vec<&'static ResourceInfo> {
    CATALOG
        .iter()
        .filter(|r| r.categories.contains(&category))
        .collect()
}

/// The served group-versions in the order discovery lists them: core first, then the named
/// groups by descending priority, ties broken by group name.
pub fn groups() -> Vec<GroupVersion> {
    let mut out: Vec<GroupVersion> = Vec::new();
    for r in CATALOG {
        let gv = r.group_version();
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out.sort_by(|a, b| {
        group_priority(b.group)
            .cmp(&group_priority(a.group))
            .then_with(|| a.group.cmp(b.group))
            .then_with(|| a.version.cmp(b.version))
    });
    out
}

/// The resources a name typed on the kubectl command line may mean, best candidate first.
///
/// Accepted forms, matched case-insensitively as kubectl does:
/// - a bare name: plural, singular, short name or kind (`pods`, `pod`, `po`, `Pod`);
/// - `name.group`, where name is any of those (`deployments.apps`, `deploy.apps`,
///   `events.events.k8s.io`);
/// - `name.version.group`, where name is the plural, singular or kind
///   (`deployments.v1.apps`); short names are expanded only without a version, as kubectl's
///   shortcut expander does.
///
/// Several candidates come back when a name is ambiguous across groups (`events`, `ev`); they
/// are in discovery order, so the first is the one kubectl picks. An unknown name gives an
/// empty list.
pub fn resolve(name: &str) -> Vec<&'static ResourceInfo> {
    let name = name.to_ascii_lowercase();
    if name.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<&'static ResourceInfo> = CATALOG
        .iter()
        .filter(|r| r.has_name(&name) || r.has_short_name(&name))
        .collect();
    if !out.is_empty() {
        return out;
    }
    let Some((resource, rest)) = name.split_once('.') else {
        return out;
    };
    if resource.is_empty() {
        return out;
    }
    for r in CATALOG {
        let as_group = r.group == rest && (r.has_name(resource) || r.has_short_name(resource));
        let as_version_group = rest
            .split_once('.')
            .is_some_and(|(v, g)| r.version == v && r.group == g && r.has_name(resource));
        if (as_group || as_version_group) && !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn sorted(items: &[&str]) -> bool {
        items.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn resources_are_unique_by_group_and_plural_and_by_group_and_kind() {
        let mut plurals = HashSet::new();
        let mut kinds = HashSet::new();
        for r in CATALOG {
            assert!(
                plurals.insert((r.group, r.plural)),
                "duplicate {}/{}",
                r.group,
                r.plural
            );
            assert!(
                kinds.insert((r.group, r.kind)),
                "duplicate {}/{}",
                r.group,
                r.kind
            );
        }
        assert_eq!(CATALOG.len(), 34);
    }

    #[test]
    fn short_names_are_unique_except_for_the_two_event_kinds() {
        // Kubernetes gives both Event kinds the short name `ev`; every other short name is
        // unique, and no short name collides with another resource's plural or singular.
        let mut owners: HashMap<&str, Vec<&ResourceInfo>> = HashMap::new();
        for r in CATALOG {
            for s in r.short_names {
                owners.entry(s).or_default().push(r);
            }
        }
        for (short, rs) in &owners {
            if rs.len() > 1 {
                assert_eq!(*short, "ev", "short name {short} is shared");
                assert!(rs.iter().all(|r| r.kind == "Event" && r.plural == "events"));
            }
            for r in CATALOG {
                assert!(
                    r.plural != *short && r.singular != *short,
                    "{short} shadows {}",
                    r.plural
                );
            }
        }
        assert_eq!(owners["ev"].len(), 2);
    }

    #[test]
    fn verbs_subresources_and_names_are_well_formed() {
        let known = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        for r in CATALOG {
            assert!(sorted(r.verbs), "{} verbs unsorted", r.plural);
            assert!(
                r.verbs.iter().all(|v| known.contains(v)),
                "{} has an odd verb",
                r.plural
            );
            assert!(!r.verbs.is_empty());
            let names: Vec<&str> = r.subresources.iter().map(|s| s.name).collect();
            assert!(sorted(&names), "{} subresources unsorted", r.plural);
            for s in r.subresources {
                assert!(sorted(s.verbs), "{}/{} verbs unsorted", r.plural, s.name);
                assert_eq!(
                    s.group.is_empty(),
                    s.version.is_empty(),
                    "{}/{}",
                    r.plural,
                    s.name
                );
            }
            assert_eq!(r.plural, r.plural.to_ascii_lowercase());
            assert_eq!(r.singular, r.singular.to_ascii_lowercase());
            assert_eq!(r.version, "v1");
        }
    }

    #[test]
    fn known_rows_match_kubernetes() {
        let pods = find("", "pods").expect("pods");
        assert_eq!(
            *pods,
            ResourceInfo {
                group: "",
                version: "v1",
                kind: "Pod",
                plural: "pods",
                singular: "pod",
                namespaced: true,
                verbs: STANDARD_VERBS,
                short_names: &["po"],
                categories: &["all"],
                subresources: pods.subresources,
            }
        );
        let pod_subs: Vec<(&str, &str, &[&str])> = pods
            .subresources
            .iter()
            .map(|s| (s.name, s.kind, s.verbs))
            .collect();
        assert_eq!(
            pod_subs,
            vec![
                ("attach", "PodAttachOptions", &["create", "get"][..]),
                ("binding", "Binding", &["create"][..]),
                (
                    "ephemeralcontainers",
                    "Pod",
                    &["get", "patch", "update"][..]
                ),
                ("eviction", "Eviction", &["create"][..]),
                ("exec", "PodExecOptions", &["create", "get"][..]),
                ("log", "Pod", &["get"][..]),
                (
                    "portforward",
                    "PodPortForwardOptions",
                    &["create", "get"][..]
                ),
                (
                    "proxy",
                    "PodProxyOptions",
                    &["create", "delete", "get", "patch", "update"][..]
                ),
                ("resize", "Pod", &["get", "patch", "update"][..]),
                ("status", "Pod", &["get", "patch", "update"][..]),
            ]
        );
        let eviction = pods.subresource("eviction").expect("eviction");
        assert_eq!(eviction.group_version(pods).api_version(), "policy/v1");
        let status = pods.subresource("status").expect("status");
        assert_eq!(status.group_version(pods).api_version(), "v1");

        let ns = find("", "namespaces").expect("namespaces");
        assert!(!ns.namespaced);
        assert!(!ns.has_verb("deletecollection"));
        assert_eq!(
            ns.verbs,
            &["create", "delete", "get", "list", "patch", "update", "watch"]
        );
        assert_eq!(ns.short_names, &["ns"]);
        assert_eq!(
            ns.subresource("finalize").map(|s| s.verbs),
            Some(&["update"][..])
        );
        assert_eq!(ns.scope(), "Cluster");

        let deploy = find("apps", "deployments").expect("deployments");
        assert_eq!(
            (deploy.kind, deploy.singular, deploy.short_names),
            ("Deployment", "deployment", &["deploy"][..])
        );
        assert_eq!(deploy.categories, &["all"]);
        let scale = deploy.subresource("scale").expect("scale");
        assert_eq!(
            (scale.kind, scale.group, scale.version),
            ("Scale", "autoscaling", "v1")
        );
        assert_eq!(scale.group_version(deploy).api_version(), "autoscaling/v1");
        assert_eq!(
            deploy.subresource("status").map(|s| s.kind),
            Some("Deployment")
        );
        assert_eq!(deploy.scope(), "Namespaced");

        let sa = find("", "serviceaccounts").expect("serviceaccounts");
        let token = sa.subresource("token").expect("token");
        assert_eq!(
            (token.kind, token.group, token.version, token.verbs),
            (
                "TokenRequest",
                "authentication.k8s.io",
                "v1",
                &["create"][..]
            )
        );

        let svc = find("", "services").expect("services");
        assert_eq!(svc.verbs, STANDARD_VERBS);
        assert_eq!(svc.short_names, &["svc"]);
        let svc_subs: Vec<&str> = svc.subresources.iter().map(|s| s.name).collect();
        assert_eq!(svc_subs, vec!["proxy", "status"]);

        let nodes = find("", "nodes").expect("nodes");
        assert_eq!((nodes.namespaced, nodes.short_names), (false, &["no"][..]));
        assert_eq!(
            nodes.subresource("proxy").map(|s| s.kind),
            Some("NodeProxyOptions")
        );

        let csr = find("certificates.k8s.io", "certificatesigningrequests").expect("csr");
        assert_eq!((csr.namespaced, csr.short_names), (false, &["csr"][..]));
        let csr_subs: Vec<&str> = csr.subresources.iter().map(|s| s.name).collect();
        assert_eq!(csr_subs, vec!["approval", "status"]);

        let ev = find("events.k8s.io", "events").expect("events.k8s.io events");
        assert_eq!(
            (ev.kind, ev.short_names, ev.subresources.len()),
            ("Event", &["ev"][..], 0)
        );

        let cr = find("apps", "controllerrevisions").expect("controllerrevisions");
        assert!(
            cr.short_names.is_empty() && cr.categories.is_empty() && cr.subresources.is_empty()
        );

        let endpoints = find("", "endpoints").expect("endpoints");
        assert_eq!(
            (endpoints.kind, endpoints.singular),
            ("Endpoints", "endpoints")
        );

        let netpol = find("networking.k8s.io", "networkpolicies").expect("netpol");
        assert!(netpol.subresources.is_empty());
    }

    #[test]
    fn short_names_and_scopes_table() {
        let table: &[(&str, &str, &[&str], bool)] = &[
            ("", "configmaps", &["cm"], true),
            ("", "endpoints", &["ep"], true),
            ("", "events", &["ev"], true),
            ("", "limitranges", &["limits"], true),
            ("", "namespaces", &["ns"], false),
            ("", "nodes", &["no"], false),
            ("", "pods", &["po"], true),
            ("", "podtemplates", &[], true),
            ("", "replicationcontrollers", &["rc"], true),
            ("", "resourcequotas", &["quota"], true),
            ("", "secrets", &[], true),
            ("", "serviceaccounts", &["sa"], true),
            ("", "services", &["svc"], true),
            ("apps", "controllerrevisions", &[], true),
            ("apps", "daemonsets", &["ds"], true),
            ("apps", "deployments", &["deploy"], true),
            ("apps", "replicasets", &["rs"], true),
            ("apps", "statefulsets", &["sts"], true),
            ("batch", "cronjobs", &["cj"], true),
            ("batch", "jobs", &[], true),
            ("networking.k8s.io", "ingresses", &["ing"], true),
            ("networking.k8s.io", "ingressclasses", &[], false),
            ("networking.k8s.io", "networkpolicies", &["netpol"], true),
            ("discovery.k8s.io", "endpointslices", &[], true),
            ("coordination.k8s.io", "leases", &[], true),
            ("rbac.authorization.k8s.io", "roles", &[], true),
            ("rbac.authorization.k8s.io", "rolebindings", &[], true),
            ("rbac.authorization.k8s.io", "clusterroles", &[], false),
            (
                "rbac.authorization.k8s.io",
                "clusterrolebindings",
                &[],
                false,
            ),
            ("events.k8s.io", "events", &["ev"], true),
            ("policy", "poddisruptionbudgets", &["pdb"], true),
            ("scheduling.k8s.io", "priorityclasses", &["pc"], false),
            ("node.k8s.io", "runtimeclasses", &[], false),
            (
                "certificates.k8s.io",
                "certificatesigningrequests",
                &["csr"],
                false,
            ),
        ];
        for (group, plural, shorts, namespaced) in table {
            let r = find(group, plural).unwrap_or_else(|| panic!("{group}/{plural} missing"));
            assert_eq!(r.short_names, *shorts, "{group}/{plural}");
            assert_eq!(r.namespaced, *namespaced, "{group}/{plural}");
        }
    }

    #[test]
    fn all_category_matches_kubernetes() {
        let all: Vec<(&str, &str)> = by_category("all")
            .iter()
            .map(|r| (r.group, r.plural))
            .collect();
        assert_eq!(
            all,
            vec![
                ("", "pods"),
                ("", "replicationcontrollers"),
                ("", "services"),
                ("apps", "daemonsets"),
                ("apps", "deployments"),
                ("apps", "replicasets"),
                ("apps", "statefulsets"),
                ("batch", "cronjobs"),
                ("batch", "jobs"),
            ]
        );
        assert!(by_category("api-extensions").is_empty());
    }

    #[test]
    fn groups_follow_discovery_priority() {
        let got: Vec<String> = groups().iter().map(GroupVersion::api_version).collect();
        assert_eq!(
            got,
            vec![
                "v1",
                "apps/v1",
                "events.k8s.io/v1",
                "batch/v1",
                "certificates.k8s.io/v1",
                "networking.k8s.io/v1",
                "policy/v1",
                "rbac.authorization.k8s.io/v1",
                "scheduling.k8s.io/v1",
                "coordination.k8s.io/v1",
                "node.k8s.io/v1",
                "discovery.k8s.io/v1",
            ]
        );
    }

    #[test]
    fn catalog_is_in_discovery_order() {
        // Group-versions appear in one contiguous run each, in `groups()` order, and resources
        // within a run are sorted by plural, so iterating the catalog is discovery order.
        let order = groups();
        let mut last_index = 0;
        let mut last_plural = "";
        let mut last_gv = None;
        for r in CATALOG {
            let gv = r.group_version();
            let idx = order.iter().position(|g| *g == gv).expect("served group");
            assert!(idx >= last_index, "{} out of group order", r.plural);
            if last_gv == Some(gv) {
                assert!(r.plural > last_plural, "{} out of name order", r.plural);
            }
            last_index = idx;
            last_plural = r.plural;
            last_gv = Some(gv);
        }
    }

    #[test]
    fn by_group_version_lists_in_order() {
        let apps: Vec<&str> = by_group_version("apps", "v1")
            .iter()
            .map(|r| r.plural)
            .collect();
        assert_eq!(
            apps,
            vec![
                "controllerrevisions",
                "daemonsets",
                "deployments",
                "replicasets",
                "statefulsets"
            ]
        );
        assert_eq!(by_group_version("", "v1").len(), 13);
        assert!(by_group_version("apps", "v1beta1").is_empty());
        assert!(by_group_version("autoscaling", "v1").is_empty());
        let rbac: Vec<&str> = by_group_version("rbac.authorization.k8s.io", "v1")
            .iter()
            .map(|r| r.plural)
            .collect();
        assert_eq!(
            rbac,
            vec![
                "clusterrolebindings",
                "clusterroles",
                "rolebindings",
                "roles"
            ]
        );
    }

    #[test]
    fn api_version_and_list_kind() {
        let table = [
            ("", "pods", "v1", "PodList"),
            ("apps", "deployments", "apps/v1", "DeploymentList"),
            ("", "endpoints", "v1", "EndpointsList"),
            (
                "rbac.authorization.k8s.io",
                "roles",
                "rbac.authorization.k8s.io/v1",
                "RoleList",
            ),
            (
                "policy",
                "poddisruptionbudgets",
                "policy/v1",
                "PodDisruptionBudgetList",
            ),
        ];
        for (group, plural, api_version, list_kind) in table {
            let r = find(group, plural).expect("served");
            assert_eq!(r.api_version(), api_version);
            assert_eq!(r.list_kind(), list_kind);
        }
    }

    #[test]
    fn find_by_kind_distinguishes_groups() {
        assert_eq!(find_by_kind("", "Event").map(|r| r.group), Some(""));
        assert_eq!(
            find_by_kind("events.k8s.io", "Event").map(|r| r.group),
            Some("events.k8s.io")
        );
        assert_eq!(
            find_by_kind("apps", "Deployment").map(|r| r.plural),
            Some("deployments")
        );
        assert!(find_by_kind("", "Deployment").is_none());
        assert!(find_by_kind("apps", "deployment").is_none());
        assert!(find("", "deployments").is_none());
    }

    #[test]
    fn resolve_finds_every_name_form() {
        for r in CATALOG {
            let qualified = if r.group.is_empty() {
                format!("{}.", r.plural)
            } else {
                format!("{}.{}", r.plural, r.group)
            };
            let mut names = vec![
                r.plural.to_string(),
                r.singular.to_string(),
                r.kind.to_string(),
                r.kind.to_ascii_lowercase(),
                r.plural.to_ascii_uppercase(),
                qualified.clone(),
                format!("{}.{}.{}", r.singular, r.version, r.group),
            ];
            names.extend(r.short_names.iter().map(|s| s.to_string()));
            for name in &names {
                assert!(
                    resolve(name).contains(&r),
                    "{name} does not resolve to {}",
                    r.plural
                );
            }
            assert_eq!(resolve(&qualified), vec![r], "{qualified}");
            if !r.group.is_empty() {
                let full = format!("{}.{}.{}", r.plural, r.version, r.group);
                assert_eq!(resolve(&full), vec![r], "{full}");
                for s in r.short_names {
                    assert_eq!(resolve(&format!("{s}.{}", r.group)), vec![r]);
                }
            }
        }
    }

    #[test]
    fn resolve_cases() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("po", &[("", "pods")]),
            ("deploy", &[("apps", "deployments")]),
            ("Deployment", &[("apps", "deployments")]),
            ("deployments.apps", &[("apps", "deployments")]),
            ("deployments.v1.apps", &[("apps", "deployments")]),
            ("deploy.apps", &[("apps", "deployments")]),
            ("events", &[("", "events"), ("events.k8s.io", "events")]),
            ("ev", &[("", "events"), ("events.k8s.io", "events")]),
            ("events.events.k8s.io", &[("events.k8s.io", "events")]),
            ("ev.events.k8s.io", &[("events.k8s.io", "events")]),
            ("events.v1.events.k8s.io", &[("events.k8s.io", "events")]),
            ("netpol", &[("networking.k8s.io", "networkpolicies")]),
            ("quota", &[("", "resourcequotas")]),
            ("limits", &[("", "limitranges")]),
            (
                "CSR",
                &[("certificates.k8s.io", "certificatesigningrequests")],
            ),
            ("pods.", &[("", "pods")]),
            ("", &[]),
            ("foo", &[]),
            ("foo.apps", &[]),
            ("deployments.v2.apps", &[]),
            ("deployments.extensions", &[]),
            ("deploy.v1.apps", &[]),
            ("pods.v1", &[]),
            (".apps", &[]),
            ("hpa", &[]),
            ("pvc", &[]),
            ("cs", &[]),
            ("all", &[]),
        ];
        for (name, want) in cases {
            let got: Vec<(&str, &str)> =
                resolve(name).iter().map(|r| (r.group, r.plural)).collect();
            assert_eq!(got, *want, "resolve({name:?})");
        }
    }
}
