//! Defaulting tests through [`apply_defaults`], with JSON fixtures of what Kubernetes v1.33
//! stores for the same input (the defaulted fields of `kubectl get -o yaml`; fields set by
//! create strategies and admission are not part of defaulting and do not appear).

use serde_json::{json, Value};

use super::*;
use crate::k8s::api::core::v1::{Container, Pod, PodSpec};

const DIGEST: &str = "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac";

fn defaulted(group: &str, kind: &str, input: &Value) -> Value {
    let mut object = input.clone();
    if let Err(err) = apply_defaults(group, kind, &mut object) {
        panic!("defaulting {kind} failed: {err}");
    }
    object
}

/// Defaults the input and checks the result is the expected object, and that defaulting the
/// result again changes nothing.
fn assert_defaults(group: &str, kind: &str, input: Value, expected: Value) {
    let once = defaulted(group, kind, &input);
    assert_eq!(once, expected, "{kind} defaulted from {input}");
    let twice = defaulted(group, kind, &once);
    assert_eq!(twice, once, "{kind} defaulting is not idempotent");
}

/// The defaulted container `kubectl run` and `kubectl create deployment` produce.
fn defaulted_container(name: &str, image: &str, pull_policy: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

/// The pod-spec defaults every pod template gets.
fn template_spec(containers: Value, restart_policy: &str) -> Value {
    json!({
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": restart_policy,
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    })
}

#[test]
fn minimal_pod_gets_the_kubectl_run_defaults() {
    let input = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "labels": {"run": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
    });
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "labels": {"run": "nginx"}},
        "spec": {
            "containers": [defaulted_container("nginx", "nginx", "Always")],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    });
    assert_defaults("", "Pod", input, expected);
}

