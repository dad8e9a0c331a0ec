//! Service-account tokens: what a TokenRequest issues and what bearer authentication accepts.
//!
//! Tokens are ES256 JWTs ([`crate::jwt`]) with the claims Kubernetes clients and workloads
//! expect: issuer `https://kubernetes.default.svc.cluster.local`, subject
//! `system:serviceaccount:NS:NAME`, audiences, expiry, and a private `kubernetes.io` claim
//! naming the namespace, the ServiceAccount and the object the token is bound to. Everything
//! here is pure: the caller passes the time, and checking that the ServiceAccount (and the
//! bound object) still exist is the authenticator's job ([`crate::authn`]), because it needs a
//! store read.

use crate::authn::UserInfo;
use crate::jwt::{JwtError, SigningKey};
use berth_api_types::validation::{FieldError, Path};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The issuer of every token, and the audience the API server itself accepts.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// A TokenRequest's lifetime when it names none.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest lifetime a TokenRequest may ask for.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest lifetime a TokenRequest may ask for (2^32 seconds).
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 60;

/// The user-info `extra` key holding the token's id.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";
/// The user-info `extra` key holding the name of the pod a token is bound to.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
/// The user-info `extra` key holding the uid of the pod a token is bound to.
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";

/// The user name of a ServiceAccount.
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// An object named by a token: its name and uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The object's name.
    pub name: String,
    /// The object's uid.
    pub uid: String,
}

/// The kinds of object a token may be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    /// A Pod: the token dies with the pod.
    Pod,
    /// A Secret: the token dies with the secret.
    Secret,
}

impl BoundKind {
    /// The kind as it appears in a TokenRequest's `boundObjectRef`.
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "Pod" => Some(BoundKind::Pod),
            "Secret" => Some(BoundKind::Secret),
            _ => None,
        }
    }

    /// The resource (plural) of this kind, in the core group.
    pub fn plural(self) -> &'static str {
        match self {
            BoundKind::Pod => "pods",
            BoundKind::Secret => "secrets",
        }
    }

    fn claim(self) -> &'static str {
        match self {
            BoundKind::Pod => "pod",
            BoundKind::Secret => "secret",
        }
    }
}

/// What one token says: who it is for and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub service_account: ObjectRef,
    /// The object the token is bound to, if any.
    pub bound: Option<(BoundKind, ObjectRef)>,
}

impl Grant {
    /// The user this token authenticates as.
    pub fn user(&self, token_id: Option<&str>) -> UserInfo {
        let mut extra = BTreeMap::new();
        if let Some(jti) = token_id {
            extra.insert(CREDENTIAL_ID_KEY.to_owned(), vec![format!("JTI={jti}")]);
        }
        if let Some((BoundKind::Pod, pod)) = &self.bound {
            extra.insert(POD_NAME_KEY.to_owned(), vec![pod.name.clone()]);
            extra.insert(POD_UID_KEY.to_owned(), vec![pod.uid.clone()]);
        }
        UserInfo {
            name: username(&self.namespace, &self.service_account.name),
            uid: self.service_account.uid.clone(),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{}", self.namespace),
                "system:authenticated".to_owned(),
            ],
            extra,
        }
    }
}

/// A token whose signature and claims checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// Whom the token is for.
    pub grant: Grant,
    /// The token's id (`jti`), if it has one.
    pub token_id: Option<String>,
    /// The token's audiences that the caller accepts.
    pub audiences: Vec<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not a well-formed ES256 JWT signed by this server's key.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The token was issued by someone else.
    #[error("the token was not issued by this server")]
    Issuer,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is not valid yet.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// None of the token's audiences is accepted.
    #[error("the token's audiences are not accepted")]
    Audience,
    /// A required claim is missing or malformed.
    #[error("the token's {0} claim is missing or malformed")]
    Claim(&'static str),
}

/// Issues and checks this server's service-account tokens.
#[derive(Debug)]
pub struct ServiceAccountTokens {
    key: SigningKey,
    audiences: Vec<String>,
}

impl ServiceAccountTokens {
    /// Tokens signed with `key`, accepted by the API server when they name [`ISSUER`] as an
    /// audience.
    pub fn new(key: SigningKey) -> Self {
        ServiceAccountTokens {
            key,
            audiences: vec![ISSUER.to_owned()],
        }
    }

