//! Field tables for the objects Berth accepts as protobuf bodies: for each message type, the
//! number, JSON name and type of every field the v1.33 API defines.
//!
//! The numbers are the Kubernetes API's own (its `generated.proto` files); fields added after
//! v1.33 are absent on purpose, so they are skipped like any unknown field, as a v1.33 server
//! skips them. `SET` marks scalars whose zero value means something (optional pointers such
//! as `replicas`, and required fields); other zero scalars are left out of the JSON, as a JSON
//! client leaves out an unset field. `nulls` lists the fields a JSON client always writes,
//! as `null` when unset. Keep the tables sorted by field number when editing.

use super::schema::{f, Msg, Ty::*, INLINE, LIST, MAP, ONE, SET};

/// The objects Berth accepts as protobuf bodies: `(apiVersion, kind, message)`; `*` matches
/// any apiVersion.
pub(super) static ROOTS: &[(&str, &str, &Msg)] = &[
    ("v1", "ConfigMap", &CORE_V1_CONFIG_MAP),
    ("v1", "Secret", &CORE_V1_SECRET),
    ("v1", "Service", &CORE_V1_SERVICE),
    ("v1", "Namespace", &CORE_V1_NAMESPACE),
    ("v1", "ServiceAccount", &CORE_V1_SERVICE_ACCOUNT),
    ("v1", "Pod", &CORE_V1_POD),
    ("v1", "ResourceQuota", &CORE_V1_RESOURCE_QUOTA),
    ("apps/v1", "Deployment", &APPS_V1_DEPLOYMENT),
    ("batch/v1", "Job", &BATCH_V1_JOB),
    ("batch/v1", "CronJob", &BATCH_V1_CRON_JOB),
    ("networking.k8s.io/v1", "Ingress", &NETWORKING_V1_INGRESS),
    ("authentication.k8s.io/v1", "TokenRequest", &AUTHENTICATION_V1_TOKEN_REQUEST),
    ("authentication.k8s.io/v1", "SelfSubjectReview", &AUTHENTICATION_V1_SELF_SUBJECT_REVIEW),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview", &AUTHORIZATION_V1_SELF_SUBJECT_ACCESS_REVIEW),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview", &AUTHORIZATION_V1_SELF_SUBJECT_RULES_REVIEW),
    ("autoscaling/v2", "HorizontalPodAutoscaler", &AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER),
    ("autoscaling/v1", "HorizontalPodAutoscaler", &AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER),
    ("rbac.authorization.k8s.io/v1", "Role", &RBAC_V1_ROLE),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", &RBAC_V1_CLUSTER_ROLE),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", &RBAC_V1_ROLE_BINDING),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &RBAC_V1_CLUSTER_ROLE_BINDING),
    ("policy/v1", "PodDisruptionBudget", &POLICY_V1_POD_DISRUPTION_BUDGET),
    ("policy/v1", "Eviction", &POLICY_V1_EVICTION),
    ("scheduling.k8s.io/v1", "PriorityClass", &SCHEDULING_V1_PRIORITY_CLASS),
    ("*", "DeleteOptions", &META_V1_DELETE_OPTIONS),
    ("v1", "Node", &CORE_V1_NODE),
    ("v1", "Event", &CORE_V1_EVENT),
    ("v1", "Endpoints", &CORE_V1_ENDPOINTS),
    ("v1", "PersistentVolumeClaim", &CORE_V1_PERSISTENT_VOLUME_CLAIM),
    ("v1", "PersistentVolume", &CORE_V1_PERSISTENT_VOLUME),
    ("v1", "LimitRange", &CORE_V1_LIMIT_RANGE),
    ("v1", "PodTemplate", &CORE_V1_POD_TEMPLATE),
    ("v1", "ReplicationController", &CORE_V1_REPLICATION_CONTROLLER),
    ("v1", "Binding", &CORE_V1_BINDING),
    ("apps/v1", "ReplicaSet", &APPS_V1_REPLICA_SET),
    ("apps/v1", "StatefulSet", &APPS_V1_STATEFUL_SET),
    ("apps/v1", "DaemonSet", &APPS_V1_DAEMON_SET),
    ("apps/v1", "ControllerRevision", &APPS_V1_CONTROLLER_REVISION),
    ("events.k8s.io/v1", "Event", &EVENTS_V1_EVENT),
    ("coordination.k8s.io/v1", "Lease", &COORDINATION_V1_LEASE),
    ("discovery.k8s.io/v1", "EndpointSlice", &DISCOVERY_V1_ENDPOINT_SLICE),
    ("networking.k8s.io/v1", "IngressClass", &NETWORKING_V1_INGRESS_CLASS),
    ("networking.k8s.io/v1", "NetworkPolicy", &NETWORKING_V1_NETWORK_POLICY),
    ("authentication.k8s.io/v1", "TokenReview", &AUTHENTICATION_V1_TOKEN_REVIEW),
    ("authorization.k8s.io/v1", "SubjectAccessReview", &AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW),
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview", &AUTHORIZATION_V1_LOCAL_SUBJECT_ACCESS_REVIEW),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", &CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST),
];

static META_V1_OWNER_REFERENCE: Msg = Msg::new("OwnerReference", &[
    f(1, "kind", Str, SET),
    f(3, "name", Str, SET),
    f(4, "uid", Str, SET),
    f(5, "apiVersion", Str, SET),
    f(6, "controller", Bool, SET),
    f(7, "blockOwnerDeletion", Bool, SET),
]);

static META_V1_MANAGED_FIELDS_ENTRY: Msg = Msg::new("ManagedFieldsEntry", &[
    f(1, "manager", Str, ONE),
    f(2, "operation", Str, ONE),
    f(3, "apiVersion", Str, ONE),
    f(4, "time", Time, ONE),
    f(6, "fieldsType", Str, ONE),
    f(7, "fieldsV1", RawJson, ONE),
    f(8, "subresource", Str, ONE),
]);

static META_V1_OBJECT_META: Msg = Msg::new("ObjectMeta", &[
    f(1, "name", Str, ONE),
    f(2, "generateName", Str, ONE),
    f(3, "namespace", Str, ONE),
    f(4, "selfLink", Str, ONE),
    f(5, "uid", Str, ONE),
    f(6, "resourceVersion", Str, ONE),
    f(7, "generation", I64, ONE),
    f(8, "creationTimestamp", Time, ONE),
    f(9, "deletionTimestamp", Time, ONE),
    f(10, "deletionGracePeriodSeconds", I64, SET),
    f(11, "labels", Str, MAP),
    f(12, "annotations", Str, MAP),
    f(13, "ownerReferences", Message(&META_V1_OWNER_REFERENCE), LIST),
    f(14, "finalizers", Str, LIST),
    f(17, "managedFields", Message(&META_V1_MANAGED_FIELDS_ENTRY), LIST),
]);

static CORE_V1_CONFIG_MAP: Msg = Msg::new("ConfigMap", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "data", Str, MAP),
    f(3, "binaryData", Bytes, MAP),
    f(4, "immutable", Bool, SET),
]);

static CORE_V1_SECRET: Msg = Msg::new("Secret", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "data", Bytes, MAP),
    f(3, "type", Str, ONE),
    f(4, "stringData", Str, MAP),
    f(5, "immutable", Bool, SET),
]);

static CORE_V1_SERVICE_PORT: Msg = Msg::new("ServicePort", &[
    f(1, "name", Str, ONE),
    f(2, "protocol", Str, ONE),
    f(3, "port", I32, SET),
    f(4, "targetPort", IntOrString, ONE),
    f(5, "nodePort", I32, ONE),
    f(6, "appProtocol", Str, SET),
]);

static CORE_V1_CLIENT_IP_CONFIG: Msg = Msg::new("ClientIPConfig", &[
    f(1, "timeoutSeconds", I32, SET),
]);

static CORE_V1_SESSION_AFFINITY_CONFIG: Msg = Msg::new("SessionAffinityConfig", &[
    f(1, "clientIP", Message(&CORE_V1_CLIENT_IP_CONFIG), ONE),
]);

static CORE_V1_SERVICE_SPEC: Msg = Msg::new("ServiceSpec", &[
    f(1, "ports", Message(&CORE_V1_SERVICE_PORT), LIST),
    f(2, "selector", Str, MAP),
    f(3, "clusterIP", Str, ONE),
    f(4, "type", Str, ONE),
    f(5, "externalIPs", Str, LIST),
    f(7, "sessionAffinity", Str, ONE),
    f(8, "loadBalancerIP", Str, ONE),
    f(9, "loadBalancerSourceRanges", Str, LIST),
    f(10, "externalName", Str, ONE),
    f(11, "externalTrafficPolicy", Str, ONE),
    f(12, "healthCheckNodePort", I32, ONE),
    f(13, "publishNotReadyAddresses", Bool, ONE),
    f(14, "sessionAffinityConfig", Message(&CORE_V1_SESSION_AFFINITY_CONFIG), ONE),
    f(17, "ipFamilyPolicy", Str, SET),
    f(18, "clusterIPs", Str, LIST),
    f(19, "ipFamilies", Str, LIST),
    f(20, "allocateLoadBalancerNodePorts", Bool, SET),
    f(21, "loadBalancerClass", Str, SET),
    f(22, "internalTrafficPolicy", Str, SET),
    f(23, "trafficDistribution", Str, SET),
]);

static CORE_V1_PORT_STATUS: Msg = Msg::new("PortStatus", &[
    f(1, "port", I32, SET),
    f(2, "protocol", Str, SET),
    f(3, "error", Str, SET),
]);

static CORE_V1_LOAD_BALANCER_INGRESS: Msg = Msg::new("LoadBalancerIngress", &[
    f(1, "ip", Str, ONE),
    f(2, "hostname", Str, ONE),
    f(3, "ipMode", Str, SET),
    f(4, "ports", Message(&CORE_V1_PORT_STATUS), LIST),
]);

static CORE_V1_LOAD_BALANCER_STATUS: Msg = Msg::new("LoadBalancerStatus", &[
    f(1, "ingress", Message(&CORE_V1_LOAD_BALANCER_INGRESS), LIST),
]);

static META_V1_CONDITION: Msg = Msg::new("Condition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "observedGeneration", I64, ONE),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, SET),
    f(6, "message", Str, SET),
]);

static CORE_V1_SERVICE_STATUS: Msg = Msg::new("ServiceStatus", &[
    f(1, "loadBalancer", Message(&CORE_V1_LOAD_BALANCER_STATUS), ONE),
    f(2, "conditions", Message(&META_V1_CONDITION), LIST),
]);

static CORE_V1_SERVICE: Msg = Msg::new("Service", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_SERVICE_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_SERVICE_STATUS), ONE),
]);

static CORE_V1_NAMESPACE_SPEC: Msg = Msg::new("NamespaceSpec", &[
    f(1, "finalizers", Str, LIST),
]);

static CORE_V1_NAMESPACE_CONDITION: Msg = Msg::new("NamespaceCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, ONE),
    f(6, "message", Str, ONE),
]);

static CORE_V1_NAMESPACE_STATUS: Msg = Msg::new("NamespaceStatus", &[
    f(1, "phase", Str, ONE),
    f(2, "conditions", Message(&CORE_V1_NAMESPACE_CONDITION), LIST),
]);

static CORE_V1_NAMESPACE: Msg = Msg::new("Namespace", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_NAMESPACE_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_NAMESPACE_STATUS), ONE),
]);

static CORE_V1_OBJECT_REFERENCE: Msg = Msg::new("ObjectReference", &[
    f(1, "kind", Str, ONE),
    f(2, "namespace", Str, ONE),
    f(3, "name", Str, ONE),
    f(4, "uid", Str, ONE),
    f(5, "apiVersion", Str, ONE),
    f(6, "resourceVersion", Str, ONE),
    f(7, "fieldPath", Str, ONE),
]);

static CORE_V1_LOCAL_OBJECT_REFERENCE: Msg = Msg::new("LocalObjectReference", &[
    f(1, "name", Str, ONE),
]);

static CORE_V1_SERVICE_ACCOUNT: Msg = Msg::new("ServiceAccount", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "secrets", Message(&CORE_V1_OBJECT_REFERENCE), LIST),
    f(3, "imagePullSecrets", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), LIST),
    f(4, "automountServiceAccountToken", Bool, SET),
]);

static CORE_V1_HOST_PATH_VOLUME_SOURCE: Msg = Msg::new("HostPathVolumeSource", &[
    f(1, "path", Str, SET),
    f(2, "type", Str, SET),
]);

static CORE_V1_EMPTY_DIR_VOLUME_SOURCE: Msg = Msg::new("EmptyDirVolumeSource", &[
    f(1, "medium", Str, ONE),
    f(2, "sizeLimit", Quantity, ONE),
]);

static CORE_V1_GCE_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg::new("GCEPersistentDiskVolumeSource", &[
    f(1, "pdName", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "partition", I32, ONE),
    f(4, "readOnly", Bool, ONE),
]);

static CORE_V1_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Msg = Msg::new("AWSElasticBlockStoreVolumeSource", &[
    f(1, "volumeID", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "partition", I32, ONE),
    f(4, "readOnly", Bool, ONE),
]);

static CORE_V1_GIT_REPO_VOLUME_SOURCE: Msg = Msg::new("GitRepoVolumeSource", &[
    f(1, "repository", Str, SET),
    f(2, "revision", Str, ONE),
    f(3, "directory", Str, ONE),
]);

static CORE_V1_KEY_TO_PATH: Msg = Msg::new("KeyToPath", &[
    f(1, "key", Str, SET),
    f(2, "path", Str, SET),
    f(3, "mode", I32, SET),
]);

static CORE_V1_SECRET_VOLUME_SOURCE: Msg = Msg::new("SecretVolumeSource", &[
    f(1, "secretName", Str, ONE),
    f(2, "items", Message(&CORE_V1_KEY_TO_PATH), LIST),
    f(3, "defaultMode", I32, SET),
    f(4, "optional", Bool, SET),
]);

static CORE_V1_NFS_VOLUME_SOURCE: Msg = Msg::new("NFSVolumeSource", &[
    f(1, "server", Str, SET),
    f(2, "path", Str, SET),
    f(3, "readOnly", Bool, ONE),
]);

