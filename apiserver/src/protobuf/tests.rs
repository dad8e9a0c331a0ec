//! Tests of protobuf decoding: bodies captured from kubectl next to the JSON body an older
//! kubectl sent for the same command, bodies built by hand for the rules the captures do not
//! reach, and garbled bodies that must fail cleanly.

use super::*;
use serde_json::json;
use std::path::PathBuf;

/// A tiny protobuf encoder for building bodies.
mod enc {
    use crate::protobuf::wire::put_varint;

    /// A varint field.
    pub fn varint(number: u32, value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3);
        put_varint(&mut out, value);
        out
    }

    /// A length-delimited field.
    pub fn bytes(number: u32, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, (u64::from(number) << 3) | 2);
        put_varint(&mut out, value.len() as u64);
        out.extend_from_slice(value);
        out
    }

    /// A string field.
    pub fn string(number: u32, value: &str) -> Vec<u8> {
        bytes(number, value.as_bytes())
    }

    /// A nested message made of the given fields.
    pub fn message(number: u32, fields: &[Vec<u8>]) -> Vec<u8> {
        bytes(number, &fields.concat())
    }

    /// A map entry.
    pub fn entry(number: u32, key: &str, value: Vec<u8>) -> Vec<u8> {
        message(number, &[string(1, key), value])
    }

    /// A complete body: magic, envelope and the object's fields.
    pub fn body(api_version: &str, kind: &str, fields: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"k8s\0".to_vec();
        out.extend(message(1, &[string(1, api_version), string(2, kind)]));
        out.extend(bytes(2, &fields.concat()));
        out.extend(string(3, ""));
        out.extend(string(4, ""));
        out
    }
}

use enc::{body, bytes, entry, message, string, varint};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/protobuf")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// Every captured kubectl 1.33 protobuf body decodes to exactly the JSON body kubectl 1.31
/// sent for the same command.
#[test]
fn kubectl_bodies_decode_to_the_json_kubectl_sends() {
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let expected: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let pb = std::fs::read(path.with_extension("pb")).unwrap();
        let got = decode(&pb).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
        if got != expected {
            mismatches.push(format!(
                "{}:\n got {}\nwant {}",
                path.display(),
                serde_json::to_string(&got).unwrap(),
                serde_json::to_string(&expected).unwrap()
            ));
        }
        compared += 1;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(compared >= 20, "only {compared} fixtures compared");
}

#[test]
fn autoscale_body_decodes() {
    let hpa = decode(&fixture("horizontalpodautoscaler.pb")).unwrap();
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["kind"], "HorizontalPodAutoscaler");
    assert_eq!(hpa["metadata"]["name"], "web");
    assert_eq!(hpa["spec"]["maxReplicas"], 3);
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
    );
    assert_eq!(
        hpa["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
}

#[test]
fn zero_values_follow_the_field_kind() {
    let spec = message(
        2,
        &[
            varint(1, 0),                                  // replicas: a pointer, 0 is kept
            varint(5, 0),                                  // minReadySeconds: plain, dropped
            varint(7, 0),                                  // paused: plain, dropped
            varint(9, 600),                                // progressDeadlineSeconds
            message(4, &[string(1, ""), message(2, &[])]), // strategy: type "" dropped
        ],
    );
    let d = decode(&body(
        "apps/v1",
        "Deployment",
        &[message(1, &[string(1, "web")]), spec],
    ))
    .unwrap();
    assert_eq!(
        d,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            // selector is a pointer a JSON client always writes, so unset it is null.
            "spec": {"replicas": 0, "progressDeadlineSeconds": 600, "strategy": {"rollingUpdate": {}}, "selector": null},
        })
    );
}

#[test]
fn int_or_string_and_quantities() {
    let rolling = message(
        2,
        &[
            message(1, &[varint(1, 0), varint(2, 0)]), // maxUnavailable: 0
            message(2, &[varint(1, 1), string(3, "25%")]), // maxSurge: "25%"
        ],
    );
    let d = decode(&body(
        "apps/v1",
        "Deployment",
        &[message(
            2,
            &[message(4, &[string(1, "RollingUpdate"), rolling])],
        )],
    ))
    .unwrap();
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}})
    );

    let bad = message(
        2,
        &[message(4, &[message(2, &[message(2, &[varint(1, 7)])])])],
    );
    let err = decode(&body("apps/v1", "Deployment", &[bad])).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(
        err.message.contains("spec.strategy.rollingUpdate.maxSurge"),
        "{}",
        err.message
    );

    // ResourceQuota spec.hard: a map of quantities; an entry without a value is zero.
    let quota = message(
        2,
        &[
            entry(1, "cpu", message(2, &[string(1, "500m")])),
            entry(1, "pods", vec![]),
        ],
    );
    let q = decode(&body("v1", "ResourceQuota", &[quota])).unwrap();
    assert_eq!(q["spec"]["hard"], json!({"cpu": "500m", "pods": "0"}));
}