#[test]
fn image_pull_policy_follows_the_image_tag() {
    let cases = [
        ("nginx".to_owned(), None, "Always"),
        ("nginx:latest".to_owned(), None, "Always"),
        ("nginx:1.25".to_owned(), None, "IfNotPresent"),
        ("repo:5000/img".to_owned(), None, "Always"),
        ("repo:5000/img:v1".to_owned(), None, "IfNotPresent"),
        (format!("img@{DIGEST}"), None, "IfNotPresent"),
        (format!("img:latest@{DIGEST}"), None, "Always"),
        ("nginx".to_owned(), Some("Never"), "Never"),
        ("nginx:1.25".to_owned(), Some("Always"), "Always"),
    ];
    for (image, set, want) in cases {
        let mut pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".to_owned(),
                    image: Some(image.clone()),
                    image_pull_policy: set.map(str::to_owned),
                    ..Default::default()
                }],
                init_containers: Some(vec![Container {
                    name: "init".to_owned(),
                    image: Some(image.clone()),
                    image_pull_policy: set.map(str::to_owned),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        default_pod(&mut pod);
        let spec = pod.spec.unwrap_or_default();
        let init = spec.init_containers.unwrap_or_default();
        let policies: Vec<Option<&str>> = spec
            .containers
            .iter()
            .chain(init.iter())
            .map(|container| container.image_pull_policy.as_deref())
            .collect();
        assert_eq!(policies, vec![Some(want), Some(want)], "image {image:?}");
    }
}

#[test]
fn pod_only_defaults_stay_out_of_templates() {
    let spec = json!({
        "hostNetwork": true,
        "containers": [{
            "name": "app",
            "image": "app:1",
            "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
        }],
    });
    let pod = defaulted(
        "",
        "Pod",
        &json!({"apiVersion": "v1", "kind": "Pod", "spec": spec}),
    );
    let container = &pod["spec"]["containers"][0];
    assert_eq!(pod["spec"]["enableServiceLinks"], json!(true));
    assert_eq!(
        container["ports"],
        json!([{"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        container["resources"]["requests"],
        json!({"cpu": "100m", "memory": "128Mi"})
    );

    let deployment = defaulted(
        "apps",
        "Deployment",
        &json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {"selector": {}, "template": {"spec": spec}},
        }),
    );
    let template = &deployment["spec"]["template"]["spec"];
    assert_eq!(template.get("enableServiceLinks"), None);
    assert_eq!(
        template["containers"][0]["ports"],
        json!([{"containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        template["containers"][0]["resources"]["requests"],
        json!({"cpu": "100m"})
    );
}

#[test]
fn nested_pod_spec_fields_get_their_defaults() {
    let input = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [{
                "name": "app",
                "image": "app:1",
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "livenessProbe": {"httpGet": {"port": 8080}},
                "readinessProbe": {"grpc": {"port": 9090}, "periodSeconds": 5},
                "startupProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 0},
                "lifecycle": {"preStop": {"httpGet": {"port": "http", "path": "/quit"}}},
                "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}},
            }],
            "ephemeralContainers": [{"name": "debug", "image": "busybox"}],
            "overhead": {"cpu": "0.25"},
            "volumes": [
                {"name": "scratch"},
                {"name": "config", "configMap": {"name": "cfg"}},
                {"name": "creds", "secret": {"secretName": "s", "defaultMode": 256}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}
                ]}},
                {"name": "token", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {"downwardAPI": {"items": [
                        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}
                    ]}}
                ]}},
                {"name": "cache", "emptyDir": {"sizeLimit": "1.5Gi"}},
                {"name": "claim", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1024Mi"}},
                }}}},
            ],
        },
    });
    let pod = defaulted("", "Pod", &input);
    let spec = &pod["spec"];
    let container = &spec["containers"][0];
    let cases: &[(&Value, Value)] = &[
        (
            &container["env"][0]["valueFrom"]["fieldRef"],
            json!({"apiVersion": "v1", "fieldPath": "spec.nodeName"}),
        ),
        (
            &container["livenessProbe"],
            json!({
                "httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"},
                "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
            }),
        ),
        (
            &container["readinessProbe"],
            json!({
                "grpc": {"port": 9090, "service": ""},
                "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3,
            }),
        ),
        (
            &container["startupProbe"],
            json!({
                "tcpSocket": {"port": 8080},
                "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
            }),
        ),
        (
            &container["lifecycle"],
            json!({"preStop": {"httpGet": {"path": "/quit", "port": "http", "scheme": "HTTP"}}}),
        ),
        (
            &container["resources"],
            json!({
                "limits": {"cpu": "500m", "memory": "1Gi"},
                "requests": {"cpu": "500m", "memory": "1Gi"},
            }),
        ),
        (
            &spec["ephemeralContainers"][0],
            defaulted_container("debug", "busybox", "Always"),
        ),
        (&spec["overhead"], json!({"cpu": "250m"})),
        (
            &spec["volumes"][0],
            json!({"name": "scratch", "emptyDir": {}}),
        ),
        (
            &spec["volumes"][1],
            json!({"name": "config", "configMap": {"name": "cfg", "defaultMode": 420}}),
        ),
        (
            &spec["volumes"][2],
            json!({"name": "creds", "secret": {"secretName": "s", "defaultMode": 256}}),
        ),
        (
            &spec["volumes"][3],
            json!({"name": "host", "hostPath": {"path": "/var/log", "type": ""}}),
        ),
        (
            &spec["volumes"][4],
            json!({"name": "info", "downwardAPI": {"defaultMode": 420, "items": [
                {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}
            ]}}),
        ),
        (
            &spec["volumes"][5],
            json!({"name": "token", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {"downwardAPI": {"items": [
                    {"path": "ns", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                ]}}
            ]}}),
        ),
        (
            &spec["volumes"][6],
            json!({"name": "cache", "emptyDir": {"sizeLimit": "1536Mi"}}),
        ),
        (
            &spec["volumes"][7]["ephemeral"]["volumeClaimTemplate"]["spec"],
            json!({
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "volumeMode": "Filesystem",
            }),
        ),
    ];
    for (index, (got, want)) in cases.iter().enumerate() {
        assert_eq!(*got, want, "case {index}");
    }
    assert_eq!(
        defaulted("", "Pod", &pod),
        pod,
        "pod defaulting is not idempotent"
    );
}