static CORE_V1_ISCSI_VOLUME_SOURCE: Msg = Msg::new("ISCSIVolumeSource", &[
    f(1, "targetPortal", Str, SET),
    f(2, "iqn", Str, SET),
    f(3, "lun", I32, SET),
    f(4, "iscsiInterface", Str, ONE),
    f(5, "fsType", Str, ONE),
    f(6, "readOnly", Bool, ONE),
    f(7, "portals", Str, LIST),
    f(8, "chapAuthDiscovery", Bool, ONE),
    f(10, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
    f(11, "chapAuthSession", Bool, ONE),
    f(12, "initiatorName", Str, SET),
]);

static CORE_V1_GLUSTERFS_VOLUME_SOURCE: Msg = Msg::new("GlusterfsVolumeSource", &[
    f(1, "endpoints", Str, SET),
    f(2, "path", Str, SET),
    f(3, "readOnly", Bool, ONE),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Msg = Msg::new("PersistentVolumeClaimVolumeSource", &[
    f(1, "claimName", Str, SET),
    f(2, "readOnly", Bool, ONE),
]);

static CORE_V1_RBD_VOLUME_SOURCE: Msg = Msg::new("RBDVolumeSource", &[
    f(1, "monitors", Str, LIST),
    f(2, "image", Str, SET),
    f(3, "fsType", Str, ONE),
    f(4, "pool", Str, ONE),
    f(5, "user", Str, ONE),
    f(6, "keyring", Str, ONE),
    f(7, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
    f(8, "readOnly", Bool, ONE),
]).nulls(&["monitors"]);

static CORE_V1_FLEX_VOLUME_SOURCE: Msg = Msg::new("FlexVolumeSource", &[
    f(1, "driver", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
    f(4, "readOnly", Bool, ONE),
    f(5, "options", Str, MAP),
]);

static CORE_V1_CINDER_VOLUME_SOURCE: Msg = Msg::new("CinderVolumeSource", &[
    f(1, "volumeID", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "readOnly", Bool, ONE),
    f(4, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
]);

static CORE_V1_CEPH_FS_VOLUME_SOURCE: Msg = Msg::new("CephFSVolumeSource", &[
    f(1, "monitors", Str, LIST),
    f(2, "path", Str, ONE),
    f(3, "user", Str, ONE),
    f(4, "secretFile", Str, ONE),
    f(5, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
    f(6, "readOnly", Bool, ONE),
]).nulls(&["monitors"]);

static CORE_V1_FLOCKER_VOLUME_SOURCE: Msg = Msg::new("FlockerVolumeSource", &[
    f(1, "datasetName", Str, ONE),
    f(2, "datasetUUID", Str, ONE),
]);

static CORE_V1_OBJECT_FIELD_SELECTOR: Msg = Msg::new("ObjectFieldSelector", &[
    f(1, "apiVersion", Str, ONE),
    f(2, "fieldPath", Str, SET),
]);

static CORE_V1_RESOURCE_FIELD_SELECTOR: Msg = Msg::new("ResourceFieldSelector", &[
    f(1, "containerName", Str, ONE),
    f(2, "resource", Str, SET),
    f(3, "divisor", Quantity, ONE),
]);

static CORE_V1_DOWNWARD_API_VOLUME_FILE: Msg = Msg::new("DownwardAPIVolumeFile", &[
    f(1, "path", Str, SET),
    f(2, "fieldRef", Message(&CORE_V1_OBJECT_FIELD_SELECTOR), ONE),
    f(3, "resourceFieldRef", Message(&CORE_V1_RESOURCE_FIELD_SELECTOR), ONE),
    f(4, "mode", I32, SET),
]);

static CORE_V1_DOWNWARD_API_VOLUME_SOURCE: Msg = Msg::new("DownwardAPIVolumeSource", &[
    f(1, "items", Message(&CORE_V1_DOWNWARD_API_VOLUME_FILE), LIST),
    f(2, "defaultMode", I32, SET),
]);

static CORE_V1_FC_VOLUME_SOURCE: Msg = Msg::new("FCVolumeSource", &[
    f(1, "targetWWNs", Str, LIST),
    f(2, "lun", I32, ONE),
    f(3, "fsType", Str, ONE),
    f(4, "readOnly", Bool, ONE),
    f(5, "wwids", Str, LIST),
]);

static CORE_V1_AZURE_FILE_VOLUME_SOURCE: Msg = Msg::new("AzureFileVolumeSource", &[
    f(1, "secretName", Str, SET),
    f(2, "shareName", Str, SET),
    f(3, "readOnly", Bool, ONE),
]);

static CORE_V1_CONFIG_MAP_VOLUME_SOURCE: Msg = Msg::new("ConfigMapVolumeSource", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "items", Message(&CORE_V1_KEY_TO_PATH), LIST),
    f(3, "defaultMode", I32, SET),
    f(4, "optional", Bool, SET),
]);

static CORE_V1_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Msg = Msg::new("VsphereVirtualDiskVolumeSource", &[
    f(1, "volumePath", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "storagePolicyName", Str, ONE),
    f(4, "storagePolicyID", Str, ONE),
]);

static CORE_V1_QUOBYTE_VOLUME_SOURCE: Msg = Msg::new("QuobyteVolumeSource", &[
    f(1, "registry", Str, SET),
    f(2, "volume", Str, SET),
    f(3, "readOnly", Bool, ONE),
    f(4, "user", Str, ONE),
    f(5, "group", Str, ONE),
    f(6, "tenant", Str, ONE),
]);

static CORE_V1_AZURE_DISK_VOLUME_SOURCE: Msg = Msg::new("AzureDiskVolumeSource", &[
    f(1, "diskName", Str, SET),
    f(2, "diskURI", Str, SET),
    f(3, "cachingMode", Str, SET),
    f(4, "fsType", Str, SET),
    f(5, "readOnly", Bool, SET),
    f(6, "kind", Str, SET),
]);

static CORE_V1_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Msg = Msg::new("PhotonPersistentDiskVolumeSource", &[
    f(1, "pdID", Str, SET),
    f(2, "fsType", Str, ONE),
]);

static CORE_V1_SECRET_PROJECTION: Msg = Msg::new("SecretProjection", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "items", Message(&CORE_V1_KEY_TO_PATH), LIST),
    f(4, "optional", Bool, SET),
]);

static CORE_V1_DOWNWARD_API_PROJECTION: Msg = Msg::new("DownwardAPIProjection", &[
    f(1, "items", Message(&CORE_V1_DOWNWARD_API_VOLUME_FILE), LIST),
]);

static CORE_V1_CONFIG_MAP_PROJECTION: Msg = Msg::new("ConfigMapProjection", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "items", Message(&CORE_V1_KEY_TO_PATH), LIST),
    f(4, "optional", Bool, SET),
]);

static CORE_V1_SERVICE_ACCOUNT_TOKEN_PROJECTION: Msg = Msg::new("ServiceAccountTokenProjection", &[
    f(1, "audience", Str, ONE),
    f(2, "expirationSeconds", I64, SET),
    f(3, "path", Str, SET),
]);

static META_V1_LABEL_SELECTOR_REQUIREMENT: Msg = Msg::new("LabelSelectorRequirement", &[
    f(1, "key", Str, SET),
    f(2, "operator", Str, SET),
    f(3, "values", Str, LIST),
]);

static META_V1_LABEL_SELECTOR: Msg = Msg::new("LabelSelector", &[
    f(1, "matchLabels", Str, MAP),
    f(2, "matchExpressions", Message(&META_V1_LABEL_SELECTOR_REQUIREMENT), LIST),
]);

static CORE_V1_CLUSTER_TRUST_BUNDLE_PROJECTION: Msg = Msg::new("ClusterTrustBundleProjection", &[
    f(1, "name", Str, SET),
    f(2, "signerName", Str, SET),
    f(3, "labelSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(4, "path", Str, SET),
    f(5, "optional", Bool, SET),
]);

static CORE_V1_VOLUME_PROJECTION: Msg = Msg::new("VolumeProjection", &[
    f(1, "secret", Message(&CORE_V1_SECRET_PROJECTION), ONE),
    f(2, "downwardAPI", Message(&CORE_V1_DOWNWARD_API_PROJECTION), ONE),
    f(3, "configMap", Message(&CORE_V1_CONFIG_MAP_PROJECTION), ONE),
    f(4, "serviceAccountToken", Message(&CORE_V1_SERVICE_ACCOUNT_TOKEN_PROJECTION), ONE),
    f(5, "clusterTrustBundle", Message(&CORE_V1_CLUSTER_TRUST_BUNDLE_PROJECTION), ONE),
]);

static CORE_V1_PROJECTED_VOLUME_SOURCE: Msg = Msg::new("ProjectedVolumeSource", &[
    f(1, "sources", Message(&CORE_V1_VOLUME_PROJECTION), LIST),
    f(2, "defaultMode", I32, SET),
]);

static CORE_V1_PORTWORX_VOLUME_SOURCE: Msg = Msg::new("PortworxVolumeSource", &[
    f(1, "volumeID", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "readOnly", Bool, ONE),
]);

static CORE_V1_SCALE_IO_VOLUME_SOURCE: Msg = Msg::new("ScaleIOVolumeSource", &[
    f(1, "gateway", Str, SET),
    f(2, "system", Str, SET),
    f(3, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
    f(4, "sslEnabled", Bool, ONE),
    f(5, "protectionDomain", Str, ONE),
    f(6, "storagePool", Str, ONE),
    f(7, "storageMode", Str, ONE),
    f(8, "volumeName", Str, ONE),
    f(9, "fsType", Str, ONE),
    f(10, "readOnly", Bool, ONE),
]);

static CORE_V1_STORAGE_OS_VOLUME_SOURCE: Msg = Msg::new("StorageOSVolumeSource", &[
    f(1, "volumeName", Str, ONE),
    f(2, "volumeNamespace", Str, ONE),
    f(3, "fsType", Str, ONE),
    f(4, "readOnly", Bool, ONE),
    f(5, "secretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
]);

static CORE_V1_CSI_VOLUME_SOURCE: Msg = Msg::new("CSIVolumeSource", &[
    f(1, "driver", Str, SET),
    f(2, "readOnly", Bool, SET),
    f(3, "fsType", Str, SET),
    f(4, "volumeAttributes", Str, MAP),
    f(5, "nodePublishSecretRef", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), ONE),
]);

static CORE_V1_VOLUME_RESOURCE_REQUIREMENTS: Msg = Msg::new("VolumeResourceRequirements", &[
    f(1, "limits", Quantity, MAP),
    f(2, "requests", Quantity, MAP),
]);

static CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE: Msg = Msg::new("TypedLocalObjectReference", &[
    f(1, "apiGroup", Str, SET),
    f(2, "kind", Str, SET),
    f(3, "name", Str, SET),
]);

static CORE_V1_TYPED_OBJECT_REFERENCE: Msg = Msg::new("TypedObjectReference", &[
    f(1, "apiGroup", Str, SET),
    f(2, "kind", Str, SET),
    f(3, "name", Str, SET),
    f(4, "namespace", Str, SET),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC: Msg = Msg::new("PersistentVolumeClaimSpec", &[
    f(1, "accessModes", Str, LIST),
    f(2, "resources", Message(&CORE_V1_VOLUME_RESOURCE_REQUIREMENTS), ONE),
    f(3, "volumeName", Str, ONE),
    f(4, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(5, "storageClassName", Str, SET),
    f(6, "volumeMode", Str, SET),
    f(7, "dataSource", Message(&CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE), ONE),
    f(8, "dataSourceRef", Message(&CORE_V1_TYPED_OBJECT_REFERENCE), ONE),
    f(9, "volumeAttributesClassName", Str, SET),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM_TEMPLATE: Msg = Msg::new("PersistentVolumeClaimTemplate", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC), ONE),
]);

static CORE_V1_EPHEMERAL_VOLUME_SOURCE: Msg = Msg::new("EphemeralVolumeSource", &[
    f(1, "volumeClaimTemplate", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_TEMPLATE), ONE),
]);

static CORE_V1_IMAGE_VOLUME_SOURCE: Msg = Msg::new("ImageVolumeSource", &[
    f(1, "reference", Str, ONE),
    f(2, "pullPolicy", Str, ONE),
]);

static CORE_V1_VOLUME_SOURCE: Msg = Msg::new("VolumeSource", &[
    f(1, "hostPath", Message(&CORE_V1_HOST_PATH_VOLUME_SOURCE), ONE),
    f(2, "emptyDir", Message(&CORE_V1_EMPTY_DIR_VOLUME_SOURCE), ONE),
    f(3, "gcePersistentDisk", Message(&CORE_V1_GCE_PERSISTENT_DISK_VOLUME_SOURCE), ONE),
    f(4, "awsElasticBlockStore", Message(&CORE_V1_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE), ONE),
    f(5, "gitRepo", Message(&CORE_V1_GIT_REPO_VOLUME_SOURCE), ONE),
    f(6, "secret", Message(&CORE_V1_SECRET_VOLUME_SOURCE), ONE),
    f(7, "nfs", Message(&CORE_V1_NFS_VOLUME_SOURCE), ONE),
    f(8, "iscsi", Message(&CORE_V1_ISCSI_VOLUME_SOURCE), ONE),
    f(9, "glusterfs", Message(&CORE_V1_GLUSTERFS_VOLUME_SOURCE), ONE),
    f(10, "persistentVolumeClaim", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE), ONE),
    f(11, "rbd", Message(&CORE_V1_RBD_VOLUME_SOURCE), ONE),
    f(12, "flexVolume", Message(&CORE_V1_FLEX_VOLUME_SOURCE), ONE),
    f(13, "cinder", Message(&CORE_V1_CINDER_VOLUME_SOURCE), ONE),
    f(14, "cephfs", Message(&CORE_V1_CEPH_FS_VOLUME_SOURCE), ONE),
    f(15, "flocker", Message(&CORE_V1_FLOCKER_VOLUME_SOURCE), ONE),
    f(16, "downwardAPI", Message(&CORE_V1_DOWNWARD_API_VOLUME_SOURCE), ONE),
    f(17, "fc", Message(&CORE_V1_FC_VOLUME_SOURCE), ONE),
    f(18, "azureFile", Message(&CORE_V1_AZURE_FILE_VOLUME_SOURCE), ONE),
    f(19, "configMap", Message(&CORE_V1_CONFIG_MAP_VOLUME_SOURCE), ONE),
    f(20, "vsphereVolume", Message(&CORE_V1_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE), ONE),
    f(21, "quobyte", Message(&CORE_V1_QUOBYTE_VOLUME_SOURCE), ONE),
    f(22, "azureDisk", Message(&CORE_V1_AZURE_DISK_VOLUME_SOURCE), ONE),
    f(23, "photonPersistentDisk", Message(&CORE_V1_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE), ONE),
    f(24, "portworxVolume", Message(&CORE_V1_PORTWORX_VOLUME_SOURCE), ONE),
    f(25, "scaleIO", Message(&CORE_V1_SCALE_IO_VOLUME_SOURCE), ONE),
    f(26, "projected", Message(&CORE_V1_PROJECTED_VOLUME_SOURCE), ONE),
    f(27, "storageos", Message(&CORE_V1_STORAGE_OS_VOLUME_SOURCE), ONE),
    f(28, "csi", Message(&CORE_V1_CSI_VOLUME_SOURCE), ONE),
    f(29, "ephemeral", Message(&CORE_V1_EPHEMERAL_VOLUME_SOURCE), ONE),
    f(30, "image", Message(&CORE_V1_IMAGE_VOLUME_SOURCE), ONE),
]);

static CORE_V1_VOLUME: Msg = Msg::new("Volume", &[
    f(1, "name", Str, SET),
    f(2, "", Message(&CORE_V1_VOLUME_SOURCE), INLINE),
]);

static CORE_V1_CONTAINER_PORT: Msg = Msg::new("ContainerPort", &[
    f(1, "name", Str, ONE),
    f(2, "hostPort", I32, ONE),
    f(3, "containerPort", I32, SET),
    f(4, "protocol", Str, ONE),
    f(5, "hostIP", Str, ONE),
]);

static CORE_V1_CONFIG_MAP_ENV_SOURCE: Msg = Msg::new("ConfigMapEnvSource", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "optional", Bool, SET),
]);

static CORE_V1_SECRET_ENV_SOURCE: Msg = Msg::new("SecretEnvSource", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "optional", Bool, SET),
]);

static CORE_V1_ENV_FROM_SOURCE: Msg = Msg::new("EnvFromSource", &[
    f(1, "prefix", Str, ONE),
    f(2, "configMapRef", Message(&CORE_V1_CONFIG_MAP_ENV_SOURCE), ONE),
    f(3, "secretRef", Message(&CORE_V1_SECRET_ENV_SOURCE), ONE),
]);

static CORE_V1_CONFIG_MAP_KEY_SELECTOR: Msg = Msg::new("ConfigMapKeySelector", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "key", Str, SET),
    f(3, "optional", Bool, SET),
]);

static CORE_V1_SECRET_KEY_SELECTOR: Msg = Msg::new("SecretKeySelector", &[
    f(1, "", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), INLINE),
    f(2, "key", Str, SET),
    f(3, "optional", Bool, SET),
]);

static CORE_V1_ENV_VAR_SOURCE: Msg = Msg::new("EnvVarSource", &[
    f(1, "fieldRef", Message(&CORE_V1_OBJECT_FIELD_SELECTOR), ONE),
    f(2, "resourceFieldRef", Message(&CORE_V1_RESOURCE_FIELD_SELECTOR), ONE),
    f(3, "configMapKeyRef", Message(&CORE_V1_CONFIG_MAP_KEY_SELECTOR), ONE),
    f(4, "secretKeyRef", Message(&CORE_V1_SECRET_KEY_SELECTOR), ONE),
]);

