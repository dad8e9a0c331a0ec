//! Patches on the kinds Berth serves, with the metadata of [`crate::patch_meta`]: the merges
//! `kubectl` relies on, each checked by hand against Kubernetes' algorithm.

use super::*;

struct Case {
    name: &'static str,
    group: &'static str,
    kind: &'static str,
    live: Value,
    patch: Value,
    want: Value,
}

fn run(cases: Vec<Case>) {
    for case in cases {
        match apply(case.group, case.kind, &case.live, &case.patch) {
            Ok(got) => assert_eq!(got, case.want, "{}", case.name),
            Err(err) => panic!("{}: unexpected error {err}", case.name),
        }
    }
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

fn pod_case(name: &'static str, live_spec: Value, patch: Value, want_spec: Value) -> Case {
    Case {
        name,
        group: "",
        kind: "Pod",
        live: pod(live_spec),
        patch,
        want: pod(want_spec),
    }
}

#[test]
fn pod_lists() {
    run(vec![
        pod_case(
            "containers merge by name, keeping live order",
            json!({"containers": [
                {"name": "a", "image": "a:1"},
                {"name": "b", "image": "b:1", "imagePullPolicy": "Always"},
            ]}),
            json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}),
            json!({"containers": [
                {"name": "a", "image": "a:1"},
                {"name": "b", "image": "b:2", "imagePullPolicy": "Always"},
            ]}),
        ),
        pod_case(
            "a new container goes first when the patch gives no order",
            json!({"containers": [{"name": "a", "image": "a:1"}]}),
            json!({"spec": {"containers": [{"name": "sidecar", "image": "s:1"}]}}),
            json!({"containers": [
                {"name": "sidecar", "image": "s:1"},
                {"name": "a", "image": "a:1"},
            ]}),
        ),
        pod_case(
            "env merges by name; a new variable goes before live ones the patch leaves out",
            json!({"containers": [{"name": "a", "env": [
                {"name": "X", "value": "1"},
                {"name": "Y", "value": "y"},
            ]}]}),
            json!({"spec": {"containers": [{"name": "a", "env": [
                {"name": "X", "value": "2"},
                {"name": "NEW", "value": "n"},
            ]}]}}),
            json!({"containers": [{"name": "a", "env": [
                {"name": "X", "value": "2"},
                {"name": "NEW", "value": "n"},
                {"name": "Y", "value": "y"},
            ]}]}),
        ),
        pod_case(
            "env value replaced by valueFrom, the old value deleted",
            json!({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]}),
            json!({"spec": {"containers": [{"name": "a", "env": [
                {"name": "X", "value": null, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ]}]}}),
            json!({"containers": [{"name": "a", "env": [
                {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ]}]}),
        ),
        pod_case(
            "ports merge by containerPort",
            json!({"containers": [{"name": "a", "ports": [
                {"containerPort": 80, "name": "http"},
                {"containerPort": 443, "name": "https"},
            ]}]}),
            json!({"spec": {"containers": [{"name": "a", "ports": [
                {"containerPort": 443, "protocol": "TCP"},
            ]}]}}),
            json!({"containers": [{"name": "a", "ports": [
                {"containerPort": 80, "name": "http"},
                {"containerPort": 443, "name": "https", "protocol": "TCP"},
            ]}]}),
        ),
        pod_case(
            "volumeMounts merge by mountPath and are deleted by it",
            json!({"containers": [{"name": "a", "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "cache", "mountPath": "/cache"},
            ]}]}),
            json!({"spec": {"containers": [{"name": "a", "volumeMounts": [
                {"mountPath": "/cache", "$patch": "delete"},
                {"mountPath": "/data", "readOnly": true},
            ]}]}}),
            json!({"containers": [{"name": "a", "volumeMounts": [
                {"name": "data", "mountPath": "/data", "readOnly": true},
            ]}]}),
        ),
        pod_case(
            "a volume switches source with $retainKeys",
            json!({"volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "conf", "configMap": {"name": "c"}},
            ]}),
            json!({"spec": {
                "$setElementOrder/volumes": [{"name": "data"}, {"name": "conf"}],
                "volumes": [{"$retainKeys": ["hostPath", "name"], "name": "data", "hostPath": {"path": "/srv"}}],
            }}),
            json!({"volumes": [
                {"name": "data", "hostPath": {"path": "/srv"}},
                {"name": "conf", "configMap": {"name": "c"}},
            ]}),
        ),
        pod_case(
            "$setElementOrder reorders containers",
            json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}),
            json!({"containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}),
        ),
        pod_case(
            "$setElementOrder places a new container; a live-only one precedes what followed it live",
            json!({"containers": [{"name": "a"}, {"name": "injected"}, {"name": "b"}]}),
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "new"}, {"name": "a"}],
                "containers": [{"name": "new", "image": "n"}],
            }}),
            json!({"containers": [
                {"name": "injected"},
                {"name": "b"},
                {"name": "new", "image": "n"},
                {"name": "a"},
            ]}),
        ),
        pod_case(
            "$patch replace on a list",
            json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "x", "image": "x:1"}]}}),
            json!({"containers": [{"name": "x", "image": "x:1"}]}),
        ),
        pod_case(
            "$patch delete on a list element",
            json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
            json!({"containers": [{"name": "b"}]}),
        ),
        pod_case(
            "tolerations are replaced whole",
            json!({"tolerations": [
                {"key": "a", "operator": "Exists"},
                {"key": "b", "operator": "Exists"},
            ]}),
            json!({"spec": {"tolerations": [{"key": "c", "operator": "Equal", "value": "v"}]}}),
            json!({"tolerations": [{"key": "c", "operator": "Equal", "value": "v"}]}),
        ),
        pod_case(
            "container args are replaced whole",
            json!({"containers": [{"name": "a", "args": ["x", "y"]}]}),
            json!({"spec": {"containers": [{"name": "a", "args": ["y"]}]}}),
            json!({"containers": [{"name": "a", "args": ["y"]}]}),
        ),
        pod_case(
            "imagePullSecrets merge by name",
            json!({"imagePullSecrets": [{"name": "one"}]}),
            json!({"spec": {"imagePullSecrets": [{"name": "two"}]}}),
            json!({"imagePullSecrets": [{"name": "two"}, {"name": "one"}]}),
        ),
    ]);
}

