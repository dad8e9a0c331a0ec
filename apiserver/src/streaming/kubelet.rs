//! The API server's client of the node servers: HTTPS to a kubelet's port with the
//! kubelet-client certificate, the kubelet's own certificate checked against the cluster CA.

use crate::status::ApiError;
use berth_component_base::pki::CertKey;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// The common name of the certificate the API server presents to kubelets; node servers
/// accept no other client.
pub const KUBELET_CLIENT_USER: &str = "kube-apiserver-kubelet-client";

/// How long dialing a kubelet and getting its answer's head may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Reaches node servers.
pub struct KubeletClient {
    tls: tokio_rustls::TlsConnector,
}

impl KubeletClient {
    /// A client presenting `identity`, trusting node certificates the CA in `ca_pem` signed.
    pub fn new(ca_pem: &str, identity: &CertKey) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(KubeletClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Sends one HTTP/1.1 request on a fresh connection. The answer's body streams; a 101
    /// answer can be upgraded with `hyper::upgrade::on`.
    pub async fn send(
        &self,
        ip: IpAddr,
        port: u16,
        mut req: Request<Empty<Bytes>>,
    ) -> Result<Response<Incoming>, ApiError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ApiError::new(
                502,
                "InternalError",
                format!("error dialing backend: dial tcp {ip}:{port}: {e}"),
            )
        };
        let host = std::net::SocketAddr::new(ip, port).to_string();
        if let Ok(v) = http::HeaderValue::from_str(&host) {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let fut = async {
            let tcp = TcpStream::connect((ip, port))
                .await
                .map_err(|e| unreachable(&e))?;
            let _ = tcp.set_nodelay(true);
            let tls = self
                .tls
                .connect(ServerName::IpAddress(ip.into()), tcp)
                .await
                .map_err(|e| unreachable(&e))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| unreachable(&e))?;
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
            sender.send_request(req).await.map_err(|e| unreachable(&e))
        };
        tokio::time::timeout(DIAL_TIMEOUT, fut)
            .await
            .map_err(|_| unreachable(&"timed out"))?
    }
}
