//! Writing kubeconfig files that stock kubectl and client libraries read.

use crate::pki::CertKey;
use base64::Engine;

/// Renders a kubeconfig with one cluster, one user (a client certificate) and one context.
///
/// Certificates and keys are embedded (`*-data`), so the file stands alone.
pub fn render(cluster: &str, server: &str, ca_pem: &str, user: &str, cert: &CertKey) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {cluster}
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: {user}@{cluster}
  context:
    cluster: {cluster}
    user: {user}
current-context: {user}@{cluster}
preferences: {{}}
",
        ca = b64(ca_pem),
        cert = b64(&cert.cert_pem),
        key = b64(&cert.key_pem),
    )
}