#[test]
fn values_the_user_set_are_kept() {
    let input = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "custom"},
        "spec": {
            "containers": [{
                "name": "app",
                "image": "app",
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 53, "protocol": "UDP"}],
                "readinessProbe": {
                    "httpGet": {"path": "/ready", "port": 80, "scheme": "HTTPS"},
                    "timeoutSeconds": 5, "periodSeconds": 20,
                    "successThreshold": 2, "failureThreshold": 9,
                },
                "resources": {},
                "terminationMessagePath": "/tmp/log",
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }],
            "dnsPolicy": "Default",
            "enableServiceLinks": false,
            "restartPolicy": "Never",
            "schedulerName": "custom-scheduler",
            "securityContext": {"runAsUser": 1000},
            "terminationGracePeriodSeconds": 0,
        },
    });
    assert_defaults("", "Pod", input.clone(), input);
}

#[test]
fn service_target_port_defaults_to_the_port() {
    let cases = [
        (json!({"port": 80}), json!(80)),
        (json!({"port": 80, "targetPort": 0}), json!(80)),
        (json!({"port": 80, "targetPort": ""}), json!(80)),
        (json!({"port": 80, "targetPort": 8080}), json!(8080)),
        (json!({"port": 80, "targetPort": "http"}), json!("http")),
    ];
    for (port, want) in cases {
        let service = defaulted(
            "",
            "Service",
            &json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [port]}}),
        );
        let port = &service["spec"]["ports"][0];
        assert_eq!(port["targetPort"], want, "port {port}");
        assert_eq!(port["protocol"], json!("TCP"), "port {port}");
    }
}

#[test]
fn service_defaults_depend_on_the_type() {
    let cluster_ip = json!({
        "internalTrafficPolicy": "Cluster",
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
    });
    let cases = [
        (json!({"ports": [{"port": 80}]}), cluster_ip),
        (
            json!({"type": "NodePort", "ports": [{"port": 80, "protocol": "UDP"}]}),
            json!({
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
                "ports": [{"port": 80, "protocol": "UDP", "targetPort": 80}],
                "sessionAffinity": "None",
                "type": "NodePort",
            }),
        ),
        (
            json!({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
            json!({
                "allocateLoadBalancerNodePorts": true,
                "externalTrafficPolicy": "Local",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "type": "LoadBalancer",
            }),
        ),
        (
            json!({"externalIPs": ["192.0.2.1"]}),
            json!({
                "externalIPs": ["192.0.2.1"],
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "type": "ClusterIP",
            }),
        ),
        (
            json!({"type": "ExternalName", "externalName": "example.com"}),
            json!({"externalName": "example.com", "sessionAffinity": "None", "type": "ExternalName"}),
        ),
        (
            json!({"sessionAffinity": "ClientIP"}),
            json!({
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "type": "ClusterIP",
            }),
        ),
        (
            json!({"sessionAffinity": "None", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}),
            json!({"internalTrafficPolicy": "Cluster", "sessionAffinity": "None", "type": "ClusterIP"}),
        ),
    ];
    for (spec, want) in cases {
        let input = json!({"apiVersion": "v1", "kind": "Service", "metadata": {}, "spec": spec});
        let expected = json!({"apiVersion": "v1", "kind": "Service", "metadata": {}, "spec": want});
        assert_defaults("", "Service", input, expected);
    }
}

#[test]
fn load_balancer_ingress_gets_the_vip_mode() {
    let input = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}, {"hostname": "lb.example"}]}},
    });
    let service = defaulted("", "Service", &input);
    assert_eq!(
        service["status"]["loadBalancer"]["ingress"],
        json!([{"ip": "192.0.2.7", "ipMode": "VIP"}, {"hostname": "lb.example"}])
    );
}