static CORE_V1_ENV_VAR: Msg = Msg::new("EnvVar", &[
    f(1, "name", Str, SET),
    f(2, "value", Str, ONE),
    f(3, "valueFrom", Message(&CORE_V1_ENV_VAR_SOURCE), ONE),
]);

static CORE_V1_RESOURCE_CLAIM: Msg = Msg::new("ResourceClaim", &[
    f(1, "name", Str, SET),
    f(2, "request", Str, ONE),
]);

static CORE_V1_RESOURCE_REQUIREMENTS: Msg = Msg::new("ResourceRequirements", &[
    f(1, "limits", Quantity, MAP),
    f(2, "requests", Quantity, MAP),
    f(3, "claims", Message(&CORE_V1_RESOURCE_CLAIM), LIST),
]);

static CORE_V1_CONTAINER_RESIZE_POLICY: Msg = Msg::new("ContainerResizePolicy", &[
    f(1, "resourceName", Str, SET),
    f(2, "restartPolicy", Str, SET),
]);

static CORE_V1_VOLUME_MOUNT: Msg = Msg::new("VolumeMount", &[
    f(1, "name", Str, SET),
    f(2, "readOnly", Bool, ONE),
    f(3, "mountPath", Str, SET),
    f(4, "subPath", Str, ONE),
    f(5, "mountPropagation", Str, SET),
    f(6, "subPathExpr", Str, ONE),
    f(7, "recursiveReadOnly", Str, SET),
]);

static CORE_V1_VOLUME_DEVICE: Msg = Msg::new("VolumeDevice", &[
    f(1, "name", Str, SET),
    f(2, "devicePath", Str, SET),
]);

static CORE_V1_EXEC_ACTION: Msg = Msg::new("ExecAction", &[
    f(1, "command", Str, LIST),
]);

static CORE_V1_HTTP_HEADER: Msg = Msg::new("HTTPHeader", &[
    f(1, "name", Str, SET),
    f(2, "value", Str, SET),
]);

static CORE_V1_HTTP_GET_ACTION: Msg = Msg::new("HTTPGetAction", &[
    f(1, "path", Str, ONE),
    f(2, "port", IntOrString, ONE),
    f(3, "host", Str, ONE),
    f(4, "scheme", Str, ONE),
    f(5, "httpHeaders", Message(&CORE_V1_HTTP_HEADER), LIST),
]);

static CORE_V1_TCP_SOCKET_ACTION: Msg = Msg::new("TCPSocketAction", &[
    f(1, "port", IntOrString, ONE),
    f(2, "host", Str, ONE),
]);

static CORE_V1_GRPC_ACTION: Msg = Msg::new("GRPCAction", &[
    f(1, "port", I32, SET),
    f(2, "service", Str, SET),
]);

static CORE_V1_PROBE_HANDLER: Msg = Msg::new("ProbeHandler", &[
    f(1, "exec", Message(&CORE_V1_EXEC_ACTION), ONE),
    f(2, "httpGet", Message(&CORE_V1_HTTP_GET_ACTION), ONE),
    f(3, "tcpSocket", Message(&CORE_V1_TCP_SOCKET_ACTION), ONE),
    f(4, "grpc", Message(&CORE_V1_GRPC_ACTION), ONE),
]);

static CORE_V1_PROBE: Msg = Msg::new("Probe", &[
    f(1, "", Message(&CORE_V1_PROBE_HANDLER), INLINE),
    f(2, "initialDelaySeconds", I32, ONE),
    f(3, "timeoutSeconds", I32, ONE),
    f(4, "periodSeconds", I32, ONE),
    f(5, "successThreshold", I32, ONE),
    f(6, "failureThreshold", I32, ONE),
    f(7, "terminationGracePeriodSeconds", I64, SET),
]);

static CORE_V1_SLEEP_ACTION: Msg = Msg::new("SleepAction", &[
    f(1, "seconds", I64, SET),
]);

static CORE_V1_LIFECYCLE_HANDLER: Msg = Msg::new("LifecycleHandler", &[
    f(1, "exec", Message(&CORE_V1_EXEC_ACTION), ONE),
    f(2, "httpGet", Message(&CORE_V1_HTTP_GET_ACTION), ONE),
    f(3, "tcpSocket", Message(&CORE_V1_TCP_SOCKET_ACTION), ONE),
    f(4, "sleep", Message(&CORE_V1_SLEEP_ACTION), ONE),
]);

static CORE_V1_LIFECYCLE: Msg = Msg::new("Lifecycle", &[
    f(1, "postStart", Message(&CORE_V1_LIFECYCLE_HANDLER), ONE),
    f(2, "preStop", Message(&CORE_V1_LIFECYCLE_HANDLER), ONE),
    f(3, "stopSignal", Str, SET),
]);

static CORE_V1_CAPABILITIES: Msg = Msg::new("Capabilities", &[
    f(1, "add", Str, LIST),
    f(2, "drop", Str, LIST),
]);

static CORE_V1_SE_LINUX_OPTIONS: Msg = Msg::new("SELinuxOptions", &[
    f(1, "user", Str, ONE),
    f(2, "role", Str, ONE),
    f(3, "type", Str, ONE),
    f(4, "level", Str, ONE),
]);

static CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS: Msg = Msg::new("WindowsSecurityContextOptions", &[
    f(1, "gmsaCredentialSpecName", Str, SET),
    f(2, "gmsaCredentialSpec", Str, SET),
    f(3, "runAsUserName", Str, SET),
    f(4, "hostProcess", Bool, SET),
]);

static CORE_V1_SECCOMP_PROFILE: Msg = Msg::new("SeccompProfile", &[
    f(1, "type", Str, SET),
    f(2, "localhostProfile", Str, SET),
]);

static CORE_V1_APP_ARMOR_PROFILE: Msg = Msg::new("AppArmorProfile", &[
    f(1, "type", Str, SET),
    f(2, "localhostProfile", Str, SET),
]);

static CORE_V1_SECURITY_CONTEXT: Msg = Msg::new("SecurityContext", &[
    f(1, "capabilities", Message(&CORE_V1_CAPABILITIES), ONE),
    f(2, "privileged", Bool, SET),
    f(3, "seLinuxOptions", Message(&CORE_V1_SE_LINUX_OPTIONS), ONE),
    f(4, "runAsUser", I64, SET),
    f(5, "runAsNonRoot", Bool, SET),
    f(6, "readOnlyRootFilesystem", Bool, SET),
    f(7, "allowPrivilegeEscalation", Bool, SET),
    f(8, "runAsGroup", I64, SET),
    f(9, "procMount", Str, SET),
    f(10, "windowsOptions", Message(&CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS), ONE),
    f(11, "seccompProfile", Message(&CORE_V1_SECCOMP_PROFILE), ONE),
    f(12, "appArmorProfile", Message(&CORE_V1_APP_ARMOR_PROFILE), ONE),
]);

static CORE_V1_CONTAINER: Msg = Msg::new("Container", &[
    f(1, "name", Str, SET),
    f(2, "image", Str, ONE),
    f(3, "command", Str, LIST),
    f(4, "args", Str, LIST),
    f(5, "workingDir", Str, ONE),
    f(6, "ports", Message(&CORE_V1_CONTAINER_PORT), LIST),
    f(7, "env", Message(&CORE_V1_ENV_VAR), LIST),
    f(8, "resources", Message(&CORE_V1_RESOURCE_REQUIREMENTS), ONE),
    f(9, "volumeMounts", Message(&CORE_V1_VOLUME_MOUNT), LIST),
    f(10, "livenessProbe", Message(&CORE_V1_PROBE), ONE),
    f(11, "readinessProbe", Message(&CORE_V1_PROBE), ONE),
    f(12, "lifecycle", Message(&CORE_V1_LIFECYCLE), ONE),
    f(13, "terminationMessagePath", Str, ONE),
    f(14, "imagePullPolicy", Str, ONE),
    f(15, "securityContext", Message(&CORE_V1_SECURITY_CONTEXT), ONE),
    f(16, "stdin", Bool, ONE),
    f(17, "stdinOnce", Bool, ONE),
    f(18, "tty", Bool, ONE),
    f(19, "envFrom", Message(&CORE_V1_ENV_FROM_SOURCE), LIST),
    f(20, "terminationMessagePolicy", Str, ONE),
    f(21, "volumeDevices", Message(&CORE_V1_VOLUME_DEVICE), LIST),
    f(22, "startupProbe", Message(&CORE_V1_PROBE), ONE),
    f(23, "resizePolicy", Message(&CORE_V1_CONTAINER_RESIZE_POLICY), LIST),
    f(24, "restartPolicy", Str, SET),
]);

static CORE_V1_EPHEMERAL_CONTAINER_COMMON: Msg = Msg::new("EphemeralContainerCommon", &[
    f(1, "name", Str, SET),
    f(2, "image", Str, ONE),
    f(3, "command", Str, LIST),
    f(4, "args", Str, LIST),
    f(5, "workingDir", Str, ONE),
    f(6, "ports", Message(&CORE_V1_CONTAINER_PORT), LIST),
    f(7, "env", Message(&CORE_V1_ENV_VAR), LIST),
    f(8, "resources", Message(&CORE_V1_RESOURCE_REQUIREMENTS), ONE),
    f(9, "volumeMounts", Message(&CORE_V1_VOLUME_MOUNT), LIST),
    f(10, "livenessProbe", Message(&CORE_V1_PROBE), ONE),
    f(11, "readinessProbe", Message(&CORE_V1_PROBE), ONE),
    f(12, "lifecycle", Message(&CORE_V1_LIFECYCLE), ONE),
    f(13, "terminationMessagePath", Str, ONE),
    f(14, "imagePullPolicy", Str, ONE),
    f(15, "securityContext", Message(&CORE_V1_SECURITY_CONTEXT), ONE),
    f(16, "stdin", Bool, ONE),
    f(17, "stdinOnce", Bool, ONE),
    f(18, "tty", Bool, ONE),
    f(19, "envFrom", Message(&CORE_V1_ENV_FROM_SOURCE), LIST),
    f(20, "terminationMessagePolicy", Str, ONE),
    f(21, "volumeDevices", Message(&CORE_V1_VOLUME_DEVICE), LIST),
    f(22, "startupProbe", Message(&CORE_V1_PROBE), ONE),
    f(23, "resizePolicy", Message(&CORE_V1_CONTAINER_RESIZE_POLICY), LIST),
    f(24, "restartPolicy", Str, SET),
]);

static CORE_V1_EPHEMERAL_CONTAINER: Msg = Msg::new("EphemeralContainer", &[
    f(1, "", Message(&CORE_V1_EPHEMERAL_CONTAINER_COMMON), INLINE),
    f(2, "targetContainerName", Str, ONE),
]);

static CORE_V1_SYSCTL: Msg = Msg::new("Sysctl", &[
    f(1, "name", Str, SET),
    f(2, "value", Str, SET),
]);

static CORE_V1_POD_SECURITY_CONTEXT: Msg = Msg::new("PodSecurityContext", &[
    f(1, "seLinuxOptions", Message(&CORE_V1_SE_LINUX_OPTIONS), ONE),
    f(2, "runAsUser", I64, SET),
    f(3, "runAsNonRoot", Bool, SET),
    f(4, "supplementalGroups", I64, LIST),
    f(5, "fsGroup", I64, SET),
    f(6, "runAsGroup", I64, SET),
    f(7, "sysctls", Message(&CORE_V1_SYSCTL), LIST),
    f(8, "windowsOptions", Message(&CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS), ONE),
    f(9, "fsGroupChangePolicy", Str, SET),
    f(10, "seccompProfile", Message(&CORE_V1_SECCOMP_PROFILE), ONE),
    f(11, "appArmorProfile", Message(&CORE_V1_APP_ARMOR_PROFILE), ONE),
    f(12, "supplementalGroupsPolicy", Str, SET),
    f(13, "seLinuxChangePolicy", Str, SET),
]);

static CORE_V1_NODE_SELECTOR_REQUIREMENT: Msg = Msg::new("NodeSelectorRequirement", &[
    f(1, "key", Str, SET),
    f(2, "operator", Str, SET),
    f(3, "values", Str, LIST),
]);

static CORE_V1_NODE_SELECTOR_TERM: Msg = Msg::new("NodeSelectorTerm", &[
    f(1, "matchExpressions", Message(&CORE_V1_NODE_SELECTOR_REQUIREMENT), LIST),
    f(2, "matchFields", Message(&CORE_V1_NODE_SELECTOR_REQUIREMENT), LIST),
]);

static CORE_V1_NODE_SELECTOR: Msg = Msg::new("NodeSelector", &[
    f(1, "nodeSelectorTerms", Message(&CORE_V1_NODE_SELECTOR_TERM), LIST),
]).nulls(&["nodeSelectorTerms"]);

static CORE_V1_PREFERRED_SCHEDULING_TERM: Msg = Msg::new("PreferredSchedulingTerm", &[
    f(1, "weight", I32, SET),
    f(2, "preference", Message(&CORE_V1_NODE_SELECTOR_TERM), ONE),
]);

