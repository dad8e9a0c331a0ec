//! The node server: HTTPS on the kubelet port (10250 by default) with a certificate the
//! cluster CA signed. Every client must present a certificate from the same CA, and only the
//! API server's kubelet-client identity ([`APISERVER_CLIENT_USER`]) is served.
//!
//! | path | what |
//! |---|---|
//! | `/healthz` | `ok` |
//! | `/containerLogs/{ns}/{pod}/{container}` | the CRI log file as text, with follow, tailLines, sinceSeconds, sinceTime, timestamps, previous, limitBytes |
//! | `/exec/{ns}/{pod}/{container}`, `/attach/...` | SPDY/3.1 upgrade, spliced onto the runtime's single-use streaming URL |
//! | `/portForward/{ns}/{pod}` | the same for port-forward |
//! | `/pods` | a PodList of the pods whose sandboxes run here |
//! | `/stats/summary` | CPU and memory of the node's containers |
//!
//! Pods and containers are found in the runtime by the labels every pod sandbox and
//! container carries (`io.kubernetes.pod.namespace`, `io.kubernetes.pod.name`,
//! `io.kubernetes.container.name`).

pub mod logs;
pub mod stream;

use crate::cri::Cri;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_cri::v1 as cri;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The common name of the only client identity served: the API server's.
pub const APISERVER_CLIENT_USER: &str = "kube-apiserver-kubelet-client";
/// The default port.
pub const DEFAULT_PORT: u16 = 10250;

/// Label keys the runtime objects carry.
pub const LABEL_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const LABEL_POD: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_CONTAINER: &str = "io.kubernetes.container.name";

/// The response body type.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Wraps bytes as a body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A failure answered as a Kubernetes `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            reason,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NotFound", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }
    pub fn runtime(e: tonic::Status) -> Self {
        Self::internal(format!("container runtime: {}", e.message()))
    }

    /// The answer.
    pub fn response(&self) -> Response<Body> {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason, "code": self.code,
        });
        let mut resp = Response::new(full(serde_json::to_vec(&status).unwrap_or_default()));
        *resp.status_mut() = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// What the node server needs.
pub struct NodeServer {
    pub cri: Cri,
    pub node_name: String,
}

/// TLS for the node server: `serving` presented, client certificates from `ca_pem` required.
pub fn tls_config(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The common name of a DER certificate.
fn common_name(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(cn)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: ServerConfig,
    server: Arc<NodeServer>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "node server: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let server = server.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(tcp),
            )
            .await
            {
                Ok(Ok(tls)) => tls,
                _ => {
                    tracing::debug!(%peer, "node server: TLS handshake failed");
                    return;
                }
            };
            let user = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| common_name(c));
            let service = service_fn(move |req| {
                let server = server.clone();
                let user = user.clone();
                async move { Ok::<_, Infallible>(server.handle(req, user.as_deref()).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades()
                .await;
        });
    }
}

/// The path's segments after `prefix`, percent-decoded.
fn segments(path: &str, prefix: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix(prefix)?;
    Some(
        rest.split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
    )
}

/// The raw query as pairs, repeated names kept.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

