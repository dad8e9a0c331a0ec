//! Runs one check or hook handler against a container: `exec` through CRI ExecSync,
//! `httpGet` as an HTTP/1.1 GET, over TLS without certificate verification for `scheme: HTTPS`
//! (success is a status from 200 to 399), `tcpSocket` as a
//! connect, `grpc` as a `grpc.health.v1.Health/Check` call over plaintext HTTP/2 with the
//! probe's service name (success is `SERVING`). Every check is bounded by its timeout. An error text is what upstream puts in
//! the `Unhealthy` or `Failed...Hook` event.

use crate::cri::Cri;
use berth_api_types::k8s::api::core::v1::{
    Container, ExecAction, GRPCAction, HTTPGetAction, TCPSocketAction,
};
use berth_api_types::k8s::apimachinery::pkg::util::intstr::IntOrString;
use k8s_cri::v1::ExecSyncRequest;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A check's action, from a probe or a lifecycle handler.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run a command in the container.
    Exec(ExecAction),
    /// GET a URL.
    Http(HTTPGetAction),
    /// Open a TCP connection.
    Tcp(TCPSocketAction),
    /// Ask the gRPC health service.
    Grpc(GRPCAction),
    /// Nothing configured.
    None,
}

impl Action {
    /// The action of a probe.
    pub fn of_probe(p: &berth_api_types::k8s::api::core::v1::Probe) -> Action {
        if let Some(e) = &p.exec {
            Action::Exec(e.clone())
        } else if let Some(h) = &p.http_get {
            Action::Http(h.clone())
        } else if let Some(t) = &p.tcp_socket {
            Action::Tcp(t.clone())
        } else if let Some(g) = &p.grpc {
            Action::Grpc(g.clone())
        } else {
            Action::None
        }
    }

    /// The action of a lifecycle handler.
    pub fn of_handler(h: &berth_api_types::k8s::api::core::v1::LifecycleHandler) -> Action {
        if let Some(e) = &h.exec {
            Action::Exec(e.clone())
        } else if let Some(g) = &h.http_get {
            Action::Http(g.clone())
        } else if let Some(t) = &h.tcp_socket {
            Action::Tcp(t.clone())
        } else {
            Action::None
        }
    }
}

/// A port given by number or by the name of one of the container's ports.
pub fn resolve_port(c: &Container, port: &IntOrString) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port {name:?} in the container's ports"))
        }
    }
}

/// Builds the request an `httpGet` check sends.
pub fn http_request(h: &HTTPGetAction, host: &str, port: u16) -> String {
    let path = h
        .path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let mut req = format!("GET {path} HTTP/1.1\r\n");
    let mut has_host = false;
    let mut has_agent = false;
    for hd in h.http_headers.iter().flatten() {
        has_host |= hd.name.eq_ignore_ascii_case("host");
        has_agent |= hd.name.eq_ignore_ascii_case("user-agent");
        req.push_str(&format!("{}: {}\r\n", hd.name, hd.value));
    }
    if !has_host {
        req.push_str(&format!("Host: {host}:{port}\r\n"));
    }
    if !has_agent {
        req.push_str("User-Agent: kube-probe/1.33\r\n");
    }
    req.push_str("Accept: */*\r\nConnection: close\r\n\r\n");
    req
}

