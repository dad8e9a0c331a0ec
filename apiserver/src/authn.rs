//! Who is calling: client certificates and bearer tokens.
//!
//! A client certificate signed by the cluster CA names the user in its common name and the
//! groups in its organizations; a bearer token is looked up in the static token file
//! (`token,user,uid,"group1,group2"` per line). Anonymous requests are refused.

use std::collections::HashMap;
use std::path::Path;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// A stable identifier, when the credential carries one.
    pub uid: String,
    /// Groups, always including `system:authenticated`.
    pub groups: Vec<String>,
}

/// Authentication failures of the token file.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The token file could not be read.
    #[error("token file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the token file is malformed.
    #[error("token file {path}, line {line}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Users known by static bearer token.
#[derive(Debug, Default, Clone)]
pub struct TokenFile {
    tokens: HashMap<String, UserInfo>,
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_owned()).collect()
}

impl TokenFile {
    /// Parses a token file: `token,user,uid[,"group1,group2"]` per line.
    pub fn parse(path: &str, text: &str) -> Result<Self, AuthnError> {
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 || fields[0].is_empty() || fields[1].is_empty() {
                return Err(AuthnError::Format {
                    path: path.to_owned(),
                    line: i + 1,
                    reason: "expected token,user,uid[,\"groups\"]".into(),
                });
            }
            let mut groups: Vec<String> = fields
                .get(3)
                .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default();
            groups.push("system:authenticated".into());
            tokens.insert(
                fields[0].clone(),
                UserInfo { name: fields[1].clone(), uid: fields[2].clone(), groups },
            );
        }
        Ok(TokenFile { tokens })
    }

    /// Loads a token file from disk.
    pub fn load(path: &Path) -> Result<Self, AuthnError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The user a bearer token belongs to.
    pub fn lookup(&self, token: &str) -> Option<&UserInfo> {
        self.tokens.get(token)
    }
}

/// The user named by a verified client certificate (DER).
pub fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_owned))
        .collect();
    groups.push("system:authenticated".into());
    Some(UserInfo { name, uid: String::new(), groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines() {
        let file = TokenFile::parse(
            "t.csv",
            "# comment\nabc,alice,1001,\"dev,ops\"\nxyz,bob,1002\n",
        )
        .unwrap();
        let alice = file.lookup("abc").unwrap();
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.groups, ["dev", "ops", "system:authenticated"]);
        assert_eq!(file.lookup("xyz").unwrap().groups, ["system:authenticated"]);
        assert!(file.lookup("nope").is_none());
        assert!(TokenFile::parse("t.csv", "only-a-token\n").is_err());
    }

    #[test]
    fn certificates_name_user_and_groups() {
        let ca = berth_component_base::pki::ClusterCa::generate("ca").unwrap();
        let cert = ca.issue_client("admin", &["system:masters"]).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert.cert_pem.as_bytes()).unwrap();
        let user = user_from_certificate(&pem.contents).unwrap();
        assert_eq!(user.name, "admin");
        assert_eq!(user.groups, ["system:masters", "system:authenticated"]);
    }
}