#[test]
fn pod_maps() {
    run(vec![
        pod_case(
            "$patch replace on a map",
            json!({"nodeSelector": {"disk": "hdd", "zone": "a"}}),
            json!({"spec": {"nodeSelector": {"$patch": "replace", "disk": "ssd"}}}),
            json!({"nodeSelector": {"disk": "ssd"}}),
        ),
        pod_case(
            "$patch delete on a map leaves an empty map",
            json!({"securityContext": {"runAsUser": 1000}, "nodeName": "n1"}),
            json!({"spec": {"securityContext": {"$patch": "delete"}}}),
            json!({"securityContext": {}, "nodeName": "n1"}),
        ),
        pod_case(
            "a $patch map where the object has nothing is dropped",
            json!({"nodeName": "n1"}),
            json!({"spec": {"securityContext": {"$patch": "replace", "runAsUser": 1}}}),
            json!({"nodeName": "n1"}),
        ),
        pod_case(
            "null deletes keys",
            json!({"nodeName": "n1", "hostname": "h", "nodeSelector": {"a": "1", "b": "2"}}),
            json!({"spec": {"nodeName": null, "nodeSelector": {"a": null}, "absent": null}}),
            json!({"hostname": "h", "nodeSelector": {"b": "2"}}),
        ),
        pod_case(
            "unknown fields merge as maps and their lists are replaced",
            json!({"futureField": {"a": 1, "list": [{"name": "x"}]}}),
            json!({"spec": {"futureField": {"b": 2, "list": [{"name": "y"}]}}}),
            json!({"futureField": {"a": 1, "b": 2, "list": [{"name": "y"}]}}),
        ),
        pod_case(
            "a value of another type replaces, without its nulls and directives",
            json!({"affinity": "oops"}),
            json!({"spec": {"affinity": {"nodeAffinity": null, "podAffinity": {"$retainKeys": [], "x": 1}}}}),
            json!({"affinity": {"podAffinity": {"x": 1}}}),
        ),
    ]);
}