    /// Tokens signed with the PKCS#8 PEM key at `DATA_DIR/pki/sa.key`.
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        Ok(Self::new(SigningKey::from_pkcs8_pem(pem)?))
    }

    /// The audiences the API server accepts and gives tokens that ask for none.
    pub fn api_audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Signs a token for `grant`, valid from `now` for `expiration_seconds`, for
    /// `audiences`. Returns the token and its expiry (seconds since the epoch).
    pub fn issue(
        &self,
        grant: &Grant,
        audiences: &[String],
        expiration_seconds: i64,
        now: i64,
    ) -> Result<(String, i64), JwtError> {
        let exp = now + expiration_seconds;
        let mut private = json!({
            "namespace": grant.namespace,
            "serviceaccount": {"name": grant.service_account.name, "uid": grant.service_account.uid},
        });
        if let Some((kind, obj)) = &grant.bound {
            private[kind.claim()] = json!({"name": obj.name, "uid": obj.uid});
        }
        let claims: Map<String, Value> = [
            ("aud", json!(audiences)),
            ("exp", json!(exp)),
            ("iat", json!(now)),
            ("iss", json!(ISSUER)),
            ("jti", json!(uuid::Uuid::new_v4().to_string())),
            ("kubernetes.io", private),
            ("nbf", json!(now)),
            (
                "sub",
                json!(username(&grant.namespace, &grant.service_account.name)),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok((self.key.sign(&claims)?, exp))
    }

    /// Checks a token's signature, issuer, lifetime and audiences at time `now`, accepting
    /// it for any of `audiences` (the API server's own when empty). Whether the
    /// ServiceAccount still exists is left to the caller.
    pub fn validate(
        &self,
        token: &str,
        audiences: &[String],
        now: i64,
    ) -> Result<Validated, TokenError> {
        let claims = self.key.verifier().verify(token)?;
        if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
            return Err(TokenError::Issuer);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(TokenError::Claim("exp"))?;
        if now > exp + LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or(TokenError::Claim("nbf"))?;
            if now + LEEWAY_SECONDS < nbf {
                return Err(TokenError::NotYetValid);
            }
        }
        let accepted = if audiences.is_empty() {
            &self.audiences[..]
        } else {
            audiences
        };
        let token_audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => return Err(TokenError::Claim("aud")),
        };
        let matched: Vec<String> = accepted
            .iter()
            .filter(|a| token_audiences.contains(&a.as_str()))
            .cloned()
            .collect();
        if matched.is_empty() {
            return Err(TokenError::Audience);
        }
        let grant = grant_of(&claims)?;
        if claims.get("sub").and_then(Value::as_str)
            != Some(username(&grant.namespace, &grant.service_account.name).as_str())
        {
            return Err(TokenError::Claim("sub"));
        }
        let token_id = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
        Ok(Validated {
            grant,
            token_id,
            audiences: matched,
        })
    }
}

fn object_ref(value: Option<&Value>, what: &'static str) -> Result<Option<ObjectRef>, TokenError> {
    let Some(value) = value else { return Ok(None) };
    let field = |f: &str| {
        value
            .get(f)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (field("name"), field("uid")) {
        (Some(name), Some(uid)) => Ok(Some(ObjectRef { name, uid })),
        _ => Err(TokenError::Claim(what)),
    }
}

fn grant_of(claims: &Map<String, Value>) -> Result<Grant, TokenError> {
    let private = claims
        .get("kubernetes.io")
        .ok_or(TokenError::Claim("kubernetes.io"))?;
    let namespace = private
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::Claim("kubernetes.io.namespace"))?;
    let service_account = object_ref(
        private.get("serviceaccount"),
        "kubernetes.io.serviceaccount",
    )?
    .ok_or(TokenError::Claim("kubernetes.io.serviceaccount"))?;
    let bound = match (
        object_ref(private.get("pod"), "kubernetes.io.pod")?,
        object_ref(private.get("secret"), "kubernetes.io.secret")?,
    ) {
        (Some(pod), None) => Some((BoundKind::Pod, pod)),
        (None, Some(secret)) => Some((BoundKind::Secret, secret)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(TokenError::Claim("kubernetes.io")),
    };
    Ok(Grant {
        namespace: namespace.to_owned(),
        service_account,
        bound,
    })
}

/// The object a TokenRequest asks its token to be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundRequest {
    /// The object's kind.
    pub kind: BoundKind,
    /// The object's name.
    pub name: String,
    /// The uid the caller expects the object to have, if it gave one.
    pub uid: Option<String>,
}

