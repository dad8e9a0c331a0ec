//! Properties over generated documents: a deterministic generator builds objects shaped like
//! the served kinds (so the metadata's merge lists are hit) and patches with every directive.

use super::*;

/// Field names of the served kinds, so generated documents reach described lists and maps.
const KEYS: &[&str] = &[
    "metadata",
    "labels",
    "finalizers",
    "ownerReferences",
    "spec",
    "template",
    "containers",
    "initContainers",
    "env",
    "ports",
    "volumes",
    "volumeMounts",
    "tolerations",
    "nodeSelector",
    "strategy",
    "rollingUpdate",
    "selector",
    "matchLabels",
    "name",
    "image",
    "value",
    "type",
    "uid",
    "containerPort",
    "mountPath",
    "a",
    "b",
];
/// Merge-key values; few, so patches often match live elements.
const NAMES: &[&str] = &["a", "b", "c", "d"];
/// Merge keys of the lists in [`KEYS`].
const MERGE_KEYS: &[&str] = &["name", "containerPort", "mountPath", "uid"];
const DIRECTIVES: &[&str] = &["replace", "delete", "merge", "bogus"];

/// What a generated document may contain.
#[derive(Clone, Copy)]
struct Shape {
    lists: bool,
    nulls: bool,
    directives: bool,
}

fn scalar(rng: &mut Rng, shape: Shape) -> Value {
    match rng.below(if shape.nulls { 6 } else { 5 }) {
        0 => json!(rng.pick(NAMES)),
        1 => json!(rng.below(4)),
        2 => json!(rng.chance(50)),
        3 => json!(0.5),
        4 => json!(rng.pick(KEYS)),
        _ => Value::Null,
    }
}

fn value(rng: &mut Rng, depth: usize, shape: Shape) -> Value {
    if depth == 0 {
        return scalar(rng, shape);
    }
    match rng.below(if shape.lists { 5 } else { 3 }) {
        0 => scalar(rng, shape),
        1 | 2 => Value::Object(object(rng, depth, shape)),
        _ => list(rng, depth, shape),
    }
}

fn object(rng: &mut Rng, depth: usize, shape: Shape) -> Map<String, Value> {
    let mut map = Map::new();
    for _ in 0..rng.below(5) {
        let key = rng.pick(KEYS).to_string();
        let item = value(rng, depth.saturating_sub(1), shape);
        map.insert(key, item);
    }
    if shape.directives {
        if rng.chance(8) {
            map.insert(DIRECTIVE.into(), json!(rng.pick(DIRECTIVES)));
        }
        if rng.chance(8) {
            let keys: Vec<Value> = (0..rng.below(4)).map(|_| json!(rng.pick(KEYS))).collect();
            map.insert(RETAIN_KEYS.into(), Value::Array(keys));
        }
        if rng.chance(15) {
            let field = rng.pick(KEYS);
            let order = if rng.chance(50) {
                let key = rng.pick(MERGE_KEYS);
                (0..rng.below(4))
                    .map(|_| json!({ key: rng.pick(NAMES) }))
                    .collect()
            } else {
                (0..rng.below(4)).map(|_| json!(rng.pick(NAMES))).collect()
            };
            map.insert(format!("{SET_ELEMENT_ORDER}/{field}"), Value::Array(order));
        }
        if rng.chance(8) {
            let field = rng.pick(KEYS);
            let doomed = (0..rng.below(3)).map(|_| json!(rng.pick(NAMES))).collect();
            map.insert(
                format!("{DELETE_FROM_PRIMITIVE_LIST}/{field}"),
                Value::Array(doomed),
            );
        }
    }
    map
}

fn list(rng: &mut Rng, depth: usize, shape: Shape) -> Value {
    let len = rng.below(5);
    if rng.chance(40) {
        return Value::Array((0..len).map(|_| json!(rng.pick(NAMES))).collect());
    }
    let key = rng.pick(MERGE_KEYS);
    let items = (0..len)
        .map(|_| {
            let mut item = object(rng, depth.saturating_sub(1), shape);
            if !rng.chance(5) {
                item.insert(key.into(), json!(rng.pick(NAMES)));
            }
            if shape.directives && rng.chance(10) {
                item.insert(DIRECTIVE.into(), json!(rng.pick(DIRECTIVES)));
            }
            Value::Object(item)
        })
        .collect();
    Value::Array(items)
}

/// A generated live object: a root object shaped like a served kind, no nulls, no `$` keys.
fn live_object(rng: &mut Rng) -> Value {
    let shape = Shape {
        lists: true,
        nulls: false,
        directives: false,
    };
    let mut root = object(rng, 5, shape);
    root.insert("metadata".into(), Value::Object(object(rng, 3, shape)));
    root.insert("spec".into(), Value::Object(object(rng, 5, shape)));
    Value::Object(root)
}