#[test]
fn deployment_gets_the_kubectl_create_defaults() {
    let labels = json!({"app": "web"});
    let input = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
        },
    });
    let expected = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": template_spec(
                    json!([defaulted_container("nginx", "nginx:1.25", "IfNotPresent")]),
                    "Always",
                ),
            },
        },
    });
    assert_defaults("apps", "Deployment", input, expected);
}

#[test]
fn deployment_strategy_keeps_what_the_user_chose() {
    let cases = [
        (
            json!(null),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        ),
        (json!({"type": "Recreate"}), json!({"type": "Recreate"})),
        (
            json!({"rollingUpdate": {"maxSurge": 1}}),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}),
        ),
        (
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}),
        ),
    ];
    for (strategy, want) in cases {
        let mut spec = json!({"selector": {}, "template": {}, "replicas": 3});
        if !strategy.is_null() {
            spec["strategy"] = strategy.clone();
        }
        let input = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec});
        let deployment = defaulted("apps", "Deployment", &input);
        assert_eq!(deployment["spec"]["strategy"], want, "strategy {strategy}");
        assert_eq!(
            deployment["spec"]["replicas"],
            json!(3),
            "strategy {strategy}"
        );
    }
}

#[test]
fn other_workloads_get_their_defaults() {
    let template = json!({"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
    let defaulted_template = json!({"spec": template_spec(
        json!([defaulted_container("c", "busybox:1.36", "IfNotPresent")]),
        "Always",
    )});
    let cases = [
        (
            "ReplicaSet",
            json!({"selector": {}, "template": template}),
            json!({"replicas": 1, "selector": {}, "template": defaulted_template}),
        ),
        (
            "DaemonSet",
            json!({"selector": {}, "template": template}),
            json!({
                "revisionHistoryLimit": 10,
                "selector": {},
                "template": defaulted_template,
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                },
            }),
        ),
        (
            "DaemonSet",
            json!({"selector": {}, "template": template, "updateStrategy": {"type": "OnDelete"}}),
            json!({
                "revisionHistoryLimit": 10,
                "selector": {},
                "template": defaulted_template,
                "updateStrategy": {"type": "OnDelete"},
            }),
        ),
        (
            "StatefulSet",
            json!({
                "selector": {},
                "serviceName": "db",
                "template": template,
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }],
            }),
            json!({
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady",
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {},
                "serviceName": "db",
                "template": defaulted_template,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "volumeClaimTemplates": [{
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                        "volumeMode": "Filesystem",
                    },
                    "status": {"phase": "Pending"},
                }],
            }),
        ),
        (
            "StatefulSet",
            json!({"selector": {}, "template": template, "updateStrategy": {"type": "RollingUpdate"}}),
            json!({
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady",
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {},
                "template": defaulted_template,
                "updateStrategy": {"type": "RollingUpdate"},
            }),
        ),
    ];
    for (kind, spec, want) in cases {
        let input = json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {}, "spec": spec});
        let expected = json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {}, "spec": want});
        assert_defaults("apps", kind, input, expected);
    }
}

#[test]
fn replication_controller_takes_selector_and_labels_from_its_template() {
    let input = json!({
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "rc"},
        "spec": {"template": {"metadata": {"labels": {"app": "rc"}}, "spec": {"containers": []}}},
    });
    let expected = json!({
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "rc", "labels": {"app": "rc"}},
        "spec": {
            "replicas": 1,
            "selector": {"app": "rc"},
            "template": {"metadata": {"labels": {"app": "rc"}}, "spec": template_spec(json!([]), "Always")},
        },
    });
    assert_defaults("", "ReplicationController", input, expected);
}

#[test]
fn job_gets_the_kubectl_create_defaults() {
    let template = json!({"spec": {
        "containers": [{"name": "pi", "image": "perl:5.34"}],
        "restartPolicy": "Never",
    }});
    let input = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi"},
        "spec": {"template": template},
    });
    let expected = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi"},
        "spec": {
            "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "completions": 1,
            "manualSelector": false,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "suspend": false,
            "template": {"spec": template_spec(
                json!([defaulted_container("pi", "perl:5.34", "IfNotPresent")]),
                "Never",
            )},
        },
    });
    assert_defaults("batch", "Job", input, expected);
}

