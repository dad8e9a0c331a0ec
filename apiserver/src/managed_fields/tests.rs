use super::*;
use berth_api_types::catalog;

fn res(group: &str, plural: &str) -> &'static ResourceInfo {
    catalog::find(group, plural).expect("served resource")
}

fn write<'a>(
    resource: &'a ResourceInfo,
    sub: Option<&'a str>,
    manager: &'a str,
    now: &'a str,
) -> Write<'a> {
    Write {
        resource,
        subresource: sub,
        manager,
        now,
    }
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `(manager, subresource, fieldsV1)` of every entry, in order.
fn summary(obj: &Value) -> Vec<(String, String, Value)> {
    entries(obj)
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap_or_default().to_owned(),
                e.get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                e["fieldsV1"].clone(),
            )
        })
        .collect()
}

#[test]
fn manager_names_come_from_the_user_agent_prefix() {
    let long = "x".repeat(200);
    let near = format!("{}é", "x".repeat(127));
    let cases: &[(&str, String)] = &[
        (
            "kubectl/v1.33.0 (linux/amd64) kubernetes/8adc0f0",
            "kubectl".into(),
        ),
        ("kube-rs/0.99", "kube-rs".into()),
        ("curl", "curl".into()),
        ("", String::new()),
        ("a\tb\u{7}c/1", "abc".into()),
        ("my tool/1", "my tool".into()),
        (long.as_str(), "x".repeat(128)),
        (near.as_str(), "x".repeat(127)),
    ];
    for (ua, want) in cases {
        assert_eq!(&manager_from_user_agent(ua), want, "{ua:?}");
    }
}

#[test]
fn field_manager_parameter_is_checked() {
    let cases: &[(String, &[&str])] = &[
        ("kubectl-edit".into(), &[]),
        ("x".repeat(128), &[]),
        ("x".repeat(129), &["fieldManager: Too long"]),
        (
            "a\nb".into(),
            &["fieldManager: Invalid value: \"a\\nb\": invalid character U+000A (at position 1)"],
        ),
    ];
    for (manager, want) in cases {
        let got: Vec<String> = validate_manager(manager)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(got.len(), want.len(), "{manager:?}: {got:?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(g.starts_with(w), "{manager:?}: {g} does not start with {w}");
        }
    }
}

#[test]
fn field_sets_round_trip_through_fields_v1() {
    let cases = [
        json!({}),
        json!({"f:data": {".": {}, "f:a": {}}}),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:replicas": {}}}),
        json!({"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}}}}),
        json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"x\"": {}}}}),
    ];
    for fv in cases {
        let set = FieldSet::from_json(&fv).expect("valid fieldsV1");
        assert_eq!(set.to_json(), fv);
    }
    assert!(FieldSet::from_json(&json!({"f:a": 1})).is_none());
    assert!(FieldSet::from_json(&json!([])).is_none());
}

#[test]
fn set_algebra_removes_exact_members_and_prunes() {
    let mut a = FieldSet::from_json(&json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})).unwrap();
    let b = FieldSet::from_json(&json!({"f:data": {"f:a": {}}})).unwrap();
    a.difference(&b);
    assert_eq!(a.to_json(), json!({"f:data": {".": {}, "f:b": {}}}));
    let all = FieldSet::from_json(&json!({"f:data": {".": {}, "f:b": {}}})).unwrap();
    a.difference(&all);
    assert!(a.is_empty());
    a.union(&b);
    assert_eq!(a.to_json(), json!({"f:data": {"f:a": {}}}));
}