static CORE_V1_NODE_AFFINITY: Msg = Msg::new("NodeAffinity", &[
    f(1, "requiredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_NODE_SELECTOR), ONE),
    f(2, "preferredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_PREFERRED_SCHEDULING_TERM), LIST),
]);

static CORE_V1_POD_AFFINITY_TERM: Msg = Msg::new("PodAffinityTerm", &[
    f(1, "labelSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(2, "namespaces", Str, LIST),
    f(3, "topologyKey", Str, SET),
    f(4, "namespaceSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(5, "matchLabelKeys", Str, LIST),
    f(6, "mismatchLabelKeys", Str, LIST),
]);

static CORE_V1_WEIGHTED_POD_AFFINITY_TERM: Msg = Msg::new("WeightedPodAffinityTerm", &[
    f(1, "weight", I32, SET),
    f(2, "podAffinityTerm", Message(&CORE_V1_POD_AFFINITY_TERM), ONE),
]);

static CORE_V1_POD_AFFINITY: Msg = Msg::new("PodAffinity", &[
    f(1, "requiredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_POD_AFFINITY_TERM), LIST),
    f(2, "preferredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_WEIGHTED_POD_AFFINITY_TERM), LIST),
]);

static CORE_V1_POD_ANTI_AFFINITY: Msg = Msg::new("PodAntiAffinity", &[
    f(1, "requiredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_POD_AFFINITY_TERM), LIST),
    f(2, "preferredDuringSchedulingIgnoredDuringExecution", Message(&CORE_V1_WEIGHTED_POD_AFFINITY_TERM), LIST),
]);

static CORE_V1_AFFINITY: Msg = Msg::new("Affinity", &[
    f(1, "nodeAffinity", Message(&CORE_V1_NODE_AFFINITY), ONE),
    f(2, "podAffinity", Message(&CORE_V1_POD_AFFINITY), ONE),
    f(3, "podAntiAffinity", Message(&CORE_V1_POD_ANTI_AFFINITY), ONE),
]);

static CORE_V1_TOLERATION: Msg = Msg::new("Toleration", &[
    f(1, "key", Str, ONE),
    f(2, "operator", Str, ONE),
    f(3, "value", Str, ONE),
    f(4, "effect", Str, ONE),
    f(5, "tolerationSeconds", I64, SET),
]);

static CORE_V1_HOST_ALIAS: Msg = Msg::new("HostAlias", &[
    f(1, "ip", Str, SET),
    f(2, "hostnames", Str, LIST),
]);

static CORE_V1_POD_DNS_CONFIG_OPTION: Msg = Msg::new("PodDNSConfigOption", &[
    f(1, "name", Str, ONE),
    f(2, "value", Str, SET),
]);

static CORE_V1_POD_DNS_CONFIG: Msg = Msg::new("PodDNSConfig", &[
    f(1, "nameservers", Str, LIST),
    f(2, "searches", Str, LIST),
    f(3, "options", Message(&CORE_V1_POD_DNS_CONFIG_OPTION), LIST),
]);

static CORE_V1_POD_READINESS_GATE: Msg = Msg::new("PodReadinessGate", &[
    f(1, "conditionType", Str, SET),
]);

static CORE_V1_TOPOLOGY_SPREAD_CONSTRAINT: Msg = Msg::new("TopologySpreadConstraint", &[
    f(1, "maxSkew", I32, SET),
    f(2, "topologyKey", Str, SET),
    f(3, "whenUnsatisfiable", Str, SET),
    f(4, "labelSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(5, "minDomains", I32, SET),
    f(6, "nodeAffinityPolicy", Str, SET),
    f(7, "nodeTaintsPolicy", Str, SET),
    f(8, "matchLabelKeys", Str, LIST),
]);

static CORE_V1_POD_OS: Msg = Msg::new("PodOS", &[
    f(1, "name", Str, SET),
]);

static CORE_V1_POD_SCHEDULING_GATE: Msg = Msg::new("PodSchedulingGate", &[
    f(1, "name", Str, SET),
]);

static CORE_V1_POD_RESOURCE_CLAIM: Msg = Msg::new("PodResourceClaim", &[
    f(1, "name", Str, SET),
    f(3, "resourceClaimName", Str, SET),
    f(4, "resourceClaimTemplateName", Str, SET),
]);

static CORE_V1_POD_SPEC: Msg = Msg::new("PodSpec", &[
    f(1, "volumes", Message(&CORE_V1_VOLUME), LIST),
    f(2, "containers", Message(&CORE_V1_CONTAINER), LIST),
    f(3, "restartPolicy", Str, ONE),
    f(4, "terminationGracePeriodSeconds", I64, SET),
    f(5, "activeDeadlineSeconds", I64, SET),
    f(6, "dnsPolicy", Str, ONE),
    f(7, "nodeSelector", Str, MAP),
    f(8, "serviceAccountName", Str, ONE),
    f(9, "serviceAccount", Str, ONE),
    f(10, "nodeName", Str, ONE),
    f(11, "hostNetwork", Bool, ONE),
    f(12, "hostPID", Bool, ONE),
    f(13, "hostIPC", Bool, ONE),
    f(14, "securityContext", Message(&CORE_V1_POD_SECURITY_CONTEXT), ONE),
    f(15, "imagePullSecrets", Message(&CORE_V1_LOCAL_OBJECT_REFERENCE), LIST),
    f(16, "hostname", Str, ONE),
    f(17, "subdomain", Str, ONE),
    f(18, "affinity", Message(&CORE_V1_AFFINITY), ONE),
    f(19, "schedulerName", Str, ONE),
    f(20, "initContainers", Message(&CORE_V1_CONTAINER), LIST),
    f(21, "automountServiceAccountToken", Bool, SET),
    f(22, "tolerations", Message(&CORE_V1_TOLERATION), LIST),
    f(23, "hostAliases", Message(&CORE_V1_HOST_ALIAS), LIST),
    f(24, "priorityClassName", Str, ONE),
    f(25, "priority", I32, SET),
    f(26, "dnsConfig", Message(&CORE_V1_POD_DNS_CONFIG), ONE),
    f(27, "shareProcessNamespace", Bool, SET),
    f(28, "readinessGates", Message(&CORE_V1_POD_READINESS_GATE), LIST),
    f(29, "runtimeClassName", Str, SET),
    f(30, "enableServiceLinks", Bool, SET),
    f(31, "preemptionPolicy", Str, SET),
    f(32, "overhead", Quantity, MAP),
    f(33, "topologySpreadConstraints", Message(&CORE_V1_TOPOLOGY_SPREAD_CONSTRAINT), LIST),
    f(34, "ephemeralContainers", Message(&CORE_V1_EPHEMERAL_CONTAINER), LIST),
    f(35, "setHostnameAsFQDN", Bool, SET),
    f(36, "os", Message(&CORE_V1_POD_OS), ONE),
    f(37, "hostUsers", Bool, SET),
    f(38, "schedulingGates", Message(&CORE_V1_POD_SCHEDULING_GATE), LIST),
    f(39, "resourceClaims", Message(&CORE_V1_POD_RESOURCE_CLAIM), LIST),
    f(40, "resources", Message(&CORE_V1_RESOURCE_REQUIREMENTS), ONE),
]).nulls(&["containers"]);

static CORE_V1_POD_CONDITION: Msg = Msg::new("PodCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastProbeTime", Time, ONE),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, ONE),
    f(6, "message", Str, ONE),
    f(7, "observedGeneration", I64, ONE),
]);

static CORE_V1_HOST_IP: Msg = Msg::new("HostIP", &[
    f(1, "ip", Str, SET),
]);

static CORE_V1_POD_IP: Msg = Msg::new("PodIP", &[
    f(1, "ip", Str, SET),
]);

static CORE_V1_CONTAINER_STATE_WAITING: Msg = Msg::new("ContainerStateWaiting", &[
    f(1, "reason", Str, ONE),
    f(2, "message", Str, ONE),
]);

static CORE_V1_CONTAINER_STATE_RUNNING: Msg = Msg::new("ContainerStateRunning", &[
    f(1, "startedAt", Time, ONE),
]);

static CORE_V1_CONTAINER_STATE_TERMINATED: Msg = Msg::new("ContainerStateTerminated", &[
    f(1, "exitCode", I32, SET),
    f(2, "signal", I32, ONE),
    f(3, "reason", Str, ONE),
    f(4, "message", Str, ONE),
    f(5, "startedAt", Time, ONE),
    f(6, "finishedAt", Time, ONE),
    f(7, "containerID", Str, ONE),
]);

static CORE_V1_CONTAINER_STATE: Msg = Msg::new("ContainerState", &[
    f(1, "waiting", Message(&CORE_V1_CONTAINER_STATE_WAITING), ONE),
    f(2, "running", Message(&CORE_V1_CONTAINER_STATE_RUNNING), ONE),
    f(3, "terminated", Message(&CORE_V1_CONTAINER_STATE_TERMINATED), ONE),
]);

static CORE_V1_VOLUME_MOUNT_STATUS: Msg = Msg::new("VolumeMountStatus", &[
    f(1, "name", Str, SET),
    f(2, "mountPath", Str, SET),
    f(3, "readOnly", Bool, ONE),
    f(4, "recursiveReadOnly", Str, SET),
]);

static CORE_V1_LINUX_CONTAINER_USER: Msg = Msg::new("LinuxContainerUser", &[
    f(1, "uid", I64, SET),
    f(2, "gid", I64, SET),
    f(3, "supplementalGroups", I64, LIST),
]);

static CORE_V1_CONTAINER_USER: Msg = Msg::new("ContainerUser", &[
    f(1, "linux", Message(&CORE_V1_LINUX_CONTAINER_USER), ONE),
]);

static CORE_V1_RESOURCE_HEALTH: Msg = Msg::new("ResourceHealth", &[
    f(1, "resourceID", Str, SET),
    f(2, "health", Str, ONE),
]);

static CORE_V1_RESOURCE_STATUS: Msg = Msg::new("ResourceStatus", &[
    f(1, "name", Str, SET),
    f(2, "resources", Message(&CORE_V1_RESOURCE_HEALTH), LIST),
]);

static CORE_V1_CONTAINER_STATUS: Msg = Msg::new("ContainerStatus", &[
    f(1, "name", Str, SET),
    f(2, "state", Message(&CORE_V1_CONTAINER_STATE), ONE),
    f(3, "lastState", Message(&CORE_V1_CONTAINER_STATE), ONE),
    f(4, "ready", Bool, SET),
    f(5, "restartCount", I32, SET),
    f(6, "image", Str, SET),
    f(7, "imageID", Str, SET),
    f(8, "containerID", Str, ONE),
    f(9, "started", Bool, SET),
    f(10, "allocatedResources", Quantity, MAP),
    f(11, "resources", Message(&CORE_V1_RESOURCE_REQUIREMENTS), ONE),
    f(12, "volumeMounts", Message(&CORE_V1_VOLUME_MOUNT_STATUS), LIST),
    f(13, "user", Message(&CORE_V1_CONTAINER_USER), ONE),
    f(14, "allocatedResourcesStatus", Message(&CORE_V1_RESOURCE_STATUS), LIST),
    f(15, "stopSignal", Str, SET),
]);

static CORE_V1_POD_RESOURCE_CLAIM_STATUS: Msg = Msg::new("PodResourceClaimStatus", &[
    f(1, "name", Str, SET),
    f(2, "resourceClaimName", Str, SET),
]);

static CORE_V1_POD_STATUS: Msg = Msg::new("PodStatus", &[
    f(1, "phase", Str, ONE),
    f(2, "conditions", Message(&CORE_V1_POD_CONDITION), LIST),
    f(3, "message", Str, ONE),
    f(4, "reason", Str, ONE),
    f(5, "hostIP", Str, ONE),
    f(6, "podIP", Str, ONE),
    f(7, "startTime", Time, ONE),
    f(8, "containerStatuses", Message(&CORE_V1_CONTAINER_STATUS), LIST),
    f(9, "qosClass", Str, ONE),
    f(10, "initContainerStatuses", Message(&CORE_V1_CONTAINER_STATUS), LIST),
    f(11, "nominatedNodeName", Str, ONE),
    f(12, "podIPs", Message(&CORE_V1_POD_IP), LIST),
    f(13, "ephemeralContainerStatuses", Message(&CORE_V1_CONTAINER_STATUS), LIST),
    f(14, "resize", Str, ONE),
    f(15, "resourceClaimStatuses", Message(&CORE_V1_POD_RESOURCE_CLAIM_STATUS), LIST),
    f(16, "hostIPs", Message(&CORE_V1_HOST_IP), LIST),
    f(17, "observedGeneration", I64, ONE),
]);

static CORE_V1_POD: Msg = Msg::new("Pod", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_POD_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_POD_STATUS), ONE),
]);

static CORE_V1_SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Msg = Msg::new("ScopedResourceSelectorRequirement", &[
    f(1, "scopeName", Str, SET),
    f(2, "operator", Str, SET),
    f(3, "values", Str, LIST),
]);

static CORE_V1_SCOPE_SELECTOR: Msg = Msg::new("ScopeSelector", &[
    f(1, "matchExpressions", Message(&CORE_V1_SCOPED_RESOURCE_SELECTOR_REQUIREMENT), LIST),
]);

static CORE_V1_RESOURCE_QUOTA_SPEC: Msg = Msg::new("ResourceQuotaSpec", &[
    f(1, "hard", Quantity, MAP),
    f(2, "scopes", Str, LIST),
    f(3, "scopeSelector", Message(&CORE_V1_SCOPE_SELECTOR), ONE),
]);

static CORE_V1_RESOURCE_QUOTA_STATUS: Msg = Msg::new("ResourceQuotaStatus", &[
    f(1, "hard", Quantity, MAP),
    f(2, "used", Quantity, MAP),
]);

static CORE_V1_RESOURCE_QUOTA: Msg = Msg::new("ResourceQuota", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_RESOURCE_QUOTA_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_RESOURCE_QUOTA_STATUS), ONE),
]);

static CORE_V1_POD_TEMPLATE_SPEC: Msg = Msg::new("PodTemplateSpec", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_POD_SPEC), ONE),
]);

static APPS_V1_ROLLING_UPDATE_DEPLOYMENT: Msg = Msg::new("RollingUpdateDeployment", &[
    f(1, "maxUnavailable", IntOrString, ONE),
    f(2, "maxSurge", IntOrString, ONE),
]);

static APPS_V1_DEPLOYMENT_STRATEGY: Msg = Msg::new("DeploymentStrategy", &[
    f(1, "type", Str, ONE),
    f(2, "rollingUpdate", Message(&APPS_V1_ROLLING_UPDATE_DEPLOYMENT), ONE),
]);

static APPS_V1_DEPLOYMENT_SPEC: Msg = Msg::new("DeploymentSpec", &[
    f(1, "replicas", I32, SET),
    f(2, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(3, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(4, "strategy", Message(&APPS_V1_DEPLOYMENT_STRATEGY), ONE),
    f(5, "minReadySeconds", I32, ONE),
    f(6, "revisionHistoryLimit", I32, SET),
    f(7, "paused", Bool, ONE),
    f(9, "progressDeadlineSeconds", I32, SET),
]).nulls(&["selector"]);

static APPS_V1_DEPLOYMENT_CONDITION: Msg = Msg::new("DeploymentCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
    f(6, "lastUpdateTime", Time, ONE),
    f(7, "lastTransitionTime", Time, ONE),
]);

static APPS_V1_DEPLOYMENT_STATUS: Msg = Msg::new("DeploymentStatus", &[
    f(1, "observedGeneration", I64, ONE),
    f(2, "replicas", I32, ONE),
    f(3, "updatedReplicas", I32, ONE),
    f(4, "availableReplicas", I32, ONE),
    f(5, "unavailableReplicas", I32, ONE),
    f(6, "conditions", Message(&APPS_V1_DEPLOYMENT_CONDITION), LIST),
    f(7, "readyReplicas", I32, ONE),
    f(8, "collisionCount", I32, SET),
    f(9, "terminatingReplicas", I32, SET),
]);

static APPS_V1_DEPLOYMENT: Msg = Msg::new("Deployment", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&APPS_V1_DEPLOYMENT_SPEC), ONE),
    f(3, "status", Message(&APPS_V1_DEPLOYMENT_STATUS), ONE),
]);

static BATCH_V1_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Msg = Msg::new("PodFailurePolicyOnExitCodesRequirement", &[
    f(1, "containerName", Str, SET),
    f(2, "operator", Str, SET),
    f(3, "values", I32, LIST),
]).nulls(&["values"]);

static BATCH_V1_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Msg = Msg::new("PodFailurePolicyOnPodConditionsPattern", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
]);

static BATCH_V1_POD_FAILURE_POLICY_RULE: Msg = Msg::new("PodFailurePolicyRule", &[
    f(1, "action", Str, SET),
    f(2, "onExitCodes", Message(&BATCH_V1_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT), ONE),
    f(3, "onPodConditions", Message(&BATCH_V1_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN), LIST),
]);

static BATCH_V1_POD_FAILURE_POLICY: Msg = Msg::new("PodFailurePolicy", &[
    f(1, "rules", Message(&BATCH_V1_POD_FAILURE_POLICY_RULE), LIST),
]).nulls(&["rules"]);

static BATCH_V1_SUCCESS_POLICY_RULE: Msg = Msg::new("SuccessPolicyRule", &[
    f(1, "succeededIndexes", Str, SET),
    f(2, "succeededCount", I32, SET),
]);

static BATCH_V1_SUCCESS_POLICY: Msg = Msg::new("SuccessPolicy", &[
    f(1, "rules", Message(&BATCH_V1_SUCCESS_POLICY_RULE), LIST),
]).nulls(&["rules"]);

static BATCH_V1_JOB_SPEC: Msg = Msg::new("JobSpec", &[
    f(1, "parallelism", I32, SET),
    f(2, "completions", I32, SET),
    f(3, "activeDeadlineSeconds", I64, SET),
    f(4, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(5, "manualSelector", Bool, SET),
    f(6, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(7, "backoffLimit", I32, SET),
    f(8, "ttlSecondsAfterFinished", I32, SET),
    f(9, "completionMode", Str, SET),
    f(10, "suspend", Bool, SET),
    f(11, "podFailurePolicy", Message(&BATCH_V1_POD_FAILURE_POLICY), ONE),
    f(12, "backoffLimitPerIndex", I32, SET),
    f(13, "maxFailedIndexes", I32, SET),
    f(14, "podReplacementPolicy", Str, SET),
    f(15, "managedBy", Str, SET),
    f(16, "successPolicy", Message(&BATCH_V1_SUCCESS_POLICY), ONE),
]);

static BATCH_V1_JOB_CONDITION: Msg = Msg::new("JobCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastProbeTime", Time, ONE),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, ONE),
    f(6, "message", Str, ONE),
]);