#[test]
fn metadata() {
    let live = json!({"metadata": {
        "name": "p",
        "resourceVersion": "10",
        "labels": {"app": "web", "tier": "front"},
        "finalizers": ["a.example/f", "b.example/f"],
        "ownerReferences": [{"uid": "u1", "name": "rs", "kind": "ReplicaSet"}],
    }});
    let cases = [
        (
            "labels merge, null deletes, resourceVersion is just a field",
            json!({"metadata": {"labels": {"tier": null, "track": "stable"}, "resourceVersion": "10"}}),
            json!({"metadata": {
                "name": "p",
                "resourceVersion": "10",
                "labels": {"app": "web", "track": "stable"},
                "finalizers": ["a.example/f", "b.example/f"],
                "ownerReferences": [{"uid": "u1", "name": "rs", "kind": "ReplicaSet"}],
            }}),
        ),
        (
            "finalizers are a set: a new one goes first",
            json!({"metadata": {"finalizers": ["c.example/f", "a.example/f"]}}),
            json!({"metadata": {
                "name": "p",
                "resourceVersion": "10",
                "labels": {"app": "web", "tier": "front"},
                "finalizers": ["c.example/f", "a.example/f", "b.example/f"],
                "ownerReferences": [{"uid": "u1", "name": "rs", "kind": "ReplicaSet"}],
            }}),
        ),
        (
            "$deleteFromPrimitiveList removes a finalizer",
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/f"]}}),
            json!({"metadata": {
                "name": "p",
                "resourceVersion": "10",
                "labels": {"app": "web", "tier": "front"},
                "finalizers": ["b.example/f"],
                "ownerReferences": [{"uid": "u1", "name": "rs", "kind": "ReplicaSet"}],
            }}),
        ),
        (
            "ownerReferences merge by uid",
            json!({"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}]}}),
            json!({"metadata": {
                "name": "p",
                "resourceVersion": "10",
                "labels": {"app": "web", "tier": "front"},
                "finalizers": ["a.example/f", "b.example/f"],
                "ownerReferences": [{"uid": "u1", "name": "rs", "kind": "ReplicaSet", "controller": true}],
            }}),
        ),
    ];
    for (name, patch, want) in cases {
        let got = apply("", "Pod", &live, &patch);
        assert_eq!(got, Ok(want), "{name}");
    }
}

#[test]
fn deployment_strategy_switch_with_retain_keys() {
    let live = json!({"spec": {"replicas": 2, "strategy": {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }}});
    let want = json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}});
    let patches = [
        // What `kubectl apply` sends when the manifest switches to Recreate.
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}}),
        // The same without the explicit null: $retainKeys alone clears rollingUpdate.
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    ];
    for patch in patches {
        assert_eq!(
            apply("apps", "Deployment", &live, &patch),
            Ok(want.clone()),
            "{patch}"
        );
    }
    // Without the directive the old parameters stay, as in Kubernetes (validation rejects it).
    let plain = json!({"spec": {"strategy": {"type": "Recreate"}}});
    let kept = json!({"spec": {"replicas": 2, "strategy": {
        "type": "Recreate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }}});
    assert_eq!(apply("apps", "Deployment", &live, &plain), Ok(kept));
}

#[test]
fn node_taints_and_service_ports() {
    let node = json!({"spec": {"podCIDR": "10.0.0.0/24", "taints": [
        {"key": "a", "effect": "NoSchedule"},
        {"key": "b", "effect": "NoExecute"},
    ]}});
    let patch = json!({"spec": {"taints": [{"key": "c", "effect": "NoSchedule"}]}});
    let want = json!({"spec": {"podCIDR": "10.0.0.0/24", "taints": [{"key": "c", "effect": "NoSchedule"}]}});
    assert_eq!(apply("", "Node", &node, &patch), Ok(want));

    let service = json!({"spec": {"ports": [
        {"port": 80, "targetPort": 8080, "protocol": "TCP"},
        {"port": 443, "targetPort": 8443, "protocol": "TCP"},
    ]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}});
    let want = json!({"spec": {"ports": [
        {"port": 80, "targetPort": 9090, "protocol": "TCP"},
        {"port": 443, "targetPort": 8443, "protocol": "TCP"},
    ]}});
    assert_eq!(apply("", "Service", &service, &patch), Ok(want));
}

/// The three-way patch `kubectl apply` (1.33) computes when a manifest changes a container's
/// image and drops one of its environment variables, applied to the live Deployment.
#[test]
fn kubectl_apply_image_change_and_env_removal() {
    let last_applied = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"env":[{"name":"A","value":"1"}],"image":"nginx:1.26","name":"web"}]}}}}