#[test]
fn compare_follows_list_semantics() {
    // (group, kind, old, new, changed, removed)
    type Case = (
        &'static str,
        &'static str,
        Option<Value>,
        Value,
        Value,
        Value,
    );
    let cases: Vec<Case> = vec![
        (
            "",
            "ConfigMap",
            None,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d",
                "uid": "u", "creationTimestamp": "t", "labels": {"app": "x"}}, "data": {"a": "1"}}),
            json!({"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}),
            json!({}),
        ),
        (
            "",
            "ConfigMap",
            Some(
                json!({"metadata": {"name": "c", "labels": {"app": "x", "old": "y"}}, "data": {"a": "1"}}),
            ),
            json!({"metadata": {"name": "c", "resourceVersion": "9", "labels": {"app": "z"}}, "data": {"a": "1", "b": "2"}}),
            json!({"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}),
            json!({"f:metadata": {"f:labels": {"f:old": {}}}}),
        ),
        (
            // Containers are keyed by name, ports by number and protocol; args are atomic.
            "",
            "Pod",
            Some(json!({"spec": {"containers": [{"name": "a", "image": "i:1", "args": ["x"]}]}})),
            json!({"spec": {"containers": [{"name": "a", "image": "i:2", "args": ["x", "y"],
                "ports": [{"containerPort": 80, "protocol": "TCP"}]}, {"name": "b", "image": "j"}]}}),
            json!({"f:spec": {"f:containers": {
                "k:{\"name\":\"a\"}": {"f:args": {}, "f:image": {}, "f:ports": {".": {},
                    "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}}}},
                "k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}}}}),
            json!({}),
        ),
        (
            // Finalizers are a set; a label selector is one field; spec and status carry no dot.
            "apps",
            "Deployment",
            None,
            json!({"metadata": {"finalizers": ["f/x"]}, "spec": {"replicas": 1,
                "selector": {"matchLabels": {"a": "b"}}}, "status": {}}),
            json!({"f:metadata": {"f:finalizers": {".": {}, "v:\"f/x\"": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {}}}),
            json!({}),
        ),
        (
            // Duplicate keys make the list one field.
            "",
            "Pod",
            Some(
                json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X"}, {"name": "X"}]}]}}),
            ),
            json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "X"}]}]}}),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {"f:env": {}}}}}),
            json!({}),
        ),
        (
            "",
            "ConfigMap",
            Some(json!({"metadata": {"name": "c"}, "data": {"a": "1"}})),
            json!({"metadata": {"name": "c"}}),
            json!({}),
            json!({"f:data": {".": {}, "f:a": {}}}),
        ),
    ];
    for (i, (group, kind, old, new, changed, removed)) in cases.into_iter().enumerate() {
        let c = compare(group, kind, old.as_ref(), &new);
        assert_eq!(c.changed.to_json(), changed, "case {i} changed");
        assert_eq!(c.removed.to_json(), removed, "case {i} removed");
    }
}

#[test]
fn writes_move_fields_between_managers() {
    let cm = res("", "configmaps");
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d"}, "data": {"a": "1", "b": "2"}});
    record(
        &write(cm, None, "kubectl-create", "2026-01-01T00:00:00Z"),
        None,
        &mut obj,
    );
    let created = entries(&obj);
    assert_eq!(created.len(), 1);
    assert_eq!(
        created[0],
        json!({"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubectl-create",
            "operation": "Update", "time": "2026-01-01T00:00:00Z",
            "fieldsV1": {"f:data": {".": {}, "f:a": {}, "f:b": {}}}})
    );

    // Another manager labels the object and changes one key.
    let old = obj.clone();
    obj["metadata"]["labels"] = json!({"l": "v"});
    obj["data"]["a"] = json!("9");
    record(
        &write(cm, None, "kubectl-edit", "2026-01-01T00:01:00Z"),
        Some(&old),
        &mut obj,
    );
    assert_eq!(
        summary(&obj),
        vec![
            (
                "kubectl-create".into(),
                String::new(),
                json!({"f:data": {".": {}, "f:b": {}}})
            ),
            (
                "kubectl-edit".into(),
                String::new(),
                json!({"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:l": {}}}})
            ),
        ]
    );

    // The same manager again merges into its entry; the creator keeps only the map itself.
    let old = obj.clone();
    obj["data"].as_object_mut().unwrap().remove("b");
    obj["data"]["c"] = json!("3");
    record(
        &write(cm, None, "kubectl-edit", "2026-01-01T00:02:00Z"),
        Some(&old),
        &mut obj,
    );
    assert_eq!(
        summary(&obj),
        vec![
            (
                "kubectl-create".into(),
                String::new(),
                json!({"f:data": {}})
            ),
            (
                "kubectl-edit".into(),
                String::new(),
                json!({"f:data": {"f:a": {}, "f:c": {}}, "f:metadata": {"f:labels": {".": {}, "f:l": {}}}})
            ),
        ]
    );
    assert_eq!(entries(&obj)[1]["time"], "2026-01-01T00:02:00Z");

    // Removing the whole map empties the creator's entry, which is dropped.
    let old = obj.clone();
    obj.as_object_mut().unwrap().remove("data");
    record(
        &write(cm, None, "kubectl-edit", "2026-01-01T00:02:30Z"),
        Some(&old),
        &mut obj,
    );
    assert_eq!(
        summary(&obj),
        vec![(
            "kubectl-edit".into(),
            String::new(),
            json!({"f:metadata": {"f:labels": {".": {}, "f:l": {}}}})
        )]
    );
    assert_eq!(entries(&obj)[0]["time"], "2026-01-01T00:02:00Z");

    // A write that changes nothing leaves the entries and their times alone.
    let old = obj.clone();
    record(
        &write(cm, None, "other", "2026-01-01T00:03:00Z"),
        Some(&old),
        &mut obj,
    );
    assert_eq!(entries(&obj), entries(&old));
}