static BATCH_V1_UNCOUNTED_TERMINATED_PODS: Msg = Msg::new("UncountedTerminatedPods", &[
    f(1, "succeeded", Str, LIST),
    f(2, "failed", Str, LIST),
]);

static BATCH_V1_JOB_STATUS: Msg = Msg::new("JobStatus", &[
    f(1, "conditions", Message(&BATCH_V1_JOB_CONDITION), LIST),
    f(2, "startTime", Time, ONE),
    f(3, "completionTime", Time, ONE),
    f(4, "active", I32, ONE),
    f(5, "succeeded", I32, ONE),
    f(6, "failed", I32, ONE),
    f(7, "completedIndexes", Str, ONE),
    f(8, "uncountedTerminatedPods", Message(&BATCH_V1_UNCOUNTED_TERMINATED_PODS), ONE),
    f(9, "ready", I32, SET),
    f(10, "failedIndexes", Str, SET),
    f(11, "terminating", I32, SET),
]);

static BATCH_V1_JOB: Msg = Msg::new("Job", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&BATCH_V1_JOB_SPEC), ONE),
    f(3, "status", Message(&BATCH_V1_JOB_STATUS), ONE),
]);

static BATCH_V1_JOB_TEMPLATE_SPEC: Msg = Msg::new("JobTemplateSpec", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&BATCH_V1_JOB_SPEC), ONE),
]);

static BATCH_V1_CRON_JOB_SPEC: Msg = Msg::new("CronJobSpec", &[
    f(1, "schedule", Str, SET),
    f(2, "startingDeadlineSeconds", I64, SET),
    f(3, "concurrencyPolicy", Str, ONE),
    f(4, "suspend", Bool, SET),
    f(5, "jobTemplate", Message(&BATCH_V1_JOB_TEMPLATE_SPEC), ONE),
    f(6, "successfulJobsHistoryLimit", I32, SET),
    f(7, "failedJobsHistoryLimit", I32, SET),
    f(8, "timeZone", Str, SET),
]);

static BATCH_V1_CRON_JOB_STATUS: Msg = Msg::new("CronJobStatus", &[
    f(1, "active", Message(&CORE_V1_OBJECT_REFERENCE), LIST),
    f(4, "lastScheduleTime", Time, ONE),
    f(5, "lastSuccessfulTime", Time, ONE),
]);

static BATCH_V1_CRON_JOB: Msg = Msg::new("CronJob", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&BATCH_V1_CRON_JOB_SPEC), ONE),
    f(3, "status", Message(&BATCH_V1_CRON_JOB_STATUS), ONE),
]);

static NETWORKING_V1_SERVICE_BACKEND_PORT: Msg = Msg::new("ServiceBackendPort", &[
    f(1, "name", Str, ONE),
    f(2, "number", I32, ONE),
]);

static NETWORKING_V1_INGRESS_SERVICE_BACKEND: Msg = Msg::new("IngressServiceBackend", &[
    f(1, "name", Str, SET),
    f(2, "port", Message(&NETWORKING_V1_SERVICE_BACKEND_PORT), ONE),
]);

static NETWORKING_V1_INGRESS_BACKEND: Msg = Msg::new("IngressBackend", &[
    f(3, "resource", Message(&CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE), ONE),
    f(4, "service", Message(&NETWORKING_V1_INGRESS_SERVICE_BACKEND), ONE),
]);

static NETWORKING_V1_INGRESS_TLS: Msg = Msg::new("IngressTLS", &[
    f(1, "hosts", Str, LIST),
    f(2, "secretName", Str, ONE),
]);

static NETWORKING_V1_HTTP_INGRESS_PATH: Msg = Msg::new("HTTPIngressPath", &[
    f(1, "path", Str, ONE),
    f(2, "backend", Message(&NETWORKING_V1_INGRESS_BACKEND), ONE),
    f(3, "pathType", Str, SET),
]);

static NETWORKING_V1_HTTP_INGRESS_RULE_VALUE: Msg = Msg::new("HTTPIngressRuleValue", &[
    f(1, "paths", Message(&NETWORKING_V1_HTTP_INGRESS_PATH), LIST),
]).nulls(&["paths"]);

static NETWORKING_V1_INGRESS_RULE_VALUE: Msg = Msg::new("IngressRuleValue", &[
    f(1, "http", Message(&NETWORKING_V1_HTTP_INGRESS_RULE_VALUE), ONE),
]);

static NETWORKING_V1_INGRESS_RULE: Msg = Msg::new("IngressRule", &[
    f(1, "host", Str, ONE),
    f(2, "", Message(&NETWORKING_V1_INGRESS_RULE_VALUE), INLINE),
]);

static NETWORKING_V1_INGRESS_SPEC: Msg = Msg::new("IngressSpec", &[
    f(1, "defaultBackend", Message(&NETWORKING_V1_INGRESS_BACKEND), ONE),
    f(2, "tls", Message(&NETWORKING_V1_INGRESS_TLS), LIST),
    f(3, "rules", Message(&NETWORKING_V1_INGRESS_RULE), LIST),
    f(4, "ingressClassName", Str, SET),
]);

static NETWORKING_V1_INGRESS_PORT_STATUS: Msg = Msg::new("IngressPortStatus", &[
    f(1, "port", I32, SET),
    f(2, "protocol", Str, SET),
    f(3, "error", Str, SET),
]);

static NETWORKING_V1_INGRESS_LOAD_BALANCER_INGRESS: Msg = Msg::new("IngressLoadBalancerIngress", &[
    f(1, "ip", Str, ONE),
    f(2, "hostname", Str, ONE),
    f(4, "ports", Message(&NETWORKING_V1_INGRESS_PORT_STATUS), LIST),
]);

static NETWORKING_V1_INGRESS_LOAD_BALANCER_STATUS: Msg = Msg::new("IngressLoadBalancerStatus", &[
    f(1, "ingress", Message(&NETWORKING_V1_INGRESS_LOAD_BALANCER_INGRESS), LIST),
]);

static NETWORKING_V1_INGRESS_STATUS: Msg = Msg::new("IngressStatus", &[
    f(1, "loadBalancer", Message(&NETWORKING_V1_INGRESS_LOAD_BALANCER_STATUS), ONE),
]);

static NETWORKING_V1_INGRESS: Msg = Msg::new("Ingress", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&NETWORKING_V1_INGRESS_SPEC), ONE),
    f(3, "status", Message(&NETWORKING_V1_INGRESS_STATUS), ONE),
]);

static AUTHENTICATION_V1_BOUND_OBJECT_REFERENCE: Msg = Msg::new("BoundObjectReference", &[
    f(1, "kind", Str, ONE),
    f(2, "apiVersion", Str, ONE),
    f(3, "name", Str, ONE),
    f(4, "uid", Str, ONE),
]);

static AUTHENTICATION_V1_TOKEN_REQUEST_SPEC: Msg = Msg::new("TokenRequestSpec", &[
    f(1, "audiences", Str, LIST),
    f(3, "boundObjectRef", Message(&AUTHENTICATION_V1_BOUND_OBJECT_REFERENCE), ONE),
    f(4, "expirationSeconds", I64, SET),
]).nulls(&["audiences", "boundObjectRef"]);

static AUTHENTICATION_V1_TOKEN_REQUEST_STATUS: Msg = Msg::new("TokenRequestStatus", &[
    f(1, "token", Str, SET),
    f(2, "expirationTimestamp", Time, ONE),
]);

static AUTHENTICATION_V1_TOKEN_REQUEST: Msg = Msg::new("TokenRequest", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHENTICATION_V1_TOKEN_REQUEST_SPEC), ONE),
    f(3, "status", Message(&AUTHENTICATION_V1_TOKEN_REQUEST_STATUS), ONE),
]);

static AUTHENTICATION_V1_USER_INFO: Msg = Msg::new("UserInfo", &[
    f(1, "username", Str, ONE),
    f(2, "uid", Str, ONE),
    f(3, "groups", Str, LIST),
    f(4, "extra", StrList, MAP),
]);

static AUTHENTICATION_V1_SELF_SUBJECT_REVIEW_STATUS: Msg = Msg::new("SelfSubjectReviewStatus", &[
    f(1, "userInfo", Message(&AUTHENTICATION_V1_USER_INFO), ONE),
]);

static AUTHENTICATION_V1_SELF_SUBJECT_REVIEW: Msg = Msg::new("SelfSubjectReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "status", Message(&AUTHENTICATION_V1_SELF_SUBJECT_REVIEW_STATUS), ONE),
]);

static META_V1_FIELD_SELECTOR_REQUIREMENT: Msg = Msg::new("FieldSelectorRequirement", &[
    f(1, "key", Str, SET),
    f(2, "operator", Str, SET),
    f(3, "values", Str, LIST),
]);

static AUTHORIZATION_V1_FIELD_SELECTOR_ATTRIBUTES: Msg = Msg::new("FieldSelectorAttributes", &[
    f(1, "rawSelector", Str, ONE),
    f(2, "requirements", Message(&META_V1_FIELD_SELECTOR_REQUIREMENT), LIST),
]);

static AUTHORIZATION_V1_LABEL_SELECTOR_ATTRIBUTES: Msg = Msg::new("LabelSelectorAttributes", &[
    f(1, "rawSelector", Str, ONE),
    f(2, "requirements", Message(&META_V1_LABEL_SELECTOR_REQUIREMENT), LIST),
]);

static AUTHORIZATION_V1_RESOURCE_ATTRIBUTES: Msg = Msg::new("ResourceAttributes", &[
    f(1, "namespace", Str, ONE),
    f(2, "verb", Str, ONE),
    f(3, "group", Str, ONE),
    f(4, "version", Str, ONE),
    f(5, "resource", Str, ONE),
    f(6, "subresource", Str, ONE),
    f(7, "name", Str, ONE),
    f(8, "fieldSelector", Message(&AUTHORIZATION_V1_FIELD_SELECTOR_ATTRIBUTES), ONE),
    f(9, "labelSelector", Message(&AUTHORIZATION_V1_LABEL_SELECTOR_ATTRIBUTES), ONE),
]);

static AUTHORIZATION_V1_NON_RESOURCE_ATTRIBUTES: Msg = Msg::new("NonResourceAttributes", &[
    f(1, "path", Str, ONE),
    f(2, "verb", Str, ONE),
]);

static AUTHORIZATION_V1_SELF_SUBJECT_ACCESS_REVIEW_SPEC: Msg = Msg::new("SelfSubjectAccessReviewSpec", &[
    f(1, "resourceAttributes", Message(&AUTHORIZATION_V1_RESOURCE_ATTRIBUTES), ONE),
    f(2, "nonResourceAttributes", Message(&AUTHORIZATION_V1_NON_RESOURCE_ATTRIBUTES), ONE),
]);

static AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_STATUS: Msg = Msg::new("SubjectAccessReviewStatus", &[
    f(1, "allowed", Bool, SET),
    f(2, "reason", Str, ONE),
    f(3, "evaluationError", Str, ONE),
    f(4, "denied", Bool, ONE),
]);

static AUTHORIZATION_V1_SELF_SUBJECT_ACCESS_REVIEW: Msg = Msg::new("SelfSubjectAccessReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHORIZATION_V1_SELF_SUBJECT_ACCESS_REVIEW_SPEC), ONE),
    f(3, "status", Message(&AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_STATUS), ONE),
]);

static AUTHORIZATION_V1_SELF_SUBJECT_RULES_REVIEW_SPEC: Msg = Msg::new("SelfSubjectRulesReviewSpec", &[
    f(1, "namespace", Str, ONE),
]);

static AUTHORIZATION_V1_RESOURCE_RULE: Msg = Msg::new("ResourceRule", &[
    f(1, "verbs", Str, LIST),
    f(2, "apiGroups", Str, LIST),
    f(3, "resources", Str, LIST),
    f(4, "resourceNames", Str, LIST),
]).nulls(&["verbs"]);

static AUTHORIZATION_V1_NON_RESOURCE_RULE: Msg = Msg::new("NonResourceRule", &[
    f(1, "verbs", Str, LIST),
    f(2, "nonResourceURLs", Str, LIST),
]).nulls(&["verbs"]);

static AUTHORIZATION_V1_SUBJECT_RULES_REVIEW_STATUS: Msg = Msg::new("SubjectRulesReviewStatus", &[
    f(1, "resourceRules", Message(&AUTHORIZATION_V1_RESOURCE_RULE), LIST),
    f(2, "nonResourceRules", Message(&AUTHORIZATION_V1_NON_RESOURCE_RULE), LIST),
    f(3, "incomplete", Bool, SET),
    f(4, "evaluationError", Str, ONE),
]).nulls(&["resourceRules", "nonResourceRules"]);

static AUTHORIZATION_V1_SELF_SUBJECT_RULES_REVIEW: Msg = Msg::new("SelfSubjectRulesReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHORIZATION_V1_SELF_SUBJECT_RULES_REVIEW_SPEC), ONE),
    f(3, "status", Message(&AUTHORIZATION_V1_SUBJECT_RULES_REVIEW_STATUS), ONE),
]);

static AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE: Msg = Msg::new("CrossVersionObjectReference", &[
    f(1, "kind", Str, SET),
    f(2, "name", Str, SET),
    f(3, "apiVersion", Str, ONE),
]);

static AUTOSCALING_V2_METRIC_TARGET: Msg = Msg::new("MetricTarget", &[
    f(1, "type", Str, SET),
    f(2, "value", Quantity, ONE),
    f(3, "averageValue", Quantity, ONE),
    f(4, "averageUtilization", I32, SET),
]);