#[test]
fn job_counts_and_policies_follow_what_is_set() {
    // (spec fields set, expected completions, parallelism, backoffLimit, replacement policy)
    let cases = [
        (
            json!({}),
            json!(1),
            json!(1),
            json!(6),
            "TerminatingOrFailed",
        ),
        (
            json!({"completions": 5}),
            json!(5),
            json!(1),
            json!(6),
            "TerminatingOrFailed",
        ),
        (
            json!({"parallelism": 3}),
            json!(null),
            json!(3),
            json!(6),
            "TerminatingOrFailed",
        ),
        (
            json!({"completions": 4, "completionMode": "Indexed", "backoffLimitPerIndex": 1}),
            json!(4),
            json!(1),
            json!(2_147_483_647),
            "TerminatingOrFailed",
        ),
        (
            json!({"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [
                {"type": "DisruptionTarget", "status": ""}
            ]}]}}),
            json!(1),
            json!(1),
            json!(6),
            "Failed",
        ),
        (
            json!({"backoffLimit": 0}),
            json!(1),
            json!(1),
            json!(0),
            "TerminatingOrFailed",
        ),
    ];
    for (fields, completions, parallelism, backoff, replacement) in cases {
        let mut spec = json!({"template": {"metadata": {"labels": {"app": "batch"}}}});
        for (key, value) in fields.as_object().into_iter().flatten() {
            spec[key] = value.clone();
        }
        let input = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": spec});
        let job = defaulted("batch", "Job", &input);
        let spec = &job["spec"];
        assert_eq!(spec["completions"], completions, "fields {fields}");
        assert_eq!(spec["parallelism"], parallelism, "fields {fields}");
        assert_eq!(spec["backoffLimit"], backoff, "fields {fields}");
        assert_eq!(
            spec["podReplacementPolicy"],
            json!(replacement),
            "fields {fields}"
        );
        assert_eq!(
            job["metadata"]["labels"],
            json!({"app": "batch"}),
            "fields {fields}"
        );
        if let Some(rules) = spec["podFailurePolicy"]["rules"].as_array() {
            assert_eq!(rules[0]["onPodConditions"][0]["status"], json!("True"));
        }
    }
}

#[test]
fn cron_job_gets_the_kubectl_create_defaults() {
    let input = json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "hello"},
        "spec": {
            "schedule": "*/1 * * * *",
            "jobTemplate": {
                "metadata": {"name": "hello"},
                "spec": {"template": {"spec": {
                    "containers": [{"name": "hello", "image": "busybox", "command": ["date"]}],
                    "restartPolicy": "OnFailure",
                }}},
            },
        },
    });
    let mut container = defaulted_container("hello", "busybox", "Always");
    container["command"] = json!(["date"]);
    let expected = json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "hello"},
        "spec": {
            "concurrencyPolicy": "Allow",
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"name": "hello"},
                "spec": {"template": {"spec": template_spec(json!([container]), "OnFailure")}},
            },
            "schedule": "*/1 * * * *",
            "successfulJobsHistoryLimit": 3,
            "suspend": false,
        },
    });
    assert_defaults("batch", "CronJob", input, expected);
}