"#;
    let live = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "resourceVersion": "1234",
            "generation": 1,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.25",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log",
                    }],
                    "restartPolicy": "Always",
                    "dnsPolicy": "ClusterFirst",
                },
            },
        },
        "status": {"replicas": 1},
    });
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "web"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "A"}],
                "env": [{"$patch": "delete", "name": "B"}],
                "image": "nginx:1.26",
                "name": "web",
            }],
        }}},
    });
    let mut want = live.clone();
    want["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(last_applied);
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    want["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    assert_eq!(apply("apps", "Deployment", &live, &patch), Ok(want));
}

/// `kubectl rollout restart` sends a plain annotation patch on the pod template.
#[test]
fn kubectl_rollout_restart() {
    let live = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}}}});
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}}});
    let want = json!({"spec": {"template": {
        "metadata": {"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}},
        "spec": {"containers": [{"name": "web"}]},
    }}});
    assert_eq!(apply("apps", "Deployment", &live, &patch), Ok(want));
}

#[test]
fn documents_and_kinds() {
    let live = json!({"metadata": {"name": "x"}});
    assert_eq!(apply("", "Pod", &live, &Value::Null), Ok(live.clone()));
    assert_eq!(
        apply("example.com", "Widget", &live, &json!({})),
        Err(PatchError::Unsupported)
    );
    assert_eq!(
        apply("", "Pod", &json!([1]), &json!({})),
        Err(PatchError::BadJsonDoc)
    );
    let cases = [
        (
            json!([1]),
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            json!("x"),
            "json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        (
            json!(1),
            "json: cannot unmarshal number into Go value of type map[string]interface {}",
        ),
        (
            json!(true),
            "json: cannot unmarshal bool into Go value of type map[string]interface {}",
        ),
    ];
    for (patch, message) in cases {
        let err = apply("", "Pod", &live, &patch).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some(message), "{patch}");
    }
    // Untyped documents: everything merges as maps, lists are replaced.
    let got = apply_typed(
        None,
        &json!({"a": {"b": 1}, "l": [1, 2]}),
        &json!({"a": {"c": 2}, "l": [3]}),
    );
    assert_eq!(got, Ok(json!({"a": {"b": 1, "c": 2}, "l": [3]})));
}

#[test]
fn kind_errors_carry_kubernetes_messages() {
    let mut live = pod(json!({"containers": [{"name": "a", "image": "a"}]}));
    live["metadata"]["finalizers"] = json!([]);
    let cases = [
        (
            json!({"spec": {"containers": [{"image": "nginx"}]}}),
            "map: map[image:nginx] does not contain declared merge key: name",
            500,
        ),
        (
            json!({"spec": {"$setElementOrder/containers": "a"}}),
            "expected a []interface {}, but received a string",
            500,
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b"}]}}),
            "The order in patch list:\n[map[name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]\n",
            500,
        ),
        (
            json!({"metadata": {"finalizers": [["x"]]}}),
            "lists of lists are not supported",
            422,
        ),
        (
            json!({"spec": {"$retainKeys": "containers"}}),
            "invalid patch format of retainKeys",
            400,
        ),
        (
            json!({"spec": {"$deleteFromPrimitiveListcontainers": ["a"]}}),
            "invalid patch format of primitive list",
            400,
        ),
    ];
    for (patch, message, status) in cases {
        match apply("", "Pod", &live, &patch) {
            Err(err) => {
                assert_eq!(err.to_string(), message, "{patch}");
                assert_eq!(err.http_status(), status, "{patch}");
            }
            Ok(got) => panic!("{patch}: expected an error, got {got}"),
        }
    }
}