static AUTOSCALING_V2_METRIC_IDENTIFIER: Msg = Msg::new("MetricIdentifier", &[
    f(1, "name", Str, SET),
    f(2, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
]);

static AUTOSCALING_V2_OBJECT_METRIC_SOURCE: Msg = Msg::new("ObjectMetricSource", &[
    f(1, "describedObject", Message(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), ONE),
    f(2, "target", Message(&AUTOSCALING_V2_METRIC_TARGET), ONE),
    f(3, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
]);

static AUTOSCALING_V2_PODS_METRIC_SOURCE: Msg = Msg::new("PodsMetricSource", &[
    f(1, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
    f(2, "target", Message(&AUTOSCALING_V2_METRIC_TARGET), ONE),
]);

static AUTOSCALING_V2_RESOURCE_METRIC_SOURCE: Msg = Msg::new("ResourceMetricSource", &[
    f(1, "name", Str, SET),
    f(2, "target", Message(&AUTOSCALING_V2_METRIC_TARGET), ONE),
]);

static AUTOSCALING_V2_CONTAINER_RESOURCE_METRIC_SOURCE: Msg = Msg::new("ContainerResourceMetricSource", &[
    f(1, "name", Str, SET),
    f(2, "target", Message(&AUTOSCALING_V2_METRIC_TARGET), ONE),
    f(3, "container", Str, SET),
]);

static AUTOSCALING_V2_EXTERNAL_METRIC_SOURCE: Msg = Msg::new("ExternalMetricSource", &[
    f(1, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
    f(2, "target", Message(&AUTOSCALING_V2_METRIC_TARGET), ONE),
]);

static AUTOSCALING_V2_METRIC_SPEC: Msg = Msg::new("MetricSpec", &[
    f(1, "type", Str, SET),
    f(2, "object", Message(&AUTOSCALING_V2_OBJECT_METRIC_SOURCE), ONE),
    f(3, "pods", Message(&AUTOSCALING_V2_PODS_METRIC_SOURCE), ONE),
    f(4, "resource", Message(&AUTOSCALING_V2_RESOURCE_METRIC_SOURCE), ONE),
    f(5, "external", Message(&AUTOSCALING_V2_EXTERNAL_METRIC_SOURCE), ONE),
    f(7, "containerResource", Message(&AUTOSCALING_V2_CONTAINER_RESOURCE_METRIC_SOURCE), ONE),
]);

static AUTOSCALING_V2_HPA_SCALING_POLICY: Msg = Msg::new("HPAScalingPolicy", &[
    f(1, "type", Str, SET),
    f(2, "value", I32, SET),
    f(3, "periodSeconds", I32, SET),
]);

static AUTOSCALING_V2_HPA_SCALING_RULES: Msg = Msg::new("HPAScalingRules", &[
    f(1, "selectPolicy", Str, SET),
    f(2, "policies", Message(&AUTOSCALING_V2_HPA_SCALING_POLICY), LIST),
    f(3, "stabilizationWindowSeconds", I32, SET),
    f(4, "tolerance", Quantity, ONE),
]);

static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_BEHAVIOR: Msg = Msg::new("HorizontalPodAutoscalerBehavior", &[
    f(1, "scaleUp", Message(&AUTOSCALING_V2_HPA_SCALING_RULES), ONE),
    f(2, "scaleDown", Message(&AUTOSCALING_V2_HPA_SCALING_RULES), ONE),
]);

static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_SPEC: Msg = Msg::new("HorizontalPodAutoscalerSpec", &[
    f(1, "scaleTargetRef", Message(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), ONE),
    f(2, "minReplicas", I32, SET),
    f(3, "maxReplicas", I32, SET),
    f(4, "metrics", Message(&AUTOSCALING_V2_METRIC_SPEC), LIST),
    f(5, "behavior", Message(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_BEHAVIOR), ONE),
]);

static AUTOSCALING_V2_METRIC_VALUE_STATUS: Msg = Msg::new("MetricValueStatus", &[
    f(1, "value", Quantity, ONE),
    f(2, "averageValue", Quantity, ONE),
    f(3, "averageUtilization", I32, SET),
]);

static AUTOSCALING_V2_OBJECT_METRIC_STATUS: Msg = Msg::new("ObjectMetricStatus", &[
    f(1, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
    f(2, "current", Message(&AUTOSCALING_V2_METRIC_VALUE_STATUS), ONE),
    f(3, "describedObject", Message(&AUTOSCALING_V2_CROSS_VERSION_OBJECT_REFERENCE), ONE),
]);

static AUTOSCALING_V2_PODS_METRIC_STATUS: Msg = Msg::new("PodsMetricStatus", &[
    f(1, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
    f(2, "current", Message(&AUTOSCALING_V2_METRIC_VALUE_STATUS), ONE),
]);

static AUTOSCALING_V2_RESOURCE_METRIC_STATUS: Msg = Msg::new("ResourceMetricStatus", &[
    f(1, "name", Str, SET),
    f(2, "current", Message(&AUTOSCALING_V2_METRIC_VALUE_STATUS), ONE),
]);

static AUTOSCALING_V2_CONTAINER_RESOURCE_METRIC_STATUS: Msg = Msg::new("ContainerResourceMetricStatus", &[
    f(1, "name", Str, SET),
    f(2, "current", Message(&AUTOSCALING_V2_METRIC_VALUE_STATUS), ONE),
    f(3, "container", Str, SET),
]);

static AUTOSCALING_V2_EXTERNAL_METRIC_STATUS: Msg = Msg::new("ExternalMetricStatus", &[
    f(1, "metric", Message(&AUTOSCALING_V2_METRIC_IDENTIFIER), ONE),
    f(2, "current", Message(&AUTOSCALING_V2_METRIC_VALUE_STATUS), ONE),
]);

static AUTOSCALING_V2_METRIC_STATUS: Msg = Msg::new("MetricStatus", &[
    f(1, "type", Str, SET),
    f(2, "object", Message(&AUTOSCALING_V2_OBJECT_METRIC_STATUS), ONE),
    f(3, "pods", Message(&AUTOSCALING_V2_PODS_METRIC_STATUS), ONE),
    f(4, "resource", Message(&AUTOSCALING_V2_RESOURCE_METRIC_STATUS), ONE),
    f(5, "external", Message(&AUTOSCALING_V2_EXTERNAL_METRIC_STATUS), ONE),
    f(7, "containerResource", Message(&AUTOSCALING_V2_CONTAINER_RESOURCE_METRIC_STATUS), ONE),
]);

static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_CONDITION: Msg = Msg::new("HorizontalPodAutoscalerCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastTransitionTime", Time, ONE),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
]);

static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_STATUS: Msg = Msg::new("HorizontalPodAutoscalerStatus", &[
    f(1, "observedGeneration", I64, SET),
    f(2, "lastScaleTime", Time, ONE),
    f(3, "currentReplicas", I32, ONE),
    f(4, "desiredReplicas", I32, SET),
    f(5, "currentMetrics", Message(&AUTOSCALING_V2_METRIC_STATUS), LIST),
    f(6, "conditions", Message(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_CONDITION), LIST),
]);

static AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER: Msg = Msg::new("HorizontalPodAutoscaler", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_SPEC), ONE),
    f(3, "status", Message(&AUTOSCALING_V2_HORIZONTAL_POD_AUTOSCALER_STATUS), ONE),
]);

static AUTOSCALING_V1_CROSS_VERSION_OBJECT_REFERENCE: Msg = Msg::new("CrossVersionObjectReference", &[
    f(1, "kind", Str, SET),
    f(2, "name", Str, SET),
    f(3, "apiVersion", Str, ONE),
]);

static AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER_SPEC: Msg = Msg::new("HorizontalPodAutoscalerSpec", &[
    f(1, "scaleTargetRef", Message(&AUTOSCALING_V1_CROSS_VERSION_OBJECT_REFERENCE), ONE),
    f(2, "minReplicas", I32, SET),
    f(3, "maxReplicas", I32, SET),
    f(4, "targetCPUUtilizationPercentage", I32, SET),
]);

static AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER_STATUS: Msg = Msg::new("HorizontalPodAutoscalerStatus", &[
    f(1, "observedGeneration", I64, SET),
    f(2, "lastScaleTime", Time, ONE),
    f(3, "currentReplicas", I32, SET),
    f(4, "desiredReplicas", I32, SET),
    f(5, "currentCPUUtilizationPercentage", I32, SET),
]);

static AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER: Msg = Msg::new("HorizontalPodAutoscaler", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER_SPEC), ONE),
    f(3, "status", Message(&AUTOSCALING_V1_HORIZONTAL_POD_AUTOSCALER_STATUS), ONE),
]);

static RBAC_V1_POLICY_RULE: Msg = Msg::new("PolicyRule", &[
    f(1, "verbs", Str, LIST),
    f(2, "apiGroups", Str, LIST),
    f(3, "resources", Str, LIST),
    f(4, "resourceNames", Str, LIST),
    f(5, "nonResourceURLs", Str, LIST),
]).nulls(&["verbs"]);

static RBAC_V1_ROLE: Msg = Msg::new("Role", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "rules", Message(&RBAC_V1_POLICY_RULE), LIST),
]);

static RBAC_V1_AGGREGATION_RULE: Msg = Msg::new("AggregationRule", &[
    f(1, "clusterRoleSelectors", Message(&META_V1_LABEL_SELECTOR), LIST),
]);

static RBAC_V1_CLUSTER_ROLE: Msg = Msg::new("ClusterRole", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "rules", Message(&RBAC_V1_POLICY_RULE), LIST),
    f(3, "aggregationRule", Message(&RBAC_V1_AGGREGATION_RULE), ONE),
]);

static RBAC_V1_SUBJECT: Msg = Msg::new("Subject", &[
    f(1, "kind", Str, SET),
    f(2, "apiGroup", Str, ONE),
    f(3, "name", Str, SET),
    f(4, "namespace", Str, ONE),
]);

static RBAC_V1_ROLE_REF: Msg = Msg::new("RoleRef", &[
    f(1, "apiGroup", Str, SET),
    f(2, "kind", Str, SET),
    f(3, "name", Str, SET),
]);

static RBAC_V1_ROLE_BINDING: Msg = Msg::new("RoleBinding", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "subjects", Message(&RBAC_V1_SUBJECT), LIST),
    f(3, "roleRef", Message(&RBAC_V1_ROLE_REF), ONE),
]);

static RBAC_V1_CLUSTER_ROLE_BINDING: Msg = Msg::new("ClusterRoleBinding", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "subjects", Message(&RBAC_V1_SUBJECT), LIST),
    f(3, "roleRef", Message(&RBAC_V1_ROLE_REF), ONE),
]);

static POLICY_V1_POD_DISRUPTION_BUDGET_SPEC: Msg = Msg::new("PodDisruptionBudgetSpec", &[
    f(1, "minAvailable", IntOrString, ONE),
    f(2, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(3, "maxUnavailable", IntOrString, ONE),
    f(4, "unhealthyPodEvictionPolicy", Str, SET),
]);

static POLICY_V1_POD_DISRUPTION_BUDGET_STATUS: Msg = Msg::new("PodDisruptionBudgetStatus", &[
    f(1, "observedGeneration", I64, ONE),
    f(2, "disruptedPods", Time, MAP),
    f(3, "disruptionsAllowed", I32, SET),
    f(4, "currentHealthy", I32, SET),
    f(5, "desiredHealthy", I32, SET),
    f(6, "expectedPods", I32, SET),
    f(7, "conditions", Message(&META_V1_CONDITION), LIST),
]);

static POLICY_V1_POD_DISRUPTION_BUDGET: Msg = Msg::new("PodDisruptionBudget", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&POLICY_V1_POD_DISRUPTION_BUDGET_SPEC), ONE),
    f(3, "status", Message(&POLICY_V1_POD_DISRUPTION_BUDGET_STATUS), ONE),
]);

static META_V1_PRECONDITIONS: Msg = Msg::new("Preconditions", &[
    f(1, "uid", Str, SET),
    f(2, "resourceVersion", Str, SET),
]);

static META_V1_DELETE_OPTIONS: Msg = Msg::new("DeleteOptions", &[
    f(1, "gracePeriodSeconds", I64, SET),
    f(2, "preconditions", Message(&META_V1_PRECONDITIONS), ONE),
    f(3, "orphanDependents", Bool, SET),
    f(4, "propagationPolicy", Str, SET),
    f(5, "dryRun", Str, LIST),
    f(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool, SET),
]);

static POLICY_V1_EVICTION: Msg = Msg::new("Eviction", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "deleteOptions", Message(&META_V1_DELETE_OPTIONS), ONE),
]);

static SCHEDULING_V1_PRIORITY_CLASS: Msg = Msg::new("PriorityClass", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "value", I32, SET),
    f(3, "globalDefault", Bool, ONE),
    f(4, "description", Str, ONE),
    f(5, "preemptionPolicy", Str, SET),
]);

static CORE_V1_TAINT: Msg = Msg::new("Taint", &[
    f(1, "key", Str, SET),
    f(2, "value", Str, ONE),
    f(3, "effect", Str, SET),
    f(4, "timeAdded", Time, ONE),
]);

static CORE_V1_CONFIG_MAP_NODE_CONFIG_SOURCE: Msg = Msg::new("ConfigMapNodeConfigSource", &[
    f(1, "namespace", Str, SET),
    f(2, "name", Str, SET),
    f(3, "uid", Str, ONE),
    f(4, "resourceVersion", Str, ONE),
    f(5, "kubeletConfigKey", Str, SET),
]);

static CORE_V1_NODE_CONFIG_SOURCE: Msg = Msg::new("NodeConfigSource", &[
    f(2, "configMap", Message(&CORE_V1_CONFIG_MAP_NODE_CONFIG_SOURCE), ONE),
]);

static CORE_V1_NODE_SPEC: Msg = Msg::new("NodeSpec", &[
    f(1, "podCIDR", Str, ONE),
    f(2, "externalID", Str, ONE),
    f(3, "providerID", Str, ONE),
    f(4, "unschedulable", Bool, ONE),
    f(5, "taints", Message(&CORE_V1_TAINT), LIST),
    f(6, "configSource", Message(&CORE_V1_NODE_CONFIG_SOURCE), ONE),
    f(7, "podCIDRs", Str, LIST),
]);

static CORE_V1_NODE_CONDITION: Msg = Msg::new("NodeCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastHeartbeatTime", Time, ONE),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, ONE),
    f(6, "message", Str, ONE),
]);

static CORE_V1_NODE_ADDRESS: Msg = Msg::new("NodeAddress", &[
    f(1, "type", Str, SET),
    f(2, "address", Str, SET),
]);

static CORE_V1_DAEMON_ENDPOINT: Msg = Msg::new("DaemonEndpoint", &[
    f(1, "Port", I32, SET),
]);

static CORE_V1_NODE_DAEMON_ENDPOINTS: Msg = Msg::new("NodeDaemonEndpoints", &[
    f(1, "kubeletEndpoint", Message(&CORE_V1_DAEMON_ENDPOINT), ONE),
]);

static CORE_V1_NODE_SWAP_STATUS: Msg = Msg::new("NodeSwapStatus", &[
    f(1, "capacity", I64, SET),
]);

static CORE_V1_NODE_SYSTEM_INFO: Msg = Msg::new("NodeSystemInfo", &[
    f(1, "machineID", Str, SET),
    f(2, "systemUUID", Str, SET),
    f(3, "bootID", Str, SET),
    f(4, "kernelVersion", Str, SET),
    f(5, "osImage", Str, SET),
    f(6, "containerRuntimeVersion", Str, SET),
    f(7, "kubeletVersion", Str, SET),
    f(8, "kubeProxyVersion", Str, SET),
    f(9, "operatingSystem", Str, SET),
    f(10, "architecture", Str, SET),
    f(11, "swap", Message(&CORE_V1_NODE_SWAP_STATUS), ONE),
]);

static CORE_V1_CONTAINER_IMAGE: Msg = Msg::new("ContainerImage", &[
    f(1, "names", Str, LIST),
    f(2, "sizeBytes", I64, ONE),
]);

static CORE_V1_ATTACHED_VOLUME: Msg = Msg::new("AttachedVolume", &[
    f(1, "name", Str, SET),
    f(2, "devicePath", Str, SET),
]);

static CORE_V1_NODE_CONFIG_STATUS: Msg = Msg::new("NodeConfigStatus", &[
    f(1, "assigned", Message(&CORE_V1_NODE_CONFIG_SOURCE), ONE),
    f(2, "active", Message(&CORE_V1_NODE_CONFIG_SOURCE), ONE),
    f(3, "lastKnownGood", Message(&CORE_V1_NODE_CONFIG_SOURCE), ONE),
    f(4, "error", Str, ONE),
]);

static CORE_V1_NODE_RUNTIME_HANDLER_FEATURES: Msg = Msg::new("NodeRuntimeHandlerFeatures", &[
    f(1, "recursiveReadOnlyMounts", Bool, SET),
    f(2, "userNamespaces", Bool, SET),
]);

static CORE_V1_NODE_RUNTIME_HANDLER: Msg = Msg::new("NodeRuntimeHandler", &[
    f(1, "name", Str, ONE),
    f(2, "features", Message(&CORE_V1_NODE_RUNTIME_HANDLER_FEATURES), ONE),
]);

static CORE_V1_NODE_FEATURES: Msg = Msg::new("NodeFeatures", &[
    f(1, "supplementalGroupsPolicy", Bool, SET),
]);