#[test]
fn core_objects_get_their_defaults() {
    let cases = [
        (
            "Namespace",
            json!({"metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "other"}}}),
            json!({
                "metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "team"}},
                "status": {"phase": "Active"},
            }),
        ),
        (
            "Namespace",
            json!({"metadata": {"generateName": "team-"}}),
            json!({"metadata": {"generateName": "team-"}, "status": {"phase": "Active"}}),
        ),
        (
            "Secret",
            json!({"metadata": {"name": "s"}}),
            json!({"metadata": {"name": "s"}, "type": "Opaque"}),
        ),
        (
            "Secret",
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}),
            json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}),
        ),
        (
            "Endpoints",
            json!({"metadata": {}, "subsets": [{"ports": [{"port": 53}, {"port": 53, "protocol": "UDP"}]}]}),
            json!({"metadata": {}, "subsets": [{"ports": [
                {"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}
            ]}]}),
        ),
        (
            "Node",
            json!({"metadata": {}, "status": {"capacity": {"cpu": "4", "memory": "8388608Ki"}}}),
            json!({"metadata": {}, "status": {
                "allocatable": {"cpu": "4", "memory": "8Gi"},
                "capacity": {"cpu": "4", "memory": "8Gi"},
            }}),
        ),
        (
            "LimitRange",
            json!({"metadata": {}, "spec": {"limits": [
                {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}},
                {"type": "Pod", "max": {"cpu": "4"}},
            ]}}),
            json!({"metadata": {}, "spec": {"limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "2"},
                    "defaultRequest": {"cpu": "2", "memory": "64Mi"},
                    "max": {"cpu": "2"},
                    "min": {"memory": "64Mi"},
                },
                {"type": "Pod", "max": {"cpu": "4"}},
            ]}}),
        ),
        (
            "ResourceQuota",
            json!({"metadata": {}, "spec": {"hard": {"requests.cpu": "1000m"}}}),
            json!({"metadata": {}, "spec": {"hard": {"requests.cpu": "1"}}}),
        ),
        (
            "PersistentVolumeClaim",
            json!({"metadata": {}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}),
            json!({
                "metadata": {},
                "spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"},
            }),
        ),
        (
            "PersistentVolume",
            json!({"metadata": {}, "spec": {"capacity": {"storage": "5Gi"}, "hostPath": {"path": "/data"}}}),
            json!({
                "metadata": {},
                "spec": {
                    "capacity": {"storage": "5Gi"},
                    "hostPath": {"path": "/data", "type": ""},
                    "persistentVolumeReclaimPolicy": "Retain",
                    "volumeMode": "Filesystem",
                },
                "status": {"phase": "Pending"},
            }),
        ),
        (
            "PodTemplate",
            json!({"metadata": {}, "template": {"spec": {"containers": []}}}),
            json!({"metadata": {}, "template": {"spec": template_spec(json!([]), "Always")}}),
        ),
    ];
    for (kind, input, want) in cases {
        let mut input = input;
        let mut expected = want;
        for object in [&mut input, &mut expected] {
            object["apiVersion"] = json!("v1");
            object["kind"] = json!(kind);
        }
        assert_defaults("", kind, input, expected);
    }
}