#[test]
fn maps_lists_bytes_and_inline_fields() {
    let secret = body(
        "v1",
        "Secret",
        &[
            message(
                1,
                &[
                    string(1, "s"),
                    entry(11, "a", string(2, "1")),
                    entry(11, "b", string(2, "2")),
                ],
            ),
            entry(2, "key", bytes(2, &[0, 159, 255])),
            entry(2, "empty", vec![]),
            string(3, "Opaque"),
        ],
    );
    assert_eq!(
        decode(&secret).unwrap(),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "labels": {"a": "1", "b": "2"}},
            "data": {"key": "AJ//", "empty": ""},
            "type": "Opaque",
        })
    );

    // Pod: volumes[] with the volume source inline; supplementalGroups packed and unpacked.
    let mut packed = Vec::new();
    for g in [1u64, 2] {
        wire::put_varint(&mut packed, g);
    }
    let config_map_volume = message(19, &[message(1, &[string(1, "cm")]), varint(3, 0o644)]);
    let spec = message(
        2,
        &[
            message(1, &[string(1, "config"), message(2, &[config_map_volume])]),
            message(14, &[bytes(4, &packed), varint(4, 3)]),
        ],
    );
    let pod = decode(&body("v1", "Pod", &[spec])).unwrap();
    assert_eq!(
        pod["spec"]["volumes"],
        json!([{"name": "config", "configMap": {"name": "cm", "defaultMode": 420}}])
    );
    assert_eq!(
        pod["spec"]["securityContext"]["supplementalGroups"],
        json!([1, 2, 3])
    );
}

#[test]
fn repeated_fields_merge_like_protobuf() {
    // metadata in two pieces merges; a scalar seen twice keeps the last value, and a later
    // zero clears an earlier value of a plain field.
    let cm = body(
        "v1",
        "ConfigMap",
        &[
            message(1, &[string(1, "first"), string(2, "gen-")]),
            message(
                1,
                &[
                    string(1, "second"),
                    string(2, ""),
                    entry(12, "k", string(2, "v")),
                ],
            ),
            varint(4, 1),
            varint(4, 0),
        ],
    );
    assert_eq!(
        decode(&cm).unwrap(),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "second", "annotations": {"k": "v"}},
            "immutable": false,
        })
    );
}

#[test]
fn unknown_and_newer_fields_are_skipped() {
    let mut group = bytes(90, b"ignored");
    group.splice(0..0, [0xdb, 0x05]); // start group 91
    group.extend([0xdc, 0x05]); // end group 91
    let cm = body(
        "v1",
        "ConfigMap",
        &[
            varint(77, 5),
            message(
                1,
                &[
                    string(1, "x"),
                    bytes(99, b"\x01\x02"),
                    vec![0x9d, 0x06, 1, 2, 3, 4],
                ],
            ),
            vec![0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64 field 99
            group,
            entry(2, "a", string(2, "b")),
        ],
    );
    assert_eq!(
        decode(&cm).unwrap(),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}})
    );
}

