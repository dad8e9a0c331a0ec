//! Every request passes the authorizer: a refusal is a 403 Status worded as Kubernetes words
//! it, for resource requests (with the namespace, subresource and name the request names),
//! access reviews and plain paths alike, while other requests by the same user go through.

mod common;

use berth_apiserver::authn::UserInfo;
use berth_apiserver::authz::{Attributes, Authorizer, Decision, RuleSet, Target};
use clap::Parser;
use http::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;

/// Refuses secrets in namespace `locked`, the `/metrics` path and access reviews; allows the
/// rest.
struct Fence;

#[async_trait::async_trait]
impl Authorizer for Fence {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        let refused = match &attrs.target {
            Target::Resource(r) => {
                (r.resource == "secrets" && r.namespace == "locked")
                    || r.resource == "selfsubjectaccessreviews"
            }
            Target::NonResource { path } => path == "/metrics",
        };
        Decision {
            allowed: !refused,
            denied: refused,
            reason: if refused {
                "fenced off".into()
            } else {
                String::new()
            },
        }
    }

    async fn rules_for(&self, _user: &UserInfo, _namespace: &str) -> RuleSet {
        RuleSet::default()
    }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: berth_apiserver::Options,
}

#[tokio::test]
async fn refused_requests_get_forbidden_and_others_pass() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cli = Cli::try_parse_from([
        "berth-apiserver",
        "--data-dir",
        dir.path().to_str().unwrap_or_default(),
        "--secure-port",
        "0",
    ])?;
    let prepared = berth_apiserver::prepare(&cli.options).await?;
    let mut state = Arc::try_unwrap(prepared.state)
        .map_err(|_| anyhow::anyhow!("the handler state is shared before serving"))?;
    state.authorizer = Arc::new(Fence);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(berth_apiserver::server::serve(
        prepared.listener,
        prepared.tls,
        Arc::new(state),
        async {
            let _ = stopped.await;
        },
    ));
    let client = common::Client::connect(&prepared.address.to_string(), dir.path()).await?;

    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "locked"}});
    // Namespaces are not fenced.
    client
        .send_expecting(
            Method::POST,
            "/api/v1/namespaces",
            Some(&ns),
            StatusCode::CREATED,
        )
        .await;

    let cases = [
        (
            Method::GET,
            "/api/v1/namespaces/locked/secrets/token",
            None,
            r#"secrets "token" is forbidden: User "kubernetes-admin" cannot get resource "secrets" in API group "" in the namespace "locked": fenced off"#,
        ),
        (
            Method::GET,
            "/api/v1/namespaces/locked/secrets",
            None,
            r#"secrets is forbidden: User "kubernetes-admin" cannot list resource "secrets" in API group "" in the namespace "locked": fenced off"#,
        ),
        (
            Method::GET,
            "/metrics",
            None,
            r#"forbidden: User "kubernetes-admin" cannot get path "/metrics": fenced off"#,
        ),
        (
            Method::POST,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some(
                json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}),
            ),
            r#"selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "kubernetes-admin" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope: fenced off"#,
        ),
    ];
    for (method, path, body, want) in cases {
        let status = client
            .send_expecting(method, path, body.as_ref(), StatusCode::FORBIDDEN)
            .await;
        assert_eq!(status["kind"], "Status", "{path}");
        assert_eq!(status["reason"], "Forbidden", "{path}");
        assert_eq!(status["code"], 403, "{path}");
        assert_eq!(status["message"], want, "{path}");
    }

    // The same user still reads what is not fenced; writes into the fenced place are refused.
    client
        .send_expecting(
            Method::GET,
            "/api/v1/namespaces/default/secrets",
            None,
            StatusCode::OK,
        )
        .await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
    client
        .send_expecting(
            Method::POST,
            "/api/v1/namespaces/locked/secrets",
            Some(&secret),
            StatusCode::FORBIDDEN,
        )
        .await;
    let _ = stop.send(());
    server.await??;
    Ok(())
}