#[test]
fn other_groups_get_their_defaults() {
    let cases = [
        (
            "networking.k8s.io",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            json!({"metadata": {}, "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}),
            json!({"metadata": {}, "spec": {
                "podSelector": {},
                "egress": [{"ports": [{"port": 53, "protocol": "TCP"}]}],
                "policyTypes": ["Ingress", "Egress"],
            }}),
        ),
        (
            "networking.k8s.io",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            json!({"metadata": {}, "spec": {"podSelector": {}, "ingress": [{}]}}),
            json!({"metadata": {}, "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}}),
        ),
        (
            "networking.k8s.io",
            "networking.k8s.io/v1",
            "IngressClass",
            json!({"metadata": {}, "spec": {"parameters": {"kind": "Params", "name": "p"}}}),
            json!({"metadata": {}, "spec": {"parameters": {"kind": "Params", "name": "p", "scope": "Cluster"}}}),
        ),
        (
            "discovery.k8s.io",
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"metadata": {}, "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}]}),
            json!({"metadata": {}, "addressType": "IPv4", "endpoints": [],
                "ports": [{"name": "", "port": 80, "protocol": "TCP"}]}),
        ),
        (
            "rbac.authorization.k8s.io",
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            json!({
                "metadata": {},
                "roleRef": {"apiGroup": "", "kind": "Role", "name": "r"},
                "subjects": [
                    {"kind": "User", "name": "alice"},
                    {"kind": "Group", "name": "devs"},
                    {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
                ],
            }),
            json!({
                "metadata": {},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"},
                    {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"},
                ],
            }),
        ),
        (
            "scheduling.k8s.io",
            "scheduling.k8s.io/v1",
            "PriorityClass",
            json!({"metadata": {}, "value": 1000}),
            json!({"metadata": {}, "value": 1000, "preemptionPolicy": "PreemptLowerPriority"}),
        ),
        (
            "storage.k8s.io",
            "storage.k8s.io/v1",
            "StorageClass",
            json!({"metadata": {}, "provisioner": "local"}),
            json!({"metadata": {}, "provisioner": "local", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}),
        ),
        (
            "autoscaling",
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            json!({"metadata": {}, "spec": {
                "maxReplicas": 5,
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
            }}),
            json!({"metadata": {}, "spec": {
                "behavior": {
                    "scaleDown": {
                        "policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                        "selectPolicy": "Max",
                        "stabilizationWindowSeconds": 60,
                    },
                    "scaleUp": {
                        "policies": [
                            {"periodSeconds": 15, "type": "Pods", "value": 4},
                            {"periodSeconds": 15, "type": "Percent", "value": 100},
                        ],
                        "selectPolicy": "Max",
                        "stabilizationWindowSeconds": 0,
                    },
                },
                "maxReplicas": 5,
                "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 80, "type": "Utilization"}}, "type": "Resource"}],
                "minReplicas": 1,
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            }}),
        ),
        (
            "autoscaling",
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            json!({"metadata": {}, "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}}),
            json!({"metadata": {}, "spec": {"maxReplicas": 5, "minReplicas": 1, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}}),
        ),
        (
            "admissionregistration.k8s.io",
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            json!({"metadata": {}, "webhooks": [{
                "name": "w.example.com",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "clientConfig": {"service": {"name": "hook", "namespace": "ns"}},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
            }]}),
            json!({"metadata": {}, "webhooks": [{
                "name": "w.example.com",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "clientConfig": {"service": {"name": "hook", "namespace": "ns", "port": 443}},
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "namespaceSelector": {},
                "objectSelector": {},
                "reinvocationPolicy": "Never",
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"], "scope": "*"}],
                "timeoutSeconds": 10,
            }]}),
        ),
        (
            "apiextensions.k8s.io",
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            json!({"metadata": {}, "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1", "served": true, "storage": true},
                ],
            }}),
            json!({"metadata": {}, "spec": {
                "conversion": {"strategy": "None"},
                "group": "example.com",
                "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
                "scope": "Namespaced",
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1", "served": true, "storage": true},
                ],
            }, "status": {"storedVersions": ["v1"]}}),
        ),
    ];
    for (group, api_version, kind, input, want) in cases {
        let mut input = input;
        let mut expected = want;
        for object in [&mut input, &mut expected] {
            object["apiVersion"] = json!(api_version);
            object["kind"] = json!(kind);
        }
        assert_defaults(group, kind, input, expected);
    }
}

#[test]
fn dispatcher_leaves_unknown_kinds_and_versions_alone() {
    let cases = [
        (
            "",
            "ConfigMap",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}),
        ),
        (
            "example.com",
            "Widget",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}}),
        ),
        (
            "batch",
            "CronJob",
            json!({"apiVersion": "batch/v1beta1", "kind": "CronJob", "spec": {}}),
        ),
    ];
    for (group, kind, input) in cases {
        assert_eq!(defaulted(group, kind, &input), input, "{kind}");
    }
}

#[test]
fn dispatcher_reports_objects_that_do_not_decode() {
    let cases = [
        (
            "",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": 7}]}}),
        ),
        (
            "",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "app"}}),
        ),
        (
            "",
            "Service",
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": "eighty"}]}}),
        ),
        (
            "apps",
            "Deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": []}),
        ),
    ];
    for (group, kind, input) in cases {
        let mut object = input.clone();
        let result = apply_defaults(group, kind, &mut object);
        assert!(
            matches!(&result, Err(DefaultingError::Decode { kind: k, .. }) if k == kind),
            "{kind}: {result:?}"
        );
        assert_eq!(object, input, "{kind} changed on error");
    }
}