/// The status code of an HTTP/1.x status line.
pub fn status_code(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Runs `action` for container `c` (runtime id `container_id`) of a pod at `pod_ip`.
pub async fn run(
    cri: &Cri,
    c: &Container,
    container_id: &str,
    pod_ip: &str,
    action: &Action,
    timeout: Duration,
) -> Result<(), String> {
    match action {
        Action::Exec(e) => {
            let mut rt = cri.runtime.clone();
            let call = rt.exec_sync(ExecSyncRequest {
                container_id: container_id.to_string(),
                cmd: e.command.clone().unwrap_or_default(),
                timeout: timeout.as_secs() as i64,
            });
            match tokio::time::timeout(timeout + Duration::from_secs(1), call).await {
                Err(_) => Err(format!("command timed out after {}s", timeout.as_secs())),
                Ok(Err(status)) => Err(status.message().to_string()),
                Ok(Ok(r)) => {
                    let r = r.into_inner();
                    if r.exit_code == 0 {
                        Ok(())
                    } else {
                        let mut out = String::from_utf8_lossy(&r.stdout).into_owned();
                        out.push_str(&String::from_utf8_lossy(&r.stderr));
                        Err(format!(
                            "command {:?} exited with {}: {}",
                            e.command.clone().unwrap_or_default().join(" "),
                            r.exit_code,
                            out.trim()
                        ))
                    }
                }
            }
        }
        other => check_network(c, pod_ip, other, timeout).await,
    }
}

/// Runs a check that needs no runtime: `tcpSocket`, `httpGet` and `grpc`.
pub async fn check_network(
    c: &Container,
    pod_ip: &str,
    action: &Action,
    timeout: Duration,
) -> Result<(), String> {
    match action {
        Action::None => Ok(()),
        Action::Grpc(g) => {
            let port = u16::try_from(g.port).map_err(|_| format!("invalid port {}", g.port))?;
            check_grpc(
                pod_ip,
                port,
                g.service.as_deref().unwrap_or_default(),
                timeout,
            )
            .await
        }
        Action::Exec(_) => Err("exec checks need the container runtime".into()),
        Action::Tcp(t) => {
            let port = resolve_port(c, &t.port)?;
            let host = t.host.clone().unwrap_or_else(|| pod_ip.to_string());
            match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: {e}")),
                Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
            }
        }
        Action::Http(h) => {
            let port = resolve_port(c, &h.port)?;
            let host = h.host.clone().unwrap_or_else(|| pod_ip.to_string());
            let https = h.scheme.as_deref() == Some("HTTPS");
            let req = http_request(h, &host, port);
            let url = format!(
                "{}://{host}:{port}{}",
                if https { "https" } else { "http" },
                h.path.clone().unwrap_or_default()
            );
            let exchange = async {
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                if https {
                    let tls = insecure_tls_connector()
                        .connect(server_name(&host), tcp)
                        .await?;
                    read_status_line(tls, &req).await
                } else {
                    read_status_line(tcp, &req).await
                }
            };
            match tokio::time::timeout(timeout, exchange).await {
                Err(_) => Err(format!(
                    "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                )),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    Err(format!("Get \"{url}\": {e}"))
                }
                Ok(Err(e)) => Err(format!("Get \"{url}\": dial tcp {host}:{port}: {e}")),
                Ok(Ok(head)) => match status_code(&head) {
                    Some(code) if (200..400).contains(&code) => Ok(()),
                    Some(code) => Err(format!("HTTP probe failed with statuscode: {code}")),
                    None => Err(format!("Get \"{url}\": malformed HTTP response")),
                },
            }
        }
    }
}

/// Sends `req` on `s` and reads until the end of the status line (or 1 KiB).
async fn read_status_line<S>(mut s: S, req: &str) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 1024];
    let mut n = 0;
    while n < buf.len() {
        let got = s.read(&mut buf[n..]).await?;
        n += got;
        if got == 0 || buf[..n].windows(2).any(|w| w == b"\r\n") {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The TLS name to send for `host`: its IP address, or its DNS name.
fn server_name(host: &str) -> rustls_pki_types::ServerName<'static> {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => rustls_pki_types::ServerName::IpAddress(ip.into()),
        Err(_) => rustls_pki_types::ServerName::try_from(host.to_owned()).unwrap_or(
            rustls_pki_types::ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into()),
        ),
    }
}

/// HTTPS probes do not verify the container's certificate (containers commonly serve
/// self-signed ones), as Kubernetes nodes do: only the transport is encrypted.
fn insecure_tls_connector() -> tokio_rustls::TlsConnector {
    use std::sync::{Arc, OnceLock};
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
                .with_no_client_auth();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        })
        .clone()
}

