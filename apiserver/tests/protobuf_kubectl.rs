//! kubectl 1.33 sends the objects of its `create` generators as protobuf, with no JSON
//! fallback: against the real server binary, each generator must succeed and what it created
//! must read back with the fields the command asked for.

mod common;

use common::{Kubectl, Server};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_generators_work_over_protobuf() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let kubectl = Kubectl::new("1.33", &data.path().join("admin.kubeconfig"), cache.path());
    // The guard kills the server when the test ends, whether it passes or panics.
    let _server = Server::start(data.path(), &[]).await.unwrap();

    let created = [
        (
            vec!["create", "configmap", "x", "--from-literal=a=b"],
            "configmap/x created",
        ),
        (
            vec!["create", "secret", "generic", "s", "--from-literal=k=v"],
            "secret/s created",
        ),
        (
            vec!["create", "deployment", "web", "--image=nginx:1.25"],
            "deployment.apps/web created",
        ),
        (vec!["create", "namespace", "n1"], "namespace/n1 created"),
        (
            vec!["create", "service", "clusterip", "svc", "--tcp=80:8080"],
            "service/svc created",
        ),
        (
            vec!["create", "serviceaccount", "sa"],
            "serviceaccount/sa created",
        ),
        (
            vec![
                "create",
                "cronjob",
                "cj",
                "--image=busybox",
                "--schedule=*/5 * * * *",
                "--",
                "echo",
                "hi",
            ],
            "cronjob.batch/cj created",
        ),
        (
            vec!["create", "ingress", "ing", "--rule=foo.com/bar*=svc:8080"],
            "ingress.networking.k8s.io/ing created",
        ),
    ];
    for (args, expected) in &created {
        let out = kubectl.run(args);
        assert!(out.contains(expected), "kubectl {}: {out}", args.join(" "));
    }

    let cm = kubectl.get(&["configmap", "x"]);
    assert_eq!(cm["data"], serde_json::json!({"a": "b"}));
    assert!(
        cm["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty()),
        "{cm}"
    );

    let secret = kubectl.get(&["secret", "s"]);
    assert_eq!(secret["data"]["k"], "dg==");
    assert_eq!(secret["type"], "Opaque");

    let deploy = kubectl.get(&["deployment", "web"]);
    assert_eq!(deploy["metadata"]["labels"]["app"], "web");
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(deploy["spec"]["selector"]["matchLabels"]["app"], "web");
    assert_eq!(
        deploy["spec"]["template"]["metadata"]["labels"]["app"],
        "web"
    );
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "nginx");
    assert_eq!(container["image"], "nginx:1.25");

    let ns = kubectl.get(&["namespace", "n1"]);
    assert_eq!(ns["metadata"]["name"], "n1");

    let svc = kubectl.get(&["service", "svc"]);
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["selector"]["app"], "svc");
    let port = &svc["spec"]["ports"][0];
    assert_eq!(port["name"], "80-8080");
    assert_eq!(port["port"], 80);
    assert_eq!(port["targetPort"], 8080);
    assert_eq!(port["protocol"], "TCP");

    let sa = kubectl.get(&["serviceaccount", "sa"]);
    assert_eq!(sa["metadata"]["name"], "sa");

    // Berth does not generate a Job's selector yet, so the create may be refused by
    // validation; that still proves the body was decoded, down to the pod template.
    let job = kubectl.output(&["create", "job", "j", "--image=busybox"]);
    if job.status.success() {
        let job = kubectl.get(&["job", "j"]);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["containers"][0]["image"], "busybox");
        assert_eq!(pod["containers"][0]["name"], "j");
    } else {
        let stderr = String::from_utf8_lossy(&job.stderr);
        assert!(
            stderr.contains("is invalid") && stderr.contains("spec.selector"),
            "{stderr}"
        );
    }

    let cj = kubectl.get(&["cronjob", "cj"]);
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "OnFailure");
    assert_eq!(
        pod["containers"][0]["command"],
        serde_json::json!(["echo", "hi"])
    );

    let ing = kubectl.get(&["ingress", "ing"]);
    let rule = &ing["spec"]["rules"][0];
    assert_eq!(rule["host"], "foo.com");
    let path = &rule["http"]["paths"][0];
    assert_eq!(path["path"], "/bar");
    assert_eq!(path["pathType"], "Prefix");
    assert_eq!(
        path["backend"]["service"],
        serde_json::json!({"name": "svc", "port": {"number": 8080}})
    );

    // The review and token requests are protobuf too.
    let token = kubectl.run(&["create", "token", "sa"]);
    assert_eq!(token.trim().split('.').count(), 3, "not a JWT: {token}");
    assert_eq!(
        kubectl
            .run(&["auth", "can-i", "create", "configmaps"])
            .trim(),
        "yes"
    );
    let whoami: Value =
        serde_json::from_str(&kubectl.run(&["auth", "whoami", "-o", "json"])).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "kubernetes-admin");

    // A second create of the same name reaches the registry, so it is a conflict rather
    // than a decoding failure.
    let again = kubectl.output(&["create", "configmap", "x", "--from-literal=a=b"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
}