/// The parts of a TokenRequest's spec that matter, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequestSpec {
    /// The audiences to put in the token.
    pub audiences: Vec<String>,
    /// The token's lifetime.
    pub expiration_seconds: i64,
    /// The object to bind the token to.
    pub bound: Option<BoundRequest>,
}

impl ServiceAccountTokens {
    /// Reads and validates a TokenRequest body for ServiceAccount `name`, filling defaults.
    /// Field errors come back for a 422 Invalid; a body that contradicts the URL is a 400.
    pub fn parse_request(
        &self,
        body: &Value,
        name: &str,
    ) -> Result<TokenRequestSpec, TokenRequestError> {
        let body_name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !body_name.is_empty() && body_name != name {
            return Err(TokenRequestError::NameMismatch);
        }
        let spec = body.get("spec").cloned().unwrap_or(Value::Null);
        let path = Path::new("spec");
        let mut errors = Vec::new();
        let audiences: Vec<String> = match spec.get("audiences") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .filter_map(|(i, a)| match a.as_str() {
                    Some(s) => Some(s.to_owned()),
                    None => {
                        errors.push(FieldError::invalid(
                            &path.child("audiences").index(i),
                            a.clone(),
                            "must be a string",
                        ));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                errors.push(FieldError::invalid(
                    &path.child("audiences"),
                    other.clone(),
                    "must be a list of strings",
                ));
                Vec::new()
            }
        };
        let audiences = if audiences.is_empty() {
            self.audiences.clone()
        } else {
            audiences
        };
        let expiration_seconds = match spec.get("expirationSeconds") {
            None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
            Some(v) => match v.as_i64() {
                Some(s) => s,
                None => {
                    errors.push(FieldError::invalid(
                        &path.child("expirationSeconds"),
                        v.clone(),
                        "must be an integer",
                    ));
                    DEFAULT_EXPIRATION_SECONDS
                }
            },
        };
        if expiration_seconds < MIN_EXPIRATION_SECONDS {
            errors.push(FieldError::invalid(
                &path.child("expirationSeconds"),
                expiration_seconds,
                "may not specify a duration less than 10 minutes",
            ));
        } else if expiration_seconds > MAX_EXPIRATION_SECONDS {
            errors.push(FieldError::invalid(
                &path.child("expirationSeconds"),
                expiration_seconds,
                "may not specify a duration larger than 2^32 seconds",
            ));
        }
        let bound = match spec.get("boundObjectRef") {
            None | Some(Value::Null) => None,
            Some(r) => {
                let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
                let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                let uid = r
                    .get("uid")
                    .and_then(Value::as_str)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned);
                match BoundKind::parse(kind) {
                    None => {
                        return Err(TokenRequestError::BadBinding(format!(
                            "cannot bind token to object of type {kind}"
                        )))
                    }
                    Some(_) if name.is_empty() => {
                        errors.push(FieldError::required(
                            &path.child("boundObjectRef").child("name"),
                            "",
                        ));
                        None
                    }
                    Some(kind) => Some(BoundRequest {
                        kind,
                        name: name.to_owned(),
                        uid,
                    }),
                }
            }
        };
        if !errors.is_empty() {
            return Err(TokenRequestError::Invalid(errors));
        }
        Ok(TokenRequestSpec {
            audiences,
            expiration_seconds,
            bound,
        })
    }
}

/// Why a TokenRequest body was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenRequestError {
    /// Fields of the spec are invalid (422).
    #[error("invalid TokenRequest")]
    Invalid(Vec<FieldError>),
    /// The body names another ServiceAccount than the URL (400).
    #[error("name in URL does not match name in TokenRequest body")]
    NameMismatch,
    /// The token cannot be bound to the requested object (400).
    #[error("{0}")]
    BadBinding(String),
}