static CORE_V1_NODE_STATUS: Msg = Msg::new("NodeStatus", &[
    f(1, "capacity", Quantity, MAP),
    f(2, "allocatable", Quantity, MAP),
    f(3, "phase", Str, ONE),
    f(4, "conditions", Message(&CORE_V1_NODE_CONDITION), LIST),
    f(5, "addresses", Message(&CORE_V1_NODE_ADDRESS), LIST),
    f(6, "daemonEndpoints", Message(&CORE_V1_NODE_DAEMON_ENDPOINTS), ONE),
    f(7, "nodeInfo", Message(&CORE_V1_NODE_SYSTEM_INFO), ONE),
    f(8, "images", Message(&CORE_V1_CONTAINER_IMAGE), LIST),
    f(9, "volumesInUse", Str, LIST),
    f(10, "volumesAttached", Message(&CORE_V1_ATTACHED_VOLUME), LIST),
    f(11, "config", Message(&CORE_V1_NODE_CONFIG_STATUS), ONE),
    f(12, "runtimeHandlers", Message(&CORE_V1_NODE_RUNTIME_HANDLER), LIST),
    f(13, "features", Message(&CORE_V1_NODE_FEATURES), ONE),
]);

static CORE_V1_NODE: Msg = Msg::new("Node", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_NODE_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_NODE_STATUS), ONE),
]);

static CORE_V1_EVENT_SOURCE: Msg = Msg::new("EventSource", &[
    f(1, "component", Str, ONE),
    f(2, "host", Str, ONE),
]);

static CORE_V1_EVENT_SERIES: Msg = Msg::new("EventSeries", &[
    f(1, "count", I32, ONE),
    f(2, "lastObservedTime", MicroTime, ONE),
]);

static CORE_V1_EVENT: Msg = Msg::new("Event", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "involvedObject", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(3, "reason", Str, ONE),
    f(4, "message", Str, ONE),
    f(5, "source", Message(&CORE_V1_EVENT_SOURCE), ONE),
    f(6, "firstTimestamp", Time, ONE),
    f(7, "lastTimestamp", Time, ONE),
    f(8, "count", I32, ONE),
    f(9, "type", Str, ONE),
    f(10, "eventTime", MicroTime, ONE),
    f(11, "series", Message(&CORE_V1_EVENT_SERIES), ONE),
    f(12, "action", Str, ONE),
    f(13, "related", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(14, "reportingComponent", Str, ONE),
    f(15, "reportingInstance", Str, ONE),
]);

static CORE_V1_ENDPOINT_ADDRESS: Msg = Msg::new("EndpointAddress", &[
    f(1, "ip", Str, SET),
    f(2, "targetRef", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(3, "hostname", Str, ONE),
    f(4, "nodeName", Str, SET),
]);

static CORE_V1_ENDPOINT_PORT: Msg = Msg::new("EndpointPort", &[
    f(1, "name", Str, ONE),
    f(2, "port", I32, SET),
    f(3, "protocol", Str, ONE),
    f(4, "appProtocol", Str, SET),
]);

static CORE_V1_ENDPOINT_SUBSET: Msg = Msg::new("EndpointSubset", &[
    f(1, "addresses", Message(&CORE_V1_ENDPOINT_ADDRESS), LIST),
    f(2, "notReadyAddresses", Message(&CORE_V1_ENDPOINT_ADDRESS), LIST),
    f(3, "ports", Message(&CORE_V1_ENDPOINT_PORT), LIST),
]);

static CORE_V1_ENDPOINTS: Msg = Msg::new("Endpoints", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "subsets", Message(&CORE_V1_ENDPOINT_SUBSET), LIST),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM_CONDITION: Msg = Msg::new("PersistentVolumeClaimCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastProbeTime", Time, ONE),
    f(4, "lastTransitionTime", Time, ONE),
    f(5, "reason", Str, ONE),
    f(6, "message", Str, ONE),
]);

static CORE_V1_MODIFY_VOLUME_STATUS: Msg = Msg::new("ModifyVolumeStatus", &[
    f(1, "targetVolumeAttributesClassName", Str, ONE),
    f(2, "status", Str, SET),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM_STATUS: Msg = Msg::new("PersistentVolumeClaimStatus", &[
    f(1, "phase", Str, ONE),
    f(2, "accessModes", Str, LIST),
    f(3, "capacity", Quantity, MAP),
    f(4, "conditions", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_CONDITION), LIST),
    f(5, "allocatedResources", Quantity, MAP),
    f(7, "allocatedResourceStatuses", Str, MAP),
    f(8, "currentVolumeAttributesClassName", Str, SET),
    f(9, "modifyVolumeStatus", Message(&CORE_V1_MODIFY_VOLUME_STATUS), ONE),
]);

static CORE_V1_PERSISTENT_VOLUME_CLAIM: Msg = Msg::new("PersistentVolumeClaim", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM_STATUS), ONE),
]);

static CORE_V1_GLUSTERFS_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("GlusterfsPersistentVolumeSource", &[
    f(1, "endpoints", Str, SET),
    f(2, "path", Str, SET),
    f(3, "readOnly", Bool, ONE),
    f(4, "endpointsNamespace", Str, SET),
]);

static CORE_V1_SECRET_REFERENCE: Msg = Msg::new("SecretReference", &[
    f(1, "name", Str, ONE),
    f(2, "namespace", Str, ONE),
]);

static CORE_V1_RBD_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("RBDPersistentVolumeSource", &[
    f(1, "monitors", Str, LIST),
    f(2, "image", Str, SET),
    f(3, "fsType", Str, ONE),
    f(4, "pool", Str, ONE),
    f(5, "user", Str, ONE),
    f(6, "keyring", Str, ONE),
    f(7, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(8, "readOnly", Bool, ONE),
]).nulls(&["monitors"]);

static CORE_V1_ISCSI_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("ISCSIPersistentVolumeSource", &[
    f(1, "targetPortal", Str, SET),
    f(2, "iqn", Str, SET),
    f(3, "lun", I32, SET),
    f(4, "iscsiInterface", Str, ONE),
    f(5, "fsType", Str, ONE),
    f(6, "readOnly", Bool, ONE),
    f(7, "portals", Str, LIST),
    f(8, "chapAuthDiscovery", Bool, ONE),
    f(10, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(11, "chapAuthSession", Bool, ONE),
    f(12, "initiatorName", Str, SET),
]);

static CORE_V1_CINDER_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("CinderPersistentVolumeSource", &[
    f(1, "volumeID", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "readOnly", Bool, ONE),
    f(4, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
]);

static CORE_V1_CEPH_FS_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("CephFSPersistentVolumeSource", &[
    f(1, "monitors", Str, LIST),
    f(2, "path", Str, ONE),
    f(3, "user", Str, ONE),
    f(4, "secretFile", Str, ONE),
    f(5, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(6, "readOnly", Bool, ONE),
]).nulls(&["monitors"]);

static CORE_V1_FLEX_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("FlexPersistentVolumeSource", &[
    f(1, "driver", Str, SET),
    f(2, "fsType", Str, ONE),
    f(3, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(4, "readOnly", Bool, ONE),
    f(5, "options", Str, MAP),
]);

static CORE_V1_AZURE_FILE_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("AzureFilePersistentVolumeSource", &[
    f(1, "secretName", Str, SET),
    f(2, "shareName", Str, SET),
    f(3, "readOnly", Bool, ONE),
    f(4, "secretNamespace", Str, SET),
]);

static CORE_V1_SCALE_IO_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("ScaleIOPersistentVolumeSource", &[
    f(1, "gateway", Str, SET),
    f(2, "system", Str, SET),
    f(3, "secretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(4, "sslEnabled", Bool, ONE),
    f(5, "protectionDomain", Str, ONE),
    f(6, "storagePool", Str, ONE),
    f(7, "storageMode", Str, ONE),
    f(8, "volumeName", Str, ONE),
    f(9, "fsType", Str, ONE),
    f(10, "readOnly", Bool, ONE),
]);

static CORE_V1_LOCAL_VOLUME_SOURCE: Msg = Msg::new("LocalVolumeSource", &[
    f(1, "path", Str, SET),
    f(2, "fsType", Str, ONE),
]);

static CORE_V1_STORAGE_OS_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("StorageOSPersistentVolumeSource", &[
    f(1, "volumeName", Str, ONE),
    f(2, "volumeNamespace", Str, ONE),
    f(3, "fsType", Str, ONE),
    f(4, "readOnly", Bool, ONE),
    f(5, "secretRef", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
]);

static CORE_V1_CSI_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("CSIPersistentVolumeSource", &[
    f(1, "driver", Str, SET),
    f(2, "volumeHandle", Str, SET),
    f(3, "readOnly", Bool, ONE),
    f(4, "fsType", Str, ONE),
    f(5, "volumeAttributes", Str, MAP),
    f(6, "controllerPublishSecretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(7, "nodeStageSecretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(8, "nodePublishSecretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(9, "controllerExpandSecretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
    f(10, "nodeExpandSecretRef", Message(&CORE_V1_SECRET_REFERENCE), ONE),
]);

static CORE_V1_PERSISTENT_VOLUME_SOURCE: Msg = Msg::new("PersistentVolumeSource", &[
    f(1, "gcePersistentDisk", Message(&CORE_V1_GCE_PERSISTENT_DISK_VOLUME_SOURCE), ONE),
    f(2, "awsElasticBlockStore", Message(&CORE_V1_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE), ONE),
    f(3, "hostPath", Message(&CORE_V1_HOST_PATH_VOLUME_SOURCE), ONE),
    f(4, "glusterfs", Message(&CORE_V1_GLUSTERFS_PERSISTENT_VOLUME_SOURCE), ONE),
    f(5, "nfs", Message(&CORE_V1_NFS_VOLUME_SOURCE), ONE),
    f(6, "rbd", Message(&CORE_V1_RBD_PERSISTENT_VOLUME_SOURCE), ONE),
    f(7, "iscsi", Message(&CORE_V1_ISCSI_PERSISTENT_VOLUME_SOURCE), ONE),
    f(8, "cinder", Message(&CORE_V1_CINDER_PERSISTENT_VOLUME_SOURCE), ONE),
    f(9, "cephfs", Message(&CORE_V1_CEPH_FS_PERSISTENT_VOLUME_SOURCE), ONE),
    f(10, "fc", Message(&CORE_V1_FC_VOLUME_SOURCE), ONE),
    f(11, "flocker", Message(&CORE_V1_FLOCKER_VOLUME_SOURCE), ONE),
    f(12, "flexVolume", Message(&CORE_V1_FLEX_PERSISTENT_VOLUME_SOURCE), ONE),
    f(13, "azureFile", Message(&CORE_V1_AZURE_FILE_PERSISTENT_VOLUME_SOURCE), ONE),
    f(14, "vsphereVolume", Message(&CORE_V1_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE), ONE),
    f(15, "quobyte", Message(&CORE_V1_QUOBYTE_VOLUME_SOURCE), ONE),
    f(16, "azureDisk", Message(&CORE_V1_AZURE_DISK_VOLUME_SOURCE), ONE),
    f(17, "photonPersistentDisk", Message(&CORE_V1_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE), ONE),
    f(18, "portworxVolume", Message(&CORE_V1_PORTWORX_VOLUME_SOURCE), ONE),
    f(19, "scaleIO", Message(&CORE_V1_SCALE_IO_PERSISTENT_VOLUME_SOURCE), ONE),
    f(20, "local", Message(&CORE_V1_LOCAL_VOLUME_SOURCE), ONE),
    f(21, "storageos", Message(&CORE_V1_STORAGE_OS_PERSISTENT_VOLUME_SOURCE), ONE),
    f(22, "csi", Message(&CORE_V1_CSI_PERSISTENT_VOLUME_SOURCE), ONE),
]);

static CORE_V1_VOLUME_NODE_AFFINITY: Msg = Msg::new("VolumeNodeAffinity", &[
    f(1, "required", Message(&CORE_V1_NODE_SELECTOR), ONE),
]);

static CORE_V1_PERSISTENT_VOLUME_SPEC: Msg = Msg::new("PersistentVolumeSpec", &[
    f(1, "capacity", Quantity, MAP),
    f(2, "", Message(&CORE_V1_PERSISTENT_VOLUME_SOURCE), INLINE),
    f(3, "accessModes", Str, LIST),
    f(4, "claimRef", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(5, "persistentVolumeReclaimPolicy", Str, ONE),
    f(6, "storageClassName", Str, ONE),
    f(7, "mountOptions", Str, LIST),
    f(8, "volumeMode", Str, SET),
    f(9, "nodeAffinity", Message(&CORE_V1_VOLUME_NODE_AFFINITY), ONE),
    f(10, "volumeAttributesClassName", Str, SET),
]);

static CORE_V1_PERSISTENT_VOLUME_STATUS: Msg = Msg::new("PersistentVolumeStatus", &[
    f(1, "phase", Str, ONE),
    f(2, "message", Str, ONE),
    f(3, "reason", Str, ONE),
    f(4, "lastPhaseTransitionTime", Time, ONE),
]);

static CORE_V1_PERSISTENT_VOLUME: Msg = Msg::new("PersistentVolume", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_PERSISTENT_VOLUME_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_PERSISTENT_VOLUME_STATUS), ONE),
]);

static CORE_V1_LIMIT_RANGE_ITEM: Msg = Msg::new("LimitRangeItem", &[
    f(1, "type", Str, SET),
    f(2, "max", Quantity, MAP),
    f(3, "min", Quantity, MAP),
    f(4, "default", Quantity, MAP),
    f(5, "defaultRequest", Quantity, MAP),
    f(6, "maxLimitRequestRatio", Quantity, MAP),
]);

static CORE_V1_LIMIT_RANGE_SPEC: Msg = Msg::new("LimitRangeSpec", &[
    f(1, "limits", Message(&CORE_V1_LIMIT_RANGE_ITEM), LIST),
]).nulls(&["limits"]);

static CORE_V1_LIMIT_RANGE: Msg = Msg::new("LimitRange", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_LIMIT_RANGE_SPEC), ONE),
]);

static CORE_V1_POD_TEMPLATE: Msg = Msg::new("PodTemplate", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
]);

static CORE_V1_REPLICATION_CONTROLLER_SPEC: Msg = Msg::new("ReplicationControllerSpec", &[
    f(1, "replicas", I32, SET),
    f(2, "selector", Str, MAP),
    f(3, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(4, "minReadySeconds", I32, ONE),
]);

static CORE_V1_REPLICATION_CONTROLLER_CONDITION: Msg = Msg::new("ReplicationControllerCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastTransitionTime", Time, ONE),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
]);

static CORE_V1_REPLICATION_CONTROLLER_STATUS: Msg = Msg::new("ReplicationControllerStatus", &[
    f(1, "replicas", I32, SET),
    f(2, "fullyLabeledReplicas", I32, ONE),
    f(3, "observedGeneration", I64, ONE),
    f(4, "readyReplicas", I32, ONE),
    f(5, "availableReplicas", I32, ONE),
    f(6, "conditions", Message(&CORE_V1_REPLICATION_CONTROLLER_CONDITION), LIST),
]);

static CORE_V1_REPLICATION_CONTROLLER: Msg = Msg::new("ReplicationController", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CORE_V1_REPLICATION_CONTROLLER_SPEC), ONE),
    f(3, "status", Message(&CORE_V1_REPLICATION_CONTROLLER_STATUS), ONE),
]);

static CORE_V1_BINDING: Msg = Msg::new("Binding", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "target", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
]);

static APPS_V1_REPLICA_SET_SPEC: Msg = Msg::new("ReplicaSetSpec", &[
    f(1, "replicas", I32, SET),
    f(2, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(3, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(4, "minReadySeconds", I32, ONE),
]).nulls(&["selector"]);

static APPS_V1_REPLICA_SET_CONDITION: Msg = Msg::new("ReplicaSetCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastTransitionTime", Time, ONE),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
]);

static APPS_V1_REPLICA_SET_STATUS: Msg = Msg::new("ReplicaSetStatus", &[
    f(1, "replicas", I32, SET),
    f(2, "fullyLabeledReplicas", I32, ONE),
    f(3, "observedGeneration", I64, ONE),
    f(4, "readyReplicas", I32, ONE),
    f(5, "availableReplicas", I32, ONE),
    f(6, "conditions", Message(&APPS_V1_REPLICA_SET_CONDITION), LIST),
    f(7, "terminatingReplicas", I32, SET),
]);