#[test]
fn times_and_embedded_json() {
    let managed = message(
        17,
        &[
            string(1, "kubectl"),
            message(4, &[varint(1, 1_700_000_000), varint(2, 5)]),
            message(7, &[string(1, "{\"f:data\":{}}")]),
        ],
    );
    let cm = body(
        "v1",
        "ConfigMap",
        &[message(
            1,
            &[
                string(1, "t"),
                message(8, &[varint(1, 1_700_000_000)]),
                message(9, &[]),
                managed,
            ],
        )],
    );
    let got = decode(&cm).unwrap();
    assert_eq!(got["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(got["metadata"]["deletionTimestamp"], Value::Null);
    assert_eq!(
        got["metadata"]["managedFields"],
        json!([{"manager": "kubectl", "time": "2023-11-14T22:13:20Z", "fieldsV1": {"f:data": {}}}])
    );

    let lease = body(
        "coordination.k8s.io/v1",
        "Lease",
        &[message(
            2,
            &[
                string(1, "me"),
                varint(2, 15),
                message(4, &[varint(1, 1_700_000_000), varint(2, 123_456_789)]),
            ],
        )],
    );
    let got = decode(&lease).unwrap();
    assert_eq!(
        got["spec"],
        json!({"holderIdentity": "me", "leaseDurationSeconds": 15, "renewTime": "2023-11-14T22:13:20.123456Z"})
    );

    let bad_json = body(
        "v1",
        "ConfigMap",
        &[message(
            1,
            &[message(17, &[message(7, &[string(1, "{nope")])])],
        )],
    );
    let err = decode(&bad_json).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(
        err.message.contains("metadata.managedFields[0].fieldsV1"),
        "{}",
        err.message
    );

    let far_future = body(
        "v1",
        "ConfigMap",
        &[message(1, &[message(8, &[varint(1, 400_000_000_000)])])],
    );
    assert_eq!(decode(&far_future).unwrap_err().code, 400);
}

#[test]
fn envelope_problems_have_clear_answers() {
    let no_magic = decode(b"{\"kind\":\"ConfigMap\"}").unwrap_err();
    assert_eq!(no_magic.code, 400);
    assert!(no_magic.message.contains("magic"), "{}", no_magic.message);

    let no_kind = decode(b"k8s\0").unwrap_err();
    assert_eq!(no_kind.code, 400);
    assert!(no_kind.message.contains("Kind"), "{}", no_kind.message);

    let unknown_kind = decode(&body("example.com/v1", "Widget", &[])).unwrap_err();
    assert_eq!(unknown_kind.code, 415);
    assert_eq!(unknown_kind.reason, "UnsupportedMediaType");
    assert!(
        unknown_kind.message.contains("application/json"),
        "{}",
        unknown_kind.message
    );
    assert!(
        unknown_kind.message.contains("Widget"),
        "{}",
        unknown_kind.message
    );

    let mut gzip = b"k8s\0".to_vec();
    gzip.extend(message(1, &[string(1, "v1"), string(2, "ConfigMap")]));
    gzip.extend(string(3, "gzip"));
    assert_eq!(decode(&gzip).unwrap_err().code, 415);

    let mut wrapped_json = b"k8s\0".to_vec();
    wrapped_json.extend(message(1, &[string(1, "v1"), string(2, "ConfigMap")]));
    wrapped_json.extend(string(2, "{\"metadata\":{\"name\":\"j\"}}"));
    wrapped_json.extend(string(4, "application/json"));
    assert_eq!(
        decode(&wrapped_json).unwrap(),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}})
    );

    // DeleteOptions are accepted whatever group version the client names.
    let options = decode(&body(
        "apps/v1",
        "DeleteOptions",
        &[varint(1, 0), string(4, "Foreground")],
    ))
    .unwrap();
    assert_eq!(
        options,
        json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Foreground"})
    );
}

#[test]
fn wrong_wire_types_name_the_field() {
    let deployment = body(
        "apps/v1",
        "Deployment",
        &[message(
            2,
            &[message(
                3,
                &[message(2, &[message(2, &[string(1, "c"), varint(2, 1)])])],
            )],
        )],
    );
    let err = decode(&deployment).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(
        err.message
            .contains("spec.template.spec.containers[0].image"),
        "{}",
        err.message
    );
    assert!(err.message.contains("wrong wire type"), "{}", err.message);
    assert!(err.message.contains("(in Container)"), "{}", err.message);
}

/// A deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Truncated, corrupted and random bodies never panic, and cutting a body short inside the
/// object is reported as an error.
#[test]
fn garbled_bodies_fail_cleanly() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut names: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.retain(|p| p.extension().and_then(|e| e.to_str()) == Some("pb"));
    names.sort();
    assert!(!names.is_empty());
    for path in names {
        let good = std::fs::read(&path).unwrap();
        let mut errors = 0;
        for cut in 0..good.len() {
            if decode(&good[..cut]).is_err() {
                errors += 1;
            }
        }
        // Most cuts land inside a length-delimited field; a handful fall on field borders.
        assert!(
            errors * 2 > good.len(),
            "{}: only {errors} of {} cuts failed",
            path.display(),
            good.len()
        );
        for _ in 0..300 {
            let mut bad = good.clone();
            for _ in 0..1 + rng.next() % 3 {
                let i = 4 + (rng.next() as usize) % (bad.len() - 4);
                bad[i] = rng.next() as u8;
            }
            let _ = decode(&bad);
        }
    }
    for len in [0usize, 1, 5, 64, 1000] {
        for _ in 0..200 {
            let random: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let mut bare = b"k8s\0".to_vec();
            bare.extend(&random);
            let _ = decode(&bare);
            // The same bytes as the object of each kind, to reach the field tables.
            for (api_version, kind, _) in tables::ROOTS {
                let _ = decode(&body(api_version, kind, std::slice::from_ref(&random)));
            }
        }
    }
}