/// A certificate verifier that accepts any certificate but still checks the handshake
/// signatures with the provider's algorithms.
#[derive(Debug)]
struct AcceptAnyCert(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The gRPC health check of `service` at `host:port` (plaintext HTTP/2), within `timeout`
/// for the connection and the call together. The error texts are the ones Kubernetes nodes
/// put in `Unhealthy` events.
pub async fn check_grpc(
    host: &str,
    port: u16,
    service: &str,
    timeout: Duration,
) -> Result<(), String> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let secs = timeout.as_secs_f64();
    let deadline = tokio::time::Instant::now() + timeout;
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("error: failed to connect service at {addr:?}: {e}"))?
        .user_agent("kube-probe/1.33")
        .map_err(|e| format!("error: failed to connect service at {addr:?}: {e}"))?
        .connect_timeout(timeout);
    let channel = match tokio::time::timeout_at(deadline, endpoint.connect()).await {
        Err(_) => {
            return Err(format!(
            "timeout: failed to connect service {addr:?} within {secs}s: context deadline exceeded"
        ))
        }
        Ok(Err(e)) => {
            let cause =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |c| c.to_string());
            return Err(format!(
                "error: failed to connect service at {addr:?}: {cause}"
            ));
        }
        Ok(Ok(channel)) => channel,
    };
    let mut client = HealthClient::new(channel);
    let call = client.check(HealthCheckRequest {
        service: service.to_string(),
    });
    let reply = match tokio::time::timeout_at(deadline, call).await {
        Err(_) => {
            return Err(format!(
                "timeout: health rpc did not complete within {secs}s"
            ))
        }
        Ok(Err(status)) => {
            return Err(match status.code() {
                tonic::Code::Unimplemented => format!(
                    "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
                    status.message()
                ),
                tonic::Code::DeadlineExceeded => {
                    format!("timeout: health rpc did not complete within {secs}s")
                }
                code => format!(
                    "error: health rpc probe failed: rpc error: code = {code:?} desc = {}",
                    status.message()
                ),
            })
        }
        Ok(Ok(reply)) => reply.into_inner(),
    };
    match ServingStatus::try_from(reply.status) {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(other) => Err(format!(
            "service unhealthy (responded with {:?})",
            other.as_str_name()
        )),
        Err(_) => Err(format!(
            "service unhealthy (responded with \"{}\")",
            reply.status
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        serde_json::from_value(serde_json::json!({"name": "c",
            "ports": [{"name": "http", "containerPort": 8080}]}))
        .unwrap()
    }

    #[test]
    fn ports_resolve_by_number_or_name() {
        let c = container();
        assert_eq!(resolve_port(&c, &IntOrString::Int(80)), Ok(80));
        assert_eq!(
            resolve_port(&c, &IntOrString::String("http".into())),
            Ok(8080)
        );
        assert!(resolve_port(&c, &IntOrString::String("nope".into())).is_err());
    }

    #[test]
    fn http_requests_and_status_lines() {
        let h: HTTPGetAction = serde_json::from_value(serde_json::json!({
            "path": "healthz", "port": 80, "httpHeaders": [{"name": "X-Probe", "value": "1"}]}))
        .unwrap();
        let r = http_request(&h, "10.244.1.2", 80);
        assert!(r.starts_with("GET /healthz HTTP/1.1\r\nX-Probe: 1\r\nHost: 10.244.1.2:80\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        assert_eq!(status_code("HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code("SSH-2.0\r\n"), None);
    }

    #[tokio::test]
    async fn tcp_and_http_checks_against_a_local_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut codes = [200u16, 500].into_iter().cycle();
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let code = codes.next().unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let reply = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        let c = container();
        let t = Duration::from_secs(2);
        let tcp = Action::Tcp(TCPSocketAction {
            host: None,
            port: IntOrString::Int(i32::from(port)),
        });
        // The tcp check's connection is accepted and counts as the 200 of the cycle.
        assert_eq!(check_network(&c, "127.0.0.1", &tcp, t).await, Ok(()));
        let http = Action::Http(HTTPGetAction {
            port: IntOrString::Int(i32::from(port)),
            ..HTTPGetAction::default()
        });
        assert_eq!(
            check_network(&c, "127.0.0.1", &http, t).await,
            Err("HTTP probe failed with statuscode: 500".into())
        );
        assert_eq!(check_network(&c, "127.0.0.1", &http, t).await, Ok(()));
        let closed = Action::Tcp(TCPSocketAction {
            host: Some("127.0.0.1".into()),
            port: IntOrString::Int(1),
        });
        assert!(check_network(&c, "127.0.0.1", &closed, t).await.is_err());
    }

    #[tokio::test]
    async fn https_checks_accept_a_self_signed_server_and_read_its_status() {
        use std::sync::Arc;
        let ca = berth_component_base::pki::ClusterCa::generate("probe-test-ca").unwrap();
        let serving = ca
            .issue_server("pod", &[], &["127.0.0.1".parse().unwrap()])
            .unwrap();
        let certs: Vec<rustls_pki_types::CertificateDer<'static>> =
            rustls_pki_types::pem::PemObject::pem_slice_iter(serving.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key =
            <rustls_pki_types::PrivateKeyDer as rustls_pki_types::pem::PemObject>::from_pem_slice(
                serving.key_pem.as_bytes(),
            )
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut codes = [204u16, 503].into_iter().cycle();
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let code = codes.next().unwrap();
                let Ok(mut s) = acceptor.accept(s).await else {
                    continue;
                };
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let first = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .map(str::to_owned);
                let code = if first.as_deref() == Some("GET /ready HTTP/1.1") {
                    code
                } else {
                    400
                };
                let reply = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            }
        });
        let c = container();
        let t = Duration::from_secs(5);
        let https = Action::Http(HTTPGetAction {
            port: IntOrString::Int(i32::from(port)),
            path: Some("/ready".into()),
            scheme: Some("HTTPS".into()),
            ..HTTPGetAction::default()
        });
        assert_eq!(check_network(&c, "127.0.0.1", &https, t).await, Ok(()));
        assert_eq!(
            check_network(&c, "127.0.0.1", &https, t).await,
            Err("HTTP probe failed with statuscode: 503".into())
        );
        // Plain HTTP against the TLS port gets no HTTP status line back.
        let plain = Action::Http(HTTPGetAction {
            port: IntOrString::Int(i32::from(port)),
            path: Some("/ready".into()),
            ..HTTPGetAction::default()
        });
        assert!(check_network(&c, "127.0.0.1", &plain, t).await.is_err());
    }

    #[tokio::test]
    async fn grpc_checks_against_a_real_health_server() {
        use tonic_health::ServingStatus;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("ready", ServingStatus::Serving)
            .await;
        reporter
            .set_service_status("draining", ServingStatus::NotServing)
            .await;
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let t = Duration::from_secs(5);
        // The empty service name is the server as a whole, which the reporter marks SERVING.
        assert_eq!(check_grpc("127.0.0.1", port, "", t).await, Ok(()));
        assert_eq!(check_grpc("127.0.0.1", port, "ready", t).await, Ok(()));
        assert_eq!(
            check_grpc("127.0.0.1", port, "draining", t).await,
            Err("service unhealthy (responded with \"NOT_SERVING\")".into())
        );
        let unknown = check_grpc("127.0.0.1", port, "nope", t).await.unwrap_err();
        assert!(
            unknown.starts_with("error: health rpc probe failed: rpc error: code = NotFound"),
            "{unknown}"
        );
        // Through the probe's action, as the pod workers call it.
        let c = container();
        let action = Action::of_probe(
            &serde_json::from_value(serde_json::json!({
                "grpc": {"port": port, "service": "draining"}}))
            .unwrap(),
        );
        assert!(matches!(action, Action::Grpc(_)));
        assert!(check_network(&c, "127.0.0.1", &action, t).await.is_err());
        reporter
            .set_service_status("draining", ServingStatus::Serving)
            .await;
        assert_eq!(check_network(&c, "127.0.0.1", &action, t).await, Ok(()));
        server.abort();
        // Nobody listens any more: the connection is refused.
        let _ = server.await;
        let refused = check_grpc("127.0.0.1", port, "", t).await.unwrap_err();
        assert!(
            refused.starts_with(&format!(
                "error: failed to connect service at \"127.0.0.1:{port}\""
            )),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn a_grpc_check_of_a_server_without_the_health_service_says_so() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_routes(tonic::service::Routes::default())
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let err = check_grpc("127.0.0.1", port, "", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            err.starts_with(
                "error: this server does not implement the grpc health protocol (grpc.health.v1.Health)"
            ),
            "{err}"
        );
        server.abort();
    }
}
