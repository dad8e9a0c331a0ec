//! Who is calling: client certificates and bearer tokens.
//!
//! A client certificate signed by the cluster CA names the user in its common name and the
//! groups in its organizations. A bearer token is either looked up in the static token file
//! (`token,user,uid,"group1,group2"` per line) or is a service-account JWT this server
//! issued ([`crate::serviceaccount`]); the latter is only accepted while its ServiceAccount
//! (and the pod or secret it is bound to) still exists with the uid the token names, which
//! takes a store read, so token authentication is async. Anonymous requests are refused.

use crate::registry::{self, Registry};
use crate::request::ResourceRequest;
use crate::serviceaccount::{BoundKind, ServiceAccountTokens, TokenError};
use crate::status::ApiError;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// An authenticated caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// A stable identifier, when the credential carries one.
    pub uid: String,
    /// Groups, always including `system:authenticated`.
    pub groups: Vec<String>,
    /// Further facts about the credential (such as the pod a token is bound to).
    pub extra: BTreeMap<String, Vec<String>>,
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
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            groups.push("system:authenticated".into());
            tokens.insert(
                fields[0].clone(),
                UserInfo {
                    name: fields[1].clone(),
                    uid: fields[2].clone(),
                    groups,
                    extra: BTreeMap::new(),
                },
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
    Some(UserInfo {
        name,
        uid: String::new(),
        groups,
        extra: BTreeMap::new(),
    })
}

