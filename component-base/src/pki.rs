//! The cluster's certificates: one CA, and certificates it signs for servers and clients.
//!
//! Every link between Berth components is mutually authenticated TLS, so every component
//! needs a certificate from the same CA. A client certificate's common name is the user name
//! and each organization is a group, as Kubernetes clients expect.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation or parsing failed.
    #[error("certificate {what}: {source}")]
    Rcgen {
        /// Which certificate.
        what: String,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn rc(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Rcgen {
        what: what.to_owned(),
        source,
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertKey {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// The cluster certificate authority.
pub struct ClusterCa {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// How long issued certificates stay valid.
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long the CA stays valid.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

fn validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = SystemTime::now();
    // Backdate a little so clocks that are slightly apart still accept a fresh certificate.
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + lifetime).into();
}

impl ClusterCa {
    /// Makes a new CA named `common_name`.
    pub fn generate(common_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(rc("CA key"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, CA_VALIDITY);
        let cert = params.self_signed(&key).map_err(rc("CA"))?;
        let key_pem = key.serialize_pem();
        Ok(ClusterCa {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its PEM certificate and key.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem).map_err(rc("CA key"))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(rc("CA"))?;
        Ok(ClusterCa {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            issuer,
        })
    }

    /// Loads the CA kept in `dir` (`ca.crt`, `ca.key`), creating it on first use.
    pub fn load_or_create(dir: &Path, common_name: &str) -> Result<Self, PkiError> {
        let cert_path = dir.join("ca.crt");
        let key_path = dir.join("ca.key");
        if cert_path.exists() && key_path.exists() {
            let cert = read(&cert_path)?;
            let key = read(&key_path)?;
            return Self::load(&cert, &key);
        }
        let ca = Self::generate(common_name)?;
        write_private(&key_path, &ca.key_pem)?;
        write_public(&cert_path, &ca.cert_pem)?;
        Ok(ca)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a serving certificate for the given DNS names and IP addresses.
    pub fn issue_server(
        &self,
        common_name: &str,
        dns_names: &[String],
        ips: &[IpAddr],
    ) -> Result<CertKey, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        for name in dns_names {
            let dns = name.clone().try_into().map_err(rc("serving SAN"))?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
        for ip in ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, "serving")
    }

    /// Issues a client certificate for user `user` in `groups`.
    pub fn issue_client(&self, user: &str, groups: &[&str]) -> Result<CertKey, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        for group in groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *group);
        }
        params.distinguished_name.push(DnType::CommonName, user);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, "client")
    }

    fn issue(&self, mut params: CertificateParams, what: &str) -> Result<CertKey, PkiError> {
        validity(&mut params, LEAF_VALIDITY);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(rc(what))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(rc(what))?;
        Ok(CertKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Makes a new private key for signing service-account tokens, PEM.
pub fn generate_signing_key() -> Result<String, PkiError> {
    Ok(KeyPair::generate()
        .map_err(rc("signing key"))?
        .serialize_pem())
}

/// Reads a text file.
pub fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes a file only its owner can read (keys, kubeconfigs with credentials), atomically.
pub fn write_private(path: &Path, contents: &str) -> Result<(), PkiError> {
    write_mode(path, contents, 0o600)
}

/// Writes a file anyone may read (certificates), atomically.
pub fn write_public(path: &Path, contents: &str) -> Result<(), PkiError> {
    write_mode(path, contents, 0o644)
}

fn write_mode(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| PkiError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn parse(pem: &str) -> Vec<u8> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        pem.contents
    }

    #[test]
    fn client_certificates_carry_user_and_groups() {
        let ca = ClusterCa::generate("berth-ca").unwrap();
        let admin = ca.issue_client("admin", &["system:masters"]).unwrap();
        let der = parse(&admin.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let cn: Vec<_> = cert
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        let orgs: Vec<_> = cert
            .subject()
            .iter_organization()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["admin"]);
        assert_eq!(orgs, ["system:masters"]);
        let ca_der = parse(ca.cert_pem());
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
        assert!(cert.verify_signature(Some(ca_cert.public_key())).is_ok());
    }

    #[test]
    fn the_ca_is_reused_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let first = ClusterCa::load_or_create(dir.path(), "berth-ca").unwrap();
        let second = ClusterCa::load_or_create(dir.path(), "berth-ca").unwrap();
        assert_eq!(first.cert_pem(), second.cert_pem());
        // A certificate issued by the reloaded CA verifies against the original certificate.
        let server = second
            .issue_server(
                "apiserver",
                &["localhost".into()],
                &["127.0.0.1".parse().unwrap()],
            )
            .unwrap();
        let der = parse(&server.cert_pem);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let ca_der = parse(first.cert_pem());
        let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
        assert!(cert.verify_signature(Some(ca_cert.public_key())).is_ok());
        let meta = std::fs::metadata(dir.path().join("ca.key")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