impl NodeServer {
    /// Handles one request from a client whose certificate names `user`.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        user: Option<&str>,
    ) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if user != Some(APISERVER_CLIENT_USER) {
            return Failure::new(
                403,
                "Forbidden",
                format!(
                    "Forbidden (user={}, verb={}, path={path})",
                    user.unwrap_or("system:anonymous"),
                    req.method().as_str().to_ascii_lowercase()
                ),
            )
            .response();
        }
        match self.route(req, &path).await {
            Ok(resp) => resp,
            Err(f) => f.response(),
        }
    }

    async fn route(
        &self,
        req: Request<hyper::body::Incoming>,
        path: &str,
    ) -> Result<Response<Body>, Failure> {
        let method = req.method().clone();
        if path == "/healthz" {
            return Ok(text("ok"));
        }
        if path == "/pods" && method == Method::GET {
            return self.pods().await;
        }
        if path == "/stats/summary" && method == Method::GET {
            return self.stats_summary().await;
        }
        if let Some(seg) = segments(path, "/containerLogs/") {
            let [ns, pod, container] = <[String; 3]>::try_from(seg)
                .map_err(|_| Failure::not_found(format!("no route for {path}")))?;
            let pairs = query_pairs(req.uri().query());
            return self.container_logs(&ns, &pod, &container, &pairs).await;
        }
        for kind in ["exec", "attach"] {
            if let Some(seg) = segments(path, &format!("/{kind}/")) {
                let [ns, pod, container] = <[String; 3]>::try_from(seg)
                    .map_err(|_| Failure::not_found(format!("no route for {path}")))?;
                return stream::exec_or_attach(self, req, kind, &ns, &pod, &container).await;
            }
        }
        if let Some(seg) = segments(path, "/portForward/") {
            let [ns, pod] = <[String; 2]>::try_from(seg)
                .map_err(|_| Failure::not_found(format!("no route for {path}")))?;
            return stream::port_forward(self, req, &ns, &pod).await;
        }
        Err(Failure::not_found(format!("no route for {path}")))
    }

    /// The ready sandbox of pod `ns/name`.
    pub async fn sandbox(&self, ns: &str, name: &str) -> Result<cri::PodSandbox, Failure> {
        let labels = HashMap::from([
            (LABEL_NAMESPACE.to_owned(), ns.to_owned()),
            (LABEL_POD.to_owned(), name.to_owned()),
        ]);
        let mut sandboxes = self
            .cri
            .runtime
            .clone()
            .list_pod_sandbox(cri::ListPodSandboxRequest {
                filter: Some(cri::PodSandboxFilter {
                    label_selector: labels,
                    ..Default::default()
                }),
            })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .items;
        sandboxes.retain(|s| s.state == cri::PodSandboxState::SandboxReady as i32);
        sandboxes.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        sandboxes.into_iter().next().ok_or_else(|| {
            Failure::not_found(format!("pod {ns}/{name} is not running on this node"))
        })
    }

    /// The containers named `container` of pod `ns/name`, newest first.
    pub async fn containers(
        &self,
        ns: &str,
        name: &str,
        container: &str,
    ) -> Result<Vec<cri::Container>, Failure> {
        let labels = HashMap::from([
            (LABEL_NAMESPACE.to_owned(), ns.to_owned()),
            (LABEL_POD.to_owned(), name.to_owned()),
            (LABEL_CONTAINER.to_owned(), container.to_owned()),
        ]);
        let mut found = self
            .cri
            .runtime
            .clone()
            .list_containers(cri::ListContainersRequest {
                filter: Some(cri::ContainerFilter {
                    label_selector: labels,
                    ..Default::default()
                }),
            })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .containers;
        found.sort_by_key(|c| {
            std::cmp::Reverse((c.metadata.as_ref().map_or(0, |m| m.attempt), c.created_at))
        });
        Ok(found)
    }

    /// The running container `container` of pod `ns/name`.
    pub async fn running_container(
        &self,
        ns: &str,
        name: &str,
        container: &str,
    ) -> Result<cri::Container, Failure> {
        self.containers(ns, name, container)
            .await?
            .into_iter()
            .find(|c| c.state == cri::ContainerState::ContainerRunning as i32)
            .ok_or_else(|| {
                Failure::bad_request(format!(
                    "container {container} is not running in pod {ns}/{name}"
                ))
            })
    }

    async fn container_logs(
        &self,
        ns: &str,
        name: &str,
        container: &str,
        pairs: &[(String, String)],
    ) -> Result<Response<Body>, Failure> {
        let opts =
            logs::LogOptions::parse(pairs, jiff::Timestamp::now()).map_err(Failure::bad_request)?;
        let all = self.containers(ns, name, container).await?;
        let chosen = if opts.previous {
            all.get(1).ok_or_else(|| {
                Failure::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{name}\" not found"
                ))
            })?
        } else {
            all.first().ok_or_else(|| {
                Failure::bad_request(format!(
                    "container \"{container}\" in pod \"{name}\" is not available"
                ))
            })?
        };
        let status = self
            .cri
            .runtime
            .clone()
            .container_status(cri::ContainerStatusRequest {
                container_id: chosen.id.clone(),
                verbose: false,
            })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .status
            .ok_or_else(|| Failure::internal("the runtime gave no container status"))?;
        let follow = opts.follow
            && !opts.previous
            && status.state == cri::ContainerState::ContainerRunning as i32;
        let body = stream::log_body(
            self.cri.clone(),
            chosen.id.clone(),
            status.log_path.into(),
            opts,
            follow,
        )
        .await
        .map_err(|e| Failure::internal(format!("reading the log: {e}")))?;
        let mut resp = Response::new(body);
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(resp)
    }

    async fn pods(&self) -> Result<Response<Body>, Failure> {
        let sandboxes = self
            .cri
            .runtime
            .clone()
            .list_pod_sandbox(cri::ListPodSandboxRequest { filter: None })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .items;
        let items: Vec<Value> = sandboxes
            .iter()
            .filter(|s| s.state == cri::PodSandboxState::SandboxReady as i32)
            .filter_map(|s| {
                let m = s.metadata.as_ref()?;
                Some(json!({
                    "metadata": {"name": m.name, "namespace": m.namespace, "uid": m.uid},
                    "spec": {"nodeName": self.node_name},
                    "status": {"phase": "Running"},
                }))
            })
            .collect();
        Ok(json_ok(&json!({
            "kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items,
        })))
    }

    async fn stats_summary(&self) -> Result<Response<Body>, Failure> {
        let mut rt = self.cri.runtime.clone();
        let stats = rt
            .list_container_stats(cri::ListContainerStatsRequest { filter: None })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .stats;
        let containers = rt
            .list_containers(cri::ListContainersRequest { filter: None })
            .await
            .map_err(Failure::runtime)?
            .into_inner()
            .containers;
        let mut pods: std::collections::BTreeMap<(String, String, String), Vec<Value>> =
            Default::default();
        let now = jiff::Timestamp::now().to_string();
        for s in &stats {
            let Some(attrs) = &s.attributes else { continue };
            let Some(c) = containers.iter().find(|c| c.id == attrs.id) else {
                continue;
            };
            let label = |k: &str| c.labels.get(k).cloned().unwrap_or_default();
            let key = (
                label(LABEL_NAMESPACE),
                label(LABEL_POD),
                label(LABEL_POD_UID),
            );
            let cpu = s
                .cpu
                .as_ref()
                .and_then(|c| c.usage_core_nano_seconds.as_ref())
                .map(|v| v.value);
            let mem = s
                .memory
                .as_ref()
                .and_then(|m| m.working_set_bytes.as_ref())
                .map(|v| v.value);
            pods.entry(key).or_default().push(json!({
                "name": label(LABEL_CONTAINER),
                "cpu": {"time": now, "usageCoreNanoSeconds": cpu},
                "memory": {"time": now, "workingSetBytes": mem},
            }));
        }
        let pods: Vec<Value> = pods
            .into_iter()
            .map(|((ns, name, uid), containers)| {
                json!({"podRef": {"name": name, "namespace": ns, "uid": uid}, "containers": containers})
            })
            .collect();
        Ok(json_ok(&json!({
            "node": {"nodeName": self.node_name},
            "pods": pods,
        })))
    }
}