static APPS_V1_REPLICA_SET: Msg = Msg::new("ReplicaSet", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&APPS_V1_REPLICA_SET_SPEC), ONE),
    f(3, "status", Message(&APPS_V1_REPLICA_SET_STATUS), ONE),
]);

static APPS_V1_ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Msg = Msg::new("RollingUpdateStatefulSetStrategy", &[
    f(1, "partition", I32, SET),
    f(2, "maxUnavailable", IntOrString, ONE),
]);

static APPS_V1_STATEFUL_SET_UPDATE_STRATEGY: Msg = Msg::new("StatefulSetUpdateStrategy", &[
    f(1, "type", Str, ONE),
    f(2, "rollingUpdate", Message(&APPS_V1_ROLLING_UPDATE_STATEFUL_SET_STRATEGY), ONE),
]);

static APPS_V1_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Msg = Msg::new("StatefulSetPersistentVolumeClaimRetentionPolicy", &[
    f(1, "whenDeleted", Str, ONE),
    f(2, "whenScaled", Str, ONE),
]);

static APPS_V1_STATEFUL_SET_ORDINALS: Msg = Msg::new("StatefulSetOrdinals", &[
    f(1, "start", I32, ONE),
]);

static APPS_V1_STATEFUL_SET_SPEC: Msg = Msg::new("StatefulSetSpec", &[
    f(1, "replicas", I32, SET),
    f(2, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(3, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(4, "volumeClaimTemplates", Message(&CORE_V1_PERSISTENT_VOLUME_CLAIM), LIST),
    f(5, "serviceName", Str, ONE),
    f(6, "podManagementPolicy", Str, ONE),
    f(7, "updateStrategy", Message(&APPS_V1_STATEFUL_SET_UPDATE_STRATEGY), ONE),
    f(8, "revisionHistoryLimit", I32, SET),
    f(9, "minReadySeconds", I32, ONE),
    f(10, "persistentVolumeClaimRetentionPolicy", Message(&APPS_V1_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY), ONE),
    f(11, "ordinals", Message(&APPS_V1_STATEFUL_SET_ORDINALS), ONE),
]).nulls(&["selector"]);

static APPS_V1_STATEFUL_SET_CONDITION: Msg = Msg::new("StatefulSetCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastTransitionTime", Time, ONE),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
]);

static APPS_V1_STATEFUL_SET_STATUS: Msg = Msg::new("StatefulSetStatus", &[
    f(1, "observedGeneration", I64, ONE),
    f(2, "replicas", I32, SET),
    f(3, "readyReplicas", I32, ONE),
    f(4, "currentReplicas", I32, ONE),
    f(5, "updatedReplicas", I32, ONE),
    f(6, "currentRevision", Str, ONE),
    f(7, "updateRevision", Str, ONE),
    f(9, "collisionCount", I32, SET),
    f(10, "conditions", Message(&APPS_V1_STATEFUL_SET_CONDITION), LIST),
    f(11, "availableReplicas", I32, ONE),
]);

static APPS_V1_STATEFUL_SET: Msg = Msg::new("StatefulSet", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&APPS_V1_STATEFUL_SET_SPEC), ONE),
    f(3, "status", Message(&APPS_V1_STATEFUL_SET_STATUS), ONE),
]);

static APPS_V1_ROLLING_UPDATE_DAEMON_SET: Msg = Msg::new("RollingUpdateDaemonSet", &[
    f(1, "maxUnavailable", IntOrString, ONE),
    f(2, "maxSurge", IntOrString, ONE),
]);

static APPS_V1_DAEMON_SET_UPDATE_STRATEGY: Msg = Msg::new("DaemonSetUpdateStrategy", &[
    f(1, "type", Str, ONE),
    f(2, "rollingUpdate", Message(&APPS_V1_ROLLING_UPDATE_DAEMON_SET), ONE),
]);

static APPS_V1_DAEMON_SET_SPEC: Msg = Msg::new("DaemonSetSpec", &[
    f(1, "selector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(2, "template", Message(&CORE_V1_POD_TEMPLATE_SPEC), ONE),
    f(3, "updateStrategy", Message(&APPS_V1_DAEMON_SET_UPDATE_STRATEGY), ONE),
    f(4, "minReadySeconds", I32, ONE),
    f(6, "revisionHistoryLimit", I32, SET),
]).nulls(&["selector"]);

static APPS_V1_DAEMON_SET_CONDITION: Msg = Msg::new("DaemonSetCondition", &[
    f(1, "type", Str, SET),
    f(2, "status", Str, SET),
    f(3, "lastTransitionTime", Time, ONE),
    f(4, "reason", Str, ONE),
    f(5, "message", Str, ONE),
]);

static APPS_V1_DAEMON_SET_STATUS: Msg = Msg::new("DaemonSetStatus", &[
    f(1, "currentNumberScheduled", I32, SET),
    f(2, "numberMisscheduled", I32, SET),
    f(3, "desiredNumberScheduled", I32, SET),
    f(4, "numberReady", I32, SET),
    f(5, "observedGeneration", I64, ONE),
    f(6, "updatedNumberScheduled", I32, ONE),
    f(7, "numberAvailable", I32, ONE),
    f(8, "numberUnavailable", I32, ONE),
    f(9, "collisionCount", I32, SET),
    f(10, "conditions", Message(&APPS_V1_DAEMON_SET_CONDITION), LIST),
]);

static APPS_V1_DAEMON_SET: Msg = Msg::new("DaemonSet", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&APPS_V1_DAEMON_SET_SPEC), ONE),
    f(3, "status", Message(&APPS_V1_DAEMON_SET_STATUS), ONE),
]);

static APPS_V1_CONTROLLER_REVISION: Msg = Msg::new("ControllerRevision", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "data", RawJson, ONE),
    f(3, "revision", I64, SET),
]);

static EVENTS_V1_EVENT_SERIES: Msg = Msg::new("EventSeries", &[
    f(1, "count", I32, SET),
    f(2, "lastObservedTime", MicroTime, ONE),
]);

static EVENTS_V1_EVENT: Msg = Msg::new("Event", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "eventTime", MicroTime, ONE),
    f(3, "series", Message(&EVENTS_V1_EVENT_SERIES), ONE),
    f(4, "reportingController", Str, ONE),
    f(5, "reportingInstance", Str, ONE),
    f(6, "action", Str, ONE),
    f(7, "reason", Str, ONE),
    f(8, "regarding", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(9, "related", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(10, "note", Str, ONE),
    f(11, "type", Str, ONE),
    f(12, "deprecatedSource", Message(&CORE_V1_EVENT_SOURCE), ONE),
    f(13, "deprecatedFirstTimestamp", Time, ONE),
    f(14, "deprecatedLastTimestamp", Time, ONE),
    f(15, "deprecatedCount", I32, ONE),
]);

static COORDINATION_V1_LEASE_SPEC: Msg = Msg::new("LeaseSpec", &[
    f(1, "holderIdentity", Str, SET),
    f(2, "leaseDurationSeconds", I32, SET),
    f(3, "acquireTime", MicroTime, ONE),
    f(4, "renewTime", MicroTime, ONE),
    f(5, "leaseTransitions", I32, SET),
    f(6, "strategy", Str, SET),
    f(7, "preferredHolder", Str, SET),
]);

static COORDINATION_V1_LEASE: Msg = Msg::new("Lease", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&COORDINATION_V1_LEASE_SPEC), ONE),
]);

static DISCOVERY_V1_ENDPOINT_CONDITIONS: Msg = Msg::new("EndpointConditions", &[
    f(1, "ready", Bool, SET),
    f(2, "serving", Bool, SET),
    f(3, "terminating", Bool, SET),
]);

static DISCOVERY_V1_FOR_ZONE: Msg = Msg::new("ForZone", &[
    f(1, "name", Str, SET),
]);

static DISCOVERY_V1_FOR_NODE: Msg = Msg::new("ForNode", &[
    f(1, "name", Str, SET),
]);

static DISCOVERY_V1_ENDPOINT_HINTS: Msg = Msg::new("EndpointHints", &[
    f(1, "forZones", Message(&DISCOVERY_V1_FOR_ZONE), LIST),
    f(2, "forNodes", Message(&DISCOVERY_V1_FOR_NODE), LIST),
]);

static DISCOVERY_V1_ENDPOINT: Msg = Msg::new("Endpoint", &[
    f(1, "addresses", Str, LIST),
    f(2, "conditions", Message(&DISCOVERY_V1_ENDPOINT_CONDITIONS), ONE),
    f(3, "hostname", Str, SET),
    f(4, "targetRef", Message(&CORE_V1_OBJECT_REFERENCE), ONE),
    f(5, "deprecatedTopology", Str, MAP),
    f(6, "nodeName", Str, SET),
    f(7, "zone", Str, SET),
    f(8, "hints", Message(&DISCOVERY_V1_ENDPOINT_HINTS), ONE),
]).nulls(&["addresses"]);

static DISCOVERY_V1_ENDPOINT_PORT: Msg = Msg::new("EndpointPort", &[
    f(1, "name", Str, SET),
    f(2, "protocol", Str, SET),
    f(3, "port", I32, SET),
    f(4, "appProtocol", Str, SET),
]);

static DISCOVERY_V1_ENDPOINT_SLICE: Msg = Msg::new("EndpointSlice", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "endpoints", Message(&DISCOVERY_V1_ENDPOINT), LIST),
    f(3, "ports", Message(&DISCOVERY_V1_ENDPOINT_PORT), LIST),
    f(4, "addressType", Str, SET),
]).nulls(&["endpoints"]);

static NETWORKING_V1_INGRESS_CLASS_PARAMETERS_REFERENCE: Msg = Msg::new("IngressClassParametersReference", &[
    f(1, "apiGroup", Str, SET),
    f(2, "kind", Str, SET),
    f(3, "name", Str, SET),
    f(4, "scope", Str, SET),
    f(5, "namespace", Str, SET),
]);

static NETWORKING_V1_INGRESS_CLASS_SPEC: Msg = Msg::new("IngressClassSpec", &[
    f(1, "controller", Str, ONE),
    f(2, "parameters", Message(&NETWORKING_V1_INGRESS_CLASS_PARAMETERS_REFERENCE), ONE),
]);

static NETWORKING_V1_INGRESS_CLASS: Msg = Msg::new("IngressClass", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&NETWORKING_V1_INGRESS_CLASS_SPEC), ONE),
]);

static NETWORKING_V1_NETWORK_POLICY_PORT: Msg = Msg::new("NetworkPolicyPort", &[
    f(1, "protocol", Str, SET),
    f(2, "port", IntOrString, ONE),
    f(3, "endPort", I32, SET),
]);

static NETWORKING_V1_IP_BLOCK: Msg = Msg::new("IPBlock", &[
    f(1, "cidr", Str, SET),
    f(2, "except", Str, LIST),
]);

static NETWORKING_V1_NETWORK_POLICY_PEER: Msg = Msg::new("NetworkPolicyPeer", &[
    f(1, "podSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(2, "namespaceSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(3, "ipBlock", Message(&NETWORKING_V1_IP_BLOCK), ONE),
]);

static NETWORKING_V1_NETWORK_POLICY_INGRESS_RULE: Msg = Msg::new("NetworkPolicyIngressRule", &[
    f(1, "ports", Message(&NETWORKING_V1_NETWORK_POLICY_PORT), LIST),
    f(2, "from", Message(&NETWORKING_V1_NETWORK_POLICY_PEER), LIST),
]);

static NETWORKING_V1_NETWORK_POLICY_EGRESS_RULE: Msg = Msg::new("NetworkPolicyEgressRule", &[
    f(1, "ports", Message(&NETWORKING_V1_NETWORK_POLICY_PORT), LIST),
    f(2, "to", Message(&NETWORKING_V1_NETWORK_POLICY_PEER), LIST),
]);

static NETWORKING_V1_NETWORK_POLICY_SPEC: Msg = Msg::new("NetworkPolicySpec", &[
    f(1, "podSelector", Message(&META_V1_LABEL_SELECTOR), ONE),
    f(2, "ingress", Message(&NETWORKING_V1_NETWORK_POLICY_INGRESS_RULE), LIST),
    f(3, "egress", Message(&NETWORKING_V1_NETWORK_POLICY_EGRESS_RULE), LIST),
    f(4, "policyTypes", Str, LIST),
]);

static NETWORKING_V1_NETWORK_POLICY: Msg = Msg::new("NetworkPolicy", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&NETWORKING_V1_NETWORK_POLICY_SPEC), ONE),
]);

static AUTHENTICATION_V1_TOKEN_REVIEW_SPEC: Msg = Msg::new("TokenReviewSpec", &[
    f(1, "token", Str, ONE),
    f(2, "audiences", Str, LIST),
]);

static AUTHENTICATION_V1_TOKEN_REVIEW_STATUS: Msg = Msg::new("TokenReviewStatus", &[
    f(1, "authenticated", Bool, ONE),
    f(2, "user", Message(&AUTHENTICATION_V1_USER_INFO), ONE),
    f(3, "error", Str, ONE),
    f(4, "audiences", Str, LIST),
]);

static AUTHENTICATION_V1_TOKEN_REVIEW: Msg = Msg::new("TokenReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHENTICATION_V1_TOKEN_REVIEW_SPEC), ONE),
    f(3, "status", Message(&AUTHENTICATION_V1_TOKEN_REVIEW_STATUS), ONE),
]);

static AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_SPEC: Msg = Msg::new("SubjectAccessReviewSpec", &[
    f(1, "resourceAttributes", Message(&AUTHORIZATION_V1_RESOURCE_ATTRIBUTES), ONE),
    f(2, "nonResourceAttributes", Message(&AUTHORIZATION_V1_NON_RESOURCE_ATTRIBUTES), ONE),
    f(3, "user", Str, ONE),
    f(4, "groups", Str, LIST),
    f(5, "extra", StrList, MAP),
    f(6, "uid", Str, ONE),
]);

static AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW: Msg = Msg::new("SubjectAccessReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_SPEC), ONE),
    f(3, "status", Message(&AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_STATUS), ONE),
]);

static AUTHORIZATION_V1_LOCAL_SUBJECT_ACCESS_REVIEW: Msg = Msg::new("LocalSubjectAccessReview", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_SPEC), ONE),
    f(3, "status", Message(&AUTHORIZATION_V1_SUBJECT_ACCESS_REVIEW_STATUS), ONE),
]);

static CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_SPEC: Msg = Msg::new("CertificateSigningRequestSpec", &[
    f(1, "request", Bytes, SET),
    f(2, "username", Str, ONE),
    f(3, "uid", Str, ONE),
    f(4, "groups", Str, LIST),
    f(5, "usages", Str, LIST),
    f(6, "extra", StrList, MAP),
    f(7, "signerName", Str, SET),
    f(8, "expirationSeconds", I32, SET),
]);

static CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_CONDITION: Msg = Msg::new("CertificateSigningRequestCondition", &[
    f(1, "type", Str, SET),
    f(2, "reason", Str, ONE),
    f(3, "message", Str, ONE),
    f(4, "lastUpdateTime", Time, ONE),
    f(5, "lastTransitionTime", Time, ONE),
    f(6, "status", Str, SET),
]);

static CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_STATUS: Msg = Msg::new("CertificateSigningRequestStatus", &[
    f(1, "conditions", Message(&CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_CONDITION), LIST),
    f(2, "certificate", Bytes, ONE),
]);

static CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST: Msg = Msg::new("CertificateSigningRequest", &[
    f(1, "metadata", Message(&META_V1_OBJECT_META), ONE),
    f(2, "spec", Message(&CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_SPEC), ONE),
    f(3, "status", Message(&CERTIFICATES_V1_CERTIFICATE_SIGNING_REQUEST_STATUS), ONE),
]);