#[test]
fn subresource_writes_get_their_own_entries() {
    let deploy = res("apps", "deployments");
    let mut obj = json!({"metadata": {"name": "w", "namespace": "d"}, "spec": {"replicas": 1}});
    record(
        &write(deploy, None, "kubectl-create", "2026-01-01T00:00:00Z"),
        None,
        &mut obj,
    );
    let old = obj.clone();
    obj["spec"]["replicas"] = json!(3);
    record(
        &write(deploy, Some("scale"), "kubectl", "2026-01-01T00:01:00Z"),
        Some(&old),
        &mut obj,
    );
    let old = obj.clone();
    obj["status"] = json!({"replicas": 3});
    record(
        &write(deploy, Some("status"), "controller", "2026-01-01T00:02:00Z"),
        Some(&old),
        &mut obj,
    );
    let e = entries(&obj);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0]["manager"], "kubectl");
    assert_eq!(e[0]["subresource"], "scale");
    assert_eq!(e[0]["apiVersion"], "apps/v1");
    assert_eq!(e[0]["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(e[1]["subresource"], "status");
    assert_eq!(e[1]["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
}

#[test]
fn managed_fields_sent_by_clients() {
    let cm = res("", "configmaps");
    let base = || {
        let mut obj = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        record(
            &write(cm, None, "creator", "2026-01-01T00:00:00Z"),
            None,
            &mut obj,
        );
        obj
    };
    let given = json!([{"manager": "someone", "operation": "Update", "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]);
    // (sent managedFields, subresource, managers after a write that adds data.b)
    let cases: Vec<(Option<Value>, Option<&str>, Vec<&str>)> = vec![
        (None, None, vec!["creator", "writer"]),
        (Some(Value::Null), None, vec!["creator", "writer"]),
        (Some(json!([])), None, vec![]),
        (Some(json!([{}])), None, vec![]),
        (Some(given.clone()), None, vec!["someone", "writer"]),
        (
            Some(json!([{"fieldsType": "FieldsV2"}])),
            None,
            vec!["creator", "writer"],
        ),
        (
            Some(given.clone()),
            Some("status"),
            vec!["creator", "writer"],
        ),
        (Some(json!([])), Some("status"), vec!["creator", "writer"]),
    ];
    for (i, (sent, sub, want)) in cases.into_iter().enumerate() {
        let old = base();
        let mut obj = old.clone();
        match sent {
            Some(v) => obj["metadata"]["managedFields"] = v,
            None => {
                obj["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("managedFields");
            }
        }
        obj["data"]["b"] = json!("2");
        record(
            &write(cm, sub, "writer", "2026-01-01T00:01:00Z"),
            Some(&old),
            &mut obj,
        );
        let got: Vec<String> = summary(&obj).into_iter().map(|(m, _, _)| m).collect();
        assert_eq!(got, want, "case {i}");
    }

    // An untracked object stays untracked; a create is tracked whatever was sent.
    let mut obj = json!({"metadata": {"name": "c"}, "data": {"a": "2"}});
    let old = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
    record(&write(cm, None, "w", "t"), Some(&old), &mut obj);
    assert!(entries(&obj).is_empty());
    let mut obj = json!({"metadata": {"name": "c", "managedFields": [{}]}, "data": {"a": "2"}});
    record(&write(cm, None, "w", "t"), None, &mut obj);
    assert_eq!(summary(&obj)[0].0, "w");
}

#[test]
fn at_most_ten_update_entries_are_kept() {
    let cm = res("", "configmaps");
    let mut obj = json!({"metadata": {"name": "c"}, "data": {"k0": "v"}});
    record(
        &write(cm, None, "m00", "2026-01-01T00:00:00Z"),
        None,
        &mut obj,
    );
    for i in 1..=12 {
        let old = obj.clone();
        obj["data"][format!("k{i}")] = json!("v");
        let manager = format!("m{i:02}");
        let now = format!("2026-01-01T00:{i:02}:00Z");
        record(&write(cm, None, &manager, &now), Some(&old), &mut obj);
    }
    let got = summary(&obj);
    assert_eq!(got.len(), 10, "{got:?}");
    let ancient = got
        .iter()
        .find(|(m, _, _)| m == ANCIENT_CHANGES)
        .expect("folded entry");
    assert_eq!(
        ancient.2,
        json!({"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}, "f:k3": {}}})
    );
    assert_eq!(got.last().unwrap().0, "m12");
}

#[test]
fn creates_record_what_the_general_comparison_records() {
    let objects = [
        (
            "",
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "u", "generation": 1,
                "labels": {"app": "a", "tier": "web"}, "annotations": {"n": "x"},
                "finalizers": ["a/b", "c/d", "a/b"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1"}]},
            "spec": {"containers": [{"name": "app", "image": "i", "command": ["a", "b"],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 80, "protocol": "UDP"}, {"containerPort": 9}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}],
                    "resources": {"limits": {"cpu": "1"}, "requests": {}}}],
                "nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "k", "operator": "Exists"}],
                "volumes": [], "restartPolicy": "Always", "priority": 0},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}}),
        ),
        (
            "",
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"}, "spec": {},
            "status": {}}),
        ),
        (
            "",
            "pods",
            json!({"metadata": {"name": "odd"}, "spec": {"containers": [{"image": "no-name"}, {"name": "x"}]},
            "status": "not an object", "extra": [1, 2]}),
        ),
        (
            "",
            "pods",
            json!({"metadata": {"name": "dup"}, "spec": {"containers": [{"name": "x"}, {"name": "x"}]}}),
        ),
        (
            "apps",
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "a"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        ),
        (
            "",
            "services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "a"},
                "clusterIPs": ["10.0.0.1"], "type": "ClusterIP"}}),
        ),
        (
            "",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1", "b.txt": "2"}, "binaryData": {}}),
        ),
        (
            "",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
            "managedFields": []}, "data": {"a": "1"}}),
        ),
        (
            "",
            "configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
            "managedFields": "not a list"}, "data": {"a": "1"}}),
        ),
        (
            "",
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
        ),
    ];
    for (group, plural, obj) in objects {
        let w = write(res(group, plural), None, "creator", "2026-11-27T00:00:00Z");
        let mut fast = obj.clone();
        record(&w, None, &mut fast);
        let mut general = obj.clone();
        record_change(&w, None, &mut general);
        assert_eq!(fast, general, "{obj}");
    }
    // The pod's entry is not trivial, so the comparison above saw real field sets.
    let w = write(res("", "pods"), None, "creator", "2026-11-27T00:00:00Z");
    let mut pod = objects_first_pod();
    record(&w, None, &mut pod);
    let fields = &entries(&pod)[0]["fieldsV1"];
    assert!(fields
        .pointer("/f:spec/f:containers/k:{\"name\":\"app\"}/f:ports")
        .is_some());
}

fn objects_first_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "i",
            "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}})
}