#[test]
fn workload_and_service_values_the_user_set_are_kept() {
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": template_spec(
        json!([defaulted_container("c", "c:1", "Never")]),
        "OnFailure",
    )});
    let cases = [
        (
            "apps",
            "apps/v1",
            "Deployment",
            json!({
                "progressDeadlineSeconds": 60,
                "replicas": 0,
                "revisionHistoryLimit": 0,
                "selector": {"matchLabels": {"app": "x"}},
                "strategy": {"type": "Recreate"},
                "template": template,
            }),
        ),
        (
            "apps",
            "apps/v1",
            "StatefulSet",
            json!({
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"},
                "podManagementPolicy": "Parallel",
                "replicas": 5,
                "revisionHistoryLimit": 2,
                "selector": {},
                "template": template,
                "updateStrategy": {"type": "OnDelete"},
            }),
        ),
        (
            "batch",
            "batch/v1",
            "Job",
            json!({
                "backoffLimit": 1,
                "completionMode": "Indexed",
                "completions": 3,
                "manualSelector": true,
                "parallelism": 2,
                "podReplacementPolicy": "Failed",
                "suspend": true,
                "template": template,
            }),
        ),
        (
            "batch",
            "batch/v1",
            "CronJob",
            json!({
                "concurrencyPolicy": "Forbid",
                "failedJobsHistoryLimit": 0,
                "jobTemplate": {"spec": {"template": template}},
                "schedule": "@hourly",
                "successfulJobsHistoryLimit": 0,
                "suspend": true,
            }),
        ),
        (
            "",
            "v1",
            "Service",
            json!({
                "externalTrafficPolicy": "Local",
                "internalTrafficPolicy": "Local",
                "ports": [{"port": 443, "protocol": "SCTP", "targetPort": "https"}],
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 30}},
                "type": "NodePort",
            }),
        ),
    ];
    for (group, api_version, kind, spec) in cases {
        let mut object =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {}, "spec": spec});
        if kind == "Job" {
            object["metadata"]["labels"] = json!({"app": "x"});
        }
        assert_defaults(group, kind, object.clone(), object);
    }
}

#[test]
fn validating_the_typed_object_matches_validating_its_json() {
    let objects = [
        (
            "",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1500m"}}}]}}),
        ),
        (
            "",
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "Bad_Name", "namespace": "default"},
            "spec": {"containers": [{"name": "", "image": ""}, {"name": "x", "image": "i",
                "ports": [{"containerPort": 70000}]}], "restartPolicy": "Sometimes"}}),
        ),
        (
            "apps",
            "Deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        ),
        (
            "",
            "Service",
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 80}, {"port": 80}], "type": "Odd"}}),
        ),
        (
            "",
            "ConfigMap",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "-bad-", "namespace": "default"}, "data": {"k": "v", "a b": "c"}}),
        ),
        (
            "",
            "Namespace",
            json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "UPPER"}}),
        ),
        (
            "batch",
            "Job",
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        ),
        (
            "autoscaling",
            "HorizontalPodAutoscaler",
            json!({"apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "default"},
            "spec": {"maxReplicas": 0, "scaleTargetRef": {"kind": "Deployment", "name": "d"}}}),
        ),
    ];
    // Which of them are invalid, so both paths are seen to find errors.
    let invalid = [false, true, true, true, true, true, true, false];
    for ((group, kind, input), invalid) in objects.into_iter().zip(invalid) {
        let mut both = input.clone();
        let errors = apply_defaults_and_validate(group, kind, &mut both).expect("defaults");
        let separate = defaulted(group, kind, &input);
        assert_eq!(both, separate, "{kind}: the same defaulted object");
        assert_eq!(
            !errors.is_empty(),
            invalid,
            "{kind} from {input}: {errors:?}"
        );
        let render = |errs: &[crate::validation::FieldError]| -> Vec<String> {
            errs.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            render(&errors),
            render(&crate::validation::validate(group, kind, &separate)),
            "{kind} from {input}"
        );
    }
}