/// The TokenRequest object answered for ServiceAccount `name` in `namespace`.
pub fn token_request_response(
    namespace: &str,
    name: &str,
    spec: &TokenRequestSpec,
    bound_uid: Option<&str>,
    token: &str,
    expires: i64,
    now: i64,
) -> Value {
    let mut spec_json = json!({
        "audiences": spec.audiences,
        "expirationSeconds": spec.expiration_seconds,
        "boundObjectRef": null,
    });
    if let Some(b) = &spec.bound {
        let kind = match b.kind {
            BoundKind::Pod => "Pod",
            BoundKind::Secret => "Secret",
        };
        spec_json["boundObjectRef"] = json!({"kind": kind, "apiVersion": "v1", "name": b.name, "uid": bound_uid.unwrap_or_default()});
    }
    json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": crate::registry::rfc3339(now),
        },
        "spec": spec_json,
        "status": {"token": token, "expirationTimestamp": crate::registry::rfc3339(expires)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn tokens() -> ServiceAccountTokens {
        ServiceAccountTokens::new(SigningKey::generate().unwrap())
    }

    fn grant(bound: Option<(BoundKind, ObjectRef)>) -> Grant {
        Grant {
            namespace: "default".into(),
            service_account: ObjectRef {
                name: "builder".into(),
                uid: "sa-uid".into(),
            },
            bound,
        }
    }

    fn claims_of(token: &str) -> Value {
        use base64::Engine;
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_carry_the_expected_claims() {
        let t = tokens();
        let pod = ObjectRef {
            name: "web-0".into(),
            uid: "pod-uid".into(),
        };
        let (token, exp) = t
            .issue(
                &grant(Some((BoundKind::Pod, pod))),
                t.api_audiences(),
                3600,
                NOW,
            )
            .unwrap();
        assert_eq!(exp, NOW + 3600);
        let c = claims_of(&token);
        assert_eq!(c["iss"], ISSUER);
        assert_eq!(c["sub"], "system:serviceaccount:default:builder");
        assert_eq!(c["aud"], json!([ISSUER]));
        assert_eq!(
            (c["iat"].as_i64(), c["nbf"].as_i64(), c["exp"].as_i64()),
            (Some(NOW), Some(NOW), Some(NOW + 3600))
        );
        assert_eq!(
            c["kubernetes.io"],
            json!({
                "namespace": "default",
                "serviceaccount": {"name": "builder", "uid": "sa-uid"},
                "pod": {"name": "web-0", "uid": "pod-uid"},
            })
        );
        assert!(uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn valid_tokens_map_to_the_service_account_user() {
        let t = tokens();
        let (token, _) = t.issue(&grant(None), t.api_audiences(), 3600, NOW).unwrap();
        let v = t.validate(&token, &[], NOW + 10).unwrap();
        assert_eq!(v.grant, grant(None));
        assert_eq!(v.audiences, [ISSUER]);
        let user = v.grant.user(v.token_id.as_deref());
        assert_eq!(user.name, "system:serviceaccount:default:builder");
        assert_eq!(user.uid, "sa-uid");
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:default",
                "system:authenticated"
            ]
        );
        assert!(user.extra[CREDENTIAL_ID_KEY][0].starts_with("JTI="));

        let pod = ObjectRef {
            name: "p".into(),
            uid: "u".into(),
        };
        let bound = grant(Some((BoundKind::Pod, pod)));
        let user = bound.user(None);
        assert_eq!(user.extra[POD_NAME_KEY], ["p"]);
        assert_eq!(user.extra[POD_UID_KEY], ["u"]);
    }

    #[test]
    fn expired_early_and_foreign_tokens_are_refused() {
        let t = tokens();
        let (token, _) = t.issue(&grant(None), t.api_audiences(), 600, NOW).unwrap();
        assert_eq!(
            t.validate(&token, &[], NOW + 600 + LEEWAY_SECONDS + 1),
            Err(TokenError::Expired)
        );
        assert!(t.validate(&token, &[], NOW + 600 + LEEWAY_SECONDS).is_ok());
        assert_eq!(
            t.validate(&token, &[], NOW - LEEWAY_SECONDS - 1),
            Err(TokenError::NotYetValid)
        );

        // A token for another audience does not authenticate to the API server ...
        let (other_aud, _) = t
            .issue(&grant(None), &["vault".to_owned()], 600, NOW)
            .unwrap();
        assert_eq!(t.validate(&other_aud, &[], NOW), Err(TokenError::Audience));
        // ... but does for a reviewer that asks for that audience.
        assert_eq!(
            t.validate(&other_aud, &["vault".to_owned()], NOW)
                .unwrap()
                .audiences,
            ["vault"]
        );

        // Another server's key.
        let (foreign, _) = tokens()
            .issue(&grant(None), t.api_audiences(), 600, NOW)
            .unwrap();
        assert!(matches!(
            t.validate(&foreign, &[], NOW),
            Err(TokenError::Jwt(_))
        ));

        // Tampered claims.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims = claims_of(&token);
        claims["sub"] = json!("system:serviceaccount:kube-system:admin");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(
            t.validate(&forged, &[], NOW),
            Err(TokenError::Jwt(JwtError::Signature))
        );
    }

    #[test]
    fn signed_but_malformed_claims_are_refused() {
        let t = tokens();
        let sign = |claims: Value| t.key.sign(claims.as_object().unwrap()).unwrap();
        let good = json!({
            "iss": ISSUER, "aud": ISSUER, "exp": NOW + 100, "sub": "system:serviceaccount:a:b",
            "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b", "uid": "u"}},
        });
        // A single-string audience is accepted.
        assert!(t.validate(&sign(good.clone()), &[], NOW).is_ok());
        let mut wrong_iss = good.clone();
        wrong_iss["iss"] = json!("kubernetes/serviceaccount");
        assert_eq!(
            t.validate(&sign(wrong_iss), &[], NOW),
            Err(TokenError::Issuer)
        );
        let mut wrong_sub = good.clone();
        wrong_sub["sub"] = json!("system:serviceaccount:a:c");
        assert_eq!(
            t.validate(&sign(wrong_sub), &[], NOW),
            Err(TokenError::Claim("sub"))
        );
        let mut no_exp = good.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            t.validate(&sign(no_exp), &[], NOW),
            Err(TokenError::Claim("exp"))
        );
        let mut no_uid = good.clone();
        no_uid["kubernetes.io"]["serviceaccount"]["uid"] = json!("");
        assert!(matches!(
            t.validate(&sign(no_uid), &[], NOW),
            Err(TokenError::Claim(_))
        ));
    }

    #[test]
    fn token_request_specs_default_and_validate() {
        let t = tokens();
        let spec = t.parse_request(&json!({"spec": {}}), "sa").unwrap();
        assert_eq!(
            spec,
            TokenRequestSpec {
                audiences: vec![ISSUER.into()],
                expiration_seconds: 3600,
                bound: None
            }
        );
        let spec = t
            .parse_request(
                &json!({"metadata": {"name": "sa"}, "spec": {"audiences": ["a", "b"], "expirationSeconds": 7200,
                    "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u"}}}),
                "sa",
            )
            .unwrap();
        assert_eq!(spec.audiences, ["a", "b"]);
        assert_eq!(spec.expiration_seconds, 7200);
        assert_eq!(
            spec.bound,
            Some(BoundRequest {
                kind: BoundKind::Pod,
                name: "p".into(),
                uid: Some("u".into())
            })
        );

        match t.parse_request(&json!({"spec": {"expirationSeconds": 599}}), "sa") {
            Err(TokenRequestError::Invalid(errors)) => {
                assert_eq!(errors[0].field, "spec.expirationSeconds");
                assert!(
                    errors[0].body().contains("less than 10 minutes"),
                    "{}",
                    errors[0].body()
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.parse_request(
                &json!({"spec": {"expirationSeconds": (1i64 << 32) + 1}}),
                "sa"
            ),
            Err(TokenRequestError::Invalid(_))
        ));
        assert!(matches!(
            t.parse_request(&json!({"spec": {"audiences": "x"}}), "sa"),
            Err(TokenRequestError::Invalid(_))
        ));
        assert_eq!(
            t.parse_request(&json!({"metadata": {"name": "other"}}), "sa"),
            Err(TokenRequestError::NameMismatch)
        );
        assert!(matches!(
            t.parse_request(
                &json!({"spec": {"boundObjectRef": {"kind": "Node", "name": "n"}}}),
                "sa"
            ),
            Err(TokenRequestError::BadBinding(_))
        ));
    }

    #[test]
    fn responses_echo_the_spec_and_carry_the_token() {
        let spec = TokenRequestSpec {
            audiences: vec![ISSUER.into()],
            expiration_seconds: 3600,
            bound: None,
        };
        let resp = token_request_response("default", "sa", &spec, None, "tok", NOW + 3600, NOW);
        assert_eq!(resp["kind"], "TokenRequest");
        assert_eq!(resp["apiVersion"], "authentication.k8s.io/v1");
        assert_eq!(resp["status"]["token"], "tok");
        assert_eq!(
            resp["status"]["expirationTimestamp"],
            crate::registry::rfc3339(NOW + 3600)
        );
        assert_eq!(resp["spec"]["expirationSeconds"], 3600);
        assert_eq!(resp["metadata"]["namespace"], "default");
    }
}
