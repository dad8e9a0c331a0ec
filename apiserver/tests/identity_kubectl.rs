//! The identity commands of stock kubectl against the real server binary: `auth can-i`,
//! `auth whoami` (1.27 asks for `v1beta1`), `create token`, and then using that token as a
//! bearer credential, where a tampered copy or a deleted ServiceAccount gets 401.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{Kubectl, Server};
use std::path::Path;

/// A kubeconfig that trusts the cluster CA and authenticates with `token` only.
fn token_kubeconfig(path: &Path, server: &Server, token: &str) {
    let ca = server.data_dir.join("pki").join("ca.crt");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: berth\n  cluster:\n    server: https://{}\n    certificate-authority: {}\nusers:\n- name: robot\n  user:\n    token: {token}\ncontexts:\n- name: robot\n  context:\n    cluster: berth\n    user: robot\n    namespace: default\ncurrent-context: robot\n",
        server.addr,
        ca.display()
    );
    std::fs::write(path, text).unwrap();
}

/// The same token with its subject claim changed and the original signature kept.
fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let forged = claims.replace(
        "system:serviceaccount:default:robot",
        "system:serviceaccount:default:other",
    );
    assert_ne!(
        forged, claims,
        "the claims name the ServiceAccount: {claims}"
    );
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged),
        parts[2]
    )
}

const UNAUTHORIZED: &str = "You must be logged in to the server (Unauthorized)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_identity_commands_and_service_account_tokens() {
    let data = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    // The guard kills the server when the test ends, whether it passes or panics.
    let server = Server::start(data.path(), &[])
        .await
        .expect("the API server starts");
    let admin_config = data.path().join("admin.kubeconfig");
    let admin = Kubectl::new("1.31", &admin_config, scratch.path());

    assert_eq!(
        admin.run(&["auth", "can-i", "create", "pods"]).trim(),
        "yes"
    );
    for version in ["1.31", "1.27"] {
        let whoami = Kubectl::new(version, &admin_config, scratch.path()).run(&["auth", "whoami"]);
        assert!(
            whoami.contains("kubernetes-admin") && whoami.contains("system:masters"),
            "kubectl {version} auth whoami:\n{whoami}"
        );
    }

    let manifest = scratch.path().join("sa.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n  namespace: default\n",
    )
    .unwrap();
    let applied = admin.run(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(
        applied.contains("serviceaccount/robot created"),
        "{applied}"
    );

    let token = admin.run(&["create", "token", "robot"]).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    let missing = admin.fail(&["create", "token", "nobody"]);
    assert!(
        missing.contains("serviceaccounts \"nobody\" not found"),
        "{missing}"
    );
    let short = admin.fail(&["create", "token", "robot", "--duration=5m"]);
    assert!(short.contains("less than 10 minutes"), "{short}");

    let robot_config = scratch.path().join("robot.kubeconfig");
    token_kubeconfig(&robot_config, &server, &token);
    let robot = Kubectl::new("1.31", &robot_config, scratch.path());
    let namespaces = robot.run(&["get", "ns"]);
    assert!(namespaces.contains("kube-system"), "{namespaces}");
    let whoami = robot.run(&["auth", "whoami"]);
    assert!(
        whoami.contains("system:serviceaccount:default:robot"),
        "{whoami}"
    );
    assert!(
        whoami.contains("system:serviceaccounts:default"),
        "{whoami}"
    );

    let forged = tamper(&token);
    let refused = robot.fail(&["--token", &forged, "get", "ns"]);
    assert!(refused.contains(UNAUTHORIZED), "{refused}");

    // The token dies with its ServiceAccount.
    admin.run(&["delete", "serviceaccount", "robot"]);
    let revoked = robot.fail(&["get", "ns"]);
    assert!(revoked.contains(UNAUTHORIZED), "{revoked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_133_sends_identity_requests_as_protobuf() {
    let data = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[])
        .await
        .expect("the API server starts");
    let kubectl = Kubectl::new(
        "1.33",
        &data.path().join("admin.kubeconfig"),
        scratch.path(),
    );
    assert_eq!(
        kubectl.run(&["auth", "can-i", "create", "pods"]).trim(),
        "yes"
    );
    let whoami = kubectl.run(&["auth", "whoami"]);
    assert!(whoami.contains("kubernetes-admin"), "{whoami}");
    kubectl.run(&["create", "serviceaccount", "builder"]);
    let token = kubectl.run(&[
        "create",
        "token",
        "builder",
        "--audience",
        "https://kubernetes.default.svc.cluster.local",
    ]);
    let robot_config = scratch.path().join("builder.kubeconfig");
    token_kubeconfig(&robot_config, &server, token.trim());
    let whoami = Kubectl::new("1.33", &robot_config, scratch.path()).run(&["auth", "whoami"]);
    assert!(
        whoami.contains("system:serviceaccount:default:builder"),
        "{whoami}"
    );

    // The reviews kubectl has no command for, over plain HTTP.
    let client = server.client().await.unwrap();
    let post = |path: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move {
            let (status, bytes) = client
                .send(http::Method::POST, path, Some(&body))
                .await
                .unwrap();
            (
                status.as_u16(),
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            )
        }
    };
    let (code, sar) = post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        serde_json::json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "spec": {"user": "system:anonymous", "groups": ["system:unauthenticated"],
                     "resourceAttributes": {"verb": "get", "resource": "pods"}}}),
    )
    .await;
    assert_eq!(
        (code, &sar["status"]["allowed"]),
        (201, &serde_json::json!(false)),
        "{sar}"
    );
    let (code, lsar) = post(
        "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
        serde_json::json!({"spec": {"user": "alice",
            "resourceAttributes": {"namespace": "default", "verb": "list", "resource": "secrets"}}}),
    )
    .await;
    assert_eq!(
        (code, &lsar["status"]["allowed"]),
        (201, &serde_json::json!(true)),
        "{lsar}"
    );
    assert_eq!(lsar["metadata"]["namespace"], "default");
    let (code, mismatch) = post(
        "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
        serde_json::json!({"spec": {"user": "alice",
            "resourceAttributes": {"namespace": "other", "verb": "list", "resource": "secrets"}}}),
    )
    .await;
    assert_eq!(code, 400, "{mismatch}");
    let (code, invalid) = post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        serde_json::json!({"spec": {}}),
    )
    .await;
    assert_eq!(
        (code, &invalid["reason"]),
        (422, &serde_json::json!("Invalid")),
        "{invalid}"
    );
    let (code, review) = post(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        serde_json::json!({"spec": {"token": token.trim()}}),
    )
    .await;
    assert_eq!(code, 201, "{review}");
    assert_eq!(
        review["status"]["user"]["username"],
        "system:serviceaccount:default:builder"
    );
    let (status, _) = client
        .send(
            http::Method::GET,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            None,
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 405);
    drop(server);
}