const KINDS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("apps", "Deployment"),
    ("", "Node"),
    ("", "Service"),
];

/// JSON merge patch (RFC 7386), the reference the list-free properties compare against.
fn json_merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut result = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    for (key, item) in patch {
        if item.is_null() {
            result.remove(key);
        } else {
            let current = result.get(key).cloned().unwrap_or(Value::Null);
            result.insert(key.clone(), json_merge_patch(&current, item));
        }
    }
    Value::Object(result)
}

#[test]
fn an_empty_patch_changes_nothing() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..400 {
        let live = live_object(&mut rng);
        for (group, kind) in KINDS {
            assert_eq!(
                apply(group, kind, &live, &json!({})),
                Ok(live.clone()),
                "round {round}"
            );
            assert_eq!(
                apply(group, kind, &live, &Value::Null),
                Ok(live.clone()),
                "round {round}"
            );
        }
    }
}

#[test]
fn a_patch_without_lists_is_a_json_merge_patch() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let patch_shape = Shape {
        lists: false,
        nulls: true,
        directives: false,
    };
    for round in 0..800 {
        let live = live_object(&mut rng);
        let patch = Value::Object(object(&mut rng, 5, patch_shape));
        let want = json_merge_patch(&live, &patch);
        for (group, kind) in KINDS {
            let got = apply(group, kind, &live, &patch);
            assert_eq!(got.as_ref(), Ok(&want), "round {round}: {live} + {patch}");
        }
    }
}

#[test]
fn directives_never_reach_the_result() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let patch_shape = Shape {
        lists: true,
        nulls: true,
        directives: true,
    };
    let (mut applied, mut refused) = (0, 0);
    for round in 0..1500 {
        let live = live_object(&mut rng);
        let patch = Value::Object(object(&mut rng, 6, patch_shape));
        for (group, kind) in KINDS {
            match apply(group, kind, &live, &patch) {
                Ok(got) => {
                    applied += 1;
                    assert!(!has_dollar_key(&got), "round {round}: {patch} gave {got}");
                }
                Err(err) => {
                    refused += 1;
                    assert!(!err.to_string().is_empty());
                }
            }
        }
    }
    // Both outcomes must be exercised for the property to mean anything.
    assert!(
        applied > 1000 && refused > 100,
        "applied {applied}, refused {refused}"
    );
}

#[test]
fn arbitrary_documents_never_panic() {
    let mut rng = Rng(42);
    let anything = Shape {
        lists: true,
        nulls: true,
        directives: true,
    };
    for _ in 0..1500 {
        let live = Value::Object(object(&mut rng, 5, anything));
        let patch = Value::Object(object(&mut rng, 5, anything));
        for (group, kind) in KINDS {
            let _ = apply(group, kind, &live, &patch);
        }
        let _ = apply_typed(None, &live, &patch);
    }
}

#[test]
fn merged_lists_keep_live_elements_and_add_the_patch_ones() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let all = ["a", "b", "c", "d", "e", "f"];
    for round in 0..500 {
        // Distinct names on each side, so the expected set is plain.
        let mut live_names: Vec<&str> = all.iter().copied().filter(|_| rng.chance(50)).collect();
        let patch_names: Vec<&str> = all.iter().copied().filter(|_| rng.chance(40)).collect();
        if rng.chance(50) {
            live_names.reverse();
        }
        let containers = |names: &[&str], tag: &str| -> Value {
            names.iter().map(|n| json!({"name": n, tag: n})).collect()
        };
        let live = pod(containers(&live_names, "image"));
        let patch = json!({"spec": {"containers": containers(&patch_names, "command")}});
        let got = match apply("", "Pod", &live, &patch) {
            Ok(got) => got,
            Err(err) => panic!("round {round}: {err}"),
        };
        let merged = got["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut names: Vec<&str> = merged.iter().filter_map(|c| c["name"].as_str()).collect();
        names.sort_unstable();
        let mut want: Vec<&str> = live_names.iter().chain(&patch_names).copied().collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(names, want, "round {round}");
        for container in &merged {
            let name = container["name"].as_str().unwrap_or_default();
            assert_eq!(
                container.get("image").is_some(),
                live_names.contains(&name),
                "round {round}: live fields of {name} kept"
            );
            assert_eq!(
                container.get("command").is_some(),
                patch_names.contains(&name),
                "round {round}: patch fields of {name} merged"
            );
        }
        // Live elements the patch does not mention keep their relative order.
        let untouched: Vec<&str> = live_names
            .iter()
            .copied()
            .filter(|n| !patch_names.contains(n))
            .collect();
        let seen: Vec<&str> = merged
            .iter()
            .filter_map(|c| c["name"].as_str())
            .filter(|n| untouched.contains(n))
            .collect();
        assert_eq!(seen, untouched, "round {round}");
    }
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"containers": containers}})
}