/// Reads the current uid of the objects a service-account token names.
#[async_trait::async_trait]
pub trait ObjectUids: Send + Sync {
    /// The uid of core-group object `plural`/`name` in `namespace`, `None` if it does not
    /// exist.
    async fn uid(
        &self,
        plural: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, ApiError>;
}

#[async_trait::async_trait]
impl ObjectUids for Registry {
    async fn uid(
        &self,
        plural: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, ApiError> {
        let resource = berth_api_types::catalog::find("", plural)
            .ok_or_else(|| ApiError::internal(format!("the catalog lacks {plural}")))?;
        let r = ResourceRequest {
            resource,
            namespace: Some(namespace.to_owned()),
            name: Some(name.to_owned()),
            subresource: None,
            verb: "get",
        };
        match self.get(&r, name).await {
            Ok(obj) => Ok(registry::meta(&obj)
                .get("uid")
                .and_then(Value::as_str)
                .map(str::to_owned)),
            Err(e) if e.code == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Why a bearer token did not authenticate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    /// Neither a static token nor a token this server issued.
    #[error("invalid bearer token")]
    Unknown,
    /// A service-account token whose signature or claims are wrong.
    #[error("invalid bearer token: {0}")]
    Invalid(#[from] TokenError),
    /// A static token asked about audiences the API server does not serve.
    #[error("token audiences are not accepted")]
    Audience,
    /// The ServiceAccount or bound object was deleted, or deleted and recreated.
    #[error("{0}")]
    Revoked(String),
    /// The store could not be asked.
    #[error("token lookup failed: {0}")]
    Lookup(String),
}

/// Authenticates a bearer token for any of `audiences` (the API server's own when empty) at
/// time `now`: first the static token file, then this server's service-account tokens.
/// Returns the user and the audiences the token is good for.
pub async fn authenticate_token(
    token: &str,
    audiences: &[String],
    static_tokens: &TokenFile,
    service_accounts: &ServiceAccountTokens,
    objects: &dyn ObjectUids,
    now: i64,
) -> Result<(UserInfo, Vec<String>), TokenRejected> {
    if let Some(user) = static_tokens.lookup(token) {
        // Static tokens carry no audience: they are good for whatever the API server accepts.
        let api = service_accounts.api_audiences();
        let accepted: Vec<String> = if audiences.is_empty() {
            api.to_vec()
        } else {
            audiences
                .iter()
                .filter(|a| api.contains(a))
                .cloned()
                .collect()
        };
        if accepted.is_empty() {
            return Err(TokenRejected::Audience);
        }
        return Ok((user.clone(), accepted));
    }
    // Only something shaped like a JWT is worth a signature check.
    if token.split('.').count() != 3 {
        return Err(TokenRejected::Unknown);
    }
    let valid = service_accounts.validate(token, audiences, now)?;
    let grant = &valid.grant;
    let lookup = |e: ApiError| TokenRejected::Lookup(e.message);
    let sa = &grant.service_account;
    match objects
        .uid("serviceaccounts", &grant.namespace, &sa.name)
        .await
        .map_err(lookup)?
    {
        Some(uid) if uid == sa.uid => {}
        Some(uid) => {
            return Err(TokenRejected::Revoked(format!(
                "service account UID ({uid}) does not match claim ({})",
                sa.uid
            )))
        }
        None => {
            return Err(TokenRejected::Revoked(format!(
                "service account {}/{} has been deleted",
                grant.namespace, sa.name
            )))
        }
    }
    if let Some((kind, bound)) = &grant.bound {
        let what = match kind {
            BoundKind::Pod => "pod",
            BoundKind::Secret => "secret",
        };
        match objects
            .uid(kind.plural(), &grant.namespace, &bound.name)
            .await
            .map_err(lookup)?
        {
            Some(uid) if uid == bound.uid => {}
            _ => {
                return Err(TokenRejected::Revoked(format!(
                    "{what} {}/{} the token is bound to no longer exists",
                    grant.namespace, bound.name
                )))
            }
        }
    }
    Ok((grant.user(valid.token_id.as_deref()), valid.audiences))
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

    /// Objects by (plural, namespace, name) with their uids.
    struct Objects(HashMap<(&'static str, String, String), String>);

    #[async_trait::async_trait]
    impl ObjectUids for Objects {
        async fn uid(
            &self,
            plural: &'static str,
            namespace: &str,
            name: &str,
        ) -> Result<Option<String>, ApiError> {
            Ok(self
                .0
                .get(&(plural, namespace.to_owned(), name.to_owned()))
                .cloned())
        }
    }

    struct Failing;

    #[async_trait::async_trait]
    impl ObjectUids for Failing {
        async fn uid(&self, _: &'static str, _: &str, _: &str) -> Result<Option<String>, ApiError> {
            Err(ApiError::internal("store down"))
        }
    }

    fn objects(entries: &[(&'static str, &str, &str)]) -> Objects {
        Objects(
            entries
                .iter()
                .map(|(p, n, u)| ((*p, "ns".to_owned(), (*n).to_owned()), (*u).to_owned()))
                .collect(),
        )
    }

    #[tokio::test]
    async fn service_account_tokens_need_their_service_account() {
        use crate::serviceaccount::{Grant, ObjectRef};
        const NOW: i64 = 1_700_000_000;
        let sa = ServiceAccountTokens::new(crate::jwt::SigningKey::generate().unwrap());
        let statics = TokenFile::parse("t.csv", "static-token,alice,1001\n").unwrap();
        let grant = |bound| Grant {
            namespace: "ns".into(),
            service_account: ObjectRef {
                name: "robot".into(),
                uid: "sa-1".into(),
            },
            bound,
        };
        let (token, _) = sa
            .issue(&grant(None), sa.api_audiences(), 3600, NOW)
            .unwrap();
        let present = objects(&[("serviceaccounts", "robot", "sa-1")]);
        let (user, auds) = authenticate_token(&token, &[], &statics, &sa, &present, NOW)
            .await
            .unwrap();
        assert_eq!(user.name, "system:serviceaccount:ns:robot");
        assert_eq!(auds, sa.api_audiences());

        // Deleted, or deleted and recreated under the same name.
        let gone = objects(&[]);
        assert!(matches!(
            authenticate_token(&token, &[], &statics, &sa, &gone, NOW).await,
            Err(TokenRejected::Revoked(_))
        ));
        let recreated = objects(&[("serviceaccounts", "robot", "sa-2")]);
        assert!(matches!(
            authenticate_token(&token, &[], &statics, &sa, &recreated, NOW).await,
            Err(TokenRejected::Revoked(_))
        ));
        assert!(matches!(
            authenticate_token(&token, &[], &statics, &sa, &Failing, NOW).await,
            Err(TokenRejected::Lookup(_))
        ));
        assert!(matches!(
            authenticate_token(&token, &[], &statics, &sa, &present, NOW + 7200).await,
            Err(TokenRejected::Invalid(TokenError::Expired))
        ));

        // A pod-bound token dies with its pod.
        let pod = ObjectRef {
            name: "web".into(),
            uid: "pod-1".into(),
        };
        let (bound, _) = sa
            .issue(
                &grant(Some((BoundKind::Pod, pod))),
                sa.api_audiences(),
                3600,
                NOW,
            )
            .unwrap();
        let with_pod = objects(&[
            ("serviceaccounts", "robot", "sa-1"),
            ("pods", "web", "pod-1"),
        ]);
        let (user, _) = authenticate_token(&bound, &[], &statics, &sa, &with_pod, NOW)
            .await
            .unwrap();
        assert_eq!(user.extra[crate::serviceaccount::POD_NAME_KEY], ["web"]);
        assert!(matches!(
            authenticate_token(&bound, &[], &statics, &sa, &present, NOW).await,
            Err(TokenRejected::Revoked(_))
        ));

        // Static tokens still work, for the API server's audiences only.
        let (alice, _) = authenticate_token("static-token", &[], &statics, &sa, &gone, NOW)
            .await
            .unwrap();
        assert_eq!(alice.name, "alice");
        let other = ["vault".to_owned()];
        assert_eq!(
            authenticate_token("static-token", &other, &statics, &sa, &gone, NOW).await,
            Err(TokenRejected::Audience)
        );
        assert_eq!(
            authenticate_token("nonsense", &[], &statics, &sa, &gone, NOW).await,
            Err(TokenRejected::Unknown)
        );
        assert!(matches!(
            authenticate_token("a.b.c", &[], &statics, &sa, &gone, NOW).await,
            Err(TokenRejected::Invalid(_))
        ));
    }
}