fn text(s: &'static str) -> Response<Body> {
    let mut resp = Response::new(full(s));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn json_ok(v: &Value) -> Response<Body> {
    let mut resp = Response::new(full(serde_json::to_vec(v).unwrap_or_default()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Starts the node server on `listener` in the background.
pub fn spawn(
    listener: TcpListener,
    tls: ServerConfig,
    server: Arc<NodeServer>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(serve(listener, tls, server, std::future::pending()))
}

/// Where the node server's certificates are (PEM files, as the `--tls-cert-file`,
/// `--tls-private-key-file` and `--client-ca-file` flags name them).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    pub client_ca: std::path::PathBuf,
}

/// Binds `address:port` (0 picks a free port), loads the certificates and serves in the
/// background; returns the bound address. The kubelet's run loop calls this beside its other
/// loops.
pub async fn start(
    address: std::net::IpAddr,
    port: u16,
    files: &TlsFiles,
    server: NodeServer,
) -> anyhow::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    use anyhow::Context;
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let tls = tls_config(
        &read(&files.client_ca)?,
        &read(&files.cert)?,
        &read(&files.key)?,
    )
    .map_err(anyhow::Error::msg)
    .context("the node server's TLS configuration")?;
    let listener = TcpListener::bind((address, port))
        .await
        .with_context(|| format!("binding the node server to {address}:{port}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "node server listening");
    Ok((bound, spawn(listener, tls, Arc::new(server))))
}
