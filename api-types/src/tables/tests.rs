//! Tables for realistic objects, checked cell by cell against what Kubernetes prints.

use serde_json::{json, Value};

use super::*;

/// 2026-11-26T14:00:00Z.
const NOW: i64 = 1_795_701_600;

fn cells(group: &str, kind: &str, object: Value) -> Value {
    Value::Array(row_cells(group, kind, &object, NOW))
}

fn meta(name: &str, created: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": created})
}

/// A pod with one `web` container, created five minutes before [`NOW`], and the given status.
fn pod(status: Value) -> Value {
    json!({
        "metadata": meta("web-abc", "2026-11-26T13:55:00Z"),
        "spec": {"containers": [{"name": "web", "image": "nginx"}], "nodeName": "node1"},
        "status": status,
    })
}

#[test]
fn pod_rows() {
    let running = json!({"running": {"startedAt": "2026-11-26T13:55:05Z"}});
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "running",
            pod(json!({
                "phase": "Running",
                "podIP": "10.1.0.5",
                "podIPs": [{"ip": "10.1.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0, "state": running}],
            })),
            json!([
                "web-abc", "1/1", "Running", "0", "5m", "10.1.0.5", "node1", "<none>", "<none>"
            ]),
        ),
        (
            "crash loop, restarted five minutes ago",
            json!({
                "metadata": meta("crashy", "2026-11-26T11:00:00Z"),
                "spec": {"containers": [{"name": "app"}]},
                "status": {
                    "phase": "Running",
                    "podIPs": [{"ip": "10.1.0.7"}],
                    "containerStatuses": [{
                        "name": "app", "ready": false, "restartCount": 4,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                            "finishedAt": "2026-11-26T13:55:00Z"}},
                    }],
                },
            }),
            json!([
                "crashy",
                "0/1",
                "CrashLoopBackOff",
                "4 (5m ago)",
                "3h",
                "10.1.0.7",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "terminating",
            json!({
                "metadata": {"name": "old", "creationTimestamp": "2026-11-24T14:00:00Z",
                    "deletionTimestamp": "2026-11-26T14:00:30Z"},
                "spec": {"containers": [{"name": "web"}], "nodeName": "node2"},
                "status": {"phase": "Running", "podIP": "10.1.0.9",
                    "containerStatuses": [{"name": "web", "ready": true, "state": running}]},
            }),
            json!([
                "old",
                "1/1",
                "Terminating",
                "0",
                "2d",
                "10.1.0.9",
                "node2",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "node lost",
            json!({
                "metadata": {"name": "lost", "creationTimestamp": "2026-11-26T13:00:00Z",
                    "deletionTimestamp": "2026-11-26T13:59:00Z"},
                "spec": {"containers": [{"name": "web"}]},
                "status": {"phase": "Running", "reason": "NodeLost"},
            }),
            json!(["lost", "0/1", "Unknown", "0", "60m", "<none>", "<none>", "<none>", "<none>"]),
        ),
        (
            "second init container running",
            json!({
                "metadata": meta("init", "2026-11-26T13:59:30Z"),
                "spec": {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "web"}]},
                "status": {
                    "phase": "Pending",
                    "initContainerStatuses": [
                        {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                        {"name": "b", "state": {"running": {}}},
                    ],
                    "containerStatuses": [{"name": "web", "state": {"waiting": {"reason": "PodInitializing"}}}],
                },
            }),
            json!(["init", "0/1", "Init:1/2", "0", "30s", "<none>", "<none>", "<none>", "<none>"]),
        ),
        (
            "init container failed",
            pod(json!({
                "phase": "Pending",
                "initContainerStatuses": [{"name": "setup", "restartCount": 2,
                    "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-26T13:58:00Z"}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "Init:Error",
                "2 (2m ago)",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "init container crash looping",
            pod(json!({
                "phase": "Pending",
                "initContainerStatuses": [{"name": "setup",
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "Init:CrashLoopBackOff",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "init container killed by a signal without a reason",
            pod(json!({
                "phase": "Pending",
                "initContainerStatuses": [{"name": "setup",
                    "state": {"terminated": {"exitCode": 137, "signal": 9}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "Init:Signal:9",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "initialized, main container still starting",
            pod(json!({
                "phase": "Pending",
                "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "setup",
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [{"name": "web", "state": {"waiting": {"reason": "PodInitializing"}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "PodInitializing",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "container creating",
            pod(json!({
                "phase": "Pending",
                "containerStatuses": [{"name": "web", "state": {"waiting": {"reason": "ContainerCreating"}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "ContainerCreating",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "pending without statuses",
            json!({"metadata": meta("new", "2026-11-26T13:59:58Z"),
                   "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                   "status": {"phase": "Pending"}}),
            json!(["new", "0/2", "Pending", "0", "2s", "<none>", "<none>", "<none>", "<none>"]),
        ),
        (
            "completed",
            pod(json!({
                "phase": "Succeeded",
                "containerStatuses": [{"name": "web",
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "Completed",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "one container completed, one still running and ready",
            json!({
                "metadata": meta("mixed", "2026-11-26T13:55:00Z"),
                "spec": {"containers": [{"name": "job"}, {"name": "proxy"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [
                        {"name": "job", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                        {"name": "proxy", "ready": true, "state": running},
                    ],
                },
            }),
            json!(["mixed", "1/2", "NotReady", "0", "5m", "<none>", "<none>", "<none>", "<none>"]),
        ),
        (
            "main container exited without a reason",
            pod(json!({
                "phase": "Running",
                "containerStatuses": [{"name": "web", "state": {"terminated": {"exitCode": 3}}}],
            })),
            json!([
                "web-abc",
                "0/1",
                "ExitCode:3",
                "0",
                "5m",
                "<none>",
                "node1",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "sidecar started and ready, restarts counted",
            json!({
                "metadata": meta("sidecar", "2026-11-26T13:00:00Z"),
                "spec": {
                    "initContainers": [{"name": "log", "restartPolicy": "Always"}],
                    "containers": [{"name": "web"}],
                    "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}],
                },
                "status": {
                    "phase": "Running",
                    "nominatedNodeName": "node3",
                    "conditions": [
                        {"type": "Initialized", "status": "True"},
                        {"type": "example.com/lb", "status": "True"},
                        {"type": "example.com/dns", "status": "False"},
                    ],
                    "initContainerStatuses": [{"name": "log", "started": true, "ready": true,
                        "restartCount": 1, "state": running,
                        "lastState": {"terminated": {"exitCode": 2, "finishedAt": "2026-11-26T13:30:00Z"}}}],
                    "containerStatuses": [{"name": "web", "ready": true, "restartCount": 2, "state": running,
                        "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-26T13:10:00Z"}}}],
                },
            }),
            json!([
                "sidecar",
                "2/2",
                "Running",
                "3 (30m ago)",
                "60m",
                "<none>",
                "<none>",
                "node3",
                "1/2"
            ]),
        ),
        (
            "scheduling gated",
            json!({
                "metadata": meta("gated", "2026-11-26T13:55:00Z"),
                "spec": {"containers": [{"name": "web"}], "schedulingGates": [{"name": "wait"}]},
                "status": {"phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]},
            }),
            json!([
                "gated",
                "0/1",
                "SchedulingGated",
                "0",
                "5m",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        ),
        (
            "evicted",
            pod(json!({"phase": "Failed", "reason": "Evicted"})),
            json!(["web-abc", "0/1", "Evicted", "0", "5m", "<none>", "node1", "<none>", "<none>"]),
        ),
    ];
    for (name, object, expected) in cases {
        assert_eq!(cells("", "Pod", object), expected, "{name}");
    }
}

#[test]
fn finished_pods_carry_the_completed_row_condition() {
    let cases = [
        (
            "Succeeded",
            Some(
                json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."}]),
            ),
        ),
        (
            "Failed",
            Some(
                json!([{"type": "Completed", "status": "True", "reason": "Failed",
            "message": "The pod failed."}]),
            ),
        ),
        ("Running", None),
    ];
    for (phase, expected) in cases {
        let row = table_row(
            "",
            "Pod",
            &pod(json!({"phase": phase})),
            IncludeObject::None,
            NOW,
        );
        assert_eq!(row.get("conditions"), expected.as_ref(), "{phase}");
    }
}

#[test]
fn workload_rows() {
    let template = json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}});
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        (
            "apps",
            "Deployment",
            json!({
                "metadata": meta("web", "2026-11-24T11:00:00Z"),
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
                "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
            }),
            json!([
                "web",
                "2/3",
                3,
                2,
                "2d3h",
                "web,log",
                "nginx:1.27,busybox",
                "app=web"
            ]),
        ),
        (
            "apps",
            "Deployment",
            json!({"metadata": meta("bare", "2026-11-26T13:00:00Z"), "spec": {"replicas": 1}}),
            json!(["bare", "0/1", 0, 0, "60m", "", "", ""]),
        ),
        (
            "apps",
            "ReplicaSet",
            json!({
                "metadata": meta("web-5d4f", "2026-11-26T13:55:00Z"),
                "spec": {"replicas": 3, "template": template, "selector": {"matchLabels":
                    {"app": "web", "pod-template-hash": "5d4f"}}},
                "status": {"replicas": 3, "readyReplicas": 1},
            }),
            json!([
                "web-5d4f",
                3,
                3,
                1,
                "5m",
                "web,log",
                "nginx:1.27,busybox",
                "app=web,pod-template-hash=5d4f"
            ]),
        ),
        (
            "",
            "ReplicationController",
            json!({
                "metadata": meta("legacy", "2026-11-26T13:55:00Z"),
                "spec": {"replicas": 2, "selector": {"app": "legacy"}},
                "status": {"replicas": 2, "readyReplicas": 2},
            }),
            json!(["legacy", 2, 2, 2, "5m", "", "", "app=legacy"]),
        ),
        (
            "apps",
            "DaemonSet",
            json!({
                "metadata": meta("agent", "2026-11-26T13:55:00Z"),
                "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"spec": {
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [{"name": "agent", "image": "agent:2"}]}}},
                "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                    "updatedNumberScheduled": 3, "numberAvailable": 2},
            }),
            json!([
                "agent",
                3,
                3,
                2,
                3,
                2,
                "kubernetes.io/os=linux",
                "5m",
                "agent",
                "agent:2",
                "app=agent"
            ]),
        ),
        (
            "apps",
            "StatefulSet",
            json!({
                "metadata": meta("db", "2026-11-26T13:55:00Z"),
                "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:17"}]}}},
                "status": {"readyReplicas": 1},
            }),
            json!(["db", "1/3", "5m", "pg", "postgres:17"]),
        ),
        (
            "apps",
            "ControllerRevision",
            json!({
                "metadata": {"name": "agent-7c9", "creationTimestamp": "2026-11-26T13:55:00Z",
                    "ownerReferences": [
                        {"apiVersion": "v1", "kind": "Pod", "name": "x"},
                        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}]},
                "revision": 2,
            }),
            json!(["agent-7c9", "daemonset.apps/agent", 2, "5m"]),
        ),
        (
            "apps",
            "ControllerRevision",
            json!({"metadata": meta("orphan", "2026-11-26T13:55:00Z"), "revision": 1}),
            json!(["orphan", "<none>", 1, "5m"]),
        ),
        (
            "batch",
            "Job",
            json!({
                "metadata": meta("backup", "2026-11-26T13:50:00Z"),
                "spec": {"completions": 1, "parallelism": 1, "selector": {"matchLabels":
                    {"batch.kubernetes.io/controller-uid": "u1"}},
                    "template": {"spec": {"containers": [{"name": "backup", "image": "tool:1"}]}}},
                "status": {"succeeded": 1, "startTime": "2026-11-26T13:50:00Z",
                    "completionTime": "2026-11-26T13:50:42Z",
                    "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                        {"type": "Complete", "status": "True"}]},
            }),
            json!([
                "backup",
                "Complete",
                "1/1",
                "42s",
                "10m",
                "backup",
                "tool:1",
                "batch.kubernetes.io/controller-uid=u1"
            ]),
        ),
        (
            "batch",
            "Job",
            json!({
                "metadata": meta("work", "2026-11-26T13:00:00Z"),
                "spec": {"parallelism": 3},
                "status": {"succeeded": 0, "startTime": "2026-11-26T13:00:00Z"},
            }),
            json!(["work", "Running", "0/1 of 3", "60m", "60m", "", "", "<none>"]),
        ),
        (
            "batch",
            "Job",
            json!({
                "metadata": meta("broken", "2026-11-26T13:00:00Z"),
                "spec": {"completions": 2},
                "status": {"failed": 6, "conditions": [{"type": "Failed", "status": "True"}]},
            }),
            json!(["broken", "Failed", "0/2", "", "60m", "", "", "<none>"]),
        ),
        (
            "batch",
            "CronJob",
            json!({
                "metadata": meta("nightly", "2026-11-16T14:00:00Z"),
                "spec": {"schedule": "0 3 * * *", "suspend": false, "jobTemplate": {"spec": {
                    "template": {"spec": {"containers": [{"name": "run", "image": "tool:1"}]}}}}},
                "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": "2026-11-26T03:00:00Z"},
            }),
            json!([
                "nightly",
                "0 3 * * *",
                "<none>",
                "False",
                1,
                "11h",
                "10d",
                "run",
                "tool:1",
                "<none>"
            ]),
        ),
        (
            "batch",
            "CronJob",
            json!({"metadata": meta("new", "2026-11-26T13:55:00Z"),
                   "spec": {"schedule": "@hourly", "timeZone": "Etc/UTC"}}),
            json!(["new", "@hourly", "Etc/UTC", "<unset>", 0, "<none>", "5m", "", "", "<none>"]),
        ),
        (
            "",
            "PodTemplate",
            json!({"metadata": meta("tpl", "2026-11-26T13:55:00Z"), "template": template}),
            json!(["tpl", "web,log", "nginx:1.27,busybox", "app=web"]),
        ),
        (
            "policy",
            "PodDisruptionBudget",
            json!({"metadata": meta("web", "2026-11-26T13:55:00Z"),
                   "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}),
            json!(["web", "2", "N/A", 1, "5m"]),
        ),
        (
            "policy",
            "PodDisruptionBudget",
            json!({"metadata": meta("db", "2026-11-26T13:55:00Z"), "spec": {"maxUnavailable": "25%"}}),
            json!(["db", "N/A", "25%", 0, "5m"]),
        ),
    ];
    for (group, kind, object, expected) in cases {
        assert_eq!(cells(group, kind, object), expected, "{group}/{kind}");
    }
}

#[test]
fn service_rows() {
    let created = "2026-11-26T13:55:00Z";
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "node port",
            json!({"metadata": meta("web", created), "spec": {
                "type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "selector": {"app": "web"},
                "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                          {"port": 53, "protocol": "UDP"}]}}),
            json!([
                "web",
                "NodePort",
                "10.96.0.20",
                "<none>",
                "80:30080/TCP,53/UDP",
                "5m",
                "app=web"
            ]),
        ),
        (
            "load balancer without an address",
            json!({"metadata": meta("lb", created), "spec": {
                "type": "LoadBalancer", "clusterIP": "10.96.0.21",
                "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
                "status": {"loadBalancer": {}}}),
            json!([
                "lb",
                "LoadBalancer",
                "10.96.0.21",
                "<pending>",
                "443:31443/TCP",
                "5m",
                "<none>"
            ]),
        ),
        (
            "load balancer with addresses and external IPs",
            json!({"metadata": meta("lb2", created), "spec": {
                "type": "LoadBalancer", "clusterIPs": ["10.96.0.22"], "externalIPs": ["192.0.2.9"],
                "ports": [{"port": 80, "protocol": "TCP"}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"},
                    {"hostname": "lb.example.com"}, {"ip": "203.0.113.7"}]}}}),
            json!([
                "lb2",
                "LoadBalancer",
                "10.96.0.22",
                "203.0.113.7,lb.example.com,192.0.2.9",
                "80/TCP",
                "5m",
                "<none>"
            ]),
        ),
        (
            "headless",
            json!({"metadata": meta("db", created), "spec": {"type": "ClusterIP", "clusterIP": "None",
                "externalIPs": ["198.51.100.1", "198.51.100.2"]}}),
            json!([
                "db",
                "ClusterIP",
                "None",
                "198.51.100.1,198.51.100.2",
                "<none>",
                "5m",
                "<none>"
            ]),
        ),
        (
            "external name",
            json!({"metadata": meta("ext", created), "spec": {"type": "ExternalName",
                "externalName": "db.example.com"}}),
            json!([
                "ext",
                "ExternalName",
                "<none>",
                "db.example.com",
                "<none>",
                "5m",
                "<none>"
            ]),
        ),
        (
            "no type",
            json!({"metadata": meta("odd", created), "spec": {}}),
            json!(["odd", "", "<none>", "<unknown>", "<none>", "5m", "<none>"]),
        ),
    ];
    for (name, object, expected) in cases {
        assert_eq!(cells("", "Service", object), expected, "{name}");
    }
}

#[test]
fn node_rows() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "cordoned control plane",
            json!({
                "metadata": {"name": "cp1", "creationTimestamp": "2026-11-16T14:00:00Z", "labels": {
                    "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master",
                    "node-role.kubernetes.io/": "x", "kubernetes.io/hostname": "cp1"}},
                "spec": {"unschedulable": true},
                "status": {
                    "conditions": [{"type": "MemoryPressure", "status": "False"},
                        {"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "Hostname", "address": "cp1"},
                        {"type": "InternalIP", "address": "172.18.0.2"}],
                    "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)",
                        "kernelVersion": "6.8.0-45-generic", "containerRuntimeVersion": "containerd://2.0.2"},
                },
            }),
            json!([
                "cp1",
                "Ready,SchedulingDisabled",
                "control-plane,master",
                "10d",
                "v1.33.1",
                "172.18.0.2",
                "<none>",
                "Debian GNU/Linux 12 (bookworm)",
                "6.8.0-45-generic",
                "containerd://2.0.2"
            ]),
        ),
        (
            "not ready worker",
            json!({
                "metadata": {"name": "w1", "creationTimestamp": "2026-11-26T13:55:00Z"},
                "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                    "addresses": [{"type": "ExternalIP", "address": "203.0.113.5"}]},
            }),
            json!([
                "w1",
                "NotReady",
                "<none>",
                "5m",
                "",
                "<none>",
                "203.0.113.5",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        ),
        (
            "no conditions yet",
            json!({"metadata": {"name": "w2", "creationTimestamp": "2026-11-26T13:59:00Z"}}),
            json!([
                "w2",
                "Unknown",
                "<none>",
                "60s",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        ),
    ];
    for (name, object, expected) in cases {
        assert_eq!(cells("", "Node", object), expected, "{name}");
    }
}

#[test]
fn event_rows() {
    let core = json!({
        "metadata": {"name": "web-abc.17a", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-abc", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff",
        "message": "Back-off restarting failed container web\n",
        "source": {"component": "kubelet", "host": "node1"},
        "firstTimestamp": "2026-11-26T13:00:00Z",
        "lastTimestamp": "2026-11-26T13:55:00Z",
        "count": 12,
        "type": "Warning",
    });
    let single = json!({
        "metadata": {"name": "web.18b"},
        "involvedObject": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet",
        "message": "Scaled up replica set web-5d4f from 0 to 3",
        "reportingComponent": "deployment-controller",
        "eventTime": "2026-11-26T13:58:00.123456Z",
        "type": "Normal",
    });
    let series = json!({
        "metadata": {"name": "node1.19c"},
        "regarding": {"kind": "Node", "name": "node1"},
        "reason": "NodeNotReady",
        "note": "Node is not ready",
        "reportingController": "node-controller",
        "reportingInstance": "cp1",
        "eventTime": "2026-11-26T12:00:00.000000Z",
        "series": {"count": 4, "lastObservedTime": "2026-11-26T13:59:00.000000Z"},
        "type": "Normal",
    });
    let cases = [
        (
            "",
            core,
            json!([
                "5m",
                "Warning",
                "BackOff",
                "pod/web-abc",
                "spec.containers{web}",
                "kubelet, node1",
                "Back-off restarting failed container web",
                "60m",
                12,
                "web-abc.17a"
            ]),
        ),
        (
            "",
            single,
            // 119.876 seconds ago: the fraction is dropped, so this is still seconds.
            json!([
                "119s",
                "Normal",
                "ScalingReplicaSet",
                "deployment/web",
                "",
                "deployment-controller",
                "Scaled up replica set web-5d4f from 0 to 3",
                "119s",
                1,
                "web.18b"
            ]),
        ),
        (
            "events.k8s.io",
            series,
            json!([
                "60s",
                "Normal",
                "NodeNotReady",
                "node/node1",
                "",
                "node-controller, cp1",
                "Node is not ready",
                "120m",
                4,
                "node1.19c"
            ]),
        ),
        (
            "",
            json!({"involvedObject": {"kind": "Node"}}),
            json!(["<unknown>", "", "", "node", "", "", "", "<unknown>", 1, ""]),
        ),
    ];
    for (group, object, expected) in cases {
        assert_eq!(cells(group, "Event", object), expected, "{group}");
    }
}

#[test]
fn core_rows() {
    let created = "2026-11-26T13:55:00Z";
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        (
            "",
            "Secret",
            json!({"metadata": meta("db", created), "type": "Opaque",
                   "data": {"user": "YWRtaW4=", "password": "c2VjcmV0"}}),
            json!(["db", "Opaque", 2, "5m"]),
        ),
        (
            "",
            "ConfigMap",
            json!({"metadata": meta("cfg", created), "data": {"a": "1"}, "binaryData": {"b": "AA=="}}),
            json!(["cfg", 2, "5m"]),
        ),
        (
            "",
            "Namespace",
            json!({"metadata": {"name": "old", "creationTimestamp": "2026-11-18T14:00:00Z",
                "deletionTimestamp": "2026-11-26T13:59:00Z"}, "status": {"phase": "Terminating"}}),
            json!(["old", "Terminating", "8d"]),
        ),
        (
            "",
            "ServiceAccount",
            json!({"metadata": meta("default", created), "secrets": [{"name": "t"}]}),
            json!(["default", 1, "5m"]),
        ),
        (
            "",
            "Endpoints",
            json!({"metadata": meta("web", created), "subsets": [
                {"addresses": [{"ip": "10.1.0.5"}, {"ip": "10.1.0.6"}],
                 "ports": [{"port": 8080}, {"port": 9090}]},
                {"addresses": [{"ip": "fd00::7"}]}]}),
            json!([
                "web",
                "10.1.0.5:8080,10.1.0.6:8080,10.1.0.5:9090 + 2 more...",
                "5m"
            ]),
        ),
        (
            "",
            "Endpoints",
            json!({"metadata": meta("v6", created), "subsets": [
                {"addresses": [{"ip": "fd00::7"}], "ports": [{"port": 80}]}]}),
            json!(["v6", "[fd00::7]:80", "5m"]),
        ),
        (
            "",
            "Endpoints",
            json!({"metadata": meta("empty", created)}),
            json!(["empty", "<none>", "5m"]),
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": meta("web-x1", created), "addressType": "IPv4",
                "ports": [{"name": "http", "port": 80}, {"name": "metrics"}, {}],
                "endpoints": [{"addresses": ["10.1.0.5"]}, {"addresses": ["10.1.0.6"]}]}),
            json!(["web-x1", "IPv4", "80,metrics,*", "10.1.0.5,10.1.0.6", "5m"]),
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": meta("web-x2", created), "addressType": "IPv4"}),
            json!(["web-x2", "IPv4", "<unset>", "<unset>", "5m"]),
        ),
        (
            "",
            "ResourceQuota",
            json!({"metadata": meta("compute", created), "status": {
                "hard": {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "2000m"},
                "used": {"requests.cpu": "500m", "limits.memory": "1024Mi", "pods": "3"}}}),
            json!([
                "compute",
                "pods: 3/10, requests.cpu: 500m/1",
                "limits.cpu: 0/2, limits.memory: 1Gi/2Gi",
                "5m"
            ]),
        ),
        (
            "",
            "Status",
            json!({"kind": "Status", "status": "Failure", "reason": "Expired",
                   "message": "too old resource version: 1 (5)", "code": 410}),
            json!(["Failure", "Expired", "too old resource version: 1 (5)"]),
        ),
    ];
    for (group, kind, object, expected) in cases {
        assert_eq!(cells(group, kind, object), expected, "{group}/{kind}");
    }
}

#[test]
fn cluster_rows() {
    let created = "2026-11-26T13:55:00Z";
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        (
            "networking.k8s.io",
            "Ingress",
            json!({"metadata": meta("web", created), "spec": {"ingressClassName": "nginx",
                "tls": [{"hosts": ["a.example.com"]}],
                "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {},
                          {"host": "c.example.com"}, {"host": "d.example.com"}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}}),
            json!([
                "web",
                "nginx",
                "a.example.com,b.example.com,c.example.com + 2 more...",
                "203.0.113.7",
                "80, 443",
                "5m"
            ]),
        ),
        (
            "networking.k8s.io",
            "Ingress",
            json!({"metadata": meta("catch-all", created), "spec": {"defaultBackend": {}}}),
            json!(["catch-all", "<none>", "*", "", "80", "5m"]),
        ),
        (
            "networking.k8s.io",
            "IngressClass",
            json!({"metadata": meta("nginx", created), "spec": {"controller": "k8s.io/ingress-nginx",
                "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}}),
            json!([
                "nginx",
                "k8s.io/ingress-nginx",
                "IngressParameters.k8s.example.com/p",
                "5m"
            ]),
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"metadata": meta("deny", created), "spec": {"podSelector": {}}}),
            json!(["deny", "<none>", "5m"]),
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"metadata": meta("db", created), "spec": {"podSelector": {"matchExpressions":
                [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}}}),
            json!(["db", "tier notin (web)", "5m"]),
        ),
        (
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": meta("node1", created), "spec": {"holderIdentity": "node1"}}),
            json!(["node1", "node1", "5m"]),
        ),
        (
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"metadata": meta("readers", created),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                    {"kind": "Group", "name": "devs"},
                    {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]}),
            json!([
                "readers",
                "ClusterRole/view",
                "5m",
                "alice, bob",
                "devs",
                "tools/ci"
            ]),
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            json!({"metadata": meta("admins", created),
                "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}),
            json!(["admins", "ClusterRole/cluster-admin", "5m", "", "", ""]),
        ),
        (
            "scheduling.k8s.io",
            "PriorityClass",
            json!({"metadata": meta("high", created), "value": 1000000, "globalDefault": false,
                "preemptionPolicy": "PreemptLowerPriority"}),
            json!(["high", 1000000, false, "5m", "PreemptLowerPriority"]),
        ),
        (
            "node.k8s.io",
            "RuntimeClass",
            json!({"metadata": meta("gvisor", created), "handler": "runsc"}),
            json!(["gvisor", "runsc", "5m"]),
        ),
        (
            "certificates.k8s.io",
            "CertificateSigningRequest",
            json!({"metadata": meta("csr-1", created), "spec": {
                "signerName": "kubernetes.io/kube-apiserver-client", "username": "alice",
                "expirationSeconds": 86400},
                "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}}),
            json!([
                "csr-1",
                "5m",
                "kubernetes.io/kube-apiserver-client",
                "alice",
                "24h",
                "Approved,Issued"
            ]),
        ),
        (
            "certificates.k8s.io",
            "CertificateSigningRequest",
            json!({"metadata": meta("csr-2", created), "spec": {"username": "bob"},
                "status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}}),
            json!(["csr-2", "5m", "<none>", "bob", "<none>", "Denied,Failed"]),
        ),
    ];
    for (group, kind, object, expected) in cases {
        assert_eq!(cells(group, kind, object), expected, "{group}/{kind}");
    }
}

#[test]
fn kinds_without_a_printer_get_name_and_created_at() {
    let object = json!({"metadata": meta("widget-1", "2026-11-26T13:55:00Z")});
    for (group, kind) in [
        ("example.com", "Widget"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("", "LimitRange"),
    ] {
        assert!(!has_printer(group, kind), "{group}/{kind}");
        let names: Vec<&str> = columns(group, kind).iter().map(|c| c.name).collect();
        assert_eq!(names, ["Name", "Created At"], "{group}/{kind}");
        assert_eq!(columns(group, kind)[1].type_, "date");
        assert_eq!(
            cells(group, kind, object.clone()),
            json!(["widget-1", "2026-11-26T13:55:00Z"]),
            "{group}/{kind}"
        );
    }
}

#[test]
fn column_names_and_wide_columns_match_kubernetes() {
    let wide_of = |group: &str, kind: &str| -> (Vec<&str>, Vec<&str>) {
        let (narrow, wide): (Vec<&ColumnDefinition>, Vec<&ColumnDefinition>) =
            columns(group, kind).iter().partition(|c| c.priority == 0);
        (
            narrow.iter().map(|c| c.name).collect(),
            wide.iter().map(|c| c.name).collect(),
        )
    };
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "",
            "Pod",
            &["Name", "Ready", "Status", "Restarts", "Age"],
            &["IP", "Node", "Nominated Node", "Readiness Gates"],
        ),
        (
            "apps",
            "Deployment",
            &["Name", "Ready", "Up-to-date", "Available", "Age"],
            &["Containers", "Images", "Selector"],
        ),
        (
            "batch",
            "Job",
            &["Name", "Status", "Completions", "Duration", "Age"],
            &["Containers", "Images", "Selector"],
        ),
        (
            "",
            "Service",
            &[
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
            ],
            &["Selector"],
        ),
        (
            "",
            "Node",
            &["Name", "Status", "Roles", "Age", "Version"],
            &[
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime",
            ],
        ),
        (
            "",
            "Event",
            &["Last Seen", "Type", "Reason", "Object", "Message"],
            &["Subobject", "Source", "First Seen", "Count", "Name"],
        ),
        (
            "events.k8s.io",
            "Event",
            &["Last Seen", "Type", "Reason", "Object", "Message"],
            &["Subobject", "Source", "First Seen", "Count", "Name"],
        ),
        (
            "",
            "ResourceQuota",
            &["Name", "Request", "Limit", "Age"],
            &[],
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            &["Name", "Role", "Age"],
            &["Users", "Groups", "ServiceAccounts"],
        ),
        ("", "Status", &["Status", "Reason", "Message"], &[]),
    ];
    for (group, kind, narrow, wide) in cases {
        assert_eq!(
            wide_of(group, kind),
            (narrow.to_vec(), wide.to_vec()),
            "{group}/{kind}"
        );
    }
    // Exactly one column per table carries the `name` format, except Status.
    for printer in PRINTERS {
        let named = printer
            .columns
            .iter()
            .filter(|c| c.format == "name")
            .count();
        let expected = usize::from(printer.kind != "Status");
        assert_eq!(named, expected, "{}/{}", printer.group, printer.kind);
    }
}

#[test]
fn every_printer_yields_one_cell_per_column_whatever_the_input() {
    let inputs = [
        json!(null),
        json!([]),
        json!("pod"),
        json!({}),
        json!({"metadata": "x", "spec": [], "status": 5}),
        json!({"metadata": {"name": 5, "creationTimestamp": "soon", "deletionTimestamp": 1,
            "labels": [], "ownerReferences": {}},
            "spec": {"containers": "web", "initContainers": [1, null], "replicas": "3",
                "selector": {"matchLabels": "app"}, "ports": [{"port": "x"}], "rules": [5],
                "readinessGates": [{}], "type": "LoadBalancer", "externalIPs": [1]},
            "status": {"conditions": [null, {"type": 1}], "containerStatuses": [{"state": "up"}],
                "initContainerStatuses": [{"state": {"terminated": "yes"}}], "hard": {"cpu": 1},
                "loadBalancer": {"ingress": [{"ip": 7}]}, "addresses": "none"},
            "subsets": [{"addresses": "a", "ports": [1]}], "series": {}, "data": [], "revision": "2"}),
    ];
    let mut kinds: Vec<(&str, &str)> = PRINTERS.iter().map(|p| (p.group, p.kind)).collect();
    kinds.push(("example.com", "Widget"));
    for (group, kind) in kinds {
        for input in &inputs {
            let row = row_cells(group, kind, input, NOW);
            assert_eq!(
                row.len(),
                columns(group, kind).len(),
                "{group}/{kind} with {input}"
            );
            for now in [i64::MIN, 0, i64::MAX] {
                assert_eq!(row_cells(group, kind, input, now).len(), row.len());
            }
        }
    }
}

#[test]
fn tables_have_the_wire_shape_kubectl_reads() {
    let pod_object = pod(json!({"phase": "Running"}));
    let objects = vec![pod_object.clone()];
    let meta = TableMeta {
        resource_version: "42",
        continue_token: "",
        remaining_item_count: None,
    };
    let table = build_table("", "Pod", &objects, IncludeObject::default(), &meta, NOW);
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name",
            "description": "Name of the object, unique within its namespace (or the cluster).",
            "priority": 0})
    );
    assert_eq!(table["columnDefinitions"][5]["priority"], 1);
    assert_eq!(
        table["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"name": "web-abc", "namespace": "default",
                "creationTimestamp": "2026-11-26T13:55:00Z"}})
    );
    assert_eq!(table["rows"][0]["cells"][0], "web-abc");
    assert!(table["rows"][0].get("conditions").is_none());

    let paged = TableMeta {
        resource_version: "",
        continue_token: "abc",
        remaining_item_count: Some(7),
    };
    let whole = build_table("", "Pod", &objects, IncludeObject::Object, &paged, NOW);
    assert_eq!(
        whole["metadata"],
        json!({"continue": "abc", "remainingItemCount": 7})
    );
    assert_eq!(whole["rows"][0]["object"], pod_object);

    let bare = build_table("", "Pod", &objects, IncludeObject::None, &paged, NOW);
    assert_eq!(bare["rows"][0]["object"], Value::Null);

    let empty = build_table(
        "apps",
        "Deployment",
        &[],
        IncludeObject::Metadata,
        &meta,
        NOW,
    );
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["columnDefinitions"].as_array().map(Vec::len), Some(8));
}

#[test]
fn include_object_parses_the_query_parameter() {
    let cases = [
        ("", Some(IncludeObject::Metadata)),
        ("Metadata", Some(IncludeObject::Metadata)),
        ("None", Some(IncludeObject::None)),
        ("Object", Some(IncludeObject::Object)),
        ("object", None),
        ("All", None),
    ];
    for (text, expected) in cases {
        assert_eq!(IncludeObject::parse(text), expected, "{text:?}");
    }
}

#[test]
fn partial_object_metadata_keeps_all_metadata() {
    let object = json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "c", "labels": {"a": "b"}, "uid": "u", "resourceVersion": "9",
            "managedFields": [{"manager": "kubectl"}]},
        "data": {"k": "v"}});
    assert_eq!(
        partial_object_metadata(&object),
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"]})
    );
    assert_eq!(
        partial_object_metadata(&json!({"metadata": 3})),
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {}})
    );
}
